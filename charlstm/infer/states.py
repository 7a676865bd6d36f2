"""Warmed states for line completion: what a request does not have to feed again.

Two caches, one protocol: `warm(engine, ids, newline_id)` sets the engine to one
stream that has read `ids` and returns `(probs, fed)`, its next-id
probabilities (1, vocab) and how many ids it had to feed, storing the states it
will want again.

- `StateCache`: the states of recent requests, whatever their texts (a
  `Completer`'s default: one-off requests, `charlstm complete --serve`).
- `DocumentStates`: one document as an editor types and edits it (the language
  server keeps one per open document). States along the whole document, so an
  edit anywhere re-feeds from about the edit. With dynamic evaluation
  (`charlstm.infer.adaptation`), every weight update `restart`s it from the
  states that the adaptation carried: states read with older weights go.

Pure numpy; runs on any engine (`charlstm.infer.engine.Engine`).
"""

from __future__ import annotations

import numpy as np

from charlstm.utils.checks import check_count


def line_starts(ids: np.ndarray, newline_id: int, start: int = 0) -> np.ndarray:
    """The positions in `ids` right after each newline at or after `start`."""
    if newline_id < 0:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(ids[start:] == newline_id) + start + 1


def common_prefix_length(a: np.ndarray, b: np.ndarray) -> int:
    """How many ids `a` and `b` share from the start."""
    n = min(len(a), len(b))
    differ = a[:n] != b[:n]
    first = int(differ.argmax()) if n else 0
    return first if n and differ[first] else n


class StateCache:
    """Warmed states keyed by the ids that produced them (least recently used out).

    Keeps the state at the end of each request and at the start of its last
    line: a request whose text extends an earlier one (the same file, typed
    further) feeds only the new characters, and editing within the line does
    not re-read the file.

    Args:
        size: int. Number of states kept.

    Example:
    >>> completer = Completer(engine, vocabulary, cache=StateCache(8))
    """

    def __init__(self, size: int = 8):
        self.size = size
        self.entries = []  # (ids, state, probs), most recently used last

    def longest_prefix(self, ids: np.ndarray):
        """The entry with the longest ids that `ids` starts with, or None."""
        best = None
        for index, (known, _, _) in enumerate(self.entries):
            if len(known) <= len(ids) and np.array_equal(ids[: len(known)], known):
                if best is None or len(known) > len(self.entries[best][0]):
                    best = index
        if best is None:
            return None
        self.entries.append(self.entries.pop(best))
        return self.entries[-1]

    def refresh(self, ids: np.ndarray) -> None:
        """Marks the entry of exactly `ids` (if kept) as the most recently used."""
        for index, (known, _, _) in enumerate(self.entries):
            if len(known) == len(ids) and np.array_equal(known, ids):
                self.entries.append(self.entries.pop(index))
                return

    def store(self, ids: np.ndarray, state, probs: np.ndarray) -> None:
        self.entries = [e for e in self.entries if not np.array_equal(e[0], ids)]
        self.entries.append((ids.copy(), state, probs.copy()))
        del self.entries[: -self.size]

    def warm(self, engine, ids: np.ndarray, newline_id: int):
        """Sets `engine` to one stream that has read `ids` (at least one id).

        Returns:
            (probs (1, vocab), the number of ids fed).
        """
        hit = self.longest_prefix(ids)
        done = 0
        if hit is None:
            engine.reset(1)
        else:
            known, state, probs = hit
            engine.set_state(state)
            done = len(known)
        starts = line_starts(ids, newline_id)
        line_start = int(starts[-1]) if len(starts) else 0
        # Typing on along the line hits the previous request's state, so the
        # state at the line's start would age out of the cache; a request that
        # then edits back to the line's start (or before the last request's
        # text) would re-read the whole file. Keep it recent.
        self.refresh(ids[:line_start])
        fed = len(ids) - done
        for end in sorted({line_start, len(ids)}):
            if end <= done:
                continue
            probs = engine.feed(ids[None, done:end])  # (1, vocab)
            done = end
            self.store(ids[:end], engine.get_state(), probs)
        return probs, fed


