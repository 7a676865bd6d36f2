"""Writing files: atomically and durably (a temporary file in the same directory,
flushed to disk, then renamed over the target, and the directory flushed), with
plain Python values.

A reader sees the old file or the new one, never a part of either, and once a
write returns, the new file survives a crash of the machine. Temporary files are
named `.NAME.XXXX.SUFFIX`; `remove_temporaries` clears those a killed process
left behind.
"""

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
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flushes a file, or a directory's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():  # some file systems cannot sync a directory
            raise
    finally:
        os.close(fd)


def remove_temporaries(directory: str | os.PathLike, names) -> list[Path]:
    """Removes the temporary files that `atomic_path` left in `directory` for the
    target `names` when its process was killed; returns what it removed."""
    removed = []
    for name in names:
        for tmp in Path(directory).glob(f".{name}.*"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


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
