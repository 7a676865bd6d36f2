"""Drawing neuron activations: text coloured by one unit, as in Frank (2022), fig. 8.

`render_html` makes a standalone page (inline CSS, no script, no external file):
one block per neuron, every character coloured from blue (negative) through
white to red (positive), scaled by the largest absolute value of that neuron
over the text; hovering a character shows the exact value. `save_png` draws the
same activations as a heat strip with matplotlib (the `viz` extra).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

import numpy as np

from charlstm.interpret.activations import Activations
from charlstm.interpret.features import DESCRIPTIONS, TextFeatures
from charlstm.interpret.neurons import Neuron, NeuronScore, auto_neurons, best_feature
from charlstm.utils.storage import atomic_write, atomic_write_text

WHITE = np.array([255.0, 255.0, 255.0])
RED = np.array([220.0, 50.0, 47.0])  # +1
BLUE = np.array([38.0, 100.0, 210.0])  # -1
KIND_NAMES = {"h": "hidden state", "c": "cell state"}
CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}
METHODS = {
    "tokenize": "Python, read by tokenize",
    "scan": "Python that tokenize rejects, read by a tolerant scan",
    "text": "not Python: the features of any text",
}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: .3em; }
h2 { font-size: 1.05em; margin: 1.4em 0 .3em; }
header p, p.range { margin: .2em 0; color: #444; }
table.shown { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
table.shown td, table.shown th { padding: .1em .8em .1em 0; text-align: left; }
pre.text { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 13px; line-height: 1.4; white-space: pre; overflow-x: auto;
  border: 1px solid #ddd; padding: .5em; margin: 0; tab-size: 8; }
pre.text span.eol::before { content: " "; }
pre.text span.seed { text-decoration: underline dotted #777; }
.legend { display: inline-block; width: 12em; height: .8em; vertical-align: middle;
  background: linear-gradient(to right, rgb(38,100,210), #fff, rgb(220,50,47)); }
"""


@dataclass(frozen=True)
class View:
    """One neuron to draw and why.

    Args:
        neuron: Neuron. The unit.
        score: NeuronScore or None. The feature it follows and how closely.
        picked: str. "auto" (ranked first for `score.feature`) or "given" (asked
            for; `score` is then its closest feature).
    """

    neuron: Neuron
    score: NeuronScore | None = None
    picked: str = "auto"

    @property
    def heading(self) -> str:
        n = self.neuron
        title = f"layer {n.layer}, unit {n.unit} ({n.kind})"
        if self.score is None:
            return f"{title} — follows none of the features"
        what = DESCRIPTIONS.get(self.score.feature, self.score.feature)
        verb = "tracks" if self.picked == "auto" else "closest feature:"
        return f"{title} — {verb} {what} (r={self.score.correlation:.2f})"


def auto_views(ranking: dict) -> list[View]:
    """The best neuron of each feature of a `rank_neurons` ranking, as views,
    the closest followers first."""
    best = sorted(auto_neurons(ranking), key=lambda s: -abs(s.correlation))
    return [View(s.neuron, s, "auto") for s in best]


def given_views(acts: Activations, features: TextFeatures, neurons) -> list[View]:
    """Views of chosen neurons, each with the feature it follows most closely."""
    return [View(n, best_feature(acts, features, n), "given") for n in neurons]


def colours(values: np.ndarray) -> list[str]:
    """Background colours for values in [-1, 1]: blue, white at 0, red."""
    t = np.clip(np.asarray(values, np.float64), -1.0, 1.0)[:, None]  # (n, 1)
    rgb = np.where(t >= 0, WHITE + t * (RED - WHITE), WHITE - t * (BLUE - WHITE))
    rgb = np.rint(rgb).astype(int)  # (n, 3)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


def _scale(values: np.ndarray) -> float:
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    return peak if peak > 0 else 1.0


def _block(acts: Activations, view: View, index: int) -> str:
    n = view.neuron
    values = acts.neuron(n.layer, n.unit, n.kind)  # (steps,)
    scale = _scale(values)
    fills = colours(values / scale)
    generated = acts.seed_steps < acts.num_steps
    spans = []
    for step, (token, value, fill) in enumerate(
        zip(acts.tokens, values, fills, strict=True)
    ):
        classes = "v"
        if token.endswith("\n"):
            classes += " eol"
        if generated and step < acts.seed_steps:
            classes += " seed"
        spans.append(
            f'<span class="{classes}" style="background:{fill}" '
            f'title="{float(value):.7g}">{html.escape(token)}</span>'
        )
    feature = view.score.feature if view.score else ""
    return (
        f'<section class="neuron" id="n{index}" data-layer="{n.layer}" '
        f'data-unit="{n.unit}" data-kind="{n.kind}" data-feature="{feature}">\n'
        f"<h2>{html.escape(view.heading)}</h2>\n"
        f'<p class="range">{KIND_NAMES[n.kind]}: min {values.min():.4g}, max '
        f'{values.max():.4g}; colours <span class="legend"></span> from '
        f"{-scale:.3g} to {scale:.3g}</p>\n"
        f'<pre class="text">{"".join(spans)}</pre>\n</section>'
    )


