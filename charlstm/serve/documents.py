"""What the language server keeps per open document: the warmed states and the
requests waiting for the model.

- `Document`: a document's text, its warmed states and, with `dynamic`, its
  adapted weights (the settings are `charlstm.serve.settings`'s).
- `CompletionQueue`: one model for every open document. Completions run one at
  a time in a worker thread, first come first served, so the server keeps
  reading messages while the model works (`GivingWayEngine` sees to it). A
  request whose turn comes after a newer request of the same kind for the same
  document is dropped without model work; so is one the client cancelled
  before its turn.

With `dynamic` on, each document has its own weights, which learn the text
before the cursor of its completion requests (`charlstm.infer.adaptation`):
after a completion is answered, the model's thread learns the segments typed
since, the most recently completed document first, at most `ADAPT_SLICE`
seconds at a time and never while a completion waits. It stops between the
steps of a segment (read, gradient, update), so a completion waits for one
step at most. Each update restarts the document's warmed states from the
adaptation's own, so every completion comes from the current weights. An edit
before the point learned keeps the weights and learns again from the state
kept before the edit. The `rms` rule's gradient statistics are measured once,
in a thread of their own, when the setting is first turned on; meanwhile
documents complete as before.

Imports neither pygls nor TensorFlow.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from charlstm.eval.dynamic import DynamicConfig, statistics_text
from charlstm.infer.adaptation import Adapter, AdaptiveCompleter, StatisticsCache
from charlstm.infer.completion import Completer, DocumentStates
from charlstm.infer.sampling import Sampling
from charlstm.serve.settings import CompletionSettings
from charlstm.utils.checks import InputError

# The model's thread pauses this long after this much work (seconds), and feeds
# at most this many ids at a time (`GivingWayEngine`).
WORK_SLICE = 0.01
PAUSE = 0.0002
FEED_SLICE = 256
# Dynamic evaluation learns for at most this long (seconds) between requests.
ADAPT_SLICE = 0.02


@dataclass
class Document:
    """One open document: its completer (engine shared, states its own; with
    dynamic evaluation, weights its own too), the newest request of each kind,
    and counts of what the model did for it."""

    completer: Completer
    newest: dict = field(default_factory=dict)  # kind -> ticket of its newest
    completions: int = 0  # requests the model completed
    dropped: int = 0  # requests a newer one overtook: no model work
    cancelled: int = 0  # requests the client cancelled while they waited
    fed: int = 0  # characters fed, all requests together
    adapter: Adapter | None = None  # what `adaptive` was made with
    adaptive: AdaptiveCompleter | None = None  # with dynamic evaluation

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
        adaptation = self.adaptive.adaptation if self.adaptive else None
        return {
            "completions": self.completions,
            "dropped": self.dropped,
            "cancelled": self.cancelled,
            "fed": self.completer.fed,  # by the last completion
            "fed_total": self.fed,
            "states": len(self.completer.cache),
            # Dynamic evaluation: ids learned up to, and weight updates made.
            "learned": adaptation.position if adaptation else None,
            "updates": adaptation.updates if adaptation else None,
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
            (`DocumentStates`, and dynamic evaluation's).
        run_dir: path or None. The run's directory: its corpus is the training
            text of the `rms` rule's statistics (dynamic evaluation).

    Example:
    >>> queue = CompletionQueue(charlstm.load("runs/mine", engine="numpy"))
    >>> found = await queue.complete("file:///a.py", "def f(x):\\n    ret")
    """

    def __init__(self, generator, settings=None, spacing: int = 128, run_dir=None):
        self.generator = generator
        self.settings = CompletionSettings()
        self.spacing = spacing
        self.run_dir = run_dir
        self.documents: dict[str, Document] = {}
        self.adapter = None  # Adapter of the dynamic settings, once ready
        self.dynamic_error = None  # why the last dynamic settings failed
        self._statistics = None  # StatisticsCache, made when first needed
        self._generation = 0  # of the latest dynamic settings
        self._lock = threading.Lock()
        self._waiting = set()  # completions handed to the model's thread, not begun
        self._unlearned = {}  # uri -> Document with text to learn, latest last
        self._learning = None  # the task that has them learn
        self._engine = GivingWayEngine(generator.engine)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="charlstm-model")
        self._setup = ThreadPoolExecutor(1, thread_name_prefix="charlstm-statistics")
        if settings is not None:
            self.configure(settings.to_dict())

    def configure(self, options) -> None:
        """Applies the editor's settings (`CompletionSettings.updated`). Turning
        `dynamic` on, or changing how it learns, checks the run and its
        training text at once (an InputError changes nothing), then measures the
        gradient statistics in a thread of their own; documents keep completing
        as before until they are ready."""
        settings = self.settings.updated(options)
        old = (self.settings.dynamic, self.settings.adaptation)
        if (settings.dynamic, settings.adaptation) != old and settings.dynamic:
            self._check_dynamic(settings.adaptation)
        self.settings = settings
        if (settings.dynamic, settings.adaptation) != old:
            self._prepare(settings)

    def _check_dynamic(self, config: DynamicConfig) -> None:
        Adapter(self.generator, DynamicConfig(variant="sgd"))  # an LSTM run?
        if config.variant != "rms":
            return
        if self._statistics is None:
            if self.run_dir is None:
                raise InputError(
                    "the rms variant of `dynamic` needs the run's training text, "
                    "and the server was not given the run's directory; use "
                    "variant 'sgd'"
                )
            text, _ = statistics_text(self.run_dir)
            self._statistics = StatisticsCache(self.generator, text)
        self._statistics.check(config)

    def _prepare(self, settings: CompletionSettings) -> None:
        """Makes the `Adapter` of `settings` in the statistics' thread (None
        with `dynamic` off); the documents take it up at their next request."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self.dynamic_error = None
            if not settings.dynamic:
                self.adapter = None
                return

        def make():
            config, adapter, error = settings.adaptation, None, None
            try:
                ms = self._statistics.get(config) if config.variant == "rms" else None
                adapter = Adapter(self.generator, config, ms)
            except Exception as failure:  # a bug: shown in the stats
                error = f"{type(failure).__name__}: {failure}"
            with self._lock:
                if generation == self._generation:
                    self.adapter, self.dynamic_error = adapter, error

        self._setup.submit(make)

    def dynamic_status(self) -> str:
        """The `dynamic` setting's state: "off", "preparing" (the gradient
        statistics), "on", or "failed: why"."""
        if not self.settings.dynamic:
            return "off"
        if self.dynamic_error:
            return f"failed: {self.dynamic_error}"
        adapter = self.adapter
        ready = adapter is not None and adapter.config == self.settings.adaptation
        return "on" if ready else "preparing"

    def open(self, uri: str) -> Document:
        """The document of `uri`, new (no states) if it was not open."""
        if uri not in self.documents:
            self.documents[uri] = Document(self._static_completer())
        return self.documents[uri]

    def _static_completer(self) -> Completer:
        states = DocumentStates(spacing=self.spacing)
        return Completer(self._engine, self.generator.vocabulary, cache=states)

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
        token = object()
        self._waiting.add(token)
        try:
            # Messages that arrived meanwhile are handled first: a newer request
            # makes this one stale before the model starts on it.
            await asyncio.sleep(0)
            found, unlearned = await asyncio.get_running_loop().run_in_executor(
                self._worker, self._run, token, document, kind, ticket, text, settings
            )
        except asyncio.CancelledError:
            # Cancelling the wait cancels the job unless the model started it.
            self._waiting.discard(token)
            document.cancelled += 1
            raise
        if unlearned:
            self._unlearned.pop(uri, None)
            self._unlearned[uri] = document
            if self._learning is None or self._learning.done():
                self._learning = asyncio.ensure_future(self._learn())
        return found

    def _run(self, token, document: Document, kind, ticket, text, settings):
        """A completion, in the model's thread; and whether its document has
        text to learn (dynamic evaluation)."""
        self._waiting.discard(token)
        adapter = self.adapter
        if document.adapter is not adapter:  # dynamic turned on, off, or changed
            document.adapter = adapter
            document.adaptive = None
            document.completer = self._static_completer()
            if adapter is not None:
                document.adaptive = AdaptiveCompleter(
                    adapter, self.spacing, wrap=GivingWayEngine
                )
                document.completer = document.adaptive.completer
        found = document.complete(kind, ticket, text, settings)
        return found, bool(document.adaptive and document.adaptive.pending())

    async def _learn(self) -> None:
        """Has the documents with text to learn learn it, the latest first, a
        slice at a time in the model's thread, until a completion waits."""
        loop = asyncio.get_running_loop()
        while self._unlearned:
            await asyncio.sleep(0)  # requests that came meanwhile go first
            if self._waiting:
                return  # the next completion starts this again
            uri, document = next(reversed(self._unlearned.items()))
            more = False
            if self.documents.get(uri) is document:  # still open
                try:
                    more = await loop.run_in_executor(
                        self._worker, self._learn_some, document
                    )
                except RuntimeError:
                    return  # the model's thread was shut down
            if not more and self._unlearned.get(uri) is document:
                del self._unlearned[uri]

    def _learn_some(self, document: Document) -> bool:
        """Learns for at most `ADAPT_SLICE` seconds, in the model's thread,
        stopping between the steps of a segment if a completion waits; False if
        the document has nothing more to learn."""
        adaptive = document.adaptive
        if adaptive is None or document.adapter is not self.adapter:
            return False  # dynamic evaluation was turned off, or changed
        if self._waiting:
            return True
        began = time.perf_counter()

        def stop() -> bool:
            time.sleep(PAUSE)  # the server's other threads read messages
            return bool(self._waiting) or time.perf_counter() - began > ADAPT_SLICE

        adaptive.adapt(stop=stop)
        return adaptive.pending() > 0

    def stats(self) -> dict:
        """Counts per open document, and the settings (for tests and users)."""
        return {
            "settings": self.settings.to_dict(),
            "dynamic": self.dynamic_status(),
            "documents": {uri: d.stats() for uri, d in self.documents.items()},
        }

    def shutdown(self) -> None:
        """Stops the model's thread; jobs not started are dropped."""
        self._worker.shutdown(wait=False, cancel_futures=True)
        self._setup.shutdown(wait=False, cancel_futures=True)
