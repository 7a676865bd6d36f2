"""Reading text corpora: files, directories or a string -> cleaned text, its
statistics, and its encoding.

Text is decoded as UTF-8 (undecodable bytes are removed and counted), cleaned
(`charlstm.data.cleaning`: Unicode normal form NFC by default, folding to ASCII
on request) and encoded with a vocabulary of the corpus's own characters.
Characters seen fewer than `min_char_count` times share one unknown id, which
the model learns like any other, so any text can be encoded. Before a model is
trained, `load_corpus` refuses a corpus of which more than `max_unknown_share`
was dropped, undecodable or unknown, naming the setting that accepts it.
"""

from __future__ import annotations

import codecs
import dataclasses
import fnmatch
import mmap
import os
import re
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from charlstm.data.cleaning import clean
from charlstm.data.vocabulary import Vocabulary, character_counts
from charlstm.utils.checks import InputError

# Files larger than this are memory-mapped instead of read into memory at once.
MMAP_THRESHOLD = 64 * 1024 * 1024
# Text is decoded and cleaned in chunks of this many bytes of input.
CHUNK_BYTES = 16 * 1024 * 1024
# A file with a NUL byte in its first block is treated as binary.
BINARY_SNIFF_BYTES = 8192
# Bytes that are not UTF-8, as the "surrogateescape" error handler decodes them.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass
class TextStats:
    """What reading and encoding a corpus found."""

    files: int = 0  # files read
    characters: int = 0  # characters kept after cleaning
    undecodable_bytes: int = 0  # bytes that are not UTF-8, removed
    dropped_characters: int = 0  # characters folding to ASCII removed
    skipped_binary: list[str] = field(default_factory=list)  # binary files skipped
    unknown_characters: int = 0  # characters encoded as the unknown id (or
    # dropped, by a vocabulary without one)
    vocabulary_size: int = 0  # ids, the unknown id included

    @property
    def lost_share(self) -> float:
        """The share of the text read that was dropped, undecodable or unknown."""
        lost = self.undecodable_bytes + self.dropped_characters
        total = self.characters + lost
        return (lost + self.unknown_characters) / total if total else 0.0

    def describe(self) -> str:
        """One line: files, characters, vocabulary, and what was lost."""
        what = f"{self.files} file(s), " if self.files else ""
        vocabulary = (
            f", vocabulary {self.vocabulary_size}" if self.vocabulary_size else ""
        )
        parts = [
            f"corpus: {what}{self.characters:,} characters{vocabulary}",
            f"unknown {_share(self.unknown_characters, self.characters)}",
            f"dropped {_share(self.dropped_characters, self.characters)}",
            f"{self.undecodable_bytes:,} undecodable byte(s)",
        ]
        if self.skipped_binary:
            parts.append(f"{len(self.skipped_binary)} binary file(s) skipped")
        return ", ".join(parts)


def _share(count: int, total: int) -> str:
    return f"{count:,} ({100 * count / max(total, 1):.2f}%)"


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


