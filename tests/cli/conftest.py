"""Fixtures of the CLI tests: a run from before unknown ids."""

import numpy as np
import pytest

from charlstm.config import RunConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.model.build import build_model
from tests.helpers import ALPHABET, tiny_model_config


@pytest.fixture(scope="session")
def old_run(tmp_path_factory):
    """A run directory whose vocab.json has no "unknown" key (written before
    Unicode corpora): characters outside its vocabulary cannot be encoded. The
    model is a random tiny one (vocabulary 10); no training needed."""
    run = tmp_path_factory.mktemp("runs") / "old"
    run.mkdir()
    vocabulary = Vocabulary(ALPHABET)  # no unknown id
    config = tiny_model_config(vocabulary_size=vocabulary.size, dropout=0.0)
    model = build_model(config, batch_size=1)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    model.save(run / "model.keras")
    RunConfig(model=config).save(run / "config.json")
    vocabulary.save(run / "vocab.json")
    assert "unknown" not in (run / "vocab.json").read_text()
    return run
