"""Line completion that learns the text it completes: dynamic evaluation
(Krause et al. 2018, "Dynamic Evaluation of Neural Sequence Models") as the
user types.

The text before the cursor is read in segments of `segment_length` ids. As in
`charlstm.eval.dynamic`, each segment is read (and scored) with the current
weights θ first, then θ takes one step of the same `UpdateRule` on that
segment's mean NLL; the state is carried from segment to segment and the
gradient truncated there. Segment k (from 0) reads ids[kn : (k+1)n] and
predicts ids[kn+1 : (k+1)n+1], as a completer reads the text (from a zero
state, with no newline before it), so a segment is learned once the id after
it is there:

    ids      t0 t1 t2 t3 | t4 t5 t6 t7 | t8 t9 t10      (n = 4)
    read by  segment 0   | segment 1   | segment 2 waits for t12
    weights  θ_0           θ_1           θ_2 (after two updates)
    state    0 --------> S4 --------> S8 --> the completion: θ_2 from S8

A completion at the cursor starts from the latest state that the adaptation
carried at or before it (S8: each segment read with the weights of its time,
as dynamic evaluation carries it) and reads the rest, and predicts, with the
current weights θ_2. States at least `spacing` ids apart are kept along the
text, so a completion earlier in the text, or after an edit, starts from the
one before it. With `learning_rate=0`, θ stays θ_0 and completions are the
static model's (up to rounding: the states are computed in float64).

- `Adapter`: one run's θ_0 and update rule, shared by every document.
- `Adaptation`: one document's θ, how far it has learned, its states.
- `AdaptiveCompleter`: a `Completer` on an `Adaptation`'s current weights.
- `StatisticsCache`: the `rms` rule's gradient statistics (on the text
  `charlstm.eval.dynamic.statistics_text` finds),
  measured once per process on the run's training text.

Neither TensorFlow nor Keras is imported here.
"""

from __future__ import annotations

import warnings

import numpy as np

from charlstm.eval.dynamic import (
    DynamicConfig,
    UpdateRule,
    gradient_statistics,
)
from charlstm.eval.lstm_gradients import (
    Layout,
    backward,
    forward,
    lstm_weights,
    zero_state,
)
from charlstm.infer.completion import Completer, UnknownCharactersWarning
from charlstm.infer.engine_weights import EngineWeights
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.infer.states import DocumentStates, common_prefix_length
from charlstm.utils.checks import InputError, check_count

SPACING = 128  # ids between the adaptation's states kept along a text


class StatisticsCache:
    """The `rms` rule's gradient statistics (`gradient_statistics`) of one run
    on its training text, measured once per segment length and sample size:
    they take seconds for a default-size model.

    Args:
        generator: TextGenerator. An LSTM or LN-LSTM run.
        text: str. Its training text (`statistics_text`).

    Example:
    >>> cache = StatisticsCache(generator, statistics_text("runs/stdlib")[0])
    >>> adapter = Adapter(generator, config, ms=cache.get(config))
    """

    def __init__(self, generator, text: str):
        self.generator = generator
        self.text = text
        self.entries = {}  # (segment_length, characters, batch size) -> MS

    @staticmethod
    def _key(config: DynamicConfig) -> tuple:
        return (
            config.segment_length,
            config.statistics_characters,
            config.statistics_batch_size,
        )

    def check(self, config: DynamicConfig) -> None:
        """Raises the InputError that `get` would for text too short, at once."""
        ids = self.generator.vocabulary.encode(
            self.text[: config.statistics_characters], strict=False
        )
        needed = config.statistics_batch_size * config.segment_length
        if len(ids) < needed:
            raise InputError(
                "the statistics text must hold at least `statistics_batch_size` x "
                f"`segment_length` = {needed:,} characters of the vocabulary. "
                f"Received: {len(ids):,} characters"
            )

    def get(self, config: DynamicConfig) -> list:
        """The statistics for `config`, measured on first use."""
        key = self._key(config)
        if key not in self.entries:
            self.entries[key] = gradient_statistics(self.generator, self.text, config)
        return self.entries[key]


