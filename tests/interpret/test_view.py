"""The HTML view and the PNG heat strip (charlstm/interpret/view.py), checked in
a real browser: headless Chromium from the system's packages."""

import html.parser
import shutil
import subprocess

import numpy as np
import pytest

from charlstm.interpret.activations import record_activations, record_generation
from charlstm.interpret.features import text_features
from charlstm.interpret.neurons import Neuron, rank_neurons
from charlstm.interpret.view import (
    BLUE,
    RED,
    View,
    auto_views,
    colours,
    given_views,
    render_html,
    save_html,
    save_png,
)
from tests.interpret.test_activations import random_generator

# Characters to escape, a tab, and three characters outside the vocabulary.
VOCABULARY = "abcdefgh <&>'\"\t\n"
TEXT = "abc <&> fed\n  bad 'g' \"h\"\n\thead x€x\n"


class Spans(html.parser.HTMLParser):
    """Collects, per `<section class="neuron">`, its heading and the value spans
    of its text: (classes, background colour, title, text)."""

    def __init__(self):
        super().__init__()
        self.sections, self.headings, self.header = [], [], ""
        self._span = None
        self._in = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in.append(tag)
        if tag == "section" and attrs.get("class") == "neuron":
            self.sections.append([])
        elif tag == "span" and "v" in attrs.get("class", "").split():
            style = attrs["style"]
            self._span = [attrs["class"], style.split(":")[1], attrs["title"], ""]
            self.sections[-1].append(self._span)
        elif tag == "h2":
            self.headings.append("")

    def handle_endtag(self, tag):
        self._in.pop()
        if tag == "span":
            self._span = None

    def handle_data(self, data):
        if self._span is not None:
            self._span[3] += data
        elif self._in and self._in[-1] == "h2":
            self.headings[-1] += data
        elif "header" in self._in:
            self.header += data


def parse(page: str) -> Spans:
    parser = Spans()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def view():
    generator = random_generator("lstm", vocabulary=VOCABULARY)
    acts = record_activations(generator, TEXT)
    assert acts.text == TEXT.replace("x", "").replace("€", "")
    features = text_features(acts.text)
    views = auto_views(rank_neurons(acts, features))
    views += given_views(acts, features, [Neuron(1, 3, "h")])
    return acts, views, features


def test_colours_run_from_blue_through_white_to_red():
    fills = colours(np.array([-1.0, 0.0, 1.0, 0.5, -7.0]))
    assert fills[0] == "#{:02x}{:02x}{:02x}".format(*BLUE.astype(int))
    assert fills[1] == "#ffffff"
    assert fills[2] == "#{:02x}{:02x}{:02x}".format(*RED.astype(int))
    # Half way to red (220, 50, 47): 237.5, 152.5, 151 rounded half to even.
    assert fills[3] == "#ee9897"
    assert fills[4] == fills[0]  # clipped


def test_page_has_one_coloured_span_per_character_per_neuron(view):
    acts, views, features = view
    page = render_html(acts, views, source="a <file>", feature_method="tokenize")
    assert "<script" not in page  # no JavaScript: hover is the title attribute
    parsed = parse(page)
    assert len(parsed.sections) == len(views) >= 2
    for view_, spans in zip(views, parsed.sections, strict=True):
        n = view_.neuron
        values = acts.neuron(n.layer, n.unit, n.kind)
        assert len(spans) == acts.num_steps
        # Escaped and unescaped back: the text, newlines and tabs included.
        assert "".join(s[3] for s in spans) == acts.text
        np.testing.assert_allclose([float(s[2]) for s in spans], values, rtol=1e-6)
        scale = np.abs(values).max()
        assert [s[1] for s in spans] == colours(values / scale)
        assert [("eol" in s[0]) for s in spans] == [t == "\n" for t in acts.tokens]
    auto = [v for v in views if v.picked == "auto"]  # one per varying feature
    ranking = rank_neurons(acts, features)
    assert {v.score.feature for v in auto} == {f for f, s in ranking.items() if s}
    strength = [abs(v.score.correlation) for v in auto]
    assert strength == sorted(strength, reverse=True)  # the closest first
    assert parsed.headings[0].startswith(f"layer {views[0].neuron.layer}, unit ")
    assert "— tracks" in parsed.headings[0]
    assert "(r=" in parsed.headings[0]
    assert parsed.headings[-1].startswith("layer 1, unit 3 (h) — closest feature:")
    assert "3 character(s) outside the vocabulary were dropped" in parsed.header
    assert "'x' ×2, '€' ×1." in parsed.header
    assert "a <file>" in parsed.header


def test_generated_text_marks_the_seed():
    generator = random_generator("gru")
    acts = record_generation(generator, "abc", 10, random_seed=0)
    page = render_html(acts, [View(Neuron(0, 0))])
    spans = parse(page).sections[0]
    assert [("seed" in s[0]) for s in spans] == [True] * 3 + [False] * 10
    assert "read a 3-step seed (underlined) and wrote 10 more" in page
    assert "follows none of the features" in page


def test_png_heat_strip(view, tmp_path):
    from matplotlib.image import imread

    acts, views, _ = view
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
    from matplotlib.image import imread

    acts, views, _ = view
    page = tmp_path / "view.html"
    save_html(page, acts, views, source="browser test", feature_method="tokenize")
    url = page.as_uri()
    dumped = run_chromium(tmp_path, "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    # A page without scripts or external resources logs nothing to the console.
    console = [
        line
        for line in dumped.stderr.splitlines()
        if "CONSOLE" in line or "Failed to load resource" in line
    ]
    assert console == []
    parsed = parse(dumped.stdout)  # the DOM as the browser built it
    assert len(parsed.sections) == len(views)
    for spans in parsed.sections:
        assert len(spans) == acts.num_steps
        assert "".join(s[3] for s in spans) == acts.text
        assert all(s[1].startswith("#") or s[1].startswith("rgb") for s in spans)
    assert "3 character(s) outside the vocabulary were dropped" in parsed.header
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
