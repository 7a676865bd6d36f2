"""Per-character features of Python and other text (charlstm/interpret/features.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charlstm.interpret.features import (
    PYTHON_FEATURES,
    TEXT_FEATURES,
    _scan_spans,
    _tokenize_spans,
    looks_like_python,
    text_features,
)

CODE = '''"""Module docstring (with a bracket."""
import os  # a comment with "quotes" and (


def f(a, b=(1, [2, {3: "x"}])):
    """Doc with 'quotes' and \\"escaped\\" ones."""
    s = 'it\\'s (not a bracket'
    t = "a \\\\" + r"\\d"  # ends
    return s


class A:
    """Class doc."""

    x = """not a docstring"""

    def g(self):
        if self:
            """not a docstring either"""
        return (
            "in brackets"
        )
'''


def marked(text: str, values: np.ndarray) -> list[str]:
    """The runs of text where a 0/1 feature is 1."""
    runs, start = [], None
    for i, v in enumerate([*values, 0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append(text[start:i])
            start = None
    return runs


def test_python_features_on_crafted_code():
    f = text_features(CODE)
    assert f.method == "tokenize"
    assert f.names == list(PYTHON_FEATURES)
    v = f.values
    # From the opening quote to the character before the closing one.
    assert marked(CODE, v["in_docstring"]) == [
        '"""Module docstring (with a bracket.""',
        '"""Doc with \'quotes\' and \\"escaped\\" ones.""',
        '"""Class doc.""',
    ]
    assert marked(CODE, v["in_string"]) == [
        '"x',
        "'it\\'s (not a bracket",
        '"a \\\\',
        '"\\d',
        '"""not a docstring""',
        '"""not a docstring either""',
        '"in brackets',
    ]
    assert marked(CODE, v["in_comment"]) == [
        '# a comment with "quotes" and (',
        "# ends",
    ]
    # Brackets in strings, docstrings and comments do not count.
    header = CODE.index("def f")
    line = CODE[header : CODE.index("\n", header)]
    depth = v["bracket_depth"][header : header + len(line)]
    expected = []
    d = 0
    for ch in line:
        d += (ch in "([{") - (ch in ")]}")
        expected.append(d)
    assert depth.tolist() == expected  # the "x" in it holds no bracket
    assert v["bracket_depth"].max() == 4
    outside = [i for i, ch in enumerate(CODE) if ch == "(" and v["in_string"][i]]
    assert outside and all(v["bracket_depth"][i] == 0 for i in outside)
    ret = CODE.index('"in brackets"')
    assert v["bracket_depth"][ret] == 1
    assert v["bracket_depth"][-1] == 0


def test_line_features():
    text = "ab\n    cd\n\tx\n  \n"
    v = text_features(text, "python").values
    assert v["line_position"].tolist()[:13] == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2]
    assert v["line_position"].tolist()[13:] == [0, 1, 2]  # "  \n"
    assert v["line_start"].nonzero()[0].tolist() == [0, 3, 10, 13]
    # Leading whitespace so far, then the whole indentation; a tab goes to 8.
    assert v["indentation"].tolist() == [0, 0, 0, 1, 2, 3, 4, 4, 4, 4, 8, 8, 8, 1, 2, 2]


def test_scan_agrees_with_tokenize_on_valid_code():
    for code in [
        CODE,
        "x = 1\n",
        "'''first'''\n# c\nasync def h():\n    'doc'  # note\n    return [1,\n 2]\n",
        "@deco\ndef k(a=(\n    1)):\n    r'''raw \\''' doc'''\n",
        "class B(object): pass\n'''after a one-line class'''\n",
        "y = (1 +\n     2)  # (\nz = '#not a comment'\n",
    ]:
        assert _tokenize_spans(code) == _scan_spans(code), code


def test_tolerant_scan_for_code_tokenize_rejects():
    code = "def f(x):\n    s = 'open\n    return (x\n"  # an unclosed string and bracket
    f = text_features(code)
    assert f.method == "scan"
    assert marked(code, f.values["in_string"]) == ["'open"]
    assert f.values["bracket_depth"][-1] == 1
    rejected = 'def g():\n    """never closed\n    x = 1\n'
    f = text_features(rejected, "python")
    assert f.method == "scan"
    assert marked(rejected, f.values["in_docstring"]) == [rejected[13:]]


def test_plain_text_features():
    text = 'He said "hi (there)" and\nleft "open\nx)'
    assert not looks_like_python(text)
    f = text_features(text)
    assert f.method == "text"
    assert f.names == list(TEXT_FEATURES)
    assert marked(text, f.values["in_quotes"]) == ['"hi (there)', '"open']
    assert f.values["bracket_depth"].max() == 1
    assert f.values["bracket_depth"][-1] == 0  # an unmatched ")" is ignored
    assert f.values["line_position"][text.index("left")] == 0


@pytest.mark.parametrize(
    "text,python",
    [
        ("x = 1\n", True),
        ("    self.a[i] += f(b)\n", True),
        ("for i in range(3):\n    pass\n", True),
        ("@property\n", True),
        ("from . import y\n", True),
        ("He said hi and left\nthen came back (later)\n", False),
        ("Prerequisites: MATH 121.\nOffered: fall\n", False),
        ("a == b\n", False),
    ],
)
def test_looks_like_python(text, python):
    assert looks_like_python(text) == python
    assert text_features(text).method == ("tokenize" if python else "text")


def test_auto_detects_generated_python_and_can_be_forced():
    broken = "def f(x):\n    return x\n  y = 'a\n"
    assert text_features(broken).method == "scan"
    assert text_features(broken, "text").method == "text"
    assert text_features("x = 1\n", "text").names == list(TEXT_FEATURES)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`language` must be one of"):
        text_features("x", "java")
    with pytest.raises(ValueError, match="`text` must be a string"):
        text_features(b"x")


def test_at_takes_the_features_at_positions():
    f = text_features("ab(c)\n", "python")
    assert f.at([2, 4])["bracket_depth"].tolist() == [1.0, 0.0]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="'\"#()[]{}\\ \n\tabrf:=.", max_size=60))
def test_any_text_gets_well_formed_features(text):
    """Generated text can be anything: the features never fail, and strings,
    docstrings and comments never overlap."""
    for language in ("python", "text"):
        f = text_features(text, language)
        for values in f.values.values():
            assert values.shape == (len(text),) and values.dtype == np.float32
        assert (f.values["bracket_depth"] >= 0).all()
    f = text_features(text, "python")
    marks = [f.values[n] for n in ("in_string", "in_docstring", "in_comment")]
    assert all(set(np.unique(m)) <= {0.0, 1.0} for m in marks)
    assert (sum(marks) <= 1).all()


PIECES = [
    *("def f():", "class A:", "async ", "@d\n", "if x:", "pass", "y = 1\n"),
    *("'''", '"""', '"', "'", "#", "(", ")", "[", "]", "\\", "\\n"),
    *("\n", "    ", "\t", " ", "x", "=", "r", "f", "b", ":"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25).map("".join))
def test_scan_agrees_with_tokenize_wherever_tokenize_reads_the_text(text):
    spans = _tokenize_spans(text)
    if spans is not None:
        assert spans == _scan_spans(text)
