"""What the fused recurrent stacks (`lstm_stack`, `ln_lstm_stack`) share: the
factors of an LSTM step's backward pass, and the sums over a whole sequence
that their weights' gradients are.

A CPU spends a fused stack's time on its matrix products and on the
element-wise work around them; these keep the second small. Per step, the
backward pass's factors are computed in the forward pass from tensors of one
step, which stay in a core's cache; computed over the whole sequence after the
loop, with the changes below, the stacks took 1.10x to 1.15x as long
(docs/quality.md). Sums over time and batch are matrix products, which a CPU
runs several times as fast as a reduction.
"""

from __future__ import annotations


def gate_factors(i, f, g, o, c_before, tanh_c):
    """The factors of one LSTM step's backward pass, Keras gate order:
    `(to_tanh, to_z)`.

    With the gates `i, f, g, o` (batch, units), the cell before the step and
    `tanh_c`, the tanh that `o` multiplies into h, and dh the gradient reaching
    h: `dh * to_tanh` (batch, units) reaches tanh's argument; with dc' the
    gradient reaching the new cell, `dz = [dc', dc', dc', dh] * to_z` reaches the
    pre-activations (batch, 4 * units).
    """
    import tensorflow as tf

    to_tanh = o * (1 - tanh_c * tanh_c)  # (batch, units)
    return to_tanh, tf.concat(
        [
            g * i * (1 - i),
            c_before * f * (1 - f),
            i * (1 - g * g),
            tanh_c * o * (1 - o),
        ],
        -1,
    )  # (batch, 4 * units)


def _rows(x):  # (time, batch, features) -> (time * batch, features)
    import tensorflow as tf

    return tf.reshape(x, [-1, tf.shape(x)[-1]])


def sequence_product(a, b):
    """The sum over time and batch of a^T b: (time, batch, m), (time, batch, n)
    -> (m, n). Two products, one per half of the sequence, which TensorFlow runs
    side by side where it runs two operations at a time on one thread each
    (`charlstm.training.threads`); one product would use one core."""
    import tensorflow as tf

    half = tf.shape(a)[0] // 2
    return tf.matmul(_rows(a[:half]), _rows(b[:half]), transpose_a=True) + tf.matmul(
        _rows(a[half:]), _rows(b[half:]), transpose_a=True
    )


def recurrent_product(h0, hs, d):
    """The sum over time and batch of h_{t-1}^T d_t, with h_{-1} = h0: a
    recurrent kernel's gradient. h0: (batch, m); hs, d: (time, batch, .) ->
    (m, n). Without a copy of `hs` shifted by one step."""
    import tensorflow as tf

    return tf.matmul(h0, d[0], transpose_a=True) + sequence_product(hs[:-1], d[1:])


def sequence_sum(x):
    """The sum over time and batch of x: (time, batch, n) -> (n,). As a product
    `ones @ x`, six times as fast on a CPU as `tf.reduce_sum(x, [0, 1])` at
    (100, 64, 2048) (docs/quality.md)."""
    import tensorflow as tf

    rows = _rows(x)  # (time * batch, n)
    return tf.matmul(tf.ones([1, tf.shape(rows)[0]], x.dtype), rows)[0]
