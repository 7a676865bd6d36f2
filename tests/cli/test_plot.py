import subprocess
import sys
import textwrap

import pytest

from charlstm.cli import main
from tests.interpret.test_plots import PNG_SIGNATURE, check_png, write_run


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("charlstm: error: ")
    return err[0]


def test_plot_writes_four_pngs_and_keeps_them_unless_forced(tmp_path, capsys):
    run = write_run(tmp_path / "run")
    out = tmp_path / "plots"
    assert main(["plot", str(run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    names = ["loss.png", "perplexity.png", "bits_per_char.png", "temperature.png"]
    assert printed == [str(out / name) for name in names]
    for name in names:
        check_png(out / name)
    before = {name: (out / name).read_bytes() for name in names}

    write_run(run, rows=((1, 3.0, 2.9), (2, 2.0, 2.2)))
    assert main(["plot", str(run), "--out", str(out)]) == 2
    assert "already exists" in error_line(capsys)
    assert {name: (out / name).read_bytes() for name in names} == before
    args = ["plot", str(run), "--out", str(out), "--force", "--temperatures", "0.1,3"]
    assert main(args) == 0
    assert (out / "loss.png").read_bytes() != before["loss.png"]
    assert (out / "temperature.png").read_bytes() != before["temperature.png"]


@pytest.mark.parametrize(
    "history, message",
    [
        (None, "no training history"),
        ("", "not a training history"),
        ("epoch,loss,val_loss\n", "holds no epoch"),
    ],
)
def test_missing_or_empty_history_is_one_error_line(tmp_path, capsys, history, message):
    run = tmp_path / "run"
    run.mkdir()
    if history is not None:
        (run / "history.csv").write_text(history)
    assert main(["plot", str(run), "--out", str(tmp_path / "plots")]) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "plots").exists()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--temperatures", "0.5,0", "temperatures=(0.5, 0.0)"),
        ("--temperatures", "hot", "--temperatures must be comma-separated numbers"),
        ("--distribution", "0.5,-0.5", "distribution=(0.5, -0.5)"),
        ("--distribution", "1", "at least 2"),
    ],
)
def test_bad_temperature_options_write_nothing(
    tmp_path, capsys, option, value, message
):
    run = write_run(tmp_path / "run")
    out = tmp_path / "plots"
    assert main(["plot", str(run), "--out", str(out), option, value]) == 2
    assert message in error_line(capsys)
    assert not out.exists()


def test_plot_does_not_import_tensorflow(tmp_path):
    run = write_run(tmp_path / "run")
    script = textwrap.dedent(
        f"""
        import sys
        from charlstm.cli import main
        code = main(["plot", {str(run)!r}, "--out", {str(tmp_path / "plots")!r}])
        sys.stderr.write(f"{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stderr.split()[-2:] == ["0", "False"], result.stderr
    assert (tmp_path / "plots" / "loss.png").read_bytes()[:8] == PNG_SIGNATURE
