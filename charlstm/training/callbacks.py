"""Keras callbacks: state resets, epoch figures, time budget, history, progress
bar, samples (TensorBoard's is in `charlstm.training.tensorboard`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import keras

from charlstm.model.build import reset_states
from charlstm.training.run_dir import history_row
from charlstm.utils.checks import InputError


class ResetStates(keras.callbacks.Callback):
    """Zeroes the recurrent states at the start of every epoch, for training a
    model on `StatefulBatches` with Keras's own `fit` (`charlstm.train`'s loop
    resets them itself, and not when it resumes inside an epoch).

    Validation is not reset: it continues every stream from where training left it.
    """

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)


class EpochStats(keras.callbacks.Callback):
    """Adds `val_bits_per_char`, `seconds`, `chars_per_second`, `learning_rate` to logs.

    Put it first in the callback list so that later callbacks see these keys.

    Args:
        chars_per_batch: int. Target characters in one training batch.
    """

    def __init__(self, chars_per_batch: int):
        super().__init__()
        self.chars_per_batch = chars_per_batch

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._train_seconds = 0.0
        self._batches = 0
        self._learning_rate = current_learning_rate(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        self._train_seconds = time.perf_counter() - self._start

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if "val_loss" in logs:
            logs["val_bits_per_char"] = float(logs["val_loss"]) / math.log(2)
        logs["seconds"] = time.perf_counter() - self._start
        logs["chars_per_second"] = (
            self._batches * self.chars_per_batch / self._train_seconds
            if self._train_seconds
            else 0.0
        )
        # The rate this epoch trained with, unless the training loop gave it.
        logs.setdefault("learning_rate", self._learning_rate)


def current_learning_rate(model) -> float:
    """The optimizer's learning rate now (a schedule's, at its current step)."""
    # float() of a tensor rather than convert_to_numpy, which warns under NumPy
    # 2; through a tensor, as a variable under tf.distribute is not a number.
    return float(_read(model.optimizer.learning_rate))


def global_step(model) -> int:
    """Batches the model has trained in its run: the optimizer's iterations,
    which a checkpoint restores."""
    return int(_read(model.optimizer.iterations))


def _read(value):
    """A scalar variable's (or tensor's) value (also a mirrored variable's)."""
    value = getattr(value, "value", value)
    return value.numpy() if hasattr(value, "numpy") else value


class TimeBudget(keras.callbacks.Callback):
    """Stops training at a batch boundary once `seconds` of training have passed.

    The stopped epoch is then validated and checkpointed like any other; its logs
    get `stopped="time_budget"`.

    Args:
        seconds: float. The training-time budget, counted from the first batch.
        spent: float. Seconds of it a resumed run already used.
    """

    def __init__(self, seconds: float, spent: float = 0.0):
        super().__init__()
        if not seconds > 0:
            raise InputError(
                "`time_budget` must be a positive number of seconds. "
                f"Received: time_budget={seconds!r}"
            )
        self.seconds = seconds
        self.spent = float(spent)
        self.stopped = False
        self.batches = 0  # batches trained: at least one, even on a tiny budget
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._start is None:
            self._start = time.perf_counter()

    def spent_seconds(self) -> float:
        """Seconds of the budget spent so far, earlier sessions included."""
        if self._start is None:
            return self.spent
        return self.spent + time.perf_counter() - self._start

    def fraction_used(self) -> float:
        """The share of the budget spent so far (0 before the first batch)."""
        return min(1.0, self.spent_seconds() / self.seconds)

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.fraction_used() >= 1.0:
            self.stopped = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["stopped"] = "time_budget" if self.stopped else ""


class RecordHistory(keras.callbacks.Callback):
    """Collects one row per epoch with the `HISTORY_COLUMNS` of the logs.

    Args:
        history: list of dict. Rows of earlier epochs (when resuming).
    """

    def __init__(self, history: Sequence[dict] = ()):
        super().__init__()
        self.history = [dict(row) for row in history]

    def on_epoch_end(self, epoch, logs=None):
        self.history.append(history_row(epoch, logs or {}))


class ProgressBar(keras.callbacks.Callback):
    """A tqdm progress bar per epoch with loss and characters per second.

    Args:
        chars_per_batch: int. Target characters in one training batch.
        epochs: int. Total epochs, for the bar's label.
    """

    def __init__(self, chars_per_batch: int, epochs: int | None = None):
        super().__init__()
        self.chars_per_batch = chars_per_batch
        self.epochs = epochs
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm

        total = self.params.get("steps") if self.params else None
        label = f"epoch {epoch + 1}" + (f"/{self.epochs}" if self.epochs else "")
        self._bar = tqdm(total=total, desc=label, unit="batch", dynamic_ncols=True)
        self._start = time.perf_counter()
        self._seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        rate = (
            self._seen
            * self.chars_per_batch
            / max(time.perf_counter() - self._start, 1e-9)
        )
        loss = (logs or {}).get("loss")
        postfix = {"chars/s": f"{rate:,.0f}"}
        if loss is not None:
            postfix = {"loss": f"{float(loss):.4f}", **postfix}
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if "val_loss" in logs:
            self._bar.set_postfix(
                loss=f"{float(logs.get('loss', math.nan)):.4f}",
                val_loss=f"{float(logs['val_loss']):.4f}",
                val_bpc=f"{float(logs['val_loss']) / math.log(2):.3f}",
            )
        self._bar.close()


class SampleText(keras.callbacks.Callback):
    """Writes generated text every `every` epochs at several temperatures.

    Args:
        vocabulary: Vocabulary or None. The run's vocabulary (`train` fills it in).
        config: ModelConfig or None. The model's config (`train` fills it in).
        seed: str. The warm-up seed.
        length: int. Characters to generate per sample.
        temperatures: sequence of float. One sample per temperature.
        every: int. Sample after every `every` epochs.
        write: callable(str). Where the text goes (default: `tqdm.write`).
        tensorboard: TensorBoard or None. A `charlstm.TensorBoard` among the
            callbacks that also records every sample, as text.
    """

    def __init__(
        self,
        vocabulary=None,
        config=None,
        seed: str = "\n",
        length: int = 200,
        temperatures: Sequence[float] = (0.2, 0.5, 0.75, 1.0),
        every: int = 1,
        write: Callable[[str], None] | None = None,
        tensorboard=None,
    ):
        super().__init__()
        self.vocabulary = vocabulary
        self.config = config
        self.seed = seed
        self.length = length
        self.temperatures = tuple(temperatures)
        self.every = every
        if write is None:
            from tqdm.auto import tqdm

            write = tqdm.write
        self.write = write
        self.tensorboard = tensorboard

    def bind(self, vocabulary, config) -> None:
        """Sets the vocabulary and config where they were not given."""
        self.vocabulary = self.vocabulary or vocabulary
        self.config = self.config or config

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from charlstm.infer.generator import TextGenerator

        generator = TextGenerator.from_model(self.model, self.vocabulary, self.config)
        for temperature in self.temperatures:
            text = generator.generate(
                self.seed, self.length, temperature=temperature, strict=False
            )
            self.write(f"--- epoch {epoch + 1}, temperature {temperature} ---\n{text}")
            if self.tensorboard is not None:
                self.tensorboard.add_sample(temperature, text)
