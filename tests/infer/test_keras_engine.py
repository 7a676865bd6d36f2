import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine_weights import EngineWeights
from charlstm.infer.generator import TextGenerator
from charlstm.infer.keras_engine import KerasEngine
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.model.build import build_model
from tests.helpers import ALPHABET


@pytest.fixture(scope="module")
def model_and_config():
    config = ModelConfig(
        vocabulary_size=10, cell="gru", num_layers=2, units=8, embedding_dim=4
    )
    return build_model(config, batch_size=1), config


def test_keras_engine_matches_the_numpy_engine(model_and_config):
    model, config = model_and_config
    slow = KerasEngine(config, model.get_weights())
    fast = NumpyEngine(EngineWeights(config, model.get_weights()))
    ids = np.array([[0, 0, 1, 2, 3], [4, 5, 6, 7, 8]])
    for engine in (slow, fast):
        engine.reset(2)
    np.testing.assert_allclose(
        slow.feed(ids, lengths=[3, 5]), fast.feed(ids, lengths=[3, 5]), atol=1e-5
    )
    for engine in (slow, fast):
        engine.select([1, 0, 1])
    assert slow.batch_size == fast.batch_size == 3
    np.testing.assert_allclose(
        slow.step(np.array([1, 2, 3])), fast.step(np.array([1, 2, 3])), atol=1e-5
    )
    for a, b in zip(slow.get_state(), fast.get_state(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_keras_generator_streams_and_completes_like_the_numpy_one(
    model_and_config,
):
    model, config = model_and_config
    vocabulary = Vocabulary(ALPHABET)
    slow = TextGenerator.from_model(model, vocabulary, config, engine="keras")
    fast = TextGenerator.from_model(model, vocabulary, config, engine="numpy")
    kwargs = dict(temperature=1.0, random_seed=3, stop="\n")
    assert list(slow.stream("head ", 30, **kwargs)) == list(
        fast.stream("head ", 30, **kwargs)
    )
    a = slow.complete("bad c", num_candidates=2, max_length=15)
    b = fast.complete("bad c", num_candidates=2, max_length=15)
    assert [c.text for c in a] == [c.text for c in b]
    np.testing.assert_allclose(
        [c.log_probability for c in a], [c.log_probability for c in b], atol=1e-4
    )
