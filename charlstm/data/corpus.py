"""Reading and cleaning text corpora.

Cleaning follows Frank, "Generating Python with Character Level LSTMs" (2022):
accented letters become their base letter, every other non-ASCII character is
dropped, and the text is optionally lowercased. The result is pure ASCII, so a
cleaned corpus is held as bytes (one byte per character) and turned into integer
ids without a Python-level loop.
"""

from __future__ import annotations

import codecs
import fnmatch
import mmap
import os
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from charlstm.data.vocabulary import Vocabulary
from charlstm.utils.checks import InputError

# Files larger than this are memory-mapped instead of read into memory at once.
MMAP_THRESHOLD = 64 * 1024 * 1024
# Cleaned text is produced in chunks of this many bytes of input.
CHUNK_BYTES = 16 * 1024 * 1024
# A file with a NUL byte in its first block is treated as binary.
BINARY_SNIFF_BYTES = 8192

_ACCENTS = {
    "a": "àáâãäå",
    "c": "ç",
    "e": "èéë",
    "i": "ìíï",
    "o": "òóõö",
    "n": "ñ",
    "u": "ùúü",
}
_CLEAN_TABLE = {ord(c): base for base, chars in _ACCENTS.items() for c in chars}
_CLEAN_TABLE.update(
    {ord(c.upper()): base.upper() for base, chars in _ACCENTS.items() for c in chars}
)
_CLEAN_TABLE[ord("µ")] = "u"


@dataclass
class TextStats:
    """What reading a corpus found."""

    files: int = 0  # files read
    characters: int = 0  # characters kept after cleaning
    replaced_bytes: int = 0  # undecodable byte sequences replaced (then dropped)
    dropped_characters: int = 0  # non-ASCII characters removed by cleaning
    skipped_binary: list[str] = field(default_factory=list)  # binary files skipped


def clean_text(text: str, lowercase: bool = False) -> str:
    """Clean text as Frank (2022) did: accents to base letters, other non-ASCII dropped.

    Args:
        text: str. The raw text.
        lowercase: bool. Whether to lowercase the result.

    Example:
    >>> clean_text("Café µ-law ✓", lowercase=True)
    'cafe u-law '
    """
    return _clean(text, lowercase)[0].decode("ascii")


def _clean(text: str, lowercase: bool) -> tuple[bytes, int]:
    """Cleans `text` to ASCII bytes; returns them and how many characters it dropped."""
    if not text.isascii():
        text = text.translate(_CLEAN_TABLE)
    data = text.encode("ascii", "ignore")
    if lowercase:
        data = data.lower()
    return data, len(text) - len(data)


def _is_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\0" in f.read(BINARY_SNIFF_BYTES)


def _raw_chunks(path: Path) -> Iterator[bytes]:
    """Yields the bytes of a file in chunks, memory-mapping large files."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size > MMAP_THRESHOLD:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                for start in range(0, size, CHUNK_BYTES):
                    yield m[start : start + CHUNK_BYTES]
        else:
            yield f.read()


def _clean_file(path: Path, lowercase: bool, out: bytearray, stats: TextStats) -> None:
    """Appends the cleaned text of one file to `out` and updates `stats`."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for raw in _raw_chunks(path):
        text = decoder.decode(raw)
        stats.replaced_bytes += text.count("\ufffd")
        data, dropped = _clean(text, lowercase)
        stats.dropped_characters += dropped
        out += data
    tail = decoder.decode(b"", final=True)
    stats.replaced_bytes += tail.count("\ufffd")
    stats.dropped_characters += len(tail)
    stats.files += 1


def _expand(
    sources: Iterable[str | os.PathLike], pattern: str
) -> list[tuple[Path, bool]]:
    """Resolves files and directories to (file, given explicitly) pairs, sorted."""
    files = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and fnmatch.fnmatch(p.name, pattern)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise InputError(
                    f"`sources` directory holds no files matching pattern "
                    f"{pattern!r}. Received: {str(path)!r}"
                )
            files.extend((p, False) for p in found)
        elif path.is_file():
            files.append((path, True))
        else:
            raise FileNotFoundError(f"corpus source does not exist: {str(path)!r}")
    if not files:
        raise InputError("`sources` is empty: give at least one file or directory.")
    return files


