"""Tests for charlstm.data.batches: the interleaved stateful layout, stateless
windows.

The layout tests feed `np.arange(n)` as the corpus, so every id is its own
position and a batch shows exactly which characters it holds.
"""

from itertools import pairwise

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import charlstm.data.batches as batches_module
from charlstm.data.batches import (
    StatefulBatches,
    StreamBatches,
    WindowDataset,
    minimum_corpus_length,
)
from charlstm.data.variable_lengths import (
    FULL_LENGTH_PROBABILITY,
    LENGTH_MULTIPLE,
    VariableLengthBatches,
    draw_lengths,
    length_bounds,
)

SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def layouts(draw):
    """(n, batch_size, sequence_length, validation_split) with n large enough."""
    batch_size = draw(st.integers(1, 6))
    sequence_length = draw(st.integers(1, 8))
    extra = draw(st.integers(0, 80))
    validation_split = draw(
        st.floats(0.01, 0.49, allow_nan=False, allow_infinity=False)
    )
    n = minimum_corpus_length(batch_size, sequence_length) + extra
    return n, batch_size, sequence_length, validation_split


def make(n, batch_size, sequence_length, validation_split):
    ids = np.arange(n, dtype=np.int64)
    return ids, StatefulBatches(ids, batch_size, sequence_length, validation_split)


def all_batches(dataset):
    return [dataset[k] for k in range(len(dataset))]


# Properties of the stateful layout -----------------------------------------------


@SETTINGS
@given(layouts())
def test_row_i_of_batch_k_plus_1_continues_row_i_of_batch_k(layout):
    ids, batches = make(*layout)
    train = all_batches(batches.train)
    for (x0, _), (x1, _) in pairwise(train):
        # Each row is a run of consecutive characters...
        np.testing.assert_array_equal(np.diff(x1, axis=1), 1)
        # ...that starts right after the same row of the previous batch.
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)


@SETTINGS
@given(layouts(), st.integers(0, 2**32 - 1))
def test_targets_are_inputs_shifted_by_one_in_the_corpus(layout, seed):
    ids, batches = make(*layout)
    # The same layout on arbitrary ids: positions from `ids`, values from `text`.
    text = np.random.default_rng(seed).integers(0, 50, size=len(ids)).astype(np.uint8)
    other = StatefulBatches(text, *layout[1:])
    for split in ("train", "validation"):
        positions, values = getattr(batches, split), getattr(other, split)
        assert len(positions) == len(values)
        for k in range(len(positions)):
            x, y = positions[k]
            np.testing.assert_array_equal(y, x + 1)
            tx, ty = values[k]
            np.testing.assert_array_equal(tx, text[x])
            np.testing.assert_array_equal(ty, text[y])


@SETTINGS
@given(layouts())
def test_every_kept_character_is_a_target_exactly_once_per_epoch(layout):
    n, batch_size, sequence_length, _ = layout
    ids, batches = make(*layout)
    targets = np.concatenate(
        [
            y.ravel()
            for split in (batches.train, batches.validation)
            for _, y in all_batches(split)
        ]
    )
    kept = batches.kept_characters
    # Positions 1 .. kept, each exactly once: nothing repeated, nothing skipped.
    np.testing.assert_array_equal(np.sort(targets), np.arange(1, kept + 1))
    assert batches.train.characters + batches.validation.characters == kept
    # At most one batch worth of characters (minus one) is left over at the end.
    assert 0 <= n - 1 - kept < batch_size * sequence_length


@SETTINGS
@given(layouts())
def test_validation_is_the_tail_of_every_stream(layout):
    n, batch_size, sequence_length, validation_split = layout
    ids, batches = make(*layout)
    last_train_x, _ = batches.train[len(batches.train) - 1]
    first_val_x, _ = batches.validation[0]
    np.testing.assert_array_equal(first_val_x[:, 0], last_train_x[:, -1] + 1)
    validation = all_batches(batches.validation)
    for (x0, _), (x1, _) in pairwise(validation):
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)
    # Stream i, read train then validation, is one contiguous run of the corpus.
    streams = np.concatenate(
        [x for x, _ in all_batches(batches.train) + validation], axis=1
    )
    length = streams.shape[1]
    np.testing.assert_array_equal(
        streams, np.arange(batch_size * length).reshape(batch_size, length)
    )
    windows = len(batches.train) + len(batches.validation)
    assert len(batches.train) >= 1
    assert len(batches.validation) == max(1, round(windows * validation_split))


