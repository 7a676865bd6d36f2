"""The character vocabulary: sorted characters, an unknown id, integer ids, a
JSON round trip."""

from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np

from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write_text

# Characters encoded per step of the code-point lookup.
ENCODE_CHUNK = 1 << 22
# What the unknown id decodes to: Unicode's replacement character.
UNKNOWN_CHARACTER = "\ufffd"


def smallest_uint_dtype(size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids `0 .. size - 1`."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def code_points(text: str) -> np.ndarray:
    """The code points of `text`: (len(text),) uint32, without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def character_counts(pieces) -> Counter:
    """How often each character occurs in an iterable of strings (or UTF-8
    bytes)."""
    total = np.zeros(0, dtype=np.int64)
    for piece in pieces:
        if isinstance(piece, (bytes, bytearray)):
            piece = piece.decode("utf-8")
        for start in range(0, len(piece), ENCODE_CHUNK):
            chunk = piece[start : start + ENCODE_CHUNK]
            if chunk.isascii():
                counts = np.bincount(np.frombuffer(chunk.encode(), np.uint8))
            else:
                counts = np.bincount(code_points(chunk))
            if len(counts) > len(total):
                total = np.pad(total, (0, len(counts) - len(total)))
            total[: len(counts)] += counts
    return Counter({chr(c): int(total[c]) for c in np.flatnonzero(total)})


class Vocabulary:
    """Maps characters to integer ids and back.

    Ids follow the sorted order of the characters; a vocabulary with an unknown
    id (every vocabulary charlstm builds today) gives it the last id, and encodes
    every character outside the vocabulary as it, so any text can be encoded.
    The unknown id decodes to U+FFFD, the replacement character. Encoded arrays
    use the smallest unsigned integer dtype that holds every id.

    Args:
        characters: iterable of str. The characters; duplicates are removed and the
            rest sorted.
        unknown: bool. Whether the vocabulary has an unknown id.

    Example:
    >>> vocab = Vocabulary("ehlo", unknown=True)
    >>> vocab.encode("hole!")
    array([2, 3, 1, 0, 4], dtype=uint8)
    >>> vocab.decode(vocab.encode("hole!"))
    'hole\ufffd'
    """

    kind = "char"  # `TokenVocabulary` (charlstm.data.tokens) is "word"

    def __init__(self, characters, unknown: bool = False):
        chars = sorted(set(characters))
        if not chars:
            raise InputError("`characters` must not be empty.")
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise InputError("`characters` must be single characters.")
        self._chars = chars
        self._index = {c: i for i, c in enumerate(chars)}
        self.alphabet = frozenset(chars)
        self.unknown_id = len(chars) if unknown else None
        self._codes = np.array([ord(c) for c in chars], dtype=np.uint32)  # sorted
        self.dtype = smallest_uint_dtype(self.size)
        # Byte -> id table (-1: not encodable) for ASCII text.
        self._table = np.full(128, -1 if self.unknown_id is None else self.unknown_id)
        ascii_chars = [c for c in chars if c.isascii()]
        self._table[[ord(c) for c in ascii_chars]] = [
            self._index[c] for c in ascii_chars
        ]

    @classmethod
    def from_counts(cls, counts: dict, min_count: int = 1) -> Vocabulary:
        """The characters seen at least `min_count` times, and an unknown id."""
        kept = [c for c, n in counts.items() if n >= min_count]
        if not kept:
            raise InputError(
                f"no character occurs at least `min_char_count`={min_count} times; "
                "give more text or a smaller --min-char-count."
            )
        return cls(kept, unknown=True)

    @classmethod
    def from_text(cls, text: str, min_count: int = 1) -> Vocabulary:
        """The vocabulary of the characters that occur in `text` at least
        `min_count` times, with an unknown id."""
        return cls.from_counts(character_counts([text]), min_count)

    @property
    def characters(self) -> str:
        """The characters in id order, as one string (the unknown id not
        included)."""
        return "".join(self._chars)

    @property
    def tokens(self) -> list[str]:
        """The text of every id in id order (`TokenVocabulary`'s interface)."""
        unknown = [UNKNOWN_CHARACTER] if self.unknown_id is not None else []
        return self._chars + unknown

    @property
    def size(self) -> int:
        """The number of ids, the unknown id included."""
        return len(self._chars) + (self.unknown_id is not None)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Vocabulary)
            and self._chars == other._chars
            and self.unknown_id == other.unknown_id
        )

    def __repr__(self) -> str:
        return (
            f"Vocabulary(size={self.size}, characters={self.characters!r}, "
            f"unknown={self.unknown_id is not None})"
        )

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

    def encode(self, text: str, strict: bool = True) -> np.ndarray:
        """Encodes text to ids of dtype `self.dtype`.

        Args:
            text: str. The text to encode.
            strict: bool. For a vocabulary without an unknown id: if True,
                characters outside it raise an InputError that lists them; if
                False they are dropped.
        """
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        parts = []
        for start in range(0, len(text), ENCODE_CHUNK):
            parts.append(self._encode_chunk(text[start : start + ENCODE_CHUNK], strict))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)

    def _encode_chunk(self, chunk: str, strict: bool) -> np.ndarray:
        if chunk.isascii():
            ids = self._table[np.frombuffer(chunk.encode(), dtype=np.uint8)]
        else:
            codes = code_points(chunk)  # (chunk,) uint32
            at = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
            known = self._codes[at] == codes
            fill = -1 if self.unknown_id is None else self.unknown_id
            ids = np.where(known, at, fill)
        if self.unknown_id is None:
            missing = ids < 0
            if missing.any():
                if strict:
                    self._raise_unknown(self.unknown(chunk))
                ids = ids[~missing]
        return ids.astype(self.dtype)

    def _raise_unknown(self, unknown: list[str]) -> None:
        listed = ", ".join(repr(c) for c in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise InputError(
            f"text has {len(unknown)} character(s) not in the vocabulary: "
            f"{listed}{more}. Pass strict=False to drop them."
        )

    def decode(self, ids) -> str:
        """Decodes a sequence of ids to a string (the unknown id to U+FFFD)."""
        tokens = self.tokens
        return "".join(tokens[int(i)] for i in np.asarray(ids).ravel())

    def character_count(self, ids) -> int:
        """How many characters `ids` decode to."""
        return len(ids)

    def partial_suffix(self, text: str) -> int:
        """Characters at the end of `text` the next id may extend: none here (see
        `TokenVocabulary.partial_suffix`)."""
        return 0

    def get_config(self) -> dict:
        config = {"characters": self.characters}
        if self.unknown_id is not None:
            config["unknown"] = True
        return config

    @classmethod
    def from_config(cls, config: dict):
        """The vocabulary of a config; `{"kind": "word", ...}` (written by a word
        mode run) gives a `charlstm.data.tokens.TokenVocabulary`. A config without
        `"unknown"` (written before Unicode corpora) has no unknown id."""
        kind = config.get("kind", "char")
        if kind == "word":
            from charlstm.data.tokens import TokenVocabulary

            return TokenVocabulary.from_config(config)
        if kind != "char":
            raise InputError(
                f"vocabulary `kind` must be 'char' or 'word'. Received: kind={kind!r}"
            )
        characters = config["characters"]
        if not isinstance(characters, str) or list(characters) != sorted(
            set(characters)
        ):
            raise InputError(
                "`characters` must be a string of distinct characters in sorted "
                "order, as charlstm writes it (in another order, every id would "
                f"change). Received: characters={str(characters)[:40]!r}"
            )
        return cls(characters, unknown=_unknown_flag(config))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the vocabulary as JSON (UTF-8), atomically."""
        text = json.dumps(self.get_config(), indent=1, ensure_ascii=False)
        atomic_write_text(path, text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Reads `vocab.json` (a character or a word vocabulary); an InputError
        that names the file if it is not one this charlstm wrote."""
        return load_vocabulary(path, cls.from_config)


def _unknown_flag(config: dict) -> bool:
    unknown = config.get("unknown", False)
    if not isinstance(unknown, bool):
        raise InputError(
            f"vocabulary `unknown` must be true or false. Received: {unknown!r}"
        )
    return unknown


def load_vocabulary(path: str | os.PathLike, from_config):
    """`from_config` of the JSON in `path`, with one clear error for a damaged or
    foreign file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return from_config(data)
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise InputError(
            f"{str(path)!r} is not a charlstm vocabulary ({type(error).__name__}: "
            f"{error})."
        ) from None
    except InputError as error:
        raise InputError(f"{str(path)!r}: {error}") from None