def read_bytes(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    pattern: str = "*",
    lowercase: bool = False,
) -> tuple[bytearray, TextStats]:
    """Reads and cleans files or directories into one ASCII byte string.

    Args:
        sources: path or list of paths. Files, or directories searched recursively
            (hidden files and directories are skipped).
        pattern: str. Glob on file names applied inside directories, e.g. "*.py".
        lowercase: bool. Whether to lowercase the text.

    Returns:
        The cleaned text as a bytearray, and a `TextStats`.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    stats = TextStats()
    out = bytearray()
    for path, explicit in _expand(sources, pattern):
        if _is_binary(path):
            if explicit:
                raise InputError(
                    f"corpus file is binary (it contains NUL bytes), not text: "
                    f"{str(path)!r}"
                )
            stats.skipped_binary.append(str(path))
            continue
        _clean_file(path, lowercase, out, stats)
    stats.characters = len(out)
    if not out:
        raise InputError(
            "the corpus is empty after cleaning: no ASCII text was found in "
            f"{stats.files} file(s)."
        )
    return out, stats  # a bytearray: no second copy of a large corpus


def read_text(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    pattern: str = "*",
    lowercase: bool = False,
) -> str:
    """Reads and cleans files or directories into one string.

    Args:
        sources: path or list of paths. Files, or directories searched recursively.
        pattern: str. Glob on file names applied inside directories, e.g. "*.py".
        lowercase: bool. Whether to lowercase the text.

    Example:
    >>> text = read_text("src/", pattern="*.py")
    """
    return read_bytes(sources, pattern, lowercase)[0].decode("ascii")


def default_corpus_paths(max_characters: int = 2_000_000) -> list[Path]:
    """The embedded default corpus: the running interpreter's standard library.

    Returns the `.py` files directly in the standard-library directory (not its
    test suites or installed packages), in sorted order, up to about
    `max_characters` of source. Every Python installation has them, so the
    default corpus is real Python on every machine.

    Args:
        max_characters: int. Stop adding files once this much source is collected.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files, total = [], 0
    for path in sorted(stdlib.glob("*.py")):
        if total >= max_characters:
            break
        files.append(path)
        total += path.stat().st_size
    if not files:
        raise FileNotFoundError(
            f"no standard-library sources found in {str(stdlib)!r}; give a corpus."
        )
    return files


@dataclass
class Corpus:
    """An encoded corpus: integer ids, their vocabulary, and what reading found."""

    ids: np.ndarray  # (characters or tokens,) smallest unsigned dtype
    vocabulary: Vocabulary  # or a `TokenVocabulary` in word mode
    stats: TextStats
    unknown_dropped: int = 0  # characters dropped as outside a given vocabulary


def load_corpus(
    sources=None,
    text: str | None = None,
    pattern: str = "*",
    lowercase: bool = False,
    vocabulary: Vocabulary | None = None,
    tokens: str = "char",
    max_tokens: int = 4000,
) -> Corpus:
    """Reads, cleans and encodes a corpus.

    Args:
        sources: path, list of paths, or None. Files or directories; None (with no
            `text`) reads the embedded default corpus (`default_corpus_paths()`).
        text: str or None. Use this text instead of reading files.
        pattern: str. File-name glob inside directories, e.g. "*.py".
        lowercase: bool. Whether to lowercase the text.
        vocabulary: Vocabulary, TokenVocabulary or None. Encode with this
            vocabulary (characters outside it are dropped and counted) instead of
            the corpus's own.
        tokens: "char" (one id per character) or "word" (`charlstm.data.tokens`:
            identifiers, numbers, operators, runs of spaces). Only used when no
            `vocabulary` is given.
        max_tokens: int. Word mode: at most this many tokens in the vocabulary,
            every character of the corpus among them.

    Example:
    >>> corpus = load_corpus(text="def f(x):\\n    return x\\n")
    >>> corpus.vocabulary.size
    14
    """
    if text is not None:
        data, dropped = _clean(text, lowercase)
        if not data:
            raise InputError("`text` is empty after cleaning: no ASCII characters.")
        stats = TextStats(files=0, characters=len(data), dropped_characters=dropped)
    else:
        data, stats = read_bytes(
            default_corpus_paths() if sources is None else sources, pattern, lowercase
        )
    unknown_dropped = 0
    if vocabulary is None and tokens == "word":
        from charlstm.data.tokens import TokenVocabulary

        vocabulary = TokenVocabulary.from_text(data, max_tokens)
        ids = vocabulary.encode(data)
    elif vocabulary is None:
        if tokens != "char":
            raise InputError(
                f"`tokens` must be 'char' or 'word'. Received: tokens={tokens!r}"
            )
        vocabulary = Vocabulary.from_text(data)
        ids = vocabulary.encode(data)
    else:
        ids = vocabulary.encode(data, strict=False)
        unknown_dropped = len(data) - vocabulary.character_count(ids)
    return Corpus(ids, vocabulary, stats, unknown_dropped)


def load_run_corpus(data, sources=None, text: str | None = None, vocabulary=None):
    """`load_corpus` as a run's `DataConfig` reads it (pattern, lowercasing,
    tokens); with `vocabulary`, a resumed run's own."""
    return load_corpus(
        sources,
        text,
        data.pattern,
        data.lowercase,
        vocabulary,
        tokens=data.tokens,
        max_tokens=data.max_tokens,
    )