@SETTINGS
@given(layouts())
def test_never_shuffled(layout):
    ids, batches = make(*layout)
    for split in (batches.train, batches.validation):
        first = all_batches(split)
        split.on_epoch_end()
        second = all_batches(split)
        for (x0, y0), (x1, y1) in zip(first, second, strict=True):
            np.testing.assert_array_equal(x0, x1)
            np.testing.assert_array_equal(y0, y1)
        # In order: each batch starts later in its streams than the one before.
        starts = [x[0, 0] for x, _ in first]
        assert starts == sorted(starts)


@SETTINGS
@given(layouts())
def test_shapes_and_dtype(layout):
    n, batch_size, sequence_length, _ = layout
    ids, batches = make(*layout)
    for split in (batches.train, batches.validation):
        assert split.batch_size == batch_size
        for x, y in all_batches(split):
            assert x.shape == y.shape == (batch_size, sequence_length)
            assert x.dtype == y.dtype == np.int32
            assert x.flags.c_contiguous and y.flags.c_contiguous


@SETTINGS
@given(layouts())
def test_inputs_and_targets_are_views_of_the_corpus(layout):
    ids, batches = make(*layout)
    assert np.shares_memory(batches.inputs, ids)
    assert np.shares_memory(batches.targets, ids)
    assert batches.train.inputs is batches.inputs
    assert batches.validation.targets is batches.targets


def test_batches_are_views_for_every_integer_dtype():
    for dtype in (np.uint8, np.uint16, np.int32, np.int64):
        ids = (np.arange(1000) % 50).astype(dtype)
        batches = StatefulBatches(ids, 4, 10, 0.1)
        assert np.shares_memory(batches.inputs, ids)
        x, y = batches.train[0]
        np.testing.assert_array_equal(x[0], ids[:10])


# Frank's (2022) worked example -------------------------------------------------------


def test_frank2022_worked_example():
    # Frank (2022): the data [1..12] with batch_size=3 must be laid out so row i of the
    # batches reads stream i in order: [1 2 3 4], [5 6 7 8], [9 10 11 12]; the
    # validation split is the last column [4, 8, 12]. One more element supplies the
    # last target.
    ids = np.arange(1, 14)
    batches = StatefulBatches(
        ids, batch_size=3, sequence_length=1, validation_split=0.25
    )
    np.testing.assert_array_equal(
        batches.inputs, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    )
    np.testing.assert_array_equal(
        batches.targets, [[2, 3, 4, 5], [6, 7, 8, 9], [10, 11, 12, 13]]
    )
    x_train = np.concatenate([x for x, _ in all_batches(batches.train)], axis=1)
    x_validate = np.concatenate([x for x, _ in all_batches(batches.validation)], axis=1)
    np.testing.assert_array_equal(x_train, [[1, 2, 3], [5, 6, 7], [9, 10, 11]])
    np.testing.assert_array_equal(x_validate, [[4], [8], [12]])
    np.testing.assert_array_equal(batches.train[0][0], [[1], [5], [9]])


def test_docstring_example_layout():
    # 3 streams, windows of 4: stream i starts at i * stream_length.
    ids = np.arange(3 * 16 + 1)
    batches = StatefulBatches(
        ids, batch_size=3, sequence_length=4, validation_split=0.25
    )
    assert len(batches.train) == 3 and len(batches.validation) == 1
    np.testing.assert_array_equal(
        batches.train[1][0], [[4, 5, 6, 7], [20, 21, 22, 23], [36, 37, 38, 39]]
    )
    np.testing.assert_array_equal(
        batches.validation[0][1], [[13, 14, 15, 16], [29, 30, 31, 32], [45, 46, 47, 48]]
    )


# Errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size, sequence_length", [(3, 4), (2, 1), (50, 50)])
def test_corpus_too_small_names_the_minimum(batch_size, sequence_length):
    minimum = minimum_corpus_length(batch_size, sequence_length)
    assert minimum == 2 * batch_size * sequence_length + 1
    ids = np.zeros(minimum - 1, dtype=np.uint8)
    with pytest.raises(ValueError, match="too small") as info:
        StatefulBatches(ids, batch_size, sequence_length)
    assert f"{minimum:,}" in str(info.value)
    # Exactly the minimum is enough: one train and one validation window.
    batches = StatefulBatches(np.zeros(minimum, np.uint8), batch_size, sequence_length)
    assert len(batches.train) == len(batches.validation) == 1


@pytest.mark.parametrize("split", [0, 0.0, 0.5, 0.7, 1.0, -0.1, float("nan")])
def test_validation_split_out_of_range(split):
    with pytest.raises(ValueError, match="validation_split"):
        StatefulBatches(np.arange(1000), 2, 5, validation_split=split)


@pytest.mark.parametrize(
    "ids",
    [
        np.linspace(0, 1, 100),
        np.arange(100).astype(np.float32),
        np.ones(100, bool),
        np.arange(100).reshape(10, 10),
        ["a"] * 100,
    ],
)
def test_ids_must_be_a_1d_integer_array(ids):
    with pytest.raises(ValueError, match="ids"):
        StatefulBatches(ids, 2, 5)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, "4"])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        StatefulBatches(np.arange(1000), batch_size, 5)


@pytest.mark.parametrize("sequence_length", [0, -3, 5.0])
def test_sequence_length_must_be_a_positive_integer(sequence_length):
    with pytest.raises(ValueError, match="sequence_length"):
        StatefulBatches(np.arange(1000), 2, sequence_length)


def test_list_of_ints_is_accepted():
    batches = StatefulBatches(list(range(25)), 3, 4, 0.25)
    np.testing.assert_array_equal(batches.train[0][0][:, 0], [0, 8, 16])


# Sharding, memory maps, Keras ------------------------------------------------------


@pytest.mark.parametrize("num_shards", [1, 2, 3, 6])
def test_shard_batches_are_the_matching_rows(num_shards):
    ids, batches = make(1000, 6, 7, 0.2)
    rows_per_shard = 6 // num_shards
    for index in range(num_shards):
        shard = batches.shard(index, num_shards)
        rows = slice(index * rows_per_shard, (index + 1) * rows_per_shard)
        assert shard.batch_size == rows_per_shard
        assert np.shares_memory(shard.inputs, ids)
        for split in ("train", "validation"):
            full, part = getattr(batches, split), getattr(shard, split)
            assert len(part) == len(full)
            for k in range(len(full)):
                x, y = full[k]
                px, py = part[k]
                np.testing.assert_array_equal(px, x[rows])
                np.testing.assert_array_equal(py, y[rows])
    # The original is unchanged by sharding.
    assert batches.batch_size == 6
    assert batches.train[0][0].shape == (6, 7)


@pytest.mark.parametrize("index, num_shards", [(0, 4), (2, 2), (-1, 2), (0, 0)])
def test_shard_rejects_bad_arguments(index, num_shards):
    ids, batches = make(1000, 6, 7, 0.2)
    with pytest.raises(ValueError, match="num_shards"):
        batches.shard(index, num_shards)


def test_works_with_a_memory_mapped_corpus(tmp_path):
    ids = (np.arange(5000) % 97).astype(np.uint16)
    np.save(tmp_path / "ids.npy", ids)
    mapped = np.load(tmp_path / "ids.npy", mmap_mode="r")
    from_map = StatefulBatches(mapped, 8, 16, 0.1)
    in_memory = StatefulBatches(ids, 8, 16, 0.1)
    assert np.shares_memory(from_map.inputs, mapped)
    assert len(from_map.train) == len(in_memory.train)
    for split in ("train", "validation"):
        a, b = getattr(from_map, split), getattr(in_memory, split)
        for k in range(len(a)):
            for got, expected in zip(a[k], b[k], strict=True):
                assert got.dtype == np.int32
                np.testing.assert_array_equal(got, expected)


