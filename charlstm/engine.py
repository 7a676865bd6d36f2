"""A numpy inference engine: the trained model's forward pass without TensorFlow.

The weights of a run's `model.keras` are exported to `engine.npz` beside it (by
the training checkpoint, or on first load). `NumpyEngine` runs them step by step
with preallocated float32 buffers: per step and layer, one product of the input
with the kernel (a row gather for the first layer) and one of the state with the
recurrent kernel, then the Dense softmax. Neither TensorFlow nor Keras is
imported here.

The equations are Keras 3's (gate order in the kernel columns):

- LSTM (i, f, c, o): `c = f * c + i * tanh(zc)`, `h = o * tanh(c)`, with
  `i, f, o = sigmoid(z)` and `z = x K + h R + b`.
- GRU (z, r, h) with `reset_after=True` and a bias of two rows (input,
  recurrent): `hh = tanh(x Kh + bh_in + r * (h Rh + bh_rec))`,
  `h = z * h + (1 - z) * hh`.
- SimpleRNN: `h = tanh(x K + h R + b)`.
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
from charlstm.checks import check_count
from charlstm.config import ModelConfig
from charlstm.storage import atomic_write

ENGINE_FORMAT = 1  # version of the engine.npz layout
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
# Time steps fed per chunk when warming up on long text: bounds the temporaries.
FEED_CHUNK = 256


def unsupported_reason(config: ModelConfig) -> str | None:
    """Why the numpy engine cannot run a model config, or None if it can."""
    if config.cell not in GATES:
        return f"the numpy engine has no {config.cell!r} cell"
    if config.input_encoding not in ("one_hot", "embedding"):
        return f"the numpy engine has no {config.input_encoding!r} input encoding"
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
            raise ValueError(f"{reason}. Received: cell={self.config.cell!r}")
        self.arrays = [np.asarray(a, dtype=np.float32) for a in self.arrays]
        expected = expected_shapes(self.config)
        got = [a.shape for a in self.arrays]
        if got != expected:
            raise ValueError(
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
    """The engine file of a model file: `model.keras` -> `engine.npz`,
    `last.keras` -> `engine_last.npz`."""
    model_path = Path(model_path)
    stem = "" if model_path.stem == "model" else f"_{model_path.stem}"
    return model_path.with_name(f"engine{stem}.npz")


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


def _sigmoid_(a: np.ndarray) -> None:
    """In place: sigmoid(a) = (1 + tanh(a / 2)) / 2, which never overflows."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5


class _Layer:
    """One recurrent layer's weights and its state buffers for a batch size."""

    def __init__(self, cell: str, kernel, recurrent, bias):
        self.cell = cell
        self.units = recurrent.shape[0]
        self.kernel = np.ascontiguousarray(kernel)  # (features, gates * units)
        self.recurrent = np.ascontiguousarray(recurrent)  # (units, gates * units)
        if cell == "gru":
            self.input_bias, self.recurrent_bias = bias[0].copy(), bias[1].copy()
        else:
            self.input_bias, self.recurrent_bias = bias.copy(), None
        self.state_names = ("h", "c") if cell == "lstm" else ("h",)

    def allocate(self, batch_size: int) -> None:
        width = self.recurrent.shape[1]
        self.h = np.zeros((batch_size, self.units), np.float32)
        self.c = np.zeros((batch_size, self.units), np.float32)
        self.rec = np.empty((batch_size, width), np.float32)  # h @ recurrent

    def states(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.state_names]

    def update(self, xg: np.ndarray) -> None:
        """Advances the state by one step; `xg` (batch, gates * units) is the input
        projection with the input bias, and is overwritten."""
        u, h = self.units, self.h
        np.matmul(h, self.recurrent, out=self.rec)
        if self.cell == "lstm":
            xg += self.rec
            _sigmoid_(xg[:, : 2 * u])  # i, f
            np.tanh(xg[:, 2 * u : 3 * u], out=xg[:, 2 * u : 3 * u])  # candidate
            _sigmoid_(xg[:, 3 * u :])  # o
            c = self.c
            c *= xg[:, u : 2 * u]
            xg[:, :u] *= xg[:, 2 * u : 3 * u]
            c += xg[:, :u]
            np.tanh(c, out=h)
            h *= xg[:, 3 * u :]
        elif self.cell == "gru":
            rec = self.rec
            rec += self.recurrent_bias
            xg[:, : 2 * u] += rec[:, : 2 * u]
            _sigmoid_(xg[:, : 2 * u])  # z, r
            rec[:, 2 * u :] *= xg[:, u : 2 * u]  # r * (h Rh + bh_rec)
            hh = xg[:, 2 * u :]
            hh += rec[:, 2 * u :]
            np.tanh(hh, out=hh)
            # h = z * h + (1 - z) * hh = hh + z * (h - hh)
            h -= hh
            h *= xg[:, :u]
            h += hh
        else:
            xg += self.rec
            np.tanh(xg, out=h)


