"""A numpy inference engine: the trained model's forward pass without TensorFlow.

The weights of a run's `model.keras` are exported to `engine.npz` beside it (by
the training checkpoint, or on first load). `NumpyEngine` runs them step by step
with preallocated float32 buffers: per step and layer, one matrix product of the
input and the state side by side with the stacked kernels (for the first layer,
a row of a precomputed table and the state's product; a GRU or an LN-LSTM keeps
two), a few in-place elementwise operations, then the Dense softmax. Neither
TensorFlow nor Keras is imported here.

The equations are Keras 3's (gate order in the kernel columns):

- LSTM (i, f, c, o): `c = f * c + i * tanh(zc)`, `h = o * tanh(c)`, with
  `i, f, o = sigmoid(z)` and `z = x K + h R + b`.
- GRU (z, r, h) with `reset_after=True` and a bias of two rows (input,
  recurrent): `hh = tanh(x Kh + bh_in + r * (h Rh + bh_rec))`,
  `h = z * h + (1 - z) * hh`.
- SimpleRNN: `h = tanh(x K + h R + b)`.
- LN-LSTM (`charlstm.model.ln_lstm`): the LSTM's gates from
  `z = LN(x K; g_x, b_x) + LN(h R; g_h, b_h) + b`, and
  `h = o * tanh(LN(c; g_c, b_c))`, with `LN(a; g, b) = g * (a - mean(a)) /
  sqrt(var(a) + 1e-5) + b` over each row.
"""

from __future__ import annotations

import numpy as np

from charlstm.config import STATE_NAMES
from charlstm.infer.engine_weights import EngineWeights
from charlstm.utils.checks import InputError, check_count

# Time steps fed per chunk when warming up on long text: bounds the temporaries.
FEED_CHUNK = 256
# Of the LN-LSTM's normalisations: charlstm.model.ln_lstm.EPSILON (which imports
# Keras; this module does not).
LN_EPSILON = 1e-5


def _to_layout(cell: str, units: int, a, out=None, halve=True) -> np.ndarray:
    """`a` (..., gates * units) in Keras's gate order, in the engine's layout
    (see `_Layer`), written to `out` (a new float32 array if None). Without
    `halve`, the columns are only reordered."""
    a = np.asarray(a)
    out = np.empty(a.shape, np.float32) if out is None else out
    u = units
    if cell in ("lstm", "ln_lstm"):  # (i, f, c, o) -> (i, f, o, c); i, f, o halved
        out[..., : 2 * u] = a[..., : 2 * u]
        out[..., 2 * u : 3 * u] = a[..., 3 * u :]
        out[..., 3 * u :] = a[..., 2 * u : 3 * u]
        if halve:
            out[..., : 3 * u] *= 0.5
    else:
        out[...] = a
        if cell == "gru":  # (z, r, h); z and r halved
            out[..., : 2 * u] *= 0.5
    return out


