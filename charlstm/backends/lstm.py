"""The LSTM (GRU, SimpleRNN) backend: charlstm's own models, as the backend
registry sees them (see `charlstm.backends`)."""

from __future__ import annotations

from charlstm.eval.heldout import evaluate as evaluate_text
from charlstm.infer.load import load_lstm as load_run

__all__ = ["evaluate_text", "load_run"]
