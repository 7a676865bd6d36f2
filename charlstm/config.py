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

CELLS = ("lstm", "gru", "simple_rnn", "ln_lstm")
INPUT_ENCODINGS = ("one_hot", "embedding")
TOKEN_KINDS = ("char", "word")
NORMAL_FORMS = ("nfc", "nfkc", "none")
OPTIMIZERS = ("rmsprop", "adam", "adamw")
LR_SCHEDULES = ("exponential", "cosine", "linear")
# Recurrent states per layer of each cell: (h, c) for the LSTMs, h otherwise.
STATE_NAMES = {
    "lstm": ("h", "c"),
    "ln_lstm": ("h", "c"),
    "gru": ("h",),
    "simple_rnn": ("h",),
}
FAST_PATHS = ("auto", "on", "off")
DISTRIBUTE = ("none", "mirrored", "multi-worker")
THREADS = ("auto", "tensorflow")  # charlstm.training.threads


# Warm-up batches when `warmup_steps` is None: the best of the ten-minute search
# in docs/defaults.md.
AUTO_WARMUP_STEPS = 200


def option(
    default=dataclasses.MISSING,
    *,
    help: str,
    default_factory=dataclasses.MISSING,
    choices: tuple | None = None,
    resume: bool = False,
    flag: bool = True,
    backends: tuple[str, ...] | None = None,
):
    """A config field declared once: its default, its help text and its rules.

    The command line's flags are generated from these (`charlstm.cli.options`).

    Args:
        default, default_factory: as for `dataclasses.field`.
        help: str. What the field means, shown by `--help`.
        choices: tuple or None. The values it takes.
        resume: bool. Whether a resumed run may change it.
        flag: bool. Whether it is a command-line flag (False: set by charlstm).
        backends: tuple of str or None. The backends it applies to (None: all).
    """
    metadata = {
        "help": help,
        "choices": choices,
        "resume": resume,
        "flag": flag,
        "backends": backends,
    }
    return field(default=default, default_factory=default_factory, metadata=metadata)


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check(condition: bool, message: str, **received) -> None:
    """Raises an InputError `message` with the values received unless `condition`."""
    if not condition:
        shown = ", ".join(f"{k}={v!r}" for k, v in received.items())
        raise InputError(f"{message} Received: {shown}")