def test_stream_batches_are_a_keras_py_dataset():
    ids, batches = make(1000, 4, 10, 0.1)
    windows = (1000 - 1) // 4 // 10
    for split in (batches.train, batches.validation):
        assert isinstance(split, StreamBatches)
        assert isinstance(split, keras.utils.PyDataset)
        assert len(split) == split.num_batches
    assert len(batches.train) + len(batches.validation) == windows
    assert len(batches.validation) == round(windows * 0.1)
    # Negative indices count from the end; out of range raises IndexError.
    np.testing.assert_array_equal(
        batches.train[-1][0], batches.train[len(batches.train) - 1][0]
    )
    with pytest.raises(IndexError):
        batches.train[len(batches.train)]
    with pytest.raises(IndexError):
        batches.validation[-len(batches.validation) - 1]


# Variable lengths (AWD-LSTM's variable truncation) -----------------------------


@st.composite
def variable_layouts(draw):
    """(layout, std, seed, epoch): lengths that vary and corpora of many batches."""
    batch_size = draw(st.integers(1, 5))
    sequence_length = draw(st.integers(1, 30))
    extra = draw(st.integers(0, 600))
    validation_split = draw(st.floats(0.01, 0.3))
    n = minimum_corpus_length(batch_size, sequence_length) + extra
    std = draw(st.sampled_from([0.0, 2.0, 5.0, 20.0]))
    seed, epoch = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 1000))
    return (n, batch_size, sequence_length, validation_split), std, seed, epoch


def make_variable(layout, std, seed):
    n, batch_size, sequence_length, validation_split = layout
    ids = np.arange(n, dtype=np.int64)
    batches = StatefulBatches(
        ids,
        batch_size,
        sequence_length,
        validation_split,
        variable_length=True,
        variable_length_std=std,
        seed=seed,
    )
    return ids, batches


@SETTINGS
@given(variable_layouts())
def test_variable_rows_continue_the_same_row_of_the_batch_before(example):
    layout, std, seed, epoch = example
    ids, batches = make_variable(layout, std, seed)
    train = batches.train_batches(epoch)
    assert isinstance(train, VariableLengthBatches)
    stream_length = batches.inputs.shape[1]
    x0, _ = train[0]
    # The first batch starts every stream; each row is a run of consecutive ids.
    np.testing.assert_array_equal(
        x0[:, 0], np.arange(batches.batch_size) * stream_length
    )
    for (x0, _), (x1, _) in pairwise(all_batches(train)):
        np.testing.assert_array_equal(np.diff(x1, axis=1), 1)
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)
    # Validation continues every stream right after the epoch's last batch.
    last_x, _ = train[len(train) - 1]
    np.testing.assert_array_equal(batches.validation[0][0][:, 0], last_x[:, -1] + 1)


@SETTINGS
@given(variable_layouts())
def test_variable_every_kept_character_is_a_target_once_per_epoch(example):
    layout, std, seed, epoch = example
    ids, batches = make_variable(layout, std, seed)
    train = batches.train_batches(epoch)
    targets = np.concatenate(
        [
            y.ravel()
            for split in (train, batches.validation)
            for _, y in all_batches(split)
        ]
    )
    np.testing.assert_array_equal(
        np.sort(targets), np.arange(1, batches.kept_characters + 1)
    )
    assert train.characters == batches.train.characters
    assert batches.steps_per_epoch(epoch) == len(train)
    for x, y in all_batches(train):
        np.testing.assert_array_equal(y, x + 1)
        assert x.dtype == y.dtype == np.int32 and x.flags.c_contiguous


