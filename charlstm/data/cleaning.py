"""Cleaning text before it is encoded: Unicode normalisation, optional folding to
ASCII, optional lowercasing.

By default text keeps every character it has, in Unicode's composed form (NFC):
"é" typed as one code point and "é" typed as "e" plus a combining accent become
the same character, and nothing is dropped. `ascii=True` folds text to ASCII as
Frank, "Generating Python with Character Level LSTMs" (2022) cleaned its
corpora, extended: accented letters lose their accents through Unicode's
compatibility decomposition (NFKD), letters and punctuation that do not
decompose use a small table (ß -> ss, œ -> oe, curly quotes -> straight ones),
and what is still not ASCII is dropped and counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from charlstm.config import NORMAL_FORMS
from charlstm.utils.checks import InputError

# Characters NFKD does not take to ASCII, and what folding writes instead.
_FOLD_TABLE = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
        "µ": "u",  # the micro sign, as Frank (2022) folded it
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "•": "*",
        "\u00a0": " ",
    }
)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=65536)
def _fold(character: str) -> str:
    decomposed = unicodedata.normalize("NFKD", character.translate(_FOLD_TABLE))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def fold_to_ascii(text: str) -> tuple[str, int]:
    """Folds text to ASCII; returns it and how many characters were dropped
    (characters of `text`, other than accents, of which nothing is left).

    Example:
    >>> fold_to_ascii("être à l'hôtel, sûr, île — Straße ✓")
    ("etre a l'hotel, sur, ile - Strasse ", 1)
    """
    if text.isascii():
        return text, 0
    counts = Counter(_NON_ASCII.findall(text))
    table = {ord(c): _fold(c) for c in counts}
    dropped = sum(  # an accent on its own is not a character dropped
        n
        for c, n in counts.items()
        if not table[ord(c)] and not unicodedata.combining(c)
    )
    return text.translate(table), dropped


def clean_text(
    text: str, lowercase: bool = False, normalize: str = "nfc", ascii: bool = False
) -> str:
    """Cleans text as a corpus is cleaned before training.

    Args:
        text: str. The raw text.
        lowercase: bool. Whether to lowercase the result.
        normalize: "nfc", "nfkc" or "none". The Unicode normal form (ignored when
            folding to ASCII, which decomposes).
        ascii: bool. Fold to ASCII (accents removed, the rest dropped), as Frank
            (2022) cleaned its corpora.

    Example:
    >>> clean_text("Café µ-law ✓")
    'Café µ-law ✓'
    >>> clean_text("Café µ-law ✓", lowercase=True, ascii=True)
    'cafe u-law '
    """
    return clean(text, lowercase, normalize, ascii)[0]


def clean(text: str, lowercase: bool, normalize: str, ascii: bool) -> tuple[str, int]:
    """`clean_text`, and how many characters folding to ASCII dropped."""
    if normalize not in NORMAL_FORMS:
        raise InputError(
            f"`normalize` must be one of {NORMAL_FORMS}. Received: {normalize!r}"
        )
    dropped = 0
    if ascii:
        text, dropped = fold_to_ascii(text)
    elif normalize != "none" and not text.isascii():
        text = unicodedata.normalize(normalize.upper(), text)
    if lowercase:
        text = text.lower()
    return text, dropped
