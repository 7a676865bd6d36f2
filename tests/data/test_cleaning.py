"""Tests for charlstm.data.cleaning: Unicode normal forms, folding to ASCII,
lowercasing."""

import unicodedata

import pytest

from charlstm.data.cleaning import clean, clean_text, fold_to_ascii
from charlstm.utils.checks import InputError

# The accented letters the ASCII-only cleaner before Unicode corpora mapped.
ACCENTED = {
    "a": "àáâãäå",
    "c": "ç",
    "e": "èéë",
    "i": "ìíï",
    "o": "òóõö",
    "n": "ñ",
    "u": "ùúü",
}

CYRILLIC = "Привет, мир! Ёлка"
CJK = "日本語のテキスト，中文"
EMOJI = "😀"  # U+1F600, outside the Basic Multilingual Plane


# Folding to ASCII -----------------------------------------------------------------


def test_fold_to_ascii_removes_accents():
    raw = "être à l'hôtel, sûr, île"
    assert fold_to_ascii(raw) == ("etre a l'hotel, sur, ile", 0)
    assert clean_text(raw, ascii=True) == "etre a l'hotel, sur, ile"
    assert clean(raw, False, "nfc", True) == ("etre a l'hotel, sur, ile", 0)


@pytest.mark.parametrize("base, accented", sorted(ACCENTED.items()))
def test_every_accented_letter_of_the_old_table_folds_to_its_base(base, accented):
    assert fold_to_ascii(accented) == (base * len(accented), 0)
    upper = accented.upper()
    assert upper != accented
    assert fold_to_ascii(upper) == (base.upper() * len(upper), 0)
    assert clean_text(upper, lowercase=True, ascii=True) == base * len(upper)


def test_micro_sign_folds_to_u():
    assert fold_to_ascii("µ") == ("u", 0)
    assert clean_text("Café µ-law", ascii=True) == "Cafe u-law"


def test_accented_letters_the_old_table_dropped_now_fold_too():
    assert fold_to_ascii("ê î ô û ý ÿ Ÿ Ž ň") == ("e i o u y y Y Z n", 0)


@pytest.mark.parametrize(
    "raw, folded",
    [
        ("Straße", "Strasse"),
        ("ẞ", "SS"),
        ("cœur Œuvre", "coeur OEuvre"),
        ("Æsir æ", "AEsir ae"),
        ("Øre ø ł Ł đ ð þ Þ ı", "Ore o l L d d th Th i"),
        (
            "“quoted” ‘single’ „low“ «guillemets»",
            '"quoted" \'single\' "low" "guillemets"',
        ),
        ("it’s", "it's"),
        ("a—b–c‐d−e", "a-b-c-d-e"),
        ("• item", "* item"),
        ("non\u00a0breaking", "non breaking"),
        ("ﬁle", "file"),  # compatibility ligature, by NFKD
        ("x²", "x2"),
        ("…", "..."),
    ],
)
def test_letters_and_punctuation_without_a_decomposition_use_the_table(raw, folded):
    assert fold_to_ascii(raw) == (folded, 0)


@pytest.mark.parametrize(
    "raw, kept, dropped",
    [
        ("ok ✓", "ok ", 1),
        ("ok " + EMOJI + EMOJI, "ok ", 2),
        ("日本 x", " x", 2),
        ("→€✓", "", 3),
        ("a\ufffdb", "ab", 1),
        (CYRILLIC, ", ! ", 13),  # 13 Cyrillic letters: none decomposes to ASCII
    ],
)
def test_characters_without_an_ascii_form_are_dropped_and_counted(raw, kept, dropped):
    assert fold_to_ascii(raw) == (kept, dropped)
    assert clean(raw, False, "nfc", True) == (kept, dropped)


def test_dropped_count_is_in_characters_of_the_input():
    assert fold_to_ascii("한국어 ok") == (" ok", 3)


def test_a_combining_accent_is_removed_not_counted_as_dropped():
    assert fold_to_ascii("cafe\u0301") == ("cafe", 0)
    assert fold_to_ascii("e\u0301\u0308") == ("e", 0)


