"""Line completion (the "smart code completion tool" of the article on
temperature): beam search or sampling to the end of the current line (or to a
blank line), with a cache of warmed states (`charlstm.infer.states`).

Runs on any engine (`charlstm.infer.engine.Engine`). Imports neither TensorFlow
nor Keras.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.endings import Hypothesis, beam_search, sample_endings
from charlstm.infer.sampling import Sampling
from charlstm.infer.states import DocumentStates, StateCache
from charlstm.utils.checks import InputError, check_count

__all__ = [
    "CharConfidence",
    "Completer",
    "Completion",
    "DocumentStates",
    "StateCache",
    "UnknownCharactersWarning",
]

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

    text: str  # the rest of the line, without the newline (multiline: the block)
    log_probability: float  # natural log-probability of `text` (+ the newline(s))
    finished: bool  # True if it ends at a newline (a blank line), False if cut
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


class Completer:
    """Completes the current line from the text before it.

    Keeps the warmed states of recent requests: a request whose text extends an
    earlier one (the same file, typed further) feeds only the new characters. The
    state at the start of the current line is kept too, so editing within the
    line does not re-read the file. An editor's server gives each open document
    a `DocumentStates` instead, which keeps states along the whole document.

    Args:
        engine: NumpyEngine. The model.
        vocabulary: Vocabulary. The run's vocabulary.
        cache_size: int. Warmed states kept (of the default cache).
        cache: `StateCache`, `DocumentStates` or None. Where warmed states are
            kept (default: a `StateCache(cache_size)`).

    Example:
    >>> completer = Completer(generator.engine, generator.vocabulary)
    >>> completer.complete("    return sel").text
    'f'
    """

    def __init__(self, engine, vocabulary: Vocabulary, cache_size: int = 8, cache=None):
        self.engine = engine
        self.vocabulary = vocabulary
        self.cache = StateCache(cache_size) if cache is None else cache
        self.end_id = vocabulary.encode("\n", strict=False)
        self.end_id = int(self.end_id[0]) if len(self.end_id) else -1
        self.fed = 0  # characters fed by the last request (for tests and stats)
        self.last_ids = None  # the ids the last request read (dynamic evaluation)
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
        probs, self.fed = self.cache.warm(self.engine, ids, self.end_id)
        self.last_ids = ids
        return probs

    def read(self, prefix: str, context: str = "", strict: bool = False):
        """What `complete` reads of `context + prefix`: the ids it feeds, and
        the tail it does not (word mode's last token, spelt out again by the
        completion; "" in character mode).

        Characters outside the vocabulary raise a ValueError if `strict`, else
        they are dropped with an `UnknownCharactersWarning` (a vocabulary with
        an unknown id reads them as it).

        Returns:
            (1-D int array, str).
        """
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
                stacklevel=3,
            )
        if unknown:
            if strict:
                self.vocabulary.encode(text)  # raises the ValueError listing them
            text = text.translate(dict.fromkeys(map(ord, unknown)))
        tail = text[len(text) - self.vocabulary.partial_suffix(text) :]
        return self.encode(text[: len(text) - len(tail)]), tail

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
        multiline: bool = False,
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
            multiline: bool. If True, go on past the end of the line and stop at
                the first blank line (two newlines in a row, not part of the
                text): a block rather than a line.
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
        ids, tail = self.read(prefix, context, strict)
        constraint = self._spelling(tail) if tail else None
        max_length += len(tail)  # tokens that re-read the tail come first
        if len(ids) == 0:
            raise InputError(
                "`prefix` (with `context`) must contain at least one character of "
                f"the vocabulary. Received: prefix={prefix!r}"
            )
        probs = self.warm(ids)
        ends = 2 if multiline else 1  # newlines in a row that end a completion
        if sampling.temperature == 0:
            found = beam_search(
                self.engine,
                probs,
                width,
                max_length,
                self.end_id,
                num_candidates,
                constraint,
                end_repeats=ends,
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
                end_repeats=ends,
            )
        completions = [
            self._completion(h, finished, tail, ends) for h, finished in found
        ]
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
        self, hypothesis: Hypothesis, finished: bool, tail: str = "", ends: int = 1
    ) -> Completion:
        ids = hypothesis.ids[:-ends] if finished else hypothesis.ids
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
