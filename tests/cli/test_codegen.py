import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from charlstm.cli import main

SOURCE = textwrap.dedent(
    '''
    def bad(cafe):
        """head fed"""
        return cafe


    class Beef:
        def hedge(self, a):
            """gag"""
            return a

        def undocumented(self):
            return 1


    def ace(b):
        """bad face"""
        if b:
            return b
        return 0
    '''
)


@pytest.fixture
def sources(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.py").write_text(SOURCE)
    (root / "broken.py").write_text('def f(:\n    """x"""\n')
    return root


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("bad cafe head fed\n" * 20)
    return path


def run(capsys, *args):
    code = main(["codegen", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_codegen_writes_records_and_prints_the_summary(
    trained_run, sources, corpus, tmp_path, capsys
):
    out = tmp_path / "results.jsonl"
    code, stdout, stderr = run(
        capsys, trained_run, sources, "--out", out, "--max-length", "30",
        "--training-corpus", corpus, "--quiet",
    )  # fmt: skip
    assert code == 0, stderr
    assert "1 file(s) skipped" in stderr  # broken.py
    summary = json.loads(stdout)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary["count"] == len(records) == summary["functions_found"] == 3
    assert [r["qualified_name"] for r in records] == ["bad", "Beef.hedge", "ace"]
    assert records[1]["reference_body"] == "        return a\n"
    assert summary["skipped_files"] == 1
    assert summary["novelty_corpus_characters"] == len(corpus.read_text())
    assert summary["training_corpus"] == str(corpus)
    assert summary["parameters"] == {
        "max_length": 30,
        "temperature": 0.75,
        "random_seed": 0,
        "novelty_sizes": [20, 50],
    }
    for key in ("bleu_perez2021", "bleu_tokens", "syntax_valid_rate"):
        assert 0 <= summary[key] <= 1
    for record in records:
        assert len(record["generated_body"]) <= 31


def test_limit_and_random_seed_pick_a_reproducible_subset(
    trained_run, sources, tmp_path, capsys
):
    outs = [tmp_path / "one.jsonl", tmp_path / "two.jsonl"]
    for out in outs:
        code, _, stderr = run(
            capsys, trained_run, sources, "--out", out, "--limit", "2",
            "--max-length", "20", "--no-novelty", "--quiet", "--random-seed", "4",
        )  # fmt: skip
        assert code == 0, stderr
    assert outs[0].read_text() == outs[1].read_text()
    assert len(outs[0].read_text().splitlines()) == 2


def test_existing_output_is_kept_unless_force(trained_run, sources, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    out.write_text("keep\n")
    args = [trained_run, sources, "--out", out, "--max-length", "10", "--quiet"]
    code, stdout, stderr = run(capsys, *args, "--no-novelty")
    assert code == 2 and stdout == ""
    assert "already exists" in stderr and "--force" in stderr
    assert out.read_text() == "keep\n"
    code, _, stderr = run(capsys, *args, "--no-novelty", "--force")
    assert code == 0, stderr
    assert len(out.read_text().splitlines()) == 3


def test_bad_input_is_one_line_error(trained_run, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.py").write_text("def f():\n    return 1\n")
    out = tmp_path / "r.jsonl"
    code, _, stderr = run(capsys, trained_run, empty, "--out", out)
    assert code == 2
    assert stderr.startswith("charlstm: error: no function with a docstring")
    assert not out.exists()
    for option, value in (("--limit", "0"), ("--max-length", "-1")):
        code, _, stderr = run(capsys, trained_run, empty, "--out", out, option, value)
        assert code == 2 and f"{option} must be a positive integer" in stderr
    code, _, stderr = run(
        capsys, trained_run, empty, "--out", out, "--temperature", "-1"
    )
    assert code == 2 and "--temperature" in stderr
    code, _, stderr = run(capsys, trained_run, tmp_path / "nope", "--out", out)
    assert code == 2 and "does not exist" in stderr


def test_novelty_defaults_to_the_runs_corpus(
    trained_run, sources, corpus, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    config["data"]["sources"] = [str(corpus)]
    (run_dir / "config.json").write_text(json.dumps(config))
    args = [run_dir, sources, "--max-length", "10", "--quiet"]
    code, stdout, stderr = run(capsys, *args, "--out", tmp_path / "a.jsonl")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["training_corpus"] == str(corpus)
    assert summary["novelty_corpus_characters"] == len(corpus.read_text())

    corpus.unlink()  # the run's corpus is gone: a note, no novelty figures
    code, stdout, stderr = run(capsys, *args, "--out", tmp_path / "b.jsonl")
    assert code == 0, stderr
    assert "novelty skipped" in stderr and "--training-corpus" in stderr
    summary = json.loads(stdout)
    assert summary["copied_20"] is None and summary["novelty_corpus_characters"] is None


def test_codegen_does_not_import_tensorflow(trained_run, sources, tmp_path):
    out = tmp_path / "r.jsonl"
    script = textwrap.dedent(
        f"""
        import sys
        from charlstm.cli import main
        code = main(["codegen", {str(trained_run)!r}, {str(sources)!r}, "--out",
                     {str(out)!r}, "--max-length", "10", "--no-novelty", "--quiet"])
        sys.stderr.write(f"{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    assert json.loads(result.stdout)["count"] == 3
