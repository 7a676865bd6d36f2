import dataclasses

import keras
import numpy as np
import pytest

from charlstm.infer.engine_weights import (
    EngineWeights,
    engine_path,
    expected_shapes,
    export_checkpoint,
    file_digest,
)
from charlstm.infer.keras_engine import compile_forward
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.model.build import build_model, state_variables
from tests.helpers import tiny_model_config

STEPS = 1000


def keras_and_engine(cell, encoding, **overrides):
    config = tiny_model_config(cell, encoding, **overrides)
    model = build_model(config, batch_size=1, sequence_length=None)
    return model, NumpyEngine(EngineWeights(config, model.get_weights()))


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("encoding", ["one_hot", "embedding"])
def test_parity_with_keras_over_1000_steps(cell, encoding):
    model, engine = keras_and_engine(cell, encoding)
    ids = np.random.default_rng(0).integers(0, 10, size=(1, STEPS))
    expected = compile_forward(model)(ids.astype("int32"))[0]  # (time, vocab)
    # Step by step, as generation runs.
    stepped = np.stack([engine.step(ids[:, t])[0].copy() for t in range(STEPS)])
    np.testing.assert_allclose(stepped, expected, atol=1e-5, rtol=0)
    # The whole sequence at once, as warm-up runs (chunked layer by layer).
    engine.reset()
    fed = engine.feed(ids, return_sequences=True)[0]
    np.testing.assert_allclose(fed, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(fed.sum(axis=-1), 1.0, atol=1e-6)


def test_parity_with_three_layers_and_nonzero_biases():
    model, _ = keras_and_engine("gru", "one_hot", num_layers=3)
    rng = np.random.default_rng(1)
    weights = [
        w + rng.normal(0, 0.1, w.shape).astype("float32") for w in model.get_weights()
    ]
    model.set_weights(weights)
    engine = NumpyEngine(
        EngineWeights(tiny_model_config("gru", "one_hot", num_layers=3), weights)
    )
    ids = rng.integers(0, 10, size=(1, 300))
    expected = compile_forward(model)(ids.astype("int32"))[0]  # (time, vocab)
    np.testing.assert_allclose(
        engine.feed(ids, return_sequences=True)[0], expected, atol=1e-5, rtol=0
    )


def _ln_lstm_pair(encoding, recurrent_gain=1.0, batch_size=3):
    """A stateful 3-layer Keras LN-LSTM model and its engine, with every weight
    moved off its initial value (gains around 1, shifts and biases nonzero), the
    recurrent gains scaled by `recurrent_gain`."""
    keras.utils.set_random_seed(0)
    config = tiny_model_config("ln_lstm", encoding, num_layers=3)
    model = build_model(config, batch_size=batch_size, sequence_length=None)
    rng = np.random.default_rng(1)
    weights = []
    for variable, w in zip(model.weights, model.get_weights(), strict=True):
        w = w + rng.normal(0, 0.3, w.shape).astype("float32")
        if variable.path.endswith("recurrent_gamma"):
            w *= recurrent_gain
        weights.append(w)
    model.set_weights(weights)
    return model, NumpyEngine(EngineWeights(config, weights), batch_size=batch_size)


@pytest.mark.parametrize("encoding", ["one_hot", "embedding"])
def test_ln_lstm_steps_like_keras_from_the_same_states(encoding):
    """Every step of 300 (three streams), started from Keras's states: the same
    probabilities and new states. From the same states, because the random
    LN-LSTM's dynamics are chaotic: run freely, float32 rounding differences grow
    to 1e-2 within 300 steps for Keras against a float64 reference as for the
    engine, whose own is the smaller."""
    model, engine = _ln_lstm_pair(encoding)
    forward = compile_forward(model)
    ids = np.random.default_rng(2).integers(0, 10, size=(3, 300))
    for t in range(300):
        engine.set_state(
            [keras.ops.convert_to_numpy(s) for s in state_variables(model)]
        )
        expected = forward(ids[:, t : t + 1].astype("int32"))[:, 0]  # (batch, vocab)
        np.testing.assert_allclose(engine.step(ids[:, t]), expected, atol=1e-5, rtol=0)
        for got, kept in zip(engine.get_state(), state_variables(model), strict=True):
            np.testing.assert_allclose(got, keras.ops.convert_to_numpy(kept), atol=1e-5)
    assert [layer.state_names for layer in engine.layers] == [("h", "c")] * 3


@pytest.mark.parametrize("encoding", ["one_hot", "embedding"])
def test_ln_lstm_parity_with_keras_over_300_steps(encoding):
    """Run freely, fed whole (the upper layers' inputs projected per chunk) and
    step by step. Recurrent gains at half of the above keep the dynamics out of
    chaos, so that float32 rounding does not grow (differences below 2e-6 for
    ten random seeds)."""
    model, engine = _ln_lstm_pair(encoding, recurrent_gain=0.5)
    ids = np.random.default_rng(2).integers(0, 10, size=(3, 300))
    expected = compile_forward(model)(ids.astype("int32"))  # (batch, time, vocab)
    fed = engine.feed(ids, return_sequences=True)
    np.testing.assert_allclose(fed, expected, atol=1e-5, rtol=0)
    engine.reset()
    stepped = np.stack([engine.step(ids[:, t]).copy() for t in range(300)], 1)
    np.testing.assert_allclose(stepped, expected, atol=1e-5, rtol=0)


def test_ln_lstm_weights_hold_the_normalisations():
    config = tiny_model_config("ln_lstm", "one_hot", num_layers=1)
    assert expected_shapes(config) == [
        (10, 32),  # kernel
        (8, 32),  # recurrent kernel
        (32,),  # bias
        (32,),  # input gain
        (32,),  # input shift
        (32,),  # recurrent gain
        (32,),  # recurrent shift
        (8,),  # cell gain
        (8,),  # cell shift
        (8, 10),  # softmax kernel
        (10,),  # softmax bias
    ]
    arrays = [np.zeros(s, np.float32) for s in expected_shapes(config)]
    with pytest.raises(ValueError, match="do not fit a 1 x 8 ln_lstm model"):
        EngineWeights(config, arrays[:3] + arrays[-2:])  # an LSTM's weights


def test_state_carries_over_between_calls_until_reset():
    _, engine = keras_and_engine("lstm", "embedding")
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    whole = engine.feed(ids)
    state = engine.get_state()
    engine.reset()
    engine.feed(ids[:, :4])
    np.testing.assert_allclose(engine.feed(ids[:, 4:]), whole, atol=1e-6)
    engine.reset()
    assert not np.any(engine.get_state()[0])
    engine.feed(ids[:, 4:])
    # The states, not the probabilities: with the tiny random initial weights the
    # probabilities of the two can differ by less than 1e-4 (the state by ~3e-3).
    assert not np.allclose(engine.get_state()[1], state[1], atol=1e-4)


def test_ragged_batch_matches_each_seed_alone():
    _, engine = keras_and_engine("lstm", "one_hot")
    seeds = [np.array([1, 2, 3, 4, 5]), np.array([7]), np.array([2, 9, 0])]
    alone = []
    for seed in seeds:
        engine.reset(1)
        alone.append(engine.feed(seed[None])[0])
        alone[-1] = np.concatenate([alone[-1], engine.step(np.array([4]))[0]])
    padded = np.zeros((3, 5), dtype=int)
    for row, seed in enumerate(seeds):
        padded[row, 5 - len(seed) :] = seed
    engine.reset(3)
    together = engine.feed(padded, lengths=[5, 1, 3])
    after = engine.step(np.array([4, 4, 4]))
    np.testing.assert_allclose(
        np.concatenate([together, after], axis=1), np.stack(alone), atol=1e-6
    )


def test_select_reorders_and_resizes_streams():
    _, engine = keras_and_engine("gru", "embedding")
    engine.reset(2)
    engine.feed(np.array([[1, 2, 3], [4, 5, 6]]))
    state = engine.get_state()
    engine.select([1, 1, 0])
    assert engine.batch_size == 3
    for before, after in zip(state, engine.get_state(), strict=True):
        np.testing.assert_array_equal(after, before[[1, 1, 0]])
    probs = engine.step(np.array([0, 0, 0]))
    np.testing.assert_allclose(probs[0], probs[1])
    engine.set_state(state)
    assert engine.batch_size == 2
    engine.select([0, 1])  # in place: nothing to move
    assert engine.get_state()[0].tolist() == state[0].tolist()
    engine.select([0])  # rows in order, fewer of them: still a resize
    assert engine.batch_size == 1
    np.testing.assert_array_equal(engine.get_state()[0], state[0][:1])


def test_step_reuses_its_buffers():
    _, engine = keras_and_engine("lstm", "one_hot")
    states = engine.get_state()
    buffers = [id(s) for layer in engine.layers for s in layer.states()]
    first = engine.step(np.array([1]))
    second = engine.step(np.array([2]))
    assert first is second  # the probabilities buffer is reused
    assert buffers == [id(s) for layer in engine.layers for s in layer.states()]
    assert not np.allclose(states[0], engine.get_state()[0])
    assert first.dtype == np.float32


def test_bad_ids_are_rejected():
    _, engine = keras_and_engine("lstm", "one_hot")
    with pytest.raises(ValueError, match=r"ids.*\(1,\)"):
        engine.step(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        engine.feed(np.array([[3, 10]]))
    with pytest.raises(ValueError, match="batch_size"):
        engine.reset(0)


def test_weights_that_do_not_fit_the_config_are_rejected():
    config = tiny_model_config("gru", "one_hot")
    arrays = [np.zeros(s, np.float32) for s in expected_shapes(config)]
    arrays[2] = np.zeros(24, np.float32)  # a reset_after=False GRU bias: one row
    with pytest.raises(ValueError, match="do not fit a 2 x 8 gru model"):
        EngineWeights(config, arrays)
    with pytest.raises(ValueError, match="do not fit"):
        EngineWeights(config, arrays[:-1])


def test_layers_the_engine_lacks_are_refused_by_name():
    config = tiny_model_config(layer_norm=True)
    arrays = [np.zeros(s, np.float32) for s in expected_shapes(config)]
    with pytest.raises(ValueError, match=r"no residual.*layer_norm=True\)\.$"):
        EngineWeights(config, arrays)


def test_engine_file_round_trip_and_staleness(tmp_path):
    config = tiny_model_config("simple_rnn", "embedding")
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s).astype(np.float32) for s in expected_shapes(config)]
    path = tmp_path / "engine.npz"
    EngineWeights(config, arrays).save(path, source_digest="abc")
    read = EngineWeights.read(path, "abc")
    assert read.config == config
    for a, b in zip(read.arrays, arrays, strict=True):
        np.testing.assert_array_equal(a, b)
    assert EngineWeights.read(path, "another model") is None  # stale
    assert EngineWeights.read(tmp_path / "missing.npz") is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert EngineWeights.read(tmp_path / "bad.npz") is None