@dataclass
class ModelConfig:
    """The recurrent model and its optimizer.

    The defaults (with `DataConfig`'s) gave the lowest loss on a tuning split
    of Python after ten minutes of training on a 2-core CPU among the
    candidates measured with `benchmarks/quality.py`; see docs/defaults.md and
    docs/quality.md.
    """

    vocabulary_size: int = option(
        0, help="distinct characters (or tokens); set from the corpus", flag=False
    )
    cell: str = option(
        "ln_lstm",
        help="recurrent cell; ln_lstm: an LSTM with layer normalisation inside the "
        "cell (Ba, Kiros and Hinton 2016)",
        choices=CELLS,
    )
    num_layers: int = option(2, help="stacked recurrent layers")
    units: int = option(224, help="units per recurrent layer")
    dropout: float = option(0.0, help="dropout after every recurrent layer")
    residual: bool = option(
        False,
        help="add each recurrent layer's input to its output (equal widths); "
        "runs on the Keras engine",
    )
    layer_norm: bool = option(
        False,
        help="LayerNormalization after every recurrent layer (between layers; "
        "--cell ln_lstm normalises inside the cell); runs on the Keras engine",
    )
    input_encoding: str = option(
        "embedding",
        help="one_hot (as in the papers' models) or embedding",
        choices=INPUT_ENCODINGS,
    )
    embedding_dim: int = option(64, help="width of the input embedding, if used")
    optimizer: str = option(
        "adam", help="rmsprop (as in the papers), adam or adamw", choices=OPTIMIZERS
    )
    learning_rate: float = option(
        0.01, help="initial learning rate (the peak, for cosine and linear)"
    )
    clipnorm: float | None = option(5.0, help="gradient norm clipping")
    lr_schedule: str = option(
        "cosine",
        help="exponential: times --lr-decay after every epoch; cosine, linear: "
        "--warmup-steps of linear warm-up, then down to zero at the last epoch or "
        "at the end of the time budget, whichever comes first",
        choices=LR_SCHEDULES,
    )
    lr_decay: float = option(
        0.97, help="learning-rate factor per epoch (exponential schedule)"
    )
    warmup_steps: int | None = option(
        None,
        help=f"batches of linear warm-up (cosine, linear); default: "
        f"{AUTO_WARMUP_STEPS}, at most a tenth of the run",
    )
    l2: float = option(0.0, help="L2 weight on every kernel")
    weight_decay: float = option(
        0.0, help="decoupled weight decay (AdamW-style), any optimizer"
    )
    fast_path: str = option(
        "auto",
        choices=FAST_PATHS,
        help="train with charlstm's CPU layers (stacked LSTMs as one loop with its "
        "own backward pass; GRU and SimpleRNN with the input projections out of the "
        "loop: Keras's weights and results, faster on CPU) or Keras's own layers, "
        "which run cuDNN on a GPU; auto: the first on CPU, the second where a GPU "
        "is visible (docs/scaling.md)",
    )

    def __post_init__(self):
        check(self.cell in CELLS, f"`cell` must be one of {CELLS}.", cell=self.cell)
        check(
            self.input_encoding in INPUT_ENCODINGS,
            f"`input_encoding` must be one of {INPUT_ENCODINGS}.",
            input_encoding=self.input_encoding,
        )
        check(
            is_int(self.vocabulary_size) and self.vocabulary_size >= 0,
            "`vocabulary_size` must be an integer >= 0.",
            vocabulary_size=self.vocabulary_size,
        )
        check(
            is_int(self.num_layers) and self.num_layers >= 1,
            "`num_layers` must be an integer >= 1.",
            num_layers=self.num_layers,
        )
        check(
            is_int(self.units) and self.units >= 1,
            "`units` must be an integer >= 1.",
            units=self.units,
        )
        check(
            is_int(self.embedding_dim) and self.embedding_dim >= 1,
            "`embedding_dim` must be an integer >= 1.",
            embedding_dim=self.embedding_dim,
        )
        check(
            0 <= self.dropout < 1, "`dropout` must be in [0, 1).", dropout=self.dropout
        )
        check(
            self.learning_rate > 0 and math.isfinite(self.learning_rate),
            "`learning_rate` must be a positive number.",
            learning_rate=self.learning_rate,
        )
        check(
            self.clipnorm is None or self.clipnorm > 0,
            "`clipnorm` must be positive or None.",
            clipnorm=self.clipnorm,
        )
        check(
            0 < self.lr_decay <= 1,
            "`lr_decay` must be in (0, 1].",
            lr_decay=self.lr_decay,
        )
        check(self.l2 >= 0, "`l2` must be >= 0.", l2=self.l2)
        check(
            self.optimizer in OPTIMIZERS,
            f"`optimizer` must be one of {OPTIMIZERS}.",
            optimizer=self.optimizer,
        )
        check(
            self.lr_schedule in LR_SCHEDULES,
            f"`lr_schedule` must be one of {LR_SCHEDULES}.",
            lr_schedule=self.lr_schedule,
        )
        check(
            self.warmup_steps is None
            or (is_int(self.warmup_steps) and self.warmup_steps >= 0),
            "`warmup_steps` must be an integer >= 0 (or None: automatic).",
            warmup_steps=self.warmup_steps,
        )
        check(
            not self.warmup_steps or self.lr_schedule != "exponential",
            "`warmup_steps` needs lr_schedule='cosine' or 'linear'.",
            warmup_steps=self.warmup_steps,
            lr_schedule=self.lr_schedule,
        )
        check(
            self.weight_decay >= 0 and math.isfinite(self.weight_decay),
            "`weight_decay` must be a number >= 0.",
            weight_decay=self.weight_decay,
        )
        if isinstance(self.fast_path, bool):  # config.json before "auto"
            self.fast_path = "on" if self.fast_path else "off"
        check(
            self.fast_path in FAST_PATHS,
            f"`fast_path` must be one of {FAST_PATHS}.",
            fast_path=self.fast_path,
        )
        for name in ("residual", "layer_norm"):
            value = getattr(self, name)
            check(
                isinstance(value, bool),
                f"`{name}` must be True or False.",
                **{name: value},
            )


