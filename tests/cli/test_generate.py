"""`charlstm generate` and `charlstm evaluate`: the one loader, on the numpy
engine without TensorFlow, or on Keras with --engine keras."""

import json
import subprocess
import sys
import textwrap

import pytest

import charlstm
from charlstm.cli import main
from tests.helpers import make_text


def run_without_tensorflow(*argv):
    """Runs the command in a fresh interpreter; reports if TensorFlow got in."""
    script = textwrap.dedent(
        f"""
        import sys
        from charlstm.cli import main
        code = main({list(map(str, argv))!r})
        sys.stderr.write(f"\\n{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_generate_runs_on_the_numpy_engine_without_tensorflow(trained_run):
    result = run_without_tensorflow(
        "generate",
        trained_run,
        "--seed",
        "head ",
        "--length",
        "40",
        "--random-seed",
        "3",
    )
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    expected = charlstm.load(trained_run).generate("head ", 40, random_seed=3)
    assert result.stdout == expected + "\n"


def test_evaluate_runs_on_the_numpy_engine_without_tensorflow(trained_run, tmp_path):
    held_out = tmp_path / "held_out.txt"
    held_out.write_text(make_text(1500, seed=7))
    result = run_without_tensorflow("evaluate", trained_run, held_out)
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    scores = json.loads(result.stdout)
    expected = charlstm.evaluate(charlstm.load(trained_run), text=held_out.read_text())
    assert scores["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    # Every character is scored, the first one from a newline context.
    assert scores["characters"] == expected["characters"] == 1500
    assert scores["unknown_characters"] == 0
    assert scores["bits_per_char_known"] == pytest.approx(scores["bits_per_char"])


@pytest.mark.parametrize("engine", ["numpy", "keras"])
def test_both_engines_generate_and_evaluate_the_same(trained_run, engine, capsys):
    args = ["--seed", "bad ", "--length", "30", "--temperature", "0", "--json"]
    assert main(["generate", str(trained_run), "--engine", engine, *args]) == 0
    samples = json.loads(capsys.readouterr().out)["samples"]
    greedy = charlstm.load(trained_run).generate("bad ", 30, temperature=0)
    assert samples == [greedy]


def test_stop_strings_and_strictness(trained_run, capsys):
    args = ["generate", str(trained_run), "--seed", "head ", "--length", "200"]
    assert main([*args, "--stop", "\n", "--stop", "a", "--random-seed", "1"]) == 0
    text = capsys.readouterr().out[: -len("\n")]
    generated = text[len("head ") :]
    assert "\n" not in generated and "a" not in generated
    # "Z" is outside the vocabulary: read as its unknown id, strict or not.
    for strict in ("--strict", "--no-strict"):
        assert main([*args, "--seed", "headZ", strict, "--length", "5"]) == 0
        captured = capsys.readouterr()
        assert captured.out.startswith("headZ")  # the seed as given
        assert captured.err == (
            "charlstm: 1 seed character(s) outside the vocabulary, read as its "
            "unknown id: 'Z'\n"
        )


def test_strictness_of_a_vocabulary_without_an_unknown_id(old_run, capsys):
    args = ["generate", str(old_run), "--seed", "headZ", "--length", "5"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("charlstm: error: ") and err.count("\n") == 1
    assert "'Z'" in err
    assert main([*args, "--no-strict"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("head") and not captured.out.startswith("headZ")
    assert captured.err == (
        "charlstm: 1 seed character(s) outside the vocabulary, dropped: 'Z'\n"
    )


def test_bad_sampling_flags_name_the_flag(trained_run, capsys):
    for flag, value in (("--temperature", "-1"), ("--top-p", "2"), ("--top-k", "0")):
        assert main(["generate", str(trained_run), flag, value]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"charlstm: error: {flag}: ") and err.count("\n") == 1
