"""The fast recurrent layers match Keras's: outputs, states, gradients, training."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import charlstm
import charlstm.training.run_dir
from charlstm.infer.engine_weights import EngineWeights
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.model.build import build_model, recurrent_layers, reset_states
from charlstm.model.fast_rnn import FastGRU, FastLSTM, FastSimpleRNN
from charlstm.model.lstm_stack import LSTMStack
from tests.helpers import make_text, tiny_config, tiny_model_config

PAIRS = {
    "lstm": (keras.layers.LSTM, FastLSTM),
    "gru": (keras.layers.GRU, FastGRU),
    "simple_rnn": (keras.layers.SimpleRNN, FastSimpleRNN),
}


def _pair(cell, encoding="embedding", batch_size=3, sequence_length=5):
    """A plain-Keras and a fast-path model with the same random weights."""
    config = tiny_model_config(cell, encoding, dropout=0.0)
    keras.utils.set_random_seed(1)
    plain = build_model(
        dataclasses.replace(config, fast_path=False), batch_size, sequence_length
    )
    fast = build_model(
        dataclasses.replace(config, fast_path=True), batch_size, sequence_length
    )
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in plain.weights]
    plain.set_weights(weights)
    fast.set_weights(weights)
    return plain, fast


def _batches(count=2, batch_size=3, sequence_length=5, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 10, (batch_size, sequence_length)).astype("int32")
        for _ in range(count)
    ]


@pytest.mark.parametrize("cell", sorted(PAIRS))
def test_build_model_picks_the_fast_layer_only_when_asked(cell):
    plain, fast = _pair(cell)
    plain_cls, fast_cls = PAIRS[cell]
    assert all(type(layer) is plain_cls for layer in recurrent_layers(plain))
    assert all(type(layer) is fast_cls for layer in recurrent_layers(fast))
    # Same weight names, shapes and order: weights move between the two.
    assert [w.path for w in plain.weights] == [w.path for w in fast.weights]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("encoding", ["embedding", "one_hot"])
@pytest.mark.parametrize("cell", sorted(PAIRS))
def test_same_outputs_and_states_across_two_stateful_batches(cell, encoding, training):
    plain, fast = _pair(cell, encoding)
    for x in _batches():
        expected = plain(x, training=training).numpy()  # (batch, time, vocab)
        got = fast(x, training=training).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
        for a, b in zip(recurrent_layers(plain), recurrent_layers(fast), strict=True):
            for s_plain, s_fast in zip(a.states, b.states, strict=True):
                np.testing.assert_allclose(
                    np.asarray(s_fast), np.asarray(s_plain), atol=1e-5
                )


@pytest.mark.parametrize("cell", sorted(PAIRS))
def test_same_gradients_on_the_second_stateful_batch(cell):
    plain, fast = _pair(cell)
    first, second = _batches()
    targets = _batches(1, seed=1)[0]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    grads = []
    for model in (plain, fast):
        reset_states(model)
        model(first, training=True)  # carries state into the second batch
        with tf.GradientTape() as tape:
            loss = loss_fn(targets, model(second, training=True))
        grads.append(tape.gradient(loss, model.trainable_variables))
    for g_plain, g_fast in zip(
        *grads, strict=True
    ):  # the embedding's are IndexedSlices
        np.testing.assert_allclose(
            tf.convert_to_tensor(g_fast),
            tf.convert_to_tensor(g_plain),
            rtol=1e-4,
            atol=1e-6,
        )


def test_variable_length_inference_model_matches_keras():
    """Generation and evaluation build models with `sequence_length=None`."""
    plain, fast = _pair("lstm", batch_size=2, sequence_length=None)
    for length in (1, 7):
        x = _batches(1, batch_size=2, sequence_length=length)[0]
        np.testing.assert_allclose(fast(x).numpy(), plain(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_both_bias_layouts(reset_after):
    keras.utils.set_random_seed(2)
    x = np.random.default_rng(3).normal(size=(2, 6, 4)).astype("float32")
    plain = keras.layers.GRU(5, return_sequences=True, reset_after=reset_after)
    fast = FastGRU(5, return_sequences=True, reset_after=reset_after)
    plain(x), fast(x)  # build
    rng = np.random.default_rng(4)
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in plain.weights]
    plain.set_weights(weights)
    fast.set_weights(weights)
    np.testing.assert_allclose(fast(x).numpy(), plain(x).numpy(), atol=1e-5)


def test_go_backwards_and_last_output_only():
    keras.utils.set_random_seed(5)
    x = np.random.default_rng(6).normal(size=(2, 6, 4)).astype("float32")
    plain = keras.layers.LSTM(5, go_backwards=True)
    fast = FastLSTM(5, go_backwards=True)
    plain(x), fast(x)
    fast.set_weights(plain.get_weights())
    np.testing.assert_allclose(fast(x).numpy(), plain(x).numpy(), atol=1e-5)


def test_training_gives_the_same_loss_trajectory():
    histories = []
    for fast_path in (False, True):
        config = tiny_config(epochs=3, fast_path=fast_path, cell="lstm")
        result = charlstm.train(text=make_text(2000), config=config)
        histories.append([(r["loss"], r["val_loss"]) for r in result.history])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-4)


def test_saved_run_round_trips_the_setting_and_the_layer(tmp_path):
    run = tmp_path / "run"
    config = tiny_config(fast_path=True)
    result = charlstm.train(text=make_text(), run_dir=run, config=config)
    saved = json.loads((run / "config.json").read_text())
    assert saved["model"]["fast_path"] == "on"
    assert charlstm.RunConfig.load(run / "config.json") == result.config
    last = charlstm.training.run_dir.RunFiles(run).last_model()
    model = keras.saving.load_model(last, compile=False)
    # The training model runs its two LSTMs as one LSTMStack (test_lstm_stack.py).
    assert [type(layer) for layer in model.layers].count(LSTMStack) == 1
    for loaded, trained in zip(
        model.get_weights(), result.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(loaded, trained)


@pytest.mark.parametrize("cell", sorted(PAIRS))
def test_numpy_engine_runs_fast_path_weights(cell):
    plain, fast = _pair(cell, batch_size=2, sequence_length=None)
    config = tiny_model_config(cell, dropout=0.0, fast_path=True)
    engine = NumpyEngine(EngineWeights(config, fast.get_weights()), batch_size=2)
    x = _batches(1, batch_size=2, sequence_length=6)[0]
    expected = fast(x).numpy()  # (batch, time, vocab)
    got = engine.feed(x, return_sequences=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_fast_path_is_auto_by_default_and_reads_the_old_booleans():
    assert charlstm.ModelConfig().fast_path == "auto"
    # config.json files written before "auto" hold true or false.
    assert charlstm.ModelConfig(fast_path=True).fast_path == "on"
    assert charlstm.ModelConfig(fast_path=False).fast_path == "off"
    with pytest.raises(ValueError, match="fast_path"):
        charlstm.ModelConfig(fast_path="yes")


@pytest.mark.parametrize(
    "flag, expected",
    [(["--fast-path", "on"], "on"), (["--fast-path", "off"], "off"), ([], "auto")],
)
def test_cli_fast_path_flag_is_saved_in_the_run(tmp_path, flag, expected):
    from charlstm.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(3000))
    run = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(run), "--quiet"]
    args += flag
    args += ["--units", "8", "--num-layers", "1", "--embedding-dim", "4"]
    args += ["--batch-size", "4", "--sequence-length", "5", "--epochs", "1"]
    assert main(args) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["model"]["fast_path"] == expected
    assert charlstm.load(run).generate("ab", 10, random_seed=0).startswith("ab")


def test_cli_fast_path_is_an_lstm_backend_option(tmp_path, capsys):
    from charlstm.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(3000))
    args = ["train", str(corpus), "--out", str(tmp_path / "run"), "--fast-path", "on"]
    assert main(args + ["--backend", "gpt2"]) == 2
    assert "--fast-path" in capsys.readouterr().err
