"""The Python of the getting-started page and the tutorial runs, in order, on a
tiny corpus: charlstm's own data modules, with tiny model settings put in place
of the pages' (each replacement must match, so an edit to a page that drops one
fails here rather than training a large model)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

import charlstm

DOCS = Path(__file__).resolve().parents[2] / "docs"
TINY = "units=16, batch_size=4, sequence_length=20"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """`my_project/` (about 50 KB of Python) and `held_out.py`, in the working
    directory."""
    package = Path(charlstm.__file__).parent
    shutil.copytree(package / "data", tmp_path / "my_project")
    shutil.copy(package / "infer" / "sampling.py", tmp_path / "held_out.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_page(name: str, replacements: dict[str, str]) -> dict:
    """Runs the page's ```python blocks in order in one namespace; returns it.
    A traceback names the page's own line numbers."""
    text = (DOCS / name).read_text(encoding="utf-8")
    blocks = [
        (text.count("\n", 0, match.start(1)), match[1])
        for match in re.finditer(r"```python\n(.*?)```", text, re.S)
    ]
    for old, new in replacements.items():
        found = sum(block.count(old) for _, block in blocks)
        assert found == 1, f"{name} no longer says {old!r}"
        blocks = [(line, block.replace(old, new)) for line, block in blocks]
    namespace: dict = {}
    for line, block in blocks:
        exec(compile("\n" * line + block, str(DOCS / name), "exec"), namespace)
    return namespace


def test_the_tutorial_runs(project):
    done = run_page(
        "tutorial.md",
        {
            "units=256, epochs=50": f"{TINY}, epochs=2",
            "time_budget=600": "time_budget=60",
        },
    )
    assert [row["epoch"] for row in done["result"].history] == [1, 2]
    assert len(done["endings"]) == 3
    assert math.isfinite(done["scores"]["bits_per_char"])
    assert sorted(done["figures"]) == ["bits_per_char", "loss", "perplexity"]
    assert (project / "runs" / "mine" / "plots" / "loss.png").exists()
    assert "<pre" in (project / "neurons.html").read_text(encoding="utf-8")


# The README's one-liner, open("held_out.py").read(), leaves closing to the
# garbage collector.
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
def test_the_getting_started_python_runs(project):
    done = run_page(
        "getting_started.md",
        {
            "epochs=5, units=256, sequence_length=100": f"epochs=1, {TINY}",
            "vocabulary_size=corpus.vocabulary.size)": (
                "vocabulary_size=corpus.vocabulary.size, units=16)"
            ),
        },
    )
    assert len(done["best"]) == 3
    assert done["x"].shape == (32, 100)
    assert (project / "runs" / "mine" / "model.keras").exists()