@SETTINGS
@given(variable_layouts())
def test_variable_lengths_are_bounded_and_from_the_rounded_set(example):
    layout, std, seed, epoch = example
    sequence_length = layout[2]
    ids, batches = make_variable(layout, std, seed)
    lengths = batches.epoch_lengths(epoch)
    shortest, longest = length_bounds(sequence_length)
    assert (shortest, longest) == (min(5, sequence_length), 2 * sequence_length)
    rounded = {
        length
        for length in range(shortest, longest + 1)
        if (length - sequence_length) % LENGTH_MULTIPLE == 0
    } | {shortest, longest}
    assert set(lengths[:-1].tolist()) <= rounded
    # The last batch is what is left of the training part.
    assert 1 <= lengths[-1] <= longest
    assert lengths.sum() == len(batches.train) * sequence_length
    np.testing.assert_array_equal(
        [x.shape[1] for x, _ in all_batches(batches.train_batches(epoch))], lengths
    )


@SETTINGS
@given(variable_layouts())
def test_variable_lengths_are_a_function_of_seed_and_epoch(example):
    layout, std, seed, epoch = example
    ids, batches = make_variable(layout, std, seed)
    ids, again = make_variable(layout, std, seed)
    # Asked in any order, by a new object (a resumed run): the same cut.
    later = again.epoch_lengths(epoch + 1)
    np.testing.assert_array_equal(
        again.epoch_lengths(epoch), batches.epoch_lengths(epoch)
    )
    np.testing.assert_array_equal(batches.epoch_lengths(epoch + 1), later)
    for (x0, y0), (x1, y1) in zip(
        all_batches(batches.train_batches(epoch)),
        all_batches(again.train_batches(epoch)),
        strict=True,
    ):
        np.testing.assert_array_equal(x0, x1)
        np.testing.assert_array_equal(y0, y1)


