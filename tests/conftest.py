"""Shared fixtures: a tiny corpus (vocabulary 10) and tiny models (8 units)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import charlstm  # noqa: E402

ALPHABET = "abcdefgh \n"  # 10 characters


def make_text(length: int = 3000, seed: int = 0) -> str:
    """Text over ALPHABET with learnable structure: words from a small lexicon."""
    rng = np.random.default_rng(seed)
    words = ["abc", "bad", "cafe", "fed", "gag", "head", "hedge", "beef"]
    out, size = [], 0
    while size < length:
        word = words[rng.integers(len(words))]
        sep = "\n" if rng.random() < 0.15 else " "
        out.append(word + sep)
        size += len(word) + 1
    return "".join(out)[:length]


def tiny_config(**overrides):
    """A tiny model: vocabulary 10, 2 layers of 8 units, sequence 5, batch 4."""
    settings = dict(
        num_layers=2,
        units=8,
        embedding_dim=4,
        dropout=0.0,
        batch_size=4,
        sequence_length=5,
        epochs=1,
        random_seed=0,
        learning_rate=0.01,
        validation_split=0.1,
    )
    settings.update(overrides)
    return charlstm.make_config(**settings)


def tiny_model_config(cell="lstm", encoding="embedding", **overrides):
    """A tiny random-model config: vocabulary 10, 2 layers of 8 units."""
    from charlstm.config import ModelConfig

    settings = dict(
        vocabulary_size=10,
        cell=cell,
        num_layers=2,
        units=8,
        embedding_dim=4,
        input_encoding=encoding,
        dropout=0.5,  # inactive at inference: the engine has no dropout
    )
    settings.update(overrides)
    return ModelConfig(**settings)


@pytest.fixture
def text():
    return make_text()


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A run directory with a tiny model trained for 2 epochs."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    charlstm.train(text=make_text(), run_dir=run_dir, config=tiny_config(epochs=2))
    return run_dir


@pytest.fixture
def site():
    """A local HTTP server on 127.0.0.1 serving pages the test puts in `site`."""
    from tests.corpus_server import Site, serve

    site = Site()
    stop = serve(site)
    try:
        yield site
    finally:
        stop()
