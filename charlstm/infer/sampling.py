"""Choosing the next id from a distribution: `Sampling` settings (temperature,
top-k, top-p, random seed, stop strings), checked once when they are made.

Pure numpy, so every engine and backend shares it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from charlstm.utils.checks import InputError


@dataclass(frozen=True)
class Sampling:
    """How a generator chooses each next character (token in word mode).

    Checked once here, so the sampling loop does not check them per character.

    Args:
        temperature: float. 0 is greedy (argmax); 1 samples the model's own
            distribution; lower is more conservative, higher more varied.
        top_k: int or None. Sample only among the k most likely ids.
        top_p: float or None. Sample only among the most likely ids whose total
            probability reaches p (nucleus sampling).
        random_seed: int or None. Makes the draws reproducible.
        stop: str or sequence of str. A sample ends before the first of these in
            its generated text (stored as a tuple).

    Example:
    >>> sampling = Sampling(temperature=0.5, top_p=0.9, stop="\\n\\n")
    >>> generator.generate("def ", 300, sampling)
    >>> generator.generate("def ", 300, sampling, random_seed=1)  # one field changed
    """

    temperature: float = 0.75
    top_k: int | None = None
    top_p: float | None = None
    random_seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self):
        t = self.temperature
        if (
            isinstance(t, bool)
            or not isinstance(t, (int, float, np.number))
            or not math.isfinite(t)
            or t < 0
        ):
            raise InputError(
                "`temperature` must be a finite number >= 0 (0 is greedy). "
                f"Received: temperature={t!r}"
            )
        k = self.top_k
        if k is not None and (
            isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1
        ):
            raise InputError(
                f"`top_k` must be a positive integer or None. Received: top_k={k!r}"
            )
        p = self.top_p
        if p is not None and (
            isinstance(p, bool)
            or not isinstance(p, (int, float, np.number))
            or not 0 < p <= 1
        ):
            raise InputError(
                f"`top_p` must be in (0, 1] or None. Received: top_p={p!r}"
            )
        seed = self.random_seed
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or seed < 0
        ):
            raise InputError(
                "`random_seed` must be an integer >= 0 or None. "
                f"Received: random_seed={seed!r}"
            )
        object.__setattr__(self, "stop", _stops(self.stop))

    @classmethod
    def of(cls, sampling: Sampling | None = None, **changes) -> Sampling:
        """`sampling` (or the defaults) with some fields changed.

        Raises an InputError naming any keyword that is not a field.
        """
        if sampling is not None and not isinstance(sampling, Sampling):
            raise InputError(
                "`sampling` must be a charlstm.Sampling or None. "
                f"Received: sampling={sampling!r}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise InputError(
                f"unknown sampling setting(s) {unknown}; the settings are "
                f"{sorted(names)}."
            )
        base = sampling if sampling is not None else cls()
        return dataclasses.replace(base, **changes) if changes else base

    def rng(self) -> np.random.Generator:
        """A new random generator seeded with `random_seed`."""
        return np.random.default_rng(self.random_seed)

    def choose(self, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One id per row of `probs` (batch, vocab): the sampling loop's step.

        Returns:
            Array (batch,) of int64 ids.
        """
        probs = np.asarray(probs, dtype=np.float64)  # (batch, vocab)
        if self.temperature == 0:
            return probs.argmax(axis=-1)
        if self.top_k is None and self.top_p is None:
            # `reweight` before normalising, which the draw below does: the same
            # weights (p / max p) ** (1 / T), in fewer passes (this runs every step).
            weights = np.divide(probs, np.maximum.reduce(probs, axis=-1, keepdims=True))
            np.power(weights, 1.0 / self.temperature, out=weights)
        else:
            weights = filter_top(
                reweight(probs, self.temperature), self.top_k, self.top_p
            )
        # Inverse-CDF sampling, one uniform draw per row.
        cumulative = np.add.accumulate(weights, axis=-1, out=weights)  # (batch, vocab)
        draws = rng.random(probs.shape[0])[:, None] * cumulative[:, -1:]
        ids = np.add.reduce(cumulative <= draws, axis=-1)
        return np.minimum(ids, probs.shape[-1] - 1)


def _stops(stop) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = (stop,) if isinstance(stop, str) else tuple(stop)
    if not all(isinstance(s, str) and s for s in stops):
        raise InputError(
            f"`stop` must be a non-empty string or a list of them. Received: {stop!r}"
        )
    return stops


class StopMatcher:
    """Finds the first stop string in text that grows one piece at a time."""

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(stops)
        self.longest = max((len(s) for s in self.stops), default=0)

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


def reweight(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Applies a temperature to probabilities, in log space with the max subtracted.

    `p ** (1 / T)` renormalised, computed as `exp((log p - max log p) / T)`, which
    stays finite for any T > 0 (the temperature article's `exp(log(p) / T)`
    underflows to 0/0).

    Args:
        probs: array (..., vocab). Probabilities (zeros allowed).
        temperature: float > 0.
    """
    with np.errstate(divide="ignore"):
        logp = np.log(probs.astype(np.float64))  # (..., vocab)
    logp = (logp - logp.max(axis=-1, keepdims=True)) / temperature
    weights = np.exp(logp)
    return weights / weights.sum(axis=-1, keepdims=True)


def filter_top(probs: np.ndarray, top_k: int | None, top_p: float | None) -> np.ndarray:
    """Zeroes all but the `top_k` most likely characters and the smallest set whose
    probability reaches `top_p`; renormalises. `probs` is (batch, vocab)."""
    if top_k is not None and top_k < probs.shape[-1]:
        kth = np.partition(probs, -top_k, axis=-1)[:, -top_k][:, None]  # (batch, 1)
        probs = np.where(probs >= kth, probs, 0.0)
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, axis=-1)  # (batch, vocab), most likely first
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        cumulative = np.cumsum(sorted_probs, axis=-1) / sorted_probs.sum(
            axis=-1, keepdims=True
        )
        # Keep a character if the mass before it is still below top_p. The relative
        # tolerance stops rounding (e.g. from `reweight`) from keeping one character
        # more when the mass reaches top_p exactly; the first is always kept.
        before = cumulative - sorted_probs / sorted_probs.sum(axis=-1, keepdims=True)
        keep_sorted = before < top_p * (1 - 1e-9)
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        probs = np.where(keep, probs, 0.0)
    return probs / probs.sum(axis=-1, keepdims=True)


def sample(
    probs: np.ndarray,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Samples one id per row of `probs` (batch, vocab); `Sampling.choose` with
    these settings checked first.

    Example:
    >>> sample(np.array([[0.1, 0.2, 0.7]]), temperature=0)
    array([2])
    """
    sampling = Sampling(temperature, top_k, top_p)
    return sampling.choose(probs, rng if rng is not None else np.random.default_rng())
