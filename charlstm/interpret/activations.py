"""Recording what a model's recurrent layers hold at every character.

While the model reads a text (or writes from a seed), the hidden state `h` of
every layer, and the cell state `c` of an LSTM, is recorded after each step: the
state shown for a character is the state after consuming it. Frank's
"Generating Python with Character Level LSTMs" (section 6.4, figure 8) colours
text by one such activation; `charlstm.interpret.neurons` finds the units worth
colouring and `charlstm.interpret.view` draws them.

`RecordingEngine` wraps any engine and records its states after every step, so
reading and writing run through the generator's own sampling loop, on the numpy
engine (no TensorFlow) or on Keras.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from charlstm.config import STATE_NAMES
from charlstm.infer.engine_weights import EngineWeights
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError, check_count

STATE_KINDS = ("h", "c")  # hidden state (every cell), cell state (LSTM only)


@dataclass
class Activations:
    """The states of every layer after each step of reading or writing text.

    Args:
        tokens: list of str. What each step consumed: one character (a token in
            word mode). Their concatenation is `text`.
        hidden: float32 array (layers, steps, units). `h` after each step.
        cell: float32 array (layers, steps, units) or None. The LSTM's `c`.
        cell_type: str. "lstm", "ln_lstm", "gru" or "simple_rnn".
        seed_steps: int. The first `seed_steps` steps were read; the rest were
            generated.
        dropped: dict of str to int. Characters of the input outside a
            vocabulary without an unknown id, dropped before reading, with their
            counts.
        unknown: dict of str to int. Characters of the input outside the
            vocabulary, read as its unknown id, with their counts.
    """

    tokens: list
    hidden: np.ndarray
    cell: np.ndarray | None
    cell_type: str
    seed_steps: int
    dropped: dict = field(default_factory=dict)
    unknown: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text that was read or written (without the dropped characters)."""
        return "".join(self.tokens)

    @property
    def num_layers(self) -> int:
        return self.hidden.shape[0]

    @property
    def num_steps(self) -> int:
        return self.hidden.shape[1]

    @property
    def units(self) -> int:
        return self.hidden.shape[2]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The recorded state kinds: ("h", "c") for an LSTM, else ("h",)."""
        return STATE_KINDS if self.cell is not None else STATE_KINDS[:1]

    @property
    def dropped_count(self) -> int:
        """How many input characters were dropped."""
        return sum(self.dropped.values())

    @property
    def ends(self) -> np.ndarray:
        """The index in `text` of the last character of each step (steps,)."""
        return np.cumsum([len(t) for t in self.tokens]) - 1

    def states(self, kind: str = "h") -> np.ndarray:
        """The recorded `h` or `c` (layers, steps, units)."""
        if kind not in self.kinds:
            raise InputError(
                f"`kind` must be one of {self.kinds} for a {self.cell_type} model. "
                f"Received: kind={kind!r}"
            )
        return self.hidden if kind == "h" else self.cell

    def neuron(self, layer: int, unit: int, kind: str = "h") -> np.ndarray:
        """One unit's activation at every step (steps,)."""
        check_neuron(layer, unit, kind, self.num_layers, self.units, self.kinds)
        return self.states(kind)[layer, :, unit]


def check_neuron(layer, unit, kind, num_layers, units, kinds) -> None:
    """Raises a ValueError naming the valid range of a layer, unit or state kind."""
    for name, value, size in (("layer", layer, num_layers), ("unit", unit, units)):
        if (
            not isinstance(value, (int, np.integer))
            or isinstance(value, bool)
            or not 0 <= value < size
        ):
            raise InputError(
                f"`{name}` must be in 0..{size - 1} (the model has {num_layers} "
                f"layers of {units} units). Received: {name}={value!r}"
            )
    if kind not in kinds:
        raise InputError(f"`kind` must be one of {kinds}. Received: kind={kind!r}")


