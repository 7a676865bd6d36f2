"""`charlstm.load`: a trained run directory as a generator.

One loader for the Python API and every command. The backend comes from the
run's `config.json` (`charlstm.backends`); an LSTM run runs on the numpy engine
when it can, and then imports neither TensorFlow nor Keras as long as the run
has a current `engine.npz` (training writes one beside `model.keras`). Without
one, the Keras model is loaded once to export it, and the file is written if
the run directory is writable.
"""

from __future__ import annotations

import os

from charlstm import __version__
from charlstm.backends import get_backend, run_backend
from charlstm.config import RunConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine import check_engine, make_engine
from charlstm.infer.engine_weights import (
    EngineWeights,
    engine_path,
    file_digest,
    save_beside,
    unsupported_reason,
)
from charlstm.infer.generator import TextGenerator
from charlstm.training.run_dir import RunFiles, check_trained
from charlstm.utils.checks import InputError


def load(run_dir: str | os.PathLike, checkpoint: str = "best", engine: str = "auto"):
    """Loads a trained run directory as a text generator.

    Args:
        run_dir: path. A directory written by `charlstm.train` (or `charlstm
            train --backend gpt2`).
        checkpoint: "best" (lowest validation loss, `model.keras`) or "last".
        engine: "auto" (numpy where it runs the model, else Keras with an
            `EngineFallbackWarning`), "numpy" (an error if it cannot) or
            "keras". A GPT-2 run runs on Keras ("numpy" is an error).

    Returns:
        A `Generator`: `generate(seed, length, sampling, ...)`, `stream`, and for
        LSTM runs `complete` (a `TextGenerator`).

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    >>> generator.generate("def ", 200, temperature=0.75, random_seed=0)
    >>> generator.complete("    def __", num_candidates=3)
    """
    check_engine(engine)
    return get_backend(run_backend(run_dir)).load_run(run_dir, checkpoint, engine)


def _release(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def load_lstm(run_dir, checkpoint: str = "best", engine: str = "auto"):
    """`load` for an LSTM run: a `TextGenerator` on the chosen engine."""
    files = RunFiles(run_dir)
    path = check_trained(files, checkpoint)
    config = RunConfig.load(files.config)
    vocabulary = Vocabulary.load(files.vocabulary)
    reason = None
    if config.version and _release(config.version) != _release(__version__):
        reason = (
            f"the run was saved by charlstm {config.version}, this is {__version__}"
        )
    numpy_cannot = reason or unsupported_reason(config.model)
    if engine == "numpy" and numpy_cannot:
        raise InputError(
            f"the numpy engine cannot run {str(files.root)!r}: {numpy_cannot}. "
            "Use engine='keras' or 'auto'."
        )
    weights = None
    if engine != "keras" and not numpy_cannot:
        weights = EngineWeights.read(engine_path(path), file_digest(path))
        if weights is not None and weights.config != config.model:
            weights = None
    if weights is None:
        weights = _keras_weights(path)
        if engine != "keras" and not numpy_cannot:
            weights = EngineWeights(config.model, weights)
            save_beside(path, weights)  # kept in memory only if the dir is read-only
    return TextGenerator(make_engine(config.model, weights, engine, reason), vocabulary)


def _keras_weights(path) -> list:
    """The weights of a `.keras` model file (imports Keras)."""
    from charlstm.model.build import load_model_file

    return load_model_file(path).get_weights()
