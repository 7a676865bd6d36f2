"""Drawing neuron activations: text coloured by one unit, as in Frank (2022), fig. 8.

`NeuronView` makes a standalone page (inline CSS and script, no external file)
that a notebook also shows inline: one block per chosen neuron, every character
coloured from blue (negative) through white to red (positive), scaled by the
largest absolute value of that neuron over the text, and a picker that shows
any other neuron the page holds. Hovering a character shows its value. The page
stores the text once and each neuron as one compact string
(`charlstm.interpret.view_page`). `save_png` draws the same activations as a
heat strip with matplotlib (the `viz` extra).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

import numpy as np

from charlstm.interpret.activations import Activations
from charlstm.interpret.features import DESCRIPTIONS, TextFeatures, text_features
from charlstm.interpret.neurons import (
    Neuron,
    NeuronScore,
    auto_neurons,
    best_feature,
    rank_neurons,
)
from charlstm.interpret.view_page import (
    BINS,
    KIND_NAMES,
    PAGE_STYLE,
    ROOT,
    SCRIPT,
    data_block,
    decimals,
    encode_values,
    header,
    range_parts,
    stylesheet,
)
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write, atomic_write_text

WHITE = np.array([255.0, 255.0, 255.0])
RED = np.array([220.0, 50.0, 47.0])  # +1
BLUE = np.array([38.0, 100.0, 210.0])  # -1
DEFAULT_PICKER = 2  # neurons per feature that the picker offers besides the shown
VERBS = {"auto": "tracks", "given": "closest feature:", "ranked": "follows"}


@dataclass(frozen=True)
class View:
    """One neuron to draw and why.

    Args:
        neuron: Neuron. The unit.
        score: NeuronScore or None. The feature it follows and how closely.
        picked: str. "auto" (ranked first for `score.feature`), "given" (asked
            for; `score` is then its closest feature) or "ranked" (offered by
            the picker; `score` is its place in a ranking, if any).
    """

    neuron: Neuron
    score: NeuronScore | None = None
    picked: str = "auto"

    @property
    def key(self) -> str:
        """ "LAYER:UNIT:KIND", the neuron's name in the page and its URL hash."""
        return f"{self.neuron.layer}:{self.neuron.unit}:{self.neuron.kind}"

    @property
    def heading(self) -> str:
        n = self.neuron
        title = f"layer {n.layer}, unit {n.unit} ({n.kind})"
        if self.score is None:
            if self.picked == "ranked":
                return title
            return f"{title} — follows none of the features"
        what = DESCRIPTIONS.get(self.score.feature, self.score.feature)
        verb = VERBS[self.picked]
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


def _stored_scale(values: np.ndarray) -> float:
    """The scale the page stores: `_scale` to 6 significant digits."""
    return float(f"{_scale(values):.6g}")


def _check_picker(picker) -> None:
    if isinstance(picker, str) and picker == "all":
        return
    if not isinstance(picker, (int, np.integer)) or isinstance(picker, bool):
        raise InputError(
            f"`picker` must be a count of neurons per feature or 'all'. "
            f"Received: picker={picker!r}"
        )
    if picker < 0:
        raise InputError(f"`picker` must be at least 0. Received: picker={picker!r}")


