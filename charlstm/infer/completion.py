"""Line completion (the "smart code completion tool" of the article on
temperature): beam search or sampling to the end of the current line, with a
cache of warmed states.

Runs on any engine (`charlstm.infer.engine.Engine`). Imports neither TensorFlow
nor Keras.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.generator import sample_steps
from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError, check_count

LN2 = math.log(2)
# Completion's default: beam search.
GREEDY = Sampling(temperature=0.0)


class UnknownCharactersWarning(UserWarning):
    """Characters outside the vocabulary were dropped from a completion request."""


@dataclass
class CharConfidence:
    """How sure the model was of one completed character."""

    char: str  # the character (in word mode, the token)
    probability: float  # the model's probability of it (temperature 1)
    entropy: float  # entropy of the model's distribution at that step, in bits


@dataclass
class Completion:
    """One ending of the current line."""

    text: str  # the rest of the line, without the newline
    log_probability: float  # natural log-probability of `text` (+ the newline)
    finished: bool  # True if it ends at a newline, False if cut at max_length
    characters: list[CharConfidence] = field(default_factory=list, repr=False)

    def to_dict(self, confidence: bool = False) -> dict:
        """A JSON-ready dict; per-character confidence only if asked."""
        out = {
            "text": self.text,
            "log_probability": self.log_probability,
            "finished": self.finished,
        }
        if confidence:
            out["characters"] = [
                {"char": c.char, "probability": c.probability, "entropy": c.entropy}
                for c in self.characters
            ]
        return out


@dataclass
class _Hypothesis:
    ids: list  # completed ids so far
    log_probability: float
    probabilities: list  # model probability of each id
    entropies: list  # entropy (bits) of the distribution each id came from

    def extend(self, char_id: int, probability: float, entropy: float):
        return _Hypothesis(
            self.ids + [char_id],
            self.log_probability + math.log(max(probability, 1e-45)),
            self.probabilities + [probability],
            self.entropies + [entropy],
        )


def _entropy_bits(probs: np.ndarray, logp: np.ndarray | None = None) -> np.ndarray:
    """Entropy of each row of (batch, vocab) probabilities, in bits; `logp` is
    their log if already computed."""
    p = probs.astype(np.float64, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) if logp is None else logp), 0.0)
    return -terms.sum(axis=-1) / LN2


def _restrict(scores, live, constraint) -> None:
    """Sets to -inf the scores (live, vocab) of ids `constraint` rules out."""
    if constraint is not None:
        for row, hypothesis in enumerate(live):
            allowed = constraint(hypothesis.ids)  # (vocab,) bool, or None: any
            if allowed is not None:
                scores[row, ~allowed] = -np.inf


def beam_search(
    engine, probs, width, max_length, end_id, num_candidates, constraint=None
):
    """The `num_candidates` most likely endings, by beam search.

    The engine holds one warmed stream whose next-id distribution is `probs`
    (1, vocab). A hypothesis ends when it emits `end_id` (its probability
    counts); the search stops once no live hypothesis can beat the
    `num_candidates`-th ending found, or at `max_length` characters, where the
    live hypotheses become unfinished candidates. `constraint(ids)` (optional)
    gives the ids allowed after a hypothesis's ids as a (vocab,) bool mask, or
    None for all of them.

    Returns:
        list of (_Hypothesis, finished) pairs, most likely first.
    """
    live = [_Hypothesis([], 0.0, [], [])]
    ended = []
    for t in range(max_length):
        probs = np.asarray(probs, dtype=np.float64)  # (live, vocab)
        with np.errstate(divide="ignore"):
            logp = np.log(probs)  # (live, vocab)
        entropies = _entropy_bits(probs, logp)
        scores = np.array([h.log_probability for h in live])[:, None] + logp
        _restrict(scores, live, constraint)
        flat = scores.ravel()
        k = min(flat.size, 2 * width + 1)
        top = np.argpartition(-flat, k - 1)[:k]
        top = top[np.argsort(-flat[top], kind="stable")]
        vocab = probs.shape[1]
        survivors, rows = [], []
        for index in top:
            row, char_id = divmod(int(index), vocab)
            if not np.isfinite(flat[index]):
                break
            hypothesis = live[row].extend(
                char_id, float(probs[row, char_id]), float(entropies[row])
            )
            if char_id == end_id:
                ended.append(hypothesis)
            else:
                survivors.append(hypothesis)
                rows.append(row)
                if len(survivors) == width:
                    break
        ended.sort(key=lambda h: -h.log_probability)
        ended = ended[:num_candidates]
        if not survivors:
            live = []
            break
        enough = len(ended) >= num_candidates
        if enough and survivors[0].log_probability <= ended[-1].log_probability:
            live = []
            break
        live = survivors
        if t + 1 < max_length:
            engine.select(rows)
            probs = engine.step(np.array([h.ids[-1] for h in live]))
    candidates = [(h, True) for h in ended] + [(h, False) for h in live]
    candidates.sort(key=lambda pair: -pair[0].log_probability)
    return candidates[:num_candidates]


def sample_endings(
    engine, probs, count, max_length, end_id, sampling: Sampling, constraint=None
):
    """`count` sampled endings of the line (duplicates merged), most likely first;
    `constraint` as in `beam_search`. Runs the generator's sampling loop."""
    engine.select(np.zeros(count, dtype=np.intp))
    probs = np.repeat(np.asarray(probs), count, axis=0)  # (count, vocab)
    hypotheses = [_Hypothesis([], 0.0, [], []) for _ in range(count)]
    done = np.zeros(count, dtype=bool)

    def restrict(model_probs):
        if constraint is None:
            return model_probs
        weights = np.asarray(model_probs, dtype=np.float64).copy()  # (count, vocab)
        _restrict(weights, hypotheses, constraint)
        return np.maximum(weights, 0.0)

    steps = sample_steps(engine, probs, max_length, sampling, sampling.rng(), restrict)
    for ids, model_probs in steps:
        model_probs = np.asarray(model_probs, dtype=np.float64)  # (count, vocab)
        entropies = _entropy_bits(model_probs)
        for row in np.flatnonzero(~done):
            hypotheses[row] = hypotheses[row].extend(
                int(ids[row]), float(model_probs[row, ids[row]]), float(entropies[row])
            )
            done[row] = ids[row] == end_id
        if done.all():
            break
    unique = {}
    for hypothesis, finished in zip(hypotheses, done, strict=True):
        unique.setdefault(tuple(hypothesis.ids), (hypothesis, bool(finished)))
    return sorted(unique.values(), key=lambda pair: -pair[0].log_probability)


