"""GPT-2's byte-level BPE, with the `tokenizers` package.

Trained on a run's training text (`train_tokenizer`), or read from a keras-hub
GPT-2 preset's `assets/tokenizer/vocabulary.json` and `merges.txt`
(`preset_tokenizer`): the same pre-tokenization (GPT-2's regex over bytes mapped
to printable characters), so a preset's text is split as keras-hub's
`GPT2Tokenizer` splits it, except for runs of spaces before a word, where
`tokenizers` follows OpenAI's regex (`\\s+(?!\\S)`: "\\n    return" is "\\n   "
and " return") and keras-hub, without look-ahead, does not. Every string can be
encoded; decoding gives the text back exactly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from charlstm.backends import require_gpt2
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_path

require_gpt2("tokenizers")

import tokenizers  # noqa: E402
from tokenizers import decoders, models, pre_tokenizers, trainers  # noqa: E402

END_OF_TEXT = "<|endoftext|>"  # GPT-2's document separator, a special token


def _byte_level(model) -> tokenizers.Tokenizer:
    tokenizer = tokenizers.Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_tokenizer(
    texts: Iterable[str], vocabulary_size: int, min_frequency: int = 2
) -> tokenizers.Tokenizer:
    """Trains a byte-level BPE of exactly `vocabulary_size` tokens.

    The vocabulary is the 256 bytes, `<|endoftext|>` and the merges learned, most
    frequent first; a merge needs a pair seen `min_frequency` times.

    Args:
        texts: iterable of str. The training text (pieces are not merged across).
        vocabulary_size: int. Tokens wanted, at least 257.
        min_frequency: int. Occurrences a pair needs to become a token.

    Example:
    >>> tokenizer = train_tokenizer([open("input.py").read()], 1024)
    >>> tokenizer.encode("def f(x):").ids
    """
    from charlstm.backends.gpt2.config import MIN_VOCABULARY_SIZE

    if vocabulary_size < MIN_VOCABULARY_SIZE:
        raise InputError(
            f"`vocabulary_size` must be at least {MIN_VOCABULARY_SIZE} (256 bytes "
            f"and {END_OF_TEXT}). Received: vocabulary_size={vocabulary_size}"
        )
    tokenizer = _byte_level(models.BPE())
    trainer = trainers.BpeTrainer(
        vocab_size=vocabulary_size,
        min_frequency=min_frequency,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    reached = tokenizer.get_vocab_size()
    if reached < vocabulary_size:
        raise InputError(
            f"`vocabulary_size` cannot be reached on this corpus: the tokenizer "
            f"found only {reached - MIN_VOCABULARY_SIZE} merges of pairs seen "
            f"{min_frequency}+ times, {reached} tokens in all. Received: "
            f"vocabulary_size={vocabulary_size}. Use at most {reached}, or more text."
        )
    return tokenizer


def preset_tokenizer(preset_dir: str | os.PathLike) -> tokenizers.Tokenizer:
    """The byte-level BPE of a keras-hub GPT-2 preset directory."""
    assets = Path(preset_dir) / "assets" / "tokenizer"
    vocabulary, merges = assets / "vocabulary.json", assets / "merges.txt"
    missing = [p.name for p in (vocabulary, merges) if not p.is_file()]
    if missing:
        raise InputError(
            "`preset` must be a keras-hub GPT-2 preset directory with its tokenizer "
            f"(assets/tokenizer/vocabulary.json and merges.txt; missing "
            f"{', '.join(missing)}). Received: preset={str(preset_dir)!r}"
        )
    return _byte_level(models.BPE.from_file(str(vocabulary), str(merges)))


def save_tokenizer(tokenizer: tokenizers.Tokenizer, path: str | os.PathLike) -> None:
    """Writes the tokenizer as `tokenizers` JSON, atomically."""
    with atomic_path(path) as tmp:
        tokenizer.save(str(tmp))


def load_tokenizer(path: str | os.PathLike) -> tokenizers.Tokenizer:
    """Reads a tokenizer written by `save_tokenizer`."""
    return tokenizers.Tokenizer.from_file(str(path))


def encode(tokenizer: tokenizers.Tokenizer, texts: Sequence[str]) -> list[np.ndarray]:
    """The token ids of every text, as int32 arrays."""
    return [
        np.asarray(e.ids, dtype=np.int32) for e in tokenizer.encode_batch(list(texts))
    ]


def decode(tokenizer: tokenizers.Tokenizer, ids) -> str:
    """The text of token ids (special tokens kept as their text)."""
    return tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)
