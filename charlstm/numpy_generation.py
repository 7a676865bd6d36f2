"""Generating text with the numpy engine: batched seeds, streaming, stop strings.

Imports neither TensorFlow nor Keras (until `inference_model` is asked for).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from charlstm.checks import check_count
from charlstm.engine import EngineWeights, NumpyEngine
from charlstm.sampling import check_sampling, sample
from charlstm.vocabulary import Vocabulary


def check_stop(stop) -> tuple[str, ...]:
    """The stop strings as a tuple; a ValueError for an empty one."""
    if stop is None:
        return ()
    stops = (stop,) if isinstance(stop, str) else tuple(stop)
    if not all(isinstance(s, str) and s for s in stops):
        raise ValueError(
            f"`stop` must be a non-empty string or a list of them. Received: {stop!r}"
        )
    return stops


class StopMatcher:
    """Finds the first stop string in text that grows one character at a time."""

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(stops)
        self.longest = max((len(s) for s in self.stops), default=0)

    def ends_with_stop(self, text: str) -> str | None:
        """The stop string that `text` ends with, if any."""
        for stop in self.stops:
            if text.endswith(stop):
                return stop
        return None

    def find(self, text: str, new: int) -> int | None:
        """Where the earliest stop string that ends after `text[:new]` (in the text
        just added) starts in `text`, or None."""
        found = [text.find(stop, max(0, new - len(stop) + 1)) for stop in self.stops]
        return min((i for i in found if i >= 0), default=None)

    def held_back(self, text: str) -> int:
        """How many trailing characters of `text` could start a stop string."""
        for n in range(min(self.longest - 1, len(text)), 0, -1):
            tail = text[-n:]
            if any(stop.startswith(tail) for stop in self.stops):
                return n
        return 0


def check_generate(seed, length, temperature, top_k, top_p, num_samples, stop):
    """Checks `generate`'s arguments, shared by every backend's generator.

    Returns the seeds as a list, whether a list was given, and the stop matcher.
    """
    check_sampling(temperature, top_k, top_p)
    check_count("length", length, 0)
    check_count("num_samples", num_samples, 1)
    matcher = StopMatcher(check_stop(stop))
    batched = not isinstance(seed, str)
    seeds = list(seed) if batched else [seed]
    if not seeds:
        raise ValueError(f"`seed` must not be an empty list. Received: {seed!r}")
    return seeds, batched, matcher


def group_samples(results: list, num_samples: int, batched: bool):
    """`generate`'s return value from one text per row (seed-major rows)."""
    grouped = [
        results[i : i + num_samples] if num_samples > 1 else results[i]
        for i in range(0, len(results), num_samples)
    ]
    return grouped if batched else grouped[0]


