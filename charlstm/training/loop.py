"""The stateful training loop: batches in stream order, checkpoints on a timer,
exact resumption from any batch.

Keras's `fit` starts epochs at their first batch and resets its loss metric at
every epoch; a run resumed mid-epoch must do neither. This loop steps a `Steps`
object (`charlstm.training.replicas`: `model.train_on_batch`, the same compiled
step `fit` runs, on one device; its own step on the replicas of a
`tf.distribute` strategy) over the batch-major arrays of `StatefulBatches`,
keeps the epoch's loss itself, and calls the Keras callbacks at the same points
as `fit`: `on_train_begin`, `on_epoch_begin`,
`on_train_batch_begin`/`end`, `on_epoch_end` (with `loss` and `val_loss`),
`on_train_end`.

Every `history_every` batches of the run, and at every epoch's end, a row of
`batch_history.csv` gets the mean loss of the batches since the row before
(`BatchHistory`).

With `variable_length` batches (`StatefulBatches.train_batches`), every epoch
has its own lengths and number of batches, a pure function of the epoch, so a
resumed run cuts its epoch as the uninterrupted run did; each batch trains at
the learning rate times its length over `sequence_length`
(`charlstm.training.schedule.scaled_learning_rate`), and callbacks' `steps`
parameter is the current epoch's number of batches.

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

from charlstm.training.callbacks import current_learning_rate, global_step
from charlstm.training.checkpoint import Progress
from charlstm.training.run_dir import (
    append_batch_history,
    batch_history_row,
    history_row,
)
from charlstm.training.schedule import scaled_learning_rate


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


class BatchHistory:
    """The run's batch history: a row every `every` batches of the run and at
    every epoch's end, with the mean loss of the batches since the row before
    (`charlstm.training.run_dir.BATCH_HISTORY_COLUMNS`).

    Those batches are counted in `Progress`, which checkpoints carry, so a
    resumed run writes the rows that an uninterrupted run writes.

    Args:
        every: int. Batches between rows (0: no rows).
        chars_per_batch: int. Target characters in one training batch.
        path: path or None. The `batch_history.csv` rows are appended to.
        rows: list of dict. Rows of earlier sessions, up to the checkpoint.
    """

    def __init__(self, every: int = 0, chars_per_batch: int = 0, path=None, rows=()):
        self.every = every
        self.chars_per_batch = chars_per_batch
        self.path = path
        self.rows = [dict(row) for row in rows]

    def count(self, progress: Progress, loss: float, seconds: float) -> None:
        """Adds a trained batch (its loss and seconds) to those since the last row."""
        if self.every:
            progress.window_loss_sum += loss
            progress.window_batches += 1
            progress.window_seconds += seconds

    def record(self, model, progress: Progress, step: int, epoch_end: bool) -> None:
        """Writes a row if one is due after the run's `step`-th batch."""
        due = self.every and (step % self.every == 0 or epoch_end)
        if not due or not progress.window_batches:
            return
        batches, seconds = progress.window_batches, progress.window_seconds
        row = batch_history_row(
            progress.epoch,
            progress.batch,
            step,
            progress.seconds,
            progress.window_loss_sum / batches,
            current_learning_rate(model),
            batches * self.chars_per_batch / max(seconds, 1e-9),
        )
        self.rows.append(row)
        if self.path is not None:
            append_batch_history(self.path, [row])
        progress.window_loss_sum, progress.window_batches = 0.0, 0
        progress.window_seconds = 0.0


