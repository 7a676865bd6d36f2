"""Stacked LSTMs trained as one loop over time, with a hand-written backward pass.

Stacked `keras.layers.LSTM` layers run one after the other, each its own loop,
and TensorFlow differentiates each loop step by step. `LSTMStack` runs every
layer in one `tf.while_loop` whose step `t` computes layer 1 at `t`, then layer
2 at `t` from it, and so on; layer 1's step `t + 1` does not depend on layer
2's step `t`, so TensorFlow may run them side by side. Its backward pass is
written by hand: per step and layer, the gate gradients times the transposed
recurrent kernel (and, above the first layer, times the transposed input
kernel, apart, for the layer below) and four small element-wise operations,
whose factors the forward pass computes as it goes (`_lstm_step`) and the
backward pass reads back step by step.
Above the first layer the input's product is apart from the recurrent one in
the forward pass too: only the recurrent one is on the layer's chain over
time, so two layers share two cores more evenly (1.12x to 1.18x as fast as one
product of `[h_below, h]` with `[W; U]`, docs/quality.md). Each weight's
gradient is two products, one per half of the sequence (`sequence_product`).
On a 2-core CPU, with two operations at a time on one thread each
(`charlstm.training.threads`), this trains 3 x LSTM(512) 1.34x to 1.37x as
fast as Keras's layers, 2 x LSTM(512) 1.33x to 1.52x and 2 x LSTM(224) 1.20x
to 1.24x, at 0.73 to 0.81, 0.74 to 0.89 and 0.58 to 0.61 of the sustained
matrix-product bound (three runs, docs/quality.md).

The layer holds one `keras.layers.LSTMCell` per layer (named `lstm_0`,
`lstm_1`, ...), so its weights, their initializers and their `get_weights()`
order are those of the same number of stacked `keras.layers.LSTM` layers: the
two models exchange weights with `set_weights`. Dropout between the layers
(not inside them) is applied in the loop. It is TensorFlow-only, tanh/sigmoid,
without masking; `charlstm.model.build.build_model` uses it for training when
`ModelConfig.fast_path` is set and only dropout sits between the layers.

With `layer_norm_cell=True` the layers are LN-LSTMs: one
`charlstm.model.ln_lstm.LayerNormLSTMCell` per layer (`ln_lstm_0`, ...), run
by `charlstm.model.ln_lstm.ln_lstm_stack_sequence`, the same loop and
hand-written backward pass with the normalisations inside; its weights are
those of stacked `charlstm.model.ln_lstm.LayerNormLSTM` layers.
"""

from __future__ import annotations

import keras
from keras.src.utils import tracking

from charlstm.model.ln_lstm import WEIGHT_NAMES, LayerNormLSTMCell
from charlstm.model.ln_lstm_stack import ln_lstm_stack_sequence
from charlstm.model.stack_ops import (
    gate_factors,
    recurrent_product,
    sequence_product,
    sequence_sum,
)
from charlstm.utils.checks import InputError


def _lstm_step(z, c):
    """One LSTM step from pre-activations `z` (batch, 4 * units), Keras gate
    order, and the state `c` before it: `(h, c, factors)`, with `factors` what
    the backward step needs of it.

    With dh and dc the gradients reaching h_t and c_t, one step backwards is

        dc' = dc + dh * to_c
        dz = [dc', dc', dc', dh] * to_z     # (batch, 4 * units), Keras gate order
        dc_before = dc' * f

    `factors` is `(to_c, to_z, f)`, the first two from `stack_ops.gate_factors`.
    Computed here, on tensors of one step, they are off the chain over time
    (nothing in the forward pass waits for them) and cost less than the same
    operations over the whole sequence after the loop (`charlstm.model.stack_ops`).
    """
    import tensorflow as tf

    i, f, g, o = tf.split(z, 4, axis=1)
    i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
    c_before, c = c, f * c + i * g
    tanh_c = tf.tanh(c)
    to_c, to_z = gate_factors(i, f, g, o, c_before, tanh_c)
    return o * tanh_c, c, (to_c, to_z, f)


