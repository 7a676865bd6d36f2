"""examples/quickstart.ipynb runs top to bottom with its tiny settings, in a
fresh kernel whose working directory is a temporary one, and is committed
without outputs."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def read():
    import nbformat

    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_committed_clean():
    for cell in read().cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source


def test_the_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    try:
        from nbclient import NotebookClient
    except ImportError:
        pytest.fail("the notebook test needs nbclient: pip install -e '.[test]'")
    monkeypatch.setenv("CHARLSTM_NOTEBOOK_TINY", "1")  # the kernel inherits it
    notebook = read()
    NotebookClient(
        notebook,
        timeout=120,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    shown = {kind for cell in outputs for out in cell for kind in out.get("data", {})}
    assert {"image/png", "text/html"} <= shown  # the curves, the neurons
    printed = "".join(
        out.get("text", "") for cell in outputs for out in cell if "text" in out
    )
    assert printed.count("validation bits per character") == 2  # two rounds
    assert "bits per character (uniform guessing" in printed
    assert (tmp_path / "runs" / "quickstart" / "model.keras").exists()