def test_variable_lengths_differ_between_epochs_and_seeds():
    ids, batches = make_variable((20_001, 4, 50, 0.05), 5.0, 0)
    ids, other = make_variable((20_001, 4, 50, 0.05), 5.0, 1)
    epochs = [batches.epoch_lengths(e).tolist() for e in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    assert other.epoch_lengths(0).tolist() != epochs[0]
    assert len({len(lengths) for lengths in epochs}) > 1  # batches per epoch vary
    with pytest.raises(ValueError):  # read-only: a caller cannot change the cut
        batches.epoch_lengths(0)[0] = 1


def test_variable_lengths_draw_the_base_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    count, sequence_length, std = 200_000, 100, 5.0
    lengths = draw_lengths(rng, count, sequence_length, std)
    short = lengths < 0.75 * sequence_length  # drawn around 50 rather than 100
    # Binomial standard deviation of the share: sqrt(0.05 * 0.95 / count) ~ 0.0005.
    assert abs(short.mean() - (1 - FULL_LENGTH_PROBABILITY)) < 0.003
    # Around each base with AWD's spread (rounding to multiples of 5 adds 5^2/12).
    for values, mean in ((lengths[~short], 100), (lengths[short], 50)):
        assert abs(values.mean() - mean) < 0.2
        assert values.std() == pytest.approx(np.sqrt(std**2 + 25 / 12), rel=0.05)
    # std 0: exactly the two bases.
    exact = draw_lengths(rng, 1000, sequence_length, 0.0)
    assert set(exact.tolist()) == {50, 100}


def test_variable_lengths_are_clipped_at_the_bounds():
    rng = np.random.default_rng(0)
    lengths = draw_lengths(rng, 10_000, 10, 50.0)
    assert lengths.min() == 5 and lengths.max() == 20
    assert set(lengths.tolist()) == {5, 10, 15, 20}
    # Shorter than 5: from 3 to 6, on the grid 3 + 5k (so 3 itself, and 6).
    tiny = draw_lengths(rng, 10_000, 3, 50.0)
    assert set(tiny.tolist()) == {3, 6}


@SETTINGS
@given(layouts(), st.floats(0, 30), st.integers(0, 100))
def test_variable_length_off_is_todays_layout(layout, std, epoch):
    n, batch_size, sequence_length, validation_split = layout
    ids = (np.arange(n) % 251).astype(np.uint8)
    today = StatefulBatches(ids, batch_size, sequence_length, validation_split)
    off = StatefulBatches(
        ids,
        batch_size,
        sequence_length,
        validation_split,
        variable_length=False,
        variable_length_std=std,
        seed=epoch,
    )
    assert off.train_batches(epoch) is off.train
    np.testing.assert_array_equal(off.epoch_lengths(epoch), sequence_length)
    assert off.steps_per_epoch(epoch) == len(today.train)
    for split in ("train", "validation"):
        for a, b in zip(
            getattr(off, split).as_arrays(),
            getattr(today, split).as_arrays(),
            strict=True,
        ):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_variable_validation_is_unchanged():
    ids = np.arange(5001)
    fixed = StatefulBatches(ids, 4, 10, 0.1)
    ids, varied = make_variable((5001, 4, 10, 0.1), 5.0, 0)
    for a, b in zip(
        fixed.validation.as_arrays(), varied.validation.as_arrays(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_variable_shard_batches_are_the_matching_rows():
    ids, batches = make_variable((3001, 6, 10, 0.1), 5.0, 0)
    shard = batches.shard(1, 3)
    np.testing.assert_array_equal(shard.epoch_lengths(2), batches.epoch_lengths(2))
    for (x, y), (px, py) in zip(
        all_batches(batches.train_batches(2)),
        all_batches(shard.train_batches(2)),
        strict=True,
    ):
        np.testing.assert_array_equal(px, x[2:4])
        np.testing.assert_array_equal(py, y[2:4])


@pytest.mark.parametrize("std", [-1.0, float("nan"), float("inf")])
def test_variable_length_std_must_be_a_number_at_least_0(std):
    with pytest.raises(ValueError, match="variable_length_std"):
        StatefulBatches(
            np.arange(1000), 2, 5, variable_length=True, variable_length_std=std
        )


# WindowDataset -------------------------------------------------------------------


def window_starts(n, sequence_length, step):
    """Every s with a full window ids[s:s+T] and a target ids[s+T]."""
    return np.array([s for s in range(0, n, step) if s + sequence_length < n])


def test_window_dataset_windows_and_targets_in_order():
    n, sequence_length, step, batch_size = 100, 7, 3, 8
    ids = np.arange(n, dtype=np.int64)
    data = WindowDataset(ids, sequence_length, step, batch_size, shuffle=False)
    starts = window_starts(n, sequence_length, step)
    assert data.num_windows == len(starts)
    assert len(data) == -(-len(starts) // batch_size)
    j = 0
    for index in range(len(data)):
        x, y = data[index]
        assert x.dtype == y.dtype == np.int32
        assert x.shape == (len(y), sequence_length)
        for row in range(len(y)):
            s = j * step
            np.testing.assert_array_equal(x[row], ids[s : s + sequence_length])
            assert y[row] == ids[s + sequence_length]
            j += 1
    assert j == len(starts)
    # shuffle=False keeps the order on every epoch.
    data.on_epoch_end()
    np.testing.assert_array_equal(data[0][0][:, 0], starts[:batch_size])


def test_window_dataset_values_come_from_ids():
    rng = np.random.default_rng(0)
    text = rng.integers(0, 30, size=200).astype(np.uint8)
    data = WindowDataset(text, sequence_length=5, step=2, batch_size=16, seed=1)
    positions = WindowDataset(
        np.arange(200), sequence_length=5, step=2, batch_size=16, seed=1
    )
    for index in range(len(data)):
        x, y = data[index]
        px, py = positions[index]
        np.testing.assert_array_equal(x, text[px])
        np.testing.assert_array_equal(y, text[py])


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(2, 120),
    sequence_length=st.integers(1, 10),
    step=st.integers(1, 5),
    batch_size=st.integers(1, 9),
    shuffle=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_window_dataset_covers_every_window_once_per_epoch(
    n, sequence_length, step, batch_size, shuffle, seed
):
    if n <= sequence_length:
        with pytest.raises(ValueError, match="sequence_length"):
            WindowDataset(np.arange(n), sequence_length, step, batch_size)
        return
    data = WindowDataset(np.arange(n), sequence_length, step, batch_size, shuffle, seed)
    expected = window_starts(n, sequence_length, step)
    for _ in range(2):  # two epochs
        batches = [data[i] for i in range(len(data))]
        starts = np.concatenate([x[:, 0] for x, _ in batches])
        targets = np.concatenate([y for _, y in batches])
        np.testing.assert_array_equal(np.sort(starts), expected)
        np.testing.assert_array_equal(targets, starts + sequence_length)
        assert all(len(y) == batch_size for _, y in batches[:-1])
        data.on_epoch_end()
    with pytest.raises(IndexError):
        data[len(data)]


def starts_of_epoch(data):
    return np.concatenate([data[i][0][:, 0] for i in range(len(data))])


def test_window_dataset_shuffle_is_reproducible_with_a_seed():
    ids = np.arange(500)
    a = WindowDataset(ids, 10, 1, 32, shuffle=True, seed=7)
    b = WindowDataset(ids, 10, 1, 32, shuffle=True, seed=7)
    c = WindowDataset(ids, 10, 1, 32, shuffle=True, seed=8)
    unshuffled = window_starts(500, 10, 1)
    epochs_a, epochs_b = [], []
    for _ in range(3):
        epochs_a.append(starts_of_epoch(a))
        epochs_b.append(starts_of_epoch(b))
        a.on_epoch_end()
        b.on_epoch_end()
    for ea, eb in zip(epochs_a, epochs_b, strict=True):
        np.testing.assert_array_equal(ea, eb)
        assert not np.array_equal(ea, unshuffled)
        np.testing.assert_array_equal(np.sort(ea), unshuffled)
    # A new order every epoch, and a different seed gives a different order.
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    assert not np.array_equal(starts_of_epoch(c), epochs_a[0])


def test_window_dataset_is_lazy():
    ids = np.arange(10_000, dtype=np.uint16)
    data = WindowDataset(ids, sequence_length=40, step=1, batch_size=64)
    assert np.shares_memory(data.ids, ids)
    for name, value in vars(data).items():
        if isinstance(value, np.ndarray):
            # Nothing holding every window: at most one number per window.
            assert value.ndim == 1, name
            assert value.size <= max(len(ids), data.num_windows), name
    assert isinstance(data, keras.utils.PyDataset)


def test_as_arrays_rows_are_the_batches_in_order():
    ids = np.arange(2000) % 251
    batches = StatefulBatches(ids.astype(np.uint8), 4, 7, validation_split=0.2)
    for part in (batches.train, batches.validation):
        x, y = part.as_arrays()
        assert x.shape == (len(part) * 4, 7) and x.dtype == np.uint8
        for k in range(len(part)):
            bx, by = part[k]
            np.testing.assert_array_equal(x[k * 4 : (k + 1) * 4], bx)
            np.testing.assert_array_equal(y[k * 4 : (k + 1) * 4], by)


@pytest.mark.parametrize("variable_length", [False, True])
def test_total_steps_counts_every_epoch_and_huge_runs_at_the_mean(
    variable_length, monkeypatch
):
    ids = np.arange(5_000, dtype=np.int64)
    batches = StatefulBatches(
        ids, 4, 20, 0.1, variable_length=variable_length, variable_length_std=5.0
    )
    exact = sum(batches.steps_per_epoch(e) for e in range(7))
    assert batches.total_steps(7) == exact
    assert batches.total_steps(0) == 0
    # Past EXACT_EPOCHS, further epochs count at the mean of the counted ones.
    monkeypatch.setattr(batches_module, "EXACT_EPOCHS", 3)
    counted = sum(batches.steps_per_epoch(e) for e in range(3))
    assert batches.total_steps(10**6) == counted + round(counted / 3 * (10**6 - 3))
    if not variable_length:
        assert batches.total_steps(10**6) == len(batches.train) * 10**6
