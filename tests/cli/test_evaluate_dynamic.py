"""`charlstm evaluate RUN CORPUS --dynamic`: static and dynamic figures as JSON."""

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap

import pytest

import charlstm
from charlstm.cli import main
from charlstm.cli.evaluate import KEYS
from charlstm.config import RunConfig
from charlstm.eval.dynamic import DynamicConfig, evaluate_dynamic
from tests.helpers import make_text

PATTERN = (
    "hedge bad cafe\n" * 60
)  # one line over and over: dynamic evaluation learns it


@pytest.fixture
def files(tmp_path):
    held_out = tmp_path / "held_out.txt"
    held_out.write_text(PATTERN)
    training = tmp_path / "training.txt"
    training.write_text(make_text())
    return held_out, training


def test_prints_the_static_and_the_dynamic_figures(trained_run, files, capsys):
    held_out, training = files
    argv = ["evaluate", str(trained_run), str(held_out), "--dynamic"]
    argv += ["--learning-rate", "0.002", "--decay", "0", "--segment-length", "10"]
    argv += ["--statistics-batch-size", "10", "--statistics-corpus", str(training)]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["static"]) == set(printed["dynamic"]) == set(KEYS)
    assert printed["static"]["characters"] == printed["dynamic"]["characters"] == 900
    assert printed["dynamic"]["bits_per_char"] < printed["static"]["bits_per_char"]
    config = DynamicConfig(
        learning_rate=0.002, decay=0.0, segment_length=10, statistics_batch_size=10
    )
    assert printed["settings"] == dataclasses.asdict(config)
    assert printed["statistics_corpus"] == str(training)
    expected = evaluate_dynamic(
        charlstm.load(trained_run), PATTERN, config, statistics_text=make_text()
    )
    for figure in ("static", "dynamic"):
        for key in KEYS:
            assert printed[figure][key] == pytest.approx(expected[figure][key])


def test_sgd_runs_without_statistics_or_tensorflow(lstm_run, files):
    held_out, _ = files
    argv = ["evaluate", str(lstm_run), str(held_out), "--dynamic", "--json"]
    argv += ["--variant", "sgd", "--learning-rate", "0.1"]
    script = textwrap.dedent(
        f"""
        import sys
        from charlstm.cli import main
        code = main({argv!r})
        sys.stderr.write(f"\\n{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    printed = json.loads(result.stdout)
    assert printed["statistics_corpus"] is None
    assert printed["settings"]["variant"] == "sgd"
    assert printed["dynamic"]["bits_per_char"] < printed["static"]["bits_per_char"]


def test_a_progress_bar_on_long_texts(trained_run, tmp_path, capsys):
    held_out = tmp_path / "long.txt"
    held_out.write_text(make_text(20_000, seed=5))
    argv = ["evaluate", str(trained_run), str(held_out), "--dynamic"]
    assert main([*argv, "--variant", "sgd", "--segment-length", "50"]) == 0
    captured = capsys.readouterr()
    assert "dynamic" in captured.err and "20000/20000" in captured.err
    assert json.loads(captured.out)["dynamic"]["characters"] == 20_000


def test_without_statistics_corpus_the_runs_own_corpus_is_read(
    trained_run, files, tmp_path, capsys
):
    held_out, training = files
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    config = RunConfig.load(run / "config.json")
    config.data.sources = [str(training)]
    config.save(run / "config.json")
    argv = ["evaluate", str(run), str(held_out), "--dynamic"]
    assert main([*argv, "--statistics-batch-size", "10"]) == 0
    assert json.loads(capsys.readouterr().out)["statistics_corpus"] == str(training)
    training.unlink()
    assert main([*argv, "--statistics-batch-size", "10"]) == 2
    err = capsys.readouterr().err
    assert "is not found" in err and "--statistics-corpus" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dynamic", "--learning-rate", "-1"], "--learning-rate: `learning_rate`"),
        (["--dynamic", "--segment-length", "0"], "--segment-length: `segment_length`"),
        (["--dynamic", "--decay", "2"], r"--decay: `decay` must be in [0, 1]"),
        (["--dynamic", "--variant", "adam"], "invalid choice: 'adam'"),
        (["--dynamic", "--statistics-corpus", "{held_out}"], "= 2,000 characters"),
        (["--learning-rate", "0.1"], "--learning-rate goes with --dynamic"),
        (["--statistics-corpus", "x"], "--statistics-corpus goes with --dynamic"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(trained_run, files, capsys, flags, message):
    held_out, _ = files
    flags = [f.format(held_out=held_out) for f in flags]
    assert main(["evaluate", str(trained_run), str(held_out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("charlstm: error: ") and err.count("\n") == 1
    assert message in err
