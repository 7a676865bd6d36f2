"""Stacked LN-LSTMs (`charlstm.model.ln_lstm`) trained as one loop over time with
a hand-written backward pass, as `charlstm.model.lstm_stack` does for LSTMs:
what `LSTMStack(layer_norm_cell=True)` runs. The equations are the cell's
(`charlstm.model.ln_lstm`); the layer normalisation's backward pass is
`(d - mean(d) - x̂ mean(d x̂)) / sigma`.
"""

from __future__ import annotations

from charlstm.model.ln_lstm import EPSILON, WEIGHT_NAMES
from charlstm.model.stack_ops import (
    gate_factors,
    recurrent_product,
    sequence_product,
    sequence_sum,
)
from charlstm.utils.checks import InputError


def _normalize(a, epsilon):
    """(a - mean) / sqrt(var + epsilon) over the last axis, and 1 / sqrt(var +
    epsilon) (..., 1): what the backward pass needs."""
    import tensorflow as tf

    centered = a - tf.reduce_mean(a, -1, keepdims=True)
    inverse = tf.math.rsqrt(
        tf.reduce_mean(centered * centered, -1, keepdims=True) + epsilon
    )
    return centered * inverse, inverse


def _normalize_backward(d, normalized, inverse):
    """The gradient reaching `a` from `d` reaching `(a - mean) / sigma`:
    `(d - mean(d) - normalized * mean(d * normalized)) / sigma`."""
    import tensorflow as tf

    mean = tf.reduce_mean(d, -1, keepdims=True)
    along = tf.reduce_mean(d * normalized, -1, keepdims=True)
    return inverse * (d - mean - normalized * along)