def lstm_stack_sequence(xw, states, recurrent_kernel, kernels, biases, masks=()):
    """Runs stacked LSTMs over a sequence in one loop, with a hand-written gradient.

    Args:
        xw: (time, batch, 4 * units_0). The first layer's input projections,
            without its bias: time-major, as the loop reads them (the
            caller's transpose of its inputs is narrower than one of these).
        states: list of (h, c) per layer, each (batch, units_l).
        recurrent_kernel: list per layer of (units_l, 4 * units_l).
        kernels: list per layer above the first of (units_{i-1}, 4 * units_l).
        biases: list per layer of (4 * units_l,).
        masks: empty, or per layer above the first a dropout mask (time, batch,
            units_{i-1}) that multiplies the outputs of the layer below on
            their way up (0 or 1 / (1 - rate) for inverted dropout).

    Returns:
        (outputs (batch, time, units_top), [(h, c) per layer]).
    """
    import tensorflow as tf

    depth = len(states)
    flat_states = [s for pair in states for s in pair]
    masks = list(masks)
    if masks and len(masks) != depth - 1:
        raise InputError(
            f"`masks` must hold one mask per layer above the first ({depth - 1}). "
            f"Received: {len(masks)} masks"
        )
    if len(biases) != depth:
        raise InputError(
            f"`biases` must hold one bias per layer ({depth}). "
            f"Received: {len(biases)} biases"
        )

    @tf.custom_gradient
    def run(xw, *flat):
        h0 = list(flat[0 : 2 * depth : 2])
        c0 = list(flat[1 : 2 * depth : 2])
        u = list(flat[2 * depth : 3 * depth])
        w = [None] + list(flat[3 * depth : 4 * depth - 1])  # w[i]: into layer i
        b = list(flat[4 * depth - 1 : 5 * depth - 1])
        drop = [None] + list(flat[5 * depth - 1 :])  # drop[i]: into layer i
        xs = xw + b[0]  # (time, batch, 4 * units_0)
        steps = tf.shape(xs)[0]

        def arrays():
            return [tf.TensorArray(xw.dtype, size=steps) for _ in range(depth)]

        def forward(t, h, c, hs, factors):
            h, c, hs = list(h), list(c), list(hs)
            factors = [list(f) for f in factors]  # (to_c, to_z, f) per layer
            below = None
            for i in range(depth):
                if i == 0:
                    z = xs[t] + tf.matmul(h[0], u[0])
                else:
                    if masks:
                        below = below * drop[i][t]
                    # Two products: the input's is off the layer's chain over
                    # time, so it may run beside the recurrent one.
                    z = tf.matmul(below, w[i]) + b[i] + tf.matmul(h[i], u[i])
                h[i], c[i], step = _lstm_step(z, c[i])  # (batch, units_l)
                hs[i] = hs[i].write(t, h[i])
                for k in range(3):
                    factors[k][i] = factors[k][i].write(t, step[k])
                below = h[i]
            return t + 1, h, c, hs, factors

        start = (0, h0, c0, arrays(), [arrays() for _ in range(3)])
        _, h, c, hs, factors = tf.while_loop(lambda t, *_: t < steps, forward, start)
        hs = [a.stack() for a in hs]  # (time, batch, units_l) per layer
        # Per layer, what the backward loop reads step by step (not stacked:
        # reading a step back costs no copy): to_c, to_z, f.
        local = list(zip(*factors, strict=True))

        def grad(d_outputs, *d_states):
            d_top = tf.transpose(d_outputs, [1, 0, 2])  # (time, batch, units_top)
            d_final = [
                tf.zeros_like(s) if d is None else d
                for s, d in zip(flat[: 2 * depth], d_states, strict=True)
            ]  # (h, c) per layer, flat
            dh, dc = d_final[0::2], d_final[1::2]
            u_t = [tf.transpose(u[i]) for i in range(depth)]
            w_t = [None] + [tf.transpose(w[i]) for i in range(1, depth)]

            def backward(t, dh, dc, dzs):
                dh, dc, dzs = list(dh), list(dc), list(dzs)
                from_above = d_top[t]
                for i in reversed(range(depth)):
                    to_c, to_z, f = local[i]
                    dh_t = dh[i] + from_above  # (batch, units_l)
                    dc_t = dc[i] + dh_t * to_c.read(t)
                    dz = tf.concat([dc_t, dc_t, dc_t, dh_t], 1) * to_z.read(t)
                    dc[i] = dc_t * f.read(t)
                    dzs[i] = dzs[i].write(t, dz)
                    dh[i] = tf.matmul(dz, u_t[i])  # (batch, units_l)
                    if i:
                        from_above = tf.matmul(dz, w_t[i])  # (batch, units_below)
                        if masks:
                            from_above = from_above * drop[i][t]
                return t - 1, dh, dc, dzs

            start = (steps - 1, dh, dc, arrays())
            _, dh0, dc0, dzs = tf.while_loop(lambda t, *_: t >= 0, backward, start)
            dzs = [a.stack() for a in dzs]  # (time, batch, 4 * units_l)

            d_u = [recurrent_product(h0[i], hs[i], dzs[i]) for i in range(depth)]
            inputs = [None] + [
                hs[i - 1] * drop[i] if masks else hs[i - 1] for i in range(1, depth)
            ]  # what layer i read: (time, batch, units_{i-1})
            d_w = [sequence_product(inputs[i], dzs[i]) for i in range(1, depth)]
            d_b = [sequence_sum(dzs[i]) for i in range(depth)]
            d_flat = [x for pair in zip(dh0, dc0, strict=True) for x in pair]
            d_masks = [None] * len(masks)  # masks are constants
            return (
                dzs[0],
                *d_flat,
                *d_u,
                *d_w,
                *d_b,
                *d_masks,
            )

        final = [x for pair in zip(h, c, strict=True) for x in pair]
        return (tf.transpose(hs[-1], [1, 0, 2]), *final), grad

    # Snapshots: a stateful layer assigns its final states to the variables it
    # read the initial ones from, before the backward pass reads them.
    flat_states = [tf.identity(s) for s in flat_states]
    tensors = [tf.convert_to_tensor(v) for v in [*recurrent_kernel, *kernels, *biases]]
    outputs, *final = run(xw, *flat_states, *tensors, *masks)
    return outputs, [(final[2 * i], final[2 * i + 1]) for i in range(depth)]


