"""Figures as PNG files: a run's loss, perplexity and bits/char per epoch or every
few batches (figures 9-10 of Perez et al. (2021), figures 4-5 of Frank (2022)),
and temperature on a distribution (Frank's figure 3).

matplotlib is optional (`pip install 'charlstm[viz]'`) and imported on first use.
Figures are drawn with `matplotlib.figure.Figure` and its Agg canvas, not pyplot,
so plotting neither needs a display nor changes the caller's matplotlib backend.
Neither TensorFlow nor Keras is imported.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from charlstm.infer.sampling import reweight
from charlstm.training.run_dir import RunFiles, read_batch_history, read_history
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_path

HISTORY_FIGURES = ("loss", "perplexity", "bits_per_char")  # written as NAME.png
TEMPERATURE_FIGURE = "temperature.png"
DEFAULT_DISTRIBUTION = (0.1, 0.2, 0.7)  # Frank (2022), figure 3's originals
DEFAULT_TEMPERATURES = (0.2, 0.5, 1.0, 2.0)


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "plots need matplotlib: pip install 'charlstm[viz]'"
        ) from error


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def _check_free(paths: Sequence[Path], force: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise FileExistsError(
            f"plot already exists: {existing[0]!r}. Use force (--force) to replace it."
        )


def read_history_rows(history: str | os.PathLike) -> tuple[list[dict], str]:
    """The epochs of a `history.csv` (or a run directory) and the unit of its
    bits column ("char", or "token" for a word-mode run); empty cells as NaN.

    Raises FileNotFoundError if there is no history and an InputError if it is
    not one or holds no epoch.
    """
    rows, _, unit, _ = _read_histories(history, need_batches=False)
    return rows, unit


def _read_histories(history, need_batches: bool = True):
    """The epochs, the batch rows (those of `batch_history.csv` beside the
    history, if asked for), the unit and the history's path. Epochs may be
    missing when there are batch rows."""
    path = Path(history)
    unit = "char"
    if path.is_dir():
        config = path / "config.json"
        if config.is_file():
            data = json.loads(config.read_text(encoding="utf-8")).get("data", {})
            unit = "token" if data.get("tokens") == "word" else "char"
        path = RunFiles(path).history
    batch_rows = []
    if need_batches:
        batch_rows = read_batch_history(RunFiles(path.parent).batch_history)
    if not path.is_file() and not batch_rows:
        raise FileNotFoundError(f"no training history: {str(path)!r} does not exist")
    rows = [
        {k: math.nan if v == "" else v for k, v in row.items()}
        for row in read_history(path)
    ]
    if not rows and not batch_rows:
        raise InputError(f"the training history {str(path)!r} holds no epoch")
    return rows, batch_rows, unit, path


def plot_history(
    history: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
) -> dict:
    """Plots training and validation loss, perplexity and bits/char.

    With a `batch_history.csv` beside the history, training is a curve over the
    batches trained (a point every `history_every` batches) and validation a
    point at the end of every epoch, so even a run of one epoch draws a curve.
    Without one (runs trained before it, or with `history_every=0`), both are
    drawn per epoch.

    Args:
        history: path. A run directory or its `history.csv`.
        out_dir: path or None. Where `loss.png`, `perplexity.png` and
            `bits_per_char.png` go (created if missing); None writes nothing.
        force: bool. Replace figures that already exist.

    Returns:
        dict: "loss", "perplexity", "bits_per_char" -> matplotlib Figure (each
        written to `out_dir` as NAME.png).

    Example:
    >>> figures = plot_history("runs/stdlib", "runs/stdlib/plots")
    >>> figures["loss"].axes[0].lines[0].get_xdata()  # steps of the batch rows
    """
    _require_matplotlib()
    rows, batch_rows, unit, path = _read_histories(history)
    paths = {}
    if out_dir is not None:
        paths = {name: Path(out_dir) / f"{name}.png" for name in HISTORY_FIGURES}
        _check_free(paths.values(), force)
    series = {
        "loss": ("loss (cross-entropy, nats)", lambda v: v),
        "perplexity": ("perplexity", np.exp),
        "bits_per_char": (f"bits per {unit}", lambda v: v / math.log(2)),
    }
    name = path.resolve().parent.name
    figures = {}
    for figure_name, (label, transform) in series.items():
        figure = _figure()
        axes = figure.subplots()
        with np.errstate(over="ignore"):
            if batch_rows:
                _draw_batches(axes, batch_rows, rows, transform)
            else:
                _draw_epochs(axes, rows, transform)
        axes.set_ylabel(label)
        what = label.split(" (")[0]
        axes.set_title(f"{name}: training and validation {what}" if name else what)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend()
        figures[figure_name] = figure
    if paths:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for figure_name, figure in figures.items():
            _save(figure, paths[figure_name])
    return figures


def _column(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([row[key] for row in rows], dtype=np.float64)


def _draw_epochs(axes, rows, transform) -> None:
    """Training and validation per epoch."""
    epochs = _column(rows, "epoch")
    axes.plot(epochs, transform(_column(rows, "loss")), marker="o", label="training")
    validation = transform(_column(rows, "val_loss"))
    axes.plot(epochs, validation, marker="o", label="validation")
    axes.set_xlabel("epoch")


def _draw_batches(axes, batch_rows, rows, transform) -> None:
    """Training every few batches, validation at the end of every epoch (the
    step of its last batch row); epochs without batch rows have no point."""
    steps = _column(batch_rows, "step")
    axes.plot(steps, transform(_column(batch_rows, "loss")), label="training")
    ends = {}
    for row in batch_rows:
        ends[row["epoch"]] = max(ends.get(row["epoch"], 0), row["step"])
    validated = [row for row in rows if row["epoch"] in ends]
    if validated:
        axes.plot(
            [ends[row["epoch"]] for row in validated],
            transform(_column(validated, "val_loss")),
            marker="o",
            label="validation (end of epoch)",
        )
    axes.set_xlabel("batches trained")


def temperature_weights(
    distribution: Sequence[float], temperatures: Sequence[float]
) -> np.ndarray:
    """The distribution (normalised) reweighted at each temperature, checked.

    Returns:
        array (temperatures, outcomes): row i is `reweight(p, temperatures[i])`.

    Example:
    >>> temperature_weights((0.1, 0.2, 0.7), (1.0,))
    array([[0.1, 0.2, 0.7]])
    """
    probs = np.asarray(distribution, dtype=np.float64)
    if (
        probs.ndim != 1
        or probs.size < 2
        or not np.all(np.isfinite(probs))
        or np.any(probs < 0)
        or probs.sum() <= 0
    ):
        raise InputError(
            "`distribution` must hold at least 2 finite probabilities >= 0 with a "
            f"positive sum. Received: distribution={tuple(distribution)!r}"
        )
    temperatures = tuple(temperatures)
    if not temperatures:
        raise InputError("`temperatures` must not be empty. Received: temperatures=()")
    for t in temperatures:
        if isinstance(t, bool) or not (
            isinstance(t, (int, float, np.number)) and 0 < t < math.inf
        ):
            raise InputError(
                "`temperatures` must be numbers > 0. "
                f"Received: temperatures={temperatures!r}"
            )
    probs = probs / probs.sum()
    return np.stack([reweight(probs, float(t)) for t in temperatures])


def plot_temperature(
    out_path: str | os.PathLike,
    distribution: Sequence[float] = DEFAULT_DISTRIBUTION,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    force: bool = False,
) -> Path:
    """Plots a distribution reweighted at several temperatures, as grouped bars.

    The reweighting is `charlstm.infer.sampling.reweight`, the sampler's own: low
    temperatures sharpen the distribution towards its most likely outcome, high
    ones flatten it; temperature 1 is the distribution itself.

    Args:
        out_path: path. The PNG file to write.
        distribution: sequence of float. Probabilities (normalised here), all
            non-negative, with a positive sum.
        temperatures: sequence of float. Temperatures > 0, one group of bars each.
        force: bool. Replace the file if it exists.

    Returns:
        `out_path` as a Path.

    Example:
    >>> plot_temperature("plots/temperature.png", (0.1, 0.2, 0.7), (0.2, 1.0, 2.0))
    """
    _require_matplotlib()
    weights = temperature_weights(distribution, temperatures)  # (temps, outcomes)
    path = Path(out_path)
    _check_free([path], force)
    path.parent.mkdir(parents=True, exist_ok=True)
    temperatures = tuple(temperatures)
    probs = np.asarray(distribution, dtype=np.float64)
    probs = probs / probs.sum()
    outcomes = np.arange(probs.size)
    width = 0.8 / len(temperatures)
    figure = _figure()
    axes = figure.subplots()
    for i, (t, row) in enumerate(zip(temperatures, weights, strict=True)):
        label = f"T = {t:g}" + (" (original)" if t == 1 else "")
        offset = (i - (len(temperatures) - 1) / 2) * width
        axes.bar(outcomes + offset, row, width, label=label)
    axes.set_xticks(outcomes, [f"p = {p:.3g}" for p in probs])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("probability after reweighting")
    axes.set_title("Effect of temperature on a distribution")
    axes.legend()
    _save(figure, path)
    return path
