"""Dynamic evaluation while completing (`charlstm.infer.adaptation`), on random
tiny models (vocabulary 10, 2 x 8 LSTM)."""

import math

import numpy as np
import pytest

from charlstm.data.vocabulary import Vocabulary
from charlstm.eval import dynamic
from charlstm.eval.dynamic import DynamicConfig, evaluate_dynamic
from charlstm.eval.lstm_gradients import Layout, forward, zero_state
from charlstm.infer.adaptation import (
    Adaptation,
    Adapter,
    AdaptiveCompleter,
    StatisticsCache,
)
from charlstm.infer.completion import Completer
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.utils.checks import InputError
from tests.helpers import ALPHABET, make_text, tiny_model_config

SGD = DynamicConfig(variant="sgd", learning_rate=0.5, decay=0.01, segment_length=10)
RMS = DynamicConfig(learning_rate=0.02, segment_length=10, statistics_batch_size=10)
IDENTIFIER = "gagbeef"  # in no word of make_text's lexicon


def random_generator(seed=5, cell="lstm", encoding="embedding"):
    config = tiny_model_config(cell, encoding)
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(0, 0.7, s) for s in expected_shapes(config)]
    return TextGenerator(
        NumpyEngine(EngineWeights(config, arrays)), Vocabulary(ALPHABET)
    )


@pytest.fixture(scope="module")
def generator():
    return random_generator()


@pytest.fixture(scope="module")
def ms(generator):
    return StatisticsCache(generator, make_text(20_000, seed=9)).get(RMS)


def adapter_of(generator, config, ms=None):
    return Adapter(generator, config, ms if config.variant == "rms" else None)


def log_probability(completer, text, ending):
    """log p(ending | text) as `completer` reads `text` (its states, its engine)."""
    vocabulary = completer.vocabulary
    probs = completer.warm(vocabulary.encode(text))
    total = 0.0
    for char_id in vocabulary.encode(ending):
        total += math.log(float(probs[0, char_id]))
        probs = completer.engine.step(np.array([char_id]))
    return total


@pytest.mark.parametrize("variant", ["sgd", "rms"])
def test_learning_rate_zero_keeps_the_trained_weights_and_the_static_answers(
    generator, ms, variant
):
    config = DynamicConfig(variant=variant, learning_rate=0.0, segment_length=10)
    completer = AdaptiveCompleter(adapter_of(generator, config, ms))
    text = make_text(1000, seed=1) + "\nhead b"
    got = completer.complete(text, max_length=20, num_candidates=3)
    assert completer.adaptation.updates == (len(text) - 1) // 10
    for p, p0 in zip(completer.adaptation.params, generator.weights, strict=True):
        np.testing.assert_array_equal(p, p0.astype(np.float64))
    static = Completer(generator.engine, generator.vocabulary)
    expected = static.complete(text, max_length=20, num_candidates=3)
    assert [c.text for c in got] == [c.text for c in expected]
    for a, b in zip(got, expected, strict=True):
        assert a.log_probability == pytest.approx(b.log_probability, abs=1e-5)


@pytest.mark.parametrize("config", [SGD, RMS], ids=["sgd", "rms"])
def test_the_text_is_learned_as_evaluate_dynamic_scores_it(generator, ms, config):
    """After a newline, a completer reads the text as dynamic evaluation does:
    every segment is scored with the weights before its update, then learned."""
    held_out = make_text(400, seed=3)  # 40 whole segments
    adaptation = Adaptation(adapter_of(generator, config, ms))
    assert adaptation.learn(generator.vocabulary.encode("\n" + held_out)) == 40
    figures = evaluate_dynamic(
        generator, held_out, config, statistics_text=make_text(20_000, seed=9)
    )
    assert adaptation.loss / 400 == pytest.approx(figures["dynamic"]["loss"], 1e-12)
    assert figures["dynamic"]["loss"] < figures["static"]["loss"]


