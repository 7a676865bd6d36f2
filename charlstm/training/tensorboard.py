"""A Keras callback that writes training figures and samples for TensorBoard.

Written with TensorFlow's summary writer (TensorFlow is a core dependency);
reading them needs TensorBoard: `pip install 'charlstm[tensorboard]'`, then
`tensorboard --logdir DIR`. TensorFlow is imported when training begins.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import keras

from charlstm.training.callbacks import current_learning_rate, global_step
from charlstm.utils.checks import InputError


class TensorBoard(keras.callbacks.Callback):
    """Writes scalars every `every` batches and at epoch ends, and text samples.

    Two runs under `log_dir`, so that TensorBoard draws training and validation
    in the same charts:

    - `train/`: every `every` batches of the run and at every epoch's end, `loss`
      (the mean of the batches since the point before, in nats), `bits_per_char`,
      `learning_rate` and `chars_per_second`; the samples of a `SampleText`
      given this callback, as text (`samples/temperature_T`).
    - `validation/`: at every epoch's end, `loss` and `bits_per_char`.

    Steps are batches trained in the run (the optimizer's iterations), so a
    resumed run continues the curves where its checkpoint was. Losses come from
    the logs' `loss`, the epoch's running mean, as Keras's `fit` and
    `charlstm.train` give it; after a resume inside an epoch, the first point
    leaves out the first batch. The batch figures are those of
    `batch_history.csv` when `every` is the run's `history_every`.

    Args:
        log_dir: path. Where the event files go (created if missing).
        every: int. Batches between points (0: at epoch ends only).
        chars_per_batch: float or None. Characters in one training batch,
            for `chars_per_second` (`charlstm.train` fills it in).

    Example:
    >>> board = charlstm.TensorBoard("runs/mine/tensorboard", every=50)
    >>> charlstm.train("corpus/", run_dir="runs/mine",
    ...                callbacks=[board, charlstm.SampleText(tensorboard=board)])
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        every: int = 50,
        chars_per_batch: float | None = None,
    ):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise InputError(
                f"`every` must be an integer >= 0. Received: every={every!r}"
            )
        self.log_dir = Path(log_dir)
        self.every = every
        self.chars_per_batch = chars_per_batch
        self._writers = None
        self.step = 0

    def bind(self, chars_per_batch: float) -> None:
        """Sets `chars_per_batch` where it was not given."""
        self.chars_per_batch = self.chars_per_batch or chars_per_batch

    def _writer(self, name: str):
        if self._writers is None:
            import tensorflow as tf

            self._writers = {
                run: tf.summary.create_file_writer(str(self.log_dir / run))
                for run in ("train", "validation")
            }
        return self._writers[name]

    def _scalars(self, run: str, values: dict) -> None:
        import tensorflow as tf

        with self._writer(run).as_default(step=self.step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)
        self._writer(run).flush()

    def add_text(self, tag: str, text: str) -> None:
        """Writes `text` (shown as preformatted) at the current step of `train/`.

        Args:
            tag: str. The text's name in TensorBoard.
            text: str. Any text; every line is indented as a code block.
        """
        import tensorflow as tf

        block = "\n".join("    " + line for line in text.split("\n"))
        with self._writer("train").as_default(step=self.step):
            tf.summary.text(tag, block)
        self._writer("train").flush()

    def add_sample(self, temperature: float, text: str) -> None:
        """Writes a generated sample as the text `samples/temperature_T`."""
        self.add_text(f"samples/temperature_{temperature:g}", text)

    def on_train_begin(self, logs=None):
        self.step = global_step(self.model)
        self._writer("train")
        self._reset_window()

    def _reset_window(self):
        self._loss_sum, self._batches, self._seconds = 0.0, 0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_sum = None  # the epoch's loss sum so far, where known

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self._epoch_sum = 0.0
        self._began = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        seconds = time.perf_counter() - self._began
        loss = (logs or {}).get("loss")
        if loss is not None:
            total = float(loss) * (batch + 1)  # the running mean's sum
            if self._epoch_sum is not None:
                self._loss_sum += total - self._epoch_sum
                self._batches += 1
                self._seconds += seconds
            self._epoch_sum = total
        if self.every and self.step % self.every == 0:
            self._write_window()

    def _write_window(self) -> None:
        if not self._batches:
            return
        loss = self._loss_sum / self._batches
        values = {
            "loss": loss,
            "bits_per_char": loss / math.log(2),
            "learning_rate": current_learning_rate(self.model),
        }
        if self.chars_per_batch:
            values["chars_per_second"] = (
                self._batches * self.chars_per_batch / max(self._seconds, 1e-9)
            )
        self._scalars("train", values)
        self._reset_window()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.every:
            self._write_window()
        else:
            self._reset_window()
        if "val_loss" in logs:
            val_loss = float(logs["val_loss"])
            bits = float(logs.get("val_bits_per_char", val_loss / math.log(2)))
            self._scalars("validation", {"loss": val_loss, "bits_per_char": bits})

    def on_train_end(self, logs=None):
        for writer in (self._writers or {}).values():
            writer.close()
        self._writers = None
