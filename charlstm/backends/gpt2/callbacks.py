"""The GPT-2 backend's Keras callbacks: validation in bits per character, and
the checkpoint of its run directory."""

from __future__ import annotations

import keras

from charlstm.backends.gpt2.config import GPT2RunFiles
from charlstm.backends.gpt2.evaluation import sequence_nll, token_nll_function
from charlstm.training.callbacks import (
    RecordHistory,
)
from charlstm.training.run_dir import (
    write_history,
)
from charlstm.utils.storage import atomic_path


class GPT2Validation(keras.callbacks.Callback):
    """Adds `val_loss` (nats per validation character) to every epoch's logs and
    turns `loss` from nats per token into nats per character, in every batch's
    logs too.

    Put it before `EpochStats`, which derives `val_bits_per_char` from it.

    Args:
        sequences: list of (tokens, start). Each validation tail after the end of
            its stream's head.
        characters: int. Characters of the validation tails.
        window: int. The model's window.
        tokens_per_character: float. Of the training text.
    """

    def __init__(self, sequences, characters, window, tokens_per_character):
        super().__init__()
        self.sequences = sequences
        self.characters = characters
        self.window = window
        self.tokens_per_character = tokens_per_character
        self._nll = None

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None and "loss" in logs:  # for the callbacks after this one
            logs["loss"] = float(logs["loss"]) * self.tokens_per_character

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self._nll is None:
            self._nll = token_nll_function(self.model)
        total, _ = sequence_nll(self._nll, self.sequences, self.window)
        logs["val_loss"] = total / self.characters
        if "loss" in logs:
            logs["loss"] = float(logs["loss"]) * self.tokens_per_character


class GPT2Checkpoint(RecordHistory):
    """Writes `last.keras` (with optimizer state), the best `model.keras` and
    `history.csv` after every epoch, each atomically; `history.csv` last.

    Args:
        files: GPT2RunFiles. The run directory.
        history: list of dict. Rows of earlier epochs (when resuming).
    """

    def __init__(self, files: GPT2RunFiles, history=()):
        super().__init__(history)
        self.files = files
        losses = [r["val_loss"] for r in self.history if r.get("val_loss") != ""]
        self.best = min((float(v) for v in losses), default=float("inf"))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        with atomic_path(self.files.last) as tmp:
            self.model.save(tmp)
        val_loss = logs.get("val_loss")
        if val_loss is not None and float(val_loss) < self.best:
            self.best = float(val_loss)
            with atomic_path(self.files.model) as tmp:
                self.model.save(tmp)
        super().on_epoch_end(epoch, logs)
        write_history(self.files.history, self.history)
