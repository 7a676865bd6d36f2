"""Per-character features of text, for finding the units that track them.

Every feature describes the text up to and including a character, as the
recorded state after consuming it does: an opening quote is inside its string
and the closing quote is not (the string has ended once it is read); an opening
bracket counts in the depth, a closing one no longer does.

Python text is read with the `tokenize` module: string literals (from the
opening quote to the character before the closing one), docstrings (a string
statement that opens the file or the body of a `def` or `class`), comments and
brackets outside them. Python that `tokenize` rejects, as generated code often
is (an unclosed string, a dedent to no outer level), is read by a tolerant scan
with the same rules. Other text gets the features that apply to any text.

| feature | Python | other text | value |
|---|---|---|---|
| in_string | yes | | 1 inside a string literal that is not a docstring |
| in_docstring | yes | | 1 inside a docstring |
| in_comment | yes | | 1 from `#` to the end of its line |
| in_quotes | | yes | 1 inside double quotes on one line |
| bracket_depth | yes | yes | open `(`, `[`, `{` |
| indentation | yes | | leading whitespace of the line so far, in columns |
| line_position | yes | yes | column of the character, from 0 |
| line_start | yes | | 1 for the first character of a line |
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

import numpy as np

from charlstm.utils.checks import InputError

# Feature name -> what it means, for headings and reports.
DESCRIPTIONS = {
    "in_string": "inside a string literal",
    "in_docstring": "inside a docstring",
    "in_comment": "inside a comment",
    "in_quotes": "inside double quotes",
    "bracket_depth": "bracket depth",
    "indentation": "indentation",
    "line_position": "position in the line",
    "line_start": "start of a line",
}
PYTHON_FEATURES = (
    "in_string",
    "in_docstring",
    "in_comment",
    "bracket_depth",
    "indentation",
    "line_position",
    "line_start",
)
TEXT_FEATURES = ("line_position", "bracket_depth", "in_quotes")
LANGUAGES = ("auto", "python", "text")
OPENING, CLOSING = "([{", ")]}"
TAB_SIZE = 8  # columns a tab advances to the next multiple of, as Python's
# First words of a block header whose first statement may be a docstring.
DOCSTRING_OWNERS = ("def", "class", "async")
# Lines that only Python starts like this: how `language="auto"` recognises it.
_PYTHON_LINE = re.compile(
    r"^[ \t]*(def [A-Za-z_]|class [A-Za-z_]|import [A-Za-z_]|from [\w.]+ import"
    r"|return\b|elif\b|except\b|self\.|@[A-Za-z_]"
    r"|(if|for|while|with|try|else)\b.*:[ \t]*$"  # a block header
    r"|[A-Za-z_][\w.]*(\[[^\]\n]*\])? *[-+*/%|&]?= *[^= \n])",  # an assignment
    re.MULTILINE,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_PREFIX = re.compile(r"(?i)(?:[rbuf]|br|rb|fr|rf)\Z")


@dataclass
class TextFeatures:
    """Features of every character of a text.

    Args:
        values: dict of str to float32 array (characters,). One per feature.
        method: str. "tokenize" (Python read by `tokenize`), "scan" (Python
            that `tokenize` rejected, read by the tolerant scan) or "text".
    """

    values: dict
    method: str

    @property
    def names(self) -> list[str]:
        return list(self.values)

    def at(self, positions) -> dict:
        """The features at the given character positions (e.g. `Activations.ends`)."""
        positions = np.asarray(positions, dtype=np.intp)
        return {name: v[positions] for name, v in self.values.items()}


def looks_like_python(text: str) -> bool:
    """Whether some line of `text` reads as only Python lines do: `def f`,
    `import x`, `return`, `self.`, `x = 1`, `if x:` ..."""
    return _PYTHON_LINE.search(text) is not None


def text_features(text: str, language: str = "auto") -> TextFeatures:
    """The per-character features of `text`.

    Args:
        text: str. The text the model read or wrote.
        language: str. "python", "text", or "auto": Python if it
            `looks_like_python`.

    Returns:
        TextFeatures with PYTHON_FEATURES or TEXT_FEATURES.

    Example:
    >>> f = text_features('x = f("a(")  # (\\n')
    >>> f.values["bracket_depth"][:11].tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    """
    if language not in LANGUAGES:
        raise InputError(
            f"`language` must be one of {LANGUAGES}. Received: language={language!r}"
        )
    if not isinstance(text, str):
        raise InputError(f"`text` must be a string. Received: {type(text).__name__}")
    if language == "text":
        return plain_features(text)
    if language == "auto" and not looks_like_python(text):
        return plain_features(text)
    spans, method = _tokenize_spans(text), "tokenize"
    if spans is None:
        spans, method = _scan_spans(text), "scan"
    strings, docstrings, comments, brackets = spans
    values = {
        "in_string": _mark(len(text), strings),
        "in_docstring": _mark(len(text), docstrings),
        "in_comment": _mark(len(text), comments),
        "bracket_depth": _depth(len(text), brackets),
        **_line_features(text),
    }
    return TextFeatures({name: values[name] for name in PYTHON_FEATURES}, method)


def python_features(text: str) -> TextFeatures:
    """`text_features(text, "python")`."""
    return text_features(text, "python")


def plain_features(text: str) -> TextFeatures:
    """Features of any text: position in the line, bracket depth (every bracket)
    and inside double quotes (which close at the end of a line)."""
    quotes, start = [], None
    for i, ch in enumerate(text):
        if ch == '"':
            if start is None:
                start = i
            else:
                quotes.append((start, i))
                start = None
        elif ch == "\n" and start is not None:
            quotes.append((start, i))
            start = None
    if start is not None:
        quotes.append((start, len(text)))
    brackets = [
        (i, 1 if ch in OPENING else -1)
        for i, ch in enumerate(text)
        if ch in OPENING or ch in CLOSING
    ]
    values = {
        "line_position": _line_features(text)["line_position"],
        "bracket_depth": _depth(len(text), brackets),
        "in_quotes": _mark(len(text), quotes),
    }
    return TextFeatures({name: values[name] for name in TEXT_FEATURES}, "text")


def _mark(size: int, spans) -> np.ndarray:
    out = np.zeros(size, np.float32)
    for start, end in spans:
        out[start:end] = 1.0
    return out


def _depth(size: int, brackets) -> np.ndarray:
    """Bracket depth after each character; (position, +1 or -1) changes it. A
    closing bracket with none open is ignored."""
    delta = np.zeros(size, np.int64)
    depth = 0
    for position, change in brackets:
        if depth + change >= 0:
            delta[position] += change
            depth += change
    return np.cumsum(delta).astype(np.float32)


def _line_features(text: str) -> dict:
    """Column, first character of a line, and indentation so far."""
    size = len(text)
    column = np.empty(size, np.float32)
    indentation = np.empty(size, np.float32)
    col, indent, leading = 0, 0, True
    for i, ch in enumerate(text):
        column[i] = col
        if leading and ch == " ":
            indent += 1
        elif leading and ch == "\t":
            indent = (indent // TAB_SIZE + 1) * TAB_SIZE
        elif ch != "\n":
            leading = False
        indentation[i] = indent
        if ch == "\n":
            col, indent, leading = 0, 0, True
        else:
            col += 1
    return {
        "indentation": indentation,
        "line_position": column,
        "line_start": (column == 0).astype(np.float32),
    }


def _offsets(text: str) -> list[int]:
    """Offset of the start of each line (tokenize's rows count from 1)."""
    starts = [0, 0]
    for match in re.finditer("\n", text):
        starts.append(match.end())
    return starts


def _inside(start: int, token: str) -> tuple[int, int]:
    """The inside of a string token at `start`: opening quote to before the close."""
    quote = min(i for i in (token.find("'"), token.find('"')) if i >= 0)
    return start + quote, start + len(token) - 1


def _tokenize_spans(text: str):
    """(strings, docstrings, comments, brackets) from `tokenize`, or None if it
    rejects the text."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    if any(t.type == tokenize.ERRORTOKEN and t.string[:1] in "'\"" for t in tokens):
        return None  # an unclosed one-quote string (Python < 3.12)
    starts = _offsets(text)
    offset = lambda point: starts[point[0]] + point[1]  # noqa: E731
    skipped = (tokenize.NL, tokenize.COMMENT)
    significant = [t for t in tokens if t.type not in skipped]
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    strings, docstrings, comments, brackets, opened = [], [], [], [], []
    for t in tokens:
        if t.type == tokenize.COMMENT:
            comments.append((offset(t.start), offset(t.end)))
        elif t.type == fstring_start and fstring_start is not None:
            opened.append(_inside(offset(t.start), t.string)[0])
        elif t.type == fstring_end and fstring_end is not None and opened:
            strings.append((opened.pop(), offset(t.end) - 1))
        elif t.type == tokenize.OP and t.string in OPENING + CLOSING and not opened:
            brackets.append((offset(t.start), 1 if t.string in OPENING else -1))
    header, line_first, previous = None, None, None
    for k, t in enumerate(significant):
        if t.type == tokenize.STRING:
            span = _inside(offset(t.start), t.string)
            following = significant[k + 1].type if k + 1 < len(significant) else None
            opens_body = previous is None or (
                previous == tokenize.INDENT
                and (header is None or header in DOCSTRING_OWNERS)
            )  # None: the text starts indented
            statement = following in (tokenize.NEWLINE, tokenize.ENDMARKER, None)
            (docstrings if opens_body and statement else strings).append(span)
        if t.type == tokenize.NEWLINE:
            header, line_first = line_first, None
        elif t.type not in (tokenize.INDENT, tokenize.DEDENT) and line_first is None:
            line_first = t.string
        previous = t.type
    return strings, docstrings, comments, brackets


def _scan_spans(text: str):
    """(strings, docstrings, comments, brackets) by a tolerant scan: a string
    left open ends at its line's end (one quote) or the text's end (three)."""
    strings, docstrings, comments, brackets = [], [], [], []
    n, i, depth = len(text), 0, 0
    first, last = None, ""  # current logical line: first word, last code char
    first_at = 0  # where the current logical line's first token starts
    seen_code, after_header, header_indent = False, False, 0
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append((i, end))
            i = end
            continue
        word = _IDENTIFIER.match(text, i)
        if first is None:
            first_at = i
        if word and not (
            _STRING_PREFIX.match(word.group())
            and text[word.end() : word.end() + 1] in ("'", '"')
        ):
            first = first or word.group()
            last = word.group()[-1]
            i = word.end()
            continue
        if word:  # a string prefix: the string starts at its quote
            line_start = first is None
            i = word.end()
            ch = text[i]
        else:
            line_start = first is None
        if ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            j, closed = i + len(quote), False
            while j < n:
                if text[j] == "\\":
                    j += 2
                elif text.startswith(quote, j):
                    j, closed = j + len(quote), True
                    break
                elif len(quote) == 1 and text[j] == "\n":
                    break
                else:
                    j += 1
            j = min(j, n)
            span = (i, j - 1 if closed else j)
            rest = text[j : (text.find("\n", j) + 1 or n + 1) - 1]
            alone = rest.strip() == "" or rest.strip().startswith("#")
            # A docstring opens a body: first in the text, or indented under a
            # block header (as tokenize's INDENT says).
            body = not seen_code or (
                after_header and _indent(text, first_at) > header_indent
            )
            docstring = line_start and alone and body
            (docstrings if docstring else strings).append(span)
            first, last = first or "<string>", quote[0]
            i = j
            continue
        if ch in OPENING or ch in CLOSING:
            change = 1 if ch in OPENING else -1
            if depth + change >= 0:
                depth += change
            brackets.append((i, change))
        if ch == "\n" and depth == 0 and last != "\\" and first is not None:
            after_header = first in DOCSTRING_OWNERS  # as tokenize: its INDENT
            header_indent = _indent(text, first_at)
            seen_code, first, last = True, None, ""
        elif not ch.isspace():
            first = first or ch
            last = ch
        i += 1
    return strings, docstrings, comments, brackets


def _indent(text: str, position: int) -> int:
    """The indentation (characters of white space) of the line at `position`."""
    start = text.rfind("\n", 0, position) + 1
    line = text[start:position]
    return len(line) - len(line.lstrip(" \t"))
