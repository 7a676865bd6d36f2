"""Word-level tokens for code: the tokenizer and the token vocabulary.

`tokenize` cuts cleaned text into tokens with one regular expression, trying at
each position, in order:

1. identifiers, keywords and words: a letter or `_`, then letters, digits and
   `_`, in any script (`naïve`, `переменная`);
2. numbers: a digit, then letters, digits and underscores (`0x1F`, `1_000`,
   `10j`, `1e5`), optionally `.` and more of them (`3.14`);
3. operators of two or three characters, longest first (`**=`, `->`, `==`, ...);
4. runs of spaces, and runs of tabs;
5. any other single character: punctuation, quotes, `#`, `\\n`, `\\r`.

A newline is always a token of its own; the indentation after it is the next
token (a run of spaces). So a line ends exactly where the `"\\n"` token is, which
is what line completion stops at, and text can be cut after any newline without
changing how either side is tokenized. Joining the tokens gives the text back
exactly.

`TokenVocabulary` holds every character of the corpus seen at least
`min_char_count` times, an unknown id for the others, and the corpus's most
frequent longer tokens. A token outside the vocabulary is encoded as its
characters, so any text can be encoded.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections import Counter

import numpy as np

from charlstm.data.vocabulary import (
    UNKNOWN_CHARACTER,
    _unknown_flag,
    character_counts,
    smallest_uint_dtype,
)
from charlstm.utils.checks import InputError, check_count
from charlstm.utils.storage import atomic_write_text

# Operators of two or three characters (Python's, and C's `++`, `--`, `&&`, `||`).
OPERATORS = (
    "**=",
    "//=",
    ">>=",
    "<<=",
    "...",
    "->",
    ":=",
    "==",
    "!=",
    "<=",
    ">=",
    "**",
    "//",
    "<<",
    ">>",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "&=",
    "|=",
    "^=",
    "@=",
    "++",
    "--",
    "&&",
    "||",
)

TOKEN_PATTERN = re.compile(
    r"[^\W\d]\w*"  # identifiers, keywords, words (Unicode letters)
    r"|\d\w*(?:\.\d\w*)?"  # numbers
    + "".join("|" + re.escape(op) for op in sorted(OPERATORS, key=len, reverse=True))
    + r"| +|\t+"  # runs of spaces, runs of tabs
    r"|(?s:.)"  # any other single character, the newline included
)

# Text is tokenized in pieces of about this many characters, cut after a newline.
TOKENIZE_CHUNK = 1 << 20


def tokenize(text: str) -> list[str]:
    """Splits text into word-level tokens; `"".join(tokenize(text)) == text`.

    Args:
        text: str. The text.

    Example:
    >>> tokenize("    x **= 10  # ok\\n")
    ['    ', 'x', ' ', '**=', ' ', '10', '  ', '#', ' ', 'ok', '\\n']
    """
    return TOKEN_PATTERN.findall(text)


def _pieces(text: str, size: int = TOKENIZE_CHUNK):
    """Yields consecutive pieces of `text` of about `size` characters, each cut
    after a newline, so tokenizing them one by one equals tokenizing the whole."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _as_str(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8")
    return text


