import json
import os
import subprocess
import sys

import pytest

from charlstm.cli import main
from charlstm.cli.evaluate import KEYS
from charlstm.training.threads import describe_threads
from tests.helpers import POOLS, make_text

TINY = [
    "--units",
    "8",
    "--num-layers",
    "1",
    "--embedding-dim",
    "4",
    "--batch-size",
    "4",
    "--sequence-length",
    "5",
    "--epochs",
    "1",
    "--random-seed",
    "0",
    "--quiet",
]


def run_cli(*args):
    """Runs the installed entry point in a subprocess, as a user would."""
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "charlstm", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(make_text(3000))
    return path


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("charlstm: error: ")
    return err[0]


def test_train_generate_evaluate_end_to_end_in_a_subprocess(tmp_path, corpus):
    run = tmp_path / "run"
    trained = run_cli("train", corpus, "--out", run, *TINY)
    assert trained.returncode == 0, trained.stderr
    assert "val_loss" in trained.stdout and str(run) in trained.stdout
    assert "oneDNN" not in trained.stderr and "Traceback" not in trained.stderr
    generated = run_cli(
        "generate", run, "--seed", "head", "--length", "40", "--random-seed", "1"
    )
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout.startswith("head") and len(generated.stdout) == 45
    evaluated = run_cli("evaluate", run, corpus)
    assert evaluated.returncode == 0, evaluated.stderr
    scores = json.loads(evaluated.stdout)
    assert tuple(scores) == KEYS  # the same keys from both backends
    assert scores["characters"] == 3000 and scores["unknown_characters"] == 0


def test_user_errors_are_one_line_without_traceback_in_a_subprocess(tmp_path):
    result = run_cli("generate", tmp_path / "missing", "--seed", "a")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"charlstm: error: run directory does not exist: {str(tmp_path / 'missing')!r}"
    ]


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, charlstm; charlstm.Vocabulary; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False False"


