"""`charlstm.TensorBoard`: scalars and samples, read back with TensorBoard's own
reader."""

import math

import pytest

# Reading the events needs the `tensorboard` extra, which the README's test
# command installs: without it this module fails to import, it is not skipped.
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

import charlstm
from tests.helpers import tiny_config


def read_events(log_dir) -> dict:
    """tag -> [(step, value)] of one run's event files."""
    reader = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={event_accumulator.TENSORS: 0}
    )
    reader.Reload()
    events = {}
    for tag in reader.Tags()["tensors"]:
        events[tag] = [
            (event.step, tensor_util.make_ndarray(event.tensor_proto).item())
            for event in reader.Tensors(tag)
        ]
    return events


def test_scalars_and_samples_are_the_runs_figures(tmp_path, text):
    board = charlstm.TensorBoard(tmp_path / "tb", every=20)
    per_epoch = charlstm.TensorBoard(tmp_path / "tb_epochs", every=0)
    printed = []
    sampler = charlstm.SampleText(
        length=30, temperatures=(0.5,), write=printed.append, tensorboard=board
    )
    result = charlstm.train(
        text=text,
        run_dir=tmp_path / "run",
        config=tiny_config(epochs=2, history_every=20),
        callbacks=[board, per_epoch, sampler],
    )
    rows, history = result.batch_history, result.history
    train = read_events(tmp_path / "tb" / "train")
    assert set(train) == {
        "loss",
        "bits_per_char",
        "learning_rate",
        "chars_per_second",
        "samples/temperature_0.5",
    }
    # The batch points are the rows of batch_history.csv: same steps, same values.
    steps = [row["step"] for row in rows]
    assert [step for step, _ in train["loss"]] == steps
    for tag in ("loss", "learning_rate"):
        values = [value for _, value in train[tag]]
        assert values == pytest.approx([row[tag] for row in rows], rel=1e-5), tag
    bits = [value for _, value in train["bits_per_char"]]
    assert bits == pytest.approx([r["loss"] / math.log(2) for r in rows], rel=1e-5)
    assert all(value > 0 for _, value in train["chars_per_second"])
    # Validation at every epoch's end, at the step of its last batch.
    ends = [max(r["step"] for r in rows if r["epoch"] == e) for e in (1, 2)]
    validation = read_events(tmp_path / "tb" / "validation")
    assert [step for step, _ in validation["loss"]] == ends
    val_loss = [value for _, value in validation["loss"]]
    assert val_loss == pytest.approx([r["val_loss"] for r in history], rel=1e-6)
    val_bits = [value for _, value in validation["bits_per_char"]]
    expected = [r["val_bits_per_char"] for r in history]
    assert val_bits == pytest.approx(expected, rel=1e-6)
    # The samples, as printed, at the end of each epoch.
    samples = train["samples/temperature_0.5"]
    assert [step for step, _ in samples] == ends
    for (_, sample), text_printed in zip(samples, printed, strict=True):
        body = text_printed.split("---\n", 1)[1]
        assert sample.decode() == "\n".join("    " + line for line in body.split("\n"))
    # every=0: validation only, per epoch.
    assert read_events(tmp_path / "tb_epochs" / "train") == {}
    epochs = read_events(tmp_path / "tb_epochs" / "validation")
    assert [step for step, _ in epochs["loss"]] == ends


def test_every_must_be_an_integer_at_least_zero(tmp_path):
    with pytest.raises(ValueError, match="`every` must be an integer >= 0"):
        charlstm.TensorBoard(tmp_path, every=-1)
    with pytest.raises(ValueError, match="every=True"):
        charlstm.TensorBoard(tmp_path, every=True)
