"""LSTMStack matches stacked Keras LSTMs: weights, outputs, states, gradients."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import charlstm
from charlstm.model.build import (
    build_model,
    fuses_layers,
    recurrent_layers,
    reset_states,
)
from charlstm.model.lstm_stack import LSTMStack, lstm_stack_sequence
from tests.helpers import make_text, tiny_config, tiny_model_config


def _pair(num_layers, stateful=True, batch_size=3, features=5, units=4):
    """Stacked Keras LSTMs and an LSTMStack with the same random weights."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None, features), batch_size=batch_size)
    x = inputs
    for i in range(num_layers):
        x = keras.layers.LSTM(
            units, return_sequences=True, stateful=stateful, name=f"lstm_{i}"
        )(x)
    plain = keras.Model(inputs, x)
    inputs = keras.Input((None, features), batch_size=batch_size)
    stack = keras.Model(inputs, LSTMStack(units, num_layers, stateful=stateful)(inputs))
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in plain.weights]
    plain.set_weights(weights)
    stack.set_weights(weights)
    return plain, stack


def _inputs(count=2, batch_size=3, length=6, features=5, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(batch_size, length, features)).astype("float32")
        for _ in range(count)
    ]


def _states(model):
    layer = model.layers[-1]
    if isinstance(layer, LSTMStack):
        return [np.asarray(s) for s in layer.states]
    return [np.asarray(s) for layer in recurrent_layers(model) for s in layer.states]