class NumpyTextGenerator:
    """Generates text with the numpy engine; `TextGenerator`'s API without Keras.

    Args:
        weights: EngineWeights. The trained model (`charlstm.load` reads them).
        vocabulary: Vocabulary. The run's vocabulary.

    Example:
    >>> generator = charlstm.load("runs/stdlib", engine="numpy")
    >>> print(generator.generate("def ", 200, temperature=0.75))
    >>> for char in generator.stream("def ", 200, stop="\\n\\n"):
    ...     print(char, end="")
    """

    def __init__(self, weights: EngineWeights, vocabulary: Vocabulary):
        self._setup(weights.config, weights.arrays, vocabulary, NumpyEngine(weights))

    def _setup(self, config, arrays, vocabulary, engine) -> None:
        if vocabulary.size != config.vocabulary_size:
            raise ValueError(
                "`vocabulary` must have one id per model output. Received: "
                f"{vocabulary.size} characters for vocabulary_size="
                f"{config.vocabulary_size}"
            )
        self.config = config
        self.vocabulary = vocabulary
        self.weights = arrays  # Keras's get_weights() order
        self.engine = engine
        self.engine_name = getattr(engine, "name", "numpy")
        self._completer = None

    @classmethod
    def on_keras(cls, keras_generator) -> NumpyTextGenerator:
        """This API on a Keras `TextGenerator`'s model, through `KerasEngine`: for
        models the numpy engine does not run. Imports Keras."""
        from charlstm.keras_engine import KerasEngine

        generator = cls.__new__(cls)
        config, weights = keras_generator.config, keras_generator.weights
        engine = KerasEngine(config, weights)
        generator._setup(config, weights, keras_generator.vocabulary, engine)
        return generator

    @classmethod
    def from_model(cls, model, vocabulary: Vocabulary, config) -> NumpyTextGenerator:
        """A generator with a Keras model's weights (`config`: its ModelConfig)."""
        config = getattr(config, "model", config)
        return cls(EngineWeights(config, model.get_weights()), vocabulary)

    def inference_model(self, batch_size: int = 1):
        """A stateful Keras model with these weights (imports Keras)."""
        from charlstm.model import build_model

        check_count("batch_size", batch_size, 1)
        model = build_model(self.config, batch_size, None, stateful=True)
        model.set_weights(self.weights)
        return model

    def _encode(self, seed: str, strict: bool) -> np.ndarray:
        if not isinstance(seed, str):
            raise ValueError(f"`seed` must be a string. Received: seed={seed!r}")
        ids = self.vocabulary.encode(seed, strict=strict)
        if len(ids) == 0:
            raise ValueError(
                "`seed` must contain at least one character of the vocabulary. "
                f"Received: seed={seed!r}"
            )
        return ids

    def warm_up(self, seeds: Sequence[np.ndarray], num_samples: int = 1) -> np.ndarray:
        """Resets the engine and feeds seeds of any lengths together.

        Seeds are padded on the left so that all end at the same step; each is
        then repeated `num_samples` times (seed-major).

        Returns:
            Next-id probabilities (len(seeds) * num_samples, vocab).
        """
        lengths = np.array([len(s) for s in seeds])
        longest = int(lengths.max())
        padded = np.zeros((len(seeds), longest), dtype=np.int64)  # (seeds, time)
        for row, ids in enumerate(seeds):
            padded[row, longest - len(ids) :] = ids
        self.engine.reset(len(seeds))
        ragged = bool((lengths != longest).any())
        probs = self.engine.feed(padded, lengths if ragged else None)  # (seeds, vocab)
        if num_samples > 1:
            self.engine.select(np.repeat(np.arange(len(seeds)), num_samples))
            probs = np.repeat(probs, num_samples, axis=0)  # (seeds * samples, vocab)
        return probs

    def _steps(self, probs, length, temperature, top_k, top_p, rng) -> Iterator:
        """Yields the sampled ids (batch,) of each step; steps the engine between."""
        for t in range(length):
            ids = sample(probs, temperature, top_k, top_p, rng)
            yield ids
            if t + 1 < length:
                probs = self.engine.step(ids)

    def generate(
        self,
        seed: str | Sequence[str],
        length: int,
        temperature: float = 0.75,
        top_k: int | None = None,
        top_p: float | None = None,
        num_samples: int = 1,
        random_seed: int | None = None,
        strict: bool = True,
        stop: str | Sequence[str] | None = None,
    ):
        """Generates `length` characters (tokens in word mode) after a warm-up `seed`.

        Args:
            seed: str, or a list of str of any lengths, warmed up together.
            length: int. Number of characters to generate (at most); in word mode
                (a `TokenVocabulary`), number of tokens.
            temperature: float. 0 is greedy; 0.75 is seed 002's choice.
            top_k: int or None. Sample among the k most likely characters.
            top_p: float or None. Nucleus sampling with this probability mass.
            num_samples: int. Independent samples per seed, generated together.
            random_seed: int or None. Makes the output reproducible.
            strict: bool. If False, seed characters outside the vocabulary are
                dropped instead of raising a ValueError that lists them.
            stop: str, list of str, or None. A sample ends before the first
                occurrence of any of these in its generated text.

        Returns:
            The seed followed by the generated characters: a str; a list of
            `num_samples` str when `num_samples > 1`; for a list of seeds, a list
            with one such entry per seed.
        """
        seeds, batched, matcher = check_generate(
            seed, length, temperature, top_k, top_p, num_samples, stop
        )
        encoded = [self._encode(s, strict) for s in seeds]
        rows = len(seeds) * num_samples
        out = np.empty((rows, length), dtype=np.int64)  # (rows, length)
        produced = length
        texts = [""] * rows if matcher.stops else None
        done = np.zeros(rows, dtype=bool)
        if length:
            rng = np.random.default_rng(random_seed)
            probs = self.warm_up(encoded, num_samples)
            steps = self._steps(probs, length, temperature, top_k, top_p, rng)
            for t, ids in enumerate(steps):
                out[:, t] = ids
                if texts is not None:
                    self._check_stops(texts, ids, done, matcher)
                    if done.all():
                        produced = t + 1
                        break
        results = []
        for row in range(rows):
            prefix = seeds[row // num_samples]
            if not strict:
                prefix = self.vocabulary.decode(encoded[row // num_samples])
            generated = texts[row] if texts is not None else None
            if generated is None:
                generated = self.vocabulary.decode(out[row, :produced])
            results.append(prefix + generated)
        return group_samples(results, num_samples, batched)

    def _check_stops(self, texts, ids, done, matcher: StopMatcher) -> None:
        """Appends each live row's new character (or token); ends rows that hit a
        stop."""
        tokens = self.vocabulary.tokens
        for row in np.flatnonzero(~done):
            text = texts[row] + tokens[ids[row]]
            cut = matcher.find(text, len(texts[row]))
            if cut is not None:
                text = text[:cut]
                done[row] = True
            texts[row] = text

    def stream(
        self,
        seed: str,
        length: int,
        temperature: float = 0.75,
        top_k: int | None = None,
        top_p: float | None = None,
        random_seed: int | None = None,
        strict: bool = True,
        stop: str | Sequence[str] | None = None,
    ) -> Iterator[str]:
        """Yields generated characters one by one as they are produced (in word
        mode, tokens; characters where a stop string might begin).

        Arguments as in `generate` for one seed (the seed is not yielded).
        Characters that might begin a stop string are held back until it is
        clear they do not; the stop string itself is never yielded.

        Example:
        >>> for char in generator.stream("def ", 80, stop="\\n"):
        ...     print(char, end="", flush=True)
        """
        check_sampling(temperature, top_k, top_p)
        check_count("length", length, 0)
        matcher = StopMatcher(check_stop(stop))
        ids = self._encode(seed, strict)
        if not length:
            return
        tokens = self.vocabulary.tokens
        rng = np.random.default_rng(random_seed)
        probs = self.warm_up([ids])
        pending = ""
        for step_ids in self._steps(probs, length, temperature, top_k, top_p, rng):
            new = len(pending)
            pending += tokens[step_ids[0]]
            if matcher.stops:
                cut = matcher.find(pending, new)
                if cut is not None:
                    yield from pending[:cut]
                    return
                keep = matcher.held_back(pending)
                ready, pending = (
                    pending[: len(pending) - keep],
                    pending[len(pending) - keep :],
                )
                yield from ready
            else:
                yield pending
                pending = ""
        yield from pending

    def complete(self, prefix: str, **kwargs):
        """Completes the current line; see `charlstm.completion.Completer.complete`."""
        if self._completer is None:
            from charlstm.completion import Completer

            self._completer = Completer(self.engine, self.vocabulary)
        return self._completer.complete(prefix, **kwargs)
