"""Choosing the next character from a distribution: temperature, top-k, top-p.

Pure numpy, so every engine shares it.
"""

from __future__ import annotations

import math

import numpy as np


def check_sampling(
    temperature: float, top_k: int | None = None, top_p: float | None = None
):
    """Raises a ValueError naming the first invalid sampling argument."""
    if (
        not isinstance(temperature, (int, float, np.number))
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise ValueError(
            "`temperature` must be a finite number >= 0 (0 is greedy). "
            f"Received: temperature={temperature!r}"
        )
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(
            f"`top_k` must be a positive integer or None. Received: top_k={top_k!r}"
        )
    if top_p is not None and not (0 < top_p <= 1):
        raise ValueError(
            f"`top_p` must be in (0, 1] or None. Received: top_p={top_p!r}"
        )


def reweight(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Applies a temperature to probabilities, in log space with the max subtracted.

    `p ** (1 / T)` renormalised, computed as `exp((log p - max log p) / T)`, which
    stays finite for any T > 0 (seed 003's `exp(log(p) / T)` underflows to 0/0).

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
    """Samples one id per row of `probs` (batch, vocab).

    Args:
        probs: array (batch, vocab). Next-character probabilities.
        temperature: float. 0 is greedy (argmax); higher is more varied.
        top_k: int or None. Sample only among the k most likely characters.
        top_p: float or None. Sample only among the most likely characters whose
            total probability reaches p (nucleus sampling).
        rng: numpy Generator. Source of randomness.

    Returns:
        Array (batch,) of int64 ids.

    Example:
    >>> sample(np.array([[0.1, 0.2, 0.7]]), temperature=0)
    array([2])
    """
    check_sampling(temperature, top_k, top_p)
    probs = np.asarray(probs, dtype=np.float64)  # (batch, vocab)
    if temperature == 0:
        return probs.argmax(axis=-1)
    if top_k is None and top_p is None:
        # `reweight` before normalising, which the draw below does: the same
        # weights (p / max p) ** (1 / T), in fewer passes (this runs every step).
        weights = np.divide(probs, np.maximum.reduce(probs, axis=-1, keepdims=True))
        np.power(weights, 1.0 / temperature, out=weights)
    else:
        weights = filter_top(reweight(probs, temperature), top_k, top_p)
    rng = rng if rng is not None else np.random.default_rng()
    # Inverse-CDF sampling, one uniform draw per row.
    cumulative = np.add.accumulate(weights, axis=-1, out=weights)  # (batch, vocab)
    draws = rng.random(probs.shape[0])[:, None] * cumulative[:, -1:]
    ids = np.add.reduce(cumulative <= draws, axis=-1)
    return np.minimum(ids, probs.shape[-1] - 1)
