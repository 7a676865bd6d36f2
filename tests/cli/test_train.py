"""`charlstm train --tensorboard DIR`, `--history-every N` and `--distribute`."""

import json
import os
import subprocess
import sys

import pytest

from charlstm.cli import main
from charlstm.training.run_dir import read_batch_history
from tests.cli.test_main import TINY, error_line
from tests.helpers import make_text


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(make_text(3000))
    return path


def test_tensorboard_and_history_every_reach_the_run(tmp_path, corpus, capsys):
    from tests.training.test_tensorboard import read_events

    run, board = tmp_path / "run", tmp_path / "tb"
    args = ["train", str(corpus), "--out", str(run), *TINY, "--history-every", "10"]
    assert main([*args, "--tensorboard", str(board), "--sample-every", "1"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["history_every"] == 10
    rows = read_batch_history(run / "batch_history.csv")
    assert [row["step"] for row in rows[:3]] == [10, 20, 30]
    events = read_events(board / "train")
    assert [step for step, _ in events["loss"]] == [row["step"] for row in rows]
    assert "samples/temperature_0.2" in events  # --sample-every's samples
    assert "--- epoch 1, temperature 0.2 ---" in capsys.readouterr().out
    # A resumed run may change it: 0 writes no more rows, TensorBoard goes on.
    resume = ["train", "--resume", str(run), "--epochs", "2", "--quiet"]
    assert main([*resume, "--history-every", "0", "--tensorboard", str(board)]) == 0
    assert read_batch_history(run / "batch_history.csv") == rows
    validation = read_events(board / "validation")
    assert len(validation["loss"]) == 2


def test_history_every_is_an_lstm_option(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(out), "--backend", "gpt2"]
    assert main([*args, "--history-every", "5"]) == 2
    assert "--history-every is an LSTM option" in error_line(capsys)
    assert main(["train", str(corpus), "--out", str(out), "--history-every", "-1"]) == 2
    assert "`history_every` must be an integer >= 0" in error_line(capsys)
    assert not out.exists()


def test_distribute_mirrored_trains_on_replicas_and_says_so(tmp_path, corpus):
    """In a new process: the CPU is split into 2 devices before TensorFlow starts."""
    run = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(run), *TINY]
    env = {**os.environ, "CHARLSTM_CPU_DEVICES": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "charlstm", *args, "--distribute", "mirrored"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "charlstm: training on: fused LSTM stack" in done.stderr
    assert "2 replica(s) (mirrored)" in done.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["distribute"] == "mirrored"
    assert json.loads((run / "checkpoint.json").read_text())["progress"]["devices"]


def test_distribute_mistakes_are_usage_errors(tmp_path, corpus, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    out = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(out), *TINY]
    assert main([*args, "--distribute", "multi-worker"]) == 2
    assert "TF_CONFIG" in error_line(capsys)
    assert not out.exists()
    assert main([*args, "--backend", "gpt2", "--distribute", "mirrored"]) == 2
    assert "--distribute is an LSTM option" in error_line(capsys)
