"""Truncated BPTT in numpy for a run's LSTM or LN-LSTM stack: the forward pass of
a segment with what the backward pass needs, and the gradients of its summed
NLL (used by dynamic evaluation, `charlstm.eval.dynamic`).

The forward and backward passes are numpy's, in float64, on the weights in
Keras's order (`EngineWeights`): an LSTM stack (Keras gate order i, f, c, o)
fed one-hot ids or an embedding, then a Dense softmax. Per layer and step:

    z_t = x_t K + h_{t-1} R + b                        (batch, 4 units)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_c)
    c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)
    p_t = softmax(h_t W + d);    nll_t = -log p_t[y_t]  (top layer's h_t)

and backwards, from dnll/dlogits = p_t - onehot(y_t), with dh_t the gradient
reaching h_t from the layer above and from step t + 1:

    dc_t = dc_{t+1} * f_{t+1} + dh_t * o * (1 - tanh(c_t)^2)
    dz_i = dc_t * g * i (1 - i);    dz_f = dc_t * c_{t-1} * f (1 - f)
    dz_c = dc_t * i * (1 - g^2);    dz_o = dh_t * tanh(c_t) * o (1 - o)
    dh_{t-1} += dz_t R^T;  dx_t = dz_t K^T;  dK = Σ x_t^T dz_t,
    dR = Σ h_{t-1}^T dz_t,  db = Σ dz_t

An LN-LSTM layer (`charlstm.model.ln_lstm`) normalises x K, h R and c_t:

    z_t = LN(x_t K; g_x, b_x) + LN(h_{t-1} R; g_h, b_h) + b
    h_t = o * tanh(y_t),   y_t = LN(c_t; g_c, b_c)

and its backward pass goes through each normalisation with
N'(d) = (d - mean(d) - â mean(d â)) / sigma, â the normalised value:

    dy_t = dh_t * o * (1 - tanh(y_t)^2);   dc_t += N'(dy_t g_c)
    dz_o = dh_t * tanh(y_t) * o (1 - o)    (the other gates as above)
    d(h R) = N'(dz_t g_h);  d(x K) = N'(dz_t g_x);  db = db_x = db_h = Σ dz_t
    dg_x = Σ dz_t x̂_t,  dg_h = Σ dz_t ĥ_t,  dg_c = Σ dy_t ĉ_t,  db_c = Σ dy_t

Neither TensorFlow nor Keras is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charlstm.infer.engine_weights import EngineWeights
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import layer_norm
from charlstm.utils.checks import InputError

CELLS = ("lstm", "ln_lstm")  # what these passes run


@dataclass(frozen=True)
class Layout:
    """How a run's weights list is laid out: an embedding table first or not,
    and LSTM (3 weights per layer) or LN-LSTM (9) layers."""

    embedding: bool = False
    layer_norm: bool = False

    @classmethod
    def of(cls, config) -> Layout:
        """The layout of a `ModelConfig`."""
        return cls(config.input_encoding == "embedding", config.cell == "ln_lstm")


def lstm_weights(generator) -> list[np.ndarray]:
    """The weights of an LSTM or LN-LSTM run's generator in Keras's order, as
    float64; the layout is `Layout.of(generator.config)`."""
    if not isinstance(generator, TextGenerator):
        raise InputError(
            "dynamic evaluation supports LSTM and LN-LSTM runs; Received: "
            f"generator={type(generator).__name__}"
        )
    config = generator.config
    if config.cell not in CELLS:
        raise InputError(
            "dynamic evaluation supports LSTM and LN-LSTM runs; Received: "
            f"cell={config.cell!r}"
        )
    weights = EngineWeights(config, generator.weights)  # checks shapes and layout
    return [a.astype(np.float64) for a in weights.arrays]


def _unpack(params, layout: Layout):
    """(embedding or None, [weights of a layer] per layer, dense, bias)."""
    table = params[0] if layout.embedding else None
    rest = params[1:] if layout.embedding else params
    n = 9 if layout.layer_norm else 3
    layers = [tuple(rest[i : i + n]) for i in range(0, len(rest) - 2, n)]
    return table, layers, rest[-2], rest[-1]


def zero_state(params, layout: Layout, batch: int) -> list:
    """(h, c) per layer, zero, each (batch, units)."""
    units = [layer[1].shape[0] for layer in _unpack(params, layout)[1]]
    return [(np.zeros((batch, u)), np.zeros((batch, u))) for u in units]


def _normalize_backward(d, normalized, inverse):
    """The gradient reaching `a` from `d` reaching `(a - mean) / sigma`."""
    mean = d.mean(axis=-1, keepdims=True)
    along = (d * normalized).mean(axis=-1, keepdims=True)
    return inverse * (d - mean - normalized * along)


def _halves(units: int) -> np.ndarray:
    """(4 * units,): 0.5 for the sigmoid gates i, f, o, 1 for g (`_activate`)."""
    return np.r_[np.full(2 * units, 0.5), np.ones(units), np.full(units, 0.5)]


def _activate(z, halves, out):
    """(i, f, g, o) of pre-activations z (batch, 4u) in Keras's order, into `out`;
    `halves` is `_halves(u)`."""
    u = z.shape[-1] // 4
    np.tanh(z * halves, out=out)
    out[:, : 2 * u] = 0.5 + 0.5 * out[:, : 2 * u]  # sigmoid(z) = (1 + tanh(z/2)) / 2
    out[:, 3 * u :] = 0.5 + 0.5 * out[:, 3 * u :]


def _layer_forward(weights, ids, x, h0, c0, normalise: bool):
    """One layer over the segment, from its input (the ids into a one-hot first
    layer, or `x` (batch, time, features)); returns (hs, cs, gates, normalised)
    with hs, cs (batch, time + 1, units) from the initial state on, and
    `normalised` the LN-LSTM's (â, 1/sigma) of x K, h R and c (else None)."""
    kernel, recurrent, bias = weights[:3]
    batch, time = ids.shape
    u = recurrent.shape[0]
    xk = kernel[ids] if x is None else x @ kernel  # (batch, time, 4u)
    hs = np.empty((batch, time + 1, u))  # h_0 .. h_time
    cs = np.empty((batch, time + 1, u))
    hs[:, 0], cs[:, 0] = h0, c0
    gates = np.empty((batch, time, 4 * u))  # activated (i, f, g, o)
    halves = _halves(u)
    if not normalise:
        zx = xk + bias
        for t in range(time):
            _activate(zx[:, t] + hs[:, t] @ recurrent, halves, gates[:, t])
            i, g = gates[:, t, :u], gates[:, t, 2 * u : 3 * u]
            f, o = gates[:, t, u : 2 * u], gates[:, t, 3 * u :]
            cs[:, t + 1] = f * cs[:, t] + i * g
            hs[:, t + 1] = o * np.tanh(cs[:, t + 1])
        return hs, cs, gates, None
    x_gain, x_shift, h_gain, h_shift, c_gain, c_shift = weights[3:]
    x_hat, x_inverse = layer_norm(xk)
    zx = x_hat * x_gain + x_shift + bias  # (batch, time, 4u)
    h_hat = np.empty_like(zx)
    h_inverse = np.empty((batch, time, 1))
    c_hat = np.empty((batch, time, u))
    c_inverse = np.empty((batch, time, 1))
    for t in range(time):
        h_hat[:, t], h_inverse[:, t] = layer_norm(hs[:, t] @ recurrent)
        _activate(zx[:, t] + h_hat[:, t] * h_gain + h_shift, halves, gates[:, t])
        i, g = gates[:, t, :u], gates[:, t, 2 * u : 3 * u]
        f, o = gates[:, t, u : 2 * u], gates[:, t, 3 * u :]
        cs[:, t + 1] = f * cs[:, t] + i * g
        c_hat[:, t], c_inverse[:, t] = layer_norm(cs[:, t + 1])
        hs[:, t + 1] = o * np.tanh(c_hat[:, t] * c_gain + c_shift)
    normalised = ((x_hat, x_inverse), (h_hat, h_inverse), (c_hat, c_inverse))
    return hs, cs, gates, normalised


