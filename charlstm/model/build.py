"""The stacked recurrent model: input encoding, RNN + Dropout layers, Dense softmax."""

from __future__ import annotations

import keras
from keras import ops

from charlstm.config import STATE_NAMES, ModelConfig
from charlstm.model.fast_rnn import FastGRU, FastLSTM, FastSimpleRNN
from charlstm.model.ln_lstm import LayerNormLSTM
from charlstm.model.lstm_stack import LSTMStack
from charlstm.utils.checks import InputError

_CELLS = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
    "ln_lstm": LayerNormLSTM,
}
# Same weights and results, input projections out of the loop (ModelConfig.fast_path).
_FAST_CELLS = {"lstm": FastLSTM, "gru": FastGRU, "simple_rnn": FastSimpleRNN}
# Cells whose states are (h, c); the others' are h.


@keras.saving.register_keras_serializable(package="charlstm")
class OneHot(keras.layers.Layer):
    """One-hot encodes integer ids: `(batch, time)` -> `(batch, time, vocabulary_size)`.

    Args:
        vocabulary_size: int. Number of distinct ids.
    """

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size

    def call(self, inputs):
        return ops.one_hot(
            ops.cast(inputs, "int32"), self.vocabulary_size, dtype=self.compute_dtype
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.vocabulary_size)

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary_size": self.vocabulary_size})
        return config


def build_model(
    config: ModelConfig,
    batch_size: int | None,
    sequence_length: int | None = None,
    stateful: bool = True,
    for_training: bool = False,
    state_io: bool = False,
) -> keras.Model:
    """Builds the (uncompiled) model for a config.

    Inputs are integer ids `(batch, time)`; outputs are next-character
    probabilities `(batch, time, vocabulary_size)`. Layer names do not depend on
    the batch size, so weights move between a training model and an inference
    model with `set_weights`.

    With `for_training` and the fast path (`uses_fast_path`), stacked LSTMs (or
    LN-LSTMs, `cell="ln_lstm"`) with only dropout between them (no residual or
    layer norm) are one `charlstm.model.lstm_stack.LSTMStack` layer, which runs
    the layers as one loop with its own backward pass (and the dropout between
    them inside it). It has the same weights in the same `get_weights()` order,
    so inference models, built without `for_training`, take them with
    `set_weights`. LN-LSTM layers off the stack are
    `charlstm.model.ln_lstm.LayerNormLSTM`, with or without the fast path.

    With `state_io`, the model is stateless and passes its states explicitly:
    inputs `[ids, *states]`, outputs `[probabilities, *final_states]`, the states
    in `state_variables` order ((h, c) per LSTM or LN-LSTM layer, h per GRU or
    SimpleRNN layer, bottom first), each (batch, units). Replicas under `tf.distribute`
    keep their own streams' states this way (`charlstm.training.replicas`).

    Args:
        config: ModelConfig. The architecture.
        batch_size: int or None. Fixed batch size (required when stateful).
        sequence_length: int or None. Fixed number of time steps, or None for any.
        stateful: bool. Whether recurrent states carry over between calls.
        for_training: bool. Build the training graph (see above).
        state_io: bool. States as inputs and outputs (see above).

    Example:
    >>> model = build_model(ModelConfig(vocabulary_size=10, units=8), batch_size=2)
    """
    if config.vocabulary_size < 1:
        raise InputError(
            f"`vocabulary_size` must be set before building a model. Received: "
            f"vocabulary_size={config.vocabulary_size}"
        )
    if state_io and stateful:
        raise InputError("a model with `state_io` passes its states: stateful=False.")
    if stateful and not batch_size:
        raise InputError(
            f"a stateful model needs a fixed `batch_size`. Received: {batch_size!r}"
        )
    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    inputs = keras.Input(
        shape=(sequence_length,), batch_size=batch_size, dtype="int32", name="ids"
    )
    if config.input_encoding == "one_hot":
        x = OneHot(config.vocabulary_size, name="one_hot")(inputs)
    else:
        x = keras.layers.Embedding(
            config.vocabulary_size, config.embedding_dim, name="embedding"
        )(inputs)
    # x: (batch, time, features)
    fast = uses_fast_path(config)
    state_inputs, final_states = [], []

    def initial_states(count):  # per layer: (h, c) for an LSTM, h otherwise
        if not state_io:
            return None
        made = [
            keras.Input(shape=(config.units,), batch_size=batch_size, name=f"state_{i}")
            for i in range(len(state_inputs), len(state_inputs) + count)
        ]  # (batch, units) each
        state_inputs.extend(made)
        return made

    if for_training and fuses_layers(config):
        stack = LSTMStack(
            config.units,
            config.num_layers,
            stateful=stateful,
            dropout=config.dropout,
            kernel_regularizer=regularizer,
            recurrent_regularizer=regularizer,
            return_state=state_io,
            layer_norm_cell=config.cell == "ln_lstm",
            name="lstm_stack",
        )
        x = stack(x, initial_state=initial_states(2 * config.num_layers))
        if state_io:
            x, *final_states = x
        # x: (batch, time, units)
        if config.dropout:  # on the top layer's outputs, as without the stack
            top = config.num_layers - 1
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{top}")(x)
        layers = 0
    else:
        layers = config.num_layers
    cell = (_FAST_CELLS if fast and config.cell in _FAST_CELLS else _CELLS)[config.cell]
    for i in range(layers):
        y = cell(
            config.units,
            return_sequences=True,
            return_state=state_io,
            stateful=stateful,
            kernel_regularizer=regularizer,
            recurrent_regularizer=regularizer,
            name=f"{config.cell}_{i}",
        )(x, initial_state=initial_states(len(STATE_NAMES[config.cell])))
        if state_io:
            y, *final = y
            final_states += final
        # y: (batch, time, units)
        if config.residual and x.shape[-1] == config.units:
            y = keras.layers.Add(name=f"residual_{i}")([x, y])
        x = y
        if config.layer_norm:
            x = keras.layers.LayerNormalization(name=f"layer_norm_{i}")(x)
        if config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        config.vocabulary_size,
        activation="softmax",
        kernel_regularizer=regularizer,
        name="softmax",
    )(x)  # (batch, time, vocab)
    if state_io:
        return keras.Model(
            [inputs, *state_inputs], [outputs, *final_states], name="charlstm"
        )
    return keras.Model(inputs, outputs, name="charlstm")


