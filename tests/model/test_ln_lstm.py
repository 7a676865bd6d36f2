"""LN-LSTM: the fused stack's forward and hand-written backward pass match autodiff
through Keras `LayerNormLSTM` layers; models, training, engine and loading."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import charlstm
from charlstm.infer.numpy_engine import LN_EPSILON, NumpyEngine
from charlstm.model.build import (
    build_model,
    fuses_layers,
    layer_kind,
    planned_layer_kind,
    recurrent_layers,
    reset_states,
    state_variables,
)
from charlstm.model.ln_lstm import (
    EPSILON,
    WEIGHT_NAMES,
    LayerNormLSTM,
    LayerNormLSTMCell,
)
from charlstm.model.ln_lstm_stack import ln_lstm_stack_sequence
from charlstm.model.lstm_stack import LSTMStack
from tests.helpers import make_text, tiny_config, tiny_model_config

BATCH, TIME, FEATURES, UNITS = 3, 6, 5, 4


def _random_weights(layer, rng):
    """Weights far from the initial ones: gains around 1, shifts around 0."""
    return [
        rng.normal(1.0 if w.path.endswith("gamma") else 0.0, 0.5, w.shape)
        for w in layer.weights
    ]


def _keras_layers(num_layers, dtype, rng):
    """Stacked Keras LN-LSTM layers (returning their states) with random weights."""
    keras.utils.set_random_seed(1)
    layers = [
        LayerNormLSTM(UNITS, return_sequences=True, return_state=True, dtype=dtype)
        for _ in range(num_layers)
    ]
    x = keras.ops.zeros((BATCH, TIME, FEATURES), dtype=dtype)
    for layer in layers:
        x = layer(x)[0]  # builds
        layer.set_weights(_random_weights(layer, rng))
    return layers


@pytest.mark.parametrize(
    "num_layers, with_masks", [(1, False), (2, False), (2, True), (3, True)]
)
def test_fused_stack_matches_autodiff_through_keras_layers(num_layers, with_masks):
    """Outputs, final states and the gradients of a loss of both with respect to
    the inputs, the initial states and every weight, in float64."""
    dtype = "float64"
    rng = np.random.default_rng(0)
    layers = _keras_layers(num_layers, dtype, rng)
    cells = [layer.cell for layer in layers]
    x = tf.constant(rng.normal(size=(BATCH, TIME, FEATURES)), dtype)
    states = [
        tf.constant(rng.normal(size=(BATCH, UNITS)), dtype)
        for _ in range(2 * num_layers)
    ]  # h_0, c_0, h_1, ... each (batch, units)
    masks = []
    if with_masks:  # inverted dropout at rate 0.4, (time, batch, units) each
        masks = [
            tf.constant((rng.random((TIME, BATCH, UNITS)) > 0.4) / 0.6, dtype)
            for _ in range(num_layers - 1)
        ]
    # Weight every output and final state so that each gets its own gradient.
    scale = tf.constant(rng.normal(size=(BATCH, TIME, UNITS)), dtype)
    state_scales = [tf.constant(rng.normal(size=(BATCH, UNITS)), dtype) for _ in states]

    def loss(outputs, finals):
        terms = [
            tf.reduce_sum(s * f) for s, f in zip(state_scales, finals, strict=True)
        ]
        return tf.reduce_sum(outputs * scale) + tf.add_n(terms)

    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, *states])
        y, expected_finals = x, []
        for i, layer in enumerate(layers):
            if i and masks:
                y = y * tf.transpose(masks[i - 1], [1, 0, 2])  # (batch, time, units)
            y, h, c = layer(y, initial_state=states[2 * i : 2 * i + 2])
            expected_finals += [h, c]
        expected = loss(y, expected_finals)
        outputs, finals = ln_lstm_stack_sequence(
            cells[0].input_gates(tf.transpose(x, [1, 0, 2])),  # (time, batch, 4u)
            [(states[2 * i], states[2 * i + 1]) for i in range(num_layers)],
            [[getattr(cell, name) for name in WEIGHT_NAMES] for cell in cells],
            masks,
        )
        finals = [s for pair in finals for s in pair]
        got = loss(outputs, finals)
    np.testing.assert_allclose(outputs, y, rtol=0, atol=1e-10)
    for a, b in zip(finals, expected_finals, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    weights = [w for layer in layers for w in layer.trainable_weights]
    assert len(weights) == 9 * num_layers
    sources = [x, *states, *weights]
    got_grads = tape.gradient(got, sources)
    expected_grads = tape.gradient(expected, sources)
    for source, a, b in zip(sources, got_grads, expected_grads, strict=True):
        name = getattr(source, "path", "an input or a state")
        assert a is not None and b is not None, name
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8, err_msg=name)


def _pair(num_layers, stateful=True, dropout=0.0):
    """Stacked Keras LN-LSTM layers and an LSTMStack(layer_norm_cell=True) with the
    same random weights, float32."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None, FEATURES), batch_size=BATCH)
    x = inputs
    for i in range(num_layers):
        x = LayerNormLSTM(
            UNITS, return_sequences=True, stateful=stateful, name=f"ln_lstm_{i}"
        )(x)
    plain = keras.Model(inputs, x)
    inputs = keras.Input((None, FEATURES), batch_size=BATCH)
    layer = LSTMStack(
        UNITS, num_layers, stateful=stateful, dropout=dropout, layer_norm_cell=True
    )
    stack = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    weights = [
        rng.normal(1.0 if w.path.endswith("gamma") else 0.0, 0.5, w.shape)
        for w in plain.weights
    ]
    plain.set_weights(weights)
    stack.set_weights(weights)
    return plain, stack


