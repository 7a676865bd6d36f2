"""Shared by the GPT-2 tests: a small Python-like corpus and a tiny GPT-2.

The corpus has enough distinct words for a 300-token byte-level BPE (the
conftest text's 8 words give too few merges)."""

import numpy as np

NAMES = [
    "value",
    "items",
    "count",
    "total",
    "index",
    "result",
    "name",
    "path",
    "self",
    "other",
    "data",
    "key",
    "line",
    "text",
    "size",
    "node",
]
TEMPLATES = [
    "def {a}_{b}({a}, {b}):\n    return {a} + {b}\n\n",
    "for {a} in {b}:\n    {c} = {a} * {n}\n",
    "if {a} > {n}:\n    {b}.append({c})\nelse:\n    {b} = None\n",
    "class {A}({B}):\n    def __init__(self, {a}):\n        self.{a} = {a}\n\n",
    "{a} = [{b} for {b} in range({n})]\n",
    "# {a} and {b} of the {c}\n",
]


def make_code(length: int = 12000, seed: int = 0) -> str:
    """Python-like text from a few templates over 16 names."""
    rng = np.random.default_rng(seed)
    out, size = [], 0
    while size < length:
        a, b, c = (NAMES[i] for i in rng.choice(len(NAMES), 3, replace=False))
        piece = TEMPLATES[rng.integers(len(TEMPLATES))].format(
            a=a, b=b, c=c, A=a.title(), B=b.title(), n=int(rng.integers(100))
        )
        out.append(piece)
        size += len(piece)
    return "".join(out)[:length]


def tiny_gpt2_config(**overrides):
    """A tiny GPT-2: 2 layers, 2 heads, 32 wide, windows of 16, a 300-token BPE."""
    from charlstm.backends.gpt2.config import GPT2Config

    settings = dict(
        vocabulary_size=300,
        num_layers=2,
        num_heads=2,
        hidden_dim=32,
        sequence_length=16,
        batch_size=16,
    )
    settings.update(overrides)
    return GPT2Config(**settings)


def tiny_data_config():
    """The LSTM split of the tests: 4 streams, windows of 8, 10% validation."""
    from charlstm.config import DataConfig

    return DataConfig(batch_size=4, sequence_length=8, validation_split=0.1)
