"""The GPT-2 backend's data: the LSTM's stream split as text, and token windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charlstm.config import DataConfig
from charlstm.data.batches import StatefulBatches, minimum_corpus_length
from charlstm.utils.checks import InputError


@dataclass
class StreamSplit:
    """The LSTM's train/validation split of a text, as text."""

    train: list[str]  # the head of every stream (its training windows)
    validation: list[str]  # the tail of every stream: its validation targets


def split_streams(text: str, data: DataConfig) -> StreamSplit:
    """Splits `text` into streams and their validation tails as `StatefulBatches`
    does for `data.batch_size`, `data.sequence_length`, `data.validation_split`.

    Stream i holds characters `[i * L, (i + 1) * L]`; its first `n * T` windows
    are training, the rest validation. The head ends with the character the
    tail's first target follows, so the tails together are exactly the LSTM's
    validation targets.

    Example:
    >>> split = split_streams("abcdefghij" * 100, DataConfig(batch_size=4,
    ...                       sequence_length=10, validation_split=0.1))
    >>> len(split.train), sum(map(len, split.validation))
    (4, 80)
    """
    minimum = minimum_corpus_length(data.batch_size, data.sequence_length)
    if len(text) < minimum:
        raise InputError(
            f"the corpus is too small for the validation split of "
            f"{data.batch_size} streams of {data.sequence_length}-character windows: "
            f"it needs at least {minimum:,} characters. Received: {len(text):,} "
            "characters. Give more text, or a DataConfig with a smaller batch_size "
            "or sequence_length."
        )
    batches = StatefulBatches(
        np.zeros(len(text), dtype=np.uint8),
        data.batch_size,
        data.sequence_length,
        data.validation_split,
    )
    length = batches.inputs.shape[1]  # characters per stream
    head = batches.train.count * data.sequence_length
    train, validation = [], []
    for i in range(data.batch_size):
        start = i * length
        train.append(text[start : start + head + 1])
        validation.append(text[start + head + 1 : start + length + 1])
    return StreamSplit(train, validation)


def token_windows(pieces, sequence_length: int) -> np.ndarray:
    """Non-overlapping windows `(count, sequence_length + 1)` of the concatenated
    token pieces: inputs are `[:, :-1]`, targets `[:, 1:]`."""
    stream = np.concatenate([np.asarray(p, dtype=np.int32) for p in pieces])
    count = (len(stream) - 1) // sequence_length
    if count < 1:
        raise InputError(
            f"the corpus is too small for sequence_length={sequence_length}: its "
            f"training text has {len(stream):,} tokens and a window needs "
            f"{sequence_length + 1}. Use a smaller sequence_length or more text."
        )
    starts = np.arange(count) * sequence_length  # (count,)
    return stream[starts[:, None] + np.arange(sequence_length + 1)]  # (count, T + 1)
