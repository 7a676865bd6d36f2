"""Search tokens: code as identifier sub-words, docstrings as words.

`read_csv_file` and `readCsvFile` both become `read csv file`, so a query's
words meet the code's names. A `SearchVocabulary` maps tokens to ids (0 pads,
1 stands for any token it does not hold).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from charlstm.utils.checks import InputError, check_count
from charlstm.utils.storage import atomic_write_text

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Sub-words of an identifier: "HTTPServer2go" -> HTTP, Server, 2, go.
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
PAD, UNKNOWN = 0, 1


def split_identifier(name: str) -> list[str]:
    """The lower-cased sub-words of an identifier (snake_case and camelCase)."""
    return [part.lower() for part in _PART.findall(name)]


def code_tokens(code: str) -> list[str]:
    """The identifier sub-words of code, in order (keywords included)."""
    return [
        part for word in _IDENTIFIER.findall(code) for part in split_identifier(word)
    ]


def query_tokens(text: str) -> list[str]:
    """The words of a docstring or query, identifiers split like code's."""
    return code_tokens(text)


class SearchVocabulary:
    """Token <-> id for one side of the search (queries or code).

    Args:
        tokens: list of str. The tokens, most frequent first; ids start at 2.

    Example:
    >>> vocabulary = SearchVocabulary.build([code_tokens(c) for c in codes], 10000)
    >>> vocabulary.encode([code_tokens("def read_csv(path):")], length=16)
    """

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)
        self._index = {t: i + 2 for i, t in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            raise InputError("`tokens` must not repeat a token.")

    @classmethod
    def build(
        cls, documents: Iterable[Sequence[str]], size: int, min_count: int = 2
    ) -> SearchVocabulary:
        """The `size` most frequent tokens seen at least `min_count` times."""
        check_count("size", size)
        counts = Counter(token for document in documents for token in document)
        ranked = sorted(
            (t for t, n in counts.items() if n >= min_count),
            key=lambda t: (-counts[t], t),
        )
        return cls(ranked[:size])

    @property
    def size(self) -> int:
        """Ids in use, padding and unknown included."""
        return len(self.tokens) + 2

    def encode(self, documents: Sequence[Sequence[str]], length: int) -> np.ndarray:
        """Ids (documents, length): the first `length` tokens of each, padded."""
        check_count("length", length)
        out = np.zeros((len(documents), length), dtype=np.int32)
        for row, document in enumerate(documents):
            ids = [self._index.get(t, UNKNOWN) for t in document[:length]]
            out[row, : len(ids)] = ids
        return out

    def get_config(self) -> dict:
        return {"tokens": self.tokens}

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps(self.get_config()) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> SearchVocabulary:
        try:
            with open(path, encoding="utf-8") as f:
                return cls(json.load(f)["tokens"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(
                f"{str(path)!r} is not a search vocabulary ({error})."
            ) from None