class NeuronView:
    """Text coloured by neurons: a standalone page, or inline in a notebook.

    One block per view, then the page holds more neurons for its picker: the
    top `picker` of each feature of `ranking`, or every unit of every layer
    (`h`, and `c` for an LSTM) with `picker="all"`. Each neuron held costs 2
    bytes per character; the text is stored once. The picker also follows the
    page's URL hash: `view.html#n=1:3:c` shows layer 1, unit 3, cell state.

    Args:
        acts: Activations. The recorded states.
        views: list of View. The neurons to draw as blocks, in order.
        ranking: dict or None. A `rank_neurons` ranking, for the picker.
        picker: int or "all". Neurons per feature of `ranking` that the picker
            offers besides `views` (0: only `views`), or "all".
        title: str. The page title.
        source: str. Where the text came from, for the header.
        feature_method: str. How the features were found ("tokenize", ...).

    Example:
    >>> acts = charlstm.record_activations(generator, source)
    >>> view = NeuronView.auto(acts)  # a notebook cell shows it
    >>> view.save("view.html")
    """

    def __init__(
        self,
        acts: Activations,
        views,
        ranking: dict | None = None,
        picker: int | str = DEFAULT_PICKER,
        title: str = "charlstm: neuron activations",
        source: str = "",
        feature_method: str = "",
    ):
        _check_picker(picker)
        self.acts = acts
        self.views = list(views)
        for view in self.views:
            n = view.neuron
            acts.neuron(n.layer, n.unit, n.kind)  # an InputError out of range
        self.ranking = ranking or {}
        self.picker = picker
        self.title = title
        self.source = source
        self.feature_method = feature_method

    @classmethod
    def auto(
        cls,
        acts: Activations,
        features: TextFeatures | None = None,
        picker: int | str = DEFAULT_PICKER,
        **kwargs,
    ) -> NeuronView:
        """The best neuron for each feature of the text, as `charlstm visualize`
        shows them.

        Args:
            acts: Activations. The recorded states.
            features: TextFeatures or None. Features of `acts.text`; None
                computes them (`text_features(acts.text)`).
            picker: int or "all". As for `NeuronView`.
            **kwargs: `title` and `source`, as for `NeuronView`.

        Example:
        >>> NeuronView.auto(charlstm.record_activations(generator, "f(x)\\n"))
        """
        _check_picker(picker)
        if features is None:
            features = text_features(acts.text)
        top_k = 1 if picker == "all" else max(picker, 1)
        ranking = rank_neurons(acts, features, top_k=top_k)
        views = auto_views(ranking)
        if not views:
            raise InputError(
                "no feature varies over `acts.text`, so no neuron can be ranked; "
                "record a longer text or give views of chosen neurons. Received: "
                f"a text of {len(acts.text)} characters"
            )
        kwargs.setdefault("feature_method", features.method)
        return cls(acts, views, ranking=ranking, picker=picker, **kwargs)

    def offered(self) -> list[View]:
        """Every neuron the page holds, once each: the views, then the others
        the picker offers (picked "ranked")."""
        held = {}
        for view in self.views:
            held.setdefault(view.neuron, view)
        depth = None if self.picker == "all" else int(self.picker)
        best = {}  # neuron -> its closest ranked score
        for scores in self.ranking.values():
            for s in scores[:depth]:
                if s.neuron not in best or abs(s.correlation) > abs(
                    best[s.neuron].correlation
                ):
                    best[s.neuron] = s
        if self.picker == "all":
            order = [
                Neuron(layer, unit, kind)
                for kind in self.acts.kinds
                for layer in range(self.acts.num_layers)
                for unit in range(self.acts.units)
            ]
        else:
            order = list(best)
        for n in order:
            if n not in held:
                held[n] = View(n, best.get(n), "ranked")
        return list(held.values())

    def _data(self, offered: list[View]) -> dict:
        acts = self.acts
        lengths = [len(t) for t in acts.tokens]
        neurons = []
        for view in offered:
            n = view.neuron
            values = acts.neuron(n.layer, n.unit, n.kind)  # (steps,)
            scale = _stored_scale(values)
            neurons.append(
                {
                    "key": view.key,
                    "scale": scale,
                    "decimals": decimals(scale),
                    "range": range_parts(values, n.kind, scale),
                    "values": encode_values(values, scale),
                }
            )
        generated = acts.seed_steps < acts.num_steps
        return {
            "text": acts.text,
            "lengths": None if set(lengths) <= {1} else lengths,
            "seed": acts.seed_steps if generated else 0,
            "neurons": neurons,
        }

    def _range(self, view: View) -> str:
        n = view.neuron
        values = self.acts.neuron(n.layer, n.unit, n.kind)
        before, after = range_parts(values, n.kind, _stored_scale(values))
        return (
            f'<p class="range">{html.escape(before)}<span class="legend"></span>'
            f"{html.escape(after)}</p>"
        )

    def _picker(self, offered: list[View]) -> str:
        shown = {v.neuron for v in self.views}
        others = [v for v in offered if v.neuron not in shown]
        first = (others or offered)[0]
        groups = [("shown", offered[: len(offered) - len(others)])]
        if self.picker == "all":
            for kind in self.acts.kinds:
                for layer in range(self.acts.num_layers):
                    group = [
                        v
                        for v in others
                        if v.neuron.layer == layer and v.neuron.kind == kind
                    ]
                    groups.append((f"layer {layer}, {KIND_NAMES[kind]}", group))
        else:
            groups.append((f"top {self.picker} per feature", others))
        options = "".join(
            f'<optgroup label="{label}">'
            + "".join(
                f'<option value="{v.key}"{" selected" if v is first else ""}>'
                f"{html.escape(v.heading)}</option>"
                for v in group
            )
            + "</optgroup>"
            for label, group in groups
            if group
        )
        return (
            '<section class="picker" id="picker">\n'
            f'<h2><label>Pick a neuron: <select class="pick">{options}</select>'
            f"</label></h2>\n{self._range(first)}\n"
            f'<pre class="text" data-neuron="{first.key}"></pre>\n</section>'
        )

    def _block(self, view: View, index: int) -> str:
        n = view.neuron
        feature = view.score.feature if view.score else ""
        return (
            f'<section class="neuron" id="n{index}" data-layer="{n.layer}" '
            f'data-unit="{n.unit}" data-kind="{n.kind}" data-feature="{feature}">\n'
            f"<h2>{html.escape(view.heading)}</h2>\n{self._range(view)}\n"
            f'<pre class="text" data-neuron="{view.key}"></pre>\n</section>'
        )

    def fragment(self) -> str:
        """The view as one `<div>` with its style and script, for embedding."""
        offered = self.offered()
        fills = colours((np.arange(BINS) - BINS // 2) / (BINS // 2))
        headings = [v.heading for v in self.views]
        parts = [
            f'<div class="{ROOT}">',
            f"<style>{stylesheet(fills)}</style>",
            header(self.acts, self.title, self.source, self.feature_method, headings),
            '<p class="waiting">The text is coloured by a script: allow JavaScript '
            "(in Jupyter, trust the notebook) to see it.</p>",
        ]
        if offered:
            parts.append(self._picker(offered))
        parts += [self._block(view, i) for i, view in enumerate(self.views)]
        parts += [data_block(self._data(offered)), f"<script>{SCRIPT}</script>"]
        return "\n".join(parts) + "\n</div>"

    def html(self) -> str:
        """The view as a standalone HTML page."""
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{PAGE_STYLE}</style>\n"
            f"</head>\n<body>\n{self.fragment()}\n</body>\n</html>\n"
        )

    def save(self, path: str | os.PathLike) -> None:
        """Writes the page to `path` atomically."""
        atomic_write_text(path, self.html())

    def _repr_html_(self) -> str:
        return self.fragment()


def render_html(acts: Activations, views, **kwargs) -> str:
    """A standalone HTML page with one coloured block of text per view:
    `NeuronView(acts, views, **kwargs).html()`.

    Args:
        acts: Activations. The recorded states.
        views: list of View. The neurons to draw, in order.
        **kwargs: `ranking`, `picker`, `title`, `source`, `feature_method`, as
            for `NeuronView`.

    Returns:
        The page as a str.

    Example:
    >>> page = render_html(acts, [View(Neuron(1, 37), score)], source="a.py")
    """
    return NeuronView(acts, views, **kwargs).html()


def save_html(path: str | os.PathLike, acts: Activations, views, **kwargs) -> None:
    """Writes `render_html(acts, views, **kwargs)` to `path` atomically."""
    NeuronView(acts, views, **kwargs).save(path)


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
