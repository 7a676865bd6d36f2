"""MkDocs hook: the command-line reference, generated from the parser.

At every build, `reference/cli.md` is written from `charlstm.cli.app.build_parser()`:
the `--help` text of `charlstm` and of every subcommand (and theirs, such as
`charlstm search train`), so the page cannot drift from the code. Building the
parser imports no TensorFlow.
"""

from __future__ import annotations

import argparse
import contextlib
import os

from mkdocs.structure.files import File

PAGE = "reference/cli.md"
WIDTH = 80  # columns of the help text, whatever the terminal that builds


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def parsers(parser: argparse.ArgumentParser):
    """`parser` and every subcommand's parser below it, depth first, each once
    (an alias names the same parser)."""
    yield parser
    seen = set()
    for sub in _subcommands(parser).values():
        if id(sub) not in seen:
            seen.add(id(sub))
            yield from parsers(sub)


@contextlib.contextmanager
def _plain_terminal():
    """A fixed width and no colours (Python 3.14's argparse colours help text
    when it thinks a terminal reads it)."""
    settings = {"COLUMNS": str(WIDTH + 2), "NO_COLOR": "1", "PYTHON_COLORS": "0"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cli_markdown() -> str:
    from charlstm.cli.app import build_parser

    lines = [
        "# Command line",
        "",
        "Every command's `--help`, generated from the parser when this site is "
        "built (`docs/hooks/cli_reference.py`). The training flags are the fields "
        "of the [configuration dataclasses](api/configuration.md).",
        "",
    ]
    with _plain_terminal():
        for parser in parsers(build_parser()):
            lines += [f"## {parser.prog}", "", "```text", parser.format_help().rstrip()]
            lines += ["```", ""]
    return "\n".join(lines)


def on_files(files, config):
    files.append(File.generated(config, PAGE, content=cli_markdown()))
    return files
