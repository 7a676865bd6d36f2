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


def uniform_generator(engine="numpy"):
    """A model whose output layer is zero: every character has probability 1/10."""
    config = ModelConfig(
        vocabulary_size=10, num_layers=1, units=8, embedding_dim=4, dropout=0
    )
    model = build_model(config, batch_size=1)
    weights = model.get_weights()
    weights[-2][:] = 0  # softmax kernel
    weights[-1][:] = 0  # softmax bias
    model.set_weights(weights)
    return TextGenerator.from_model(model, Vocabulary(ALPHABET), config, engine)


@pytest.mark.parametrize("engine", ["numpy", "keras"])
def test_golden_values_for_a_uniform_model(engine):
    scores = evaluate(uniform_generator(engine), text=make_text(500))
    assert scores["loss"] == pytest.approx(math.log(10), rel=1e-6)
    assert scores["bits_per_char"] == pytest.approx(math.log2(10), rel=1e-6)
    assert scores["perplexity"] == pytest.approx(10, rel=1e-5)
    assert scores["characters"] == 499


def test_matches_a_manual_stateful_pass(trained_run):
    generator = charlstm.load(trained_run)
    text = make_text(700, seed=9)
    ids = generator.vocabulary.encode(text)
    probs = np.asarray(generator.inference_model(1)(ids[None, :-1].astype("int32")))[0]
    manual = -np.mean(np.log(probs[np.arange(len(ids) - 1), ids[1:]]))
    # Fed 64 characters per call, with the state carried between calls.
    scores = evaluate(generator, text=text, num_streams=1, sequence_length=64)
    assert scores["loss"] == pytest.approx(manual, rel=1e-5)
    assert scores["characters"] == len(ids) - 1


def test_numpy_and_keras_engines_give_the_same_figure(trained_run):
    text = make_text(2000, seed=4)
    numpy_scores = evaluate(charlstm.load(trained_run, engine="numpy"), text=text)
    keras_scores = evaluate(charlstm.load(trained_run, engine="keras"), text=text)
    assert numpy_scores["characters"] == keras_scores["characters"] == 1999
    assert abs(numpy_scores["loss"] - keras_scores["loss"]) <= 1e-5


def test_streams_score_every_kept_character_once(trained_run):
    generator = charlstm.load(trained_run)
    scores = evaluate(generator, text=make_text(1001), num_streams=4, sequence_length=7)
    assert scores["characters"] == 1000


def test_unknown_characters_are_dropped_and_counted():
    scores = evaluate(uniform_generator(), text="abcXYZ" * 10)
    assert scores["unknown_dropped"] == 30
    assert scores["characters"] == 29


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        evaluate(uniform_generator(), text="a")
    with pytest.raises(ValueError, match="num_streams"):
        evaluate(uniform_generator(), text="abcabc", num_streams=10)
