"""The run directory: which files it holds, the lifecycle of a run in it (new,
resumed, forced over an old one) and its histories (per epoch, and every few
batches), for every backend.

Imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from charlstm.utils.checks import InputError
from charlstm.utils.storage import (
    atomic_write_text,
    plain_scalar,
    remove_temporaries,
)

HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "val_loss",
    "val_bits_per_char",
    "seconds",
    "chars_per_second",
    "learning_rate",
    "stopped",
)

# batch_history.csv: a row every `history_every` batches and at every epoch's end.
BATCH_HISTORY_COLUMNS = (
    "epoch",  # 1-based, as in history.csv
    "batch",  # batches trained in that epoch
    "step",  # batches trained in the run
    "seconds",  # seconds of training so far, all sessions
    "loss",  # mean training loss of the batches since the previous row
    "learning_rate",  # the optimizer's rate after the row's last batch
    "chars_per_second",  # training characters per second over those batches
)


class RunFiles:
    """Paths of the files in a run directory.

    - `config.json`: the `RunConfig` (model, data, training).
    - `vocab.json`: the `Vocabulary`.
    - `model.keras`: the best model by validation loss (what `load` uses).
    - `checkpoint.json`, `checkpoint-NNNNNN.keras`, `checkpoint-NNNNNN.npz`: the
      last checkpoint, what resuming reads (`charlstm.training.checkpoint`).
    - `last.keras`: the last epoch, with optimizer state, in runs written before
      checkpoints (and GPT-2 runs).
    - `history.csv`: one row per complete epoch.
    - `batch_history.csv`: a row every `TrainingConfig.history_every` batches.
    - `engine.npz`: `model.keras`'s weights for the numpy engine.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.vocabulary = self.root / "vocab.json"
        self.model = self.root / "model.keras"
        self.checkpoint = self.root / "checkpoint.json"
        self.last = self.root / "last.keras"
        self.history = self.root / "history.csv"
        self.batch_history = self.root / "batch_history.csv"
        self.engine = self.root / "engine.npz"
        self.engine_last = self.root / "engine_last.npz"

    @property
    def written(self) -> list[Path]:
        """The files that a run writes (checkpoint files: those there now)."""
        return [
            self.config,
            self.vocabulary,
            self.model,
            self.checkpoint,
            self.last,
            self.history,
            self.batch_history,
            self.engine,
            self.engine_last,
            *sorted(self.root.glob("checkpoint-*")),
        ]

    def holds_run(self) -> bool:
        return any(p.exists() for p in self.written)

    def has_checkpoint(self) -> bool:
        """Whether training ever saved what resuming needs."""
        return self.checkpoint.exists() or self.last.exists()

    def last_model(self) -> Path:
        """The model file of the last checkpoint (`last.keras` in older runs)."""
        if self.checkpoint.exists():
            try:
                import json

                name = json.loads(self.checkpoint.read_text(encoding="utf-8"))["model"]
            except (OSError, ValueError, KeyError, TypeError):
                raise InputError(
                    f"{str(self.checkpoint)!r} is damaged: it does not name the "
                    "checkpoint's model file."
                ) from None
            return self.root / name
        return self.last

    def clear(self) -> None:
        """Removes the files of an earlier run (only called with `force`), and the
        temporary files a killed process left of them."""
        names = [p.name for p in self.written] + ["checkpoint-*"]
        for path in self.written:
            path.unlink(missing_ok=True)
        remove_temporaries(self.root, names)


NEVER_CHECKPOINTED = (
    "it never saved a checkpoint (training stopped before its first one)"
)


def check_new_run(files: RunFiles, force: bool) -> None:
    """Refuses to start a run over an existing one unless `force` is set."""
    if files.root.exists() and not files.root.is_dir():
        raise NotADirectoryError(f"run directory is a file: {str(files.root)!r}")
    if files.holds_run() and not force:
        if not files.has_checkpoint():
            raise FileExistsError(
                f"run directory {str(files.root)!r} holds a run, but "
                f"{NEVER_CHECKPOINTED}: use force (--force) to start over."
            )
        raise FileExistsError(
            f"run directory already holds a run: {str(files.root)!r}. Use resume "
            "(--resume) to continue it or force (--force) to start over."
        )


def check_resumable(files: RunFiles) -> None:
    """Checks that a run directory has what resuming needs."""
    if not files.root.is_dir():
        raise FileNotFoundError(f"run directory does not exist: {str(files.root)!r}")
    missing = [p.name for p in (files.config, files.vocabulary) if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"cannot resume {str(files.root)!r}: it is not a charlstm run "
            f"(missing {', '.join(missing)})."
        )
    if not files.has_checkpoint():
        raise FileNotFoundError(
            f"cannot resume {str(files.root)!r}: {NEVER_CHECKPOINTED}. Start it "
            "again with --out and --force (force=True)."
        )


def check_trained(files: RunFiles, checkpoint: str = "best") -> Path:
    """The model file to load from a run directory; a clear error if there is none."""
    if checkpoint not in ("best", "last"):
        raise InputError(
            f"`checkpoint` must be 'best' or 'last'. Received: {checkpoint!r}"
        )
    if not files.root.is_dir():
        raise FileNotFoundError(f"run directory does not exist: {str(files.root)!r}")
    path = files.model if checkpoint == "best" else files.last_model()
    if not path.exists() and checkpoint == "best":
        path = files.last_model()
    missing = [p.name for p in (files.config, files.vocabulary, path) if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"run directory holds no trained model: {str(files.root)!r} "
            f"(missing {', '.join(missing)})."
        )
    return path