class DocumentStates:
    """Warmed states along one document, for the requests of an editor.

    Keeps states at line starts at least `spacing` ids apart (checkpoints), and
    at the ends and line starts of the last `recent` requests. Each request's
    ids are compared with those the kept states read: the states past the first
    id that differs (an edit earlier in the document) are dropped, and the
    request feeds from the last state before it. So typing one more character
    feeds one id, deleting it feeds none, and an edit at line k re-feeds from at
    most `spacing` ids (and a line) before line k, not from the start. Working
    on ids rather than on editor offsets, the cache drops exactly what an edit
    changed, in character and in word mode, whatever the editor reports.

    The checkpoints of a document of n ids take about n / spacing states (a
    state is `2 * num_layers * units` floats for an LSTM).

    Args:
        spacing: int. Ids between checkpoints, at least.
        recent: int. Request ends and line starts kept besides the checkpoints.

    Example:
    >>> completer = Completer(engine, vocabulary, cache=DocumentStates())
    >>> completer.complete(text[:cursor])
    """

    def __init__(self, spacing: int = 128, recent: int = 8):
        check_count("spacing", spacing)
        check_count("recent", recent)
        self.spacing = spacing
        self.recent = recent
        self.ids = np.empty(0, dtype=np.int64)  # what the kept states read
        self.checkpoints = {}  # length -> (state, probs), at line starts
        self.latest = {}  # length -> (state, probs), least recently used first

    def __len__(self) -> int:
        return len(self.checkpoints) + len(self.latest)

    def warm(self, engine, ids: np.ndarray, newline_id: int):
        """Sets `engine` to one stream that has read `ids` (at least one id).

        Returns:
            (probs (1, vocab), the number of ids fed).
        """
        common = common_prefix_length(self.ids, ids)
        if common < len(ids):  # an edit at `common`, or more text after it
            self.ids = ids.copy()
            for kept in (self.checkpoints, self.latest):
                for length in [n for n in kept if n > common]:
                    del kept[length]
        kept = [n for n in (*self.checkpoints, *self.latest) if n <= len(ids)]
        done = max(kept, default=0)
        if done:
            state, probs = self.latest.get(done) or self.checkpoints[done]
            engine.set_state(state)
        else:
            engine.reset(1)
        fed = len(ids) - done
        starts = line_starts(ids, newline_id)
        line_start = int(starts[-1]) if len(starts) else 0
        self._touch(line_start)
        self._touch(done)
        spaced = set(self._spaced(starts, done))
        for end in sorted(spaced | {line_start, len(ids)}):
            if end <= done:
                continue
            probs = engine.feed(ids[None, done:end])  # (1, vocab)
            done = end
            entry = (engine.get_state(), probs.copy())
            if end in spaced:
                self.checkpoints[end] = entry
            else:
                self.latest.pop(end, None)
                self.latest[end] = entry
        while len(self.latest) > self.recent:
            del self.latest[next(iter(self.latest))]
        return probs, fed

    def restart(self, ids: np.ndarray, checkpoints: dict) -> None:
        """Forgets every state and keeps `checkpoints` instead: the model's
        weights changed, so what was read with the old ones is stale.

        Args:
            ids: 1-D int array. Ids that the checkpoints' states read (each
                state read a prefix of them).
            checkpoints: dict of length -> (state, probs (1, vocab)), states of
                the current engine's layout after reading `ids[:length]`, and
                the next-id probabilities there (lengths from 1 to `len(ids)`).
        """
        assert all(0 < n <= len(ids) for n in checkpoints), "beyond `ids`"
        self.ids = np.array(ids, dtype=np.int64)
        self.checkpoints = dict(checkpoints)
        self.latest = {}

    def _spaced(self, starts: np.ndarray, done: int) -> list[int]:
        """The line starts after `done` to keep as checkpoints."""
        last = max((n for n in self.checkpoints if n <= done), default=0)
        chosen = []
        for start in starts[np.searchsorted(starts, done, side="right") :]:
            if start - last >= self.spacing:
                chosen.append(int(start))
                last = start
        return chosen

    def _touch(self, length: int) -> None:
        """Marks the recent state at `length` (if kept) as the most recently used."""
        if length in self.latest:
            self.latest[length] = self.latest.pop(length)
