import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charlstm.eval.metrics import (
    bleu_perez2021,
    bleu_tokens,
    python_tokens,
    syntax_valid,
)


def test_perez2021_bleu_is_character_ngram_bleu_without_smoothing():
    # Hypothesis "abcdx" against "abcde": matching character n-grams
    # 1-grams 4/5 (a b c d), 2-grams 3/4 (ab bc cd), 3-grams 2/3, 4-grams 1/2;
    # equal lengths, so no brevity penalty.
    expected = (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    assert bleu_perez2021("abcde", "abcdx") == pytest.approx(expected, abs=1e-12)


def test_perez2021_bleu_brevity_penalty_on_characters():
    # Every n-gram of "abcde" is in "abcdef"; brevity penalty exp(1 - 6/5).
    assert bleu_perez2021("abcdef", "abcde") == pytest.approx(math.exp(-0.2), abs=1e-12)


def test_perez2021_bleu_is_zero_without_a_common_character_4gram():
    # No smoothing: one empty n-gram order makes the score (nltk's) zero.
    assert bleu_perez2021("abcde", "abxy") < 1e-100
    assert bleu_perez2021("abcde", "") == 0
    assert bleu_perez2021("def f():\n", "def f():\n") == 1.0


def test_token_bleu_pools_counts_over_the_corpus():
    refs = [list("abcd"), list("abcde")]
    hyps = [list("abcd"), list("abcxe")]
    # Counts summed over both pairs: 1-grams (4 + 4) / (4 + 5), 2-grams
    # (3 + 2) / (3 + 4), 3-grams (2 + 1) / (2 + 3), 4-grams (1 + 0) / (1 + 2);
    # 9 hypothesis tokens against 9 reference tokens: no brevity penalty.
    expected = (8 / 9 * 5 / 7 * 3 / 5 * 1 / 3) ** 0.25
    assert bleu_tokens(refs, hyps) == pytest.approx(expected, abs=1e-12)
    # Not the mean of the sentence scores (1.0 and (4/5 * 2/4 * 1/3 * 0.1/2)^0.25).
    mean = (1.0 + (4 / 5 * 2 / 4 * 1 / 3 * 0.05) ** 0.25) / 2
    assert abs(bleu_tokens(refs, hyps) - mean) > 0.04


def test_token_bleu_smooths_a_zero_count_with_method1():
    # 4-grams 0/1 become 0.1/1 (epsilon 0.1): (3/4 * 2/3 * 1/2 * 0.1) ** 0.25.
    expected = (3 / 4 * 2 / 3 * 1 / 2 * 0.1) ** 0.25
    result = bleu_tokens([["a", "b", "c", "d"]], [["a", "b", "c", "x"]])
    assert result == pytest.approx(expected, abs=1e-12)


def test_token_bleu_brevity_penalty_and_bad_input():
    result = bleu_tokens([list("abcdef")], [list("abcde")])
    assert result == pytest.approx(math.exp(1 - 6 / 5), abs=1e-12)
    with pytest.raises(ValueError, match="same length"):
        bleu_tokens([["a"]], [])
    with pytest.raises(ValueError, match="empty"):
        bleu_tokens([], [])


def test_python_tokens_drop_layout_and_comments():
    code = '    if x:  # why\n        return f(x, "a b")\n\n    return None\n'
    expected = ["if", "x", ":", "return", "f", "(", "x", ",", '"a b"', ")"]
    assert python_tokens(code) == [*expected, "return", "None"]


def test_python_tokens_fall_back_after_a_tokenize_error():
    # An unterminated triple-quoted string: the tokens before it, then words
    # and symbols of the rest.
    assert python_tokens('x = 1\ny = """abc\ndef') == [
        "x", "=", "1", "y", "=", '"', '"', '"', "abc", "def"
    ]  # fmt: skip
    # An inconsistent dedent.
    code = "if a:\n        b = 1\n    c = 2\n"
    assert python_tokens(code) == ["if", "a", ":", "b", "=", "1", "c", "=", "2"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1 \t\n\"'#():=\\x\x00é"), max_size=40))
def test_python_tokens_never_raise(code):
    tokens = python_tokens(code)
    assert all(isinstance(t, str) and t.strip() for t in tokens)


def test_syntax_valid():
    assert syntax_valid("def f(x):\n    return x\n")
    assert syntax_valid('s = "\\d"\n')  # an invalid escape is only a warning
    assert not syntax_valid("def f(x):\nreturn x\n")
    assert not syntax_valid("def f(:\n")
    assert not syntax_valid("x = 1\x00\n")


def test_token_bleu_counts_a_hypothesis_without_ngrams_as_0_of_1():
    # nltk's corpus_bleu: a 2-token hypothesis adds 0/1 to the 3- and 4-gram
    # counts. p1 = 6/6, p2 = 4/4, p3 = 2/(2 + 1), p4 = 1/(1 + 1).
    result = bleu_tokens([list("abcd"), list("ab")], [list("abcd"), list("ab")])
    assert result == pytest.approx((2 / 3 * 1 / 2) ** 0.25, abs=1e-12)