def open_run(files: RunFiles | None, resume: bool, force: bool) -> list[dict]:
    """The start of every run, on every backend: checks the directory and returns
    the history to continue (empty for a new run).

    A new run is refused over an existing one unless `force`; a resumed run
    needs what resuming reads. Nothing is written here.
    """
    if resume:
        if files is None:
            raise InputError("`resume` needs a `run_dir` to resume from.")
        check_resumable(files)
        return read_history(files.history)
    if files is not None:
        check_new_run(files, force)
    return []


def recorded_sources(corpus) -> list[str]:
    """The corpus paths a run records in its config.json: absolute, so that a
    resumed run finds them from any directory ([] for the default corpus)."""
    if corpus is None:
        return []
    paths = [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus)
    return [str(Path(p).resolve()) for p in paths]


def create_run(files: RunFiles | None, write: Callable[[RunFiles], None]) -> None:
    """Lays out a new run: makes the directory, removes an old run's files (only
    reached with `force`), then `write(files)` writes the config and vocabulary."""
    if files is None:
        return
    files.root.mkdir(parents=True, exist_ok=True)
    files.clear()
    write(files)


def history_row(epoch: int, logs: dict) -> dict:
    """The history row of an epoch (0-based) from its logs."""
    row = {"epoch": epoch + 1}
    row.update({k: plain_scalar(logs.get(k, "")) for k in HISTORY_COLUMNS[1:]})
    return row


def write_history(path, rows: Sequence[dict]) -> None:
    """Writes history rows as CSV with the standard columns, atomically."""
    atomic_write_text(path, _csv_text(rows, HISTORY_COLUMNS, header=True))


def read_history(path) -> list[dict]:
    """Reads `history.csv`: one dict per epoch, numbers as floats (`epoch` as
    int), empty cells as "". [] if the file does not exist.

    Raises an InputError naming the file and line if it is not a history.
    """
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        required, names = ("epoch", "loss", "val_loss"), ("training history", "history")
        return _read_rows(path, f, required, ("epoch",), names)


def batch_history_row(
    epoch: int,
    batch: int,
    step: int,
    seconds: float,
    loss: float,
    learning_rate: float,
    chars_per_second: float,
) -> dict:
    """A row of `batch_history.csv` (`epoch` 0-based here, 1-based in the row)."""
    values = (epoch + 1, batch, step, seconds, loss, learning_rate, chars_per_second)
    return dict(zip(BATCH_HISTORY_COLUMNS, map(plain_scalar, values), strict=True))


def append_batch_history(path, rows: Sequence[dict]) -> None:
    """Appends rows to `batch_history.csv`, with the header if the file is new.

    Appending is not atomic: a killed process may leave a partial last line,
    which `read_batch_history` skips, and rows of batches that its last
    checkpoint does not hold, which `rewind_batch_history` removes when the run
    resumes.
    """
    path = Path(path)
    header = not path.exists() or path.stat().st_size == 0
    text = _csv_text(rows, BATCH_HISTORY_COLUMNS, header)
    with open(path, "a", newline="", encoding="utf-8") as f:
        f.write(text)


def read_batch_history(path) -> list[dict]:
    """Reads `batch_history.csv`: one dict per row, `epoch`, `batch` and `step` as
    ints, the rest as floats. [] if the file does not exist; a partial last line
    (a row being written, or a killed writer's) is left out.

    Raises an InputError naming the file and line if it is not a batch history.
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = io.StringIO(text[: text.rfind("\n") + 1], newline="")
    ints, names = ("epoch", "batch", "step"), ("batch history", "batch history")
    return _read_rows(path, lines, ("step", "loss"), ints, names)


def rewind_batch_history(path, step: int) -> list[dict]:
    """Keeps the rows of the run's first `step` batches in `batch_history.csv` and
    removes later ones (batches a resumed run trains again), atomically.

    Returns:
        The rows kept ([] if there is no file).
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = [row for row in read_batch_history(path) if row["step"] <= step]
    atomic_write_text(path, _csv_text(rows, BATCH_HISTORY_COLUMNS, header=True))
    return rows


def _csv_text(rows: Sequence[dict], columns: Sequence[str], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in columns})
    return buffer.getvalue()


def _read_rows(path: Path, lines, required, ints, names) -> list[dict]:
    """Rows of a CSV file with the `required` columns (`ints`: the integer ones);
    `names`: what the file and a row are called in errors."""
    what, row_name = names
    reader = csv.DictReader(lines)
    missing = set(required) - set(reader.fieldnames or ())
    if missing:
        raise InputError(
            f"{str(path)!r} is not a {what}: it has no "
            f"{', '.join(sorted(missing))} column. Received: "
            f"columns={reader.fieldnames}"
        )
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            rows.append(_parse_row(row, ints))
        except (TypeError, ValueError):
            raise InputError(
                f"{str(path)!r} line {line} is not a {row_name} row. Received: {row}"
            ) from None
    return rows


def _parse_row(row: dict, ints) -> dict:
    parsed = {}
    for key, value in row.items():
        if key in ints:
            parsed[key] = int(value)
        elif key == "stopped" or value in ("", None):
            parsed[key] = value if value is not None else ""
        else:
            parsed[key] = float(value)
    return parsed


def _fmt(value):
    value = plain_scalar(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
