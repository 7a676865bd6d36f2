"""The engine protocol on Keras: for models the numpy engine does not run
(residual connections, layer normalisation), and to check it against Keras.

Imports Keras (and TensorFlow).
"""

from __future__ import annotations

import keras
import numpy as np

from charlstm.config import ModelConfig
from charlstm.model.build import build_model, reset_states, state_variables
from charlstm.utils.checks import InputError, check_count


def compile_forward(model: keras.Model, last_only: bool = False):
    """Compiles a stateful model's forward pass once for any number of time steps.

    Returns a function from int32 ids `(batch, time)` to numpy probabilities
    `(batch, time, vocab)`, or `(batch, vocab)` for the last step if `last_only`.
    """

    def forward(ids):
        probs = model(ids, training=False)  # (batch, time, vocab)
        return probs[:, -1, :] if last_only else probs

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec((model.inputs[0].shape[0], None), tf.int32)
        compiled = tf.function(forward, input_signature=[spec])
        return lambda x: compiled(x).numpy()
    return lambda x: keras.ops.convert_to_numpy(forward(x))


class KerasEngine:
    """A batch of stateful streams on Keras models (`charlstm.infer.engine.Engine`).

    One stateful model per batch size, each with its forward pass compiled once.

    Args:
        config: ModelConfig. The architecture.
        weights: list of arrays. The trained weights (`model.get_weights()`).
        batch_size: int. Number of streams.

    Example:
    >>> engine = KerasEngine(config, model.get_weights())
    >>> probs = engine.feed(np.array([[3, 1, 4]]))  # (1, vocab)
    """

    name = "keras"

    def __init__(self, config: ModelConfig, weights, batch_size: int = 1):
        self.config = config
        self.weights = list(weights)
        self.vocabulary_size = config.vocabulary_size
        self._models = {}  # batch size -> (model, last-step forward, full forward)
        self.batch_size = 0
        self.reset(batch_size)

    def _use(self, batch_size: int) -> None:
        if batch_size not in self._models:
            model = build_model(self.config, batch_size, None, stateful=True)
            model.set_weights(self.weights)
            self._models[batch_size] = (
                model,
                compile_forward(model, last_only=True),
                compile_forward(model),
            )
        self.batch_size = batch_size
        self._model, self._last, self._all = self._models[batch_size]

    def reset(self, batch_size: int | None = None) -> None:
        """Zeroes every state; with `batch_size`, changes the number of streams."""
        if batch_size is not None:
            check_count("batch_size", batch_size)
        self._use(int(batch_size or self.batch_size))
        reset_states(self._model)

    def get_state(self) -> list[np.ndarray]:
        """A copy of every state array, bottom layer first."""
        return [keras.ops.convert_to_numpy(s) for s in state_variables(self._model)]

    def set_state(self, state) -> None:
        """Restores states from `get_state` (their batch size becomes the engine's)."""
        state = list(state)
        self._use(state[0].shape[0])
        variables = state_variables(self._model)
        if len(state) != len(variables):
            raise InputError(
                f"`state` must hold {len(variables)} arrays. Received: {len(state)}"
            )
        for variable, value in zip(variables, state, strict=True):
            variable.assign(value)

    def select(self, rows) -> None:
        """Keeps the streams `rows` (in that order, repeats allowed)."""
        rows = np.asarray(rows, dtype=np.intp)
        self.set_state([s[rows] for s in self.get_state()])

    def step(self, ids) -> np.ndarray:
        """Feeds one id per stream; returns the next-id probabilities (batch, vocab)."""
        ids = np.asarray(ids, dtype=np.int32)[:, None]  # (batch, 1)
        return self._last(ids)

    def feed(self, ids, lengths=None, return_sequences: bool = False) -> np.ndarray:
        """Feeds ids (batch, time); streams shorter than `lengths` are padded on the
        left and keep their state there (see `NumpyEngine.feed`)."""
        ids = np.asarray(ids, dtype=np.int32)  # (batch, time)
        time = ids.shape[1]
        if lengths is None or all(n == time for n in lengths):
            return self._all(ids) if return_sequences else self._last(ids)
        if return_sequences:
            raise InputError("`return_sequences` needs streams of equal lengths.")
        states, probs = self.get_state(), []
        rows = []
        for row, length in enumerate(lengths):
            self.set_state([s[row : row + 1] for s in states])
            probs.append(self._last(ids[row : row + 1, time - length :]))
            rows.append(self.get_state())
        self.set_state([np.concatenate(parts) for parts in zip(*rows, strict=True)])
        return np.concatenate(probs)  # (batch, vocab)
