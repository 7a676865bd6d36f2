"""Variable truncation lengths on the stateful layout (AWD-LSTM's variable BPTT,
Merity, Keskar and Socher 2018, "Regularizing and Optimizing LSTM Language
Models", section 4.1): the lengths of one epoch's training batches, drawn from
(seed, epoch), and that epoch's batches cut at cumulative offsets
(`charlstm.data.batches.StatefulBatches` draws the layout)."""

from __future__ import annotations

import numpy as np

# AWD-LSTM's draw: the base length is sequence_length with this probability,
# else half of it; the length is normal around the base.
FULL_LENGTH_PROBABILITY = 0.95
MIN_LENGTH = 5  # AWD's max(5, ...): no batch shorter (unless sequence_length is)
# Lengths are sequence_length plus a multiple of this. Keras traces its train
# step again for every new input shape until `reduce_retracing` relaxes it to
# any length (after the second shape in Keras 3); other compilers do not relax
# (XLA's `jit_compile`, cuDNN's kernels chosen per shape). A few shapes keep
# that cost bounded on every engine: about 2 * std / 5 + 2 around each base
# length, instead of one per character of length.
LENGTH_MULTIPLE = 5


def length_bounds(sequence_length: int) -> tuple[int, int]:
    """The shortest and the longest variable length around `sequence_length`."""
    return min(MIN_LENGTH, sequence_length), 2 * sequence_length


def draw_lengths(rng, count: int, sequence_length: int, std: float) -> np.ndarray:
    """`count` truncation lengths as AWD-LSTM draws them, rounded and clipped.

    The base is `sequence_length` with probability 0.95, else half of it; the
    length is drawn from a normal distribution around the base with `std`,
    rounded to `sequence_length` plus a multiple of `LENGTH_MULTIPLE`, and
    clipped to `length_bounds(sequence_length)`.

    Args:
        rng: numpy.random.Generator.
        count: int. Number of lengths.
        sequence_length: int. The base length.
        std: float. Standard deviation of the normal draw.
    """
    full = rng.random(count) < FULL_LENGTH_PROBABILITY
    base = np.where(full, sequence_length, sequence_length / 2)
    drawn = rng.normal(base, std)
    steps = np.round((drawn - sequence_length) / LENGTH_MULTIPLE)
    lengths = sequence_length + LENGTH_MULTIPLE * steps
    return np.clip(lengths, *length_bounds(sequence_length)).astype(np.int64)


def draw_epoch_lengths(
    total: int, sequence_length: int, std: float, seed: int, epoch: int
) -> np.ndarray:
    """The lengths of one epoch's training batches: `draw_lengths` until they
    cover `total` characters, the last one cut to what is left.

    A pure function of its arguments, so a run resumed inside an epoch cuts it
    where the uninterrupted run did.
    """
    rng = np.random.default_rng([seed, epoch])
    parts, covered = [], 0
    while covered < total:
        # About as many as needed; the next draws continue the same stream.
        part = draw_lengths(
            rng, (total - covered) // sequence_length + 8, sequence_length, std
        )
        parts.append(part)
        covered += int(part.sum())
    lengths = np.concatenate(parts)
    ends = np.cumsum(lengths)
    last = int(np.searchsorted(ends, total))  # the first batch reaching `total`
    lengths = lengths[: last + 1]
    lengths[-1] -= ends[last] - total
    return lengths


class VariableLengthBatches:
    """One epoch's training batches of `batch_size` parallel streams, cut at
    cumulative offsets (`StatefulBatches` with `variable_length`).

    Batch k is `(x, y)`, both `(batch_size, lengths[k])` int32 arrays, with
    `x[i] = streams_x[i, offsets[k] : offsets[k + 1]]`.

    Args:
        inputs: array (streams, length). Input ids of every stream.
        targets: array (streams, length). The same, shifted by one character.
        lengths: 1-D integer array. Characters of every batch, from offset 0.
    """

    def __init__(self, inputs, targets, lengths):
        self.inputs = inputs  # (streams, stream_length)
        self.targets = targets  # (streams, stream_length)
        self.lengths = np.asarray(lengths)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def num_batches(self) -> int:
        return len(self.lengths)

    @property
    def characters(self) -> int:
        """Number of target characters in one pass."""
        return int(self.offsets[-1]) * self.batch_size

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index):
        count = len(self.lengths)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"batch index {index} out of range [0, {count})")
        start, stop = self.offsets[index], self.offsets[index + 1]
        x = np.ascontiguousarray(self.inputs[:, start:stop], dtype=np.int32)
        y = np.ascontiguousarray(self.targets[:, start:stop], dtype=np.int32)
        return x, y  # (batch, lengths[index]), (batch, lengths[index])
