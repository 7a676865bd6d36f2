"""The endings of a line: beam search and sampling, one character (token) at a
time on an engine, each ending with the probability and entropy of its steps.

Used by line completion (`charlstm.infer.completion`); sampling runs the
generator's own loop (`sample_steps`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charlstm.infer.generator import sample_steps
from charlstm.infer.sampling import Sampling

LN2 = math.log(2)


@dataclass
class Hypothesis:
    ids: list  # completed ids so far
    log_probability: float
    probabilities: list  # model probability of each id
    entropies: list  # entropy (bits) of the distribution each id came from

    def extend(self, char_id: int, probability: float, entropy: float):
        return Hypothesis(
            self.ids + [char_id],
            self.log_probability + math.log(max(probability, 1e-45)),
            self.probabilities + [probability],
            self.entropies + [entropy],
        )


def entropy_bits(probs: np.ndarray, logp: np.ndarray | None = None) -> np.ndarray:
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


def ends_with(ids: list, end_id: int, end_repeats: int) -> bool:
    """Whether `end_id` after `ids` ends a hypothesis: the last `end_repeats - 1`
    ids are `end_id` too (a blank line is two newlines in a row)."""
    tail = end_repeats - 1
    return tail == 0 or (len(ids) >= tail and all(i == end_id for i in ids[-tail:]))


def beam_search(
    engine,
    probs,
    width,
    max_length,
    end_id,
    num_candidates,
    constraint=None,
    end_repeats=1,
):
    """The `num_candidates` most likely endings, by beam search.

    The engine holds one warmed stream whose next-id distribution is `probs`
    (1, vocab). A hypothesis ends when it emits `end_id` (its probability
    counts) for the `end_repeats`-th time in a row; the search stops once no
    live hypothesis can beat the `num_candidates`-th ending found, or at
    `max_length` characters, where the live hypotheses become unfinished
    candidates. `constraint(ids)` (optional) gives the ids allowed after a
    hypothesis's ids as a (vocab,) bool mask, or None for all of them.

    Returns:
        list of (Hypothesis, finished) pairs, most likely first.
    """
    live = [Hypothesis([], 0.0, [], [])]
    ended = []
    for t in range(max_length):
        probs = np.asarray(probs, dtype=np.float64)  # (live, vocab)
        with np.errstate(divide="ignore"):
            logp = np.log(probs)  # (live, vocab)
        entropies = entropy_bits(probs, logp)
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
            if char_id == end_id and ends_with(live[row].ids, end_id, end_repeats):
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
    engine,
    probs,
    count,
    max_length,
    end_id,
    sampling: Sampling,
    constraint=None,
    end_repeats=1,
):
    """`count` sampled endings of the line (duplicates merged), most likely first;
    `constraint` and `end_repeats` as in `beam_search`. Runs the generator's
    sampling loop."""
    engine.select(np.zeros(count, dtype=np.intp))
    probs = np.repeat(np.asarray(probs), count, axis=0)  # (count, vocab)
    hypotheses = [Hypothesis([], 0.0, [], []) for _ in range(count)]
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
        entropies = entropy_bits(model_probs)
        for row in np.flatnonzero(~done):
            before = hypotheses[row].ids
            hypotheses[row] = hypotheses[row].extend(
                int(ids[row]), float(model_probs[row, ids[row]]), float(entropies[row])
            )
            done[row] = ids[row] == end_id and ends_with(before, end_id, end_repeats)
        if done.all():
            break
    unique = {}
    for hypothesis, finished in zip(hypotheses, done, strict=True):
        unique.setdefault(tuple(hypothesis.ids), (hypothesis, bool(finished)))
    return sorted(unique.values(), key=lambda pair: -pair[0].log_probability)