def ln_lstm_stack_sequence(xz, states, weights, masks=(), epsilon=EPSILON):
    """Runs stacked LN-LSTMs over a sequence in one loop, with a hand-written gradient.

    Per step and layer the forward pass runs the recurrent product (and above
    the first layer the input product), three normalisations, the gates and the
    factors of the gates' derivatives (`charlstm.model.stack_ops.gate_factors`);
    the backward pass runs, in reverse, the gradients through the three
    normalisations and one product per kernel, reading what it needs of the
    forward pass step by step. The weights' gradients are computed over the
    whole sequence after the loop, as in `charlstm.model.lstm_stack`.

    Args:
        xz: (time, batch, 4 * units_0). The first layer's part of z that does
            not depend on h, `LN(x W; g_x, b_x) + b`
            (`LayerNormLSTMCell.input_gates`), computed for the whole sequence by
            the caller, time-major as the loop reads it.
        states: list of (h, c) per layer, each (batch, units_l).
        weights: list per layer of its cell's weights in `WEIGHT_NAMES` order;
            the first layer's kernel, bias, input_gamma and input_beta are in
            `xz` and not read.
        masks: empty, or per layer above the first a dropout mask (time, batch,
            units_{i-1}) that multiplies the outputs of the layer below on their
            way up (0 or 1 / (1 - rate) for inverted dropout).
        epsilon: float. Of every normalisation.

    Returns:
        (outputs (batch, time, units_top), [(h, c) per layer]).
    """
    import tensorflow as tf

    depth = len(states)
    masks = list(masks)
    if masks and len(masks) != depth - 1:
        raise InputError(
            f"`masks` must hold one mask per layer above the first ({depth - 1}). "
            f"Received: {len(masks)} masks"
        )
    if len(weights) != depth:
        raise InputError(
            f"`weights` must hold one list per layer ({depth}). "
            f"Received: {len(weights)}"
        )
    named = [dict(zip(WEIGHT_NAMES, layer, strict=True)) for layer in weights]
    recurrent_names = (
        "recurrent_kernel",
        "recurrent_gamma",
        "recurrent_beta",
        "cell_gamma",
        "cell_beta",
    )
    input_names = ("kernel", "input_gamma", "input_beta", "bias")
    recurrent_weights = [w[n] for w in named for n in recurrent_names]
    input_weights = [w[n] for w in named[1:] for n in input_names]
    flat_states = [s for pair in states for s in pair]

    @tf.custom_gradient
    def run(xz, *flat):
        h0 = list(flat[0 : 2 * depth : 2])
        c0 = list(flat[1 : 2 * depth : 2])
        rest = flat[2 * depth :]
        # rec[i]: (U, g_h, b_h, g_c, b_c); inp[i], above the first: (W, g_x, b_x, b)
        rec = [rest[5 * i : 5 * i + 5] for i in range(depth)]
        rest = rest[5 * depth :]
        inp = [None] + [rest[4 * i - 4 : 4 * i] for i in range(1, depth)]
        drop = [None] + list(rest[4 * (depth - 1) :])  # drop[i]: into layer i
        steps = tf.shape(xz)[0]  # xz: (time, batch, 4 * units_0)

        def arrays(count):
            return [tf.TensorArray(xz.dtype, size=steps) for _ in range(count)]

        # Saved per layer and step: h, h^ and 1/sigma_h, c^ and 1/sigma_c, and the
        # factors of the backward step (to_y, to_z, f; `gate_factors`); per layer
        # above the first: x^, 1/sigma_x.
        per_layer = ("h", "h_hat", "h_inv", "c_hat", "c_inv", "to_y", "to_z", "f")

        def forward(t, h, c, saved, above):
            h, c = list(h), list(c)
            saved = {k: list(v) for k, v in saved.items()}
            above = {k: list(v) for k, v in above.items()}
            below = None
            for i in range(depth):
                u, gh, bh, gc, bc = rec[i]
                if i == 0:
                    z = xz[t]
                else:
                    w, gx, bx, b = inp[i]
                    if masks:
                        below = below * drop[i][t]
                    x_hat, x_inv = _normalize(tf.matmul(below, w), epsilon)
                    z = x_hat * gx + bx + b  # (batch, 4 * units_l)
                    above["x_hat"][i - 1] = above["x_hat"][i - 1].write(t, x_hat)
                    above["x_inv"][i - 1] = above["x_inv"][i - 1].write(t, x_inv)
                h_hat, h_inv = _normalize(tf.matmul(h[i], u), epsilon)
                z = z + (h_hat * gh + bh)  # (batch, 4 * units_l)
                zi, zf, zc, zo = tf.split(z, 4, axis=1)  # Keras gate order
                gi, gf, go = tf.sigmoid(zi), tf.sigmoid(zf), tf.sigmoid(zo)
                gg = tf.tanh(zc)
                c_before, c[i] = c[i], gf * c[i] + gi * gg
                c_hat, c_inv = _normalize(c[i], epsilon)
                tanh_c = tf.tanh(c_hat * gc + bc)
                h[i] = go * tanh_c  # (batch, units_l)
                # dh * to_y reaches tanh's argument g_c c^ + b_c
                to_y, to_z = gate_factors(gi, gf, gg, go, c_before, tanh_c)
                values = {
                    "h": h[i],
                    "h_hat": h_hat,
                    "h_inv": h_inv,
                    "c_hat": c_hat,
                    "c_inv": c_inv,
                    "to_y": to_y,
                    "to_z": to_z,
                    "f": gf,
                }
                for key, value in values.items():
                    saved[key][i] = saved[key][i].write(t, value)
                below = h[i]
            return t + 1, h, c, saved, above

        start = (
            0,
            h0,
            c0,
            {key: arrays(depth) for key in per_layer},
            {key: arrays(depth - 1) for key in ("x_hat", "x_inv")},
        )
        _, h, c, saved, above = tf.while_loop(lambda t, *_: t < steps, forward, start)
        # The backward loop reads `saved` and `above` step by step (at no copy);
        # what the weights' gradients read whole is stacked: (time, batch, .).
        hs = [a.stack() for a in saved["h"]]
        h_hats = [a.stack() for a in saved["h_hat"]]
        c_hats = [a.stack() for a in saved["c_hat"]]
        x_hats = [None] + [a.stack() for a in above["x_hat"]]
        above = {k: [None, *v] for k, v in above.items()}  # above[k][i]: layer i

        def grad(d_outputs, *d_states):
            d_top = tf.transpose(d_outputs, [1, 0, 2])  # (time, batch, units_top)
            d_final = [
                tf.zeros_like(s) if d is None else d
                for s, d in zip(flat[: 2 * depth], d_states, strict=True)
            ]  # (h, c) per layer, flat
            dh, dc = d_final[0::2], d_final[1::2]
            u_t = [tf.transpose(rec[i][0]) for i in range(depth)]
            w_t = [None] + [tf.transpose(inp[i][0]) for i in range(1, depth)]

            def backward(t, dh, dc, out):
                dh, dc = list(dh), list(dc)
                out = {k: list(v) for k, v in out.items()}
                from_above = d_top[t]
                for i in reversed(range(depth)):
                    step = {k: v[i].read(t) for k, v in saved.items() if k != "h"}
                    dh_t = dh[i] + from_above  # (batch, units_l)
                    dy = dh_t * step["to_y"]  # reaching g_c c^ + b_c
                    dc_t = dc[i] + _normalize_backward(
                        dy * rec[i][3], step["c_hat"], step["c_inv"]
                    )
                    dz = tf.concat([dc_t, dc_t, dc_t, dh_t], 1) * step["to_z"]
                    dc[i] = dc_t * step["f"]
                    d_ah = _normalize_backward(
                        dz * rec[i][1], step["h_hat"], step["h_inv"]
                    )  # (batch, 4 * units_l): reaching h @ U
                    dh[i] = tf.matmul(d_ah, u_t[i])
                    out["dz"][i] = out["dz"][i].write(t, dz)
                    out["dy"][i] = out["dy"][i].write(t, dy)
                    out["d_ah"][i] = out["d_ah"][i].write(t, d_ah)
                    if i:
                        x_hat, x_inv = (above[k][i].read(t) for k in ("x_hat", "x_inv"))
                        d_ax = _normalize_backward(
                            dz * inp[i][1], x_hat, x_inv
                        )  # reaching below @ W
                        out["d_ax"][i - 1] = out["d_ax"][i - 1].write(t, d_ax)
                        from_above = tf.matmul(d_ax, w_t[i])  # (batch, units_{i-1})
                        if masks:
                            from_above = from_above * drop[i][t]
                return t - 1, dh, dc, out

            outs = {k: arrays(depth) for k in ("dz", "dy", "d_ah")}
            outs["d_ax"] = arrays(depth - 1)  # layers above the first
            start = (steps - 1, dh, dc, outs)
            _, dh0, dc0, outs = tf.while_loop(lambda t, *_: t >= 0, backward, start)
            # (time, batch, .) per layer
            dzs, dys, d_ahs = (
                [a.stack() for a in outs[k]] for k in ("dz", "dy", "d_ah")
            )
            d_axs = [None] + [a.stack() for a in outs["d_ax"]]
            d_rec = []
            for i in range(depth):
                d_rec += [
                    recurrent_product(h0[i], hs[i], d_ahs[i]),
                    sequence_sum(dzs[i] * h_hats[i]),
                    sequence_sum(dzs[i]),
                    sequence_sum(dys[i] * c_hats[i]),
                    sequence_sum(dys[i]),
                ]
            d_inp = []
            for i in range(1, depth):
                read = hs[i - 1] * drop[i] if masks else hs[i - 1]
                d_sum = d_rec[5 * i + 2]  # the sum of dz: b_h's, b_x's and b's gradient
                d_inp += [
                    sequence_product(read, d_axs[i]),
                    sequence_sum(dzs[i] * x_hats[i]),
                    d_sum,
                    d_sum,
                ]
            d_flat = [x for pair in zip(dh0, dc0, strict=True) for x in pair]
            return (
                dzs[0],
                *d_flat,
                *d_rec,
                *d_inp,
                *([None] * len(masks)),  # masks are constants
            )

        final = [x for pair in zip(h, c, strict=True) for x in pair]
        return (tf.transpose(hs[-1], [1, 0, 2]), *final), grad

    # Snapshots: a stateful layer assigns its final states to the variables it
    # read the initial ones from, before the backward pass reads them.
    flat_states = [tf.identity(s) for s in flat_states]
    tensors = [tf.convert_to_tensor(v) for v in [*recurrent_weights, *input_weights]]
    outputs, *final = run(xz, *flat_states, *tensors, *masks)
    return outputs, [(final[2 * i], final[2 * i + 1]) for i in range(depth)]
