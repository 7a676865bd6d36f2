"""Checkpoints and exact resume: a run stopped at any moment and resumed ends
where an uninterrupted run ends, and a broken run directory is a clear error."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

import charlstm
from charlstm.training.checkpoint import Checkpoints
from charlstm.training.lock import RunLock, RunLocked
from charlstm.training.loop import TrainingInterrupted
from charlstm.training.run_dir import RunFiles, read_batch_history
from tests.helpers import make_text, tiny_config

TEXT = make_text(3000)
# Dropout on (masks drawn by seeded generators), the fused stack and Keras's layers
# of the default cell (LN-LSTM), and the LSTM's fused stack.
CONFIGS = {
    "stack": dict(epochs=3, dropout=0.5, fast_path=True),
    "keras": dict(epochs=3, dropout=0.5, fast_path=False),
    "lstm-stack": dict(epochs=3, dropout=0.5, fast_path=True, cell="lstm"),
}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Each config's run, trained without a stop."""
    runs = {}
    for name, settings in CONFIGS.items():
        run = tmp_path_factory.mktemp("whole") / name
        runs[name] = charlstm.train(
            text=TEXT, run_dir=run, config=tiny_config(**settings)
        )
    return runs


class StopAt(keras.callbacks.Callback):
    """Raises (or sends a signal to this process) after the `count`-th batch."""

    def __init__(self, count, signal_number=None):
        super().__init__()
        self.count, self.signal_number, self.seen = count, signal_number, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.count:
            if self.signal_number is None:
                raise RuntimeError("stopped by the test")
            os.kill(os.getpid(), self.signal_number)


def assert_same_run(resumed, whole):
    for ours, theirs in zip(
        resumed.model.get_weights(), whole.model.get_weights(), strict=True
    ):
        assert np.abs(ours - theirs).max() <= 1e-6
    columns = ("epoch", "loss", "val_loss", "val_bits_per_char", "learning_rate")
    for ours, theirs in zip(resumed.history, whole.history, strict=True):
        for column in columns:
            assert ours[column] == pytest.approx(theirs[column], rel=1e-9), column
    # The batch history too: the rows of the batches trained again are not kept
    # twice, and the row after the checkpoint counts the batches before it.
    assert len(resumed.batch_history) == len(whole.batch_history) > 4
    columns = ("epoch", "batch", "step", "loss", "learning_rate")
    for ours, theirs in zip(resumed.batch_history, whole.batch_history, strict=True):
        for column in columns:
            assert ours[column] == pytest.approx(theirs[column], rel=1e-5), column
    written = read_batch_history(RunFiles(resumed.run_dir).batch_history)
    assert [row["step"] for row in written] == [r["step"] for r in whole.batch_history]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_resume_mid_epoch_equals_the_uninterrupted_run(tmp_path, uninterrupted, name):
    config = tiny_config(**CONFIGS[name])
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="stopped by the test"):
        charlstm.train(
            text=TEXT,
            run_dir=run,
            config=config,
            checkpoint_every=1e-9,  # after every batch
            callbacks=[StopAt(40)],
        )
    manifest = Checkpoints(RunFiles(run)).read()
    assert (manifest.progress.epoch, manifest.progress.batch) == (0, 39)
    resumed = charlstm.train(text=TEXT, run_dir=run, config=config, resume=True)
    assert_same_run(resumed, uninterrupted[name])


def test_resume_from_an_epoch_end_after_a_crash_in_the_next(tmp_path, uninterrupted):
    config = tiny_config(**CONFIGS["stack"])
    run = tmp_path / "run"
    with pytest.raises(RuntimeError):
        charlstm.train(
            text=TEXT,
            run_dir=run,
            config=config,
            checkpoint_every=None,  # epoch ends only
            callbacks=[StopAt(200)],  # in the second epoch
        )
    progress = Checkpoints(RunFiles(run)).read().progress
    assert (progress.epoch, progress.batch, len(progress.history)) == (1, 0, 1)
    # The crashed run wrote rows after its checkpoint, which resuming removes.
    rows = read_batch_history(RunFiles(run).batch_history)
    assert rows[-1]["epoch"] == 2
    resumed = charlstm.train(text=TEXT, run_dir=run, config=config, resume=True)
    assert_same_run(resumed, uninterrupted["stack"])


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_a_checkpoint_and_stops(tmp_path, uninterrupted, number):
    config = tiny_config(**CONFIGS["stack"])
    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted) as stopped:
        charlstm.train(
            text=TEXT,
            run_dir=run,
            config=config,
            checkpoint_every=None,
            callbacks=[StopAt(25, number)],
        )
    assert stopped.value.signal_name == signal.Signals(number).name
    progress = Checkpoints(RunFiles(run)).read().progress
    assert (progress.epoch, progress.batch) == (0, 25)
    assert signal.getsignal(number) is not None  # the handler was put back
    resumed = charlstm.train(text=TEXT, run_dir=run, config=config, resume=True)
    assert_same_run(resumed, uninterrupted["stack"])