def forward(params, layout: Layout, inputs, targets, state):
    """The NLL of `targets` (batch, time) read from `inputs` (batch, time) after
    `state`; returns (nll (batch, time), final state, cache for `backward`)."""
    table, layers, dense, dense_bias = _unpack(params, layout)
    x = table[inputs] if layout.embedding else None  # (batch, time, features)
    caches, final = [], []
    for weights, (h0, c0) in zip(layers, state, strict=True):
        hs, cs, gates, normalised = _layer_forward(
            weights, inputs, x, h0, c0, layout.layer_norm
        )
        caches.append((x, hs, cs, gates, normalised))
        final.append((hs[:, -1].copy(), cs[:, -1].copy()))
        x = hs[:, 1:]  # (batch, time, units)
    logits = x @ dense + dense_bias  # (batch, time, vocab)
    logits -= logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return nll, final, (inputs, targets, caches, np.exp(log_probs))


def _sum_outer(a, b):
    """Σ over batch and time of a^T b: (batch, time, m), (batch, time, n) -> (m, n)."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


def _layer_backward(weights, cache, inputs, dx, into_input: bool):
    """The gradients of one layer's weights (in its order) from `dx` (batch,
    time, units) reaching its outputs h_1 .. h_time, and the gradient reaching
    its input (None unless `into_input`)."""
    x, hs, cs, gates, normalised = cache
    kernel, recurrent = weights[:2]
    batch, time = inputs.shape
    u = recurrent.shape[0]
    i, f = gates[..., :u], gates[..., u : 2 * u]
    g, o = gates[..., 2 * u : 3 * u], gates[..., 3 * u :]
    if normalised is None:
        tanh_y = np.tanh(cs[:, 1:])  # (batch, time, units)
        into_c = o * (1 - tanh_y**2)  # dc_t += dh_t * into_c
    else:
        (x_hat, x_inverse), (h_hat, h_inverse), (c_hat, c_inverse) = normalised
        c_gain, c_shift = weights[7], weights[8]
        tanh_y = np.tanh(c_hat * c_gain + c_shift)  # (batch, time, units)
        into_y = o * (1 - tanh_y**2)  # dy_t = dh_t * into_y
        h_gain = weights[5]
    # dz_(i, f, c) = dc_t * by_c; dz_o = dh_t * by_h
    by_c = np.stack([g * i * (1 - i), cs[:, :-1] * f * (1 - f), i * (1 - g**2)], 2)
    by_h = tanh_y * o * (1 - o)  # (batch, time, units)
    dz = np.empty_like(gates)  # (batch, time, 4u)
    dz_c = dz[..., : 3 * u].reshape(batch, time, 3, u)  # a view
    d_hr = dz if normalised is None else np.empty_like(gates)  # into h R
    dy = None if normalised is None else np.empty((batch, time, u))  # into y_t
    dh_next, dc = np.zeros((batch, u)), np.zeros((batch, u))
    for t in reversed(range(time)):
        dh = dx[:, t] + dh_next
        if normalised is None:
            dc = dc + dh * into_c[:, t]
        else:
            dy[:, t] = dh * into_y[:, t]
            dc = dc + _normalize_backward(
                dy[:, t] * c_gain, c_hat[:, t], c_inverse[:, t]
            )
        dz_c[:, t] = dc[:, None] * by_c[:, t]
        dz[:, t, 3 * u :] = dh * by_h[:, t]
        dc = dc * f[:, t]  # into c_{t-1}
        if normalised is not None:
            d_hr[:, t] = _normalize_backward(
                dz[:, t] * h_gain, h_hat[:, t], h_inverse[:, t]
            )
        dh_next = d_hr[:, t] @ recurrent.T
    bias = dz.sum(axis=(0, 1))
    if normalised is None:
        d_xk = dz
        extra = []
    else:
        d_xk = _normalize_backward(dz * weights[3], x_hat, x_inverse)
        extra = [  # in WEIGHT_NAMES order: gains and shifts of x K, h R and c
            (dz * x_hat).sum(axis=(0, 1)),
            bias.copy(),  # three arrays: callers update gradients in place
            (dz * h_hat).sum(axis=(0, 1)),
            bias.copy(),
            (dy * c_hat).sum(axis=(0, 1)),
            dy.sum(axis=(0, 1)),
        ]
    d_recurrent = _sum_outer(hs[:, :-1], d_hr)
    if x is None:  # one-hot: the ids pick kernel rows
        d_kernel = np.zeros_like(kernel)
        np.add.at(d_kernel, inputs.ravel(), d_xk.reshape(batch * time, -1))
    else:
        d_kernel = _sum_outer(x, d_xk)
    grads = [d_kernel, d_recurrent, bias, *extra]
    return grads, (d_xk @ kernel.T if into_input else None)


def backward(params, layout: Layout, cache) -> list[np.ndarray]:
    """The gradients of the summed NLL of `forward`'s segment, in `params`'s
    order; none flows into the initial state (truncated BPTT)."""
    inputs, targets, caches, probs = cache
    table, layers, dense, _ = _unpack(params, layout)
    batch, time = inputs.shape
    dlogits = probs.copy()  # (batch, time, vocab)
    np.put_along_axis(
        dlogits,
        targets[..., None],
        np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1.0,
        axis=-1,
    )
    top = caches[-1][1][:, 1:]  # (batch, time, units)
    grads = [_sum_outer(top, dlogits), dlogits.sum(axis=(0, 1))]
    dx = dlogits @ dense.T  # (batch, time, units): into the top layer's h
    for layer in reversed(range(len(layers))):
        layer_grads, dx = _layer_backward(
            layers[layer], caches[layer], inputs, dx, bool(layer or layout.embedding)
        )
        grads[:0] = layer_grads
    if layout.embedding:
        d_table = np.zeros_like(table)
        np.add.at(d_table, inputs.ravel(), dx.reshape(batch * time, -1))
        grads.insert(0, d_table)
    return grads
