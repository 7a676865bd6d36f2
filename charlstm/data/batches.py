"""Interleaved stateful batches, and stateless windows for comparison.

A stateful RNN keeps each row's state from one batch to the next, so row i of
batch k+1 must be the text that follows row i of batch k. `StatefulBatches`
cuts the corpus into `batch_size` contiguous streams and walks them side by side,
`sequence_length` characters at a time. With 3 streams, windows of 4, and a
validation tail of one window per stream (B = batch, s = stream):

    corpus:  s0 ------------------| s1 ------------------| s2 ------------------|
             [ 0  1  2  3][ 4.. 7][ 8..11] [12..15][..]..  ...

                     train batch 0   train batch 1   train batch 2 | val batch 0
    row 0 (stream 0)   s0[ 0: 4]  ->   s0[ 4: 8]  ->   s0[ 8:12]   |  s0[12:16]
    row 1 (stream 1)   s1[ 0: 4]  ->   s1[ 4: 8]  ->   s1[ 8:12]   |  s1[12:16]
    row 2 (stream 2)   s2[ 0: 4]  ->   s2[ 4: 8]  ->   s2[ 8:12]   |  s2[12:16]

Targets are the inputs shifted by one character (many-to-many); windows never
overlap, and every character of the kept region is a target exactly once per
epoch. The last target of stream i is the first input of stream i+1, so nothing
between streams is lost. Validation is the tail of every stream, so it continues
each stream's state where training left it. Nothing is ever shuffled.

With `variable_length` (AWD-LSTM's variable truncation, Merity, Keskar and
Socher 2018, section 4.1), every epoch cuts the same training part at other
places: training batch k holds the next `lengths[k]` characters of every
stream, the lengths drawn anew for every epoch (`draw_epoch_lengths`) and
summing to the training part. Here epoch e draws 8, then 4 (what is left), and
validation is unchanged:

                     train batch 0   train batch 1 | val batch 0
    row 0 (stream 0)   s0[ 0: 8]  ->   s0[ 8:12]   |  s0[12:16]
    row 1 (stream 1)   s1[ 0: 8]  ->   s1[ 8:12]   |  s1[12:16]
    row 2 (stream 2)   s2[ 0: 8]  ->   s2[ 8:12]   |  s2[12:16]

Row i still continues row i of the batch before, and every training character
is a target exactly once per epoch; only the number of batches varies.

The corpus is kept as one array of integer ids (a numpy array or a memory map);
every batch is a view of it, sliced when asked for.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from charlstm.data.variable_lengths import VariableLengthBatches, draw_epoch_lengths
from charlstm.utils.checks import InputError, check_count

# Epochs whose variable-length batches `StatefulBatches.total_steps` counts one
# by one; later ones are counted at their mean.
EXACT_EPOCHS = 1_000


def _as_ids(ids) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise InputError(
            f"`ids` must be a 1-D array of integer character ids. Received: "
            f"shape={ids.shape}, dtype={ids.dtype}"
        )
    return ids


class StreamBatches(keras.utils.PyDataset):
    """Consecutive windows of `batch_size` parallel streams; a Keras `PyDataset`.

    Batch k is `(x, y)`, both `(batch_size, sequence_length)` int32 arrays, with
    `x[i] = streams_x[i, (first + k) * T : (first + k + 1) * T]`.

    Args:
        inputs: array (streams, length). Input ids of every stream.
        targets: array (streams, length). The same, shifted by one character.
        sequence_length: int. Characters per window.
        first: int. Index of the first window (in units of `sequence_length`).
        count: int. Number of windows.
    """

    def __init__(self, inputs, targets, sequence_length, first, count):
        super().__init__()
        self.inputs = inputs  # (streams, stream_length)
        self.targets = targets  # (streams, stream_length)
        self.sequence_length = sequence_length
        self.first = first
        self.count = count

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def num_batches(self) -> int:
        return self.count

    @property
    def characters(self) -> int:
        """Number of target characters in one pass."""
        return self.count * self.batch_size * self.sequence_length

    def __len__(self) -> int:
        return self.count

    def as_arrays(self):
        """All batches as two arrays `(count * batch_size, sequence_length)`.

        Rows `k * B .. (k + 1) * B` are batch k, so `fit(x, y, batch_size=B,
        shuffle=False)` sees exactly the batches of this dataset, in order. Keras
        slices arrays without a Python generator, which trains about 30% faster
        than a `PyDataset` on CPU (docs/benchmarks.md). Ids keep their compact
        dtype: the copy is two bytes per character for a `uint8` corpus.
        """
        start = self.first * self.sequence_length
        stop = start + self.count * self.sequence_length
        shape = (self.batch_size, self.count, self.sequence_length)

        def batch_major(streams):
            windows = streams[:, start:stop].reshape(shape)  # (B, count, T)
            return windows.transpose(1, 0, 2).reshape(-1, self.sequence_length)

        return batch_major(self.inputs), batch_major(self.targets)  # (count * B, T)

    def __getitem__(self, index):
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(f"batch index {index} out of range [0, {self.count})")
        start = (self.first + index) * self.sequence_length
        stop = start + self.sequence_length
        x = np.ascontiguousarray(self.inputs[:, start:stop], dtype=np.int32)
        y = np.ascontiguousarray(self.targets[:, start:stop], dtype=np.int32)
        return x, y  # (batch, time), (batch, time)


class StatefulBatches:
    """Cuts a corpus of ids into interleaved batches for a stateful RNN.

    Args:
        ids: 1-D integer array. The encoded corpus (may be a memory map).
        batch_size: int. Number of parallel streams (rows per batch).
        sequence_length: int. Characters per window (time steps per batch).
        validation_split: float in (0, 0.5). Share of every stream's windows kept,
            from its tail, for validation (at least one window).
        variable_length: bool. Cut every epoch's training part into batches of
            lengths drawn as AWD-LSTM does (`train_batches`, `draw_epoch_lengths`).
        variable_length_std: float. Standard deviation of the drawn lengths.
        seed: int. With `epoch`, picks the drawn lengths.

    Attributes:
        train: `StreamBatches`. The training batches of `sequence_length`, for
            `model.fit` (with `variable_length`, the region that
            `train_batches(epoch)` cuts otherwise).
        validation: `StreamBatches`. The validation batches, from the stream tails.

    Example:
    >>> batches = StatefulBatches(np.arange(1000) % 7, batch_size=4,
    ...                           sequence_length=10, validation_split=0.1)
    >>> x, y = batches.train[0]  # (4, 10) each; y[:, :-1] == x[:, 1:]
    >>> varied = StatefulBatches(np.arange(1000) % 7, 4, 10, 0.1,
    ...                          variable_length=True)
    >>> x, y = varied.train_batches(epoch=0)[0]  # (4, length) each
    """

    def __init__(
        self,
        ids,
        batch_size: int,
        sequence_length: int,
        validation_split=0.05,
        *,
        variable_length: bool = False,
        variable_length_std: float = 5.0,
        seed: int = 0,
    ):
        ids = _as_ids(ids)
        check_count("batch_size", batch_size)
        check_count("sequence_length", sequence_length)
        if not 0 < validation_split < 0.5:
            raise InputError(
                "`validation_split` must be in (0, 0.5). "
                f"Received: {validation_split!r}"
            )
        if not 0 <= variable_length_std < math.inf:
            raise InputError(
                "`variable_length_std` must be a number >= 0. "
                f"Received: variable_length_std={variable_length_std!r}"
            )
        minimum = minimum_corpus_length(batch_size, sequence_length)
        if len(ids) < minimum:
            raise InputError(
                f"the corpus is too small for batch_size={batch_size} and "
                f"sequence_length={sequence_length}: it needs at least {minimum:,} "
                f"characters (two windows per stream plus one). Received: "
                f"{len(ids):,} characters. Use a smaller batch_size or sequence_length."
            )
        self.batch_size = int(batch_size)
        self.sequence_length = int(sequence_length)
        self.validation_split = float(validation_split)
        self.variable_length = bool(variable_length)
        self.variable_length_std = float(variable_length_std)
        self.seed = int(seed)
        self._lengths = (None, None)  # the last epoch asked for, its lengths

        windows = (len(ids) - 1) // batch_size // sequence_length  # per stream
        stream_length = windows * sequence_length
        kept = batch_size * stream_length
        # Views, never copies: stream i is ids[i * L : (i + 1) * L].
        self.inputs = ids[:kept].reshape(batch_size, stream_length)  # (B, L)
        self.targets = ids[1 : kept + 1].reshape(batch_size, stream_length)  # (B, L)

        num_validation = min(windows - 1, max(1, round(windows * validation_split)))
        num_train = windows - num_validation
        self.train = StreamBatches(
            self.inputs, self.targets, sequence_length, 0, num_train
        )
        self.validation = StreamBatches(
            self.inputs, self.targets, sequence_length, num_train, num_validation
        )

    @property
    def kept_characters(self) -> int:
        """Number of characters used as targets (train plus validation)."""
        return self.inputs.size

    def epoch_lengths(self, epoch: int) -> np.ndarray:
        """The lengths of the training batches of `epoch` (0-based), read-only:
        `sequence_length` each, or with `variable_length` drawn for the epoch."""
        if self._lengths[0] == epoch:
            return self._lengths[1]
        total = self.train.count * self.sequence_length  # per stream
        if self.variable_length:
            lengths = draw_epoch_lengths(
                total, self.sequence_length, self.variable_length_std, self.seed, epoch
            )
        else:
            lengths = np.full(self.train.count, self.sequence_length)
        lengths.flags.writeable = False
        self._lengths = (epoch, lengths)
        return lengths

    def train_batches(self, epoch: int) -> StreamBatches | VariableLengthBatches:
        """The training batches of `epoch`: `train`, or with `variable_length`
        the training part cut at the epoch's lengths."""
        if not self.variable_length:
            return self.train
        return VariableLengthBatches(
            self.inputs, self.targets, self.epoch_lengths(epoch)
        )

    def steps_per_epoch(self, epoch: int) -> int:
        """The number of training batches of `epoch`."""
        return len(self.epoch_lengths(epoch))

    def total_steps(self, epochs: int) -> int:
        """The number of training batches in epochs 0 .. `epochs` - 1.

        With variable lengths the first `EXACT_EPOCHS` epochs are counted one by
        one and any further ones at their mean: drawing the lengths of every
        epoch of a run given a huge number of epochs and a time budget took a
        minute per million epochs, before the first batch.
        """
        if not self.variable_length:
            return self.train.count * epochs
        exact = min(epochs, EXACT_EPOCHS)
        counted = sum(self.steps_per_epoch(e) for e in range(exact))
        return counted + round(counted / max(exact, 1) * (epochs - exact))

    def shard(self, index: int, num_shards: int) -> StatefulBatches:
        """The streams of one shard, for splitting work across replicas.

        Shard `index` of `num_shards` holds streams `index * B / n .. (index + 1) *
        B / n` with the same windows, so its batches are the matching rows of ours.
        """
        if not 0 <= index < num_shards or self.batch_size % num_shards:
            raise InputError(
                f"`num_shards` must divide batch_size={self.batch_size} and `index` "
                "be in [0, num_shards). "
                f"Received: index={index}, num_shards={num_shards}"
            )
        rows = slice(
            index * self.batch_size // num_shards,
            (index + 1) * self.batch_size // num_shards,
        )
        shard = object.__new__(StatefulBatches)
        shard.__dict__.update(self.__dict__)
        shard.batch_size = self.batch_size // num_shards
        shard.inputs, shard.targets = self.inputs[rows], self.targets[rows]
        shard.train = StreamBatches(
            shard.inputs, shard.targets, self.sequence_length, 0, self.train.count
        )
        shard.validation = StreamBatches(
            shard.inputs,
            shard.targets,
            self.sequence_length,
            self.validation.first,
            self.validation.count,
        )
        return shard


