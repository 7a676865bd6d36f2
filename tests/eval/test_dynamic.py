import math

import numpy as np
import pytest

import charlstm
from charlstm.data.vocabulary import Vocabulary
from charlstm.eval.dynamic import (
    DynamicConfig,
    UpdateRule,
    evaluate_dynamic,
    gradient_statistics,
)
from charlstm.eval.heldout import evaluate
from charlstm.eval.lstm_gradients import Layout, backward, forward, lstm_weights
from charlstm.infer.generator import TextGenerator
from charlstm.model.build import build_model
from charlstm.utils.checks import InputError
from tests.helpers import ALPHABET, make_text, tiny_model_config

EMBEDDING = Layout(embedding=True)  # random_generator's default


def random_generator(encoding="embedding", num_layers=2, cell="lstm", seed=0):
    """A tiny random model (vocabulary 10 + unknown) with non-zero biases."""
    vocabulary = Vocabulary(ALPHABET, unknown=True)
    config = tiny_model_config(
        cell, encoding, vocabulary_size=vocabulary.size, num_layers=num_layers
    )
    model = build_model(config, batch_size=1)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.4, w.shape) for w in model.get_weights()])
    return TextGenerator.from_model(model, vocabulary, config, "numpy")


def tf_gradients(generator, inputs, targets, state):
    """Summed NLL and its gradients by TensorFlow autodiff through the Keras
    model that passes its states, from `state` [(h, c) per layer]."""
    import tensorflow as tf

    model = build_model(generator.config, None, None, stateful=False, state_io=True)
    model.set_weights(generator.weights)
    states = [tf.constant(s, tf.float32) for pair in state for s in pair]
    with tf.GradientTape() as tape:
        probs = model([tf.constant(inputs, tf.int32), *states])[0]  # (b, t, vocab)
        picked = tf.gather(probs, targets, axis=-1, batch_dims=2)  # (batch, time)
        loss = -tf.reduce_sum(tf.math.log(picked))
    grads = tape.gradient(loss, model.trainable_variables)
    assert [tuple(v.shape) for v in model.trainable_variables] == [
        w.shape for w in generator.weights
    ]  # Keras's get_weights() order
    return float(loss), [np.asarray(tf.convert_to_tensor(g)) for g in grads]


