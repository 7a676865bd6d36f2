"""`--time-budget`: bad values are one-line errors; a tiny budget trains one batch."""

import pytest

import charlstm
from charlstm.cli import main
from tests.helpers import make_text, tiny_config

TINY = ["--units", "8", "--num-layers", "1", "--embedding-dim", "4"]
TINY += ["--batch-size", "4", "--sequence-length", "5", "--quiet"]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(make_text(3000))
    return path


@pytest.mark.parametrize("budget", ["0", "-5", "nan", "inf"])
def test_non_positive_or_non_finite_budget_is_a_one_line_error(
    tmp_path, corpus, capsys, budget
):
    run = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(run), f"--time-budget={budget}"]
    assert main(args + TINY) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("charlstm: error: --time-budget")
    assert not run.exists()


def test_budget_with_zero_epochs_is_a_one_line_error(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(run), "--time-budget", "5"]
    assert main(args + ["--epochs", "0"] + TINY) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--epochs 0" in err[0]
    assert not run.exists()


def test_budget_shorter_than_a_batch_trains_one_batch():
    result = charlstm.train(
        text=make_text(20000), config=tiny_config(epochs=50), time_budget=1e-9
    )
    assert result.stopped_on_budget and result.budget_batches == 1
    assert int(result.model.optimizer.iterations.numpy()) == 1
    assert len(result.history) == 1 and result.history[0]["val_loss"] > 0


def test_cli_says_when_the_budget_was_shorter_than_one_batch(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(run), "--time-budget", "1e-9"]
    assert main(args + TINY) == 0
    assert "shorter than one batch: trained one batch" in capsys.readouterr().err
    assert (run / "model.keras").exists()
