"""Recording what a model's recurrent layers hold at every character.

While the model reads a text (or writes from a seed), the hidden state `h` of
every layer, and the cell state `c` of an LSTM, is recorded after each step: the
state shown for a character is the state after consuming it. Seed 002 (section
6.4, figure 8) colours text by one such activation; `charlstm.neurons` finds the
units worth colouring and `charlstm.visualization` draws them.

The recording steps the numpy engine one id at a time through its public
`step` and `get_state`, so it needs neither TensorFlow nor Keras.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from charlstm.checks import check_count
from charlstm.engine import EngineWeights, NumpyEngine
from charlstm.sampling import check_sampling, sample

STATE_KINDS = ("h", "c")  # hidden state (every cell), cell state (LSTM only)


@dataclass
class Activations:
    """The states of every layer after each step of reading or writing text.

    Args:
        tokens: list of str. What each step consumed: one character (a token in
            word mode). Their concatenation is `text`.
        hidden: float32 array (layers, steps, units). `h` after each step.
        cell: float32 array (layers, steps, units) or None. The LSTM's `c`.
        cell_type: str. "lstm", "gru" or "simple_rnn".
        seed_steps: int. The first `seed_steps` steps were read; the rest were
            generated.
        dropped: dict of str to int. Characters of the input outside the
            vocabulary, dropped before reading, with their counts.
    """

    tokens: list
    hidden: np.ndarray
    cell: np.ndarray | None
    cell_type: str
    seed_steps: int
    dropped: dict = field(default_factory=dict)

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
            raise ValueError(
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
            raise ValueError(
                f"`{name}` must be in 0..{size - 1} (the model has {num_layers} "
                f"layers of {units} units). Received: {name}={value!r}"
            )
    if kind not in kinds:
        raise ValueError(f"`kind` must be one of {kinds}. Received: kind={kind!r}")


def _weights(generator) -> EngineWeights:
    """The engine weights of a generator (numpy or Keras) or EngineWeights."""
    if isinstance(generator, EngineWeights):
        return generator
    return EngineWeights(generator.config, generator.weights)


class _Recorder:
    """Steps a batch-1 engine and keeps every layer's states after each step."""

    def __init__(self, weights: EngineWeights, capacity: int):
        self.engine = NumpyEngine(weights, batch_size=1)
        self.config = weights.config
        self.per_layer = 2 if self.config.cell == "lstm" else 1
        shape = (self.config.num_layers, capacity, self.config.units)
        self.hidden = np.empty(shape, np.float32)  # (layers, steps, units)
        self.cell = np.empty(shape, np.float32) if self.per_layer == 2 else None
        self.steps = 0

    def step(self, token_id: int) -> np.ndarray:
        """Feeds one id; returns a copy of the next-id probabilities (vocab,)."""
        probs = self.engine.step(np.array([token_id]))[0].copy()
        states = self.engine.get_state()  # per layer: h (1, units)[, c (1, units)]
        for layer in range(self.config.num_layers):
            self.hidden[layer, self.steps] = states[layer * self.per_layer][0]
            if self.cell is not None:
                self.cell[layer, self.steps] = states[layer * self.per_layer + 1][0]
        self.steps += 1
        return probs


def record_ids(weights, ids) -> tuple[np.ndarray, np.ndarray | None]:
    """Runs a model over ids from a zero state, recording its states.

    Args:
        weights: EngineWeights, or a generator from `charlstm.load`.
        ids: int array (steps,).

    Returns:
        (hidden, cell): float32 arrays (layers, steps, units); cell is None
        unless the model is an LSTM.

    Example:
    >>> hidden, cell = record_ids(generator, generator.vocabulary.encode("def f"))
    """
    ids = np.asarray(ids).ravel()
    recorder = _Recorder(_weights(weights), len(ids))
    for token_id in ids:
        recorder.step(int(token_id))
    return recorder.hidden, recorder.cell


def _encode(vocabulary, text: str, name: str) -> tuple[np.ndarray, dict]:
    """Ids of `text` with unknown characters dropped, and the dropped counts."""
    if not isinstance(text, str):
        raise ValueError(f"`{name}` must be a string. Received: {name}={text!r}")
    unknown = set(vocabulary.unknown(text))
    counts = Counter(c for c in text if c in unknown) if unknown else Counter()
    ids = vocabulary.encode(text, strict=False)
    if len(ids) == 0:
        detail = (
            f" (all {len(text)} characters are outside the vocabulary)" if text else ""
        )
        raise ValueError(
            f"`{name}` must contain at least one character of the vocabulary"
            f"{detail}. Received: {name}={text[:40]!r}"
        )
    return ids, dict(sorted(counts.items()))


def record_activations(generator, text: str) -> Activations:
    """Reads `text` with a trained model and records its states at each step.

    Characters outside the vocabulary are dropped and counted in `dropped`.

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
    ids, dropped = _encode(vocabulary, text, "text")
    hidden, cell = record_ids(generator, ids)
    tokens = [vocabulary.tokens[int(i)] for i in ids]
    cell_type = generator.config.cell
    return Activations(tokens, hidden, cell, cell_type, len(tokens), dropped)


def record_generation(
    generator,
    seed: str,
    length: int,
    temperature: float = 0.75,
    top_k: int | None = None,
    top_p: float | None = None,
    random_seed: int | None = None,
) -> Activations:
    """Writes `length` characters after `seed`, recording the states at each step.

    The seed is read first, then each sampled character is fed back and its
    state recorded, so every character, seed or generated, has the state after
    consuming it.

    Args:
        generator: a generator from `charlstm.load`.
        seed: str. Warm-up text; characters outside the vocabulary are dropped.
        length: int. Characters (tokens in word mode) to generate.
        temperature: float. 0 is greedy.
        top_k: int or None. Sample among the k most likely characters.
        top_p: float or None. Nucleus sampling with this probability mass.
        random_seed: int or None. Makes the output reproducible.

    Returns:
        Activations with `seed_steps` read steps followed by `length` generated.

    Example:
    >>> acts = record_generation(generator, "def ", 200, random_seed=0)
    >>> acts.text[acts.seed_steps:]  # the generated part
    """
    check_sampling(temperature, top_k, top_p)
    check_count("length", length, 0)
    vocabulary = generator.vocabulary
    ids, dropped = _encode(vocabulary, seed, "seed")
    rng = np.random.default_rng(random_seed)
    recorder = _Recorder(_weights(generator), len(ids) + length)
    for token_id in ids:
        probs = recorder.step(int(token_id))
    tokens = [vocabulary.tokens[int(i)] for i in ids]
    for _ in range(length):
        token_id = int(sample(probs[None, :], temperature, top_k, top_p, rng)[0])
        tokens.append(vocabulary.tokens[token_id])
        probs = recorder.step(token_id)
    cell_type = generator.config.cell
    return Activations(
        tokens, recorder.hidden, recorder.cell, cell_type, len(ids), dropped
    )
