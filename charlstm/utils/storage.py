"""Writing files: atomically (a temporary file in the same directory, then a
rename), with plain Python values."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it over `path` on success.

    The temporary file keeps `path`'s suffix, so writers that check it (Keras wants
    `.keras`) accept it. If the block raises, `path` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Calls `write(tmp_path)` and moves the result over `path` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)


def plain_scalar(value):
    """A Python scalar from a numpy or backend scalar (for JSON and CSV files)."""
    return value.item() if hasattr(value, "item") else value
