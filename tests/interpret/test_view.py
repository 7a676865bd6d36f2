"""The neuron view and the PNG heat strip (charlstm/interpret/view.py and
view_page.py): the page's format and size, and the page in a real browser
(Debian's headless Chromium, by --dump-dom and through Selenium)."""

import html
import html.parser
import json
import shutil
import subprocess

import numpy as np
import pytest

import charlstm
from charlstm.interpret.activations import (
    Activations,
    record_activations,
    record_generation,
)
from charlstm.interpret.features import PYTHON_FEATURES, text_features
from charlstm.interpret.neurons import Neuron, NeuronScore, rank_neurons
from charlstm.interpret.view import (
    BLUE,
    RED,
    NeuronView,
    View,
    auto_views,
    colours,
    given_views,
    render_html,
    save_html,
    save_png,
)
from charlstm.interpret.view_page import (
    BINS,
    LEVELS,
    colour_bins,
    decimals,
    decode_values,
    encode_values,
    quantise,
)
from charlstm.utils.checks import InputError
from tests.browser import chromium as chromium_driver
from tests.browser import console_errors
from tests.interpret.test_activations import random_generator

# Characters to escape, a tab, and three characters outside the vocabulary.
VOCABULARY = "abcdefgh <&>'\"\t\n"
TEXT = "abc <&> fed\n  bad 'g' \"h\"\n\thead x€x\n"
VOID = {"meta", "br", "input", "link", "img", "hr"}
FILLS = colours((np.arange(BINS) - BINS // 2) / (BINS // 2))


class Page(html.parser.HTMLParser):
    """A neuron view, from its HTML or from the DOM a browser built: per
    `pre.text`, its neuron and its spans ([classes, text]); the headings of the
    neuron sections, the header's text, the picker's options ([value, label,
    selected]) and the JSON data."""

    def __init__(self):
        super().__init__()
        self.blocks, self.headings, self.options = [], [], []
        self.header, self.range, self.waiting, self._json = "", "", False, ""
        self._in = []  # (tag, classes) of the open elements
        self._span = self._option = None

    def _inside(self, tag, name):
        return any(t == tag and name in c for t, c in self._in)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag not in VOID:
            self._in.append((tag, classes))
        if tag == "pre" and "text" in classes:
            self.blocks.append([attrs["data-neuron"], []])
        elif tag == "span" and "v" in classes:
            self._span = [classes, ""]
            self.blocks[-1][1].append(self._span)
        elif tag == "h2" and self._inside("section", "neuron"):
            self.headings.append("")
        elif tag == "option":
            self._option = [attrs["value"], "", "selected" in attrs]
            self.options.append(self._option)
        elif tag == "p" and "waiting" in classes:
            self.waiting = True
        elif tag == "script" and attrs.get("type") == "application/json":
            self._json = ""

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        self._in.pop()
        if tag == "span":
            self._span = None
        elif tag == "option":
            self._option = None

    def handle_data(self, data):
        top = self._in[-1][0] if self._in else ""
        if self._span is not None:
            self._span[1] += data
        elif self._option is not None:
            self._option[1] += data
        elif top == "h2" and self._inside("section", "neuron"):
            self.headings[-1] += data
        elif self._inside("p", "range") and self._inside("section", "picker"):
            self.range += data
        elif self._inside("header", "summary"):
            self.header += data
        elif top == "script" and "charlstm-data" in self._in[-1][1]:
            self._json += data

    @property
    def data(self) -> dict:
        return json.loads(self._json)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    return parser


def key(neuron: Neuron) -> str:
    return f"{neuron.layer}:{neuron.unit}:{neuron.kind}"


def stored(acts: Activations, neuron_key: str) -> tuple[np.ndarray, float, int]:
    """What the page must hold for a neuron: its 12-bit values, scale and
    decimals, computed here from the recorded states."""
    layer, unit, kind = neuron_key.split(":")
    values = acts.neuron(int(layer), int(unit), kind)
    scale = float(f"{np.abs(values).max() or 1.0:.6g}")
    return quantise(values, scale), scale, decimals(scale)


def check_block(acts: Activations, block) -> None:
    """A `pre.text` as the browser built it: one span per step with the exact
    text, the colour class of the neuron's value, and the line ends marked."""
    neuron_key, spans = block
    assert len(spans) == acts.num_steps
    assert "".join(text for _, text in spans) == acts.text
    assert [text for _, text in spans] == acts.tokens
    q, _, _ = stored(acts, neuron_key)
    expected = [f"c{b}" for b in colour_bins(q)]
    assert [[c for c in classes if c[1:].isdigit()] for classes, _ in spans] == [
        [c] for c in expected
    ]
    assert [("eol" in c) for c, _ in spans] == [t.endswith("\n") for t in acts.tokens]


@pytest.fixture(scope="module")
def view():
    generator = random_generator("lstm", vocabulary=VOCABULARY)
    acts = record_activations(generator, TEXT)
    assert acts.text == TEXT.replace("x", "").replace("€", "")
    features = text_features(acts.text)
    ranking = rank_neurons(acts, features, top_k=5)
    views = auto_views(ranking)
    views += given_views(acts, features, [Neuron(1, 3, "h")])
    return acts, views, features, ranking


def test_colours_run_from_blue_through_white_to_red():
    fills = colours(np.array([-1.0, 0.0, 1.0, 0.5, -7.0]))
    assert fills[0] == "#{:02x}{:02x}{:02x}".format(*BLUE.astype(int))
    assert fills[1] == "#ffffff"
    assert fills[2] == "#{:02x}{:02x}{:02x}".format(*RED.astype(int))
    # Half way to red (220, 50, 47): 237.5, 152.5, 151 rounded half to even.
    assert fills[3] == "#ee9897"
    assert fills[4] == fills[0]  # clipped


def test_values_are_stored_at_12_bits_in_two_characters():
    # -0.5 * 2047 = -1023.5, rounded half to even: -1024; + 2048 = 1024 = 16 * 64
    # + 0: "Q" "A". 1 -> 4095 = 63 * 64 + 63: "//". -1 -> 1: "AB". 0 -> 2048:
    # 32 * 64: "g" "A". A value past the scale is clipped.
    assert encode_values(np.array([-0.5, 1.0, -1.0, 0.0, 1.5]), 1.0) == "QA//ABgA//"
    assert list(decode_values("QA//ABgA")) == [-1024, 2047, -2047, 0]
    # Steps of 2047 / 10 = 204.7, rounded: white from -102 to 102, full red from
    # 9.5 steps (1944.65).
    q = np.array([-2047, -1945, -1944, -103, -102, 0, 102, 103, 1944, 1945, 2047])
    assert list(colour_bins(q)) == [0, 0, 1, 9, 10, 10, 10, 11, 19, 20, 20]
    # Shown decimals: the step scale / 2047 is 0.00049 for 1, 0.0098 for 20.
    assert (decimals(1.0), decimals(20.0), decimals(0.01)) == (3, 2, 5)
    rng = np.random.default_rng(0)
    values = rng.normal(0, 3, 1000)
    scale = np.abs(values).max()
    back = decode_values(encode_values(values, scale)) * scale / LEVELS
    assert np.abs(back - values).max() <= scale / (2 * LEVELS) * (1 + 1e-9)


def test_page_stores_the_text_once_and_each_neuron_once(view):
    acts, views, features, ranking = view
    page = render_html(
        acts, views, ranking=ranking, source="a <file>", feature_method="tokenize"
    )
    # Nothing per character in the HTML: no span, no style, no title.
    assert 'class="v' not in page and "title=" not in page and "style=" not in page
    parsed = parse(page)
    data = parsed.data
    assert data["text"] == acts.text and data["lengths"] is None
    assert data["seed"] == 0
    keys = [n["key"] for n in data["neurons"]]
    assert len(keys) == len(set(keys))
    shown = list(dict.fromkeys(key(v.neuron) for v in views))
    ranked = {key(s.neuron) for scores in ranking.values() for s in scores[:2]}
    assert keys[: len(shown)] == shown  # the shown first,
    assert set(keys[len(shown) :]) == ranked - set(shown)  # then the top 2 per feature
    for neuron in data["neurons"]:
        q, scale, places = stored(acts, neuron["key"])
        assert neuron["scale"] == scale and neuron["decimals"] == places
        assert list(decode_values(neuron["values"])) == list(q)
        assert np.abs(q).max() == LEVELS  # the neuron's peak is the scale
    # The picker lists every stored neuron; the first not shown is selected.
    assert [o[0] for o in parsed.options] == keys
    assert [o[2] for o in parsed.options].index(True) == len(shown)
    assert (
        parsed.options[len(shown)][1].endswith(")")
        and " — follows " in (parsed.options[len(shown)][1])
    )
    assert [b[0] for b in parsed.blocks] == [keys[len(shown)]] + [
        key(v.neuron) for v in views
    ]
    assert all(spans == [] for _, spans in parsed.blocks)  # coloured by the script
    auto = [v for v in views if v.picked == "auto"]  # one per varying feature
    assert {v.score.feature for v in auto} == {f for f, s in ranking.items() if s}
    strength = [abs(v.score.correlation) for v in auto]
    assert strength == sorted(strength, reverse=True)  # the closest first
    assert len(parsed.headings) == len(views) >= 2
    assert parsed.headings[0].startswith(f"layer {views[0].neuron.layer}, unit ")
    assert "— tracks" in parsed.headings[0]
    assert "(r=" in parsed.headings[0]
    assert parsed.headings[-1].startswith("layer 1, unit 3 (h) — closest feature:")
    assert "3 character(s) outside the vocabulary were dropped" in parsed.header
    assert "'x' ×2, '€' ×1." in parsed.header
    assert "a <file>" in parsed.header
    assert parsed.waiting  # until the script runs


def test_picker_all_holds_every_unit_and_zero_only_the_shown(view):
    acts, views, _, ranking = view
    every = parse(render_html(acts, views[:1], ranking=ranking, picker="all")).data
    assert len(every["neurons"]) == acts.num_layers * acts.units * len(acts.kinds)
    assert every["neurons"][0]["key"] == key(views[0].neuron)
    none = parse(render_html(acts, views[:1], ranking=ranking, picker=0)).data
    assert [n["key"] for n in none["neurons"]] == [key(views[0].neuron)]
    for bad in (-1, "some", True, 1.5):
        with pytest.raises(InputError, match="`picker`"):
            NeuronView(acts, views, picker=bad)


# Today's page before this view (one <span class="v" style="background:#..."
# title="..."> per character and neuron) for `fixed_activations()` and
# `fixed_views()` below, source="fixed.py", feature_method="tokenize": measured
# as len(render_html(...).encode()) with charlstm/interpret/view.py as of commit
# 64e196b, imported before it was changed. OLD_SPAN_BYTES is the part of it that
# the per-character spans took, which `old_span_bytes` reproduces.
OLD_PAGE_BYTES = 3_983_975
OLD_SPAN_BYTES = 3_979_696
SNIPPET = '''def raise_unknown(unknown: list[str]) -> None:
    """Raises a ValueError that lists the unknown characters."""
    listed = ", ".join(repr(c) for c in unknown[:20])
    more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    raise ValueError(
        f"text has {len(unknown)} character(s) not in the vocabulary: "
        f"{listed}{more}. Pass strict=False to drop them."
    )


def decode(chars, ids) -> str:
    """Decodes a sequence of ids to a string."""
    # one character per id, in order
    return "".join(chars[int(i)] for i in np.asarray(ids).ravel())
'''
FEATURES = PYTHON_FEATURES  # the features of the fixed input's ranking


def fixed_activations() -> Activations:
    """8,176 characters of Python and a 2 x LSTM(16) of made-up states, exact
    on every machine: integer arithmetic, one division, a float32 cast."""
    text = SNIPPET * 14
    t = np.arange(len(text))[None, :, None]
    u = np.arange(16)[None, None, :]
    layer = np.arange(2)[:, None, None]
    n = 1000001
    hidden = (t * 7919 + u * 104729 + layer * 1299709) % (2 * n + 1) - n
    hidden = (hidden / n).astype(np.float32)  # (layers, steps, units)
    cell = (3 * hidden[:, ::-1]).astype(np.float32)
    return Activations(list(text), hidden, cell, "lstm", len(text))


def fixed_ranking() -> dict:
    """A made-up ranking: three distinct neurons per Python feature."""
    return {
        f: [
            NeuronScore(
                Neuron((j + k) % 2, (3 * j + 5 * k) % 16, "hc"[(j + k) % 2]),
                f,
                0.9 - 0.1 * k - 0.01 * j,
            )
            for k in range(3)
        ]
        for j, f in enumerate(FEATURES)
    }


def old_span_bytes(acts: Activations, views) -> int:
    """The bytes that the old page spent on its per-character spans."""
    total = 0
    generated = acts.seed_steps < acts.num_steps
    for view in views:
        n = view.neuron
        values = acts.neuron(n.layer, n.unit, n.kind)
        fills = colours(values / (np.abs(values).max() or 1.0))
        for step, (token, value, fill) in enumerate(
            zip(acts.tokens, values, fills, strict=True)
        ):
            classes = "v" + (" eol" if token.endswith("\n") else "")
            classes += " seed" if generated and step < acts.seed_steps else ""
            span = (
                f'<span class="{classes}" style="background:{fill}" '
                f'title="{float(value):.7g}">{html.escape(token)}</span>'
            )
            total += len(span.encode())
    return total


def test_page_is_a_tenth_of_the_per_character_page():
    acts, ranking = fixed_activations(), fixed_ranking()
    views = auto_views(ranking)
    assert len(acts.text) == 8176 and len(views) == 7
    assert old_span_bytes(acts, views) == OLD_SPAN_BYTES
    page = render_html(
        acts, views, ranking=ranking, source="fixed.py", feature_method="tokenize"
    )
    assert len(parse(page).data["neurons"]) == 14  # 7 shown, 7 more to pick
    size = len(page.encode())
    assert size * 10 <= OLD_PAGE_BYTES, size  # 250,477 bytes: 15.9 times smaller


def test_page_is_a_tenth_on_a_real_model():
    """A random 2 x LSTM(8) reading 1,750 characters of Python: the page with
    the picker (shown + top 2 per feature) against the old spans alone."""
    text = SNIPPET * 3
    generator = random_generator("lstm", vocabulary="".join(sorted(set(text))))
    acts = record_activations(generator, text)
    view = NeuronView.auto(acts, source="snippet")
    assert len(view.views) >= 5 and view.picker == 2
    size = len(view.html().encode())
    assert size * 10 <= old_span_bytes(acts, view.views), size


def test_generated_text_marks_the_seed():
    generator = random_generator("gru")
    acts = record_generation(generator, "abc", 10, random_seed=0)
    page = render_html(acts, [View(Neuron(0, 0))])
    assert parse(page).data["seed"] == 3
    assert "read a 3-step seed (underlined) and wrote 10 more" in page
    assert "follows none of the features" in page


def test_neuron_view_for_notebooks(view, tmp_path):
    acts, _, features, _ = view
    assert charlstm.NeuronView is NeuronView
    shown = NeuronView.auto(acts, features, source="cell")
    again = NeuronView.auto(acts, source="cell")  # the features computed
    assert again.html() == shown.html()
    fragment = shown._repr_html_()
    assert fragment.startswith('<div class="charlstm-neurons">')
    assert fragment.endswith("</div>") and "<html" not in fragment
    assert fragment in shown.html()
    shown.save(tmp_path / "v.html")
    assert (tmp_path / "v.html").read_text(encoding="utf-8") == shown.html()
    flat = Activations(list("\n" * 4), acts.hidden[:, :4], None, "lstm", 4)
    with pytest.raises(InputError, match="no feature varies"):
        NeuronView.auto(flat)


def test_png_heat_strip(view, tmp_path):
    from matplotlib.image import imread

    acts, views, _, _ = view
    path = tmp_path / "strip.png"
    save_png(path, acts, views)
    image = imread(path)  # (height, width, channels) floats
    assert image.shape[0] > 50 and image.shape[1] > 300
    red = (image[..., 0] > 0.6) & (image[..., 2] < 0.4)
    blue = (image[..., 2] > 0.6) & (image[..., 0] < 0.4)
    assert red.sum() > 50 and blue.sum() > 50


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "headless Chromium is needed for the browser test and is not on PATH: "
            "apt-get install -y chromium"
        )
    return path


def run_chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_page_in_a_real_browser(view, tmp_path):
    """Every character of every block coloured by the script, and the picker
    set by the URL hash to a neuron that no block shows."""
    from matplotlib.image import imread

    acts, views, _, ranking = view
    page = tmp_path / "view.html"
    save_html(
        page,
        acts,
        views,
        ranking=ranking,
        source="browser test",
        feature_method="tokenize",
    )
    neurons = parse(page.read_text(encoding="utf-8")).data["neurons"]
    picked = neurons[-1]["key"]
    assert picked not in {key(v.neuron) for v in views}
    url = page.as_uri()
    dumped = run_chromium(tmp_path, "--dump-dom", f"{url}#n={picked}")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    console = [
        line
        for line in dumped.stderr.splitlines()
        if "CONSOLE" in line or "Failed to load resource" in line
    ]
    assert console == []
    parsed = parse(dumped.stdout)  # the DOM as the browser built it
    assert [b[0] for b in parsed.blocks] == [picked] + [key(v.neuron) for v in views]
    for block in parsed.blocks:
        check_block(acts, block)
    assert not parsed.waiting  # the script ran to its end
    assert "3 character(s) outside the vocabulary were dropped" in parsed.header
    assert parsed.range.startswith(("hidden state: min ", "cell state: min "))
    # Rendered: the screenshot holds red and blue backgrounds.
    shot = tmp_path / "shot.png"
    taken = run_chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=900,1400", url
    )
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = imread(shot)[..., :3]  # (height, width, rgb)
    red = (image[..., 0] > 0.75) & (image[..., 1] < 0.6) & (image[..., 2] < 0.6)
    blue = (image[..., 2] > 0.75) & (image[..., 0] < 0.6)
    assert red.sum() > 100 and blue.sum() > 100


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium_driver(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


def blocks(browser) -> list:
    """Every `pre.text` in the page now: [neuron, [[classes, text], ...]]."""
    return browser.execute_script(
        """return Array.from(document.querySelectorAll("pre.text"), pre => [
             pre.getAttribute("data-neuron"),
             Array.from(pre.children, s => [Array.from(s.classList), s.textContent])
           ]);"""
    )


def test_picker_hover_and_colours_in_a_browser(view, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    acts, views, _, ranking = view
    page = tmp_path / "view.html"
    save_html(page, acts, views, ranking=ranking)
    neurons = parse(page.read_text(encoding="utf-8")).data["neurons"]
    browser.get(page.as_uri())
    first = blocks(browser)
    # Choosing another neuron recolours the picker's block.
    other = neurons[1]["key"]
    Select(browser.find_element("css selector", "select.pick")).select_by_value(other)
    now = blocks(browser)
    assert now[0][0] == other and now[1:] == first[1:]
    check_block(acts, now[0])
    assert now[0][1] != first[0][1]  # the colours changed
    # The classes colour the backgrounds with the 21 steps of `colours`.
    backgrounds = browser.execute_script(
        """return Array.from(document.querySelectorAll("section.neuron pre span"),
             s => getComputedStyle(s).backgroundColor);"""
    )
    classes = [c for _, spans in now[1:] for c, _ in spans]
    bins = [int(next(c[1:] for c in cs if c[1:].isdigit())) for cs in classes]
    rgb = [
        "rgb({}, {}, {})".format(*(int(FILLS[b][i : i + 2], 16) for i in (1, 3, 5)))
        for b in bins
    ]
    assert backgrounds == rgb
    assert len(set(bins)) > 5
    # Hovering a character shows its value, rounded to the stored precision.
    spans = browser.find_elements("css selector", "section.neuron pre span")
    n = views[0].neuron
    values = acts.neuron(n.layer, n.unit, n.kind)
    q, scale, places = stored(acts, key(n))
    for step in (0, 5, acts.num_steps - 1):
        ActionChains(browser).move_to_element(spans[step]).perform()
        expected = f"{q[step] * scale / LEVELS:.{places}f}"
        if float(expected) == 0:
            expected = f"{0:.{places}f}"
        assert spans[step].get_attribute("title") == expected
        assert abs(float(expected) - values[step]) <= scale / LEVELS
    # The URL hash picks too, and names a neuron the page does not hold.
    browser.get(f"{page.as_uri()}#n={neurons[2]['key']}")
    assert blocks(browser)[0][0] == neurons[2]["key"]
    held = {n["key"] for n in neurons}
    missing = next(
        f"{layer}:{unit}:h"
        for layer in range(2)
        for unit in range(8)
        if f"{layer}:{unit}:h" not in held
    )
    browser.execute_script(f"window.location.hash = 'n={missing[:-2]}';")
    text = browser.find_element("css selector", "section.picker p.range").text
    assert text.endswith("is not stored in this page")
    errors = console_errors(browser)
    assert errors == []


def test_word_tokens_seed_and_two_views_in_one_page(browser, tmp_path):
    """Tokens of several characters and one outside the BMP, a generated part
    after a seed, and two views in one page as a notebook shows them."""
    tokens = ["def", " ", "größe", "(", "😀", ")", ":", "\n", "  ", "pass", "\n"]
    rng = np.random.default_rng(1)
    hidden = rng.normal(0, 1, (1, len(tokens), 4)).astype(np.float32)
    acts = Activations(tokens, hidden, None, "gru", seed_steps=4)
    view = NeuronView(acts, [View(Neuron(0, 1)), View(Neuron(0, 2))], picker="all")
    assert parse(view.html()).data["lengths"] == [len(t) for t in tokens]
    page = tmp_path / "cells.html"
    page.write_text(
        f"<!DOCTYPE html><html><body>{view._repr_html_()}<p>between cells</p>"
        f"{view._repr_html_()}</body></html>",
        encoding="utf-8",
    )
    browser.get(page.as_uri())
    found = blocks(browser)
    assert len(found) == 2 * 3  # the picker and two blocks, twice
    for block in found:
        check_block(acts, block)
        seed = [("seed" in classes) for classes, _ in block[1]]
        assert seed == [True] * 4 + [False] * (len(tokens) - 4)
    assert found[:3] == found[3:]
    errors = console_errors(browser)
    assert errors == []