def layer_norm(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(a - mean) / sqrt(var + LN_EPSILON)` over the last axis, a new array,
    and `1 / sqrt(var + LN_EPSILON)` (..., 1), which a backward pass needs."""
    centered = a - a.mean(axis=-1, keepdims=True)
    inverse = 1.0 / np.sqrt((centered * centered).mean(-1, keepdims=True) + LN_EPSILON)
    return centered * inverse, inverse


class _Layer:
    """One recurrent layer's weights and its buffers for a batch size.

    The gate columns are stored in the engine's own layout: LSTM gates as
    (i, f, o, c) instead of Keras's (i, f, c, o), and the columns of every
    sigmoid gate halved (an exact scaling), so that one `tanh` over all the
    gates gives them all: `sigmoid(z) = (1 + tanh(z / 2)) / 2`. The kernel and
    the recurrent kernel are one stacked matrix `[kernel; recurrent]`, so that
    a step of an upper LSTM or SimpleRNN layer is one matrix product of its
    input and its state side by side, `[x, h] @ [kernel; recurrent]`.
    `h` is a view into the engine's buffer of every layer's state.

    An LN-LSTM normalises the products `x @ kernel` and `h @ recurrent` apart,
    so its kernels are reordered but not halved (halving would change nothing
    after the normalisation); the halving is in the gains and shifts, which
    act after it, and the three shifts and the bias are one `input_bias`.
    """

    def __init__(self, cell: str, kernel, recurrent, bias, norms=()):
        self.cell = cell
        self.units = recurrent.shape[0]
        u, features = self.units, kernel.shape[0]
        ln = cell == "ln_lstm"
        # (features + units, gates * units), C-contiguous; views of its rows:
        self.weights = np.empty((features + u, recurrent.shape[1]), np.float32)
        self.kernel = _to_layout(cell, u, kernel, self.weights[:features], not ln)
        self.recurrent = _to_layout(cell, u, recurrent, self.weights[features:], not ln)
        if cell == "gru":
            self.input_bias = _to_layout(cell, u, bias[0])
            self.recurrent_bias = _to_layout(cell, u, bias[1])
        else:
            self.input_bias, self.recurrent_bias = _to_layout(cell, u, bias), None
        if ln:  # input, recurrent and cell normalisations: gain, shift
            g_x, b_x, g_h, b_h, g_c, b_c = norms
            self.input_gamma = _to_layout(cell, u, g_x)
            self.recurrent_gamma = _to_layout(cell, u, g_h)
            self.input_bias = _to_layout(cell, u, np.asarray(bias) + b_x + b_h)
            self.cell_gamma = np.asarray(g_c, np.float32)
            self.cell_beta = np.asarray(b_c, np.float32)
        self.state_names = STATE_NAMES[cell]

    def allocate(self, h: np.ndarray, inputs: np.ndarray | None) -> None:
        """Buffers for `h.shape[0]` streams. `h` (batch, units) is this layer's
        state and `inputs` (batch, features + units) the layer below's state next
        to it (None for the first layer), both views of the engine's buffer."""
        batch, u = h.shape
        width = self.recurrent.shape[1]
        self.h, self.inputs = h, inputs
        self._below = None if inputs is None else inputs[:, :-u]  # (batch, features)
        self.c = np.zeros((batch, u), np.float32)
        self.z = np.empty((batch, width), np.float32)  # gate pre-activations
        self.rec = np.empty((batch, width), np.float32)  # h @ recurrent
        z = self.z
        if self.cell == "ln_lstm":  # a row statistic, and squares
            self._stat = np.empty((batch, 1), np.float32)
            self._square = np.empty((batch, width), np.float32)
        if self.cell in ("lstm", "ln_lstm"):
            self._sigmoids = z[:, : 3 * u]  # i, f, o
            self._i, self._f = z[:, :u], z[:, u : 2 * u]
            self._o, self._g = z[:, 2 * u : 3 * u], z[:, 3 * u :]
        elif self.cell == "gru":
            self._sigmoids, self._z = z[:, : 2 * u], z[:, :u]
            self._r, self._hh = z[:, u : 2 * u], z[:, 2 * u :]
            self._rec_zr, self._rec_hh = self.rec[:, : 2 * u], self.rec[:, 2 * u :]

    def states(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.state_names]

    def project(self, x: np.ndarray) -> np.ndarray:
        """The input's part of the pre-activations, with the input bias, for
        inputs x (..., features): (..., gates * units), a new array."""
        if self.cell == "ln_lstm":
            return layer_norm(x @ self.kernel)[0] * self.input_gamma + self.input_bias
        return x @ self.kernel + self.input_bias

    def step(self) -> None:
        """One step of an upper layer from `inputs` (the layer below's new state
        and this layer's state)."""
        if self.cell in ("gru", "ln_lstm"):
            np.matmul(self._below, self.kernel, out=self.z)
            if self.cell == "ln_lstm":
                self._normalize(self.z)
                self.z *= self.input_gamma
            self.z += self.input_bias
            self.update()
            return
        np.matmul(self.inputs, self.weights, out=self.z)  # (batch, gates * units)
        self.z += self.input_bias
        self._activate()

    def update(self) -> None:
        """Advances the state by one step; `z` (batch, gates * units) holds the
        input projection with the input bias, and is overwritten."""
        np.matmul(self.h, self.recurrent, out=self.rec)
        if self.cell == "ln_lstm":
            self._normalize(self.rec)
            self.rec *= self.recurrent_gamma
        if self.cell != "gru":
            self.z += self.rec
            self._activate()
            return
        self.rec += self.recurrent_bias
        self._sigmoids += self._rec_zr
        self._sigmoid_gates()  # z, r
        self._rec_hh *= self._r  # r * (h Rh + bh_rec)
        hh, h = self._hh, self.h
        hh += self._rec_hh
        np.tanh(hh, out=hh)
        # h = z * h + (1 - z) * hh = hh + z * (h - hh)
        h -= hh
        h *= self._z
        h += hh

    def _normalize(self, a: np.ndarray) -> None:
        """`(a - mean) / sqrt(var + LN_EPSILON)` over each row of `a` (batch, n),
        in place."""
        stat, n = self._stat, a.shape[1]
        np.add.reduce(a, axis=-1, keepdims=True, out=stat)
        stat /= n
        a -= stat  # centred
        square = self._square[:, :n]
        np.multiply(a, a, out=square)
        np.add.reduce(square, axis=-1, keepdims=True, out=stat)
        stat /= n
        stat += LN_EPSILON
        np.sqrt(stat, out=stat)
        a /= stat

    def _sigmoid_gates(self) -> None:
        np.tanh(self._sigmoids, out=self._sigmoids)
        self._sigmoids *= 0.5
        self._sigmoids += 0.5

    def _activate(self) -> None:
        """LSTM, LN-LSTM and SimpleRNN: the new state from the pre-activations
        `z`."""
        if self.cell == "simple_rnn":
            np.tanh(self.z, out=self.h)
            return
        np.tanh(self.z, out=self.z)  # halved sigmoid gates, and the candidate
        self._sigmoids *= 0.5
        self._sigmoids += 0.5  # i, f, o
        c, i = self.c, self._i
        c *= self._f
        i *= self._g
        c += i
        if self.cell == "ln_lstm":  # h = o * tanh(LN(c; g_c, b_c))
            np.copyto(self.h, c)
            self._normalize(self.h)
            self.h *= self.cell_gamma
            self.h += self.cell_beta
            c = self.h
        np.tanh(c, out=self.h)
        self.h *= self._o


class NumpyEngine:
    """Runs a trained model on ids with numpy: a batch of stateful streams.

    The state carries over between calls until `reset`. `step` is the per-character
    path: its buffers are allocated once per batch size, and per layer it runs
    one matrix product (two for a GRU or an LN-LSTM, or the first layer: a row
    of a table and the state's product) and a few in-place elementwise
    operations. The first layer's input projection (one-hot or embedding, times
    the kernel, plus the bias; normalised for an LN-LSTM) is computed once as a
    table of one row per character.

    Args:
        weights: EngineWeights. The trained model.
        batch_size: int. Number of streams.

    Example:
    >>> engine = NumpyEngine(weights)
    >>> probs = engine.feed(np.array([[3, 1, 4]]))  # (1, vocab), after the last id
    >>> probs = engine.step(np.array([probs.argmax()]))
    """

    name = "numpy"

    def __init__(self, weights: EngineWeights, batch_size: int = 1):
        self.config = weights.config
        self.weights = list(weights.arrays)  # Keras's get_weights() order
        arrays = list(weights.arrays)
        embedding = arrays.pop(0) if self.config.input_encoding == "embedding" else None
        self.layers = []
        per_layer = 9 if self.config.cell == "ln_lstm" else 3  # engine_weights
        for _ in range(self.config.num_layers):
            kernel, recurrent, bias, *norms = arrays[:per_layer]
            del arrays[:per_layer]
            self.layers.append(_Layer(self.config.cell, kernel, recurrent, bias, norms))
        self.dense_kernel = np.ascontiguousarray(arrays[0])  # (units, vocab)
        self.dense_bias = arrays[1].copy()  # (vocab,)
        first = self.layers[0]
        table = first.kernel.astype(np.float64)  # one-hot: (vocab, gates * units)
        if embedding is not None:
            table = embedding.astype(np.float64) @ table  # (vocab, gates * units)
        if first.cell == "ln_lstm":
            table = layer_norm(table)[0] * first.input_gamma
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
        self._hs[:] = 0.0
        for layer in self.layers:
            layer.c[:] = 0.0

    def _allocate(self, batch_size: int) -> None:
        self.batch_size = batch_size
        u = self.config.units
        # Every layer's state side by side: layer l's is columns [l u, (l + 1) u),
        # and layer l + 1 reads its input and state as one block of 2 u columns.
        self._hs = np.zeros((batch_size, len(self.layers) * u), np.float32)
        for i, layer in enumerate(self.layers):
            inputs = self._hs[:, (i - 1) * u : (i + 1) * u] if i else None
            layer.allocate(self._hs[:, i * u : (i + 1) * u], inputs)
        self._probs = np.empty((batch_size, self.vocabulary_size), np.float32)
        self._max = np.empty((batch_size, 1), np.float32)

    def get_state(self) -> list[np.ndarray]:
        """A copy of every state array, bottom layer first."""
        return [s.copy() for layer in self.layers for s in layer.states()]

    def set_state(self, state) -> None:
        """Restores states from `get_state` (their batch size becomes the engine's)."""
        state = list(state)
        if len(state) != sum(len(layer.states()) for layer in self.layers):
            raise InputError(
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
        if rows.shape == (self.batch_size,) and (rows == np.arange(len(rows))).all():
            return  # every stream in place
        self.set_state([s[rows] for s in self.get_state()])

    def step(self, ids) -> np.ndarray:
        """Feeds one id per stream; returns the next-id probabilities (batch, vocab).

        The returned array is a buffer that the next call overwrites.
        """
        ids = np.asarray(ids)
        if ids.shape != (self.batch_size,):
            raise InputError(
                f"`ids` must have shape ({self.batch_size},). Received: {ids.shape}"
            )
        first = self.layers[0]
        self.table.take(ids, axis=0, out=first.z)  # (batch, gates * units)
        first.update()
        for layer in self.layers[1:]:
            layer.step()
        return self._softmax(self.layers[-1].h, self._probs, self._max)

    def _softmax(self, h, out, scratch) -> np.ndarray:
        np.matmul(h, self.dense_kernel, out=out)  # (batch, vocab)
        out += self.dense_bias
        # The ufuncs' own reductions: np.max and np.sum add a Python layer.
        np.maximum.reduce(out, axis=-1, keepdims=True, out=scratch)
        out -= scratch
        np.exp(out, out=out)
        np.add.reduce(out, axis=-1, keepdims=True, out=scratch)
        out /= scratch
        return out

    @staticmethod
    def _run_layer(layer: _Layer, x: np.ndarray, hs: np.ndarray, live) -> None:
        """Steps `layer` through input projections `x` (batch, steps, gates * units),
        writing its outputs to `hs` (batch, steps, units); `live` (batch, steps)
        marks the steps that update each stream's state."""
        for t in range(x.shape[1]):
            np.copyto(layer.z, x[:, t])  # (batch, gates * units)
            if live is None or live[:, t].all():
                layer.update()
            else:
                kept = [s.copy() for s in layer.states()]
                layer.update()
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
            raise InputError(
                f"`ids` must have shape ({self.batch_size}, time >= 1). "
                f"Received: {ids.shape}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary_size):
            raise InputError(
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
                    x = layer.project(x)  # (batch, steps, gates * units)
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