@keras.saving.register_keras_serializable(package="charlstm")
class LSTMStack(keras.layers.Layer):
    """`num_layers` stacked LSTMs with `return_sequences=True`, run as one loop.

    Same weights (and `get_weights()` order) and results as
    `num_layers` stacked `keras.layers.LSTM(units, return_sequences=True)`
    layers; faster to train on a multi-core CPU (docs/benchmarks.md).

    Args:
        units: int. Units in every layer.
        num_layers: int. Number of stacked layers.
        stateful: bool. Whether the states carry over between batches (needs a
            fixed batch size).
        return_state: bool. Also return the final states, `[outputs, h_0, c_0,
            h_1, c_1, ...]`, as `keras.layers.LSTM(return_state=True)` does per
            layer; `call`'s `initial_state` takes the same flat list.
        dropout: float. Dropout rate in training on the outputs of every layer
            but the top one, on their way to the layer above (as a
            `keras.layers.Dropout` between stacked layers; put one after the
            stack for the top layer's outputs).
        seed: int or None. Seed of the dropout masks.
        kernel_regularizer, recurrent_regularizer: as for `keras.layers.LSTM`.
        layer_norm_cell: bool. LN-LSTM layers (`charlstm.model.ln_lstm`) instead
            of LSTMs: the weights and results of stacked `LayerNormLSTM` layers.

    Example:
    >>> stack = LSTMStack(8, num_layers=2)
    >>> stack(keras.ops.zeros((2, 5, 3))).shape  # (batch, time, units)
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        num_layers,
        stateful=False,
        dropout=0.0,
        seed=None,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        return_state=False,
        layer_norm_cell=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0 <= dropout < 1:
            raise InputError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout}"
            )
        if keras.backend.backend() != "tensorflow":
            raise InputError(
                f"`LSTMStack` needs the TensorFlow backend. "
                f"Received: backend={keras.backend.backend()!r}"
            )
        self.units = units
        self.num_layers = num_layers
        self.stateful = stateful
        self.return_state = return_state
        self.layer_norm_cell = layer_norm_cell
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if dropout else None
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        cell, prefix = keras.layers.LSTMCell, "lstm"
        if layer_norm_cell:
            cell, prefix = LayerNormLSTMCell, "ln_lstm"
        self.cells = [
            cell(
                units,
                kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                name=f"{prefix}_{i}",
            )
            for i in range(num_layers)
        ]
        self.states = None

    def build(self, input_shape):  # (batch, time, features)
        features = input_shape[-1]
        for cell in self.cells:
            cell.build((input_shape[0], features))
            features = self.units
        if self.stateful:
            if input_shape[0] is None:
                raise InputError(
                    "a stateful `LSTMStack` needs a fixed batch size. "
                    f"Received: input_shape={input_shape}"
                )
            self._create_state_variables(input_shape[0])

    @tracking.no_automatic_dependency_tracking
    def _create_state_variables(self, batch_size):
        # Untracked, as in `keras.layers.RNN`: states are not weights.
        with keras.name_scope(self.name, caller=self):
            self.states = [
                keras.Variable(
                    keras.ops.zeros((batch_size, self.units)),
                    trainable=False,
                    dtype=self.variable_dtype,
                    name="rnn_state",
                )
                for _ in range(2 * self.num_layers)
            ]

    def reset_state(self):
        for state in self.states or []:
            state.assign(keras.ops.zeros_like(state))

    def call(self, inputs, initial_state=None, training=False):
        """inputs: (batch, time, features); initial_state: None or the flat
        list [h_0, c_0, h_1, ...], each (batch, units)."""
        import tensorflow as tf

        batch = tf.shape(inputs)[0]
        masks = []
        if training and self.dropout:
            shape = (tf.shape(inputs)[1], batch, self.units)  # time-major
            ones = tf.ones(shape, dtype=self.compute_dtype)
            masks = [
                keras.random.dropout(ones, self.dropout, seed=self.seed_generator)
                for _ in range(self.num_layers - 1)
            ]
        if initial_state is not None:
            flat = [tf.cast(s, self.compute_dtype) for s in initial_state]
        elif self.stateful:
            flat = [tf.cast(s.value, self.compute_dtype) for s in self.states]
        else:
            zeros = tf.zeros([batch, self.units], dtype=self.compute_dtype)
            flat = [zeros] * (2 * self.num_layers)
        first = self.cells[0]
        states = [(flat[2 * i], flat[2 * i + 1]) for i in range(self.num_layers)]
        if self.layer_norm_cell:
            outputs, final = ln_lstm_stack_sequence(
                first.input_gates(tf.transpose(inputs, [1, 0, 2])),  # (t, b, 4 * u)
                states,
                [[getattr(c, name) for name in WEIGHT_NAMES] for c in self.cells],
                masks,
            )  # outputs: (batch, time, units)
        else:
            # (time, batch, 4 * units)
            xw = keras.ops.matmul(tf.transpose(inputs, [1, 0, 2]), first.kernel)
            outputs, final = lstm_stack_sequence(
                xw,
                states,
                [cell.recurrent_kernel for cell in self.cells],
                [cell.kernel for cell in self.cells[1:]],
                [cell.bias for cell in self.cells],
                masks,
            )  # outputs: (batch, time, units)
        if self.stateful:
            for variable, value in zip(
                self.states, [s for p in final for s in p], strict=True
            ):
                variable.assign(tf.cast(value, variable.dtype))
        if self.return_state:
            return [outputs, *[s for pair in final for s in pair]]
        return outputs

    def compute_output_shape(self, inputs_shape, initial_state_shape=None):
        outputs = (*inputs_shape[:-1], self.units)
        if self.return_state:
            state = (inputs_shape[0], self.units)
            return [outputs] + [state] * (2 * self.num_layers)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "stateful": self.stateful,
                "return_state": self.return_state,
                "layer_norm_cell": self.layer_norm_cell,
                "dropout": self.dropout,
                "seed": self.seed,
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "recurrent_regularizer": keras.regularizers.serialize(
                    self.recurrent_regularizer
                ),
            }
        )
        return config