def test_engine_file_names():
    assert engine_path("run/model.keras").name == "engine.npz"
    assert engine_path("run/last.keras").name == "engine_last.npz"
    assert engine_path("run/checkpoint-000012.keras").name == "engine_last.npz"


def test_export_checkpoint_writes_a_current_engine_file(tmp_path):
    from charlstm.config import RunConfig

    config = tiny_model_config("lstm", "one_hot")
    RunConfig(model=config).save(tmp_path / "config.json")
    (tmp_path / "model.keras").write_bytes(b"the checkpoint")
    arrays = [np.ones(s, np.float32) for s in expected_shapes(config)]
    assert export_checkpoint(tmp_path, arrays)
    read = EngineWeights.read(
        tmp_path / "engine.npz", file_digest(tmp_path / "model.keras")
    )
    assert read is not None and read.config == config
    # No config.json: nothing to export against.
    assert not export_checkpoint(tmp_path / "elsewhere", arrays)


def test_dropout_and_l2_do_not_change_inference():
    config = tiny_model_config("lstm", "embedding")
    model = build_model(config, batch_size=1)
    plain = dataclasses.replace(config, dropout=0.0, l2=0.01)
    ids = np.array([[1, 2, 3]])
    a = NumpyEngine(EngineWeights(config, model.get_weights())).feed(ids)
    b = NumpyEngine(EngineWeights(plain, model.get_weights())).feed(ids)
    np.testing.assert_array_equal(a, b)
