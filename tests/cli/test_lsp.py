"""`charlstm lsp` on the command line; the server itself is tested in
tests/serve/test_lsp.py."""

import sys

import pytest

from charlstm.cli import main


@pytest.fixture
def without_pygls(monkeypatch):
    """Imports of pygls and lsprotocol fail, as where the extra is missing."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("pygls", "lsprotocol"):
            monkeypatch.setitem(sys.modules, name, None)
    for name in ("pygls", "lsprotocol"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "charlstm.serve.lsp", raising=False)


def test_help_needs_no_pygls(without_pygls, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["lsp", "--help"])
    assert exit.value.code == 0
    assert "RUN_DIR" in capsys.readouterr().out


def test_without_pygls_the_error_names_the_extra(without_pygls, tmp_path, capsys):
    assert main(["lsp", str(tmp_path / "no-run")]) == 2
    assert capsys.readouterr().err == (
        "charlstm: error: charlstm lsp needs pygls: pip install 'charlstm[lsp]'\n"
    )


def test_a_missing_run_is_one_line(tmp_path, capsys):
    assert main(["lsp", str(tmp_path / "no-run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("charlstm: error: run directory does not exist")
    assert err.count("\n") == 1
