"""`charlstm.load`: a trained run directory as a generator, on the numpy engine
or on Keras.

The numpy path imports neither TensorFlow nor Keras when the run has a current
`engine.npz` (training writes one beside `model.keras`). Without one, the Keras
model is loaded once to export it, and the file is written if the run directory
is writable.
"""

from __future__ import annotations

import os
import warnings

from charlstm import __version__
from charlstm.backends.gpt2_config import run_backend
from charlstm.config import RunConfig
from charlstm.engine import EngineWeights, engine_path, file_digest, save_beside
from charlstm.engine import unsupported_reason as _engine_unsupported
from charlstm.runs import RunFiles, check_trained
from charlstm.vocabulary import Vocabulary

ENGINES = ("auto", "numpy", "keras")


class EngineFallbackWarning(UserWarning):
    """`charlstm.load(engine="auto")` fell back to Keras."""


def _release(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def unsupported_reason(config: RunConfig) -> str | None:
    """Why the numpy engine should not run a saved run, or None if it can."""
    if config.version and _release(config.version) != _release(__version__):
        return f"the run was saved by charlstm {config.version}, this is {__version__}"
    return _engine_unsupported(config.model)


def load(run_dir: str | os.PathLike, checkpoint: str = "best", engine: str = "auto"):
    """Loads a trained run directory as a text generator.

    Args:
        run_dir: path. A directory written by `charlstm.train`.
        checkpoint: "best" (lowest validation loss, `model.keras`) or "last".
        engine: "auto" (numpy where it supports the model, else Keras with an
            `EngineFallbackWarning`), "numpy" (a ValueError if unsupported) or
            "keras".

    Returns:
        A `NumpyTextGenerator` or a Keras `TextGenerator`; both have
        `generate(seed, length, temperature, top_k, top_p, num_samples,
        random_seed, strict)`. A GPT-2 run (`charlstm train --backend gpt2`)
        gives a `GPT2Generator` with the same `generate` (needs the `gpt2` extra).

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    >>> generator.complete("    def __", num_candidates=3)
    """
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {ENGINES}. Received: {engine!r}")
    if run_backend(run_dir) == "gpt2":
        if engine == "numpy":
            raise ValueError(
                f"the numpy engine runs LSTM runs only: {str(run_dir)!r} is a GPT-2 "
                "run. Use engine='auto' or 'keras'."
            )
        from charlstm.backends.gpt2 import load_gpt2

        return load_gpt2(run_dir, checkpoint)
    files = RunFiles(run_dir)
    path = check_trained(files, checkpoint)
    if engine == "keras":
        from charlstm.generation import load as load_keras

        return load_keras(run_dir, checkpoint)
    config = RunConfig.load(files.config)
    reason = unsupported_reason(config)
    if reason:
        if engine == "numpy":
            raise ValueError(
                f"the numpy engine cannot run {str(files.root)!r}: {reason}. "
                "Use engine='keras' or 'auto'."
            )
        warnings.warn(
            f"using Keras for {str(files.root)!r}: {reason}.",
            EngineFallbackWarning,
            stacklevel=2,
        )
        from charlstm.generation import load as load_keras

        return load_keras(run_dir, checkpoint)

    from charlstm.numpy_generation import NumpyTextGenerator

    vocabulary = Vocabulary.load(files.vocabulary)
    weights = EngineWeights.read(engine_path(path), file_digest(path))
    if weights is None or weights.config != config.model:
        from charlstm.generation import load as load_keras

        keras_generator = load_keras(run_dir, checkpoint)
        weights = EngineWeights(config.model, keras_generator.weights)
        save_beside(path, weights)  # kept in memory only if the dir is read-only
    return NumpyTextGenerator(weights, vocabulary)


def needs_keras(
    run_dir: str | os.PathLike, checkpoint: str = "best", engine: str = "auto"
) -> bool:
    """Whether `load` with these arguments will import Keras (and TensorFlow):
    for the Keras engine, a fallback, or a missing or stale `engine.npz`."""
    if engine == "keras" or run_backend(run_dir) == "gpt2":
        return True
    try:
        files = RunFiles(run_dir)
        path = check_trained(files, checkpoint)
        config = RunConfig.load(files.config)
    except (OSError, ValueError):
        return False  # `load` reports the problem
    if unsupported_reason(config):
        return engine == "auto"
    weights = EngineWeights.read(engine_path(path), file_digest(path))
    return weights is None or weights.config != config.model