class _Callbacks:
    """Calls every callback's hook with the same `logs` dict, so a callback sees
    the keys an earlier one added (Keras's CallbackList passes copies)."""

    def __init__(self, callbacks, model, **params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
        self.set_params(**params)

    def set_params(self, **params):
        for callback in self.callbacks:
            callback.set_params({**params, "verbose": 0})

    def __getattr__(self, hook):
        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return call


def train_epochs(
    steps,
    batches,
    progress: Progress,
    epochs: int,
    callbacks=(),
    checkpointer: Checkpointer | None = None,
    stop: StopRequest | None = None,
    budget=None,
    batch_history: BatchHistory | None = None,
) -> Progress:
    """Trains from `progress` (an epoch and a batch in it) up to `epochs` epochs.

    Args:
        steps: KerasSteps or ReplicaSteps (`charlstm.training.replicas`). The
            training steps; callbacks see `steps.model`.
        batches: StatefulBatches. The corpus's layout.
        progress: Progress. Where to start; updated as training goes.
        epochs: int. Total epochs of the run.
        callbacks: Keras callbacks.
        checkpointer: Checkpointer or None.
        stop: StopRequest or None. Checked after every batch.
        budget: TimeBudget or None. The run's budget (also among `callbacks`),
            whose spent seconds `progress` records.
        batch_history: BatchHistory or None. Rows every few batches (None: none).

    Returns:
        The progress at the end: every finished epoch's row in its history.
    """
    model = steps.model
    if not batches.variable_length:
        x, y = batches.train.as_arrays()  # (batches * B, T) each, batch-major
    x_val, y_val = batches.validation.as_arrays()
    size, count = batches.batch_size, batches.steps_per_epoch(progress.epoch)
    callback_list = _Callbacks(callbacks, model, epochs=epochs, steps=count)
    checkpointer = checkpointer or Checkpointer(None, {})
    batch_history = batch_history or BatchHistory()
    step = global_step(model)  # batches trained in the run
    start, seconds = time.perf_counter(), progress.seconds
    model.stop_training = False
    callback_list.on_train_begin()
    while progress.epoch < epochs and not model.stop_training:
        epoch = progress.epoch
        train = batches.train_batches(epoch)
        if len(train) != count:  # variable lengths: this epoch's own number
            count = len(train)
            callback_list.set_params(epochs=epochs, steps=count)
        if progress.batch == 0:
            steps.reset_states()
            progress.loss_sum = 0.0
        callback_list.on_epoch_begin(epoch)
        for index in range(progress.batch, count):
            began = time.perf_counter()
            callback_list.on_train_batch_begin(index)
            if index == 0:
                progress.learning_rate = current_learning_rate(model)
            if batches.variable_length:
                x_batch, y_batch = train[index]  # (B, length) each
                factor = x_batch.shape[1] / batches.sequence_length
                with scaled_learning_rate(model, factor):
                    loss = steps.train(x_batch, y_batch)
            else:
                rows = slice(index * size, (index + 1) * size)
                loss = steps.train(x[rows], y[rows])
            progress.loss_sum += loss
            progress.batch, step = index + 1, step + 1
            callback_list.on_train_batch_end(
                index, {"loss": progress.loss_sum / progress.batch}
            )
            now = time.perf_counter()
            progress.seconds = seconds + now - start
            batch_history.count(progress, loss, now - began)
            # Decisions on this worker's clock, taken by every worker at once.
            interrupted, model.stop_training, due = steps.agree(
                stop is not None and stop.requested,
                model.stop_training,
                index + 1 < count and checkpointer.due(),
            )
            epoch_end = index + 1 == count or model.stop_training
            batch_history.record(model, progress, step, epoch_end)
            if budget is not None:
                progress.budget_spent = budget.spent_seconds()
            if interrupted:
                checkpointer.save(steps.snapshot(), progress)
                name = stop.signal_name if stop and stop.requested else "SIGTERM"
                raise TrainingInterrupted(name, progress)
            if model.stop_training:
                break
            if due:
                checkpointer.save(steps.snapshot(), progress)
        if progress.batch < count:
            steps.reset_states()  # the streams are not at their validation tails
        callback_list.on_test_begin()
        val_loss = steps.validate(x_val, y_val)
        callback_list.on_test_end({"loss": val_loss})
        logs = {
            "loss": progress.loss_sum / max(progress.batch, 1),
            "val_loss": val_loss,
            "learning_rate": progress.learning_rate,
        }
        best = progress.best_val_loss
        callback_list.on_epoch_end(epoch, logs)
        progress.history.append(history_row(epoch, logs))
        progress.epoch, progress.batch, progress.loss_sum = epoch + 1, 0, 0.0
        snapshot = steps.snapshot()
        if checkpointer.on_best is not None and logs["val_loss"] < best:
            checkpointer.on_best(snapshot)
        checkpointer.save(snapshot, progress)
    callback_list.on_train_end()
    return progress
