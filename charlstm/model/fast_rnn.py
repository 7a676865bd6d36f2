"""Recurrent layers whose input projections run as one matrix product per sequence.

Keras's `LSTM`, `GRU` and `SimpleRNN` on TensorFlow's CPU path compute, at every
time step, `x_t @ kernel + h_{t-1} @ recurrent_kernel`. Only the second product
depends on the previous step. `FastLSTM`, `FastGRU` and `FastSimpleRNN` compute
the first for the whole sequence at once,

    xw = x @ kernel + bias    # (batch, time, features) -> (batch, time, gates * units)

and run only `h @ recurrent_kernel` and the gate arithmetic in the sequential
loop. They are subclasses of the Keras layers with the same cell, so their weights
(`kernel`, `recurrent_kernel`, `bias`, same gate order), `get_weights()` order,
statefulness and saved configs are Keras's; only `inner_loop` differs. Input or
recurrent dropout inside the layer, which masks `x_t` anew per step in Keras,
falls back to Keras's own loop.

In training on TensorFlow, `FastLSTM` (tanh/sigmoid, no mask, forwards) also has
its own backward pass: it runs as a stack of one layer through
`charlstm.model.lstm_stack.lstm_stack_sequence`, whose backward loop runs only
`dz_t @ recurrent_kernel^T` per step, and the recurrent kernel's gradient is one
product over the whole sequence after it, instead of one per step.
"""

from __future__ import annotations

import keras
from keras import ops

from charlstm.model.lstm_stack import lstm_stack_sequence


def _lstm_step(cell):
    def step(xw_t, states):  # xw_t: (batch, 4 * units)
        h, c = states
        z = xw_t + ops.matmul(h, cell.recurrent_kernel)  # (batch, 4 * units)
        c, o = cell._compute_carry_and_output_fused(ops.split(z, 4, axis=-1), c)
        h = o * cell.activation(c)
        return h, [h, c]

    return step


def _gru_step(cell):
    units = cell.units

    def step(xw_t, states):  # xw_t: (batch, 3 * units)
        h = states[0]
        x_z, x_r, x_h = ops.split(xw_t, 3, axis=-1)
        if cell.reset_after:
            inner = ops.matmul(h, cell.recurrent_kernel)  # (batch, 3 * units)
            if cell.use_bias:
                inner = inner + cell.bias[1]
            z = cell.recurrent_activation(x_z + inner[:, :units])
            r = cell.recurrent_activation(x_r + inner[:, units : 2 * units])
            recurrent_h = r * inner[:, 2 * units :]
        else:
            inner = ops.matmul(h, cell.recurrent_kernel[:, : 2 * units])
            z = cell.recurrent_activation(x_z + inner[:, :units])
            r = cell.recurrent_activation(x_r + inner[:, units:])
            recurrent_h = ops.matmul(r * h, cell.recurrent_kernel[:, 2 * units :])
        hh = cell.activation(x_h + recurrent_h)
        h = z * h + (1 - z) * hh
        return h, [h]

    return step


def _simple_rnn_step(cell):
    def step(xw_t, states):  # xw_t: (batch, units)
        h = xw_t + ops.matmul(states[0], cell.recurrent_kernel)
        if cell.activation is not None:
            h = cell.activation(h)
        return h, [h]

    return step


def _input_bias(cell):
    """The bias added to the input projection (GRU keeps a second, recurrent one)."""
    if not cell.use_bias:
        return None
    if isinstance(cell, keras.layers.GRUCell) and cell.reset_after:
        return cell.bias[0]
    return cell.bias


def _own_gradient_applies(layer, mask, training) -> bool:
    cell = layer.cell
    return (
        training
        and keras.backend.backend() == "tensorflow"
        and isinstance(cell, keras.layers.LSTMCell)
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and mask is None
        and not layer.go_backwards
        and not layer.unroll
    )


class _ProjectedLoop:
    """Mixin: `inner_loop` with the input projections hoisted out of the loop."""

    _make_step = None  # cell -> step(xw_t, states) -> (output, new_states)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if training and (cell.dropout or cell.recurrent_dropout):
            return super().inner_loop(sequences, initial_state, mask, training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        bias = _input_bias(cell)
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if _own_gradient_applies(self, mask, training):
            # A stack of one: LSTMStack's loop and hand-written gradient.
            h0, c0 = initial_state
            xw = ops.matmul(ops.transpose(sequences, [1, 0, 2]), cell.kernel)
            outputs, [(h, c)] = lstm_stack_sequence(
                xw,  # (time, batch, 4 * units)
                [(h0, c0)],
                [cell.recurrent_kernel],
                [],
                [ops.zeros(xw.shape[-1]) if bias is None else bias],
            )
            return h, outputs, [h, c]
        xw = ops.matmul(sequences, cell.kernel)  # (batch, time, gates * units)
        if bias is not None:
            xw = xw + bias
        return keras.src.backend.rnn(
            type(self)._make_step(cell),
            xw,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )


@keras.saving.register_keras_serializable(package="charlstm")
class FastLSTM(_ProjectedLoop, keras.layers.LSTM):
    """`keras.layers.LSTM` with the input projections computed per sequence.

    Same arguments, weights and results as `keras.layers.LSTM`; trains faster on
    CPU when the layer is wide (docs/benchmarks.md).

    Example:
    >>> layer = FastLSTM(8, return_sequences=True)
    """

    _make_step = staticmethod(_lstm_step)


@keras.saving.register_keras_serializable(package="charlstm")
class FastGRU(_ProjectedLoop, keras.layers.GRU):
    """`keras.layers.GRU` with the input projections computed per sequence."""

    _make_step = staticmethod(_gru_step)


@keras.saving.register_keras_serializable(package="charlstm")
class FastSimpleRNN(_ProjectedLoop, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` with the input projections computed per sequence."""

    _make_step = staticmethod(_simple_rnn_step)