def test_same_weights_in_the_same_order_as_stacked_lstms():
    plain, stack = _pair(3)
    assert [w.shape for w in stack.weights] == [w.shape for w in plain.weights]
    # The cells carry the stacked layers' names.
    assert [w.path.split("/", 1)[1] for w in stack.weights] == [
        f"lstm_{i}/{name}"
        for i in range(3)
        for name in ("kernel", "recurrent_kernel", "bias")
    ]
    # States are not weights (as in Keras's RNN layers).
    assert len(stack.weights) == 9


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_same_outputs_and_states_across_two_stateful_calls(num_layers):
    plain, stack = _pair(num_layers)
    for x in _inputs():
        np.testing.assert_allclose(stack(x).numpy(), plain(x).numpy(), atol=1e-5)
        for got, expected in zip(_states(stack), _states(plain), strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_same_gradients_for_weights_and_inputs_on_the_second_call(num_layers):
    plain, stack = _pair(num_layers)
    first, second = _inputs()
    # Weight the outputs so that every unit and step gets a different gradient.
    scale = np.random.default_rng(2).normal(size=second.shape[:2] + (4,))
    grads = []
    for model in (plain, stack):
        model(first)  # carries state into the second call
        x = tf.constant(second)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(model(x, training=True) * scale)
        grads.append(tape.gradient(loss, [*model.trainable_variables, x]))
    for got, expected in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_stateless_stack_starts_every_call_from_zero():
    plain, stack = _pair(2, stateful=False)
    assert stack.layers[-1].states is None
    x = _inputs(1)[0]
    first = stack(x).numpy()
    np.testing.assert_allclose(stack(x).numpy(), first)
    np.testing.assert_allclose(first, plain(x).numpy(), atol=1e-5)


def test_reset_states_zeroes_the_stack():
    _, stack = _pair(2)
    stack(_inputs(1)[0])
    assert any(np.abs(s).max() > 0 for s in _states(stack))
    reset_states(stack)
    assert all(np.abs(s).max() == 0 for s in _states(stack))


def test_a_stateful_stack_needs_a_fixed_batch_size():
    inputs = keras.Input((None, 5))
    with pytest.raises(ValueError, match="fixed batch size"):
        LSTMStack(4, 2, stateful=True)(inputs)


def test_saved_stack_round_trips_config_and_weights(tmp_path):
    _, stack = _pair(2)
    path = tmp_path / "stack.keras"
    stack.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.layers[-1]
    assert isinstance(layer, LSTMStack)
    assert (layer.units, layer.num_layers, layer.stateful) == (4, 2, True)
    for got, expected in zip(loaded.get_weights(), stack.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_l2_regularizers_reach_the_cells():
    config = tiny_model_config(dropout=0.0, fast_path=True, l2=0.01)
    model = build_model(config, batch_size=2, sequence_length=5, for_training=True)
    assert isinstance(model.get_layer("lstm_stack"), LSTMStack)
    # Kernel and recurrent kernel of both cells, and the softmax kernel.
    assert len(model.losses) == 5


def test_build_model_fuses_only_training_models_with_nothing_between_layers():
    config = tiny_model_config(dropout=0.0, fast_path=True)
    assert fuses_layers(config)
    training = build_model(config, 2, 5, for_training=True)
    inference = build_model(config, 2, None)
    assert [type(x) for x in training.layers].count(LSTMStack) == 1
    assert recurrent_layers(inference) and not any(
        isinstance(x, LSTMStack) for x in inference.layers
    )
    assert [w.shape for w in training.weights] == [w.shape for w in inference.weights]
    for change in (
        dict(fast_path=False),
        dict(cell="gru"),
        dict(residual=True),
        dict(layer_norm=True),
    ):
        other = dataclasses.replace(config, **change)
        assert not fuses_layers(other), change
        model = build_model(other, 2, 5, for_training=True)
        assert not any(isinstance(x, LSTMStack) for x in model.layers), change


def test_dropout_masks_between_layers_match_keras_layers_with_the_same_masks():
    plain, _ = _pair(3, stateful=False)
    cells = [layer.cell for layer in recurrent_layers(plain)]
    x = tf.constant(_inputs(1)[0])  # (batch, time, features)
    rng = np.random.default_rng(3)
    masks = [
        tf.constant((rng.random((6, 3, 4)) > 0.4) / 0.6, dtype="float32")
        for _ in range(2)
    ]  # (time, batch, units) each
    scale = rng.normal(size=(3, 6, 4))
    zeros = tf.zeros((3, 4))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x
        for layer, mask in zip(recurrent_layers(plain), [None, *masks], strict=True):
            if mask is not None:
                y = y * tf.transpose(mask, [1, 0, 2])
            y = layer(y)
        expected = tf.reduce_sum(y * scale)
        got, _ = lstm_stack_sequence(
            keras.ops.matmul(tf.transpose(x, [1, 0, 2]), cells[0].kernel),
            [(zeros, zeros)] * 3,
            [cell.recurrent_kernel for cell in cells],
            [cell.kernel for cell in cells[1:]],
            [cell.bias for cell in cells],
            masks,
        )
        got = tf.reduce_sum(got * scale)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)
    sources = [*plain.trainable_variables, x]
    for g_got, g_expected in zip(
        tape.gradient(got, sources), tape.gradient(expected, sources), strict=True
    ):
        np.testing.assert_allclose(g_got, g_expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "biases, masks, message",
    [
        (2, 2, "one mask per layer above the first"),
        (1, 1, "one bias per layer"),  # the layer above the first's only
    ],
)
def test_bias_and_mask_counts_must_match_the_layers(biases, masks, message):
    zeros = tf.zeros((1, 2))
    with pytest.raises(ValueError, match=message):
        lstm_stack_sequence(
            tf.zeros((3, 1, 8)),  # (time, batch, 4 * units)
            [(zeros, zeros)] * 2,
            [tf.zeros((2, 8))] * 2,
            [tf.zeros((2, 8))],
            [tf.zeros((8,))] * biases,
            [tf.ones((3, 1, 2))] * masks,
        )


def test_stack_dropout_acts_in_training_only():
    _, stack = _pair(2, stateful=False)
    dropping = LSTMStack(4, 2, dropout=0.5, seed=1)
    inputs = keras.Input((None, 5), batch_size=3)
    model = keras.Model(inputs, dropping(inputs))
    model.set_weights(stack.get_weights())
    x = _inputs(1)[0]
    np.testing.assert_allclose(model(x).numpy(), stack(x).numpy(), atol=1e-6)
    trained = model(x, training=True).numpy()
    assert np.abs(trained - stack(x).numpy()).max() > 1e-3
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
        LSTMStack(4, 2, dropout=1.0)


def test_a_dropout_config_fuses_with_the_top_dropout_after_the_stack():
    config = tiny_model_config(dropout=0.5, fast_path=True)
    assert fuses_layers(config)
    training = build_model(config, 2, 5, for_training=True)
    names = [layer.name for layer in training.layers]
    assert names[-3:] == ["lstm_stack", "dropout_1", "softmax"]
    assert training.get_layer("lstm_stack").dropout == 0.5
    inference = build_model(config, 2, None)
    assert [w.shape for w in training.weights] == [w.shape for w in inference.weights]


def test_trained_stack_run_loads_as_separate_layers_with_the_same_predictions(
    tmp_path,
):
    run = tmp_path / "run"
    config = tiny_config(fast_path=True)
    result = charlstm.train(text=make_text(), run_dir=run, config=config)
    assert isinstance(result.model.get_layer("lstm_stack"), LSTMStack)
    generator = charlstm.load(run, checkpoint="last")
    model = generator.inference_model(4)
    assert len(recurrent_layers(model)) == 2
    x = np.random.default_rng(0).integers(0, 10, (4, 5)).astype("int32")
    reset_states(result.model)
    np.testing.assert_allclose(
        model(x).numpy(), result.model(x).numpy(), rtol=1e-4, atol=1e-6
    )