class NumpyEngine:
    """Runs a trained model on ids with numpy: a batch of stateful streams.

    The state carries over between calls until `reset`. `step` is the per-character
    path: its buffers are allocated once per batch size. The first layer's input
    projection (one-hot or embedding, times the kernel, plus the bias) is computed
    once as a table of one row per character.

    Args:
        weights: EngineWeights. The trained model.
        batch_size: int. Number of streams.

    Example:
    >>> engine = NumpyEngine(weights)
    >>> probs = engine.feed(np.array([[3, 1, 4]]))  # (1, vocab), after the last id
    >>> probs = engine.step(np.array([probs.argmax()]))
    """

    def __init__(self, weights: EngineWeights, batch_size: int = 1):
        self.config = weights.config
        arrays = list(weights.arrays)
        embedding = arrays.pop(0) if self.config.input_encoding == "embedding" else None
        self.layers = []
        for _ in range(self.config.num_layers):
            kernel, recurrent, bias = arrays[:3]
            del arrays[:3]
            self.layers.append(_Layer(self.config.cell, kernel, recurrent, bias))
        self.dense_kernel = np.ascontiguousarray(arrays[0])  # (units, vocab)
        self.dense_bias = arrays[1].copy()  # (vocab,)
        first = self.layers[0]
        table = first.kernel.astype(np.float64)  # one-hot: (vocab, gates * units)
        if embedding is not None:
            table = embedding.astype(np.float64) @ table  # (vocab, gates * units)
        self.table = (table + first.input_bias).astype(np.float32)
        self.vocabulary_size = self.dense_bias.shape[0]
        self.batch_size = 0
        self.reset(batch_size)

    def reset(self, batch_size: int | None = None) -> None:
        """Zeroes every state; with `batch_size`, changes the number of streams."""
        if batch_size is not None:
            check_count("batch_size", batch_size)
        if batch_size is not None and batch_size != self.batch_size:
            self._allocate(int(batch_size))
        for layer in self.layers:
            for state in layer.states():
                state[:] = 0.0

    def _allocate(self, batch_size: int) -> None:
        self.batch_size = batch_size
        for layer in self.layers:
            layer.allocate(batch_size)
        self._xg = [
            np.empty((batch_size, layer.recurrent.shape[1]), np.float32)
            for layer in self.layers
        ]
        self._probs = np.empty((batch_size, self.vocabulary_size), np.float32)
        self._max = np.empty((batch_size, 1), np.float32)

    def get_state(self) -> list[np.ndarray]:
        """A copy of every state array, bottom layer first."""
        return [s.copy() for layer in self.layers for s in layer.states()]

    def set_state(self, state) -> None:
        """Restores states from `get_state` (their batch size becomes the engine's)."""
        state = list(state)
        if len(state) != sum(len(layer.states()) for layer in self.layers):
            raise ValueError(
                f"`state` must hold {sum(len(x.states()) for x in self.layers)} "
                f"arrays. Received: {len(state)}"
            )
        batch_size = state[0].shape[0]
        if batch_size != self.batch_size:
            self._allocate(batch_size)
        arrays = iter(state)
        for layer in self.layers:
            for buffer in layer.states():
                buffer[:] = next(arrays)

    def select(self, rows) -> None:
        """Keeps the streams `rows` (in that order, repeats allowed): beam search
        reorders its hypotheses with this."""
        rows = np.asarray(rows, dtype=np.intp)
        self.set_state([s[rows] for s in self.get_state()])

    def step(self, ids) -> np.ndarray:
        """Feeds one id per stream; returns the next-id probabilities (batch, vocab).

        The returned array is a buffer that the next call overwrites.
        """
        ids = np.asarray(ids)
        if ids.shape != (self.batch_size,):
            raise ValueError(
                f"`ids` must have shape ({self.batch_size},). Received: {ids.shape}"
            )
        xg = self._xg
        np.take(self.table, ids, axis=0, out=xg[0])  # (batch, gates * units)
        self.layers[0].update(xg[0])
        below = self.layers[0]
        for layer, buffer in zip(self.layers[1:], xg[1:], strict=True):
            np.matmul(below.h, layer.kernel, out=buffer)
            buffer += layer.input_bias
            layer.update(buffer)
            below = layer
        return self._softmax(below.h, self._probs, self._max)

    def _softmax(self, h, out, scratch) -> np.ndarray:
        np.matmul(h, self.dense_kernel, out=out)  # (batch, vocab)
        out += self.dense_bias
        np.max(out, axis=-1, keepdims=True, out=scratch)
        out -= scratch
        np.exp(out, out=out)
        np.sum(out, axis=-1, keepdims=True, out=scratch)
        out /= scratch
        return out

    @staticmethod
    def _run_layer(layer: _Layer, x: np.ndarray, hs: np.ndarray, live) -> None:
        """Steps `layer` through input projections `x` (batch, steps, gates * units),
        writing its outputs to `hs` (batch, steps, units); `live` (batch, steps)
        marks the steps that update each stream's state."""
        for t in range(x.shape[1]):
            xg = np.ascontiguousarray(x[:, t])  # (batch, gates * units)
            if live is None or live[:, t].all():
                layer.update(xg)
            else:
                kept = [s.copy() for s in layer.states()]
                layer.update(xg)
                frozen = ~live[:, t]
                for state, old in zip(layer.states(), kept, strict=True):
                    state[frozen] = old[frozen]
            hs[:, t] = layer.h

    def feed(self, ids, lengths=None, return_sequences: bool = False) -> np.ndarray:
        """Feeds a sequence of ids per stream, carrying the state.

        Layer by layer in chunks of `FEED_CHUNK` steps, so the input projections of
        the upper layers are matrix-matrix products.

        Args:
            ids: int array (batch, time).
            lengths: int array (batch,) or None. Streams with fewer ids are padded
                on the left: their state stays as it was during the first
                `time - length` steps, so seeds of different lengths all end at
                the last step.
            return_sequences: bool. Return the probabilities of every step
                (batch, time, vocab) instead of the last (batch, vocab).
        """
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] != self.batch_size or ids.shape[1] < 1:
            raise ValueError(
                f"`ids` must have shape ({self.batch_size}, time >= 1). "
                f"Received: {ids.shape}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary_size):
            raise ValueError(
                f"`ids` must be in [0, {self.vocabulary_size}). "
                f"Received: min {ids.min()}, max {ids.max()}"
            )
        batch, time = ids.shape
        start = None
        if lengths is not None:
            start = time - np.asarray(lengths)  # (batch,) first real step
        outputs = []
        for begin in range(0, time, FEED_CHUNK):
            chunk = ids[:, begin : begin + FEED_CHUNK]
            steps = chunk.shape[1]
            live = None
            if start is not None:
                live = (begin + np.arange(steps))[None, :] >= start[:, None]
            x = self.table[chunk]  # (batch, steps, gates * units)
            for i, layer in enumerate(self.layers):
                if i:
                    x = x @ layer.kernel + layer.input_bias  # (batch, steps, gates*u)
                hs = np.empty((batch, steps, layer.units), np.float32)
                self._run_layer(layer, x, hs, live)
                x = hs  # (batch, steps, units)
            if return_sequences:
                outputs.append(x)
            last = x[:, -1]
        if not return_sequences:
            return self._softmax(
                np.ascontiguousarray(last),
                np.empty((batch, self.vocabulary_size), np.float32),
                np.empty((batch, 1), np.float32),
            )
        hs = np.concatenate(outputs, axis=1)  # (batch, time, units)
        flat = hs.reshape(batch * time, -1)  # (batch * time, units)
        probs = self._softmax(
            flat,
            np.empty((batch * time, self.vocabulary_size), np.float32),
            np.empty((batch * time, 1), np.float32),
        )
        return probs.reshape(batch, time, -1)  # (batch, time, vocab)
