"""Truncated BPTT in numpy for a run's LSTM stack: the forward pass of a segment
with what the backward pass needs, and the gradients of its summed NLL (used by
dynamic evaluation, `charlstm.eval.dynamic`).

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

Neither TensorFlow nor Keras is imported here.
"""

from __future__ import annotations

import numpy as np

from charlstm.infer.engine_weights import EngineWeights
from charlstm.infer.generator import TextGenerator
from charlstm.utils.checks import InputError


def lstm_weights(generator) -> list[np.ndarray]:
    """The weights of an LSTM run's generator in Keras's order, as float64."""
    if not isinstance(generator, TextGenerator):
        raise InputError(
            "dynamic evaluation supports LSTM runs; Received: "
            f"generator={type(generator).__name__}"
        )
    config = generator.config
    if config.cell != "lstm":
        raise InputError(
            f"dynamic evaluation supports LSTM runs; Received: cell={config.cell!r}"
        )
    weights = EngineWeights(config, generator.weights)  # checks shapes and layout
    return [a.astype(np.float64) for a in weights.arrays]


def _unpack(params, embedding: bool):
    """(embedding or None, [(kernel, recurrent, bias)] per layer, dense, bias)."""
    table = params[0] if embedding else None
    rest = params[1:] if embedding else params
    layers = [tuple(rest[i : i + 3]) for i in range(0, len(rest) - 2, 3)]
    return table, layers, rest[-2], rest[-1]


def zero_state(params, embedding: bool, batch: int) -> list:
    """(h, c) per layer, zero, each (batch, units)."""
    units = [recurrent.shape[0] for _, recurrent, _ in _unpack(params, embedding)[1]]
    return [(np.zeros((batch, u)), np.zeros((batch, u))) for u in units]


def forward(params, embedding: bool, inputs, targets, state):
    """The NLL of `targets` (batch, time) read from `inputs` (batch, time) after
    `state`; returns (nll (batch, time), final state, cache for `backward`)."""
    table, layers, dense, dense_bias = _unpack(params, embedding)
    batch, time = inputs.shape
    x = table[inputs] if embedding else None  # (batch, time, features)
    caches, final = [], []
    for (kernel, recurrent, bias), (h0, c0) in zip(layers, state, strict=True):
        u = recurrent.shape[0]
        # One-hot input: x K is the rows of K at the ids.
        zx = (kernel[inputs] if x is None else x @ kernel) + bias  # (batch, time, 4u)
        hs = np.empty((batch, time + 1, u))  # h_0 .. h_time
        cs = np.empty((batch, time + 1, u))
        hs[:, 0], cs[:, 0] = h0, c0
        gates = np.empty((batch, time, 4 * u))  # activated (i, f, g, o)
        scale = np.r_[np.full(2 * u, 0.5), np.ones(u), np.full(u, 0.5)]
        for t in range(time):
            a = gates[:, t]
            np.tanh((zx[:, t] + hs[:, t] @ recurrent) * scale, out=a)
            a[:, : 2 * u] = (
                0.5 + 0.5 * a[:, : 2 * u]
            )  # sigmoid(z) = (1 + tanh(z/2)) / 2
            a[:, 3 * u :] = 0.5 + 0.5 * a[:, 3 * u :]
            i, f, g, o = a[:, :u], a[:, u : 2 * u], a[:, 2 * u : 3 * u], a[:, 3 * u :]
            cs[:, t + 1] = f * cs[:, t] + i * g
            hs[:, t + 1] = o * np.tanh(cs[:, t + 1])
        caches.append((x, hs, cs, gates))
        final.append((hs[:, -1].copy(), cs[:, -1].copy()))
        x = hs[:, 1:]  # (batch, time, units)
    logits = x @ dense + dense_bias  # (batch, time, vocab)
    logits -= logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return nll, final, (inputs, targets, caches, np.exp(log_probs))


def backward(params, embedding: bool, cache) -> list[np.ndarray]:
    """The gradients of the summed NLL of `forward`'s segment, in `params`'s
    order; none flows into the initial state (truncated BPTT)."""
    inputs, targets, caches, probs = cache
    table, layers, dense, _ = _unpack(params, embedding)
    batch, time = inputs.shape
    dlogits = probs.copy()  # (batch, time, vocab)
    np.put_along_axis(
        dlogits,
        targets[..., None],
        np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1.0,
        axis=-1,
    )
    top = caches[-1][1][:, 1:]  # (batch, time, units)
    flat = dlogits.reshape(batch * time, -1)  # (batch * time, vocab)
    grads = [top.reshape(batch * time, -1).T @ flat, flat.sum(axis=0)]
    dx = dlogits @ dense.T  # (batch, time, units): into the top layer's h
    for layer in reversed(range(len(layers))):
        kernel, recurrent, _ = layers[layer]
        x, hs, cs, gates = caches[layer]
        u = recurrent.shape[0]
        i, f = gates[..., :u], gates[..., u : 2 * u]
        g, o = gates[..., 2 * u : 3 * u], gates[..., 3 * u :]
        tanh_c = np.tanh(cs[:, 1:])  # (batch, time, units)
        into_c = o * (1 - tanh_c**2)  # dc_t += dh_t * into_c
        # dz_(i, f, c) = dc_t * by_c; dz_o = dh_t * by_h
        by_c = np.stack([g * i * (1 - i), cs[:, :-1] * f * (1 - f), i * (1 - g**2)], 2)
        by_h = tanh_c * o * (1 - o)  # (batch, time, units)
        dz = np.empty_like(gates)  # (batch, time, 4u)
        dz_c = dz[..., : 3 * u].reshape(batch, time, 3, u)  # a view
        dh_next, dc = np.zeros((batch, u)), np.zeros((batch, u))
        for t in reversed(range(time)):
            dh = dx[:, t] + dh_next
            dc = dc + dh * into_c[:, t]
            dz_c[:, t] = dc[:, None] * by_c[:, t]
            dz[:, t, 3 * u :] = dh * by_h[:, t]
            dc = dc * f[:, t]  # into c_{t-1}
            dh_next = dz[:, t] @ recurrent.T
        flat = dz.reshape(batch * time, 4 * u)  # (batch * time, 4u)
        d_recurrent = hs[:, :-1].reshape(batch * time, u).T @ flat
        if x is None:  # one-hot: the ids pick kernel rows
            d_kernel = np.zeros_like(kernel)
            np.add.at(d_kernel, inputs.ravel(), flat)
        else:
            d_kernel = x.reshape(batch * time, -1).T @ flat
        grads[:0] = [d_kernel, d_recurrent, flat.sum(axis=0)]
        if layer or embedding:
            dx = dz @ kernel.T  # (batch, time, features): into the input
    if embedding:
        d_table = np.zeros_like(table)
        np.add.at(d_table, inputs.ravel(), dx.reshape(batch * time, -1))
        grads.insert(0, d_table)
    return grads
