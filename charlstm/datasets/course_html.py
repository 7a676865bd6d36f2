"""Reading course blocks and links out of catalog pages, with the standard library.

Bulletin pages are often sloppy HTML: unclosed paragraphs, stray end tags,
unquoted attributes. `html.parser` tokenizes all of that; the small element stack
below closes elements the way browsers do for the cases that matter here (a new
block closes an open `<p>`, an end tag closes what was opened inside it, stray
end tags are ignored), so a missing `</p>` never swallows the next course.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
# Start tags that close an open <p> (HTML's "close a p element" rule).
CLOSES_P = frozenset(
    "address article aside blockquote dd div dl dt fieldset figure footer form h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section table ul".split()
)
# Elements an open <p> does not reach out of.
P_SCOPE = frozenset("applet button caption html object table td template th".split())
# Elements whose edges are line breaks in the extracted text.
BLOCK = CLOSES_P | frozenset("br tr".split())
SKIP = frozenset("script style template".split())
_BREAK = "\ue000"  # a line break made by markup, not by the source's formatting
_SPACE = re.compile(r"[ \t\n\r\f\v]+")


class _BlockParser(HTMLParser):
    """Collects the text of elements with given classes, and every link."""

    def __init__(self, kinds: dict[str, str]):
        super().__init__(convert_charrefs=True)
        self.kinds = kinds  # class name -> kind of block
        self.blocks: list[tuple[str, list[str]]] = []  # (kind, text parts), in order
        self.links: list[str] = []  # href of every <a>, in order
        self._stack: list[tuple[str, bool]] = []  # (tag, opened a block)
        self._capture: list[str] | None = None  # parts of the open block, if any
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag in CLOSES_P:
            self._close_p()
        if tag in BLOCK:
            self._text(_BREAK)
        if tag in VOID:
            return
        classes = (attributes.get("class") or "").split()
        kind = next((self.kinds[c] for c in classes if c in self.kinds), None)
        opens = kind is not None and self._capture is None
        if opens:
            self._capture = []
            self.blocks.append((kind, self._capture))
        self._stack.append((tag, opens))
        if tag in SKIP:
            self._skip += 1

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                self._pop_to(i)
                return
        # A stray end tag (nothing open by that name) is ignored, as browsers do.

    def handle_data(self, data):
        self._text(data)

    def close(self):
        super().close()
        self._pop_to(0)

    def _text(self, text: str) -> None:
        if self._capture is not None and not self._skip:
            self._capture.append(text)

    def _close_p(self) -> None:
        for i in range(len(self._stack) - 1, -1, -1):
            tag = self._stack[i][0]
            if tag == "p":
                self._pop_to(i)
                return
            if tag in P_SCOPE:
                return

    def _pop_to(self, index: int) -> None:
        while len(self._stack) > index:
            tag, opened = self._stack.pop()
            if tag in SKIP:
                self._skip -= 1
            if tag in BLOCK:
                self._text(_BREAK)
            if opened:
                self._capture = None


def _lines(parts: list[str]) -> list[str]:
    """Markup line breaks kept, source whitespace collapsed, non-breaking spaces kept.

    `ECSE 132.&#160; Title` keeps its two spaces, as in Frank's (2022) file.
    """
    text = _SPACE.sub(" ", "".join(parts))
    lines = (line.replace("\xa0", " ").strip() for line in text.split(_BREAK))
    return [line for line in lines if line]


def extract_courses(
    html: str, title_class: str, description_class: str
) -> list[tuple[str, str]]:
    """The (title, description) pairs of a catalog page, in page order.

    A description belongs to the title before it; a course with no description
    has "" as its description, and a description before any title is dropped. The
    title is one line; the description keeps the line breaks of its markup (`<br>`,
    paragraphs).

    Example:
    >>> extract_courses('<p class="t">ABCD 101. Intro.</p><p class="d">Hi.</p>',
    ...                 "t", "d")
    [('ABCD 101. Intro.', 'Hi.')]
    """
    parser = _BlockParser({title_class: "title", description_class: "description"})
    parser.feed(html)
    parser.close()
    courses: list[tuple[str, list[str]]] = []
    for kind, parts in parser.blocks:
        lines = _lines(parts)
        if kind == "title":
            if lines:
                courses.append((" ".join(lines), []))
        elif courses:
            courses[-1][1].extend(lines)
    return [(title, "\n".join(description)) for title, description in courses]


def subject_links(html: str, base_url: str, pattern: re.Pattern) -> tuple[list, int]:
    """Absolute http(s) links matching `pattern`, first occurrences in page order.

    Fragments are dropped before comparing, so `abcd/` and `abcd/#top` are one
    page. Returns the links and how many duplicates were dropped.
    """
    parser = _BlockParser({})
    parser.feed(html)
    parser.close()
    links, duplicates = [], 0
    seen = set()
    for href in parser.links:
        url = urldefrag(urljoin(base_url, href.strip())).url
        if urlsplit(url).scheme not in ("http", "https") or not pattern.search(url):
            continue
        if url in seen:
            duplicates += 1
            continue
        seen.add(url)
        links.append(url)
    return links, duplicates
