"""Writing a built corpus: checks on the output path, cleaning and counting."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from charlstm.data.cleaning import clean
from charlstm.utils.storage import atomic_path


def check_output(out: str | os.PathLike, force: bool) -> Path:
    """Refuses an output path that cannot be written, before any work is done."""
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"`out` is in a directory that does not exist: {str(out)!r} "
            f"(create {str(out.parent)!r} first)"
        )
    if out.is_dir():
        raise IsADirectoryError(f"`out` is a directory, not a file: {str(out)!r}")
    if out.exists() and not force:
        raise FileExistsError(
            f"`out` already exists: {str(out)!r}. Pass force=True (--force) to "
            "replace it."
        )
    return out


class CorpusWriter:
    """Cleans text as training does (`charlstm.data.cleaning`: NFC, or folded to
    ASCII with `ascii`) and counts what it writes."""

    def __init__(self, file, lowercase: bool = False, ascii: bool = False):
        self.file = file
        self.form = (lowercase, "nfc", ascii)
        self.characters = 0  # characters written
        self.dropped_characters = 0  # characters folding to ASCII removed
        self.vocabulary: set[str] = set()  # distinct characters written

    def clean(self, text: str) -> str:
        """The cleaned text; counts the characters cleaning dropped."""
        cleaned, dropped = clean(text, *self.form)
        self.dropped_characters += dropped
        return cleaned

    def write(self, cleaned: str) -> None:
        """Writes already-cleaned text."""
        self.file.write(cleaned)
        self.characters += len(cleaned)
        self.vocabulary.update(cleaned)


@contextlib.contextmanager
def corpus_writer(out: Path, lowercase: bool, ascii: bool) -> Iterator[CorpusWriter]:
    """A CorpusWriter into a temporary UTF-8 file that replaces `out` only on
    success."""
    with atomic_path(out) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            yield CorpusWriter(f, lowercase, ascii)
