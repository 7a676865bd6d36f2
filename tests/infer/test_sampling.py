"""Tests for charlstm.infer.sampling: temperature, top-k, top-p, reproducibility."""

import warnings

import numpy as np
import pytest

from charlstm.infer.sampling import Sampling, filter_top, reweight, sample
from charlstm.utils.checks import InputError


def softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def one_hot_probs(targets, vocabulary_size=7):
    """Probabilities from logits one_hot(target) * 1e9: one entry is ~1."""
    logits = np.eye(vocabulary_size)[targets] * 1e9  # (batch, vocab)
    return softmax(logits)


@pytest.fixture
def strict_numerics():
    """Turns NaN/overflow/divide and every warning into errors inside the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            yield


# Greedy and near-greedy --------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0, 1e-6, 0.1, 0.5, 1.0, 2.0, 10.0])
def test_one_hot_logits_give_argmax_at_any_temperature(temperature, strict_numerics):
    targets = np.array([0, 3, 6, 2, 2, 5])
    probs = one_hot_probs(targets)
    rng = np.random.default_rng(0)
    for _ in range(20):
        ids = sample(probs, temperature=temperature, rng=rng)
        np.testing.assert_array_equal(ids, targets)


def test_temperature_zero_is_argmax():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.3, 0.4, 0.3]])
    np.testing.assert_array_equal(sample(probs, temperature=0), [2, 0, 1])
    # No randomness is consumed: the rng is left as it was.
    rng = np.random.default_rng(1)
    sample(probs, temperature=0, rng=rng)
    assert rng.random() == np.random.default_rng(1).random()


def test_tiny_temperature_is_argmax_without_nan_even_with_zeros(strict_numerics):
    probs = np.array(
        [
            [0.0, 0.3, 0.0, 0.6, 0.1],
            [0.25, 0.0, 0.0, 0.0, 0.75],
            [0.0, 0.0, 1.0, 0.0, 0.0],
        ]
    )
    weights = reweight(probs, 1e-6)
    assert np.all(np.isfinite(weights))
    np.testing.assert_array_equal(weights, np.eye(5)[[3, 4, 2]])
    rng = np.random.default_rng(0)
    for _ in range(50):
        np.testing.assert_array_equal(sample(probs, 1e-6, rng=rng), [3, 4, 2])


def test_tiny_temperature_with_tiny_probabilities(strict_numerics):
    # exp(log(p) / T) underflows to 0 / 0 here; the max-subtracted form must not.
    probs = np.array([[1e-300, 3e-300, 2e-300]])
    np.testing.assert_array_equal(reweight(probs, 1e-6), [[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(sample(probs, 1e-6), [1])


# Temperature -----------------------------------------------------------------------


def test_reweight_golden_values():
    probs = np.array([[0.1, 0.2, 0.7]])
    # T = 0.5: p ** 2 = [0.01, 0.04, 0.49], total 0.54.
    np.testing.assert_allclose(
        reweight(probs, 0.5), [[0.01 / 0.54, 0.04 / 0.54, 0.49 / 0.54]], rtol=1e-12
    )
    # T = 2: sqrt(p), renormalised.
    roots = np.sqrt([0.1, 0.2, 0.7])
    np.testing.assert_allclose(reweight(probs, 2.0), [roots / roots.sum()], rtol=1e-12)
    np.testing.assert_allclose(
        reweight(probs, 2.0), [[0.19762983, 0.27949079, 0.52287938]], rtol=1e-7
    )
    # T = 1 leaves probabilities as they are.
    np.testing.assert_allclose(reweight(probs, 1.0), probs, rtol=1e-12)


def test_reweight_renormalises_unnormalised_rows():
    probs = np.array([[1.0, 2.0, 7.0], [2.0, 2.0, 4.0]])
    np.testing.assert_allclose(
        reweight(probs, 1.0), [[0.1, 0.2, 0.7], [0.25, 0.25, 0.5]]
    )


@pytest.mark.parametrize(
    "temperature",
    [-0.1, -1, float("nan"), np.nan, np.float32("nan"), float("inf"), "1.0", None],
)
def test_invalid_temperature_raises(temperature):
    with pytest.raises(ValueError, match="temperature"):
        sample(np.array([[0.5, 0.5]]), temperature=temperature)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": -2}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": -0.2}, "top_p"),
    ],
)
def test_invalid_top_k_and_top_p_raise(kwargs, name):
    with pytest.raises(InputError, match=name):
        Sampling(1.0, **kwargs)
    with pytest.raises(ValueError, match=name):
        sample(np.array([[0.5, 0.5]]), **kwargs)


# top-k and top-p ---------------------------------------------------------------------


def test_top_k_1_is_greedy():
    probs = np.tile([0.3, 0.25, 0.45], (5000, 1))
    ids = sample(probs, temperature=1.5, top_k=1, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(ids, 2)


def test_top_k_2_never_picks_the_third():
    probs = np.tile([0.4, 0.25, 0.35], (10000, 1))
    ids = sample(probs, temperature=1.0, top_k=2, rng=np.random.default_rng(0))
    counts = np.bincount(ids, minlength=3)
    assert counts[1] == 0
    # The two kept are sampled in proportion 0.4 : 0.35.
    assert abs(counts[0] / 10000 - 0.4 / 0.75) < 0.02
    assert abs(counts[2] / 10000 - 0.35 / 0.75) < 0.02


def test_top_k_larger_than_vocabulary_is_no_filter():
    probs = np.array([[0.1, 0.2, 0.7]])
    np.testing.assert_allclose(filter_top(probs, 10, None), probs)


def test_filter_top_k_golden():
    probs = np.array([[0.1, 0.4, 0.2, 0.3], [0.7, 0.1, 0.15, 0.05]])
    np.testing.assert_allclose(
        filter_top(probs, 2, None),
        [[0, 0.4 / 0.7, 0, 0.3 / 0.7], [0.7 / 0.85, 0, 0.15 / 0.85, 0]],
    )


PROBS = np.array([[0.5, 0.3, 0.15, 0.05]])


@pytest.mark.parametrize(
    "top_p, kept",
    [
        (0.3, 1),
        (0.5, 1),
        (0.51, 2),
        (0.8, 2),
        (0.81, 3),
        (0.95, 3),
        (0.96, 4),
        (1.0, 4),
    ],
)
def test_top_p_keeps_the_smallest_set_reaching_p(top_p, kept):
    expected = np.zeros(4)
    expected[:kept] = PROBS[0, :kept] / PROBS[0, :kept].sum()
    np.testing.assert_allclose(filter_top(PROBS, None, top_p), [expected])
    # The same through sample(), where the temperature is applied first.
    ids = sample(np.tile(PROBS, (5000, 1)), top_p=top_p, rng=np.random.default_rng(0))
    assert set(np.unique(ids)) == set(range(kept))


def test_tiny_top_p_keeps_only_the_most_likely(strict_numerics):
    np.testing.assert_array_equal(filter_top(PROBS, None, 1e-12), [[1.0, 0, 0, 0]])
    ids = sample(np.tile(PROBS, (100, 1)), top_p=1e-12, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(ids, 0)


def test_top_p_in_any_order():
    probs = np.array([[0.05, 0.3, 0.15, 0.5]])
    np.testing.assert_allclose(filter_top(probs, None, 0.8), [[0, 0.375, 0, 0.625]])


def test_top_k_and_top_p_together():
    # top_k=3 keeps [0.5, 0.3, 0.15]; renormalised [0.526, 0.316, 0.158]; top_p=0.6
    # then needs the first two (0.526 < 0.6).
    np.testing.assert_allclose(filter_top(PROBS, 3, 0.6), [[0.625, 0.375, 0, 0]])


# Randomness ----------------------------------------------------------------------


def test_seeded_rng_is_reproducible():
    probs = softmax(np.random.default_rng(3).normal(size=(200, 30)))
    a = sample(probs, 0.8, top_k=10, rng=np.random.default_rng(42))
    b = sample(probs, 0.8, top_k=10, rng=np.random.default_rng(42))
    c = sample(probs, 0.8, top_k=10, rng=np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (200,)
    assert np.issubdtype(a.dtype, np.integer)
    assert a.min() >= 0 and a.max() < 30


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_empirical_frequencies_match_probabilities(temperature):
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    draws = 20000
    ids = sample(
        np.tile(probs, (draws, 1)),
        temperature=temperature,
        rng=np.random.default_rng(0),
    )
    frequencies = np.bincount(ids, minlength=4) / draws
    expected = probs ** (1 / temperature)
    expected /= expected.sum()
    # The standard error is at most 0.0036; allow about four of them.
    np.testing.assert_allclose(frequencies, expected, atol=0.015)


def test_zero_probability_characters_are_never_sampled():
    probs = np.tile([0.0, 0.5, 0.0, 0.5, 0.0], (20000, 1))
    ids = sample(probs, temperature=1.0, rng=np.random.default_rng(0))
    assert set(np.unique(ids)) == {1, 3}


# Sampling: settings checked once ---------------------------------------------------


def test_sampling_is_frozen_and_checked_when_made():
    sampling = Sampling(temperature=0.5, top_k=3, stop="\n\n")
    assert sampling.stop == ("\n\n",)  # one string becomes a tuple
    with pytest.raises(AttributeError):
        sampling.temperature = 2.0  # frozen
    for bad in (
        {"random_seed": 1.5},
        {"random_seed": True},
        {"random_seed": -1},
        {"stop": ""},
    ):
        with pytest.raises(InputError, match=next(iter(bad))):
            Sampling(**bad)


def test_sampling_of_changes_fields_and_names_unknown_ones():
    base = Sampling(temperature=0.2, top_p=0.9)
    assert Sampling.of(base) is base
    changed = Sampling.of(base, random_seed=3)
    assert (changed.temperature, changed.top_p, changed.random_seed) == (0.2, 0.9, 3)
    assert Sampling.of(None, temperature=0) == Sampling(temperature=0)
    with pytest.raises(InputError, match="temprature"):
        Sampling.of(base, temprature=1.0)
    with pytest.raises(InputError, match="sampling"):
        Sampling.of({"temperature": 1.0})


def test_choose_does_not_check_again(monkeypatch):
    """The per-step path runs no checks: the settings were checked when made."""
    sampling = Sampling(temperature=1.0, random_seed=0)
    calls = []
    monkeypatch.setattr(Sampling, "__post_init__", lambda self: calls.append(1))
    ids = sampling.choose(np.tile([0.1, 0.9], (4, 1)), sampling.rng())
    assert ids.shape == (4,) and calls == []


def test_a_tiny_temperature_returns_the_argmax():
    logits = np.eye(5)[[3, 1, 4]] * 1e9  # one-hot * 1e9
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    sampling = Sampling(temperature=1e-6, random_seed=0)
    np.testing.assert_array_equal(sampling.choose(probs, sampling.rng()), [3, 1, 4])
