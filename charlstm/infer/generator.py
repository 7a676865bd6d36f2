"""Generating text: one sampling loop over any engine.

`Generator` is what every backend's generator is to its callers: `generate`
(seeds of any lengths, several samples, stop strings), `stream` and `complete`.
`TextGenerator` runs it on an engine (`charlstm.infer.engine`): the numpy
engine, Keras, or anything that wraps one. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from charlstm.infer.sampling import Sampling, StopMatcher
from charlstm.utils.checks import InputError, check_count


def sample_steps(engine, probs, length: int, sampling: Sampling, rng, restrict=None):
    """The sampling loop: yields `(ids, probs)` for `length` steps.

    `probs` (batch, vocab) is the engine's next-id distribution; each step
    chooses one id per stream with `sampling`, yields the ids (batch,) and the
    distribution they came from, then feeds them to the engine (not after the
    last). `restrict(probs)`, if given, returns the weights to choose from.
    The yielded `probs` may be a buffer that the next step overwrites.
    """
    for t in range(length):
        ids = sampling.choose(probs if restrict is None else restrict(probs), rng)
        yield ids, probs
        if t + 1 < length:
            probs = engine.step(ids)


class Generator:
    """Text in, text out: the interface every generator has, on any backend.

    Subclasses implement `_generate_rows` and `stream`; `generate` checks the
    arguments once and shapes the result the same way for all of them.
    """

    # What runs the model ("numpy", "keras"), for reports such as `/health`.
    engine_name = "unknown"

    def generate(
        self,
        seed: str | Sequence[str],
        length: int,
        sampling: Sampling | None = None,
        *,
        num_samples: int = 1,
        strict: bool = True,
        **changes,
    ):
        """Generates `length` characters (tokens in word mode) after a warm-up seed.

        Args:
            seed: str, or a list of str of any lengths, generated from together.
            length: int. Characters to generate (at most, with `stop`); in word
                mode, tokens.
            sampling: Sampling or None. Temperature, top-k, top-p, random seed
                and stop strings (defaults: `Sampling()`).
            num_samples: int. Independent samples per seed, generated together.
            strict: bool. If False, seed characters outside the vocabulary are
                dropped instead of raising an error that lists them.
            **changes: fields of `Sampling` to change, e.g. `temperature=0.5`.

        Returns:
            The seed followed by the generated text: a str; a list of
            `num_samples` str when `num_samples > 1`; for a list of seeds, a list
            with one such entry per seed.

        Example:
        >>> generator.generate("def ", 200, temperature=0.75, random_seed=0)
        >>> generator.generate(["def ", "class A"], 200, stop="\\n\\n")
        """
        sampling = Sampling.of(sampling, **changes)
        check_count("length", length, 0)
        check_count("num_samples", num_samples, 1)
        batched = not isinstance(seed, str)
        seeds = list(seed) if batched else [seed]
        if not seeds:
            raise InputError(f"`seed` must not be an empty list. Received: {seed!r}")
        for s in seeds:
            if not isinstance(s, str):
                raise InputError(f"`seed` must be a string. Received: seed={s!r}")
        rows = self._generate_rows(seeds, length, sampling, num_samples, strict)
        grouped = [
            rows[i : i + num_samples] if num_samples > 1 else rows[i]
            for i in range(0, len(rows), num_samples)
        ]
        return grouped if batched else grouped[0]

    def _generate_rows(self, seeds, length, sampling, num_samples, strict) -> list:
        """One text (seed + generated) per row, seed-major."""
        raise NotImplementedError

    def stream(
        self,
        seed: str,
        length: int,
        sampling: Sampling | None = None,
        *,
        strict: bool = True,
        **changes,
    ) -> Iterator[str]:
        """Yields the generated text piece by piece as it is produced (the seed is
        not yielded). Arguments as in `generate`, for one seed. Characters that
        might begin a stop string are held back until it is clear they do not;
        the stop string itself is never yielded.

        Example:
        >>> for piece in generator.stream("def ", 80, stop="\\n"):
        ...     print(piece, end="", flush=True)
        """
        sampling = Sampling.of(sampling, **changes)
        check_count("length", length, 0)
        if not isinstance(seed, str):
            raise InputError(f"`seed` must be a string. Received: seed={seed!r}")
        return self._stream(seed, length, sampling, strict)

    def _stream(self, seed, length, sampling, strict) -> Iterator[str]:
        """`stream`'s pieces; the seed is checked and encoded before it returns."""
        raise NotImplementedError

    def length_of(self, text: str) -> int:
        """How long `text` is in `generate`'s `length` units: characters (tokens
        in word mode)."""
        return len(text)

    def unknown(self, text: str) -> list[str]:
        """The characters of `text` this generator cannot encode (none by default)."""
        return []

    def outside(self, text: str) -> list[str]:
        """The characters of `text` outside the vocabulary: read as its unknown id,
        or dropped (`unknown`). None by default: byte-level tokens cover any text."""
        return []

    def complete(self, prefix: str, sampling: Sampling | None = None, **kwargs):
        """Completes the line that `prefix` ends in (see `Completer.complete`)."""
        raise InputError(
            "line completion (`complete`) runs on LSTM runs only; on "
            f"{type(self).__name__} use generate(prefix, length, stop='\\n')"
        )


