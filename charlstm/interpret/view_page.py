"""The neuron view's page: its stylesheet, its script and how it stores values.

The page (`charlstm.interpret.view.NeuronView`) carries the text once and each
neuron it holds as one string in a JSON block. The script colours the text
when the page loads and when the picker changes; nothing per character is
stored in the HTML.

Values are stored at 12 bits, two characters of base64's alphabet each: a value
`v` of a neuron whose largest absolute value is `scale` is stored as
`q = round(v / scale * 2047)` plus 2048 (1..4095), high six bits first. So the
value shown is within `scale / 4094` of the recorded one (3-4 significant digits
at the neuron's peak) and a neuron costs 2 bytes per step.

    values [-0.5, 1.0], scale 1.0:
    q = [-1024, 2047] + 2048 = [1024, 4095] = [16*64 + 0, 63*64 + 63] -> "QA//"

Colours come in `BINS` (21) steps from blue through white to red: the bin of `q`
is `floor((20q + 2047) / 4094) + 10`, class `c0` to `c20`.
"""

from __future__ import annotations

import html
import json
import math
import string

import numpy as np

from charlstm.interpret.activations import Activations

LEVELS = 2047  # |q| at the neuron's largest absolute value
BINS = 21  # colour steps: c0 (blue, -scale) .. c10 (white) .. c20 (red, +scale)
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
_CODES = np.frombuffer(ALPHABET.encode("ascii"), np.uint8)
ROOT = "charlstm-neurons"  # class of the element that holds one view
KIND_NAMES = {"h": "hidden state", "c": "cell state"}
CELL_NAMES = {
    "lstm": "LSTM",
    "ln_lstm": "LSTM with layer normalisation",
    "gru": "GRU",
    "simple_rnn": "SimpleRNN",
}
METHODS = {
    "tokenize": "Python, read by tokenize",
    "scan": "Python that tokenize rejects, read by a tolerant scan",
    "text": "not Python: the features of any text",
}


def quantise(values: np.ndarray, scale: float) -> np.ndarray:
    """Values as integers in -LEVELS..LEVELS of `scale` (steps,)."""
    q = np.rint(np.asarray(values, np.float64) / scale * LEVELS)
    return np.clip(q, -LEVELS, LEVELS).astype(np.int64)


