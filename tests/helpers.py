"""Test helpers: a tiny corpus (vocabulary 10) and tiny model configs (8 units)."""

import numpy as np

import charlstm

ALPHABET = "abcdefgh \n"  # 10 characters

# The test process's thread pools, as tests/conftest.py set them before
# TensorFlow started (None: TensorFlow's own). Child processes that import
# this module keep theirs.
POOLS = None


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


# Dynamic completion: a context that repeats an identifier of no word of the
# corpus ("gagbeef"), and the steps of the rms rule tried, in order, for one
# at which the tiny LSTM run learns it (the `dynamic_step` fixture).
REPEATED = "fed cafe\nhead gagbeef\n" * 40
ADAPTATION_STEPS = (0.065, 0.055, 0.05, 0.06, 0.07, 0.075, 0.045, 0.08, 0.04, 0.09)
