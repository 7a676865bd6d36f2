"""The run directory: which files it holds, and the checks that protect them."""

from __future__ import annotations

import os
from pathlib import Path

from charlstm.utils.checks import InputError


class RunFiles:
    """Paths of the files in a run directory.

    - `config.json`: the `RunConfig` (model, data, training).
    - `vocab.json`: the `Vocabulary`.
    - `model.keras`: the best model by validation loss (what `load` uses).
    - `last.keras`: the last complete epoch, with optimizer state (what resume uses).
    - `history.csv`: one row per complete epoch.
    - `engine.npz`: `model.keras`'s weights for the numpy engine (`engine.py`).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.vocabulary = self.root / "vocab.json"
        self.model = self.root / "model.keras"
        self.last = self.root / "last.keras"
        self.history = self.root / "history.csv"
        self.engine = self.root / "engine.npz"
        self.engine_last = self.root / "engine_last.npz"

    @property
    def written(self) -> list[Path]:
        """The files that a run writes."""
        return [
            self.config,
            self.vocabulary,
            self.model,
            self.last,
            self.history,
            self.engine,
            self.engine_last,
        ]

    def holds_run(self) -> bool:
        return any(p.exists() for p in self.written)

    def clear(self) -> None:
        """Removes the files of an earlier run (only called with `force`)."""
        for path in self.written:
            path.unlink(missing_ok=True)


def check_new_run(files: RunFiles, force: bool) -> None:
    """Refuses to start a run over an existing one unless `force` is set."""
    if files.root.exists() and not files.root.is_dir():
        raise NotADirectoryError(f"run directory is a file: {str(files.root)!r}")
    if files.holds_run() and not force:
        raise FileExistsError(
            f"run directory already holds a run: {str(files.root)!r}. Use resume "
            "(--resume) to continue it or force (--force) to start over."
        )


def check_resumable(files: RunFiles) -> None:
    """Checks that a run directory has what resuming needs."""
    if not files.root.is_dir():
        raise FileNotFoundError(f"run directory does not exist: {str(files.root)!r}")
    missing = [
        p.name for p in (files.config, files.vocabulary, files.last) if not p.exists()
    ]
    if missing:
        raise FileNotFoundError(
            f"cannot resume {str(files.root)!r}: it has no complete epoch "
            f"(missing {', '.join(missing)})."
        )


def check_trained(files: RunFiles, checkpoint: str = "best") -> Path:
    """The model file to load from a run directory; a clear error if there is none."""
    if checkpoint not in ("best", "last"):
        raise InputError(
            f"`checkpoint` must be 'best' or 'last'. Received: {checkpoint!r}"
        )
    if not files.root.is_dir():
        raise FileNotFoundError(f"run directory does not exist: {str(files.root)!r}")
    path = files.model if checkpoint == "best" else files.last
    if not path.exists() and checkpoint == "best":
        path = files.last
    missing = [p.name for p in (files.config, files.vocabulary, path) if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"run directory holds no trained model: {str(files.root)!r} "
            f"(missing {', '.join(missing)})."
        )
    return path