class TokenVocabulary:
    """Maps word-level tokens to integer ids and back, with a character fallback.

    The same interface as `Vocabulary`, over tokens (`tokenize`). Ids follow the
    sorted order of the tokens; an unknown id, if any, is the last. Every single
    character of a token is itself in the vocabulary, and a token outside it is
    encoded as its characters (the unknown id for characters outside the
    vocabulary), so `decode(encode(text)) == text` for any text over the
    vocabulary's characters.

    Args:
        tokens: iterable of str. The tokens; duplicates are removed and the rest
            sorted. Every character of every token must be a token too.
        unknown: bool. Whether the vocabulary has an unknown id.

    Example:
    >>> vocab = TokenVocabulary.from_text("x = x + 1\\n", max_tokens=100)
    >>> vocab.tokens
    ['\\n', ' ', '+', '1', '=', 'x']
    >>> vocab = TokenVocabulary.from_text("self.x = self.y\\n", max_tokens=100)
    >>> [vocab.tokens[i] for i in vocab.encode("self.ye")]  # "ye": not a token
    ['self', '.', 'y', 'e']
    """

    kind = "word"

    def __init__(self, tokens, unknown: bool = False):
        tokens = sorted(set(tokens))
        if not tokens:
            raise InputError("`tokens` must not be empty.")
        if not all(isinstance(t, str) and t for t in tokens):
            raise InputError("`tokens` must be non-empty strings.")
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens)}
        self.alphabet = frozenset(t for t in tokens if len(t) == 1)
        self.unknown_id = len(tokens) if unknown else None
        missing = sorted(set("".join(tokens)) - self.alphabet)
        if missing:
            raise InputError(
                "every character of a token must be a token itself, for the "
                f"character fallback. Received tokens without: {missing[:20]!r}"
            )
        self.dtype = smallest_uint_dtype(self.size)
        self._lengths = np.array([len(t) for t in self.tokens], dtype=np.int64)

    @classmethod
    def from_text(
        cls,
        text: str | bytes,
        max_tokens: int,
        min_count: int = 1,
        counts: dict | None = None,
    ) -> TokenVocabulary:
        """Every character of `text` seen at least `min_count` times, an unknown
        id, then the most frequent longer tokens, up to `max_tokens` in all
        (never fewer than the characters).

        Ties in frequency are broken by the sorted order of the tokens. Longer
        tokens with a character below `min_count` are not kept.

        Args:
            counts: dict or None. The character counts of `text`, if known.
        """
        check_count("max_tokens", max_tokens)
        text = _as_str(text)
        if counts is None:
            counts = character_counts([text])
        characters = {c for c, n in counts.items() if n >= min_count}
        if not characters:
            raise InputError(
                f"no character occurs at least `min_char_count`={min_count} times; "
                "give more text or a smaller --min-char-count."
            )
        found = Counter()
        for piece in _pieces(text):
            found.update(TOKEN_PATTERN.findall(piece))
        longer = sorted(
            (t for t in found if len(t) > 1 and characters.issuperset(t)),
            key=lambda t: (-found[t], t),
        )
        room = max(0, max_tokens - len(characters) - 1)
        return cls([*characters, *longer[:room]], unknown=True)

    @property
    def tokens(self) -> list[str]:
        """The text of every id in id order: `tokens[i]` is the text of id i (the
        unknown id's is U+FFFD)."""
        unknown = [UNKNOWN_CHARACTER] if self.unknown_id is not None else []
        return self._tokens + unknown

    @property
    def characters(self) -> str:
        """The single-character tokens (the fallback alphabet), sorted."""
        return "".join(sorted(self.alphabet))

    @property
    def size(self) -> int:
        """The number of ids, the unknown id included."""
        return len(self._tokens) + (self.unknown_id is not None)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, TokenVocabulary)
            and self._tokens == other._tokens
            and self.unknown_id == other.unknown_id
        )

    def __repr__(self) -> str:
        longest = sorted(self._tokens, key=len, reverse=True)[:5]
        return f"TokenVocabulary(size={self.size}, longest={longest!r})"

    def outside(self, text: str) -> list[str]:
        """The sorted distinct characters of `text` outside the vocabulary: read
        as the unknown id, or dropped by a vocabulary without one."""
        return sorted(set(text) - self.alphabet)

    def unknown(self, text: str) -> list[str]:
        """The sorted distinct characters of `text` that cannot be encoded: those
        outside a vocabulary without an unknown id (none otherwise)."""
        if self.unknown_id is not None:
            return []
        return sorted(set(text) - self.alphabet)

    def encode(self, text: str | bytes, strict: bool = True) -> np.ndarray:
        """Encodes text to ids of dtype `self.dtype`; tokens outside the vocabulary
        become their characters.

        Args:
            text: str. The text to encode.
            strict: bool. For a vocabulary without an unknown id: if True,
                characters outside it raise an InputError that lists them; if
                False they are dropped before the text is tokenized.
        """
        text = _as_str(text)
        unknown = self.unknown(text)
        if unknown:
            if strict:
                listed = ", ".join(repr(c) for c in unknown[:20])
                more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
                raise InputError(
                    f"text has {len(unknown)} character(s) not in the vocabulary: "
                    f"{listed}{more}. Pass strict=False to drop them."
                )
            text = text.translate(dict.fromkeys(map(ord, unknown)))
        index, unknown_id = self._index, self.unknown_id
        parts = []
        for piece in _pieces(text):
            ids = []
            for token in TOKEN_PATTERN.findall(piece):
                i = index.get(token)
                if i is None:
                    ids.extend(index.get(c, unknown_id) for c in token)
                else:
                    ids.append(i)
            parts.append(np.array(ids, dtype=self.dtype))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)

    def decode(self, ids) -> str:
        """Decodes a sequence of ids to a string (the unknown id to U+FFFD)."""
        tokens = self.tokens
        return "".join(tokens[int(i)] for i in np.asarray(ids).ravel())

    def character_count(self, ids) -> int:
        """How many characters `ids` decode to."""
        return int(self._lengths[np.asarray(ids, dtype=np.int64)].sum())

    def partial_suffix(self, text: str) -> int:
        """How many characters at the end of `text` the next token may extend: the
        last token's, unless it is a newline, all of `text`, or holds a
        character outside the vocabulary (no token spells it).

        Line completion re-reads them as part of its first tokens ("token
        healing"): `"    return sel"` ends in the token `"sel"`, which the model
        rarely saw, while `"self"` is one token it knows.
        """
        if not text or text.endswith("\n"):
            return 0
        line = text[text.rfind("\n") + 1 :]
        last = TOKEN_PATTERN.findall(line)[-1]
        if len(last) == len(text) or not self.alphabet.issuperset(last):
            return 0
        return len(last)

    def allowed(self, remaining: str) -> np.ndarray:
        """Which ids may come next while `remaining` must still be produced: the
        tokens that are a prefix of it or start with it. Returns (size,) bool."""
        mask = np.zeros(self.size, dtype=bool)
        lo = bisect.bisect_left(self._tokens, remaining)
        hi = bisect.bisect_left(self._tokens, remaining + "\U0010ffff")
        mask[lo:hi] = True  # tokens that start with `remaining`
        for end in range(1, len(remaining)):
            i = self._index.get(remaining[:end])
            if i is not None:
                mask[i] = True
        return mask

    def get_config(self) -> dict:
        config = {"kind": self.kind, "tokens": self._tokens}
        if self.unknown_id is not None:
            config["unknown"] = True
        return config

    @classmethod
    def from_config(cls, config: dict) -> TokenVocabulary:
        tokens = config["tokens"]
        if not isinstance(tokens, list) or tokens != sorted(set(tokens)):
            raise InputError(
                "`tokens` must be a list of distinct tokens in sorted order, as "
                "charlstm writes it (in another order, every id would change)."
            )
        return cls(tokens, unknown=_unknown_flag(config))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the vocabulary as JSON (UTF-8), atomically."""
        text = json.dumps(self.get_config(), indent=0, ensure_ascii=False)
        atomic_write_text(path, text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> TokenVocabulary:
        from charlstm.data.vocabulary import load_vocabulary

        return load_vocabulary(path, cls.from_config)