TRAINER = textwrap.dedent(
    """
    import sys
    import charlstm
    from tests.helpers import make_text, tiny_config
    charlstm.train(text=make_text(3000), run_dir=sys.argv[1],
                   config=tiny_config(epochs=3, dropout=0.5, fast_path=True),
                   checkpoint_every=0.05, resume=sys.argv[2] == "resume")
    """
)


def _checkpoint_written(run, since, timeout=120.0):
    """Waits until `checkpoint.json` is no longer the file `since` described
    (its inode and mtime, or None): the trainer has written a checkpoint."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = _file_id(RunFiles(run).checkpoint)
        if now is not None and now != since:
            return
        time.sleep(0.02)
    raise AssertionError(f"no new checkpoint in {run} after {timeout:g} s")


def _file_id(path):
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


@pytest.mark.slow
def test_sigkill_at_random_moments_always_resumes_exactly(tmp_path, uninterrupted):
    """Three kills in a subprocess, each at a random moment of training after
    the child's first checkpoint: waiting for it, not for a fixed time, keeps
    the kills inside training on a machine of any speed."""
    run = tmp_path / "run"
    rng = np.random.default_rng(7)
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    for _ in range(3):
        mode = "resume" if RunFiles(run).has_checkpoint() else "new"
        since = _file_id(RunFiles(run).checkpoint)
        child = subprocess.Popen(
            [sys.executable, "-c", TRAINER, str(run), mode],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _checkpoint_written(run, since)
        time.sleep(float(rng.uniform(0, 1.5)))  # then some more training
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert RunFiles(run).has_checkpoint()  # the kills came after checkpoints
    resumed = charlstm.train(
        text=TEXT, run_dir=run, config=tiny_config(**CONFIGS["stack"]), resume=True
    )
    assert_same_run(resumed, uninterrupted["stack"])
    names = {p.name for p in run.iterdir()}
    assert not [n for n in names if n.startswith(".") and n != ".lock"]
    assert len([n for n in names if n.startswith("checkpoint-")]) == 2


def test_a_second_trainer_is_refused_and_a_stale_lock_does_not_block(tmp_path):
    run = tmp_path / "run"
    with RunLock(run):
        with pytest.raises(RunLocked, match=f"process {os.getpid()} on"):
            charlstm.train(text=TEXT, run_dir=run, config=tiny_config())
    assert not RunFiles(run).holds_run()
    # A lock whose holder was killed: the file stays, the lock does not.
    code = (
        "import sys, time; from charlstm.training.lock import RunLock\n"
        "lock = RunLock(sys.argv[1]).__enter__(); print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(run)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunLocked, match=f"process {holder.pid}"):
        charlstm.train(text=TEXT, run_dir=run, config=tiny_config())
    holder.kill()
    holder.wait(timeout=30)
    assert (run / ".lock").exists()
    charlstm.train(text=TEXT, run_dir=run, config=tiny_config())


def test_resuming_on_another_corpus_is_refused_unless_allowed(tmp_path):
    run = tmp_path / "run"
    charlstm.train(text=TEXT, run_dir=run, config=tiny_config(epochs=1))
    other = make_text(3000, seed=5)
    config = tiny_config(epochs=2)
    with pytest.raises(ValueError, match="corpus differs.*--allow-new-corpus"):
        charlstm.train(text=other, run_dir=run, config=config, resume=True)
    assert len(Checkpoints(RunFiles(run)).read().progress.history) == 1
    result = charlstm.train(
        text=other, run_dir=run, config=config, resume=True, allow_new_corpus=True
    )
    assert len(result.history) == 2


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """Disk full while a checkpoint is written: the error reaches the caller,
    the committed checkpoint stays whole, and the next start cleans up."""
    run = tmp_path / "run"
    config = tiny_config(**CONFIGS["stack"])
    import charlstm.training.checkpoint as checkpoint

    saves, original = [], checkpoint.np.savez

    def savez(file, **arrays):
        saves.append(1)
        if len(saves) == 3:
            file.write(b"half an array")
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(file, **arrays)

    monkeypatch.setattr(checkpoint.np, "savez", savez)
    with pytest.raises(OSError, match="No space left"):
        charlstm.train(text=TEXT, run_dir=run, config=config, checkpoint_every=1e-9)
    monkeypatch.undo()
    manifest = Checkpoints(RunFiles(run)).read()  # whole: it names files that exist
    assert (manifest.serial, manifest.progress.batch) == (2, 2)
    assert sorted(p.name for p in run.glob("checkpoint-*")) == [
        "checkpoint-000002.keras",
        "checkpoint-000002.npz",
        "checkpoint-000003.keras",  # written before the failure, never committed
    ]
    resumed = charlstm.train(text=TEXT, run_dir=run, config=config, resume=True)
    assert not (run / "checkpoint-000003.keras").exists() or (
        Checkpoints(RunFiles(run)).read().model == "checkpoint-000003.keras"
    )
    assert len(resumed.history) == 3


def test_budget_runs_resume_with_what_is_left(tmp_path):
    run = tmp_path / "run"
    config = tiny_config(epochs=1_000_000)
    with pytest.raises(RuntimeError):
        charlstm.train(
            text=TEXT,
            run_dir=run,
            config=config,
            time_budget=600,
            checkpoint_every=1e-9,
            callbacks=[StopAt(30)],
        )
    progress = Checkpoints(RunFiles(run)).read().progress
    assert progress.budget_seconds == 600 and 0 < progress.budget_spent < 600
    # The budget left goes on; spent, a resumed run trains nothing more.
    stopped = charlstm.train(
        text=TEXT, run_dir=run, config=config, resume=True, time_budget=1e-9
    )
    assert stopped.stopped_on_budget
    again = charlstm.train(text=TEXT, run_dir=run, config=config, resume=True)
    assert "time budget" in again.untrained
    assert len(again.history) == len(stopped.history)
    # More epochs replace the budget.
    more = tiny_config(epochs=len(stopped.history) + 1)
    extended = charlstm.train(text=TEXT, run_dir=run, config=more, resume=True)
    assert not extended.untrained and len(extended.history) == len(stopped.history) + 1


def test_validation_after_a_budget_stop_starts_from_reset_states():
    states = []

    class AtValidation(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            from charlstm.model.build import state_variables

            states.append(
                sum(float(np.abs(s).sum()) for s in state_variables(self.model))
            )

    result = charlstm.train(
        text=TEXT,
        config=tiny_config(epochs=5),
        time_budget=1e-9,
        callbacks=[AtValidation()],
    )
    assert result.history[0]["stopped"] == "time_budget" and states == [0.0]


# A broken run directory: one clear error, on resume and on load ----------------


@pytest.fixture
def run_copy(tmp_path, trained_run):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run


def test_a_truncated_model_file_is_named(run_copy):
    (run_copy / "engine.npz").unlink()
    data = (run_copy / "model.keras").read_bytes()
    (run_copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.keras' is not a readable Keras model"):
        charlstm.load(run_copy)
    manifest = Checkpoints(RunFiles(run_copy)).read()
    path = run_copy / manifest.model
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="checkpoint-.*not a readable Keras model"):
        charlstm.train(text=make_text(), run_dir=run_copy, resume=True)


def test_a_missing_checkpoint_file_is_named(run_copy):
    manifest = Checkpoints(RunFiles(run_copy)).read()
    (run_copy / manifest.arrays).unlink()
    with pytest.raises(ValueError, match=f"names {manifest.arrays}, which is missing"):
        charlstm.train(text=make_text(), run_dir=run_copy, resume=True)


def test_a_vocabulary_that_does_not_fit_the_weights(run_copy):
    (run_copy / "vocab.json").write_text(json.dumps({"characters": "abc"}))
    with pytest.raises(ValueError, match="one id per model output"):
        charlstm.load(run_copy)
    (run_copy / "vocab.json").write_text(json.dumps({"characters": "cba"}))
    with pytest.raises(ValueError, match="vocab.json.*sorted order"):
        charlstm.load(run_copy)
    (run_copy / "vocab.json").write_text("{not json")
    with pytest.raises(ValueError, match="vocab.json' is not a charlstm vocabulary"):
        charlstm.load(run_copy)


def test_a_config_from_a_newer_version(run_copy):
    config = json.loads((run_copy / "config.json").read_text())
    config["model"]["mogrifier_rounds"] = 5
    config["version"] = "9.0.0"
    (run_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="mogrifier_rounds.*charlstm 9.0.0"):
        charlstm.load(run_copy)
    (run_copy / "config.json").write_text("[]")
    with pytest.raises(ValueError, match="not a charlstm config.json"):
        charlstm.load(run_copy)


def test_a_damaged_manifest_is_named(run_copy):
    (run_copy / "checkpoint.json").write_text('{"format": 1}')
    with pytest.raises(ValueError, match="checkpoint.json' is not a checkpoint"):
        charlstm.train(text=make_text(), run_dir=run_copy, resume=True)


def test_a_new_start_removes_what_a_killed_save_left(tmp_path):
    run = tmp_path / "run"
    charlstm.train(text=TEXT, run_dir=run, config=tiny_config(epochs=1))
    leftovers = [
        run / ".checkpoint-000007.keras.x1y2.keras",
        run / ".model.keras.abcd.keras",
        run / "checkpoint-000009.npz",  # written, never committed
    ]
    for path in leftovers:
        path.write_bytes(b"half")
    charlstm.train(text=TEXT, run_dir=run, config=tiny_config(epochs=2), resume=True)
    assert not any(path.exists() for path in leftovers)
    for path in leftovers:
        path.write_bytes(b"half")
    charlstm.train(text=TEXT, run_dir=run, config=tiny_config(epochs=1), force=True)
    assert not any(path.exists() for path in leftovers)