def gpu_visible() -> bool:
    """Whether TensorFlow sees a GPU (it initialises TensorFlow's devices)."""
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def uses_fast_path(config: ModelConfig) -> bool:
    """Whether models of this config run on charlstm's CPU layers (`LSTMStack`,
    `FastLSTM`, ...) rather than Keras's own, which run cuDNN on a GPU:
    `fast_path="on"`, or "auto" where no GPU is visible."""
    if config.fast_path == "auto":
        return keras.backend.backend() == "tensorflow" and not gpu_visible()
    return config.fast_path == "on"


def fuses_layers(config: ModelConfig) -> bool:
    """Whether a training model of this config runs its LSTMs (or LN-LSTMs) as one
    `LSTMStack`."""
    return (
        config.cell in ("lstm", "ln_lstm")
        and not (config.residual or config.layer_norm)
        and keras.backend.backend() == "tensorflow"
        and uses_fast_path(config)
    )


# What a training model runs its recurrence on (`layer_kind`), in words.
LAYER_KINDS = {
    "stack": "fused LSTM stack (charlstm's CPU path)",
    "fast": "Keras layers with projections out of the loop (charlstm's CPU path)",
    "keras": "Keras's own layers (cuDNN for LSTM and GRU on a GPU)",
}


def layer_kind(model: keras.Model) -> str:
    """ "stack", "fast" or "keras": the kind of recurrent layers a model has."""
    if any(isinstance(layer, LSTMStack) for layer in model.layers):
        return "stack"
    fast = tuple(_FAST_CELLS.values())
    if any(isinstance(layer, fast) for layer in recurrent_layers(model)):
        return "fast"
    return "keras"


def planned_layer_kind(config: ModelConfig) -> str:
    """The `layer_kind` of a training model built for `config` on this machine."""
    if fuses_layers(config):
        return "stack"
    # LN-LSTM has no fast layer: off the stack it is `LayerNormLSTM` either way.
    fast = uses_fast_path(config) and config.cell in _FAST_CELLS
    return "fast" if fast else "keras"


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The recurrent layers of a model, bottom to top."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def _stateful_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.RNN, LSTMStack)) and layer.stateful
    ]


def state_variables(model: keras.Model) -> list:
    """The state variables of a stateful model, bottom layer first: (h, c) per
    LSTM or LN-LSTM layer, h per GRU or SimpleRNN layer (`LSTMStack` included)."""
    return [s for layer in _stateful_layers(model) for s in layer.states]


def reset_states(model: keras.Model) -> None:
    """Zeroes the state of every stateful recurrent layer (and `LSTMStack`)."""
    for layer in _stateful_layers(model):
        layer.reset_state()


def load_model_file(path, compile: bool = False) -> keras.Model:
    """Reads a `.keras` file of a run (charlstm's layers registered by this
    module); an InputError that names the file if it is damaged."""
    import warnings
    from pathlib import Path

    try:
        with warnings.catch_warnings():
            # Without `compile`, the saved optimizer state is not wanted.
            warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
            return keras.saving.load_model(Path(path), compile=compile)
    except (OSError, ValueError, KeyError, TypeError) as error:
        text = str(error).strip()
        first = text.splitlines()[0] if text else type(error).__name__
        raise InputError(
            f"{str(path)!r} is not a readable Keras model file (truncated or "
            f"damaged?): {first[:200]}"
        ) from None
