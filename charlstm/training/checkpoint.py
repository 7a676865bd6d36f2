"""Checkpoints: everything a run needs to continue exactly, committed at once.

A checkpoint is three files in the run directory:

- `checkpoint-NNNNNN.keras`: the training model with its optimizer state;
- `checkpoint-NNNNNN.npz`: what `model.save` leaves out, the RNN states of every
  stream (`state_0`, ...) and the states of the random generators that draw the
  dropout masks (`seed_0`, ...);
- `checkpoint.json`, the manifest: the two file names, where training is
  (`Progress`: epoch, batch, the epoch's loss so far, the time budget spent,
  every finished epoch's history row, the batches since the last row of
  `batch_history.csv`) and the corpus fingerprint.

The model and array files are written first (each atomically and durably); the
manifest is renamed over the old one last. That rename is the commit: a kill at
any moment leaves the old manifest and its files, or the new ones. The files of
the previous checkpoint are removed only after the commit, and anything a killed
process left half-written is removed when the run starts again (`clean`).

`history.csv` is rewritten from the committed progress at every checkpoint.
`batch_history.csv` is appended to as training goes; a resumed run first removes
the rows of batches after its checkpoint (`run_dir.rewind_batch_history`), and
the checkpoint carries the batches since the last row, so the file ends up with
the rows an uninterrupted run writes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from charlstm.training.run_dir import RunFiles, write_history
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_path, atomic_write_text, remove_temporaries

MANIFEST_FORMAT = 1


@dataclass
class Progress:
    """Where a run is: what a checkpoint records besides the model's variables."""

    epoch: int = 0  # the epoch in progress (0-based); len(history) at a boundary
    batch: int = 0  # batches trained in that epoch
    loss_sum: float = 0.0  # sum of those batches' losses
    learning_rate: float = 0.0  # the rate of the epoch's first batch
    budget_seconds: float | None = None  # the run's time budget, if any
    budget_spent: float = 0.0  # training seconds spent under it so far
    history: list = field(default_factory=list)  # one row per finished epoch
    seconds: float = 0.0  # seconds of training so far, all sessions
    devices: str = ""  # what trains the model: its layers, the replicas
    # The batches since the last batch-history row: their losses, count, seconds.
    window_loss_sum: float = 0.0
    window_batches: int = 0
    window_seconds: float = 0.0

    @property
    def best_val_loss(self) -> float:
        losses = [r["val_loss"] for r in self.history if r.get("val_loss") != ""]
        return min((float(v) for v in losses), default=math.inf)

    @property
    def budget_left(self) -> float | None:
        """Seconds of the time budget left (None without one)."""
        if self.budget_seconds is None:
            return None
        return max(0.0, self.budget_seconds - self.budget_spent)


@dataclass
class Manifest:
    """A committed checkpoint (`checkpoint.json`)."""

    serial: int  # 1 for the first checkpoint of the run, then 2, ...
    model: str  # the model file's name, in the run directory
    arrays: str  # the array file's name
    progress: Progress
    corpus: dict  # the corpus fingerprint (`corpus_fingerprint`)

    def to_dict(self) -> dict:
        return {
            "format": MANIFEST_FORMAT,
            "serial": self.serial,
            "model": self.model,
            "arrays": self.arrays,
            "progress": dataclasses.asdict(self.progress),
            "corpus": self.corpus,
        }


def corpus_fingerprint(sources, ids: np.ndarray) -> dict:
    """What identifies a run's training text: its sources, its length and the
    SHA-256 of its ids."""
    import hashlib

    ids = np.ascontiguousarray(ids)
    return {
        "sources": list(sources),
        "characters": int(len(ids)),
        "ids_sha256": hashlib.sha256(ids.tobytes()).hexdigest(),
    }


def seed_variables(model) -> list:
    """The random generators' state variables, in the model's own order."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def model_arrays(model) -> dict[str, np.ndarray]:
    """The states `model.save` leaves out: RNN states and random generator states."""
    import keras

    from charlstm.model.build import state_variables

    arrays = {}
    for i, v in enumerate(state_variables(model)):
        arrays[f"state_{i}"] = keras.ops.convert_to_numpy(v)
    for i, v in enumerate(seed_variables(model)):
        arrays[f"seed_{i}"] = keras.ops.convert_to_numpy(v)
    return arrays


def restore_arrays(model, arrays) -> None:
    """Assigns `model_arrays`' arrays back to a model of the same architecture."""
    from charlstm.model.build import state_variables

    for prefix, variables in (
        ("state", state_variables(model)),
        ("seed", seed_variables(model)),
    ):
        names = sorted(
            (k for k in arrays if k.startswith(prefix + "_")),
            key=lambda k: int(k.split("_")[1]),
        )
        if len(names) != len(variables):
            raise InputError(
                f"the checkpoint holds {len(names)} {prefix} arrays for a model "
                f"with {len(variables)}: it belongs to another model."
            )
        for name, variable in zip(names, variables, strict=True):
            variable.assign(arrays[name])


