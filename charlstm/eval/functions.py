"""The documented functions of Python sources, split into prompt and body.

The code-generation task of Perez, Ottens and Viswanathan, "Automatic Code
Generation using Pre-Trained Language Models" (2021), prompts a model with a
function's signature and docstring and asks for the body; `extract_functions`
finds such functions with `ast` and cuts each into the prompt (decorators,
signature, docstring: whole lines as in the file) and the body (the lines after
it).
"""

from __future__ import annotations

import ast
import fnmatch
import os
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlstm.utils.checks import check_count


@dataclass(frozen=True)
class FunctionExample:
    """One documented function of a source file, split into prompt and body.

    Lines keep their indentation and end with "\\n" (any "\\r\\n" or "\\r" of
    the file becomes "\\n"); `prompt + body` is the function's source.
    """

    path: str  # the file
    name: str  # the function's name
    qualified_name: str  # with its classes: "Outer.Inner.method"
    lineno: int  # first line of the prompt (first decorator, or the def), from 1
    prompt: str  # decorators, signature and docstring, whole lines as in the file
    body: str  # the lines after the docstring up to the function's last statement
    indent: str  # leading whitespace of the prompt's first line (the def's level)
    body_indent: str  # leading whitespace of the body's first statement

    @property
    def source(self) -> str:
        """The whole function: prompt followed by body."""
        return self.prompt + self.body


def source_files(sources, pattern: str) -> list[Path]:
    """Files given, and files matching `pattern` under directories (recursively,
    hidden parts skipped), sorted per directory."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and fnmatch.fnmatch(p.name, pattern)
                    and not any(
                        part.startswith(".") for part in p.relative_to(path).parts
                    )
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"source does not exist: {str(path)!r}")
    return files


def read_python(path: Path) -> str | None:
    """The file's text with "\\n" newlines, or None if it cannot be decoded."""
    try:
        with open(path, "rb") as f:
            encoding, _ = tokenize.detect_encoding(f.readline)
            f.seek(0)
            text = f.read().decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


class ParsedSources:
    """Iterates over the Python files of `sources` as (path, ast tree, lines with
    their "\\n"); files that cannot be decoded or parsed are counted in
    `skipped` instead."""

    def __init__(self, sources, pattern: str = "*.py"):
        self.paths = source_files(sources, pattern)
        self.skipped = 0

    def __iter__(self):
        for path in self.paths:
            text = read_python(path)
            try:
                tree = ast.parse(text) if text is not None else None
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            if tree is None:
                self.skipped += 1
                continue
            lines = text.split("\n")
            yield path, tree, [line + "\n" for line in lines[:-1]] + [lines[-1]]


def leading_whitespace(line: str) -> str:
    """The spaces, tabs and form feeds that start `line`."""
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def _example(path: str, node, qualified: str, lines: list[str]):
    """The FunctionExample of a def node, or None if it has no docstring or no
    statement after it on a later line."""
    if ast.get_docstring(node, clean=False) is None or len(node.body) < 2:
        return None
    doc, first = node.body[0], node.body[1]
    if first.lineno <= doc.end_lineno:  # '"""Doc."""; return x'
        return None
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    prompt = "".join(lines[start - 1 : doc.end_lineno])
    body = "".join(lines[doc.end_lineno : node.end_lineno])
    if not body.endswith("\n"):
        body += "\n"  # the file's last line
    return FunctionExample(
        path=path,
        name=node.name,
        qualified_name=qualified,
        lineno=start,
        prompt=prompt,
        body=body,
        indent=leading_whitespace(lines[start - 1]),
        body_indent=leading_whitespace(lines[first.lineno - 1]),
    )


def _functions(node, prefix: str):
    """Yields (def node, qualified name) outside any function body: top-level
    functions, methods (of nested classes too), defs under if/try/with."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield child, prefix + child.name
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
            yield from _functions(child, prefix)


def extract_functions(
    sources: str | os.PathLike | Iterable[str | os.PathLike], pattern: str = "*.py"
) -> tuple[list[FunctionExample], int]:
    """Finds the functions with a docstring and a body in Python sources.

    Top-level functions and methods (of nested classes too, and defs under
    `if`/`try`/`with` blocks) are taken, `async def` included, decorators in the
    prompt. Functions nested in another function's body are not taken on their
    own: they are part of the enclosing function's body, and without its
    context their prompt would be misleading. A function is left out when its
    docstring is its only statement (nothing to generate) or when the next
    statement shares the docstring's line (`'''Doc.'''; return x`).

    Args:
        sources: path or list of paths. Python files, or directories searched
            recursively (hidden files and directories skipped).
        pattern: str. File-name glob inside directories.

    Returns:
        (examples in file and line order, number of files skipped because they
        could not be decoded or parsed).

    Example:
    >>> examples, skipped = extract_functions("src/")
    >>> print(examples[0].prompt + examples[0].body)
    """
    parsed = ParsedSources(sources, pattern)
    examples = []
    for path, tree, lines in parsed:
        for node, qualified in _functions(tree, ""):
            example = _example(str(path), node, qualified, lines)
            if example is not None:
                examples.append(example)
    return examples, parsed.skipped


def select_examples(
    examples: Sequence[FunctionExample], limit: int | None, random_seed: int = 0
) -> list[FunctionExample]:
    """`limit` examples drawn at random without replacement, kept in their order;
    all of them if `limit` is None or not smaller than their number."""
    if limit is None or limit >= len(examples):
        return list(examples)
    check_count("limit", limit)
    rng = np.random.default_rng(random_seed)
    chosen = np.sort(rng.choice(len(examples), size=limit, replace=False))
    return [examples[int(i)] for i in chosen]
