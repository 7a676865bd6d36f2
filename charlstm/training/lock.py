"""One trainer per run directory: an advisory lock on `RUN_DIR/.lock`.

The lock is the operating system's (`fcntl.flock`), so it is released when the
process that holds it ends, killed or not: a stale lock file never blocks. The
file holds the holder's process id and host, for the error a second trainer gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from charlstm.utils.checks import InputError

LOCK_NAME = ".lock"


class RunLocked(InputError):
    """Another process is training in this run directory."""


class RunLock:
    """Holds the lock of a run directory while the block runs.

    Args:
        root: path. The run directory.
        create: bool. Create the directory if it is missing.

    Example:
    >>> with RunLock("runs/mine"):
    ...     ...  # train; a second `with RunLock("runs/mine")` raises RunLocked
    """

    def __init__(self, root: str | os.PathLike, create: bool = True):
        self.path = Path(root) / LOCK_NAME
        self.create = create
        self._fd = None

    def __enter__(self) -> RunLock:
        if self.create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise RunLocked(
                f"{str(self.path.parent)!r} is in use by another trainer ({holder}); "
                "wait for it to finish or stop it first."
            ) from None
        os.ftruncate(fd, 0)
        os.write(
            fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
        )
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    """The holder as the lock file names it: "process 123 on host"."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"process {data['pid']} on {data['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not written its id yet"
