"""The LSTM (GRU, SimpleRNN) backend: charlstm's own models, as the backend
registry sees them (see `charlstm.backends`)."""

from __future__ import annotations

from charlstm.config import RunConfig
from charlstm.eval.heldout import evaluate as evaluate_text
from charlstm.infer.load import load_lstm as load_run

__all__ = ["base_config", "evaluate_text", "load_run", "train_run"]


def base_config(preset: str | None, given: dict) -> RunConfig:
    """The config a new run starts from: a named preset's, or the defaults."""
    from charlstm.presets import preset as named

    return named(preset) if preset else RunConfig()


def train_run(corpus, run_dir, **kwargs):
    """`charlstm.train` (the command line's `train`)."""
    from charlstm.training.trainer import train

    return train(corpus, run_dir, **kwargs)