class Adapter:
    """One run's trained weights θ_0 and dynamic evaluation's update rule: what
    the adaptations of every document share.

    Args:
        generator: TextGenerator. An LSTM or LN-LSTM run (other cells raise an
            InputError naming the cell).
        config: DynamicConfig or None (the defaults).
        ms: list of arrays or None. The gradient statistics, for the `rms`
            variant (`StatisticsCache`).

    Example:
    >>> adapter = Adapter(generator, DynamicConfig(variant="sgd", learning_rate=0.1))
    >>> completer = AdaptiveCompleter(adapter)
    """

    def __init__(self, generator, config: DynamicConfig | None = None, ms=None):
        self.config = config or DynamicConfig()
        self.start = lstm_weights(generator)  # θ_0, float64; checks the cell
        self.model_config = generator.config
        self.vocabulary = generator.vocabulary
        self.layout = Layout.of(self.model_config)  # of the weights list
        self.rule = UpdateRule(self.config, ms)


class Adaptation:
    """One text's dynamic evaluation: the weights θ (from θ_0), how far into the
    text they have learned (`position`), and the states carried.

    `learn(ids)` goes on from `position` if `ids` starts with the ids already
    read. After an edit before `position` (the ids differ at some `k`), the
    weights are kept (what they learned stays learned) and learning goes back to
    the latest state kept at or before `k`: the text from there on is read and
    learned again, as the new text it is.

    A segment is learned in three steps (read, gradient, update) that `learn`
    can stop between, so that a server answers requests meanwhile; the weights
    change only at the update, and a segment stopped midway goes on at the next
    call if its text is still there.

    Args:
        adapter: Adapter. The run's θ_0 and update rule.
        spacing: int. Ids between the states kept along the text, at least.
    """

    def __init__(self, adapter: Adapter, spacing: int = SPACING):
        check_count("spacing", spacing)
        self.adapter = adapter
        self.spacing = spacing
        self.params = [p.copy() for p in adapter.start]  # θ
        self.position = 0  # ids read (and learned up to) so far
        self.ids = np.empty(0, dtype=np.intp)  # those ids
        self.state = zero_state(self.params, adapter.layout, 1)
        self.saved = {}  # position -> state there: spaced, and the latest
        self.updates = 0  # weight updates made
        self.loss = 0.0  # summed NLL of the ids learned, each scored first
        self.version = 0  # bumped by every update
        self._engine = None  # (version, NumpyEngine)
        self._partial = None  # (window, steps) of a segment stopped midway

    def pending(self, ids) -> int:
        """Whole segments of `ids` not learned yet (after any edit in them)."""
        ids = np.asarray(ids)
        common = common_prefix_length(self.ids, ids)
        start = self.position
        if common < min(self.position, len(ids)):  # an edit: from before it
            start = max((n for n in self.saved if n <= common), default=0)
        return max(0, (len(ids) - 1 - start) // self.adapter.config.segment_length)

    def learn(self, ids, max_segments: int | None = None, stop=None) -> int:
        """Reads and learns the whole segments of `ids` after `position`.

        Args:
            ids: 1-D int array. The text's ids.
            max_segments: int or None. Segments learned at most.
            stop: callable or None. Asked before each step of a segment but
                the call's first; True stops (a completion is waiting).

        Returns:
            The number of segments learned (weight updates made).
        """
        ids = np.asarray(ids, dtype=np.intp)
        self._rewind(ids)
        n, count, first = self.adapter.config.segment_length, 0, True
        while max_segments is None or count < max_segments:
            window = ids[self.position : self.position + n + 1]
            if self._partial is not None and not np.array_equal(
                self._partial[0], window
            ):
                self._partial = None  # its text changed
            if self._partial is None:
                if len(window) <= n:
                    break  # no whole segment left
                self._partial = (window.copy(), self._segment(window.copy()))
            if not first and stop is not None and stop():
                break
            first = False
            if next(self._partial[1], True):  # True: updated
                self._partial = None
                count += 1
        if count:
            self.ids = ids[: self.position].copy()
            self.version += 1
        return count

    def _rewind(self, ids: np.ndarray) -> None:
        """After an edit before `position`: back to the latest state kept at or
        before it, with the weights as they are."""
        common = common_prefix_length(self.ids, ids)
        if common >= min(self.position, len(ids)):
            return  # the same text, or a prefix of it (the cursor went back)
        self.position = max((n for n in self.saved if n <= common), default=0)
        self._partial = None
        self.saved = {n: s for n, s in self.saved.items() if n <= self.position}
        self.state = self.saved.get(self.position) or zero_state(
            self.params, self.adapter.layout, 1
        )
        self.ids = self.ids[: self.position]

    def _segment(self, window: np.ndarray):
        """One segment, a step at a time (a generator: False after each step
        but the last): `window[:-1]` read and `window[1:]` predicted (scored)
        with θ; the gradient of their mean NLL; one update of θ."""
        adapter = self.adapter
        inputs, targets = window[None, :-1], window[None, 1:]  # (1, time)
        nll, state, cache = forward(
            self.params, adapter.layout, inputs, targets, self.state
        )
        yield False
        grads = backward(self.params, adapter.layout, cache)
        yield False
        for grad in grads:
            grad /= inputs.shape[1]  # of the mean NLL
        adapter.rule.apply(self.params, adapter.start, grads)
        self.loss += float(nll.sum())
        self.updates += 1
        self.position += inputs.shape[1]
        self.state = state
        self._keep(self.position, state)
        yield True

    def _keep(self, position: int, state) -> None:
        """Keeps the state at `position`; the one before goes unless it is at
        least `spacing` ids after the last one kept."""
        latest = max(self.saved, default=0)
        if latest:
            before = max((n for n in self.saved if n < latest), default=0)
            if latest - before < self.spacing:
                del self.saved[latest]
        self.saved[position] = state

    def engine(self) -> NumpyEngine:
        """A numpy engine with the current weights (one stream)."""
        if self._engine is None or self._engine[0] != self.version:
            weights = EngineWeights(self.adapter.model_config, self.params)
            self._engine = (self.version, NumpyEngine(weights))
        return self._engine[1]

    def checkpoints(self) -> dict:
        """The states kept, for `DocumentStates.restart`: position -> (the
        engine's state, next-id probabilities (1, vocab) from the current
        weights' output layer)."""
        if not self.saved:
            return {}
        dense, bias = self.params[-2], self.params[-1]
        positions = sorted(self.saved)
        top = np.concatenate([self.saved[n][-1][0] for n in positions])  # (k, units)
        logits = top @ dense + bias  # (k, vocab)
        logits -= logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=-1, keepdims=True)
        return {
            n: (
                [a.astype(np.float32) for pair in self.saved[n] for a in pair],
                probs[i : i + 1].astype(np.float32),  # (1, vocab)
            )
            for i, n in enumerate(positions)
        }


