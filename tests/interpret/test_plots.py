import math
import sys

import numpy as np
import pytest
from matplotlib import image

import charlstm
from charlstm.interpret.plots import (
    HISTORY_FIGURES,
    plot_history,
    plot_temperature,
    read_history_rows,
    temperature_weights,
)
from tests.helpers import tiny_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER = "epoch,loss,val_loss,val_bits_per_char,seconds,chars_per_second,"
HEADER += "learning_rate,stopped\n"
BATCH_HEADER = "epoch,batch,step,seconds,loss,learning_rate,chars_per_second\n"


def write_run(path, rows=((1, 2.0, 1.8), (2, 1.5, 1.6), (3, 1.2, 1.55))):
    """A run directory with only a history.csv (loss and val_loss per epoch)."""
    path.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{e},{loss},{val},{val / math.log(2) if val != '' else ''},1,100,0.01,\n"
        for e, loss, val in rows
    ]
    (path / "history.csv").write_text(HEADER + "".join(lines))
    return path


def check_png(path, width=640, height=400):
    """A valid PNG of the figure's size that is not a blank canvas."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)  # (height, width, RGBA) floats
    assert pixels.shape == (height, width, 4)
    assert len(np.unique(pixels.reshape(-1, 4), axis=0)) > 10
    return pixels


def written(figures, out):
    """The PNG files `plot_history` wrote for its figures."""
    return [out / f"{name}.png" for name in figures]


def test_history_plots_are_valid_pngs_of_loss_perplexity_and_bits(tmp_path):
    run = write_run(tmp_path / "run")
    figures = plot_history(run, tmp_path / "plots")
    assert (
        list(figures)
        == list(HISTORY_FIGURES)
        == ["loss", "perplexity", "bits_per_char"]
    )
    images = [check_png(p) for p in written(figures, tmp_path / "plots")]
    # Different curves give different pictures.
    assert not np.array_equal(images[0], images[1])
    assert not list((tmp_path / "plots").glob(".*")), "temporary files left behind"


def write_batch_rows(run, rows):
    """A batch_history.csv of (epoch, batch, step, loss) rows."""
    lines = [
        f"{e},{b},{step},{step / 10},{loss},0.01,1000\n" for e, b, step, loss in rows
    ]
    (run / "batch_history.csv").write_text(BATCH_HEADER + "".join(lines))


def lines_of(figure):
    """The curves of a one-axes figure by label."""
    (axes,) = figure.axes
    return {line.get_label(): line for line in axes.lines}


def test_runs_without_a_batch_history_are_drawn_per_epoch(tmp_path):
    run = write_run(tmp_path / "run")
    figures = plot_history(run)
    lines = lines_of(figures["loss"])
    assert list(lines["training"].get_xdata()) == [1, 2, 3]
    assert list(lines["training"].get_ydata()) == [2.0, 1.5, 1.2]
    assert list(lines["validation"].get_xdata()) == [1, 2, 3]
    assert figures["loss"].axes[0].get_xlabel() == "epoch"
    assert not (tmp_path / "run" / "loss.png").exists()  # out_dir=None writes nothing


def test_batch_rows_are_a_curve_and_validation_a_point_per_epoch(tmp_path):
    run = write_run(tmp_path / "run", rows=((1, 2.0, 1.8), (2, 1.5, 1.6)))
    batch_rows = [
        (1, 10, 10, 2.5),
        (1, 20, 20, 2.1),
        (1, 25, 25, 1.9),  # the end of epoch 1: 25 batches
        (2, 5, 30, 1.7),
        (2, 15, 40, 1.6),
        (2, 25, 50, 1.4),
        (3, 5, 55, 1.3),  # epoch 3 is not over: no validation yet
    ]
    write_batch_rows(run, batch_rows)
    figures = plot_history(run, tmp_path / "plots")
    lines = lines_of(figures["perplexity"])
    training, validation = lines["training"], lines["validation (end of epoch)"]
    assert list(training.get_xdata()) == [10, 20, 25, 30, 40, 50, 55]
    np.testing.assert_allclose(training.get_ydata(), np.exp([r[3] for r in batch_rows]))
    assert list(validation.get_xdata()) == [25, 50]
    np.testing.assert_allclose(validation.get_ydata(), np.exp([1.8, 1.6]))
    bits = lines_of(figures["bits_per_char"])["training"].get_ydata()
    np.testing.assert_allclose(bits, np.array([r[3] for r in batch_rows]) / math.log(2))
    assert figures["loss"].axes[0].get_xlabel() == "batches trained"
    for name in HISTORY_FIGURES:
        check_png(tmp_path / "plots" / f"{name}.png")
    # Before the first epoch ends, the batch rows are plotted alone.
    (run / "history.csv").write_text(HEADER)
    assert list(lines_of(plot_history(run)["loss"])) == ["training"]
    (run / "history.csv").unlink()
    assert list(lines_of(plot_history(run)["loss"])) == ["training"]


def test_a_one_epoch_run_draws_a_curve_not_a_dot(tmp_path, text):
    run = tmp_path / "run"
    config = tiny_config(epochs=1, history_every=10)
    result = charlstm.train(text=text, run_dir=run, config=config)
    figures = plot_history(run)
    lines = lines_of(figures["loss"])
    training, validation = lines["training"], lines["validation (end of epoch)"]
    steps = [row["step"] for row in result.batch_history]
    assert len(training.get_xdata()) == len(steps) > 10
    assert list(training.get_xdata()) == steps
    losses = [row["loss"] for row in result.batch_history]
    np.testing.assert_allclose(training.get_ydata(), losses, rtol=1e-5)
    assert list(validation.get_xdata()) == [steps[-1]]
    # history.csv keeps 6 significant digits (`run_dir`): up to 5e-6 relative.
    val_loss = result.history[0]["val_loss"]
    assert validation.get_ydata()[0] == pytest.approx(val_loss, rel=1e-5)
    assert not list(tmp_path.rglob("*.png"))


def test_history_rows_are_read_from_a_run_or_its_csv(tmp_path):
    run = write_run(tmp_path / "run", rows=((1, 2.0, ""), (2, 1.5, 1.4)))
    (run / "config.json").write_text('{"data": {"tokens": "word"}}')
    rows, unit = read_history_rows(run)
    assert unit == "token"
    assert [r["epoch"] for r in rows] == [1, 2]
    assert math.isnan(rows[0]["val_loss"]) and rows[1]["val_loss"] == 1.4
    rows, unit = read_history_rows(run / "history.csv")
    assert unit == "char" and rows[1]["loss"] == 1.5
    # A missing validation value is a gap in the curve, not an error.
    plot_history(run / "history.csv", tmp_path / "plots")
    check_png(tmp_path / "plots" / "perplexity.png")


def test_a_trained_run_is_plotted(trained_run, tmp_path):
    figures = plot_history(trained_run, tmp_path / "plots")
    for path in written(figures, tmp_path / "plots"):
        check_png(path)


def test_missing_or_empty_or_foreign_history_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no training history"):
        plot_history(tmp_path / "nowhere", tmp_path / "plots")
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(FileNotFoundError, match="history.csv"):
        plot_history(run, tmp_path / "plots")
    (run / "history.csv").write_text(HEADER)
    with pytest.raises(ValueError, match="holds no epoch"):
        plot_history(run, tmp_path / "plots")
    (run / "history.csv").write_text("")
    with pytest.raises(ValueError, match="not a training history"):
        plot_history(run, tmp_path / "plots")
    (run / "history.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no epoch, loss, val_loss column"):
        plot_history(run, tmp_path / "plots")
    (run / "history.csv").write_text(HEADER + "1,high,1.0,,,,,\n")
    with pytest.raises(ValueError, match="line 2 is not a history row"):
        plot_history(run, tmp_path / "plots")
    assert not (tmp_path / "plots").exists()


def test_existing_plots_are_kept_unless_forced(tmp_path):
    run = write_run(tmp_path / "run")
    out = tmp_path / "plots"
    paths = written(plot_history(run, out), out)
    before = paths[0].read_bytes()
    write_run(run, rows=((1, 3.0, 2.9), (2, 2.5, 2.4)))
    with pytest.raises(FileExistsError, match="loss.png.*--force"):
        plot_history(run, out)
    assert paths[0].read_bytes() == before
    plot_history(run, out, force=True)
    assert paths[0].read_bytes() != before


def test_temperature_weights_golden_values():
    p = np.array([0.1, 0.2, 0.7])
    weights = temperature_weights(p, (1.0, 0.5, 2.0, 1e-3))
    np.testing.assert_allclose(weights[0], p)
    np.testing.assert_allclose(weights[1], p**2 / (p**2).sum())  # T = 1/2: p^2
    np.testing.assert_allclose(weights[2], np.sqrt(p) / np.sqrt(p).sum())
    np.testing.assert_allclose(weights[3], [0, 0, 1], atol=1e-12)  # argmax
    # Unnormalised input is normalised first.
    np.testing.assert_allclose(temperature_weights([1, 2, 7], [1])[0], p)


def test_temperature_figure_is_a_valid_png(tmp_path):
    path = plot_temperature(tmp_path / "figs" / "temperature.png")
    check_png(path)
    with pytest.raises(FileExistsError, match="temperature.png"):
        plot_temperature(path)
    before = path.read_bytes()
    plot_temperature(path, (0.5, 0.5), (0.1, 3.0), force=True)
    check_png(path)
    assert path.read_bytes() != before


@pytest.mark.parametrize(
    "distribution, temperatures, match",
    [
        ((0.1, -0.2, 0.7), (1.0,), "distribution=\\(0.1, -0.2, 0.7\\)"),
        ((1.0,), (1.0,), "at least 2"),
        ((0.0, 0.0), (1.0,), "positive sum"),
        ((0.1, float("nan")), (1.0,), "distribution"),
        ((0.1, 0.9), (), "`temperatures` must not be empty"),
        ((0.1, 0.9), (0.5, 0.0), "temperatures=\\(0.5, 0.0\\)"),
        ((0.1, 0.9), (float("inf"),), "`temperatures` must be numbers > 0"),
    ],
)
def test_bad_temperature_figure_arguments(tmp_path, distribution, temperatures, match):
    with pytest.raises(ValueError, match=match):
        plot_temperature(tmp_path / "t.png", distribution, temperatures)
    assert not (tmp_path / "t.png").exists()


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install 'charlstm\[viz\]'"):
        plot_temperature(tmp_path / "t.png")
    with pytest.raises(ImportError, match=r"charlstm\[viz\]"):
        plot_history(write_run(tmp_path / "run"), tmp_path / "plots")
    assert not (tmp_path / "plots").exists()
