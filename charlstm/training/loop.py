"""The stateful training loop: batches in stream order, checkpoints on a timer,
exact resumption from any batch.

Keras's `fit` starts epochs at their first batch and resets its loss metric at
every epoch; a run resumed mid-epoch must do neither. This loop steps
`model.train_on_batch` (the same compiled step `fit` runs) over the batch-major
arrays of `StatefulBatches`, keeps the epoch's loss itself, and calls the Keras
callbacks at the same points as `fit`: `on_train_begin`, `on_epoch_begin`,
`on_train_batch_begin`/`end`, `on_epoch_end` (with `loss` and `val_loss`),
`on_train_end`.

States are reset at the start of every epoch (not when resuming inside one).
Validation continues every stream from where training left it; after a time
budget stops an epoch early, the streams are not at the end of their training
part, so validation starts from reset states instead (the history row says
`stopped="time_budget"`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time

from charlstm.model.build import reset_states
from charlstm.training.callbacks import current_learning_rate
from charlstm.training.checkpoint import Progress
from charlstm.training.run_dir import history_row


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT or SIGTERM after saving a checkpoint.

    Attributes:
        signal_name: str. "SIGINT" or "SIGTERM".
        progress: Progress. Where the checkpoint is.
    """

    def __init__(self, signal_name: str, progress: Progress):
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.progress = progress


class StopRequest:
    """Set by SIGINT or SIGTERM while `catch_signals` is active."""

    def __init__(self):
        self.signal_name = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None


@contextlib.contextmanager
def catch_signals(enabled: bool = True):
    """Turns SIGINT and SIGTERM into a `StopRequest` that the loop reads at the
    next batch boundary; a second SIGINT interrupts at once. Only in the main
    thread (elsewhere, signals stay as they are)."""
    request = StopRequest()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(number, frame):
        if request.requested and number == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: stop now
        request.signal_name = signal.Signals(number).name

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Checkpointer:
    """Saves checkpoints: every `every` seconds at a batch boundary, at the end of
    every epoch, and on request; writes the best model at epoch ends.

    Args:
        checkpoints: Checkpoints or None. The run directory's (None: in memory).
        corpus: dict. The corpus fingerprint recorded in every checkpoint.
        every: float or None. Seconds between checkpoints inside an epoch.
        on_best: callable(model) or None. Writes the best model (epoch ends only).
    """

    def __init__(self, checkpoints, corpus: dict, every=None, on_best=None):
        self.checkpoints = checkpoints
        self.corpus = corpus
        self.every = every
        self.on_best = on_best
        self.last = time.monotonic()

    def due(self) -> bool:
        return (
            self.checkpoints is not None
            and self.every is not None
            and time.monotonic() - self.last >= self.every
        )

    def save(self, model, progress: Progress) -> None:
        if self.checkpoints is not None:
            self.checkpoints.save(model, progress, self.corpus)
        self.last = time.monotonic()


class _Callbacks:
    """Calls every callback's hook with the same `logs` dict, so a callback sees
    the keys an earlier one added (Keras's CallbackList passes copies)."""

    def __init__(self, callbacks, model, **params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params({**params, "verbose": 0})

    def __getattr__(self, hook):
        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return call


def train_epochs(
    model,
    batches,
    progress: Progress,
    epochs: int,
    callbacks=(),
    checkpointer: Checkpointer | None = None,
    stop: StopRequest | None = None,
    budget=None,
) -> Progress:
    """Trains from `progress` (an epoch and a batch in it) up to `epochs` epochs.

    Args:
        model: keras.Model. A compiled stateful training model.
        batches: StatefulBatches. The corpus's layout.
        progress: Progress. Where to start; updated as training goes.
        epochs: int. Total epochs of the run.
        callbacks: Keras callbacks.
        checkpointer: Checkpointer or None.
        stop: StopRequest or None. Checked after every batch.
        budget: TimeBudget or None. The run's budget (also among `callbacks`),
            whose spent seconds `progress` records.

    Returns:
        The progress at the end: every finished epoch's row in its history.
    """
    x, y = batches.train.as_arrays()  # (batches * B, T) each, batch-major
    x_val, y_val = batches.validation.as_arrays()
    size, count = batches.batch_size, len(batches.train)
    callback_list = _Callbacks(callbacks, model, epochs=epochs, steps=count)
    checkpointer = checkpointer or Checkpointer(None, {})
    model.stop_training = False
    callback_list.on_train_begin()
    while progress.epoch < epochs and not model.stop_training:
        epoch = progress.epoch
        if progress.batch == 0:
            reset_states(model)
            progress.loss_sum = 0.0
        callback_list.on_epoch_begin(epoch)
        for index in range(progress.batch, count):
            callback_list.on_train_batch_begin(index)
            if index == 0:
                progress.learning_rate = current_learning_rate(model)
            rows = slice(index * size, (index + 1) * size)
            out = model.train_on_batch(x[rows], y[rows], return_dict=True)
            progress.loss_sum += float(out["loss"])
            progress.batch = index + 1
            callback_list.on_train_batch_end(
                index, {"loss": progress.loss_sum / progress.batch}
            )
            if budget is not None:
                progress.budget_spent = budget.spent_seconds()
            if stop is not None and stop.requested:
                checkpointer.save(model, progress)
                raise TrainingInterrupted(stop.signal_name, progress)
            if model.stop_training:
                break
            if index + 1 < count and checkpointer.due():
                checkpointer.save(model, progress)
        if progress.batch < count:
            reset_states(model)  # the streams are not at their validation tails
        callback_list.on_test_begin()
        validation = model.evaluate(
            x_val, y_val, batch_size=size, verbose=0, return_dict=True
        )
        callback_list.on_test_end(validation)
        logs = {
            "loss": progress.loss_sum / max(progress.batch, 1),
            "val_loss": float(validation["loss"]),
            "learning_rate": progress.learning_rate,
        }
        best = progress.best_val_loss
        callback_list.on_epoch_end(epoch, logs)
        progress.history.append(history_row(epoch, logs))
        progress.epoch, progress.batch, progress.loss_sum = epoch + 1, 0, 0.0
        if checkpointer.on_best is not None and logs["val_loss"] < best:
            checkpointer.on_best(model)
        checkpointer.save(model, progress)
    callback_list.on_train_end()
    return progress
