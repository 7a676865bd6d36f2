"""Dataclass configs for the model, the data layout and training, and named presets.

A run directory's `config.json` holds all three, so a model is rebuilt from it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import ClassVar

from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write_text

CELLS = ("lstm", "gru", "simple_rnn")
INPUT_ENCODINGS = ("one_hot", "embedding")
TOKEN_KINDS = ("char", "word")
OPTIMIZERS = ("rmsprop", "adam", "adamw")
LR_SCHEDULES = ("exponential", "cosine", "linear")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(condition: bool, message: str, **received) -> None:
    if not condition:
        shown = ", ".join(f"{k}={v!r}" for k, v in received.items())
        raise InputError(f"{message} Received: {shown}")


@dataclass
class ModelConfig:
    """The recurrent model and its optimizer.

    The defaults (with `DataConfig`'s) gave the lowest held-out loss on Python
    after ten minutes of training on a 2-core CPU among the candidates measured
    with `benchmarks/quality.py`; see docs/defaults.md.
    """

    vocabulary_size: int = 0  # distinct characters (or tokens); set from the corpus
    cell: str = "lstm"  # "lstm", "gru" or "simple_rnn"
    num_layers: int = 2  # stacked recurrent layers
    units: int = 224  # units per recurrent layer
    dropout: float = 0.0  # dropout after every recurrent layer
    # Between stacked layers: add each layer's input to its output when the
    # widths match (residual), then normalise it (LayerNormalization). Both are
    # read by Keras only: the numpy engine leaves such runs to Keras.
    residual: bool = False
    layer_norm: bool = False
    input_encoding: str = "embedding"  # "one_hot" (as in the seeds) or "embedding"
    embedding_dim: int = 64  # width of the input embedding, if used
    optimizer: str = "adam"  # "adam", "adamw" or "rmsprop" (as in the seeds)
    learning_rate: float = 0.01  # initial (peak, for "cosine"/"linear") rate
    clipnorm: float | None = 5.0  # gradient norm clipping (None: off)
    # "exponential": multiplied by `lr_decay` after every epoch (1.0: constant).
    # "cosine": linear warm-up over `warmup_steps`, then a cosine down to zero at
    # the end of the run: the last epoch, or the time budget if it ends first.
    # "linear": the same warm-up, then a straight line down to zero at that end.
    lr_schedule: str = "cosine"
    lr_decay: float = 0.97  # learning-rate factor per epoch ("exponential")
    # Batches of linear warm-up ("cosine", "linear"). None: AUTO_WARMUP_STEPS,
    # at most a tenth of the run's batches (and none for "exponential").
    warmup_steps: int | None = None
    l2: float = 0.0  # L2 weight on every kernel
    weight_decay: float = 0.0  # decoupled weight decay (AdamW-style), any optimizer
    # True: stacked LSTMs train as one charlstm.model.lstm_stack.LSTMStack (one loop,
    # its own backward pass: 1.7x to 2x Keras on 3 x 512, 1.04x on 2 x 192), GRU and
    # SimpleRNN as charlstm.model.fast_rnn's layers; Keras's weights and results
    # (docs/benchmarks.md). False: Keras's own layers.
    fast_path: bool = True

    def __post_init__(self):
        _check(self.cell in CELLS, f"`cell` must be one of {CELLS}.", cell=self.cell)
        _check(
            self.input_encoding in INPUT_ENCODINGS,
            f"`input_encoding` must be one of {INPUT_ENCODINGS}.",
            input_encoding=self.input_encoding,
        )
        _check(
            _is_int(self.vocabulary_size) and self.vocabulary_size >= 0,
            "`vocabulary_size` must be an integer >= 0.",
            vocabulary_size=self.vocabulary_size,
        )
        _check(
            _is_int(self.num_layers) and self.num_layers >= 1,
            "`num_layers` must be an integer >= 1.",
            num_layers=self.num_layers,
        )
        _check(
            _is_int(self.units) and self.units >= 1,
            "`units` must be an integer >= 1.",
            units=self.units,
        )
        _check(
            _is_int(self.embedding_dim) and self.embedding_dim >= 1,
            "`embedding_dim` must be an integer >= 1.",
            embedding_dim=self.embedding_dim,
        )
        _check(
            0 <= self.dropout < 1, "`dropout` must be in [0, 1).", dropout=self.dropout
        )
        _check(
            self.learning_rate > 0 and math.isfinite(self.learning_rate),
            "`learning_rate` must be a positive number.",
            learning_rate=self.learning_rate,
        )
        _check(
            self.clipnorm is None or self.clipnorm > 0,
            "`clipnorm` must be positive or None.",
            clipnorm=self.clipnorm,
        )
        _check(
            0 < self.lr_decay <= 1,
            "`lr_decay` must be in (0, 1].",
            lr_decay=self.lr_decay,
        )
        _check(self.l2 >= 0, "`l2` must be >= 0.", l2=self.l2)
        _check(
            self.optimizer in OPTIMIZERS,
            f"`optimizer` must be one of {OPTIMIZERS}.",
            optimizer=self.optimizer,
        )
        _check(
            self.lr_schedule in LR_SCHEDULES,
            f"`lr_schedule` must be one of {LR_SCHEDULES}.",
            lr_schedule=self.lr_schedule,
        )
        _check(
            self.warmup_steps is None
            or (_is_int(self.warmup_steps) and self.warmup_steps >= 0),
            "`warmup_steps` must be an integer >= 0 (or None: automatic).",
            warmup_steps=self.warmup_steps,
        )
        _check(
            not self.warmup_steps or self.lr_schedule != "exponential",
            "`warmup_steps` needs lr_schedule='cosine' or 'linear'.",
            warmup_steps=self.warmup_steps,
            lr_schedule=self.lr_schedule,
        )
        _check(
            self.weight_decay >= 0 and math.isfinite(self.weight_decay),
            "`weight_decay` must be a number >= 0.",
            weight_decay=self.weight_decay,
        )
        for name in ("fast_path", "residual", "layer_norm"):
            value = getattr(self, name)
            _check(
                isinstance(value, bool),
                f"`{name}` must be True or False.",
                **{name: value},
            )


@dataclass
class DataConfig:
    """How the corpus is read and cut into stateful batches."""

    sources: list[str] = field(
        default_factory=list
    )  # files/directories ([]: default corpus)
    pattern: str = "*"  # file-name glob inside directories
    lowercase: bool = False  # lowercase the text
    batch_size: int = 64  # parallel streams per batch
    sequence_length: int = 50  # time steps per batch (truncated BPTT length)
    validation_split: float = 0.05  # tail share of every stream kept for validation
    tokens: str = "char"  # "char", or "word": identifiers, numbers, operators, ...
    max_tokens: int = 4000  # word mode: vocabulary size cap (all characters kept)

    def __post_init__(self):
        _check(
            self.tokens in TOKEN_KINDS,
            f"`tokens` must be one of {TOKEN_KINDS}.",
            tokens=self.tokens,
        )
        _check(
            _is_int(self.max_tokens) and self.max_tokens >= 1,
            "`max_tokens` must be an integer >= 1.",
            max_tokens=self.max_tokens,
        )
        _check(
            _is_int(self.batch_size) and self.batch_size >= 1,
            "`batch_size` must be an integer >= 1.",
            batch_size=self.batch_size,
        )
        _check(
            _is_int(self.sequence_length) and self.sequence_length >= 1,
            "`sequence_length` must be an integer >= 1.",
            sequence_length=self.sequence_length,
        )
        _check(
            0 < self.validation_split < 0.5,
            "`validation_split` must be in (0, 0.5).",
            validation_split=self.validation_split,
        )


@dataclass
class TrainingConfig:
    """The training loop."""

    epochs: int = 10  # total epochs (a resumed run continues up to this many)
    random_seed: int | None = None  # seeds Python, NumPy and the backend

    def __post_init__(self):
        _check(
            _is_int(self.epochs) and self.epochs >= 0,
            "`epochs` must be an integer >= 0.",
            epochs=self.epochs,
        )


# Warm-up batches when `warmup_steps` is None (issue 8's ten-minute search).
AUTO_WARMUP_STEPS = 200


def warmup_batches(config: ModelConfig, total_steps: int) -> int:
    """The warm-up a run of `total_steps` batches gets from this config."""
    if config.warmup_steps is not None:
        return config.warmup_steps
    if config.lr_schedule == "exponential":
        return 0
    return min(AUTO_WARMUP_STEPS, total_steps // 10)


# How a run whose config.json predates the `optimizer` and `lr_schedule` fields
# was trained (today's defaults differ).
PRE_ISSUE8_TRAINING = {"optimizer": "rmsprop", "lr_schedule": "exponential"}

# A run's backend, as `config.json` names it, and as messages name it.
BACKEND_NAMES = {"lstm": "an LSTM", "gpt2": "a GPT-2"}


@dataclass
class RunConfig:
    """Everything needed to rebuild and continue a run; saved as `config.json`.

    Subclasses for other backends (`charlstm.backends.gpt2.config.GPT2RunConfig`)
    set `backend` and `model_config`; their `config.json` starts with
    `"backend": ...`, which is how `charlstm.load` tells runs apart.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    version: str = ""  # charlstm version that wrote the run

    backend: ClassVar[str] = "lstm"
    model_config: ClassVar[type] = ModelConfig

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return d if self.backend == "lstm" else {"backend": self.backend, **d}

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        found = d.get("backend", "lstm")
        if found != cls.backend:
            raise InputError(
                f"config.json holds {BACKEND_NAMES.get(found, repr(found))} run, not "
                f"{BACKEND_NAMES[cls.backend]} run: charlstm.load, generate and "
                f"evaluate read either. Received: backend={found!r}"
            )
        model = d.get("model", {})
        if cls.model_config is ModelConfig:
            # Runs written before these fields existed trained this way.
            model = {**PRE_ISSUE8_TRAINING, **model}
        return cls(
            model=cls.model_config(**model),
            data=DataConfig(**d.get("data", {})),
            training=TrainingConfig(**d.get("training", {})),
            version=d.get("version", ""),
        )

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunConfig:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


# Named presets: the seeds' exact configurations. Each maps a section to overrides.
PRESETS = {
    # Perez, Ottens and Viswanathan (seed 000): LSTM 128 x 2, sequence 50, batch 50,
    # lr 0.002 decaying 0.97 per epoch, clip 5.
    "seed000": {
        "model": dict(
            cell="lstm",
            num_layers=2,
            units=128,
            dropout=0.0,
            input_encoding="one_hot",
            optimizer="rmsprop",
            learning_rate=0.002,
            clipnorm=5.0,
            lr_schedule="exponential",
            lr_decay=0.97,
            l2=0.0,
        ),
        "data": dict(sequence_length=50, batch_size=50),
    },
    # Frank (seed 002): LSTM 512 x 3, dropout 0.5, sequence 100, batch 64,
    # RMSprop lr 0.0015, clipnorm 5; both of its corpora were lowercased.
    "seed002": {
        "model": dict(
            cell="lstm",
            num_layers=3,
            units=512,
            dropout=0.5,
            input_encoding="one_hot",
            optimizer="rmsprop",
            learning_rate=0.0015,
            clipnorm=5.0,
            lr_schedule="exponential",
            lr_decay=1.0,
            l2=0.0,
        ),
        "data": dict(sequence_length=100, batch_size=64, lowercase=True),
    },
}


def preset(name: str) -> RunConfig:
    """The `RunConfig` of a named preset ("seed000", "seed002").

    Example:
    >>> preset("seed002").model.units
    512
    """
    if name not in PRESETS:
        raise InputError(
            f"`preset` must be one of {sorted(PRESETS)}. Received: preset={name!r}"
        )
    p = PRESETS[name]
    return RunConfig(model=ModelConfig(**p["model"]), data=DataConfig(**p["data"]))


def make_config(
    preset_name: str | None = None, base: RunConfig | None = None, **overrides
) -> RunConfig:
    """A `RunConfig` from a preset (or `base`, or the defaults) with field overrides.

    Overrides are flat field names of any section; None values are ignored.

    Example:
    >>> make_config("seed000", epochs=3, units=64).model.units
    64
    """
    config = preset(preset_name) if preset_name else (base or RunConfig())
    sections = {"model": config.model, "data": config.data, "training": config.training}
    updates = {name: {} for name in sections}
    for key, value in overrides.items():
        if value is None:
            continue
        owner = [
            n
            for n, s in sections.items()
            if key in {f.name for f in dataclasses.fields(s)}
        ]
        if not owner:
            raise InputError(f"unknown configuration field {key!r}.")
        updates[owner[0]][key] = value
    return RunConfig(
        model=dataclasses.replace(config.model, **updates["model"]),
        data=dataclasses.replace(config.data, **updates["data"]),
        training=dataclasses.replace(config.training, **updates["training"]),
        version=config.version,
    )
