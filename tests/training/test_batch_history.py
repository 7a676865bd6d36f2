"""batch_history.csv: a row every `history_every` batches and at every epoch's
end, with the mean loss of the batches since the row before."""

import keras
import pytest

import charlstm
from charlstm.training.run_dir import (
    BATCH_HISTORY_COLUMNS,
    append_batch_history,
    batch_history_row,
    read_batch_history,
    rewind_batch_history,
)
from tests.helpers import tiny_config


class BatchLosses(keras.callbacks.Callback):
    """Each batch's own loss, from the epoch's running mean in the logs."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_epoch_begin(self, epoch, logs=None):
        self._sum = 0.0

    def on_train_batch_end(self, batch, logs=None):
        total = logs["loss"] * (batch + 1)
        self.losses.append(total - self._sum)
        self._sum = total


def test_rows_every_n_batches_and_at_epoch_ends(tmp_path, text):
    run = tmp_path / "run"
    losses = BatchLosses()
    config = tiny_config(epochs=2, history_every=20)
    result = charlstm.train(text=text, run_dir=run, config=config, callbacks=[losses])
    count = len(losses.losses) // 2  # batches per epoch
    ends = [*range(20, count, 20), count]
    ends += [*range(ends[-1] // 20 * 20 + 20, 2 * count, 20), 2 * count]
    rows = result.batch_history
    assert [row["step"] for row in rows] == ends
    assert [row["epoch"] for row in rows] == [1 + (s - 1) // count for s in ends]
    assert [row["batch"] for row in rows] == [
        s - (r["epoch"] - 1) * count for s, r in zip(ends, rows, strict=True)
    ]
    # The loss of a row is the mean of its batches' losses, computed here.
    starts = [0, *ends[:-1]]
    for row, start, end in zip(rows, starts, ends, strict=True):
        mean = sum(losses.losses[start:end]) / (end - start)
        assert row["loss"] == pytest.approx(mean, rel=1e-9)
    # Weighted by their batches, an epoch's rows give the epoch's loss.
    for epoch, history_row in enumerate(result.history, start=1):
        ours = [
            (r, e - s)
            for r, s, e in zip(rows, starts, ends, strict=True)
            if r["epoch"] == epoch
        ]
        total = sum(r["loss"] * n for r, n in ours) / count
        assert total == pytest.approx(history_row["loss"], rel=1e-9)
    seconds = [row["seconds"] for row in rows]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert all(row["chars_per_second"] > 0 for row in rows)
    assert rows[-1]["learning_rate"] < rows[3]["learning_rate"]  # cosine, to zero
    # The file holds the same rows, with six significant digits.
    header = (run / "batch_history.csv").read_text().splitlines()[0]
    assert header.split(",") == list(BATCH_HISTORY_COLUMNS)
    written = read_batch_history(run / "batch_history.csv")
    assert [r["step"] for r in written] == ends
    for ours, theirs in zip(written, rows, strict=True):
        for key in ("loss", "learning_rate", "seconds"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-5)


class StopAfter(keras.callbacks.Callback):
    """Stops training at a batch boundary, as the time budget does."""

    def __init__(self, count):
        super().__init__()
        self.count, self.seen = count, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        self.model.stop_training = self.seen == self.count


def test_an_epoch_stopped_early_ends_with_a_row(text):
    config = tiny_config(epochs=3, history_every=20)
    result = charlstm.train(text=text, config=config, callbacks=[StopAfter(57)])
    assert [row["step"] for row in result.batch_history] == [20, 40, 57]
    assert result.batch_history[-1]["batch"] == 57 and len(result.history) == 1


def test_history_every_zero_writes_no_rows(tmp_path, text):
    run = tmp_path / "run"
    result = charlstm.train(text=text, run_dir=run, config=tiny_config(history_every=0))
    assert result.batch_history == []
    assert not (run / "batch_history.csv").exists()
    # In memory, a run keeps its rows all the same.
    result = charlstm.train(text=text, config=tiny_config(history_every=50))
    assert [row["step"] for row in result.batch_history][:2] == [50, 100]


def test_history_every_must_be_an_integer_at_least_zero():
    with pytest.raises(ValueError, match="`history_every` must be an integer >= 0"):
        tiny_config(history_every=-1)
    with pytest.raises(ValueError, match="history_every=2.5"):
        tiny_config(history_every=2.5)


def test_rows_are_appended_read_and_rewound(tmp_path):
    path = tmp_path / "batch_history.csv"
    rows = [
        batch_history_row(0, b, b, b / 10, 2.0 - b / 100, 0.01, 1e3) for b in (5, 10)
    ]
    append_batch_history(path, rows[:1])
    append_batch_history(path, rows[1:])
    assert path.read_text().count("epoch") == 1  # one header
    assert read_batch_history(path) == rows
    assert read_batch_history(tmp_path / "missing.csv") == []
    # A killed writer's partial last line is not a row.
    with open(path, "a") as f:
        f.write("1,15,15,1.5,1.8")
    assert read_batch_history(path) == rows
    # Resuming from the checkpoint of step 7 removes the rows after it, and the
    # partial line with them.
    assert rewind_batch_history(path, 7) == rows[:1]
    assert read_batch_history(path) == rows[:1]
    assert path.read_text().endswith("\n")
    assert rewind_batch_history(tmp_path / "missing.csv", 7) == []


def test_a_file_that_is_not_a_batch_history_is_named(tmp_path):
    path = tmp_path / "batch_history.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a batch history: it has no loss, step"):
        read_batch_history(path)
    path.write_text("epoch,batch,step,loss\n1,2,x,1.0\n")
    with pytest.raises(ValueError, match="line 2 is not a batch history row"):
        read_batch_history(path)
