"""`charlstm visualize` (charlstm/cli/visualize.py)."""

import html
import json
import subprocess
import sys

import pytest

from charlstm.cli import main
from tests.helpers import make_text
from tests.interpret.test_view import parse


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text(make_text(300, seed=4) + "x(y)\n", encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main(["visualize", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.err


def test_text_to_page_report_and_png(trained_run, text_file, tmp_path, capsys):
    out, report, png = tmp_path / "v.html", tmp_path / "n.json", tmp_path / "s.png"
    code, err = run(
        capsys, trained_run, "--text", text_file, "--out", out,
        "--report", report, "--png", png,
    )  # fmt: skip
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    data = json.loads(report.read_text())
    # Every character is read, "x(y)" as the unknown id.
    assert data["characters"] == 305 and data["layers"] == 2 and data["units"] == 8
    assert data["feature_method"] == "text"  # not Python: the features of any text
    assert set(data["features"]) == {"line_position", "bracket_depth", "in_quotes"}
    assert data["features"]["in_quotes"] == {
        "description": "inside double quotes",
        "constant": True,
        "top": [],
    }
    top = data["features"]["line_position"]["top"]
    assert len(top) == 5
    assert [abs(t["correlation"]) for t in top] == sorted(
        (abs(t["correlation"]) for t in top), reverse=True
    )
    # The brackets were outside the vocabulary (read as U+FFFD): only
    # line_position varies.
    assert data["features"]["bracket_depth"]["constant"]
    # --neurons auto: one block for each feature that varies, its best neuron.
    assert page.count('<section class="neuron"') == 1 == len(data["shown"])
    best = top[0]
    assert f'data-layer="{best["layer"]}" data-unit="{best["unit"]}"' in page
    held = parse(page).data
    assert "\ufffd" in held["text"] and "x(y)" not in held["text"]
    assert len(held["text"]) == 305
    # The picker: the shown unit (line_position's best), then its second best.
    assert [n["key"] for n in held["neurons"]] == [
        f"{t['layer']}:{t['unit']}:{t['kind']}" for t in top[:2]
    ]
    assert "were dropped" not in page
    assert (
        "4 character(s) outside the vocabulary were read as its unknown id, shown "
        "as \ufffd: '(' ×1, ')' ×1, 'x' ×1, 'y' ×1" in html.unescape(page)
    )
    assert err.splitlines()[0] == (
        "charlstm: 4 character(s) outside the vocabulary, read as its unknown id: "
        "'(', ')', 'x', 'y'"
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_vocabulary_without_an_unknown_id_drops_characters(
    old_run, text_file, tmp_path, capsys
):
    out, report = tmp_path / "v.html", tmp_path / "n.json"
    code, err = run(
        capsys, old_run, "--text", text_file, "--out", out, "--report", report
    )
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert json.loads(report.read_text())["characters"] == 301
    assert "4 character(s) outside the vocabulary were dropped" in page
    assert "&#x27;(&#x27; ×1, &#x27;)&#x27; ×1" in page
    assert err.splitlines()[0] == (
        "charlstm: 4 character(s) outside the vocabulary, dropped: '(', ')', 'x', 'y'"
    )


def test_seed_and_chosen_neurons(trained_run, tmp_path, capsys):
    out = tmp_path / "v.html"
    code, err = run(
        capsys, trained_run, "--seed", "abc ", "--length", 40, "--random-seed", 1,
        "--neurons", "1:7,0:0:c", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert page.count('<section class="neuron"') == 2
    assert "layer 1, unit 7 (h)" in page and "layer 0, unit 0 (c)" in page
    assert "read a 4-step seed (underlined) and wrote 40 more" in page
    held = parse(page).data
    assert len(held["text"]) == 44 and held["seed"] == 4
    assert [n["key"] for n in held["neurons"]][:2] == ["1:7:h", "0:0:c"]
    assert all(len(n["values"]) == 2 * 44 for n in held["neurons"])


def test_picker_option(trained_run, text_file, tmp_path, capsys):
    out, report = tmp_path / "v.html", tmp_path / "n.json"
    code, err = run(
        capsys, trained_run, "--text", text_file, "--out", out, "--neurons", "1:7",
        "--picker", "all", "--top", "1", "--report", report,
    )  # fmt: skip
    assert code == 0, err
    held = parse(out.read_text(encoding="utf-8")).data
    assert len(held["neurons"]) == 2 * 8 * 2  # every unit of 2 x LSTM(8), h and c
    assert held["neurons"][0]["key"] == "1:7:h"
    data = json.loads(report.read_text())
    assert len(data["features"]["line_position"]["top"]) == 1  # --top, not --picker
    code, err = run(
        capsys, trained_run, "--text", text_file, "--out", out, "--force",
        "--neurons", "1:7", "--picker", "0",
    )  # fmt: skip
    assert code == 0, err
    held = parse(out.read_text(encoding="utf-8")).data
    assert [n["key"] for n in held["neurons"]] == ["1:7:h"]


def test_outputs_are_not_overwritten_without_force(
    trained_run, text_file, tmp_path, capsys
):
    out = tmp_path / "v.html"
    out.write_text("mine")
    code, err = run(capsys, trained_run, "--text", text_file, "--out", out)
    assert code == 2
    assert "--out" in err and "exists; pass --force" in err
    assert out.read_text() == "mine"
    code, err = run(capsys, trained_run, "--text", text_file, "--out", out, "--force")
    assert code == 0, err
    assert out.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--neurons", "1:8"], r"`unit` must be in 0..7 (the model has 2 layers"),
        (["--neurons", "2:0"], "`layer` must be in 0..1"),
        (["--neurons", "one"], "LAYER:UNIT"),
        (["--length", "5"], "--length goes with --seed"),
        (["--picker", "some"], "--picker must be a count or 'all', got 'some'"),
    ],
)
def test_bad_arguments(trained_run, text_file, tmp_path, capsys, args, message):
    out = tmp_path / "v.html"
    code, err = run(capsys, trained_run, "--text", text_file, "--out", out, *args)
    assert code == 2
    assert err.startswith("charlstm: error: ") and message in err
    assert len(err.strip().splitlines()) == 1  # no traceback
    assert not out.exists()


def test_empty_and_unknown_only_text(trained_run, old_run, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, err = run(capsys, trained_run, "--text", empty, "--out", tmp_path / "v.html")
    assert code == 2 and f"--text {empty} is empty" in err
    assert not (tmp_path / "v.html").exists()
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("XYZ")
    # A vocabulary without an unknown id has nothing left to read.
    code, err = run(capsys, old_run, "--text", unknown, "--out", tmp_path / "v.html")
    assert code == 2 and "all 3 characters are outside the vocabulary" in err
    assert err.splitlines()[-1].startswith("charlstm: error: ")
    assert not (tmp_path / "v.html").exists()
    # With an unknown id, the three are read as it.
    code, err = run(
        capsys, trained_run, "--text", unknown, "--out", tmp_path / "v.html"
    )
    assert code == 0, err
    assert "read as its unknown id: 'X', 'Y', 'Z'" in err
    assert "over 3 characters" in err


def test_does_not_import_tensorflow(trained_run, text_file, tmp_path):
    out = tmp_path / "v.html"
    script = (
        "import sys\nfrom charlstm.cli import main\n"
        f"code = main(['visualize', {str(trained_run)!r}, '--text', "
        f"{str(text_file)!r}, '--out', {str(out)!r}])\n"
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["0", "False", "False"], done.stderr
    assert out.exists()


def test_example_script(trained_run, tmp_path):
    from pathlib import Path

    script = Path(__file__).parents[2] / "examples" / "visualize_neurons.py"
    out = tmp_path / "example.html"
    done = subprocess.run(
        [sys.executable, str(script), str(trained_run), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "line_position:" in done.stdout and f"wrote {out}" in done.stdout
    assert '<section class="neuron"' in out.read_text(encoding="utf-8")


def test_text_is_cleaned_as_the_runs_corpus_was(trained_run, tmp_path, capsys):
    """NFC, as the tiny run's corpus was read: "e" and a combining acute accent
    are one character "é", outside the vocabulary."""
    text = tmp_path / "nfd.txt"
    text.write_text(make_text(200, seed=5) + "cafe\u0301\n", encoding="utf-8")
    out, report = tmp_path / "v.html", tmp_path / "n.json"
    code, err = run(
        capsys, trained_run, "--text", text, "--out", out, "--report", report
    )
    assert code == 0, err
    assert err.splitlines()[0] == (
        "charlstm: 1 character(s) outside the vocabulary, read as its unknown id: 'é'"
    )
    assert json.loads(report.read_text())["characters"] == 200 + len("café\n")