def minimum_corpus_length(batch_size: int, sequence_length: int) -> int:
    """The fewest characters giving every stream a train and a validation window."""
    return batch_size * 2 * sequence_length + 1


class WindowDataset(keras.utils.PyDataset):
    """Stateless windows with one next-character target each (the keras-io recipe).

    Window j is `ids[s : s + sequence_length]` with target `ids[s + sequence_length]`
    for `s = j * step`. Windows are built per batch, never all at once, and their
    order is shuffled every epoch when `shuffle` is set.

    Args:
        ids: 1-D integer array. The encoded text.
        sequence_length: int. Characters per window.
        step: int. Distance between the starts of consecutive windows.
        batch_size: int. Windows per batch.
        shuffle: bool. Shuffle the window order at the end of every epoch.
        seed: int or None. Seed of the shuffle.
    """

    def __init__(
        self, ids, sequence_length=40, step=3, batch_size=128, shuffle=True, seed=None
    ):
        super().__init__()
        self.ids = _as_ids(ids)
        for name, value in [
            ("sequence_length", sequence_length),
            ("step", step),
            ("batch_size", batch_size),
        ]:
            check_count(name, value)
        if len(self.ids) <= sequence_length:
            raise InputError(
                f"`ids` must be longer than sequence_length={sequence_length}. "
                f"Received: {len(self.ids)} ids"
            )
        self.sequence_length = sequence_length
        self.step = step
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_windows = (len(self.ids) - sequence_length - 1) // step + 1
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(self.num_windows)
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        return math.ceil(self.num_windows / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)})")
        starts = (
            self._order[index * self.batch_size : (index + 1) * self.batch_size]
            * self.step
        )
        offsets = np.arange(self.sequence_length)
        x = self.ids[starts[:, None] + offsets].astype(np.int32)  # (batch, time)
        y = self.ids[starts + self.sequence_length].astype(np.int32)  # (batch,)
        return x, y

    def on_epoch_end(self):
        if self.shuffle:
            self._rng.shuffle(self._order)