def _decoded_lines(path: Path, stats: TextStats) -> Iterator[str]:
    """Yields the text of a file in pieces that end at a newline (or the end of
    the file), so that each piece normalises as it would inside the whole text;
    undecodable bytes are removed and counted."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    carry = ""
    for raw in _raw_chunks(path):
        text = carry + decoder.decode(raw)
        cut = text.rfind("\n") + 1
        carry = text[cut:]
        if cut:
            yield _remove_undecodable(text[:cut], stats)
    rest = carry + decoder.decode(b"", final=True)
    if rest:
        yield _remove_undecodable(rest, stats)


def _remove_undecodable(text: str, stats: TextStats) -> str:
    if text.isascii():
        return text
    text, count = _UNDECODABLE.subn("", text)
    stats.undecodable_bytes += count
    return text


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


def data_config(data=None, **options):
    """`data` (a `DataConfig`, or the defaults) with field `options` replaced."""
    from charlstm.config import DataConfig

    data = data if data is not None else DataConfig()
    options = {k: v for k, v in options.items() if v is not None}
    return dataclasses.replace(data, **options) if options else data


def read_pieces(sources=None, text: str | None = None, data=None):
    """Reads and cleans a corpus as `data` (a `DataConfig`) says, in pieces that
    end at newlines (no second copy of a large corpus).

    Args:
        sources: path, list of paths, or None. Files, or directories searched
            recursively (hidden files and directories are skipped); None (with no
            `text`) reads the embedded default corpus (`default_corpus_paths()`).
        text: str or None. Clean this text instead of reading files.
        data: DataConfig or None. `pattern`, `lowercase`, `normalize`, `ascii`.

    Returns:
        A list of str and a `TextStats` (files, characters, what was dropped).
    """
    data = data_config(data)
    stats = TextStats()
    form = (data.lowercase, data.normalize, data.ascii)
    if text is not None:
        if not isinstance(text, str):
            raise InputError(
                f"`text` must be a string. Received: {type(text).__name__}"
            )
        pieces = [_clean_piece(text, form, stats)]
    else:
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        if sources is None:
            sources = default_corpus_paths()
        pieces = []
        for path, explicit in _expand(sources, data.pattern):
            if _is_binary(path):
                if explicit:
                    raise InputError(
                        f"corpus file is binary (it contains NUL bytes), not text: "
                        f"{str(path)!r}"
                    )
                stats.skipped_binary.append(str(path))
                continue
            pieces += [
                _clean_piece(p, form, stats) for p in _decoded_lines(path, stats)
            ]
            stats.files += 1
    pieces = [p for p in pieces if p]
    stats.characters = sum(map(len, pieces))
    if not pieces:
        where = "`text`" if text is not None else f"{stats.files} file(s)"
        raise InputError(
            f"the corpus is empty after cleaning: no characters were kept from {where}."
        )
    return pieces, stats


def _clean_piece(text: str, form, stats: TextStats) -> str:
    cleaned, dropped = clean(text, *form)
    stats.dropped_characters += dropped
    return cleaned


def read_text(sources=None, data=None, **options) -> str:
    """Reads and cleans files or directories into one string.

    Args:
        sources: path, list of paths, or None (the default corpus).
        data: DataConfig or None. How to read and clean (defaults if None).
        **options: `DataConfig` fields that replace those of `data`: `pattern`
            (file-name glob inside directories), `lowercase`, `normalize`,
            `ascii`.

    Example:
    >>> text = read_text("src/", pattern="*.py")
    """
    return "".join(read_pieces(sources, data=data_config(data, **options))[0])


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

    @property
    def unknown_dropped(self) -> int:
        """Characters dropped as outside a vocabulary without an unknown id."""
        if self.vocabulary.unknown_id is not None:
            return 0  # read as the unknown id, not dropped
        return self.stats.unknown_characters


def load_corpus(
    sources=None,
    text: str | None = None,
    *,
    vocabulary=None,
    data=None,
    check: bool = True,
    **options,
) -> Corpus:
    """Reads, cleans and encodes a corpus.

    Args:
        sources: path, list of paths, or None. Files or directories; None (with no
            `text`) reads the embedded default corpus (`default_corpus_paths()`).
        text: str or None. Use this text instead of reading files.
        vocabulary: Vocabulary, TokenVocabulary or None. Encode with this
            vocabulary (a resumed run's) instead of the corpus's own; characters
            outside it become its unknown id, or are dropped by a vocabulary
            without one (written before Unicode corpora), and are counted.
        data: DataConfig or None. How to read, clean and encode (defaults if None):
            `pattern`, `lowercase`, `normalize`, `ascii`, `tokens`, `max_tokens`,
            `min_char_count`, `max_unknown_share`.
        check: bool. Refuse a corpus of which more than `max_unknown_share` was
            dropped, undecodable or unknown.
        **options: `DataConfig` fields that replace those of `data`.

    Example:
    >>> corpus = load_corpus(text="def f(x):\\n    return x\\n", min_char_count=1)
    >>> corpus.vocabulary.size  # 13 characters and the unknown id
    14
    """
    data = data_config(data, **options)
    pieces, stats = read_pieces(sources, text, data)
    counts = character_counts(pieces)
    if vocabulary is None and data.tokens == "word":
        from charlstm.data.tokens import TokenVocabulary

        vocabulary = TokenVocabulary.from_text(
            "".join(pieces), data.max_tokens, data.min_char_count, counts=counts
        )
    elif vocabulary is None:
        vocabulary = Vocabulary.from_counts(counts, data.min_char_count)
    parts = [vocabulary.encode(p, strict=False) for p in pieces]
    ids = parts[0] if len(parts) == 1 else np.concatenate(parts)
    del parts
    stats.unknown_characters = sum(
        n for c, n in counts.items() if c not in vocabulary.alphabet
    )
    stats.vocabulary_size = vocabulary.size
    if check:
        check_unknown_share(stats, data.max_unknown_share)
    return Corpus(ids, vocabulary, stats)


def check_unknown_share(stats: TextStats, limit: float) -> None:
    """An InputError if more than `limit` of the text read was lost."""
    if stats.lost_share <= limit:
        return
    raise InputError(
        f"{100 * stats.lost_share:.2f}% of the corpus is unknown, dropped or "
        f"undecodable, more than the {100 * limit:g}% allowed ({stats.describe()}); "
        "accept it with --max-unknown-share (max_unknown_share="
        f"{min(1.0, round(stats.lost_share + 0.005, 2)):g}), or keep more "
        "characters (--min-char-count 1, or without --ascii)."
    )