def _inputs(count=2, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32") for _ in range(count)
    ]


def test_stack_has_the_weights_of_stacked_layers_in_the_same_order():
    plain, stack = _pair(2)
    assert [w.shape for w in stack.weights] == [w.shape for w in plain.weights]
    assert [w.path.split("/")[-1] for w in stack.weights] == list(WEIGHT_NAMES) * 2
    assert [w.path.split("/")[-1] for w in plain.weights] == list(WEIGHT_NAMES) * 2


@pytest.mark.parametrize("num_layers", [1, 2])
def test_stateful_stack_matches_keras_layers_on_the_second_call(num_layers):
    """Outputs, carried states and gradients (float32, on a state carried from a
    first call) of the stack as a Keras layer."""
    plain, stack = _pair(num_layers)
    first, second = _inputs()
    scale = np.random.default_rng(2).normal(size=(BATCH, TIME, UNITS))
    grads = []
    for model in (plain, stack):
        model(first)  # carries state into the second call
        x = tf.constant(second)
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = model(x, training=True)
            loss = tf.reduce_sum(outputs * scale)
        grads.append(tape.gradient(loss, [*model.trainable_variables, x]))
        if model is plain:
            expected = outputs.numpy()
            kept = [np.asarray(s) for r in recurrent_layers(plain) for s in r.states]
    np.testing.assert_allclose(outputs.numpy(), expected, atol=1e-5)
    for got, want in zip(stack.layers[-1].states, kept, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
    for got, want in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_stack_dropout_acts_in_training_only():
    _, stack = _pair(2, stateful=False)
    _, dropping = _pair(2, stateful=False, dropout=0.5)
    x = _inputs(1)[0]
    np.testing.assert_allclose(dropping(x).numpy(), stack(x).numpy(), atol=1e-6)
    trained = dropping(x, training=True).numpy()
    assert np.abs(trained - stack(x).numpy()).max() > 1e-3


def test_saved_stack_and_layer_round_trip(tmp_path):
    plain, stack = _pair(2)
    for model, kind in ((stack, LSTMStack), (plain, LayerNormLSTM)):
        path = tmp_path / f"{kind.__name__}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert isinstance(loaded.layers[-1], kind)
        for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)
    layer = keras.saving.load_model(tmp_path / "LSTMStack.keras").layers[-1]
    assert layer.layer_norm_cell and layer.get_config()["layer_norm_cell"]
    assert isinstance(layer.cells[0], LayerNormLSTMCell)
    config = LayerNormLSTM(8, epsilon=1e-3, stateful=True).get_config()
    assert (config["units"], config["epsilon"], config["stateful"]) == (8, 1e-3, True)
    assert "cell" not in config


def test_build_model_fuses_ln_lstm_like_lstm():
    config = tiny_model_config("ln_lstm", dropout=0.5, fast_path="on")
    assert fuses_layers(config) and planned_layer_kind(config) == "stack"
    training = build_model(config, 2, 5, for_training=True)
    stack = training.get_layer("lstm_stack")
    assert stack.layer_norm_cell and layer_kind(training) == "stack"
    names = [layer.name for layer in training.layers]
    assert names[-3:] == ["lstm_stack", "dropout_1", "softmax"]
    inference = build_model(config, 2, None)
    assert [type(x) for x in recurrent_layers(inference)] == [LayerNormLSTM] * 2
    assert [w.shape for w in training.weights] == [w.shape for w in inference.weights]
    for change in (dict(fast_path="off"), dict(residual=True), dict(layer_norm=True)):
        other = dataclasses.replace(config, **change)
        assert not fuses_layers(other), change
        model = build_model(other, 2, 5, for_training=True)
        assert [type(x) for x in recurrent_layers(model)] == [LayerNormLSTM] * 2
        # No fast layer for LN-LSTM: what is planned is what is built.
        assert layer_kind(model) == planned_layer_kind(other) == "keras", change


