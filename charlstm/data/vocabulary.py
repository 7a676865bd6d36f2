"""The character vocabulary: sorted characters, integer ids, JSON round trip."""

from __future__ import annotations

import json
import os

import numpy as np

from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write_text

# Bytes encoded per step of the table lookup.
ENCODE_CHUNK = 1 << 24


def smallest_uint_dtype(size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids `0 .. size - 1`."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


class Vocabulary:
    """Maps characters to integer ids and back.

    Ids follow the sorted order of the characters. Encoded arrays use the smallest
    unsigned integer dtype that holds every id (`uint8` for any cleaned corpus).

    Args:
        characters: iterable of str. The characters; duplicates are removed and the
            rest sorted.

    Example:
    >>> vocab = Vocabulary.from_text("hello")
    >>> vocab.characters
    'ehlo'
    >>> vocab.decode(vocab.encode("hole"))
    'hole'
    """

    kind = "char"  # `TokenVocabulary` (charlstm.data.tokens) is "word"

    def __init__(self, characters):
        chars = sorted(set(characters))
        if not chars:
            raise InputError("`characters` must not be empty.")
        if any(len(c) != 1 for c in chars):
            raise InputError("`characters` must be single characters.")
        self._chars = chars
        self._index = {c: i for i, c in enumerate(chars)}
        self.dtype = smallest_uint_dtype(len(chars))
        # Byte -> id table for the fast path when every character is one byte.
        self._table = None
        if all(ord(c) < 256 for c in chars):
            self._table = np.full(256, -1, dtype=np.int16)
            self._table[[ord(c) for c in chars]] = np.arange(len(chars))

    @classmethod
    def from_text(cls, text: str | bytes) -> Vocabulary:
        """The vocabulary of the characters that occur in `text`."""
        if isinstance(text, (bytes, bytearray)):
            counts = np.bincount(np.frombuffer(text, dtype=np.uint8), minlength=256)
            return cls(chr(b) for b in np.flatnonzero(counts))
        return cls(set(text))

    @property
    def characters(self) -> str:
        """The characters in id order, as one string."""
        return "".join(self._chars)

    @property
    def tokens(self) -> list[str]:
        """The characters in id order, as a list (`TokenVocabulary`'s interface)."""
        return self._chars

    @property
    def size(self) -> int:
        return len(self._chars)

    def __len__(self) -> int:
        return len(self._chars)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self._chars == other._chars

    def __repr__(self) -> str:
        return f"Vocabulary(size={self.size}, characters={self.characters!r})"

    def unknown(self, text: str) -> list[str]:
        """The sorted distinct characters of `text` that are not in the vocabulary."""
        return sorted(set(text) - self._index.keys())

    def encode(self, text: str | bytes, strict: bool = True) -> np.ndarray:
        """Encodes text to ids of dtype `self.dtype`.

        Args:
            text: str or ASCII bytes. The text to encode.
            strict: bool. If True, characters outside the vocabulary raise a
                ValueError that lists them; if False they are dropped.
        """
        if self._table is not None and (
            isinstance(text, (bytes, bytearray)) or text.isascii()
        ):
            data = (
                text if isinstance(text, (bytes, bytearray)) else text.encode("ascii")
            )
            return self._encode_bytes(np.frombuffer(data, dtype=np.uint8), strict)
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("latin-1")
        unknown = self.unknown(text)
        if unknown and strict:
            self._raise_unknown(unknown)
        index = self._index
        return np.array([index[c] for c in text if c in index], dtype=self.dtype)

    def _encode_bytes(self, data: np.ndarray, strict: bool) -> np.ndarray:
        """Encodes one-byte characters through the lookup table, chunk by chunk, so
        the temporaries stay small however large the corpus."""
        parts = []
        for start in range(0, len(data), ENCODE_CHUNK):
            chunk = data[start : start + ENCODE_CHUNK]
            ids = self._table[chunk]  # (chunk,) int16, -1 where unknown
            known = ids >= 0
            if not known.all():
                if strict:
                    self._raise_unknown([chr(b) for b in np.unique(chunk[~known])])
                ids = ids[known]
            parts.append(ids.astype(self.dtype))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)

    def _raise_unknown(self, unknown: list[str]) -> None:
        listed = ", ".join(repr(c) for c in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise InputError(
            f"text has {len(unknown)} character(s) not in the vocabulary: "
            f"{listed}{more}. Pass strict=False to drop them."
        )

    def decode(self, ids) -> str:
        """Decodes a sequence of ids to a string."""
        chars = self._chars
        return "".join(chars[int(i)] for i in np.asarray(ids).ravel())

    def character_count(self, ids) -> int:
        """How many characters `ids` decode to."""
        return len(ids)

    def partial_suffix(self, text: str) -> int:
        """Characters at the end of `text` the next id may extend: none here (see
        `TokenVocabulary.partial_suffix`)."""
        return 0

    def get_config(self) -> dict:
        return {"characters": self.characters}

    @classmethod
    def from_config(cls, config: dict):
        """The vocabulary of a config; `{"kind": "word", ...}` (written by a word
        mode run) gives a `charlstm.data.tokens.TokenVocabulary`."""
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
        return cls(characters)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the vocabulary as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.get_config(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Reads `vocab.json` (a character or a word vocabulary); an InputError
        that names the file if it is not one this charlstm wrote."""
        return load_vocabulary(path, cls.from_config)


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