def test_an_ln_lstm_run_learns_the_text_as_evaluate_dynamic_scores_it():
    generator = random_generator(cell="ln_lstm")
    held_out = make_text(400, seed=3)  # 40 whole segments
    adaptation = Adaptation(adapter_of(generator, SGD))
    assert adaptation.learn(generator.vocabulary.encode("\n" + held_out)) == 40
    figures = evaluate_dynamic(generator, held_out, SGD)
    assert adaptation.loss / 400 == pytest.approx(figures["dynamic"]["loss"], 1e-12)
    assert figures["dynamic"]["loss"] < figures["static"]["loss"]
    # The numpy engine runs the adapted LN-LSTM from the adaptation's state.
    engine = adaptation.engine()
    engine.set_state([a for pair in adaptation.state for a in pair])
    probs = engine.feed(generator.vocabulary.encode("abc")[None])  # (1, vocab)
    assert probs.shape == (1, generator.vocabulary.size)
    assert np.isclose(probs.sum(), 1, atol=1e-5)


def test_each_segment_is_scored_before_it_is_learned(generator):
    ids = generator.vocabulary.encode(make_text(100, seed=4))
    adaptation = Adaptation(adapter_of(generator, SGD))
    layout, n = Layout(embedding=True), SGD.segment_length
    theta0 = [p.copy() for p in adaptation.params]

    def nll(params, window, state):  # summed NLL of window[1:] read after state
        loss, state, _ = forward(
            params, layout, window[None, :-1], window[None, 1:], state
        )
        return float(loss.sum()), state

    first, state = nll(theta0, ids[: n + 1], zero_state(theta0, layout, 1))
    assert adaptation.learn(ids, max_segments=1) == 1
    assert adaptation.loss == pytest.approx(first, abs=1e-12)  # θ_0 scored it
    theta1 = [p.copy() for p in adaptation.params]
    assert not all(np.array_equal(a, b) for a, b in zip(theta0, theta1, strict=True))
    second, _ = nll(theta1, ids[n : 2 * n + 1], state)
    stale, _ = nll(theta0, ids[n : 2 * n + 1], state)
    assert adaptation.learn(ids, max_segments=1) == 1
    assert adaptation.loss - first == pytest.approx(second, abs=1e-12)  # θ_1
    assert abs(second - stale) > 1e-6


def test_an_adapted_model_gives_a_repeated_string_a_higher_probability(generator, ms):
    text = "fed cafe\nhead gagbeef\n" * 15 + "head g"
    adaptive = AdaptiveCompleter(adapter_of(generator, RMS, ms))
    adaptive.adapt(generator.vocabulary.encode(text))
    static = Completer(generator.engine, generator.vocabulary)
    adapted = log_probability(adaptive.completer, text, IDENTIFIER[1:] + "\n")
    before = log_probability(static, text, IDENTIFIER[1:] + "\n")
    assert adapted > before + 3  # e ** 3 times as likely, at least


def test_typing_on_learns_only_the_new_text(generator):
    vocabulary = generator.vocabulary
    text = make_text(205, seed=6)
    adaptation = Adaptation(adapter_of(generator, SGD))
    assert adaptation.pending(vocabulary.encode(text)) == 20
    assert adaptation.learn(vocabulary.encode(text)) == 20  # ids 1 to 200 predicted
    assert adaptation.position == 200
    assert adaptation.learn(vocabulary.encode(text + "bad")) == 0  # 1 + 207 < 210
    assert adaptation.learn(vocabulary.encode(text + "bad beef")) == 1
    assert (adaptation.position, adaptation.updates) == (210, 21)
    # Going back (the cursor moved up) is no edit: nothing to learn again.
    assert adaptation.pending(vocabulary.encode(text[:50])) == 0
    assert adaptation.learn(vocabulary.encode(text[:50])) == 0
    assert adaptation.position == 210


def test_an_edit_before_the_learned_point_keeps_the_weights_and_goes_back(generator):
    vocabulary = generator.vocabulary
    text = make_text(1001, seed=7)
    adaptation = Adaptation(adapter_of(generator, SGD), spacing=40)
    adaptation.learn(vocabulary.encode(text))
    assert adaptation.position == 1000
    assert len(adaptation.saved) <= 1000 // 40 + 1
    learned = [p.copy() for p in adaptation.params]
    edited = vocabulary.encode(
        text[:500] + ("a" if text[500] != "a" else "b") + text[501:]
    )
    # The whole text after the checkpoint before the edit is to learn again.
    back = adaptation.pending(edited)
    assert 1000 // 10 - 500 // 10 <= back <= (1000 - 500 + 40 + 10) // 10
    assert adaptation.learn(edited, max_segments=0) == 0  # rewinds only
    assert 500 - 40 - 10 <= adaptation.position <= 500
    assert all(n <= adaptation.position for n in adaptation.saved)
    for p, q in zip(adaptation.params, learned, strict=True):
        np.testing.assert_array_equal(p, q)  # the weights are kept
    assert adaptation.learn(edited) == back
    assert adaptation.position == 1000


