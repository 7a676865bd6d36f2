"""Progress of the corpus builders: events the library emits, and tqdm bars for them.

The builders never print. They call a `progress` callable with a `Progress` after
each downloaded chunk, page or file; `TqdmProgress` turns those calls into bars
on stderr (what the CLI passes), and a test can pass any callable.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One step of a builder's work."""

    task: str  # "download", "pages" or "files"
    done: int  # units done so far in this task
    total: int | None  # units in all, None if unknown
    name: str  # the URL or file just handled
    unit: str = "it"  # "B" for bytes, "page", "file"


class TqdmProgress:
    """Shows each task as a tqdm bar on stderr.

    Example:
    >>> bars = TqdmProgress()
    >>> build_catalog_corpus(url, "catalog.txt", progress=bars)
    >>> bars.close()
    """

    def __init__(self, file=None):
        self.file = file
        self._bars = {}  # (task, name of a download) -> tqdm bar

    def __call__(self, event: Progress) -> None:
        from tqdm.auto import tqdm

        key = (event.task, event.name if event.task == "download" else "")
        bar = self._bars.get(key)
        if bar is None:
            bar = tqdm(
                total=event.total,
                unit=event.unit,
                unit_scale=event.unit == "B",
                desc=event.name.rsplit("/", 1)[-1] if event.unit == "B" else event.task,
                file=self.file or sys.stderr,
                leave=False,
            )
            self._bars[key] = bar
        bar.update(event.done - bar.n)
        if event.total is not None and event.done >= event.total:
            bar.close()
            del self._bars[key]

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