class TextGenerator(Generator):
    """Generates text with a trained model on an engine.

    Args:
        engine: an engine (`charlstm.infer.engine.Engine`): `NumpyEngine`,
            `KerasEngine`, or one that wraps them.
        vocabulary: Vocabulary or TokenVocabulary. The run's vocabulary.

    Example:
    >>> generator = charlstm.load("runs/stdlib")
    >>> print(generator.generate("def ", 200, temperature=0.75))
    >>> for char in generator.stream("def ", 200, stop="\\n\\n"):
    ...     print(char, end="")
    """

    def __init__(self, engine, vocabulary):
        if vocabulary.size != engine.vocabulary_size:
            raise InputError(
                "`vocabulary` must have one id per model output. Received: "
                f"{vocabulary.size} characters for vocabulary_size="
                f"{engine.vocabulary_size}"
            )
        self.engine = engine
        self.vocabulary = vocabulary
        self._completer = None

    @property
    def config(self):
        """The model's `ModelConfig`."""
        return self.engine.config

    @property
    def weights(self) -> list:
        """The trained weights, in Keras's `model.get_weights()` order."""
        return self.engine.weights

    @property
    def engine_name(self) -> str:
        return self.engine.name

    @classmethod
    def from_model(cls, model, vocabulary, config, engine: str = "auto"):
        """A generator with a Keras model's weights.

        Args:
            model: keras.Model. A model of `config` (any batch size).
            vocabulary: the run's vocabulary.
            config: RunConfig or ModelConfig.
            engine: "auto", "numpy" or "keras" (`charlstm.infer.engine.make_engine`).
        """
        from charlstm.infer.engine import make_engine

        config = getattr(config, "model", config)
        return cls(make_engine(config, model.get_weights(), engine), vocabulary)

    def inference_model(self, batch_size: int = 1):
        """A new stateful Keras model with these weights (imports Keras).

        It takes ids `(batch_size, time)` for any `time` and returns probabilities
        `(batch_size, time, vocabulary_size)`; its state carries over between
        calls until `charlstm.model.build.reset_states(model)`.
        """
        from charlstm.model.build import build_model

        check_count("batch_size", batch_size, 1)
        model = build_model(self.config, batch_size, None, stateful=True)
        model.set_weights(self.weights)
        return model

    def length_of(self, text: str) -> int:
        if self.vocabulary.kind == "char":
            return len(text)
        return len(self.vocabulary.encode(text, strict=False))

    def unknown(self, text: str) -> list[str]:
        """The characters of `text` that cannot be encoded: outside a vocabulary
        without an unknown id (none otherwise)."""
        return self.vocabulary.unknown(text)

    def outside(self, text: str) -> list[str]:
        return self.vocabulary.outside(text)

    def encode(self, seed: str, strict: bool = True) -> np.ndarray:
        """The ids of a seed; an error if none of it is in the vocabulary."""
        ids = self.vocabulary.encode(seed, strict=strict)
        if len(ids) == 0:
            raise InputError(
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

    def _generate_rows(self, seeds, length, sampling, num_samples, strict) -> list:
        encoded = [self.encode(s, strict) for s in seeds]
        rows = len(seeds) * num_samples
        out = np.empty((rows, length), dtype=np.int64)  # (rows, length)
        produced = length
        matcher = StopMatcher(sampling.stop)
        texts = [""] * rows if matcher.stops else None
        done = np.zeros(rows, dtype=bool)
        if length:
            probs = self.warm_up(encoded, num_samples)
            steps = sample_steps(self.engine, probs, length, sampling, sampling.rng())
            for t, (ids, _) in enumerate(steps):
                out[:, t] = ids
                if texts is not None:
                    self._check_stops(texts, ids, done, matcher)
                    if done.all():
                        produced = t + 1
                        break
        results = []
        for row in range(rows):
            seed = row // num_samples
            prefix = seeds[seed]
            if self.vocabulary.unknown(prefix):  # dropped: shown without them
                prefix = self.vocabulary.decode(encoded[seed])
            generated = texts[row] if texts is not None else None
            if generated is None:
                generated = self.vocabulary.decode(out[row, :produced])
            results.append(prefix + generated)
        return results

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

    def _stream(self, seed, length, sampling, strict) -> Iterator[str]:
        """Characters one by one as they are produced (in word mode, tokens;
        characters where a stop string might begin)."""
        return self._pieces(self.encode(seed, strict), length, sampling)

    def _pieces(self, ids, length, sampling) -> Iterator[str]:
        if not length:
            return
        matcher = StopMatcher(sampling.stop)
        tokens = self.vocabulary.tokens
        probs = self.warm_up([ids])
        pending = ""
        steps = sample_steps(self.engine, probs, length, sampling, sampling.rng())
        for step_ids, _ in steps:
            new = len(pending)
            pending += tokens[step_ids[0]]
            if not matcher.stops:
                yield pending
                pending = ""
                continue
            cut = matcher.find(pending, new)
            if cut is not None:
                yield from pending[:cut]
                return
            keep = len(pending) - matcher.held_back(pending)
            yield from pending[:keep]
            pending = pending[keep:]
        yield from pending

    def complete(self, prefix: str, sampling: Sampling | None = None, **kwargs):
        """Completes the current line; see `charlstm.infer.completion.Completer`."""
        if self._completer is None:
            from charlstm.infer.completion import Completer

            self._completer = Completer(self.engine, self.vocabulary)
        return self._completer.complete(prefix, sampling, **kwargs)