def test_completions_read_with_the_current_weights_from_the_adaptations_states(
    generator,
):
    """After each update the completer's states are the adaptation's: the
    answer is what the current weights give from the adaptation's latest state
    before the cursor, whatever the completer had warmed before."""
    vocabulary = generator.vocabulary
    adaptive = AdaptiveCompleter(adapter_of(generator, SGD), spacing=40)
    text = make_text(600, seed=8)
    for end in (300, 450, 600):  # an editor's requests as the file grows
        adaptive.complete(text[:end], adapt_first=False, max_length=10)
        adaptive.adapt()
    adaptation = adaptive.adaptation
    assert adaptation.position == 590 and adaptive.states.latest == {}
    for cursor in (600, 333):  # after the last state kept, and between two
        got = adaptive.complete(text[:cursor], adapt_first=False, max_length=10)
        start = max(n for n in adaptation.saved if n <= cursor)
        engine = adaptation.engine()
        engine.set_state([a for pair in adaptation.saved[start] for a in pair])
        probs = engine.feed(vocabulary.encode(text[start:cursor])[None])
        assert adaptive.completer.fed == cursor - start
        np.testing.assert_allclose(
            adaptive.completer.warm(vocabulary.encode(text[:cursor])), probs, atol=1e-6
        )
        fresh = Completer(engine, vocabulary)  # reads from a zero state
        assert got.log_probability != pytest.approx(
            fresh.complete(text[:cursor], max_length=10).log_probability, abs=1e-6
        )


def test_only_lstm_runs_adapt():
    with pytest.raises(InputError, match="LSTM runs; Received: cell='gru'"):
        Adapter(random_generator(cell="gru"), SGD)


def test_the_statistics_are_measured_once(generator, monkeypatch):
    calls = []
    measure = dynamic.gradient_statistics

    def counted(*args):
        calls.append(args)
        return measure(*args)

    monkeypatch.setattr("charlstm.infer.adaptation.gradient_statistics", counted)
    cache = StatisticsCache(generator, make_text(5000, seed=9))
    first = cache.get(RMS)
    assert cache.get(RMS) is first
    cache.get(
        DynamicConfig(learning_rate=1.0, segment_length=10, statistics_batch_size=10)
    )
    assert len(calls) == 1  # η does not change the statistics
    cache.get(DynamicConfig(segment_length=5, statistics_batch_size=10))
    assert len(calls) == 2
    with pytest.raises(InputError, match="= 50,000 characters"):
        cache.check(DynamicConfig(segment_length=500))


def test_a_segment_stopped_midway_goes_on_unless_its_text_changed(generator):
    vocabulary = generator.vocabulary
    text = make_text(45, seed=9)
    ids = vocabulary.encode(text)
    adaptation = Adaptation(adapter_of(generator, SGD))
    assert adaptation.learn(ids, stop=lambda: True) == 0  # read the first segment
    assert adaptation.learn(ids, stop=lambda: True) == 0  # its gradient
    assert adaptation.updates == 0 and adaptation.position == 0
    assert adaptation.learn(ids, max_segments=1) == 1  # its update: no step again
    at_once = Adaptation(adapter_of(generator, SGD))
    assert at_once.learn(ids, max_segments=1) == 1
    assert adaptation.loss == at_once.loss
    for p, q in zip(adaptation.params, at_once.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert adaptation.learn(ids, stop=lambda: True) == 0  # the second one, read
    edited = text[:15] + ("h" if text[15] != "h" else "a") + text[16:]
    assert adaptation.learn(vocabulary.encode(edited)) == 3  # read again, as it is
    assert adaptation.position == 40
    at_once = Adaptation(adapter_of(generator, SGD))
    assert at_once.learn(vocabulary.encode(edited)) == 4
    for p, q in zip(adaptation.params, at_once.params, strict=True):
        np.testing.assert_array_equal(p, q)
