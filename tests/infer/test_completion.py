import itertools
import math
import warnings

import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.completion import (
    Completer,
    Completion,
    StateCache,
    UnknownCharactersWarning,
)
from charlstm.infer.endings import beam_search
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import NumpyEngine
from tests.helpers import ALPHABET


@pytest.fixture
def generator():
    """A random tiny model (vocabulary 10, 2 x 8 GRU) that ends lines often."""
    config = ModelConfig(
        vocabulary_size=10, cell="gru", num_layers=2, units=8, embedding_dim=4
    )
    rng = np.random.default_rng(3)
    arrays = [rng.normal(0, 0.7, s) for s in expected_shapes(config)]
    return TextGenerator(
        NumpyEngine(EngineWeights(config, arrays)), Vocabulary(ALPHABET)
    )


def log_probability(generator, text, ending):
    """Sum of log p(char) of `ending` after `text`, computed step by step."""
    engine, vocab = generator.engine, generator.vocabulary
    engine.reset(1)
    probs = engine.feed(vocab.encode(text)[None])
    total = 0.0
    for char_id in vocab.encode(ending):
        total += math.log(float(probs[0, char_id]))
        probs = engine.step(np.array([char_id]))
    return total


def test_greedy_completion_is_greedy_generation_up_to_the_newline(generator):
    for prefix in ["hea", "bad c", "gag\nfe"]:
        completion = generator.complete(prefix, max_length=60)
        generated = generator.generate(prefix, 60, temperature=0)[len(prefix) :]
        line = generated.split("\n")[0]
        assert completion.text == line
        assert completion.finished == ("\n" in generated)
        ending = line + ("\n" if completion.finished else "")
        assert completion.log_probability == pytest.approx(
            log_probability(generator, prefix, ending), abs=1e-5
        )


def test_beam_search_finds_the_exact_best_endings():
    """With a beam wide enough to keep everything, beam search is exhaustive."""
    config = ModelConfig(vocabulary_size=4, cell="lstm", num_layers=1, units=8)
    rng = np.random.default_rng(7)
    arrays = [rng.normal(0, 1.0, s) for s in expected_shapes(config)]
    generator = TextGenerator(
        NumpyEngine(EngineWeights(config, arrays)), Vocabulary("ab\nc")
    )
    scored = []
    for length in (1, 2, 3):
        for ending in map("".join, itertools.product("ab\nc", repeat=length)):
            if "\n" in ending[:-1]:
                continue  # a line ends at its first newline
            if length < 3 and not ending.endswith("\n"):
                continue  # unfinished endings only at max_length
            scored.append((log_probability(generator, "ab", ending), ending))
    scored.sort(reverse=True)
    engine = generator.engine
    engine.reset(1)
    probs = engine.feed(generator.vocabulary.encode("ab")[None])
    found = beam_search(engine, probs, 64, 3, generator.vocabulary.encode("\n")[0], 5)
    got = [(h.log_probability, generator.vocabulary.decode(h.ids)) for h, _ in found]
    assert [e for _, e in got] == [e for _, e in scored[:5]]
    np.testing.assert_allclose(
        [s for s, _ in got], [s for s, _ in scored[:5]], atol=1e-5
    )


def test_candidates_are_distinct_sorted_single_lines(generator):
    completions = generator.complete("bad ", num_candidates=5, max_length=30)
    assert len(completions) == 5
    assert all(isinstance(c, Completion) for c in completions)
    scores = [c.log_probability for c in completions]
    assert scores == sorted(scores, reverse=True)
    assert len({c.text for c in completions}) == 5
    for c in completions:
        assert "\n" not in c.text and len(c.text) <= 30
        assert len(c.characters) == len(c.text)
        ending = c.text + ("\n" if c.finished else "")
        assert c.log_probability == pytest.approx(
            log_probability(generator, "bad ", ending), abs=1e-5
        )
    best = generator.complete("bad ", num_candidates=1, beam_width=5, max_length=30)
    assert (
        best.log_probability
        >= generator.complete("bad ", max_length=30).log_probability - 1e-9
    )
    assert best.text == completions[0].text