def copy_training_state(source, target) -> None:
    """Copies weights, optimizer variables and RNN states between two training
    models of the same config whose layers differ in kind (`LSTMStack` and
    Keras's layers have the same weights in the same order). Dropout seeds are
    copied where the models have the same generators, and are left fresh
    otherwise."""
    import keras

    from charlstm.model.build import state_variables

    target.set_weights(source.get_weights())
    for model in (source, target):
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    pairs = [
        (list(source.optimizer.variables), list(target.optimizer.variables)),
        (state_variables(source), state_variables(target)),
    ]
    if len(seed_variables(source)) == len(seed_variables(target)):
        pairs.append((seed_variables(source), seed_variables(target)))
    for sources, targets in pairs:
        if len(sources) != len(targets):
            raise InputError(
                f"the checkpoint holds {len(sources)} variables where the model "
                f"has {len(targets)}: it belongs to another model."
            )
        for a, b in zip(sources, targets, strict=True):
            b.assign(keras.ops.convert_to_numpy(a))


class Checkpoints:
    """The checkpoints of one run directory.

    Args:
        files: RunFiles. The run directory.
    """

    def __init__(self, files: RunFiles):
        self.files = files

    @property
    def manifest_path(self) -> Path:
        return self.files.checkpoint

    def read(self) -> Manifest | None:
        """The committed checkpoint, or None if there is none.

        Raises an InputError that names the file if the manifest or a file it
        names is missing or unreadable.
        """
        path = self.manifest_path
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            manifest = Manifest(
                serial=int(data["serial"]),
                model=str(data["model"]),
                arrays=str(data["arrays"]),
                progress=Progress(**data["progress"]),
                corpus=dict(data["corpus"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{str(path)!r} is not a checkpoint manifest this charlstm reads "
                f"({error}); the run cannot be resumed."
            ) from None
        for name in (manifest.model, manifest.arrays):
            if not (self.files.root / name).is_file():
                raise InputError(
                    f"{str(self.files.root)!r} is damaged: its checkpoint.json names "
                    f"{name}, which is missing; the run cannot be resumed."
                )
        return manifest

    def save(self, model, progress: Progress, corpus: dict) -> Manifest:
        """Writes a checkpoint and commits it; removes the previous one after."""
        previous = self.read()
        serial = previous.serial + 1 if previous else 1
        stem = f"checkpoint-{serial:06d}"
        manifest = Manifest(
            serial, f"{stem}.keras", f"{stem}.npz", _copy(progress), corpus
        )
        with atomic_path(self.files.root / manifest.model) as tmp:
            model.save(tmp)
        arrays = model_arrays(model)
        with atomic_path(self.files.root / manifest.arrays) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        text = json.dumps(manifest.to_dict(), indent=1) + "\n"
        atomic_write_text(self.manifest_path, text)  # the commit
        write_history(self.files.history, progress.history)  # for people and plots
        if previous is not None:
            for name in (previous.model, previous.arrays):
                (self.files.root / name).unlink(missing_ok=True)
        return manifest

    def restore(self, model, manifest: Manifest) -> None:
        """Puts the checkpoint's RNN and random states into a loaded model."""
        path = self.files.root / manifest.arrays
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as error:
            raise InputError(
                f"{str(path)!r} cannot be read ({error}); the run cannot be resumed."
            ) from None
        restore_arrays(model, arrays)

    def clean(self) -> list[Path]:
        """Removes what a killed process left: temporary files, and checkpoint
        files that no committed manifest names. Returns what it removed."""
        root = self.files.root
        if not root.is_dir():
            return []
        removed = remove_temporaries(root, [p.name for p in self.files.written])
        removed += remove_temporaries(root, ["checkpoint-*"])
        manifest = self.read()
        kept = {manifest.model, manifest.arrays} if manifest else set()
        for path in root.glob("checkpoint-*"):
            if path.name not in kept and path.suffix in (".keras", ".npz"):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed


def _copy(progress: Progress) -> Progress:
    return dataclasses.replace(progress, history=[dict(r) for r in progress.history])
