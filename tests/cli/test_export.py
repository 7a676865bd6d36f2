"""`charlstm export` (charlstm/cli/export.py): a trained run as files that need
no charlstm."""

import contextlib
import io
import json

import numpy as np
import pytest

from charlstm.cli import main
from charlstm.data.vocabulary import Vocabulary

FILES = ["README.md", "engine.npz", "model.keras", "vocab.json"]


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("charlstm: error: ")
    return err[0]


def contents(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    """The trained run exported once (`charlstm export RUN --out DIR`), with
    what the command printed."""
    out = tmp_path_factory.mktemp("export") / "tiny"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["export", str(trained_run), "--out", str(out)])
    return out, code, stdout.getvalue(), stderr.getvalue()


def test_export_writes_the_four_files_and_a_note(trained_run, exported):
    out, code, stdout, stderr = exported
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert stdout == ""
    assert stderr == (
        f"charlstm: wrote {out}: model.keras, engine.npz, vocab.json, README.md\n"
    )
    # The vocabulary is the run's own, its unknown id included.
    assert json.loads((out / "vocab.json").read_text(encoding="utf-8")) == json.loads(
        (trained_run / "vocab.json").read_text(encoding="utf-8")
    )
    assert Vocabulary.load(out / "vocab.json").unknown_id is not None
    with np.load(out / "engine.npz") as weights:
        assert len(weights.files) > 0
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "keras.saving.load_model" in readme and "LSTM" in readme
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_export_refuses_an_existing_out_and_keeps_it(trained_run, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(trained_run), "--out", str(out)]) == 0
    capsys.readouterr()
    (out / "mine.txt").write_text("keep me")
    before = contents(out)
    assert main(["export", str(trained_run), "--out", str(out)]) == 2
    line = error_line(capsys)
    assert "already exists" in line and "--force" in line
    assert contents(out) == before
    assert capsys.readouterr().out == ""


def test_export_force_replaces_out(trained_run, tmp_path, capsys):
    out = tmp_path / "exported"
    out.mkdir()
    (out / "old.txt").write_text("replace me")
    args = ["export", str(trained_run), "--out", str(out), "--force"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert capsys.readouterr().err == (
        f"charlstm: wrote {out}: model.keras, engine.npz, vocab.json, README.md\n"
    )
    # Nothing is left beside it: no temporary, no old copy.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported"]
    # The last checkpoint exports too.
    assert main([*args, "--checkpoint", "last"]) == 0
    assert sorted(p.name for p in out.iterdir()) == FILES


def test_export_of_a_missing_run_is_one_line(tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "does not exist" in error_line(capsys)
    assert not out.exists()
    assert sorted(tmp_path.iterdir()) == []


def test_export_needs_out(trained_run, capsys):
    assert main(["export", str(trained_run)]) == 2
    assert "--out" in error_line(capsys)
