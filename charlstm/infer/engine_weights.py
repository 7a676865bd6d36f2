"""The numpy engine's weights: `EngineWeights`, and the `engine.npz` file.

`engine.npz` (format 1) is a numpy `.npz` archive beside a model file:
`engine.npz` for `model.keras`, `engine_last.npz` for `last.keras`. It holds

- `meta`: a JSON string with `format` (1), `charlstm_version`, `model` (the
  `ModelConfig` as a dict) and `source_sha256` (the SHA-256 of the model file
  it was exported from: a different digest means the file is stale);
- `w000`, `w001`, ...: float32 arrays, the weights in Keras's
  `model.get_weights()` order (`expected_shapes` gives their shapes). An LN-LSTM
  layer (`cell="ln_lstm"`) has, after its kernel, recurrent kernel and bias, the
  gains and shifts of its three normalisations: input, recurrent (4 * units
  each) and cell (units each), gain first.

Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlstm import __version__
from charlstm.config import ModelConfig
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write

ENGINE_FORMAT = 1  # version of the engine.npz layout
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1, "ln_lstm": 4}


def unsupported_reason(config: ModelConfig) -> str | None:
    """Why the numpy engine cannot run a model config, or None if it can."""
    if config.cell not in GATES:
        return f"the numpy engine has no {config.cell!r} cell"
    if config.input_encoding not in ("one_hot", "embedding"):
        return f"the numpy engine has no {config.input_encoding!r} input encoding"
    if config.residual or config.layer_norm:
        return (
            "the numpy engine has no residual connections or layer normalisation "
            f"(residual={config.residual}, layer_norm={config.layer_norm})"
        )
    return None


def expected_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """Shapes of the weights in Keras's `model.get_weights()` order."""
    vocab, units, gates = config.vocabulary_size, config.units, GATES[config.cell]
    shapes = []
    features = vocab
    if config.input_encoding == "embedding":
        shapes.append((vocab, config.embedding_dim))  # embedding table
        features = config.embedding_dim
    for _ in range(config.num_layers):
        bias = (2, gates * units) if config.cell == "gru" else (gates * units,)
        shapes += [(features, gates * units), (units, gates * units), bias]
        if config.cell == "ln_lstm":  # input, recurrent, cell: gain, shift
            shapes += [(gates * units,)] * 4 + [(units,)] * 2
        features = units
    shapes += [(units, vocab), (vocab,)]  # Dense softmax
    return shapes


@dataclass
class EngineWeights:
    """A model's config and its weights in Keras's `model.get_weights()` order.

    Args:
        config: ModelConfig. The architecture the weights belong to.
        arrays: list of float32 arrays. The weights, checked against `config`.
    """

    config: ModelConfig
    arrays: list

    def __post_init__(self):
        reason = unsupported_reason(self.config)
        if reason:
            raise InputError(f"{reason}.")  # the reason names what it received
        self.arrays = [np.asarray(a, dtype=np.float32) for a in self.arrays]
        expected = expected_shapes(self.config)
        got = [a.shape for a in self.arrays]
        if got != expected:
            raise InputError(
                f"the weights do not fit a {self.config.num_layers} x "
                f"{self.config.units} {self.config.cell} model with "
                f"{self.config.input_encoding} input. Received shapes {got}, "
                f"expected {expected}."
            )

    def save(self, path: str | os.PathLike, source_digest: str = "") -> None:
        """Writes `engine.npz` atomically; `source_digest` ties it to its model file."""
        meta = {
            "format": ENGINE_FORMAT,
            "charlstm_version": __version__,
            "model": dataclasses.asdict(self.config),
            "source_sha256": source_digest,
        }
        arrays = {f"w{i:03d}": a for i, a in enumerate(self.arrays)}

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, meta=np.array(json.dumps(meta)), **arrays)

        atomic_write(path, write)

    @classmethod
    def read(
        cls, path: str | os.PathLike, source_digest: str | None = None
    ) -> EngineWeights | None:
        """Reads `engine.npz`; None if it is missing, of another format, or stale
        (its recorded digest differs from `source_digest`)."""
        path = Path(path)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != ENGINE_FORMAT:
                    return None
                if source_digest is not None and (
                    meta.get("source_sha256") != source_digest
                ):
                    return None
                names = sorted(k for k in data.files if k.startswith("w"))
                arrays = [data[k] for k in names]
            return cls(ModelConfig(**meta["model"]), arrays)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable or from another layout: export again


def file_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def engine_path(model_path: str | os.PathLike) -> Path:
    """The engine file of a model file: `model.keras` -> `engine.npz`, the last
    checkpoint (`checkpoint-NNNNNN.keras`, or `last.keras`) -> `engine_last.npz`
    (its recorded digest tells which checkpoint it was exported from)."""
    model_path = Path(model_path)
    if model_path.stem == "model":
        return model_path.with_name("engine.npz")
    if model_path.stem.startswith("checkpoint-"):
        return model_path.with_name("engine_last.npz")
    return model_path.with_name(f"engine_{model_path.stem}.npz")


def save_beside(model_path: str | os.PathLike, weights: EngineWeights) -> bool:
    """Writes the engine file beside `model_path` if its directory is writable.

    Returns whether it was written; a read-only run directory is not an error.
    """
    path = engine_path(model_path)
    if not os.access(path.parent, os.W_OK):
        return False
    try:
        weights.save(path, file_digest(model_path))
    except OSError:
        return False
    return True


def export_checkpoint(run_dir: str | os.PathLike, arrays, model_name="model.keras"):
    """Exports a just-saved checkpoint's weights to its engine file.

    Called by the training checkpoint after it writes `model.keras`. Does nothing
    (returns False) if the run has no `config.json` or the model is one the
    engine does not run.
    """
    from charlstm.config import RunConfig

    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.exists():
        return False
    config = RunConfig.load(config_path).model
    if unsupported_reason(config):
        return False
    return save_beside(run_dir / model_name, EngineWeights(config, list(arrays)))
