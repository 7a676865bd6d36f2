import io
import json
import subprocess
import sys
import textwrap

import pytest

import charlstm
from charlstm.cli import main
from charlstm.eval.dynamic import DynamicConfig, gradient_statistics
from charlstm.infer.adaptation import Adapter, AdaptiveCompleter
from tests.helpers import REPEATED, make_text

REQUESTS = [
    '{"prefix": "head b", "id": 1, "candidates": 2, "max_length": 12}',
    "this is not JSON",
    "",
    '{"prefix": "", "id": "empty"}',
    '{"prefix": "fe", "bogus": true}',
    "[1, 2]",
    '{"id": 7}',
    '{"prefix": "hXe", "context": "bad cafe\\n", "confidence": true, "id": 2}',
]


@pytest.fixture(scope="module")
def generator(trained_run):
    return charlstm.load(trained_run, engine="numpy")


def test_complete_prints_the_line_without_importing_tensorflow(trained_run, generator):
    script = textwrap.dedent(
        f"""
        import sys
        from charlstm.cli import main
        code = main(["complete", {str(trained_run)!r}, "--prefix", "bad\\nhead b",
                     "--max-length", "30"])
        sys.stderr.write(f"{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    expected = generator.complete("bad\nhead b", max_length=30).text
    assert result.stdout == f"head b{expected}\n"


def test_candidates_are_printed_best_first_with_log_probabilities(
    trained_run, generator, capsys
):
    args = ["complete", str(trained_run), "--prefix", "fed ", "--candidates", "3"]
    assert main([*args, "--max-length", "15"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = generator.complete("fed ", num_candidates=3, max_length=15)
    assert len(lines) == 3
    for line, completion in zip(lines, expected, strict=True):
        score, text = line.lstrip().split("  ", 1)
        assert float(score) == pytest.approx(completion.log_probability, abs=1e-3)
        assert text == "fed " + completion.text


def test_json_answer_with_confidence(trained_run, capsys):
    args = ["complete", str(trained_run), "--prefix", "hea", "--json"]
    assert main([*args, "--confidence", "--max-length", "8"]) == 0
    answer = json.loads(capsys.readouterr().out)
    (completion,) = answer["completions"]
    chars = completion["characters"]
    assert "".join(c["char"] for c in chars) == completion["text"]
    assert all(0 < c["probability"] <= 1 and c["entropy"] >= 0 for c in chars)


def test_confidence_colours_only_when_asked(trained_run, capsys):
    args = ["complete", str(trained_run), "--prefix", "hea", "--max-length", "8"]
    assert main([*args, "--confidence", "--color", "always"]) == 0
    assert "\033[" in capsys.readouterr().out
    assert main([*args, "--confidence", "--color", "never"]) == 0
    assert "\033[" not in capsys.readouterr().out


def serve(run, monkeypatch) -> list:
    """The answers of `complete --serve` to REQUESTS."""
    stdin = io.StringIO("\n".join(REQUESTS) + "\n")
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["complete", str(run), "--serve"]) == 0
    answers = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert len(answers) == len([r for r in REQUESTS if r.strip()])
    return answers


def test_serve_answers_every_line_and_survives_bad_ones(trained_run, monkeypatch):
    answers = serve(trained_run, monkeypatch)
    first, bad_json, empty, bogus, not_object, no_prefix, outside = answers
    assert first["id"] == 1 and len(first["completions"]) == 2
    assert "malformed JSON" in bad_json["error"]
    assert empty["id"] == "empty" and "prefix" in empty["error"]
    assert "bogus" in bogus["error"]
    assert "JSON object" in not_object["error"]
    assert no_prefix == {"id": 7, "error": "a request needs a `prefix` field"}
    # "X" is outside the vocabulary: read as its unknown id.
    assert outside["unknown"] == ["X"] and "dropped" not in outside
    assert outside["id"] == 2 and "characters" in outside["completions"][0]


def test_serve_reports_dropped_characters_of_an_old_vocabulary(old_run, monkeypatch):
    """A vocabulary without an unknown id drops "X" and says so."""
    *_, no_prefix, outside = serve(old_run, monkeypatch)
    assert no_prefix == {"id": 7, "error": "a request needs a `prefix` field"}
    assert outside["dropped"] == ["X"] and "unknown" not in outside
    assert outside["id"] == 2 and "characters" in outside["completions"][0]


def test_serve_in_a_subprocess_streams_answers(trained_run):
    command = [sys.executable, "-m", "charlstm", "complete", str(trained_run)]
    with subprocess.Popen(
        [*command, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        for prefix in ("hea", "head", "head b"):  # one answer before the next request
            process.stdin.write(json.dumps({"prefix": prefix}) + "\n")
            process.stdin.flush()
            answer = json.loads(process.stdout.readline())
            assert "\n" not in answer["completions"][0]["text"]
        process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_usage_errors_are_one_line(trained_run, old_run, capsys):
    def error(*args, run=trained_run):
        assert main(["complete", str(run), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("charlstm: error: ")
        return err[0]

    assert "--prefix" in error()
    assert "not both" in error("--prefix", "a", "--serve")
    # --strict: characters a vocabulary without an unknown id cannot encode.
    assert "'X'" in error("--prefix", "aX", "--strict", run=old_run)
    assert "prefix" in error("--prefix", "")
    assert "num_candidates" in error("--prefix", "a", "--candidates", "0")


def test_unknown_characters_are_read_as_the_unknown_id_with_a_note(trained_run, capsys):
    args = ["complete", str(trained_run), "--prefix", "hXea", "--max-length", "5"]
    for strict in ([], ["--strict"]):  # they can be encoded: no error either way
        assert main([*args, *strict]) == 0
        captured = capsys.readouterr()
        assert captured.err == (
            "charlstm: 1 character(s) outside the vocabulary, read as its unknown "
            "id: 'X'\n"
        )
        assert captured.out.startswith("hXea")


def test_an_old_vocabulary_drops_unknown_characters_with_a_note(old_run, capsys):
    args = ["complete", str(old_run), "--prefix", "hXea", "--max-length", "5"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "charlstm: 1 character(s) outside the vocabulary, dropped: 'X'\n"
    )
    assert captured.out.startswith("hXea")


def test_a_run_from_another_release_completes_on_keras_with_a_note(
    trained_run, tmp_path, generator, capsys
):
    import shutil

    run = shutil.copytree(trained_run, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    config["version"] = "9.0.0"
    (run / "config.json").write_text(json.dumps(config))
    assert main(["complete", str(run), "--prefix", "hea", "--max-length", "10"]) == 0
    captured = capsys.readouterr()
    assert "using Keras" in captured.err and "9.0.0" in captured.err
    assert captured.out == "hea" + generator.complete("hea", max_length=10).text + "\n"


def dynamic_flags(step):
    """`complete`'s flags for the rms rule at `step` (the `dynamic_step` fixture)."""
    return ["--dynamic", "--learning-rate", str(step), "--statistics-batch-size", "10"]


@pytest.fixture
def training(tmp_path):
    path = tmp_path / "training.txt"
    path.write_text(make_text())
    return path


def completions(argv, capsys) -> list[tuple[float, str]]:
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    return [(float(s), text) for s, text in (line.split(None, 1) for line in lines)]


def test_dynamic_learns_an_identifier_the_context_repeats(
    lstm_run, dynamic_step, training, capsys
):
    generator = charlstm.load(lstm_run, engine="numpy")
    argv = ["complete", str(lstm_run), "--context", REPEATED, "--prefix", "head g"]
    argv += ["--candidates", "3", "--max-length", "12"]
    static = completions(argv, capsys)
    dynamic = completions(
        [*argv, *dynamic_flags(dynamic_step), "--statistics-corpus", str(training)],
        capsys,
    )
    assert not any(text.startswith("head gagb") for _, text in static)
    assert dynamic[0][1].startswith("head gagbe")
    assert dynamic[0][0] > static[0][0] + 3
    config = DynamicConfig(learning_rate=dynamic_step, statistics_batch_size=10)
    ms = gradient_statistics(generator, make_text(), config)
    expected = AdaptiveCompleter(Adapter(generator, config, ms)).complete(
        "head g", context=REPEATED, num_candidates=3, max_length=12
    )
    for (score, text), completion in zip(dynamic, expected, strict=True):
        assert text == "head g" + completion.text
        assert score == pytest.approx(completion.log_probability, abs=1e-3)


def test_dynamic_with_learning_rate_zero_answers_as_the_static_model(
    trained_run, capsys
):
    argv = ["complete", str(trained_run), "--context", make_text(500, seed=3)]
    argv += ["--prefix", "bad c", "--candidates", "3", "--max-length", "12"]
    static = completions(argv, capsys)
    dynamic = completions(
        [*argv, "--dynamic", "--variant", "sgd", "--learning-rate", "0"], capsys
    )
    assert dynamic == static


def test_dynamic_serve_learns_each_request_s_new_text_without_tensorflow(
    lstm_run, dynamic_step
):
    """The run's own corpus (the default corpus) gives the statistics."""
    flags = dynamic_flags(dynamic_step)
    requests = [
        {"prefix": "head g", "context": REPEATED[:200], "id": 1},
        {"prefix": "head g", "context": REPEATED, "id": 2},
    ]
    script = textwrap.dedent(
        f"""
        import io, json, sys
        from charlstm.cli import main
        sys.stdin = io.StringIO("\\n".join(json.dumps(r) for r in {requests!r}))
        code = main(["complete", {str(lstm_run)!r}, "--serve", *{flags!r}])
        sys.stderr.write(f"{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    first, second = map(json.loads, result.stdout.splitlines())
    assert (first["id"], second["id"]) == (1, 2)
    assert second["completions"][0]["text"].startswith("agb")


def test_dynamic_usage_errors_are_one_line(trained_run, gru_run, capsys):
    def error(*args, run=trained_run):
        assert main(["complete", str(run), "--prefix", "hea", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("charlstm: error: ")
        return err[0]

    assert "--learning-rate goes with --dynamic" in error("--learning-rate", "0.1")
    assert "--decay: `decay` must be in [0, 1]" in error("--dynamic", "--decay", "2")
    assert "cell='gru'" in error("--dynamic", "--variant", "sgd", run=gru_run)
    short = ["--dynamic", "--statistics-corpus", str(trained_run / "vocab.json")]
    assert "statistics text must hold at least" in error(*short)


@pytest.fixture(scope="module")
def gru_run(tmp_path_factory):
    """A random tiny GRU run (vocabulary 10)."""
    import numpy as np

    from charlstm.config import RunConfig
    from charlstm.data.vocabulary import Vocabulary
    from charlstm.model.build import build_model
    from tests.helpers import ALPHABET, tiny_model_config

    run = tmp_path_factory.mktemp("runs") / "gru"
    run.mkdir()
    config = tiny_model_config(cell="gru", dropout=0.0)
    model = build_model(config, batch_size=1)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    model.save(run / "model.keras")
    RunConfig(model=config).save(run / "config.json")
    Vocabulary(ALPHABET).save(run / "vocab.json")
    return run
