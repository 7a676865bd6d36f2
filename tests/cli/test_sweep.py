import json

import pytest

from charlstm.cli import main
from charlstm.config import ModelConfig
from charlstm.eval.sweep_results import read_results
from tests.helpers import make_text

TINY = [
    "--units",
    "8",
    "--num-layers",
    "1",
    "--embedding-dim",
    "4",
    "--sequence-length",
    "5",
    "--epochs",
    "1",
    "--quiet",
]


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("charlstm: error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(make_text(1000))
    return path


def test_sweep_trains_each_point_and_prints_the_table(tmp_path, corpus, capsys):
    source = tmp_path / "functions.py"
    source.write_text(
        'def a():\n    """Bad."""\n    return 1\n\n\n'
        'def b():\n    """Fed."""\n    return 2\n'
    )
    out = tmp_path / "sweep"
    args = ["sweep", str(corpus), "--out", str(out), "--batch-size", "4,8", *TINY]
    args += ["--prompts-eval", str(source), "--limit", "1", "--max-length", "8"]
    assert main(args) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("| cell | batch size |")
    assert lines[0].endswith("| BLEU eval | token BLEU eval | syntax-valid eval |")
    assert [line.split(" | ")[1] for line in lines[2:]] == ["4", "8"]
    assert "point 2/2 done" in captured.err
    rows = read_results(out)
    lr, cell = ModelConfig().learning_rate, ModelConfig().cell  # the defaults
    assert [r["point"] for r in rows] == [
        f"{cell}-bs4-lr{lr!r}-l2_0.0",
        f"{cell}-bs8-lr{lr!r}-l2_0.0",
    ]
    assert all(r["epochs"] == 1 and r["val_bits_per_char"] > 0 for r in rows)
    assert all(0 <= r["bleu_eval"] <= 1 and r["bleu_train"] is None for r in rows)
    settings = json.loads((out / "sweep.json").read_text())
    assert settings["prompts"]["eval"].startswith("1 function(s), sha256 ")
    assert (out / "results.md").read_text() == "\n".join(lines) + "\n"

    assert main(args) == 2
    assert "--resume" in error_line(capsys)
    assert main([*args, "--resume"]) == 0
    assert "point 1/2:" not in capsys.readouterr().err  # nothing trained again


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--batch-size", "4,0", "`batch_size` (--batch-size) values must be integers"),
        ("--batch-size", "four", "batch_size='four'"),
        ("--learning-rate", "0.01,-1", "learning_rate='-1'"),
        ("--l2", "0,x", "l2='x'"),
        ("--cell", "lstm,rnn", "cell='rnn'"),
        ("--cell", "lstm,lstm", "lists a value twice"),
        ("--batch-size", "4,500", "batch_size=500 for a corpus of 1,000"),
        ("--time-budget", "0", "--time-budget must be a positive number"),
        ("--epochs", "0", "--epochs must be a positive integer"),
        ("--limit", "0", "--limit must be a positive integer"),
        ("--units", "0", "`units` must be an integer >= 1"),
    ],
)
def test_bad_sweep_input_is_one_error_line_before_training(
    tmp_path, corpus, capsys, option, value, message
):
    out = tmp_path / "sweep"
    assert main(["sweep", str(corpus), "--out", str(out), option, value]) == 2
    assert message in error_line(capsys)
    assert not out.exists()


def test_resume_and_force_together_and_a_file_as_out(tmp_path, corpus, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", str(corpus), "--out", str(out), "--resume", "--force"]) == 2
    assert "--resume or --force" in error_line(capsys)
    assert main(["sweep", str(corpus), "--out", str(corpus)]) == 2
    assert "is a file" in error_line(capsys)


def test_prompts_without_documented_functions_are_an_error(tmp_path, corpus, capsys):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    out = tmp_path / "sweep"
    args = ["sweep", str(corpus), "--out", str(out), "--prompts-eval", str(empty)]
    assert main(args) == 2
    assert "--prompts-eval holds no documented functions" in error_line(capsys)
    assert not out.exists()
