"""Builds the course-catalog corpus of Frank (2022) by scraping the bulletin it names.

The paper: Frank, "Generating Python with Character Level LSTMs" (2022).

    python data/catalog/prepare.py [options of `charlstm corpus catalog`]

Writes data/catalog/input.txt: every course as its title line, its description
lines and a blank line. Pages are fetched politely (one request a second by
default, robots.txt respected) and cached, so an interrupted run, or one where
some pages failed, is finished by running it again with --force: only the
missing pages are requested.
"""

import subprocess
import sys
from pathlib import Path

# Frank's paper, footnote 1: one page per four-letter subject code.
INDEX_URL = "https://bulletin.case.edu/course-descriptions/"


def main(argv: list[str]) -> int:
    out = Path(__file__).resolve().parent / "input.txt"
    command = [
        sys.executable,
        "-m",
        "charlstm.cli.main",
        "corpus",
        "catalog",
        INDEX_URL,
    ]
    return subprocess.call([*command, "--out", str(out), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