def _dropped_line(acts: Activations) -> str:
    if acts.unknown:
        listed = ", ".join(f"{c!r} ×{k}" for c, k in acts.unknown.items())
        return (
            f"{sum(acts.unknown.values())} character(s) outside the vocabulary were "
            f"read as its unknown id, shown as \ufffd: {listed}"
        )
    if not acts.dropped:
        return "No characters were outside the vocabulary"
    listed = ", ".join(f"{c!r} ×{k}" for c, k in acts.dropped.items())
    return (
        f"{acts.dropped_count} character(s) outside the vocabulary were dropped: "
        f"{listed}"
    )


def render_html(
    acts: Activations,
    views,
    title: str = "charlstm: neuron activations",
    source: str = "",
    feature_method: str = "",
) -> str:
    """A standalone HTML page with one coloured block of text per view.

    Args:
        acts: Activations. The recorded states.
        views: list of View. The neurons to draw, in order.
        title: str. The page title.
        source: str. Where the text came from, for the header.
        feature_method: str. How the features were found ("tokenize", ...).

    Returns:
        The page as a str.

    Example:
    >>> page = render_html(acts, [View(Neuron(1, 37), score)], source="a.py")
    """
    views = list(views)
    steps_note = (
        f"{acts.num_steps} steps"
        if len(acts.text) != acts.num_steps
        else "one step per character"
    )
    if acts.seed_steps < acts.num_steps:
        made = (
            f"the model read a {acts.seed_steps}-step seed (underlined) and wrote "
            f"{acts.num_steps - acts.seed_steps} more"
        )
    else:
        made = "the model read the text"
    header = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="counts">{len(acts.text)} characters ({steps_note}); '
        f"{html.escape(made)}; {acts.num_layers} × "
        f"{CELL_NAMES.get(acts.cell_type, acts.cell_type)}({acts.units}).</p>",
        f'<p class="dropped">{html.escape(_dropped_line(acts))}.</p>',
    ]
    if source:
        header.append(f'<p class="source">Text: {html.escape(source)}</p>')
    if feature_method:
        header.append(
            f'<p class="method">Features: '
            f"{html.escape(METHODS.get(feature_method, feature_method))}. "
            "Each character shows the state after it was read; hover for the "
            "exact value.</p>"
        )
    rows = "".join(
        f'<tr><td><a href="#n{i}">{html.escape(v.heading)}</a></td></tr>'
        for i, v in enumerate(views)
    )
    header.append(f'<table class="shown">{rows}</table>')
    blocks = "\n".join(_block(acts, view, i) for i, view in enumerate(views))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body>\n<header id="summary">\n{chr(10).join(header)}\n</header>\n'
        f"{blocks}\n</body>\n</html>\n"
    )


def save_html(path: str | os.PathLike, acts: Activations, views, **kwargs) -> None:
    """Writes `render_html(acts, views, **kwargs)` to `path` atomically."""
    atomic_write_text(path, render_html(acts, views, **kwargs))


def _import_matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "heat strips need matplotlib: pip install 'charlstm[viz]'"
        ) from None
    return Figure, FigureCanvasAgg


def heat_strip(acts: Activations, views, max_labels: int = 160):
    """A matplotlib Figure: one row per view, one column per step, coloured like
    the page (each row scaled by its largest absolute value). The characters
    label the columns when there are at most `max_labels` steps."""
    Figure, FigureCanvasAgg = _import_matplotlib()
    views = list(views)
    rows = np.stack(
        [acts.neuron(v.neuron.layer, v.neuron.unit, v.neuron.kind) for v in views]
    )  # (views, steps)
    rows = rows / np.array([_scale(r) for r in rows])[:, None]  # (views, steps)
    steps = acts.num_steps
    width = min(24.0, max(6.0, 0.09 * steps + 3.5))
    figure = Figure(figsize=(width, 0.45 * len(views) + 1.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.imshow(
        rows, aspect="auto", cmap="bwr", vmin=-1, vmax=1, interpolation="nearest"
    )
    axes.set_yticks(range(len(views)))
    axes.set_yticklabels(
        [
            f"{v.neuron.layer}:{v.neuron.unit} {v.neuron.kind}"
            + (f"  {v.score.feature} r={v.score.correlation:.2f}" if v.score else "")
            for v in views
        ],
        fontsize=8,
    )
    if steps <= max_labels:
        axes.set_xticks(range(steps))
        labels = [
            t.encode("unicode_escape").decode().replace(" ", "\u2423")
            for t in acts.tokens
        ]
        axes.set_xticklabels(labels, fontsize=7, family="monospace")
    else:
        axes.set_xlabel("step")
    return figure


def save_png(path: str | os.PathLike, acts: Activations, views, dpi: int = 120):
    """Writes `heat_strip(acts, views)` as a PNG atomically."""
    figure = heat_strip(acts, views)
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))