def test_ascii_text_is_unchanged():
    raw = "def f(x):\n\treturn x ** 2  # OK!\r\n" + "".join(map(chr, range(128)))
    assert fold_to_ascii(raw) == (raw, 0)
    for normalize in ("nfc", "nfkc", "none"):
        for ascii in (False, True):
            assert clean_text(raw, normalize=normalize, ascii=ascii) == raw
            assert clean(raw, False, normalize, ascii) == (raw, 0)


def test_folding_always_gives_ascii():
    # Latin-1 to CJK and some astral planes; surrogates are not text.
    raw = "".join(
        chr(c)
        for c in [*range(0x80, 0x3400), *range(0xF900, 0x10000, 3)]
        + [*range(0x1F300, 0x1F700, 5), 0x1D11E, 0x10FFFD]
        if not 0xD800 <= c < 0xE000
    )
    folded, dropped = fold_to_ascii(raw)
    assert folded.isascii()
    assert clean_text(raw, ascii=True).isascii()
    assert clean_text(raw, lowercase=True, ascii=True).isascii()
    assert dropped > 0


def test_every_single_character_folds_to_ascii_or_is_counted():
    """Nothing disappears silently: a character that leaves no ASCII is counted
    as dropped, unless it is a mark (an accent, removed)."""
    for code in range(0x80, 0x3000):
        char = chr(code)
        folded, dropped = fold_to_ascii(char)
        assert folded.isascii(), hex(code)
        if not folded and not unicodedata.category(char).startswith("M"):
            assert dropped >= 1, hex(code)


def test_folding_ignores_normalize():
    # Folding decomposes (NFKD) whatever `normalize` says.
    for normalize in ("nfc", "nfkc", "none"):
        assert clean_text("ﬁ cafe\u0301 é", normalize=normalize, ascii=True) == (
            "fi cafe e"
        )


# Default cleaning: Unicode kept -----------------------------------------------


def test_default_cleaning_keeps_every_script_unchanged():
    for raw in (CYRILLIC, CJK, EMOJI, "Café µ-law ✓ “q” — ß", "\ufffd"):
        assert clean_text(raw) == raw
        assert clean(raw, False, "nfc", False) == (raw, 0)
    mixed = f"{CYRILLIC} {CJK} {EMOJI}\n"
    assert clean_text(mixed) == mixed
    assert len(clean_text(EMOJI)) == 1


def test_default_cleaning_is_nfc():
    decomposed = "cafe\u0301 A\u030a"  # e + combining acute, A + combining ring
    assert clean_text(decomposed) == "café Å"
    assert clean_text(decomposed) == unicodedata.normalize("NFC", decomposed)
    assert len(clean_text("e\u0301")) == 1
    # Already composed text is unchanged, and NFC keeps compatibility characters.
    assert clean_text("café ﬁ x²") == "café ﬁ x²"


def test_normalize_none_keeps_combining_characters_apart():
    assert clean_text("cafe\u0301", normalize="none") == "cafe\u0301"
    assert clean_text("ﬁ", normalize="none") == "ﬁ"


def test_nfkc_also_replaces_compatibility_characters():
    assert clean_text("ﬁle x² ｆｕｌｌ", normalize="nfkc") == "file x2 full"
    assert clean_text("cafe\u0301", normalize="nfkc") == "café"
    assert clean_text("ﬁle", normalize="nfc") == "ﬁle"


def test_lowercase_works_on_every_script():
    assert clean_text("ПРИВЕТ, Мир", lowercase=True) == "привет, мир"
    assert clean_text("ÀÇÈ Déjà Vu", lowercase=True) == "àçè déjà vu"
    assert clean_text("ÀÇÈ Déjà Vu", lowercase=True, ascii=True) == "ace deja vu"
    assert clean_text(CJK + EMOJI, lowercase=True) == CJK + EMOJI
    assert clean_text("ПРИВЕТ") == "ПРИВЕТ"


@pytest.mark.parametrize("normalize", ["nfd", "NFC", "", None])
def test_a_bad_normal_form_raises_naming_it(normalize):
    for raw in ("plain ascii", "café"):
        with pytest.raises(InputError, match="normalize") as info:
            clean_text(raw, normalize=normalize)
        assert repr(normalize) in str(info.value)
        assert isinstance(info.value, ValueError)
