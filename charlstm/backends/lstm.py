"""The LSTM (GRU, SimpleRNN) backend: charlstm's own models, as the backend
registry sees them (see `charlstm.backends`)."""

from __future__ import annotations

from charlstm.config import RunConfig
from charlstm.eval.heldout import evaluate as evaluate_text
from charlstm.infer.load import load_lstm as load_run

RUN_CONFIG = RunConfig

__all__ = ["RUN_CONFIG", "evaluate_text", "load_run"]