def test_existing_run_is_refused_and_kept(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    assert main(["train", str(corpus), "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main(["train", str(corpus), "--out", str(run), *TINY]) == 2
    assert "--resume" in error_line(capsys)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    # --resume continues to more epochs; --force starts over.
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    assert "epoch 2:" in capsys.readouterr().out
    assert main(["train", str(corpus), "--out", str(run), *TINY, "--force"]) == 0
    assert "epoch 1:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["train", "{corpus}", "--out", "{run}", "--validation-split", "0.7"],
            "validation_split",
        ),
        (["train", "{corpus}", "--out", "{run}", "--batch-size", "400"], "at least"),
        (
            ["train", "{corpus}", "--out", "{run}", "--time-budget", "0"],
            "--time-budget",
        ),
        (
            [
                "train",
                "{corpus}",
                "--out",
                "{run}",
                "--time-budget",
                "5",
                "--epochs",
                "0",
            ],
            "--epochs 0",
        ),
        (
            [
                "train",
                "{corpus}",
                "--out",
                "{run}",
                "--lr-schedule",
                "exponential",
                "--warmup-steps",
                "10",
            ],
            "`warmup_steps` needs lr_schedule='cosine' or 'linear'",
        ),
        (
            ["train", "{corpus}", "--out", "{run}", "--optimizer", "sgd"],
            "invalid choice",
        ),
        (
            ["train", "{corpus}", "--out", "{run}", "--weight-decay", "-1"],
            "`weight_decay` must be a number >= 0",
        ),
        (["train", "{corpus}"], "--out"),
        (["train", "{missing}", "--out", "{run}"], "does not exist"),
        (
            ["train", "{corpus}", "--out", "{run}", "--cell", "transformer"],
            "invalid choice",
        ),
        (["generate", "{run}", "--seed", "a"], "does not exist"),
        (["evaluate", "{run}", "{corpus}"], "does not exist"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, corpus, capsys, args, message):
    fill = {"corpus": corpus, "run": tmp_path / "run", "missing": tmp_path / "nope.txt"}
    assert main([a.format(**fill) for a in args]) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_binary_and_empty_corpus(tmp_path, capsys):
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00" * 100)
    assert main(["train", str(binary), "--out", str(tmp_path / "r"), *TINY]) == 2
    assert "binary" in error_line(capsys)
    empty = tmp_path / "e.txt"
    empty.write_text("\u2603\u2603", encoding="utf-8")
    # Unicode is kept: two snowmen are a corpus, too short for the batches.
    assert main(["train", str(empty), "--out", str(tmp_path / "r"), *TINY]) == 2
    assert "too small" in error_line(capsys)
    # Folded to ASCII, nothing is left.
    assert (
        main(["train", str(empty), "--out", str(tmp_path / "r"), *TINY, "--ascii"]) == 2
    )
    assert "empty" in error_line(capsys)
    assert not (tmp_path / "r").exists()


CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
# ASCII words and Cyrillic lines: every letter of the alphabet twice (more than
# 1% of the text), "привет мир" five times, and one rare "ї" (seen once).
UNICODE_TEXT = make_text(3000) + "привет мир\n" * 5 + (CYRILLIC + "\n") * 2 + "ї\n"


@pytest.fixture
def unicode_corpus(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_text(UNICODE_TEXT, encoding="utf-8")
    return path


def test_train_prints_the_corpus_statistics_before_training(
    tmp_path, unicode_corpus, capsys
):
    run = tmp_path / "run"
    loud = [a for a in TINY if a != "--quiet"]  # the progress bar on stderr
    assert main(["train", str(unicode_corpus), "--out", str(run), *loud]) == 0
    captured = capsys.readouterr()
    first, rest = captured.err.split("\n", 1)
    # "ї" is seen once (--min-char-count 2 by default): the one unknown character;
    # the vocabulary is the other characters and the unknown id.
    share = f"{100 / len(UNICODE_TEXT):.2f}%"
    assert first == (
        f"charlstm: corpus: 1 file(s), {len(UNICODE_TEXT):,} characters, "
        f"vocabulary {len(set(UNICODE_TEXT))}, unknown 1 ({share}), "
        "dropped 0 (0.00%), 0 undecodable byte(s)"
    )
    assert "charlstm: corpus:" not in rest
    assert "epoch 1/1" in rest  # the progress bar: training came after
    assert "epoch 1:" in captured.out
    vocabulary = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
    assert vocabulary["unknown"] is True
    assert set(vocabulary["characters"]) == set(UNICODE_TEXT) - {"ї"}


def test_train_refuses_a_corpus_with_too_many_unknown_characters(
    tmp_path, unicode_corpus, capsys
):
    run = tmp_path / "run"
    args = ["train", str(unicode_corpus), "--out", str(run), *TINY]
    # Seen fewer than 5 times, most Cyrillic letters are unknown: over 1%.
    assert main([*args, "--min-char-count", "5"]) == 2
    line = error_line(capsys)
    assert "--max-unknown-share" in line
    assert not run.exists()
    assert main([*args, "--min-char-count", "5", "--max-unknown-share", "0.5"]) == 0
    captured = capsys.readouterr()
    corpus, devices = captured.err.splitlines()
    assert corpus.startswith("charlstm: corpus: ")
    pools = describe_threads(POOLS)
    assert devices == (
        f"charlstm: training on: fused LSTM stack (charlstm's CPU path); {pools}"
    )
    assert (run / "vocab.json").exists()


def test_generate_options_and_errors(trained_run, capsys):
    assert (
        main(
            [
                "generate",
                str(trained_run),
                "--seed",
                "abc",
                "--length",
                "10",
                "--num-samples",
                "2",
                "--random-seed",
                "0",
            ]
        )
        == 0
    )
    samples = capsys.readouterr().out.rstrip("\n").split("\n\n")
    assert len(samples) == 2 and all(s.startswith("abc") for s in samples)
    assert (
        main(["generate", str(trained_run), "--seed", "abc", "--temperature", "-1"])
        == 2
    )
    assert "temperature" in error_line(capsys)
    assert main(["generate", str(trained_run), "--seed", "abc", "--length", "-3"]) == 2
    assert "length" in error_line(capsys)
    # Characters outside the vocabulary are read as its unknown id, with a note.
    assert main(["generate", str(trained_run), "--seed", "xyz", "--length", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("xyz")
    assert captured.err == (
        "charlstm: 3 seed character(s) outside the vocabulary, read as its unknown "
        "id: 'x', 'y', 'z'\n"
    )


def test_generate_with_a_vocabulary_without_an_unknown_id(old_run, capsys):
    """A run from before unknown ids: an error, or (--drop-unknown) dropped."""
    assert main(["generate", str(old_run), "--seed", "xyz"]) == 2
    assert "'x', 'y', 'z'" in error_line(capsys)
    args = ["generate", str(old_run), "--seed", "abxyz", "--length", "3"]
    assert main([*args, "--drop-unknown"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ab") and len(captured.out) == len("ab") + 3 + 1
    assert "3 seed character(s) outside the vocabulary, dropped" in captured.err


def test_generate_on_a_directory_without_a_model(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["generate", str(tmp_path / "empty")]) == 2
    assert "holds no trained model" in error_line(capsys)


def test_optimizer_and_schedule_options_reach_the_run(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    options = ["--optimizer", "adamw", "--weight-decay", "0.01"]
    options += ["--lr-schedule", "cosine", "--warmup-steps", "3"]
    assert main(["train", str(corpus), "--out", str(run), *TINY, *options]) == 0
    model = json.loads((run / "config.json").read_text())["model"]
    assert model["optimizer"] == "adamw" and model["weight_decay"] == 0.01
    assert model["lr_schedule"] == "cosine" and model["warmup_steps"] == 3
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--optimizer", "adam"]) == 2
    assert "--optimizer cannot change when resuming" in error_line(capsys)


def test_resume_refuses_settings_it_cannot_change(trained_run, capsys):
    assert (
        main(["train", "--resume", str(trained_run), "--units", "64", "--cell", "gru"])
        == 2
    )
    line = error_line(capsys)
    assert "--cell" in line and "--units" in line and "resuming" in line


def test_a_missing_extra_is_one_line_and_other_import_errors_propagate(
    monkeypatch, capsys
):
    import charlstm.cli.plot as plot

    def missing_extra(args):
        raise ImportError("plots need matplotlib: pip install 'charlstm[viz]'")

    monkeypatch.setattr(plot, "run", missing_extra)
    assert main(["plot", "runs/none", "--out", "plots"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "charlstm: error: plots need matplotlib: pip install 'charlstm[viz]'\n"
    )

    def broken(args):
        raise ImportError("cannot import name 'x' from 'charlstm.y'")

    monkeypatch.setattr(plot, "run", broken)
    with pytest.raises(ImportError, match="cannot import name"):
        main(["plot", "runs/none", "--out", "plots"])


def test_a_bug_is_not_a_usage_error(monkeypatch, capsys):
    """Only the user's mistakes are one line with status 2; a ValueError from
    inside (not an InputError) propagates, and the console shows its traceback."""
    import charlstm.cli.plot as plot

    def bug(args):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(plot, "run", bug)
    with pytest.raises(ValueError, match="broadcast"):
        main(["plot", "runs/none", "--out", "plots"])
    assert "charlstm: error" not in capsys.readouterr().err


def test_a_bug_shows_its_traceback_and_exits_1(tmp_path):
    code = (
        "import sys, charlstm.cli.plot as plot\n"
        "def bug(args):\n"
        "    raise KeyError('internal')\n"
        "plot.run = bug\n"
        "from charlstm.cli import main\n"
        "sys.exit(main(['plot', 'runs/none', '--out', 'plots']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "KeyError: 'internal'" in result.stderr


def test_debug_adds_the_traceback_to_a_user_error(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "missing")]) == 2
    plain = capsys.readouterr().err
    assert plain.count("\n") == 1 and "Traceback" not in plain
    assert main(["--debug", "generate", str(tmp_path / "missing")]) == 2
    debug = capsys.readouterr().err
    assert "Traceback" in debug
    assert debug.splitlines()[-1] == plain.strip()