def encode_values(values: np.ndarray, scale: float) -> str:
    """Values as two base64 characters each (see the module docstring).

    Example:
    >>> encode_values(np.array([-0.5, 1.0]), 1.0)
    'QA//'
    """
    q = quantise(values, scale) + LEVELS + 1  # (steps,) in 1..4095
    pairs = np.stack([q // 64, q % 64], axis=1)  # (steps, 2)
    return _CODES[pairs].tobytes().decode("ascii")


def decode_values(encoded: str) -> np.ndarray:
    """The integers `q` (-LEVELS..LEVELS) of `encode_values`, as the script
    reads them (steps,)."""
    index = np.full(128, -1, np.int64)
    index[_CODES] = np.arange(64)
    codes = index[np.frombuffer(encoded.encode("ascii"), np.uint8)]
    pairs = codes.reshape(-1, 2)  # (steps, 2)
    return pairs[:, 0] * 64 + pairs[:, 1] - (LEVELS + 1)


def colour_bins(q: np.ndarray) -> np.ndarray:
    """The colour class (0..BINS-1) of each stored integer, as the script
    computes it."""
    half = BINS // 2
    return (2 * half * np.asarray(q) + LEVELS) // (2 * LEVELS) + half


def decimals(scale: float) -> int:
    """Decimals shown on hover: those that the 12-bit step of `scale` keeps."""
    return max(0, math.floor(-math.log10(scale / LEVELS)))


def range_parts(values: np.ndarray, kind: str, scale: float) -> list[str]:
    """The line under a neuron's heading, split where the colour legend goes."""
    return [
        f"{KIND_NAMES[kind]}: min {values.min():.4g}, max {values.max():.4g}; colours ",
        f" from {-scale:.3g} to {scale:.3g}",
    ]


def dropped_line(acts: Activations) -> str:
    """What happened to the characters outside the vocabulary."""
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


def header(
    acts: Activations, title: str, source: str, feature_method: str, headings
) -> str:
    """The view's header: counts, dropped or unknown characters, the source, the
    features' method and a linked list of the `headings` shown."""
    steps_note = (
        f"{acts.num_steps} steps"
        if len(acts.text) != acts.num_steps
        else "one step per character"
    )
    if acts.seed_steps < acts.num_steps:
        made = (
            f"the model read a {acts.seed_steps}-step seed (underlined) and "
            f"wrote {acts.num_steps - acts.seed_steps} more"
        )
    else:
        made = "the model read the text"
    lines = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="counts">{len(acts.text)} characters ({steps_note}); '
        f"{html.escape(made)}; {acts.num_layers} × "
        f"{CELL_NAMES.get(acts.cell_type, acts.cell_type)}({acts.units}).</p>",
        f'<p class="dropped">{html.escape(dropped_line(acts))}.</p>',
    ]
    if source:
        lines.append(f'<p class="source">Text: {html.escape(source)}</p>')
    if feature_method:
        method = METHODS.get(feature_method, feature_method)
        lines.append(
            f'<p class="method">Features: {html.escape(method)}. Each character '
            "shows the state after it was read; hover for its value.</p>"
        )
    rows = "".join(
        f'<tr><td><a href="#n{i}">{html.escape(h)}</a></td></tr>'
        for i, h in enumerate(headings)
    )
    lines.append(f'<table class="shown">{rows}</table>')
    return '<header class="summary">\n' + "\n".join(lines) + "\n</header>"


def data_block(data: dict) -> str:
    """`data` as a JSON script element that no text inside it can close."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c")
    return f'<script type="application/json" class="charlstm-data">{text}</script>'


def stylesheet(fills: list[str]) -> str:
    """The view's CSS, every rule inside its root element; `fills` are the BINS
    background colours."""
    r = f".{ROOT}"
    bins = "\n".join(
        f"{r} span.c{i} {{ background: {c}; }}" for i, c in enumerate(fills)
    )
    return f"""
{r} h1 {{ font-size: 1.3em; margin-bottom: .3em; }}
{r} h2 {{ font-size: 1.05em; margin: 1.4em 0 .3em; }}
{r} header p, {r} p.range, {r} p.waiting {{ margin: .2em 0; color: #444; }}
{r} table.shown {{ border-collapse: collapse; margin: .6em 0; font-size: .92em; }}
{r} table.shown td {{ padding: .1em .8em .1em 0; text-align: left; }}
{r} pre.text {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 13px; line-height: 1.4; white-space: pre; overflow-x: auto;
  border: 1px solid #ddd; padding: .5em; margin: 0; tab-size: 8; }}
{r} pre.text span.eol::before {{ content: " "; }}
{r} pre.text span.seed {{ text-decoration: underline dotted #777; }}
{r} select.pick {{ font: inherit; max-width: 100%; }}
{r} .legend {{ display: inline-block; width: 12em; height: .8em;
  vertical-align: middle; background: linear-gradient(to right, {fills[0]}, #fff,
  {fills[-1]}); }}
{bins}
"""


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
"""

# Colours every `pre.text[data-neuron]` of each view not yet started, fills the
# picker's block on a change or a URL hash "#n=LAYER:UNIT[:h|c]", and sets a
# character's title to its value when the pointer reaches it.
_SCRIPT = """
(function () {
  "use strict";
  var LEVELS = @LEVELS@, HALF = @HALF@, ALPHABET = "@ALPHABET@";
  var CODES = new Int16Array(128);
  for (var a = 0; a < 64; a++) CODES[ALPHABET.charCodeAt(a)] = a;

  function decode(text) {
    var q = new Int16Array(text.length >> 1);
    for (var i = 0; i < q.length; i++) {
      q[i] = CODES[text.charCodeAt(2 * i)] * 64
        + CODES[text.charCodeAt(2 * i + 1)] - LEVELS - 1;
    }
    return q;
  }

  function start(root) {
    root.setAttribute("data-ready", "");
    var data = JSON.parse(root.querySelector("script.charlstm-data").textContent);
    var chars = Array.from(data.text), tokens = chars;
    if (data.lengths) {
      var at = 0;
      tokens = data.lengths.map(function (n) {
        at += n;
        return chars.slice(at - n, at).join("");
      });
    }
    var neurons = {};
    data.neurons.forEach(function (n) { neurons[n.key] = n; });

    function values(n) {
      if (!n.q) n.q = decode(n.values);
      return n.q;
    }

    function fill(pre, key) {
      var n = neurons[key], q = values(n), part = document.createDocumentFragment();
      for (var i = 0; i < tokens.length; i++) {
        var span = document.createElement("span");
        var bin = Math.floor((2 * HALF * q[i] + LEVELS) / (2 * LEVELS)) + HALF;
        span.className = "v c" + bin + (tokens[i].endsWith("\\n") ? " eol" : "")
          + (i < data.seed ? " seed" : "");
        span.textContent = tokens[i];
        part.appendChild(span);
      }
      pre.replaceChildren(part);
      pre.setAttribute("data-neuron", key);
    }

    root.querySelectorAll("pre.text[data-neuron]").forEach(function (pre) {
      fill(pre, pre.getAttribute("data-neuron"));
    });

    var picker = root.querySelector("section.picker");
    if (picker) {
      var select = picker.querySelector("select.pick");
      var range = picker.querySelector("p.range");
      var show = function (key) {
        var n = neurons[key];
        select.value = key;
        var legend = document.createElement("span");
        legend.className = "legend";
        range.replaceChildren(n.range[0], legend, n.range[1]);
        fill(picker.querySelector("pre.text"), key);
      };
      var fromHash = function () {
        var m = /^#n=(\\d+):(\\d+)(?::([hc]))?$/.exec(window.location.hash);
        if (!m) return;
        var key = m[1] + ":" + m[2] + ":" + (m[3] || "h");
        if (neurons[key]) {
          show(key);
        } else {
          range.textContent = "layer " + m[1] + ", unit " + m[2] + " ("
            + (m[3] || "h") + ") is not stored in this page";
        }
      };
      select.addEventListener("change", function () { show(select.value); });
      window.addEventListener("hashchange", fromHash);
      fromHash();
    }

    root.addEventListener("mouseover", function (event) {
      var span = event.target;
      if (!span.classList || !span.classList.contains("v")) return;
      var pre = span.parentNode, n = neurons[pre.getAttribute("data-neuron")];
      var i = Array.prototype.indexOf.call(pre.children, span);
      var shown = (values(n)[i] * n.scale / LEVELS).toFixed(n.decimals);
      span.title = Number(shown) === 0 ? (0).toFixed(n.decimals) : shown;
    });
    root.querySelectorAll("p.waiting").forEach(function (p) { p.remove(); });
  }

  document.querySelectorAll("div.@ROOT@:not([data-ready])").forEach(start);
})();
"""
SCRIPT = (
    _SCRIPT.replace("@LEVELS@", str(LEVELS))
    .replace("@HALF@", str(BINS // 2))
    .replace("@ALPHABET@", ALPHABET)
    .replace("@ROOT@", ROOT)
)
