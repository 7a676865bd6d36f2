"""What the language server keeps: its settings, and per open document the
warmed states and the requests waiting for the model.

- `CompletionSettings`: temperature, candidates, maximum length and mode,
  checked when they change.
- `CompletionQueue`: one model for every open document. Completions run one at
  a time in a worker thread, first come first served, so the server keeps
  reading messages while the model works (`GivingWayEngine` sees to it). A
  request whose turn comes after a newer request of the same kind for the same
  document is dropped without model work; so is one the client cancelled
  before its turn.

Imports neither pygls nor TensorFlow.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from charlstm.infer.completion import Completer, DocumentStates
from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError

MODES = ("line", "paragraph")
MAX_CANDIDATES = 10
MAX_LENGTH = 2000
# The model's thread pauses this long after this much work (seconds), and feeds
# at most this many ids at a time (`GivingWayEngine`).
WORK_SLICE = 0.01
PAUSE = 0.0002
FEED_SLICE = 256
# Setting name in the editor's configuration -> CompletionSettings field.
SETTING_NAMES = {
    "temperature": "temperature",
    "candidates": "candidates",
    "maxLength": "max_length",
    "mode": "mode",
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class CompletionSettings:
    """How the language server completes; the editor's settings, section
    "charlstm" (`SETTING_NAMES` gives each field's name there).

    Args:
        temperature: float. 0 is beam search (greedy with one candidate);
            above 0 samples the candidates.
        candidates: int. Endings offered, most likely first (1 to 10).
        max_length: int. Characters added at most (1 to 2000); `maxLength` in
            the editor's settings.
        mode: str. "line": complete to the end of the line; "paragraph": to the
            first blank line.

    Example:
    >>> CompletionSettings().updated({"candidates": 3, "maxLength": 120})
    CompletionSettings(temperature=0.0, candidates=3, max_length=120, mode='line')
    """

    temperature: float = 0.0  # 0: beam search; above: sampling
    candidates: int = 1  # endings offered, most likely first
    max_length: int = 80  # characters added at most
    mode: str = "line"  # "line" or "paragraph" (to a blank line)

    def __post_init__(self):
        t = self.temperature
        if (
            isinstance(t, bool)
            or not isinstance(t, (int, float))
            or not (math.isfinite(t) and t >= 0)
        ):
            raise InputError(
                "`temperature` must be a finite number >= 0 (0 is beam search). "
                f"Received: temperature={t!r}"
            )
        for name, value, most in (
            ("candidates", self.candidates, MAX_CANDIDATES),
            ("maxLength", self.max_length, MAX_LENGTH),
        ):
            if not _is_int(value) or not 1 <= value <= most:
                raise InputError(
                    f"`{name}` must be an integer from 1 to {most}. "
                    f"Received: {name}={value!r}"
                )
        if self.mode not in MODES:
            raise InputError(
                f"`mode` must be one of {MODES}. Received: mode={self.mode!r}"
            )

    def updated(self, options) -> CompletionSettings:
        """These settings with the editor's `options` applied: a dict of setting
        names (`SETTING_NAMES`) to values, either flat or under "charlstm". A
        value of None is the default. Raises an InputError naming the first bad
        setting; nothing changes then.
        """
        if isinstance(options, dict) and "charlstm" in options:
            options = options["charlstm"]
        if options is None:
            return self
        if not isinstance(options, dict):
            raise InputError(
                f'the "charlstm" settings must be an object. Received: {options!r}'
            )
        unknown = sorted(set(options) - set(SETTING_NAMES))
        if unknown:
            raise InputError(
                f"unknown setting(s) {unknown}; the settings are "
                f"{sorted(SETTING_NAMES)}."
            )
        defaults = CompletionSettings()
        changes = {
            SETTING_NAMES[name]: (
                getattr(defaults, SETTING_NAMES[name]) if value is None else value
            )
            for name, value in options.items()
        }
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The settings under their names in the editor's configuration."""
        return {name: getattr(self, key) for name, key in SETTING_NAMES.items()}


@dataclass
class Document:
    """One open document: its completer (engine shared, states its own), the
    newest request of each kind, and counts of what the model did for it."""

    completer: Completer
    newest: dict = field(default_factory=dict)  # kind -> ticket of its newest
    completions: int = 0  # requests the model completed
    dropped: int = 0  # requests a newer one overtook: no model work
    cancelled: int = 0  # requests the client cancelled while they waited
    fed: int = 0  # characters fed, all requests together

    def take_ticket(self, kind: str) -> int:
        """Makes a new request of `kind` the newest; returns its ticket."""
        ticket = self.newest.get(kind, 0) + 1
        self.newest[kind] = ticket
        return ticket

    def complete(self, kind: str, ticket: int, text: str, settings):
        """The completions of `text` (the text before the cursor), or None if a
        newer request of `kind` came meanwhile. Runs in the model's thread."""
        if self.newest.get(kind) != ticket:
            self.dropped += 1
            return None
        if not text:
            return []  # nothing to warm up with at the start of a document
        try:
            found = self.completer.complete(
                text,
                Sampling(temperature=settings.temperature),
                max_length=settings.max_length,
                num_candidates=settings.candidates,
                multiline=settings.mode == "paragraph",
            )
        except InputError:
            return []  # no character of the vocabulary before the cursor
        self.completions += 1
        self.fed += self.completer.fed
        return found if isinstance(found, list) else [found]

    def stats(self) -> dict:
        return {
            "completions": self.completions,
            "dropped": self.dropped,
            "cancelled": self.cancelled,
            "fed": self.completer.fed,  # by the last completion
            "fed_total": self.fed,
            "states": len(self.completer.cache),
        }


class GivingWayEngine:
    """An engine that pauses now and then, so that the server's other threads
    get the interpreter while the model works.

    The model runs in a thread of its own while the event loop reads the
    editor's messages. numpy releases the GIL inside each operation, but for a
    small model the operations are so short that the model's thread takes it
    back before a waiting thread wakes up (CPython's convoy effect): the server
    would read nothing until the completion ends, and could neither see a
    newer request nor a cancellation. Pausing `PAUSE` seconds after each
    `WORK_SLICE` seconds of work (2%) hands the GIL over; long feeds are cut
    into `FEED_SLICE` ids so that they pause too. The clock starts again with
    each completion (`reset`, `set_state`), so that a short one never pauses.

    Args:
        engine: an engine (`charlstm.infer.engine.Engine`) of one stream.
    """

    def __init__(self, engine):
        self.inner = engine
        self.name = engine.name
        self.config = engine.config
        self.weights = engine.weights
        self.vocabulary_size = engine.vocabulary_size
        self._worked_since = time.perf_counter()

    @property
    def batch_size(self) -> int:
        return self.inner.batch_size

    def _give_way(self) -> None:
        if time.perf_counter() - self._worked_since > WORK_SLICE:
            time.sleep(PAUSE)
            self._worked_since = time.perf_counter()

    def reset(self, batch_size: int | None = None) -> None:
        self.inner.reset(batch_size)
        self._worked_since = time.perf_counter()

    def feed(self, ids, lengths=None, return_sequences: bool = False):
        if lengths is not None or return_sequences:
            probs = self.inner.feed(ids, lengths, return_sequences)
            self._give_way()
            return probs
        for start in range(0, max(ids.shape[1], 1), FEED_SLICE):
            probs = self.inner.feed(ids[:, start : start + FEED_SLICE])  # (1, vocab)
            self._give_way()
        return probs

    def step(self, ids):
        probs = self.inner.step(ids)
        self._give_way()
        return probs

    def get_state(self):
        return self.inner.get_state()

    def set_state(self, state) -> None:
        self.inner.set_state(state)
        self._worked_since = time.perf_counter()

    def select(self, rows) -> None:
        self.inner.select(rows)


class CompletionQueue:
    """Completions for the open documents of one editor, on one model.

    Args:
        generator: TextGenerator. The run, on the numpy engine.
        settings: CompletionSettings or None (the defaults).
        spacing: int. Characters between the states kept along a document
            (`DocumentStates`).

    Example:
    >>> queue = CompletionQueue(charlstm.load("runs/mine", engine="numpy"))
    >>> found = await queue.complete("file:///a.py", "def f(x):\\n    ret")
    """

    def __init__(self, generator, settings=None, spacing: int = 128):
        self.generator = generator
        self.settings = settings or CompletionSettings()
        self.spacing = spacing
        self.documents: dict[str, Document] = {}
        self._engine = GivingWayEngine(generator.engine)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="charlstm-model")

    def open(self, uri: str) -> Document:
        """The document of `uri`, new (no states) if it was not open."""
        if uri not in self.documents:
            states = DocumentStates(spacing=self.spacing)
            completer = Completer(self._engine, self.generator.vocabulary, cache=states)
            self.documents[uri] = Document(completer)
        return self.documents[uri]

    def close(self, uri: str) -> None:
        """Forgets the document and its states."""
        self.documents.pop(uri, None)

    async def complete(self, uri: str, text: str, kind: str = "completion"):
        """The completions of `text`, the text before the cursor in `uri`.

        Returns:
            A list of `Completion`, most likely first (empty if there is nothing
            to complete from), or None if a newer request of the same `kind`
            for the same document overtook this one.
        """
        document = self.open(uri)
        ticket = document.take_ticket(kind)
        settings = self.settings
        try:
            # Messages that arrived meanwhile are handled first: a newer request
            # makes this one stale before the model starts on it.
            await asyncio.sleep(0)
            return await asyncio.get_running_loop().run_in_executor(
                self._worker, document.complete, kind, ticket, text, settings
            )
        except asyncio.CancelledError:
            # Cancelling the wait cancels the job unless the model started it.
            document.cancelled += 1
            raise

    def stats(self) -> dict:
        """Counts per open document, and the settings (for tests and users)."""
        return {
            "settings": self.settings.to_dict(),
            "documents": {uri: d.stats() for uri, d in self.documents.items()},
        }

    def shutdown(self) -> None:
        """Stops the model's thread; jobs not started are dropped."""
        self._worker.shutdown(wait=False, cancel_futures=True)