@dataclass
class DataConfig:
    """How the corpus is read and cut into stateful batches."""

    sources: list[str] = option(
        help="files and directories read ([]: the default corpus)",
        default_factory=list,
        flag=False,
    )
    pattern: str = option("*", help="file-name glob inside directories, e.g. '*.py'")
    lowercase: bool = option(False, help="lowercase the text")
    normalize: str = option(
        "nfc",
        help="Unicode normal form of the text: nfc (composed), nfkc (compatibility "
        "characters too), none",
        choices=NORMAL_FORMS,
    )
    ascii: bool = option(
        False,
        help="fold the text to ASCII (accents removed, other characters dropped), "
        "as Frank (2022) cleaned its corpora",
    )
    min_char_count: int = option(
        2,
        help="characters seen fewer times share one unknown id",
        backends=("lstm",),
    )
    max_unknown_share: float = option(
        0.01,
        help="refuse a corpus of which a larger share is unknown, dropped or "
        "undecodable",
    )
    batch_size: int = option(64, help="parallel streams per batch")
    sequence_length: int = option(
        50, help="time steps per batch (the truncated backpropagation length)"
    )
    validation_split: float = option(
        0.05, help="tail share of every stream kept for validation, in (0, 0.5)"
    )
    # AWD-LSTM's variable truncation (Merity, Keskar and Socher 2018, section 4.1).
    variable_length: bool = option(
        False,
        help="draw every training batch's length as AWD-LSTM does (Merity et al. "
        "2018): normal around sequence_length (half of it one batch in 20) with "
        "--variable-length-std, rounded to sequence_length plus a multiple of 5, "
        "from 5 to twice sequence_length; each batch's learning rate is scaled by "
        "length / sequence_length, and the streams stay contiguous",
        backends=("lstm",),
    )
    variable_length_std: float = option(
        5.0,
        help="standard deviation of the drawn lengths, in characters "
        "(--variable-length)",
        backends=("lstm",),
    )
    tokens: str = option(
        "char",
        help="char, or word: identifiers, numbers, operators, runs of spaces",
        choices=TOKEN_KINDS,
        backends=("lstm",),
    )
    max_tokens: int = option(
        4000,
        help="word mode: vocabulary size cap (every character is kept)",
        backends=("lstm",),
    )

    def __post_init__(self):
        check(
            self.normalize in NORMAL_FORMS,
            f"`normalize` must be one of {NORMAL_FORMS}.",
            normalize=self.normalize,
        )
        check(
            is_int(self.min_char_count) and self.min_char_count >= 1,
            "`min_char_count` must be an integer >= 1.",
            min_char_count=self.min_char_count,
        )
        check(
            0 <= self.max_unknown_share <= 1,
            "`max_unknown_share` must be in [0, 1].",
            max_unknown_share=self.max_unknown_share,
        )
        check(
            self.tokens in TOKEN_KINDS,
            f"`tokens` must be one of {TOKEN_KINDS}.",
            tokens=self.tokens,
        )
        check(
            is_int(self.max_tokens) and self.max_tokens >= 1,
            "`max_tokens` must be an integer >= 1.",
            max_tokens=self.max_tokens,
        )
        check(
            is_int(self.batch_size) and self.batch_size >= 1,
            "`batch_size` must be an integer >= 1.",
            batch_size=self.batch_size,
        )
        check(
            is_int(self.sequence_length) and self.sequence_length >= 1,
            "`sequence_length` must be an integer >= 1.",
            sequence_length=self.sequence_length,
        )
        check(
            0 < self.validation_split < 0.5,
            "`validation_split` must be in (0, 0.5).",
            validation_split=self.validation_split,
        )
        check(
            isinstance(self.variable_length, bool),
            "`variable_length` must be True or False.",
            variable_length=self.variable_length,
        )
        check(
            isinstance(self.variable_length_std, int | float)
            and not isinstance(self.variable_length_std, bool)
            and 0 <= self.variable_length_std < math.inf,
            "`variable_length_std` must be a number >= 0.",
            variable_length_std=self.variable_length_std,
        )