@pytest.mark.parametrize("cell", ["lstm", "ln_lstm"])
@pytest.mark.parametrize("encoding", ["one_hot", "embedding"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_segment_gradients_match_tensorflow_autodiff(cell, encoding, num_layers):
    generator = random_generator(encoding, num_layers, cell)
    rng = np.random.default_rng(1)
    inputs = rng.integers(0, 11, size=(2, 7))
    targets = rng.integers(0, 11, size=(2, 7))
    state = [
        (rng.normal(0, 0.5, (2, 8)), rng.normal(0, 0.5, (2, 8)))
        for _ in range(num_layers)
    ]  # carried in from an earlier segment: no gradient flows into it
    params = lstm_weights(generator)
    layout = Layout.of(generator.config)
    assert layout == Layout(encoding == "embedding", cell == "ln_lstm")
    nll, _, cache = forward(params, layout, inputs, targets, state)
    grads = backward(params, layout, cache)
    expected_loss, expected = tf_gradients(generator, inputs, targets, state)
    assert nll.sum() == pytest.approx(expected_loss, rel=1e-5)
    assert len(grads) == len(expected) == len(params)
    for got, want in zip(grads, expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_final_state_continues_the_sequence():
    """Two segments with the state carried score as one segment."""
    params = lstm_weights(random_generator())
    rng = np.random.default_rng(2)
    inputs, targets = rng.integers(0, 11, (2, 2, 9))
    state = [(np.zeros((2, 8)), np.zeros((2, 8)))] * 2
    whole, _, _ = forward(params, EMBEDDING, inputs, targets, state)
    first, carried, _ = forward(params, EMBEDDING, inputs[:, :4], targets[:, :4], state)
    second, _, _ = forward(params, EMBEDDING, inputs[:, 4:], targets[:, 4:], carried)
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-12)


def manual_dynamic(generator, text, config, ms=None) -> float:
    """Summed dynamic NLL by hand: segment i is scored with the weights adapted
    on segments 1 .. i - 1, then its gradient updates them."""
    ids = generator.vocabulary.encode(text)
    inputs = np.concatenate([generator.vocabulary.encode("\n"), ids[:-1]])[None]
    params = lstm_weights(generator)
    start = [p.copy() for p in params]
    state = [(np.zeros((1, 8)), np.zeros((1, 8)))] * generator.config.num_layers
    rule, total, n = UpdateRule(config, ms), 0.0, config.segment_length
    for begin in range(0, len(ids), n):
        x, y = inputs[:, begin : begin + n], ids[None, begin : begin + n]
        nll, state, cache = forward(params, EMBEDDING, x, y, state)
        total += nll.sum()
        grads = backward(params, EMBEDDING, cache)
        rule.apply(params, start, [g / y.shape[1] for g in grads])
    return total


@pytest.mark.parametrize("variant", ["sgd", "rms"])
def test_each_segment_is_scored_before_the_model_adapts_on_it(variant):
    generator = random_generator()
    config = DynamicConfig(
        variant=variant,
        segment_length=5,
        learning_rate=0.05 if variant == "sgd" else 0.003,
        decay=0.1,
        statistics_batch_size=2,
    )
    training = make_text(400, seed=3)
    ms = gradient_statistics(generator, training, config) if variant == "rms" else None
    text = make_text(17, seed=4)  # segments of 5, 5, 5 and 2
    figures = evaluate_dynamic(generator, text, config, statistics_text=training)
    expected = manual_dynamic(generator, text, config, ms)
    assert figures["dynamic"]["loss"] * 17 == pytest.approx(expected, rel=1e-12)
    assert figures["dynamic"]["loss"] != pytest.approx(
        figures["static"]["loss"], rel=1e-4
    )  # the updates changed the later segments' scores
    # The first segment is scored with the trained weights, whatever follows.
    one = evaluate_dynamic(generator, text[:5], config, statistics_text=training)
    assert one["dynamic"] == one["static"]
    if variant == "rms":  # statistics measured once serve several runs
        again = evaluate_dynamic(generator, text, config, ms=ms)
        assert again == figures


@pytest.mark.parametrize("variant", ["sgd", "rms"])
def test_a_zero_learning_rate_gives_the_static_figures_exactly(variant):
    generator = random_generator("one_hot")
    config = DynamicConfig(
        variant=variant, learning_rate=0.0, decay=0.5, statistics_batch_size=2
    )
    figures = evaluate_dynamic(
        generator, make_text(150, seed=5), config, statistics_text=make_text(400)
    )
    assert figures["dynamic"] == figures["static"]


def test_the_static_figures_are_heldout_evaluate_with_one_stream():
    generator = random_generator()
    text = (
        make_text(300, seed=6) + "zz\u00e9"
    )  # three characters outside the vocabulary
    config = DynamicConfig(variant="sgd", learning_rate=0.01, segment_length=7)
    static = evaluate_dynamic(generator, text, config)["static"]
    expected = evaluate(generator, text=text, num_streams=1)
    assert static.keys() == expected.keys()
    assert static["characters"] == expected["characters"] == 303
    assert static["unknown_characters"] == expected["unknown_characters"] == 3
    for key in ("loss", "bits_per_char", "perplexity", "bits_per_char_known"):
        assert static[key] == pytest.approx(expected[key], rel=1e-5)


def test_decay_one_pulls_sgd_back_to_the_trained_weights():
    """λ = 1: every update starts again from θ_0, θ ← θ_0 − η g."""
    params = lstm_weights(random_generator())
    start = [p.copy() for p in params]
    rng = np.random.default_rng(7)
    rule = UpdateRule(DynamicConfig(variant="sgd", learning_rate=0.1, decay=1.0))
    for _ in range(3):
        grads = [rng.normal(size=p.shape) for p in params]
        rule.apply(params, start, grads)
        for p, p0, g in zip(params, start, grads, strict=True):
            np.testing.assert_allclose(p, p0 - 0.1 * g, atol=1e-15)


def test_rms_decay_rates_are_scaled_and_clipped():
    """η = 0: each weight moves λ min(RMS / mean(RMS), 1 / λ) of the way back."""
    rng = np.random.default_rng(8)
    start = [rng.normal(size=(3, 4)), rng.normal(size=5)]
    ms = [rng.uniform(0, 4, size=(3, 4)), rng.uniform(0, 4, size=5)]
    rms = [np.sqrt(m) for m in ms]
    mean = np.concatenate([r.ravel() for r in rms]).mean()
    for decay in (0.5, 1.0):
        params = [p + 1.0 for p in start]
        rule = UpdateRule(DynamicConfig(learning_rate=0.0, decay=decay), ms)
        rule.apply(params, start, [np.ones_like(p) for p in params])
        for p, p0, r in zip(params, start, rms, strict=True):
            kept = 1 - decay * np.minimum(r / mean, 1 / decay)
            np.testing.assert_allclose(p - p0, kept, atol=1e-12)
            assert (p - p0).min() >= -1e-12  # never past θ_0
        if decay == 1.0:  # weights with RMS >= mean are back at θ_0
            back = np.concatenate([(r >= mean).ravel() for r in rms])
            pairs = zip(params, start, strict=True)
            moved = np.concatenate([(p - p0).ravel() for p, p0 in pairs])
            assert back.any() and np.abs(moved[back]).max() <= 1e-12


def test_gradient_statistics_are_mean_squared_batch_gradients():
    generator = random_generator()
    config = DynamicConfig(segment_length=4, statistics_batch_size=1)
    text = make_text(9, seed=9)  # two whole segments; the ninth character is left
    ms = gradient_statistics(generator, text, config)
    ids = generator.vocabulary.encode(text)
    inputs = np.concatenate([generator.vocabulary.encode("\n"), ids[:-1]])[None]
    params = lstm_weights(generator)
    state = [(np.zeros((1, 8)), np.zeros((1, 8)))] * 2
    squares = []
    for begin in (0, 4):
        segment = slice(begin, begin + 4)
        _, state, cache = forward(
            params, EMBEDDING, inputs[:, segment], ids[None, segment], state
        )
        squares.append([(g / 4) ** 2 for g in backward(params, EMBEDDING, cache)])
    for got, first, second in zip(ms, *squares, strict=True):
        np.testing.assert_allclose(got, (first + second) / 2, atol=1e-15)


def test_dynamic_beats_static_on_a_repeated_pattern(trained_run):
    generator = charlstm.load(trained_run)
    text = "hedge bad cafe\n" * 60  # 900 characters, one line over and over
    config = DynamicConfig(learning_rate=0.002, decay=0.0, statistics_batch_size=10)
    figures = evaluate_dynamic(generator, text, config, statistics_text=make_text())
    static, dynamic = figures["static"], figures["dynamic"]
    assert static["characters"] == dynamic["characters"] == 900
    assert dynamic["bits_per_char"] < static["bits_per_char"] - 0.1
    assert math.isfinite(dynamic["perplexity"])


def test_progress_reports_the_characters_scored():
    seen = []
    evaluate_dynamic(
        random_generator(),
        make_text(45),
        DynamicConfig(variant="sgd", segment_length=20),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(20, 45), (40, 45), (45, 45)]


def test_only_lstm_and_ln_lstm_runs():
    with pytest.raises(InputError, match="LN-LSTM runs; Received: cell='gru'"):
        evaluate_dynamic(random_generator(cell="gru"), "abc", DynamicConfig())


def test_rms_needs_training_text_of_a_whole_batch():
    generator = random_generator()
    with pytest.raises(InputError, match="`statistics_text`"):
        evaluate_dynamic(generator, "abc", DynamicConfig())
    with pytest.raises(InputError, match="at least .* 2,000 characters"):
        evaluate_dynamic(generator, "abc", DynamicConfig(), statistics_text="abc" * 100)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": "adam"}, "`variant` must be one of"),
        ({"segment_length": 0}, "`segment_length` must be an integer >= 1"),
        ({"segment_length": 2.5}, "Received: segment_length=2.5"),
        ({"learning_rate": -1.0}, "`learning_rate` must be a number >= 0"),
        ({"learning_rate": float("nan")}, "learning_rate=nan"),
        ({"decay": 1.5}, r"`decay` must be in \[0, 1\]"),
        ({"epsilon": 0.0}, "`epsilon` must be > 0 with variant='rms'"),
        ({"statistics_batch_size": 0}, "`statistics_batch_size` must be"),
    ],
)
def test_config_checks_name_the_argument(changes, message):
    with pytest.raises(InputError, match=message):
        DynamicConfig(**changes)
