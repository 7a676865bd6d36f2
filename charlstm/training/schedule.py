"""The optimizer and the learning-rate schedule, in one place.

- "exponential": the rate is multiplied by `lr_decay` after every epoch (a Keras
  `ExponentialDecay` in the optimizer; constant at `lr_decay=1`).
- "cosine" and "linear": `warmup_steps` batches of linear warm-up, then down to
  zero at the end of the run, which is the last epoch or the end of the time
  budget, whichever comes first (`DecayToZero`, a callback, because that end is
  only known once training runs).

With `DataConfig.variable_length`, epochs have varying numbers of batches: the
optimizer's rate is a plain float, which "exponential" decays per epoch with
`DecayPerEpoch`, and every batch's rate is scaled by its length over
`sequence_length` (`scaled_learning_rate`, AWD-LSTM's rescaling) on top of
whatever the schedule set.
"""

from __future__ import annotations

import contextlib
import math

import keras

from charlstm.config import AUTO_WARMUP_STEPS, ModelConfig
from charlstm.training.callbacks import current_learning_rate, global_step
from charlstm.utils.checks import InputError


def warmup_batches(config: ModelConfig, total_steps: int) -> int:
    """The warm-up a run of `total_steps` batches gets from this config."""
    if config.warmup_steps is not None:
        return config.warmup_steps
    if config.lr_schedule == "exponential":
        return 0
    return min(AUTO_WARMUP_STEPS, total_steps // 10)


_OPTIMIZERS = {
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
}


def learning_rate_schedule(config: ModelConfig, steps_per_epoch: int | None):
    """The learning rate the optimizer is built with.

    "exponential": constant, or decayed by `lr_decay` once per epoch. "cosine" and
    "linear": a plain float, which `charlstm.training.schedule.DecayToZero` sets
    every batch
    (its horizon, the end of the run, is only known when training starts).
    `steps_per_epoch=None` (epochs of varying length): always a plain float, for
    `DecayPerEpoch` to decay and `scaled_learning_rate` to scale.
    """
    if (
        config.lr_schedule != "exponential"
        or config.lr_decay == 1.0
        or steps_per_epoch is None
    ):
        return config.learning_rate
    return keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate,
        decay_steps=max(1, steps_per_epoch),
        decay_rate=config.lr_decay,
        staircase=True,
    )


def compile_model(
    model: keras.Model, config: ModelConfig, steps_per_epoch: int | None
) -> keras.Model:
    """Compiles with the config's optimizer (with clipnorm) and sparse cross-entropy.

    `weight_decay` is Keras's decoupled weight decay; AdamW's own default (0.004)
    is not used, so "adamw" with `weight_decay=0` is Adam. `steps_per_epoch` is
    None where epochs vary in length (`learning_rate_schedule`).
    """
    # None skips Keras's decay step entirely; AdamW insists on a float.
    decay = config.weight_decay or (0.0 if config.optimizer == "adamw" else None)
    optimizer = _OPTIMIZERS[config.optimizer](
        learning_rate=learning_rate_schedule(config, steps_per_epoch),
        clipnorm=config.clipnorm,
        weight_decay=decay,
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


class DecayToZero(keras.callbacks.Callback):
    """Sets the learning rate before every batch: linear warm-up, then down to 0.

    The way down is a cosine (`shape="cosine"`) or a straight line
    (`shape="linear"`).

    Progress is the larger of the share of batches done (`optimizer.iterations`
    over `total_steps`) and the share of the time budget spent, so the rate
    reaches zero at whichever end comes first. A resumed run continues from its
    restored `optimizer.iterations`; a new time budget is counted afresh.

    Args:
        peak: float. The learning rate at the end of the warm-up.
        total_steps: int. Batches in the whole run (epochs x batches per epoch).
        warmup_steps: int. Batches of linear warm-up from peak / warmup_steps.
        budget: TimeBudget or None. The run's time budget, if any.
        shape: "cosine" or "linear".
    """

    def __init__(self, peak, total_steps, warmup_steps=0, budget=None, shape="cosine"):
        super().__init__()
        if shape not in ("cosine", "linear"):
            raise InputError(
                f"`shape` must be 'cosine' or 'linear'. Received: shape={shape!r}"
            )
        self.shape = shape
        self.peak = float(peak)
        self.total_steps = max(1, int(total_steps))
        self.warmup_steps = int(warmup_steps)
        self.budget = budget

    def rate(self, step: int, time_fraction: float = 0.0) -> float:
        """The learning rate for (0-based) batch `step` of the run."""
        if step < self.warmup_steps:
            return self.peak * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, max((step - self.warmup_steps) / span, time_fraction))
        if self.shape == "linear":
            return self.peak * (1.0 - progress)
        return self.peak * 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_train_begin(self, logs=None):
        # Counted here rather than read back every batch, which would sync.
        self._step = global_step(self.model)

    def on_train_batch_begin(self, batch, logs=None):
        used = self.budget.fraction_used() if self.budget is not None else 0.0
        self.model.optimizer.learning_rate = self.rate(self._step, used)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1


CosineLearningRate = DecayToZero  # its name before "linear" was added


class DecayPerEpoch(keras.callbacks.Callback):
    """Sets the learning rate to `learning_rate * decay ** epoch` at the start of
    every epoch: the "exponential" schedule where epochs vary in length (a
    Keras `ExponentialDecay` counts batches, not epochs).

    Args:
        learning_rate: float. The rate of the first epoch.
        decay: float. The factor per epoch.
    """

    def __init__(self, learning_rate: float, decay: float):
        super().__init__()
        self.learning_rate = float(learning_rate)
        self.decay = float(decay)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = self.learning_rate * self.decay**epoch


@contextlib.contextmanager
def scaled_learning_rate(model: keras.Model, factor: float):
    """Multiplies the optimizer's learning rate by `factor` inside the block and
    restores it after: AWD-LSTM's rescaling of a batch of variable length by
    length / sequence_length, on top of the rate a schedule set for the batch.

    The rate must be a variable (a float when compiled), not a Keras schedule.
    """
    if factor == 1.0:
        yield
        return
    rate = current_learning_rate(model)
    model.optimizer.learning_rate = rate * factor
    try:
        yield
    finally:
        model.optimizer.learning_rate = rate
