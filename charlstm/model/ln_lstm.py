"""LN-LSTM: an LSTM with layer normalisation inside the cell.

The layer-normalised LSTM of Ba, Kiros and Hinton (2016), "Layer Normalization"
(arXiv:1607.06450). With Keras's gate order (i, f, c, o) in the columns:

    z  = LN(x W; g_x, b_x) + LN(h R; g_h, b_h) + b    # (batch, 4 * units)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
    c' = f * c + i * tanh(z_c)
    h' = o * tanh(LN(c'; g_c, b_c))

    LN(a; g, b) = g * (a - mean(a)) / sqrt(var(a) + 1e-5) + b

over the feature axis: the 4 * units gate pre-activations of each projection
jointly (as in the paper), the units of c. Epsilon is 1e-5 (`EPSILON`; Keras's
`LayerNormalization` defaults to 1e-3). The shifts b_x, b_h and b add up, as in
the paper: they are one bias in three weights.

- `LayerNormLSTMCell` and `LayerNormLSTM` (a `keras.layers.RNN` of the cell, with
  the arguments of `keras.layers.LSTM` that charlstm uses): the Keras layer of
  inference models, and of training models off the fused stack.
- Stacked LN-LSTMs as one loop with a hand-written backward pass are in
  `charlstm.model.ln_lstm_stack`, which
  `charlstm.model.lstm_stack.LSTMStack(layer_norm_cell=True)` runs; its weights
  are the cells', in the same `get_weights()` order.
"""

from __future__ import annotations

import keras
from keras import ops

from charlstm.utils.checks import InputError

EPSILON = 1e-5  # of every layer normalisation in the cell
# The cell's weights, in the order it creates them (its `get_weights()` order).
WEIGHT_NAMES = (
    "kernel",  # (features, 4 * units)
    "recurrent_kernel",  # (units, 4 * units)
    "bias",  # (4 * units,)
    "input_gamma",  # (4 * units,) g_x
    "input_beta",  # (4 * units,) b_x
    "recurrent_gamma",  # (4 * units,) g_h
    "recurrent_beta",  # (4 * units,) b_h
    "cell_gamma",  # (units,) g_c
    "cell_beta",  # (units,) b_c
)


def layer_norm(a, gamma, beta, epsilon=EPSILON):
    """`gamma * (a - mean) / sqrt(var + epsilon) + beta` over the last axis."""
    centered = a - ops.mean(a, axis=-1, keepdims=True)
    variance = ops.mean(centered * centered, axis=-1, keepdims=True)
    return centered * ops.rsqrt(variance + epsilon) * gamma + beta


def _unit_forget_bias(shape, dtype=None):
    """Zeros, but ones for the forget gate (as `keras.layers.LSTM`)."""
    units = shape[0] // 4
    return ops.concatenate(
        [
            ops.zeros((units,), dtype),
            ops.ones((units,), dtype),
            ops.zeros((2 * units,), dtype),
        ]
    )


@keras.saving.register_keras_serializable(package="charlstm")
class LayerNormLSTMCell(keras.layers.Layer):
    """One step of an LN-LSTM (see the module docstring for the equations).

    Its weights are `WEIGHT_NAMES`, created in that order: the kernels and bias
    of `keras.layers.LSTMCell` (same initializers, a forget-gate bias of one),
    then the gains (ones) and shifts (zeros) of the three normalisations.

    Args:
        units: int. Width of the state.
        epsilon: float. Added to the variance in every normalisation.
        kernel_regularizer, recurrent_regularizer: as for `keras.layers.LSTMCell`.

    Example:
    >>> layer = keras.layers.RNN(LayerNormLSTMCell(8), return_sequences=True)
    >>> layer(keras.ops.zeros((2, 5, 3))).shape  # (batch, time, units)
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        epsilon=EPSILON,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise InputError(
                f"`units` must be an integer >= 1. Received: units={units!r}"
            )
        self.units = units
        self.epsilon = epsilon
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):  # (batch, features)
        gates = 4 * self.units
        shapes = {
            "kernel": (input_shape[-1], gates),
            "recurrent_kernel": (self.units, gates),
            "bias": (gates,),
            "cell_gamma": (self.units,),
            "cell_beta": (self.units,),
        }
        initializers = {
            "kernel": "glorot_uniform",
            "recurrent_kernel": "orthogonal",
            "bias": _unit_forget_bias,
        }
        regularizers = {
            "kernel": self.kernel_regularizer,
            "recurrent_kernel": self.recurrent_regularizer,
        }
        for name in WEIGHT_NAMES:
            default = "ones" if name.endswith("gamma") else "zeros"
            weight = self.add_weight(
                shape=shapes.get(name, (gates,)),
                name=name,
                initializer=initializers.get(name, default),
                regularizer=regularizers.get(name),
            )
            setattr(self, name, weight)
        super().build(input_shape)

    def input_gates(self, inputs):
        """`LN(x W; g_x, b_x) + b`: the part of z that does not depend on h.
        inputs: (..., features) -> (..., 4 * units)."""
        projected = ops.matmul(inputs, self.kernel)  # (..., 4 * units)
        normalized = layer_norm(
            projected, self.input_gamma, self.input_beta, self.epsilon
        )
        return normalized + self.bias

    def call(self, inputs, states, training=False):
        h, c = states  # (batch, units) each
        recurrent = layer_norm(
            ops.matmul(h, self.recurrent_kernel),
            self.recurrent_gamma,
            self.recurrent_beta,
            self.epsilon,
        )
        z = self.input_gates(inputs) + recurrent  # (batch, 4 * units)
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        cell = layer_norm(c, self.cell_gamma, self.cell_beta, self.epsilon)
        h = ops.sigmoid(o) * ops.tanh(cell)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "epsilon": self.epsilon,
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "recurrent_regularizer": keras.regularizers.serialize(
                    self.recurrent_regularizer
                ),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="charlstm")
class LayerNormLSTM(keras.layers.RNN):
    """An LN-LSTM layer: `keras.layers.RNN` of one `LayerNormLSTMCell`.

    Takes the arguments of `keras.layers.LSTM` that charlstm's models use; its
    `get_weights()` are the cell's (`WEIGHT_NAMES`).

    Args:
        units: int. Width of the state and the outputs.
        epsilon: float. Added to the variance in every normalisation.
        kernel_regularizer, recurrent_regularizer: as for `keras.layers.LSTM`.
        **kwargs: `keras.layers.RNN`'s (`return_sequences`, `return_state`,
            `stateful`, `name`, ...).

    Example:
    >>> layer = LayerNormLSTM(8, return_sequences=True)
    >>> layer(keras.ops.zeros((2, 5, 3))).shape  # (batch, time, units)
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        epsilon=EPSILON,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        **kwargs,
    ):
        cell = LayerNormLSTMCell(
            units,
            epsilon=epsilon,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="ln_lstm_cell",
        )
        super().__init__(cell, **kwargs)
        self.units = units
        self.epsilon = epsilon
        self.kernel_regularizer = cell.kernel_regularizer
        self.recurrent_regularizer = cell.recurrent_regularizer

    def get_config(self):
        config = super().get_config()
        del config["cell"]  # rebuilt from the arguments below
        config.update(
            {
                "units": self.units,
                "epsilon": self.epsilon,
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "recurrent_regularizer": keras.regularizers.serialize(
                    self.recurrent_regularizer
                ),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
