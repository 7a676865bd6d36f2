"""The engine protocol: what a generator needs from a model that runs.

An engine is a batch of stateful streams over a trained model. `NumpyEngine`
(numpy, no TensorFlow) and `KerasEngine` implement it, and so does anything that
wraps one (`charlstm.interpret.activations.RecordingEngine`). `TextGenerator`,
line completion, held-out evaluation and activation recording run on any of
them.
"""

from __future__ import annotations

import warnings
from typing import Protocol, runtime_checkable

import numpy as np

from charlstm.utils.checks import InputError

ENGINES = ("auto", "numpy", "keras")


@runtime_checkable
class Engine(Protocol):
    """A batch of stateful streams over a trained model.

    Attributes:
        name: str. "numpy" or "keras".
        config: ModelConfig. The architecture.
        weights: list of float32 arrays. In Keras's `model.get_weights()` order.
        vocabulary_size: int. Ids run from 0 to `vocabulary_size - 1`.
        batch_size: int. Number of streams.
    """

    name: str
    vocabulary_size: int
    batch_size: int

    def reset(self, batch_size: int | None = None) -> None:
        """Zeroes every state; with `batch_size`, changes the number of streams."""

    def feed(self, ids, lengths=None, return_sequences: bool = False) -> np.ndarray:
        """Feeds ids (batch, time); returns the next-id probabilities after the last
        step (batch, vocab), or after every step (batch, time, vocab). Streams with
        fewer `lengths` are padded on the left and keep their state there."""

    def step(self, ids) -> np.ndarray:
        """Feeds one id per stream (batch,); returns probabilities (batch, vocab),
        possibly a buffer that the next call overwrites."""

    def get_state(self) -> list[np.ndarray]:
        """A copy of every state array (batch, units), bottom layer first."""

    def set_state(self, state) -> None:
        """Restores states from `get_state`; their batch size becomes the engine's."""

    def select(self, rows) -> None:
        """Keeps the streams `rows` (in that order, repeats allowed)."""


class EngineFallbackWarning(UserWarning):
    """engine="auto" ran a model on Keras because the numpy engine cannot."""


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise InputError(f"`engine` must be one of {ENGINES}. Received: {engine!r}")
    return engine


def make_engine(config, weights, engine: str = "auto", reason: str | None = None):
    """An engine for a model config and its weights (Keras's order).

    Args:
        config: ModelConfig. The architecture.
        weights: list of arrays, or `EngineWeights`.
        engine: "auto" (numpy where it runs the model, else Keras with an
            `EngineFallbackWarning`), "numpy" (an InputError if it cannot) or
            "keras" (imports TensorFlow).
        reason: str or None. Why the numpy engine must not run these weights,
            beyond the model's architecture (for example, another version).
    """
    from charlstm.infer.engine_weights import EngineWeights
    from charlstm.infer.engine_weights import unsupported_reason as numpy_cannot
    from charlstm.infer.numpy_engine import NumpyEngine

    check_engine(engine)
    arrays = weights.arrays if isinstance(weights, EngineWeights) else weights
    if engine != "keras":
        reason = reason or numpy_cannot(config)
        if reason is None:
            if not isinstance(weights, EngineWeights):
                weights = EngineWeights(config, arrays)
            return NumpyEngine(weights)
        if engine == "numpy":
            raise InputError(
                f"the numpy engine cannot run this model: {reason}. "
                "Use engine='keras' or 'auto'."
            )
        warnings.warn(f"using Keras: {reason}.", EngineFallbackWarning, stacklevel=3)
    from charlstm.infer.keras_engine import KerasEngine

    return KerasEngine(config, arrays)