class AdaptiveCompleter:
    """Line completion (`Completer`) whose model learns the text it completes.

    The completer reads with the current weights from the adaptation's states
    (`DocumentStates` restarted after every update), so each completion comes
    from the current weights. `complete` learns the text first (the command
    line); an editor's server completes with `adapt_first=False` and calls
    `adapt` after answering, a few segments at a time.

    Args:
        adapter: Adapter. The run's θ_0 and update rule.
        spacing: int. Ids between the states kept (adaptation and completer).
        recent: int. Request ends and line starts kept (`DocumentStates`).
        wrap: callable or None. Applied to each new engine (the language
            server's `GivingWayEngine`).

    Example:
    >>> completer = AdaptiveCompleter(Adapter(generator, config, ms))
    >>> completer.complete(open("big.py").read() + "    return sel").text
    """

    def __init__(self, adapter: Adapter, spacing=SPACING, recent=8, wrap=None):
        self.adaptation = Adaptation(adapter, spacing)
        self.states = DocumentStates(spacing, recent)
        self.wrap = wrap or (lambda engine: engine)
        self.completer = Completer(
            self.wrap(self.adaptation.engine()), adapter.vocabulary, cache=self.states
        )

    @property
    def vocabulary(self):
        return self.completer.vocabulary

    def complete(
        self,
        prefix: str,
        sampling=None,
        *,
        context: str = "",
        strict: bool = False,
        adapt_first: bool = True,
        **kwargs,
    ):
        """`Completer.complete` with the current weights; with `adapt_first`,
        after learning every whole segment of `context + prefix`."""
        if adapt_first:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnknownCharactersWarning)  # below
                ids, _ = self.completer.read(prefix, context, strict)
            self.adapt(ids)
        return self.completer.complete(
            prefix, sampling, context=context, strict=strict, **kwargs
        )

    def pending(self) -> int:
        """Segments of the last completion's text not learned yet."""
        ids = self.completer.last_ids
        return 0 if ids is None else self.adaptation.pending(ids)

    def adapt(self, ids=None, max_segments: int | None = None, stop=None) -> int:
        """Learns `ids` (default: the last completion's); see `Adaptation.learn`.
        After an update, the completer reads with the new weights."""
        ids = self.completer.last_ids if ids is None else ids
        if ids is None:
            return 0
        learned = self.adaptation.learn(ids, max_segments, stop)
        if learned:
            self.completer.engine = self.wrap(self.adaptation.engine())
            self.states.restart(self.adaptation.ids, self.adaptation.checkpoints())
        return learned
