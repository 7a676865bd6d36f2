"""The documentation site: `mkdocs build --strict` passes, the reference pages
are generated from the code, a broken docstring fails the build, and the pages
open in headless Chromium without errors and without the internet."""

from __future__ import annotations

import argparse
import ast
import functools
import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import charlstm
from charlstm.cli.app import build_parser
from tests.browser import chromium, console_errors

ROOT = Path(__file__).resolve().parents[2]
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "site", "runs", "build", "dist", "*.egg-info", "__pycache__",
    ".hypothesis", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


def build(root: Path, site_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site_dir],
        cwd=root,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = build(ROOT, out)
    assert built.returncode == 0, built.stderr[-4000:]
    return out


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


class _Resources(HTMLParser):
    """The URLs a page loads by itself: scripts, styles, fonts, images, frames."""

    LOADED = {
        "script": "src",
        "img": "src",
        "iframe": "src",
        "source": "src",
        "audio": "src",
        "video": "src",
        "embed": "src",
    }

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") not in ("next", "prev", "canonical"):
            self.urls.append(attrs.get("href") or "")
        elif tag in self.LOADED and attrs.get(self.LOADED[tag]):
            self.urls.append(attrs[self.LOADED[tag]])
        if "style" in attrs:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", attrs["style"])


def external(url: str) -> bool:
    return bool(urlsplit(url).scheme in ("http", "https") or url.startswith("//"))


def test_pages_and_styles_load_nothing_from_the_internet(built_site):
    pages = list(built_site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.urls, page
        assert [u for u in parser.urls if external(u)] == [], page
    for sheet in built_site.rglob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        loaded = re.findall(r"(?:url\(\s*['\"]?|@import\s+['\"])([^'\")]+)", css)
        assert [u for u in loaded if external(u)] == [], sheet


def _parsers(parser):
    yield parser
    for action in parser._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


def test_the_command_line_reference_is_every_commands_help(built_site):
    page = text_of(built_site / "reference" / "cli" / "index.html")
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > len(charlstm.cli.app.COMMANDS)  # search, corpus nest
    for parser in parsers:
        assert f"usage: {parser.prog}" in page
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:
                continue  # hidden from --help
            for option in action.option_strings:
                assert option in page, (parser.prog, option)


def test_the_api_reference_documents_every_public_name(built_site):
    pages = list((built_site / "reference" / "api").glob("*/index.html"))
    shown = "".join(p.read_text(encoding="utf-8") for p in pages)
    headings = {
        re.sub(r"<[^>]+>", " ", heading).split()[0]
        for heading in re.findall(
            r'<h2 id="[^"]+" class="doc doc-heading">(.*?)</h2>', shown, re.S
        )
    }
    assert {f"charlstm.{name}" for name in charlstm.__all__[1:]} <= headings
    # Config fields are shown with their help text and default.
    configuration = text_of(
        built_site / "reference" / "api" / "configuration" / "index.html"
    )
    assert "units per recurrent layer" in configuration
    # `Example:` sections are highlighted code, not Markdown quotes.
    assert '<span class="gp">&gt;&gt;&gt; </span>' in shown
    assert not re.search(r"<blockquote>\s*<blockquote>", shown)  # how >>> reads


def _rewrite_docstring(path: Path, name: str, docstring: str | None) -> None:
    """Replaces (None: removes) the docstring of the top-level function or
    class `name` in the module at `path`."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    (node,) = [n for n in tree.body if getattr(n, "name", None) == name]
    first = node.body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    lines = source.splitlines(keepends=True)
    new = [] if docstring is None else [f'    """{docstring}"""\n']
    lines[first.lineno - 1 : first.end_lineno] = new
    path.write_text("".join(lines), encoding="utf-8")


def _module_file(root: Path, name: str) -> Path:
    return root / (charlstm._EXPORTS[name].replace(".", "/") + ".py")


def test_a_broken_or_missing_docstring_fails_the_build(tmp_path):
    root = tmp_path / "charlstm"
    shutil.copytree(ROOT, root, ignore=COPY_IGNORED)
    _rewrite_docstring(
        _module_file(root, "sample"),
        "sample",
        "Samples ids.\n\n    Args:\n        temprature: float. Misspelt.\n    ",
    )
    _rewrite_docstring(_module_file(root, "evaluate"), "evaluate", None)
    built = build(root, tmp_path / "site")
    said = built.stdout + built.stderr
    assert built.returncode != 0
    assert "Parameter 'temprature' does not appear" in said
    assert "charlstm.eval.heldout.evaluate is in the API reference but has no" in said
    assert "Aborted with 2 warnings in strict mode" in said


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(built_site):
    handler = functools.partial(_Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_home_page_and_an_api_page_open_without_errors(served, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium(tmp_path / "profile") as browser:
        browser.get(served)
        assert browser.title.startswith("charlstm")
        assert "Two commands" in browser.find_element(By.TAG_NAME, "article").text
        # Material's search runs offline: its index and worker are local.
        search = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
        search.click()
        search.send_keys("StatefulBatches")
        WebDriverWait(browser, 15).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
        )
        assert console_errors(browser) == []

        browser.get(served + "reference/api/inference/")
        heading = browser.find_element(By.ID, "charlstm.infer.generator.TextGenerator")
        assert "charlstm.TextGenerator" in heading.text
        assert console_errors(browser) == []
        loaded = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert loaded and all(url.startswith(served) for url in loaded), loaded


def test_the_readme_commands_are_the_sites_and_ci_s():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(python3 -m venv .*|apt-get update .*)\n```", readme)
    assert len(commands) == 2
    for page in ("index.md", "getting_started.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert all(f"```sh\n{c}\n```" in text for c in commands), page
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
