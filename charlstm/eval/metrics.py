"""Scores of generated code: two BLEU protocols, Python tokens and syntax validity.

- `bleu_perez2021` reproduces the figures of Perez, Ottens and Viswanathan,
  "Automatic Code Generation using Pre-Trained Language Models" (2021): 0.22 for
  GPT-2, 0.093 for the char-RNN. It is nltk's `sentence_bleu([reference],
  hypothesis)` on raw strings, so the n-grams are character 1- to 4-grams,
  without smoothing. Perez et al. compared the whole original function (its
  prompt included) with the generated continuation only, and averaged over
  examples; `charlstm.eval.codegen` does the same.
- `bleu_tokens` is the sound figure: corpus BLEU (n-gram counts summed over all
  examples before the precisions are taken) on Python `tokenize` tokens, the
  reference being the true body, smoothed with nltk's `method1` (an epsilon of
  0.1 in place of a zero count, so it changes nothing unless a count is zero).
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
import warnings
from collections.abc import Sequence

from charlstm.utils.checks import InputError

# nltk's SmoothingFunction method used by `bleu_tokens`.
SMOOTHING = "method1"
# Token types left out of `python_tokens`: layout and comments.
_SKIPPED_TOKENS = {
    tokenize.ENCODING,
    tokenize.ENDMARKER,
    tokenize.NEWLINE,
    tokenize.NL,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.COMMENT,
}
# What is left of the code after a tokenize error: words, or single symbols.
_FALLBACK = re.compile(r"\w+|[^\w\s]")


def bleu_perez2021(reference: str, hypothesis: str) -> float:
    """Perez et al.'s BLEU: nltk `sentence_bleu([reference], hypothesis)` on strings.

    Strings are sequences of characters to nltk, so this is BLEU on character
    1- to 4-grams with uniform weights and no smoothing: a hypothesis with no
    common character 4-gram scores (nearly) 0. nltk's warnings about zero
    counts are silenced.

    Args:
        reference: str. In Perez et al.'s protocol, the whole original function.
        hypothesis: str. The generated continuation.

    Example:
    >>> round(bleu_perez2021("abcde", "abcdx"), 4)  # (4/5 * 3/4 * 2/3 * 1/2) ** 0.25
    0.6687
    """
    from nltk.translate.bleu_score import sentence_bleu

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sentence_bleu([reference], hypothesis))


def bleu_tokens(
    references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]]
) -> float:
    """Corpus BLEU (1- to 4-grams) on token lists, smoothed with nltk's `method1`.

    Args:
        references: list of token lists. One reference per example (the true
            body, through `python_tokens`).
        hypotheses: list of token lists. The generated bodies, in the same order.

    Example:
    >>> bleu_tokens([["a", "b", "c", "d"]], [["a", "b", "c", "d"]])
    1.0
    """
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    if len(references) != len(hypotheses):
        raise InputError(
            "`references` and `hypotheses` must have the same length. Received: "
            f"{len(references)} references and {len(hypotheses)} hypotheses"
        )
    if not hypotheses:
        raise InputError("`hypotheses` is empty: nothing to score.")
    smoothing = getattr(SmoothingFunction(), SMOOTHING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            corpus_bleu(
                [[list(r)] for r in references],
                [list(h) for h in hypotheses],
                smoothing_function=smoothing,
            )
        )


def python_tokens(code: str) -> list[str]:
    """The strings of Python's `tokenize` tokens of `code`, without layout
    (NEWLINE, NL, INDENT, DEDENT) or comments.

    The code is dedented first, so an indented function body tokenizes. Where
    `tokenize` fails (an unterminated string, inconsistent dedent), the rest of
    the code is split into words and single symbols, so every input gives tokens.

    Example:
    >>> python_tokens("    return x + 1  # one\\n")
    ['return', 'x', '+', '1']
    """
    code = textwrap.dedent(code)
    tokens = []
    end = (1, 0)
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            end = token.end
            if token.type not in _SKIPPED_TOKENS and token.string.strip():
                tokens.append(token.string)
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        line_starts = [0] + [m.end() for m in re.finditer("\n", code)]
        row, col = end
        offset = line_starts[row - 1] + col if row - 1 < len(line_starts) else 0
        tokens.extend(_FALLBACK.findall(code[offset:]))
    return tokens


def syntax_valid(code: str) -> bool:
    """Whether `code` parses with `ast.parse` (grammar only: names are not
    resolved, and `return` outside a function is not checked).

    Example:
    >>> syntax_valid("def f(x):\\n    return x\\n"), syntax_valid("def f(:\\n")
    (True, False)
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning: invalid escapes
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
