"""`charlstm search train|evaluate|query` on a tiny tree made here."""

import json
from pathlib import Path

import pytest

from charlstm.cli import main

WORDS = ["read", "write", "parse", "sort", "merge", "split", "count", "open"]
NOUNS = ["file", "header", "list", "table", "path", "number", "socket", "line"]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """Twelve files of documented functions whose names echo their docstrings,
    as the relative path `tree` (the working directory is `tmp_path`): a file's
    side of the train/test split hashes its path as given, which must not hold
    pytest's numbered temporary directory (seed 0 puts m0.py and m4.py in test)."""
    monkeypatch.chdir(tmp_path)
    root = Path("tree")
    root.mkdir()
    for f in range(12):
        lines = []
        for k in range(6):
            verb, noun = WORDS[(f + k) % 8], NOUNS[(f * 3 + k) % 8]
            lines += [
                f"def {verb}_{noun}_{f}_{k}(value):",
                f'    """{verb.capitalize()} the {noun}."""',
                f"    return {verb}_{noun}(value)",
                "",
            ]
        (root / f"m{f}.py").write_text("\n".join(lines))
    return root


TINY = ["--epochs", "30", "--dim", "16", "--batch-size", "32", "--quiet"]
TINY += ["--vocabulary-size", "100", "--test-share", "0.3", "--learning-rate", "0.01"]


def test_train_evaluate_and_query(tmp_path, tree, capsys):
    out = tmp_path / "search"
    assert main(["search", "train", str(tree), "--out", str(out), *TINY]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert 0 < figures["mrr"] <= 1 and figures["queries"] > 0
    assert {"config.json", "encoder.keras", "index.npz", "index.json"} <= {
        p.name for p in out.iterdir()
    }
    assert main(["search", "evaluate", str(out), str(tree)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["queries"] == 72 and evaluated["mrr"] > 1 / 72
    assert main(["search", "query", str(out), "parse the header", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 5 and all(h["path"].endswith(".py") for h in hits)
    assert hits[0]["score"] >= hits[-1]["score"]
    # An existing search is kept unless --force.
    assert main(["search", "train", str(tree), "--out", str(out), *TINY]) == 2
    assert "--force" in capsys.readouterr().err


def test_a_charlstm_run_as_the_code_encoder(tmp_path, tree, trained_run, capsys):
    out = tmp_path / "search"
    args = ["search", "train", str(tree), "--out", str(out), *TINY]
    assert main([*args, "--encoder", "charlstm", "--char-run", str(trained_run)]) == 0
    assert 0 < json.loads(capsys.readouterr().out)["mrr"] <= 1
    assert not (out / "code_vocab.json").exists()
    assert main(["search", "query", str(out), "sort the list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_bad_input_is_one_line(tmp_path, tree, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.py").write_text("def f():\n    return 1\n")
    cases = [
        (["train", str(empty), "--out", str(tmp_path / "s")], "no documented function"),
        (["query", str(tmp_path / "none"), "read a file"], "holds no code search"),
        (["evaluate", str(tmp_path / "none"), str(tree)], "holds no code search"),
        (
            ["train", str(tree), "--out", str(tmp_path / "s"), "--encoder", "charlstm"],
            "char_run",
        ),
        (["train", str(tree), "--out", str(tmp_path / "s"), "--dim", "0"], "dim"),
    ]
    for args, message in cases:
        assert main(["search", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