def test_sampled_candidates_are_reproducible(generator):
    kwargs = dict(temperature=0.8, num_candidates=4, random_seed=1, max_length=25)
    a = generator.complete("fe", **kwargs)
    assert [c.text for c in a] == [c.text for c in generator.complete("fe", **kwargs)]
    assert all("\n" not in c.text for c in a)
    scores = [c.log_probability for c in a]
    assert scores == sorted(scores, reverse=True)


def test_confidence_per_character(generator):
    completion = generator.complete("head ", max_length=20)
    for c in completion.characters:
        assert 0 < c.probability <= 1
        assert 0 <= c.entropy <= math.log2(10) + 1e-9
    plain = completion.to_dict()
    assert set(plain) == {"text", "log_probability", "finished"}
    detailed = completion.to_dict(confidence=True)
    assert "".join(ch["char"] for ch in detailed["characters"]) == completion.text


def test_context_extension_feeds_only_the_new_characters(generator):
    context = "bad cafe fed\nhead gag\n" * 20
    completer = Completer(generator.engine, generator.vocabulary)
    first = completer.complete("hea", context=context)
    assert completer.fed == len(context) + 3
    second = completer.complete("head b", context=context)
    assert completer.fed == 3  # "d b"
    # Editing inside the line restarts from the line's start, not the file's.
    with pytest.warns(UnknownCharactersWarning):
        third = completer.complete("hx", context=context)
    assert completer.fed == 1
    fresh = Completer(generator.engine, generator.vocabulary)
    for result, prefix in ((second, "head b"), (first, "hea")):
        again = fresh.complete(prefix, context=context)
        assert again.text == result.text
        assert again.log_probability == pytest.approx(result.log_probability, abs=1e-6)
    assert third.text == fresh.complete("h", context=context).text


def test_line_start_state_outlives_more_requests_than_the_cache_holds(generator):
    # An editor sends one request per keystroke; after more keystrokes than the
    # cache holds, going back to the start of the line must not re-read the file.
    context = "bad cafe fed\nhead gag\n" * 20
    completer = Completer(generator.engine, generator.vocabulary, cache_size=3)
    line = "head bad cafe"
    for end in range(1, len(line) + 1):
        completer.complete(line[:end], context=context)
    assert completer.fed == 1
    completer.complete("h", context=context)
    assert completer.fed == 1  # from the line's start, not len(context) + 1
    completer.complete("c", context=context)
    assert completer.fed == 1


def test_state_cache_evicts_the_least_recently_used():
    cache = StateCache(size=2)
    for n in (1, 2, 3):
        cache.store(np.arange(n), [np.zeros((1, 2))], np.zeros((1, 4)))
    assert [len(e[0]) for e in cache.entries] == [2, 3]
    assert len(cache.longest_prefix(np.arange(10))[0]) == 3
    assert cache.longest_prefix(np.array([5, 5])) is None
    cache.refresh(np.arange(2))  # now the most recently used: 3 goes first
    cache.store(np.arange(4), [np.zeros((1, 2))], np.zeros((1, 4)))
    assert [len(e[0]) for e in cache.entries] == [2, 4]


def test_bad_input(generator):
    with pytest.warns(UnknownCharactersWarning, match="'X'"):
        completion = generator.complete("heXad")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert completion.text == generator.complete("head").text
    with pytest.raises(ValueError, match="'X'"):
        generator.complete("heXad", strict=True)
    with pytest.raises(ValueError, match="prefix"):
        generator.complete("")
    with (
        pytest.warns(UnknownCharactersWarning),
        pytest.raises(ValueError, match="prefix"),
    ):
        generator.complete("XYZ")
    assert isinstance(generator.complete("", context="bad\n"), Completion)
    with pytest.raises(ValueError, match="max_length=0"):
        generator.complete("ab", max_length=0)
    with pytest.raises(ValueError, match="num_candidates=0"):
        generator.complete("ab", num_candidates=0)
    with pytest.raises(ValueError, match="beam_width=2"):
        generator.complete("ab", num_candidates=3, beam_width=2)
    with pytest.raises(ValueError, match="temperature"):
        generator.complete("ab", temperature=-1)
