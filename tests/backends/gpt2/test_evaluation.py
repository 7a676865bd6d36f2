"""Bits per character of a GPT-2: window planning and the NLL sum, checked by
hand with fake models (no keras-hub model is built here)."""

import math

import numpy as np
import pytest

from charlstm.backends.gpt2.evaluation import plan_windows, sequence_nll
from charlstm.eval.heldout import scores


def bigram_nll(table):
    """A fake model: next-token log-probabilities from the previous token only."""
    log_probs = np.log(np.asarray(table, dtype=np.float64))

    def token_nll(ids, targets, mask):
        return -log_probs[ids, targets] * mask  # (batch, time)

    return token_nll


def test_two_token_example_by_hand():
    # Tokens "ab" "c" "de": the first is context; p("c" | "ab") = 1/2 and
    # p("de" | "c") = 1/4, so the NLL is ln 2 + ln 4 = 3 ln 2 nats over the
    # 3 characters "c" + "de": exactly 1 bit per character.
    table = np.full((3, 3), 0.25)
    table[0] = [0.25, 0.5, 0.25]  # after token 0 ("ab")
    table[1] = [0.5, 0.25, 0.25]  # after token 1 ("c")
    tokens = np.array([0, 1, 2])
    total, count = sequence_nll(bigram_nll(table), [(tokens, 1)], window=4)
    assert count == 2
    assert total == pytest.approx(3 * math.log(2))
    result = scores(total, characters=3, tokens=count)
    assert result["bits_per_char"] == pytest.approx(1.0)
    assert result["loss"] == pytest.approx(math.log(2))
    assert result["perplexity"] == pytest.approx(2.0)
    assert result["characters"] == 3 and result["tokens"] == 2


def test_plan_windows_golden():
    assert plan_windows(10, 1, window=6, stride=3) == [(0, 1, 4), (0, 4, 7), (3, 7, 10)]


@pytest.mark.parametrize("num_tokens", [2, 7, 30])
@pytest.mark.parametrize("window, stride", [(1, 1), (4, 2), (6, 3), (5, 5)])
@pytest.mark.parametrize("start", [0, 1, 3])
def test_every_target_is_scored_once_with_enough_context(
    num_tokens, window, stride, start
):
    scored = []
    for a, p, q in plan_windows(num_tokens, start, window, stride):
        assert 0 <= a < p < q <= num_tokens
        assert q - 1 - a <= window  # inputs fit the model
        scored += range(p, q)
        if a > 0:  # past the first window: at least window - stride + 1 context
            assert p - a >= window - stride + 1
    assert scored == list(range(max(1, start), num_tokens))


def test_sliding_windows_score_a_bigram_model_exactly():
    rng = np.random.default_rng(0)
    table = rng.dirichlet(np.ones(5), size=5)
    tokens = rng.integers(5, size=40)
    nll = bigram_nll(table)
    pairs = zip(tokens[4:-1], tokens[5:], strict=True)
    direct = -sum(math.log(table[x, y]) for x, y in pairs)
    for window, stride, batch_size in [(40, 40, 8), (8, 4, 3), (5, 1, 2)]:
        total, count = sequence_nll(
            nll, [(tokens, 5)], window, stride, batch_size=batch_size
        )
        assert count == 35
        assert total == pytest.approx(direct)


def test_context_reaches_back_a_window():
    # A fake model whose loss is the number of real inputs it sees up to each
    # position: the context each scored target got.
    def context_length(ids, targets, mask):
        return np.cumsum(mask, axis=1).astype(float)

    tokens = np.arange(20)
    total, count = sequence_nll(context_length, [(tokens, 1)], window=8, stride=4)
    # Target j of window (a, p, q) is predicted from the j - a tokens before it:
    # all of them in the first window, never fewer than window - stride + 1 = 5.
    plan = plan_windows(20, 1, window=8, stride=4)
    assert count == 19
    assert total == sum(j - a for a, p, q in plan for j in range(p, q))
    assert min(j - a for a, p, q in plan for j in range(p, q) if a > 0) == 5


def test_bad_arguments():
    with pytest.raises(ValueError, match="stride"):
        plan_windows(10, 1, window=4, stride=5)
    with pytest.raises(ValueError, match="window"):
        plan_windows(10, 1, window=0, stride=1)
    with pytest.raises(ValueError, match="characters"):
        scores(1.0, characters=0, tokens=1)