class StateCache:
    """Warmed states keyed by the ids that produced them (least recently used out).

    Args:
        size: int. Number of states kept.
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


class Completer:
    """Completes the current line from the text before it.

    Keeps the warmed states of recent requests: a request whose text extends an
    earlier one (the same file, typed further) feeds only the new characters. The
    state at the start of the current line is kept too, so editing within the
    line does not re-read the file.

    Args:
        engine: NumpyEngine. The model.
        vocabulary: Vocabulary. The run's vocabulary.
        cache_size: int. Warmed states kept.

    Example:
    >>> completer = Completer(generator.engine, generator.vocabulary)
    >>> completer.complete("    return sel").text
    'f'
    """

    def __init__(self, engine, vocabulary: Vocabulary, cache_size: int = 8):
        self.engine = engine
        self.vocabulary = vocabulary
        self.cache = StateCache(cache_size)
        self.end_id = vocabulary.encode("\n", strict=False)
        self.end_id = int(self.end_id[0]) if len(self.end_id) else -1
        self.fed = 0  # characters fed by the last request (for tests and stats)
        self._lines = ("", vocabulary.encode("", strict=False))  # text to a newline

    def encode(self, text: str) -> np.ndarray:
        """The ids of `text` (all in the vocabulary). The ids of the last text
        encoded, up to its last newline, are reused when `text` starts with it:
        text cut after a newline encodes the same on both sides in either mode,
        and word mode's tokenizer is what a long file's requests would repeat."""
        known, known_ids = self._lines
        if not text.startswith(known):
            known, known_ids = "", known_ids[:0]
        cut = text.rfind("\n") + 1
        if cut > len(known):
            more = self.vocabulary.encode(text[len(known) : cut])
            known, known_ids = text[:cut], np.concatenate([known_ids, more])
            self._lines = (known, known_ids)
        return np.concatenate([known_ids, self.vocabulary.encode(text[len(known) :])])

    def warm(self, ids: np.ndarray) -> np.ndarray:
        """Sets the engine to one stream that has read `ids`; returns its next-id
        probabilities (1, vocab)."""
        hit = self.cache.longest_prefix(ids)
        done = 0
        if hit is None:
            self.engine.reset(1)
        else:
            known, state, probs = hit
            self.engine.set_state(state)
            done = len(known)
        line_start = (
            int(np.flatnonzero(ids == self.end_id)[-1]) + 1
            if (self.end_id >= 0 and (ids == self.end_id).any())
            else 0
        )
        # Typing on along the line hits the previous request's state, so the
        # state at the line's start would age out of the cache; a request that
        # then edits back to the line's start (or before the last request's
        # text) would re-read the whole file. Keep it recent.
        self.cache.refresh(ids[:line_start])
        self.fed = len(ids) - done
        for end in sorted({line_start, len(ids)}):
            if end <= done:
                continue
            probs = self.engine.feed(ids[None, done:end])  # (1, vocab)
            done = end
            self.cache.store(ids[:end], self.engine.get_state(), probs)
        return probs

    def complete(
        self,
        prefix: str,
        sampling: Sampling | None = None,
        *,
        max_length: int = 80,
        num_candidates: int = 1,
        context: str = "",
        beam_width: int | None = None,
        strict: bool = False,
        **changes,
    ):
        """Completes the line that `prefix` ends in; stops at the newline.

        Args:
            prefix: str. The text typed so far; the current line is what follows
                its last newline (or all of it).
            sampling: Sampling or None. Temperature 0 (the default here) is beam
                search (greedy with one candidate); above 0 samples
                `num_candidates` endings with these settings.
            max_length: int. At most this many characters are added (tokens in
                word mode, after the re-read last token; see below).
            num_candidates: int. Endings returned, most likely first.
            context: str. Text before `prefix` (the file so far), read first.
            beam_width: int or None. Hypotheses kept per step (default
                `num_candidates`).
            strict: bool. If True, characters outside the vocabulary raise a
                ValueError; if False they are dropped with an
                `UnknownCharactersWarning`.
            **changes: fields of `Sampling` to change, e.g. `temperature=0.5`.

        Returns:
            A `Completion`, or a list of them when `num_candidates > 1`.

        In word mode (a `TokenVocabulary`), the last token of `prefix` is not
        fed: the completion's first tokens must spell it out again ("token
        healing"), so `"return sel"` can go on as the token `"self"`. The
        log-probability then includes that token's probability.
        """
        sampling = Sampling.of(sampling or GREEDY, **changes)
        for name, value in (
            ("max_length", max_length),
            ("num_candidates", num_candidates),
        ):
            check_count(name, value)
        width = num_candidates if beam_width is None else beam_width
        if not isinstance(width, (int, np.integer)) or width < num_candidates:
            raise InputError(
                "`beam_width` must be an integer >= num_candidates. "
                f"Received: beam_width={beam_width!r}, num_candidates={num_candidates}"
            )
        if not isinstance(prefix, str) or not isinstance(context, str):
            raise InputError(
                f"`prefix` and `context` must be strings. Received: prefix={prefix!r}"
            )
        text = context + prefix
        unknown = self.vocabulary.unknown(text)
        if unknown and not strict:
            warnings.warn(
                f"dropped {len(unknown)} character(s) not in the vocabulary: "
                + ", ".join(repr(c) for c in unknown[:20]),
                UnknownCharactersWarning,
                stacklevel=2,
            )
        if unknown:
            if strict:
                self.vocabulary.encode(text)  # raises the ValueError listing them
            text = text.translate(dict.fromkeys(map(ord, unknown)))
        tail = text[len(text) - self.vocabulary.partial_suffix(text) :]
        ids = self.encode(text[: len(text) - len(tail)])
        constraint = self._spelling(tail) if tail else None
        max_length += len(tail)  # tokens that re-read the tail come first
        if len(ids) == 0:
            raise InputError(
                "`prefix` (with `context`) must contain at least one character of "
                f"the vocabulary. Received: prefix={prefix!r}"
            )
        probs = self.warm(ids)
        if sampling.temperature == 0:
            found = beam_search(
                self.engine,
                probs,
                width,
                max_length,
                self.end_id,
                num_candidates,
                constraint,
            )
        else:
            found = sample_endings(
                self.engine,
                probs,
                num_candidates,
                max_length,
                self.end_id,
                sampling,
                constraint,
            )
        completions = [self._completion(h, finished, tail) for h, finished in found]
        return completions if num_candidates > 1 else completions[0]

    def _spelling(self, tail: str):
        """The constraint of a completion that must begin by spelling out `tail`:
        allowed ids (a mask) until the ids so far cover it, then None."""
        vocabulary, masks = self.vocabulary, {}

        def constraint(ids):
            rest = tail[vocabulary.character_count(ids) :]
            if not rest:
                return None
            if rest not in masks:
                masks[rest] = vocabulary.allowed(rest)
            return masks[rest]

        return constraint

    def _completion(
        self, hypothesis: _Hypothesis, finished: bool, tail: str = ""
    ) -> Completion:
        ids = hypothesis.ids[:-1] if finished else hypothesis.ids
        tokens = self.vocabulary.tokens
        characters, skip = [], len(tail)  # the tail is the prefix's, not new text
        for i, p, e in zip(
            ids, hypothesis.probabilities, hypothesis.entropies, strict=False
        ):
            if skip >= len(tokens[i]):
                skip -= len(tokens[i])
                continue
            characters.append(CharConfidence(tokens[i][skip:], p, e))
            skip = 0
        return Completion(
            text=self.vocabulary.decode(ids)[len(tail) :],
            log_probability=hypothesis.log_probability,
            finished=finished,
            characters=characters,
        )