@pytest.mark.parametrize("fast_path", ["on", "off"])
def test_state_io_model_passes_the_states_a_stateful_model_keeps(fast_path):
    """`state_io` (the replicas' model), fused or not: the same outputs and final
    states as the stateful training model, starting from given states."""
    config = tiny_model_config("ln_lstm", dropout=0.0, fast_path=fast_path)
    stateful = build_model(config, 2, 5, for_training=True)
    passing = build_model(
        config, 2, 5, stateful=False, for_training=True, state_io=True
    )
    assert layer_kind(passing) == ("stack" if fast_path == "on" else "keras")
    rng = np.random.default_rng(0)
    weights = [w + rng.normal(0, 0.3, w.shape) for w in stateful.get_weights()]
    stateful.set_weights(weights)
    passing.set_weights(weights)
    variables = state_variables(stateful)
    assert len(variables) == 4  # (h, c) per layer
    starts = [rng.normal(size=(2, 8)).astype("float32") for _ in variables]
    for variable, value in zip(variables, starts, strict=True):
        variable.assign(value)
    ids = rng.integers(0, 10, (2, 5))
    expected = keras.ops.convert_to_numpy(stateful(ids))  # (batch, time, vocab)
    probabilities, *finals = passing([ids, *starts])
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    for final, variable in zip(finals, variables, strict=True):
        kept = keras.ops.convert_to_numpy(variable)
        np.testing.assert_allclose(final, kept, atol=1e-6)


def test_the_engine_normalises_with_the_cells_epsilon():
    assert LN_EPSILON == EPSILON == 1e-5


@pytest.fixture
def floatx():
    """Sets Keras's float type (and its dtype policy) for one test."""
    before = keras.config.floatx(), keras.config.dtype_policy()

    def set_floatx(dtype):
        keras.config.set_floatx(dtype)
        keras.config.set_dtype_policy(dtype)

    yield set_floatx
    keras.config.set_floatx(before[0])
    keras.config.set_dtype_policy(before[1])


@pytest.mark.parametrize(
    "encoding, dtype, rtol",
    [("one_hot", "float32", 1e-4), ("embedding", "float64", 1e-10)],
)
def test_training_gives_the_same_loss_trajectory_on_and_off_the_stack(
    floatx, encoding, dtype, rtol
):
    """The fused stack (fast path on) and `LayerNormLSTM` layers (off) train alike.

    Not the embedding in float32: its projections start tiny (the embedding is
    initialised within +-0.05), their normalisation divides by a small spread,
    and Adam makes float32 rounding differences between the two (about 1e-7 of
    the gradients) grow to 1% of the loss within 3 epochs; in float64 the two
    agree to 1e-13.
    """
    floatx(dtype)
    histories = []
    for fast_path in ("off", "on"):
        config = tiny_config(
            cell="ln_lstm", input_encoding=encoding, epochs=3, fast_path=fast_path
        )
        result = charlstm.train(text=make_text(2000), config=config)
        kind = "stack" if fast_path == "on" else "keras"
        assert layer_kind(result.model) == kind
        assert result.model.weights[-1].dtype == dtype
        histories.append([(r["loss"], r["val_loss"]) for r in result.history])
    np.testing.assert_allclose(histories[1], histories[0], rtol=rtol)


def test_trained_run_generates_on_the_numpy_engine_as_on_keras(tmp_path):
    run = tmp_path / "run"
    config = tiny_config(cell="ln_lstm", fast_path="on")
    result = charlstm.train(text=make_text(), run_dir=run, config=config)
    assert (run / "engine.npz").exists()
    fast = charlstm.load(run, engine="numpy")
    assert isinstance(fast.engine, NumpyEngine)
    slow = charlstm.load(run, engine="keras")
    text = fast.generate("bad ", 40, temperature=0, random_seed=0)
    assert text.startswith("bad ") and len(text) == 44
    kwargs = dict(temperature=1.0, num_samples=2, random_seed=4)
    assert fast.generate("head ", 30, **kwargs) == slow.generate("head ", 30, **kwargs)
    # The last checkpoint's inference model predicts what the trained one does.
    model = charlstm.load(run, checkpoint="last").inference_model(4)
    x = np.random.default_rng(0).integers(0, 10, (4, 5)).astype("int32")
    reset_states(result.model)
    np.testing.assert_allclose(
        model(x).numpy(), result.model(x).numpy(), rtol=1e-4, atol=1e-6
    )
