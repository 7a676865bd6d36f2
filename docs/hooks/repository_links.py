"""MkDocs hook: links from a page to files of the repository outside `docs/`.

On GitHub, `[examples/x.py](../examples/x.py)` opens the file; the site has no
copy of it, so on the site such a link becomes the file's path in a code span.
Only links to files that exist are rewritten: a link to a missing file stays a
broken link, which `mkdocs build --strict` refuses.
"""

from __future__ import annotations

import re
from pathlib import Path

LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\(([^)\s#]+)(#[^)\s]*)?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def on_page_markdown(markdown, page, config, files):
    docs = Path(config.docs_dir).resolve()
    root = Path(config.config_file_path).parent.resolve()
    here = (docs / page.file.src_uri).parent

    def replace(match: re.Match) -> str:
        text, target = match[1], match[2]
        if ":" in target or target.startswith("/"):
            return match[0]  # a URL, or a path the site owns
        path = (here / target).resolve()
        if path.is_relative_to(docs) or not path.is_relative_to(root):
            return match[0]
        if not path.exists():
            return match[0]
        shown = path.relative_to(root).as_posix()
        return f"`{shown}`" if text.strip("`") == shown else f"{text} (`{shown}`)"

    lines, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if FENCE.match(line):
            fenced = not fenced
        lines.append(line if fenced else LINK.sub(replace, line))
    return "".join(lines)
