"""The configuration and run directory of a GPT-2 run (no keras-hub needed).

A GPT-2 run directory follows the LSTM's conventions (`config.json`,
`history.csv`, `model.keras`, `last.keras`) with `tokenizer.json` in place of
`vocab.json`. Its `config.json` starts with `"backend": "gpt2"`, which is how
`charlstm.load` and the commands tell the two apart.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from charlstm.config import RunConfig, check, is_int, option
from charlstm.training.run_dir import RunFiles

BACKENDS = ("lstm", "gpt2")
# The fewest tokens a trained byte-level BPE can have: 256 bytes + <|endoftext|>.
MIN_VOCABULARY_SIZE = 257


@dataclass
class GPT2Config:
    """A GPT-2 language model and its optimizer (AdamW).

    The defaults are nanoGPT's CPU recipe size (4 layers, 4 heads, 128 wide,
    windows of 64 tokens, batch 12, no dropout) with a 1,024-token BPE.
    """

    vocabulary_size: int = option(
        1024, help="BPE tokens (trained to this size, or a preset's)"
    )
    num_layers: int = option(4, help="transformer blocks")
    num_heads: int = option(4, help="attention heads per block")
    hidden_dim: int = option(128, help="width of the residual stream")
    intermediate_dim: int = option(0, help="feed-forward width (0: 4 x hidden_dim)")
    sequence_length: int = option(
        64, help="tokens per training window; the evaluation context"
    )
    max_sequence_length: int = option(
        0, help="positions the model holds (0: sequence_length)"
    )
    dropout: float = option(0.0, help="dropout inside the blocks (a preset's too)")
    preset: str = option(
        "", help="keras-hub preset directory fine-tuned from", flag=False
    )
    learning_rate: float | None = option(
        None, help="AdamW learning rate (default: 1e-3, or 1e-4 from a preset)"
    )
    weight_decay: float = option(0.01, help="AdamW decoupled weight decay")
    clipnorm: float | None = option(1.0, help="gradient norm clipping")
    batch_size: int = option(12, help="windows per training step")
    characters_per_token: float = option(
        0.0, help="of the training text; sizes generation rounds", flag=False
    )

    def __post_init__(self):
        for name in ("num_layers", "num_heads", "hidden_dim"):
            value = getattr(self, name)
            check(
                is_int(value) and value >= 1,
                f"`{name}` must be an integer >= 1.",
                **{name: value},
            )
        check(
            is_int(self.sequence_length) and self.sequence_length >= 2,
            "`sequence_length` must be an integer >= 2.",
            sequence_length=self.sequence_length,
        )
        check(
            is_int(self.vocabulary_size)
            and (self.preset or self.vocabulary_size >= MIN_VOCABULARY_SIZE),
            f"`vocabulary_size` must be an integer >= {MIN_VOCABULARY_SIZE} (256 "
            "bytes and <|endoftext|>).",
            vocabulary_size=self.vocabulary_size,
        )
        check(
            self.hidden_dim % self.num_heads == 0,
            "`hidden_dim` must be a multiple of `num_heads`.",
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
        )
        for name in ("intermediate_dim", "max_sequence_length"):
            value = getattr(self, name)
            check(
                is_int(value) and value >= 0,
                f"`{name}` must be an integer >= 0.",
                **{name: value},
            )
        check(
            self.max_sequence_length == 0
            or self.sequence_length <= self.max_sequence_length,
            "`sequence_length` must be at most the model's `max_sequence_length`.",
            sequence_length=self.sequence_length,
            max_sequence_length=self.max_sequence_length,
        )
        check(
            is_int(self.batch_size) and self.batch_size >= 1,
            "`batch_size` must be an integer >= 1.",
            batch_size=self.batch_size,
        )
        check(
            0 <= self.dropout < 1, "`dropout` must be in [0, 1).", dropout=self.dropout
        )
        check(
            self.learning_rate is None
            or (self.learning_rate > 0 and math.isfinite(self.learning_rate)),
            "`learning_rate` must be a positive number or None.",
            learning_rate=self.learning_rate,
        )
        check(
            self.weight_decay >= 0,
            "`weight_decay` must be >= 0.",
            weight_decay=self.weight_decay,
        )
        check(
            self.clipnorm is None or self.clipnorm > 0,
            "`clipnorm` must be positive or None.",
            clipnorm=self.clipnorm,
        )

    @property
    def context_length(self) -> int:
        """Positions the model holds: `max_sequence_length`, or `sequence_length`."""
        return self.max_sequence_length or self.sequence_length


@dataclass
class GPT2RunConfig(RunConfig):
    """Everything needed to rebuild and continue a GPT-2 run; saved as `config.json`.

    `data` is the LSTM's `DataConfig`: its `batch_size`, `sequence_length` and
    `validation_split` define the held-out tails of the streams exactly as for an
    LSTM run with those settings (`charlstm.data.batches.StatefulBatches`), so both
    backends are validated on the same characters. GPT-2's own batch and window
    are `model.batch_size` and `model.sequence_length`.
    """

    model: GPT2Config = field(default_factory=GPT2Config)

    backend: ClassVar[str] = "gpt2"
    model_config: ClassVar[type] = GPT2Config


class GPT2RunFiles(RunFiles):
    """Paths of a GPT-2 run directory: `RunFiles` with `tokenizer.json` (the
    byte-level BPE, `tokenizers` format) as its vocabulary and no engine files."""

    def __init__(self, root: str | os.PathLike):
        super().__init__(root)
        self.vocabulary = self.root / "tokenizer.json"
        self.tokenizer = self.vocabulary

    @property
    def written(self) -> list[Path]:
        return [self.config, self.tokenizer, self.model, self.last, self.history]