@dataclass
class TrainingConfig:
    """The training loop: what may change when a run is resumed."""

    epochs: int = option(
        10, help="total epochs (a resumed run continues up to this many)", resume=True
    )
    random_seed: int | None = option(
        None, help="seeds Python, NumPy and the backend", resume=True
    )
    distribute: str = option(
        "none",
        choices=DISTRIBUTE,
        help="train on several devices with tf.distribute, each replica owning a "
        "share of the streams: mirrored (all local GPUs, or the logical CPU devices "
        "configured), multi-worker (the machines of TF_CONFIG; the chief writes the "
        "run) (docs/scaling.md)",
        resume=True,
        backends=("lstm",),
    )
    threads: str = option(
        "auto",
        choices=THREADS,
        help="TensorFlow's CPU thread pools: auto runs two operations at a time on "
        "half the cores each where no GPU is visible (faster on a few cores), "
        "tensorflow keeps TensorFlow's own; set before TensorFlow starts, and not "
        "where TF_NUM_INTEROP_THREADS or TF_NUM_INTRAOP_THREADS is set, nor "
        "under --distribute (docs/scaling.md)",
        resume=True,
    )
    history_every: int = option(
        50,
        help="batches between rows of batch_history.csv (the mean training loss "
        "since the row before, learning rate, characters per second; a row at "
        "every epoch's end too) and between --tensorboard points; 0: per epoch only",
        resume=True,
        backends=("lstm",),
    )

    def __post_init__(self):
        check(
            is_int(self.epochs) and self.epochs >= 0,
            "`epochs` must be an integer >= 0.",
            epochs=self.epochs,
        )
        check(
            self.distribute in DISTRIBUTE,
            f"`distribute` must be one of {DISTRIBUTE}.",
            distribute=self.distribute,
        )
        check(
            self.threads in THREADS,
            f"`threads` must be one of {THREADS}.",
            threads=self.threads,
        )
        check(
            is_int(self.history_every) and self.history_every >= 0,
            "`history_every` must be an integer >= 0.",
            history_every=self.history_every,
        )


# How a run whose config.json predates the `optimizer` and `lr_schedule` fields
# was trained (today's defaults differ).
TRAINING_BEFORE_OPTIMIZER_FIELDS = {
    "optimizer": "rmsprop",
    "lr_schedule": "exponential",
}

# How a run whose config.json predates Unicode corpora read its text: folded to
# ASCII, every character kept in the vocabulary, nothing refused.
DATA_BEFORE_UNICODE_FIELDS = {
    "normalize": "none",
    "ascii": True,
    "min_char_count": 1,
    "max_unknown_share": 1.0,
}

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
        model, data = d.get("model", {}), d.get("data", {})
        # Runs written before these fields existed trained this way.
        if cls.model_config is ModelConfig and isinstance(model, dict):
            model = {**TRAINING_BEFORE_OPTIMIZER_FIELDS, **model}
        if isinstance(data, dict) and "normalize" not in data:
            data = {**DATA_BEFORE_UNICODE_FIELDS, **data}
        sections = (
            ("model", cls.model_config, model),
            ("data", DataConfig, data),
            ("training", TrainingConfig, d.get("training", {})),
        )
        for name, section, values in sections:
            if not isinstance(values, dict):
                raise InputError(f"config.json's `{name}` is not an object.")
            unknown = sorted(
                set(values) - {f.name for f in dataclasses.fields(section)}
            )
            if unknown:
                version = d.get("version") or "an unknown version"
                raise InputError(
                    f"config.json's `{name}` has fields this charlstm does not know "
                    f"({', '.join(unknown)}): it was written by charlstm {version}; "
                    "use that version or a newer one."
                )
        return cls(
            model=cls.model_config(**model),
            data=DataConfig(**data),
            training=TrainingConfig(**d.get("training", {})),
            version=d.get("version", ""),
        )

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunConfig:
        """Reads `config.json`; an InputError that names the file if it is not one."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(
                f"{str(path)!r} is not a readable config.json ({error})."
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"{str(path)!r} is not a charlstm config.json.")
        try:
            return cls.from_dict(data)
        except InputError as error:
            raise InputError(f"{str(path)!r}: {error}") from None


def make_config(
    preset_name: str | None = None, base: RunConfig | None = None, **overrides
) -> RunConfig:
    """A `RunConfig` from a preset (or `base`, or the defaults) with field overrides.

    Overrides are flat field names of any section; None values are ignored.

    Example:
    >>> make_config("perez2021", epochs=3, units=64).model.units
    64
    """
    from charlstm.presets import preset

    config = preset(preset_name) if preset_name else (base or RunConfig())
    sections = {"model": config.model, "data": config.data, "training": config.training}
    updates = {name: {} for name in sections}
    for key, value in overrides.items():
        if value is None:
            continue
        owner = [n for n, s in sections.items() if key in _names(s)]
        if not owner:
            raise InputError(
                f"unknown configuration field {key!r}; the fields are "
                f"{sorted(f for s in sections.values() for f in _names(s))}."
            )
        updates[owner[0]][key] = value
    return RunConfig(
        model=dataclasses.replace(config.model, **updates["model"]),
        data=dataclasses.replace(config.data, **updates["data"]),
        training=dataclasses.replace(config.training, **updates["training"]),
        version=config.version,
    )


def _names(section) -> set[str]:
    return {f.name for f in dataclasses.fields(section)}
