import itertools

import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.infer.sampling import StopMatcher
from tests.helpers import ALPHABET


@pytest.fixture(scope="module")
def generator():
    """A random tiny model (no TensorFlow): vocabulary 10, 2 x 8 LSTM."""
    config = ModelConfig(
        vocabulary_size=10, num_layers=2, units=8, embedding_dim=4, dropout=0.0
    )
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, 0.8, s) for s in expected_shapes(config)]
    return TextGenerator(
        NumpyEngine(EngineWeights(config, arrays)), Vocabulary(ALPHABET)
    )


def test_generate_keeps_the_text_generator_contract(generator):
    text = generator.generate("abc", 30, random_seed=0)
    assert text.startswith("abc") and len(text) == 33
    assert generator.generate("abc", 0) == "abc"
    a = generator.generate("ab", 40, temperature=1.0, random_seed=7)
    assert a == generator.generate("ab", 40, temperature=1.0, random_seed=7)
    assert a != generator.generate("ab", 40, temperature=1.0, random_seed=8)
    texts = generator.generate("fed", 20, temperature=1.0, num_samples=3, random_seed=1)
    assert len(texts) == 3 and len(set(texts)) > 1
    with pytest.raises(ValueError, match=r"'X', 'z'"):
        generator.generate("abzX", 5)
    assert generator.generate("abzX", 5, strict=False).startswith("ab")
    with pytest.raises(ValueError, match="seed"):
        generator.generate("", 5)
    with pytest.raises(ValueError, match="length=-1"):
        generator.generate("abc", -1)
    with pytest.raises(ValueError, match="num_samples=0"):
        generator.generate("abc", 5, num_samples=0)


def test_greedy_matches_a_manual_argmax_loop(generator):
    engine = generator.engine
    engine.reset(1)
    probs = engine.feed(generator.vocabulary.encode("head ")[None])
    out = []
    for _ in range(25):
        out.append(int(probs[0].argmax()))
        probs = engine.step(np.array(out[-1:]))
    text = generator.generate("head ", 25, temperature=0.0)
    assert text == "head " + generator.vocabulary.decode(out)


def test_seeds_of_different_lengths_match_each_seed_alone(generator):
    seeds = ["a", "head bad ", "fe", "gag cafe hedge"]
    together = generator.generate(seeds, 30, temperature=0.0)
    assert together == [generator.generate(s, 30, temperature=0.0) for s in seeds]
    samples = generator.generate(seeds[:2], 10, temperature=1.0, num_samples=2)
    assert [len(group) for group in samples] == [2, 2]
    assert all(t.startswith("head bad ") for t in samples[1])


def test_stop_strings_end_each_sample_before_the_stop(generator):
    kwargs = dict(temperature=1.0, num_samples=4, random_seed=2)
    full = generator.generate("bad ", 120, **kwargs)
    stopped = generator.generate("bad ", 120, stop=["\n", "ee"], **kwargs)
    for whole, cut in zip(full, stopped, strict=True):
        generated = whole[4:]
        ends = [i for i in (generated.find("\n"), generated.find("ee")) if i >= 0]
        assert cut == "bad " + generated[: min(ends, default=len(generated))]
    assert (
        sum(len(cut) < len(whole) for whole, cut in zip(full, stopped, strict=True))
        >= 2
    )
    with pytest.raises(ValueError, match="stop"):
        generator.generate("bad ", 10, stop="")


@pytest.mark.parametrize("stop", [None, "\n", ["ab", "ba", "eee"], "fed "])
def test_stream_yields_what_generate_returns(generator, stop):
    kwargs = dict(temperature=1.0, random_seed=5, stop=stop)
    chars = list(generator.stream("cafe ", 150, **kwargs))
    assert all(len(c) == 1 for c in chars)
    assert "cafe " + "".join(chars) == generator.generate("cafe ", 150, **kwargs)


def test_stream_is_lazy(generator):
    stream = generator.stream("a", 10**9, temperature=1.0, random_seed=0)
    assert len(list(itertools.islice(stream, 5))) == 5  # does not run to the end


def test_stop_matcher_holds_back_partial_matches():
    matcher = StopMatcher(["abc", "bd"])
    assert matcher.held_back("xxab") == 2
    assert matcher.held_back("xxb") == 1
    assert matcher.held_back("xxa") == 1
    assert matcher.held_back("xxc") == 0
    assert matcher.find("xxabc", 4) == 2  # "abc" ends in the new text
    assert matcher.find("xxabc", 5) is None  # it was already there


def test_vocabulary_must_fit_the_model(generator):
    weights = EngineWeights(generator.config, generator.weights)
    with pytest.raises(ValueError, match="vocabulary_size=10"):
        TextGenerator(NumpyEngine(weights), Vocabulary("abc"))


def test_length_of_counts_in_the_units_of_length(generator):
    from charlstm.data.tokens import TokenVocabulary

    assert generator.length_of("abc\nd") == 5  # characters
    vocabulary = TokenVocabulary.from_text("self.x = self.y\n", max_tokens=20)
    config = ModelConfig(
        vocabulary_size=vocabulary.size, num_layers=1, units=4, embedding_dim=2
    )
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, 0.8, s) for s in expected_shapes(config)]
    words = TextGenerator(NumpyEngine(EngineWeights(config, arrays)), vocabulary)
    assert words.length_of("self.x") == 3  # tokens: "self", ".", "x"
