import math

import numpy as np
import pytest

import charlstm
from charlstm.config import ModelConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.eval.heldout import evaluate
from charlstm.infer.generator import TextGenerator
from charlstm.model.build import build_model
from tests.helpers import ALPHABET, make_text


def uniform_generator(engine="numpy", unknown=True):
    """A model whose output layer is zero: every id has probability 1/size."""
    vocabulary = Vocabulary(ALPHABET, unknown=unknown)
    config = ModelConfig(
        vocabulary_size=vocabulary.size, num_layers=1, units=8, embedding_dim=4
    )
    model = build_model(config, batch_size=1)
    weights = model.get_weights()
    weights[-2][:] = 0  # softmax kernel
    weights[-1][:] = 0  # softmax bias
    model.set_weights(weights)
    return TextGenerator.from_model(model, vocabulary, config, engine)


def manual_nll(generator, ids, before=None) -> float:
    """Summed NLL of `ids` read from a fresh state after `before` (an id; None:
    a newline), by hand with the batch-1 Keras model."""
    if before is None:
        before = generator.vocabulary.encode("\n")[0]
    inputs = np.concatenate([[before], ids[:-1]])[None].astype("int32")
    model = generator.inference_model(1)
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
    probs = np.asarray(model(inputs))[0]  # (time, vocab)
    return float(-np.log(probs[np.arange(len(ids)), ids]).sum())


@pytest.mark.parametrize("engine", ["numpy", "keras"])
def test_golden_values_for_a_uniform_model(engine):
    scores = evaluate(uniform_generator(engine), text=make_text(500))
    assert scores["loss"] == pytest.approx(math.log(11), rel=1e-6)  # 10 + unknown
    assert scores["bits_per_char"] == pytest.approx(math.log2(11), rel=1e-6)
    assert scores["perplexity"] == pytest.approx(11, rel=1e-5)
    assert scores["characters"] == 500  # every character, the first one too
    assert scores["unknown_characters"] == 0


def test_matches_a_manual_stateful_pass(trained_run):
    generator = charlstm.load(trained_run, engine="keras")
    text = make_text(700, seed=9)
    ids = generator.vocabulary.encode(text)
    # Fed 64 characters per call, with the state carried between calls.
    scores = evaluate(generator, text=text, num_streams=1, sequence_length=64)
    assert scores["characters"] == len(text)
    assert scores["loss"] == pytest.approx(
        manual_nll(generator, ids) / len(ids), rel=1e-5
    )


def test_numpy_and_keras_engines_give_the_same_figure(trained_run):
    text = make_text(2000, seed=4)
    numpy_scores = evaluate(charlstm.load(trained_run, engine="numpy"), text=text)
    keras_scores = evaluate(charlstm.load(trained_run, engine="keras"), text=text)
    assert numpy_scores["characters"] == keras_scores["characters"] == 2000
    assert abs(numpy_scores["loss"] - keras_scores["loss"]) <= 1e-5


@pytest.mark.parametrize("length", [1001, 1004, 7])
def test_streams_score_every_character_once(trained_run, length):
    """Streams of ceil(n / 4) characters, the last one padded: the summed NLL is
    that of each stream read on its own (the first after a newline, the others
    after the character before them), so nothing is skipped or counted twice."""
    generator = charlstm.load(trained_run, engine="keras")
    ids = generator.vocabulary.encode(make_text(length, seed=2))
    scores = evaluate(generator, ids=ids, num_streams=4, sequence_length=7)
    assert scores["characters"] == length
    size = -(-length // 4)
    expected = manual_nll(generator, ids[:size])
    for start in range(size, length, size):  # read after the character before
        expected += manual_nll(generator, ids[start : start + size], ids[start - 1])
    assert scores["loss"] * length == pytest.approx(expected, rel=1e-5)


def test_unknown_characters_are_scored_as_the_unknown_id_and_counted():
    scores = evaluate(uniform_generator(), text="abcXYZ" * 10)
    assert scores["characters"] == 60
    assert scores["unknown_characters"] == 30 and scores["unknown_dropped"] == 0
    assert scores["loss"] == pytest.approx(math.log(11), rel=1e-6)
    assert scores["bits_per_char_known"] == pytest.approx(math.log2(11), rel=1e-6)


def test_a_vocabulary_without_an_unknown_id_drops_them():
    """Runs written before unknown ids: the characters are dropped and counted."""
    scores = evaluate(uniform_generator(unknown=False), text="abcXYZ" * 10)
    assert scores["unknown_dropped"] == 30
    assert scores["characters"] == 30 and scores["unknown_characters"] == 0
    assert scores["loss"] == pytest.approx(math.log(10), rel=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="no characters"):
        evaluate(uniform_generator(unknown=False), text="XYZ")
    with pytest.raises(ValueError, match="`text` or `ids`"):
        evaluate(uniform_generator())
    with pytest.raises(ValueError, match="num_streams"):
        evaluate(uniform_generator(), text="abcabc", num_streams=10)