class RecordingEngine:
    """An engine that records every layer's states after each step of the one it
    wraps (one stream): `h` per layer, and `c` for an LSTM.

    It implements the engine protocol (`charlstm.infer.engine.Engine`), so the
    generator's sampling loop runs on it unchanged; `feed` steps one id at a
    time so that every step is recorded.

    Args:
        engine: an engine, or `EngineWeights` (run on a new `NumpyEngine`).
    """

    def __init__(self, engine):
        if isinstance(engine, EngineWeights):
            engine = NumpyEngine(engine)
        self.inner = engine
        self.name = engine.name
        self.config = engine.config
        self.weights = engine.weights
        self.vocabulary_size = engine.vocabulary_size
        self.per_layer = len(STATE_NAMES[self.config.cell])
        self._hidden, self._cell = [], []  # per step: (layers, units)

    @property
    def batch_size(self) -> int:
        return self.inner.batch_size

    def reset(self, batch_size: int | None = None) -> None:
        if batch_size not in (None, 1):
            raise InputError(
                f"`batch_size` must be 1 when recording. Received: {batch_size}"
            )
        self.inner.reset(batch_size)

    def step(self, ids) -> np.ndarray:
        probs = self.inner.step(ids)
        states = self.inner.get_state()  # per layer: h (1, units)[, c (1, units)]
        self._hidden.append([s[0] for s in states[:: self.per_layer]])
        if self.per_layer == 2:
            self._cell.append([s[0] for s in states[1::2]])
        return probs

    def feed(self, ids, lengths=None, return_sequences: bool = False) -> np.ndarray:
        ids = np.asarray(ids)  # (1, time)
        steps = [self.step(ids[:, t]).copy() for t in range(ids.shape[1])]
        return np.stack(steps, axis=1) if return_sequences else steps[-1]

    def get_state(self):
        return self.inner.get_state()

    def set_state(self, state) -> None:
        self.inner.set_state(state)

    def select(self, rows) -> None:
        self.inner.select(rows)

    def recorded(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(hidden, cell): float32 arrays (layers, steps, units); cell is None
        unless the model is an LSTM."""
        shape = (self.config.num_layers, 0, self.config.units)

        def stacked(steps):
            if not steps:
                return np.zeros(shape, np.float32)
            return np.asarray(steps, np.float32).transpose(1, 0, 2)  # (l, steps, u)

        cell = stacked(self._cell) if self.per_layer == 2 else None
        return stacked(self._hidden), cell


def _engine(generator):
    """The engine of a generator, or a numpy engine for `EngineWeights`."""
    return generator if isinstance(generator, EngineWeights) else generator.engine


def record_ids(generator, ids) -> tuple[np.ndarray, np.ndarray | None]:
    """Runs a model over ids from a zero state, recording its states.

    Args:
        generator: a generator from `charlstm.load`, or `EngineWeights`.
        ids: int array (steps,).

    Returns:
        (hidden, cell): float32 arrays (layers, steps, units); cell is None
        unless the model is an LSTM.

    Example:
    >>> hidden, cell = record_ids(generator, generator.vocabulary.encode("def f"))
    """
    ids = np.asarray(ids).ravel()
    recorder = RecordingEngine(_engine(generator))
    recorder.reset(1)
    if len(ids):
        recorder.feed(ids[None, :])
    return recorder.recorded()


def _encode(vocabulary, text: str, name: str) -> tuple[np.ndarray, dict, dict]:
    """Ids of `text`, and the counts of the characters outside the vocabulary:
    dropped (a vocabulary without an unknown id), or read as the unknown id."""
    if not isinstance(text, str):
        raise InputError(f"`{name}` must be a string. Received: {name}={text!r}")
    outside = set(vocabulary.outside(text))
    counts = Counter(c for c in text if c in outside) if outside else Counter()
    counts = dict(sorted(counts.items()))
    ids = vocabulary.encode(text, strict=False)
    if len(ids) == 0:
        detail = (
            f" (all {len(text)} characters are outside the vocabulary)" if text else ""
        )
        raise InputError(
            f"`{name}` must contain at least one character of the vocabulary"
            f"{detail}. Received: {name}={text[:40]!r}"
        )
    if vocabulary.unknown_id is None:
        return ids, counts, {}
    return ids, {}, counts


def record_activations(generator, text: str) -> Activations:
    """Reads `text` with a trained model and records its states at each step.

    Characters outside the vocabulary are read as its unknown id and counted in
    `unknown` (a vocabulary without one drops them, counted in `dropped`).

    Args:
        generator: a generator from `charlstm.load` (numpy or Keras engine).
        text: str. The text to read; the state starts at zero.

    Returns:
        Activations, one step per character (per token in word mode).

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    >>> acts = record_activations(generator, "def f(x):\\n    return x\\n")
    >>> acts.hidden.shape  # (layers, steps, units)
    (2, 23, 128)
    """
    vocabulary = generator.vocabulary
    ids, dropped, unknown = _encode(vocabulary, text, "text")
    hidden, cell = record_ids(generator, ids)
    tokens = [vocabulary.tokens[int(i)] for i in ids]
    cell_type = generator.config.cell
    return Activations(tokens, hidden, cell, cell_type, len(tokens), dropped, unknown)


def record_generation(
    generator, seed: str, length: int, sampling: Sampling | None = None, **changes
) -> Activations:
    """Writes `length` characters after `seed`, recording the states at each step.

    The seed is read first, then each sampled character is fed back and its
    state recorded, so every character, seed or generated, has the state after
    consuming it. The characters are sampled by the generator's own loop.

    Args:
        generator: a generator from `charlstm.load`.
        seed: str. Warm-up text; characters outside the vocabulary are read as
            its unknown id (dropped by a vocabulary without one).
        length: int. Characters (tokens in word mode) to generate.
        sampling: Sampling or None. Temperature, top-k, top-p, random seed.
        **changes: fields of `Sampling` to change, e.g. `temperature=0.5`.

    Returns:
        Activations with `seed_steps` read steps followed by `length` generated.

    Example:
    >>> acts = record_generation(generator, "def ", 200, random_seed=0)
    >>> acts.text[acts.seed_steps:]  # the generated part
    """
    from charlstm.infer.generator import TextGenerator, sample_steps

    sampling = Sampling.of(sampling, **changes)
    check_count("length", length, 0)
    vocabulary = generator.vocabulary
    ids, dropped, unknown = _encode(vocabulary, seed, "seed")
    recorder = RecordingEngine(generator.engine)
    probs = TextGenerator(recorder, vocabulary).warm_up([ids])
    generated = [
        int(step_ids[0])
        for step_ids, _ in sample_steps(
            recorder, probs, length, sampling, sampling.rng()
        )
    ]
    if generated:
        recorder.step(np.array(generated[-1:]))  # the last character's state
    tokens = [vocabulary.tokens[int(i)] for i in [*ids, *generated]]
    hidden, cell = recorder.recorded()
    return Activations(
        tokens, hidden, cell, generator.config.cell, len(ids), dropped, unknown
    )
