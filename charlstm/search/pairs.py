"""(docstring, code) pairs of the documented functions of Python sources.

Every function and method with a docstring gives one pair, nested functions and
decorated ones included: the query is its docstring (cleaned by
`inspect.cleandoc`), the code its source without the docstring. Pairs are split
by file, so that no file gives pairs to both sides, and exact duplicates (the
same docstring and code) are kept once.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from charlstm.eval.functions import ParsedSources
from charlstm.utils.checks import InputError


@dataclass(frozen=True)
class CodePair:
    """One documented function: what a search query is matched against."""

    path: str  # the file
    qualified_name: str  # with its classes and enclosing functions: "A.f.g"
    lineno: int  # the def's line (first decorator's), from 1
    docstring: str  # the docstring, cleaned
    code: str  # the function's source without its docstring


def _code_without_docstring(node, lines: list[str]) -> str:
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    doc = node.body[0]
    kept = lines[start - 1 : doc.lineno - 1] + lines[doc.end_lineno : node.end_lineno]
    return "".join(kept)


def _walk(node, prefix: str):
    """Yields (def node, qualified name) for every function, however nested."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + child.name
            yield child, name
            yield from _walk(child, name + ".")
        elif isinstance(child, ast.ClassDef):
            yield from _walk(child, f"{prefix}{child.name}.")
        else:
            yield from _walk(child, prefix)


def extract_pairs(
    sources: str | os.PathLike | Iterable[str | os.PathLike], pattern: str = "*.py"
) -> tuple[list[CodePair], int]:
    """The (docstring, code) pairs of every documented function in `sources`.

    Args:
        sources: path or list of paths. Python files, or directories searched
            recursively (hidden parts skipped).
        pattern: str. File-name glob inside directories.

    Returns:
        (pairs in file and line order, exact duplicates removed; number of files
        skipped because they could not be decoded or parsed).

    Example:
    >>> pairs, skipped = extract_pairs("my_project/")
    >>> pairs[0].docstring, pairs[0].code
    """
    parsed = ParsedSources(sources, pattern)
    pairs, seen = [], set()
    for path, tree, lines in parsed:
        for node, name in _walk(tree, ""):
            docstring = ast.get_docstring(node, clean=True)
            if not docstring or not docstring.strip():
                continue
            code = _code_without_docstring(node, lines)
            key = (docstring, code)
            if key in seen:
                continue
            seen.add(key)
            start = (
                node.decorator_list[0].lineno if node.decorator_list else node.lineno
            )
            pairs.append(CodePair(str(path), name, start, docstring, code))
    return pairs, parsed.skipped


def split_by_file(
    pairs: Sequence[CodePair], test_share: float = 0.2, random_seed: int = 0
) -> tuple[list[CodePair], list[CodePair]]:
    """(train, test): whole files to each side, about `test_share` of the pairs
    in test. A file's side depends on its path and the seed only, so adding
    files does not move the others.
    """
    if not 0 < test_share < 1:
        raise InputError(
            f"`test_share` must be in (0, 1). Received: test_share={test_share!r}"
        )
    train, test = [], []
    for pair in pairs:
        digest = hashlib.sha256(f"{random_seed}:{pair.path}".encode()).digest()
        share = int.from_bytes(digest[:8], "big") / 2**64
        (test if share < test_share else train).append(pair)
    return train, test
