"""Tests for charlstm.data.tokens: the tokenizer and the token vocabulary."""

import json
import string

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from charlstm.data.tokens import OPERATORS, TokenVocabulary, tokenize
from charlstm.data.vocabulary import Vocabulary

CODE = (
    "def area(r: float) -> float:\n"
    "    x **= 2  # square\n"
    "\tif r >= 0 and x != 1e-5:\n"
    "        return 3.14*r**2 // 1\n"
    "    n //= 0x1F; m := a...b\n"
)


@given(st.text())
def test_tokens_join_back_to_any_text(text):
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)


@given(st.text(alphabet=string.printable, max_size=300))
def test_newline_is_always_a_token_of_its_own(text):
    tokens = tokenize(text)
    assert all(t == "\n" or "\n" not in t for t in tokens)
    assert tokens.count("\n") == text.count("\n")


@given(st.text(alphabet=string.printable, max_size=300), st.integers(0, 300))
def test_text_cut_after_a_newline_tokenizes_the_same(text, cut):
    """Corpora are tokenized in pieces cut after newlines; it must not matter."""
    cut = text.find("\n", min(cut, len(text)))
    if cut >= 0:
        assert tokenize(text[: cut + 1]) + tokenize(text[cut + 1 :]) == tokenize(text)


def test_operators_and_words_are_split_as_code_reads():
    assert tokenize(CODE.splitlines(keepends=True)[0]) == [
        "def", " ", "area", "(", "r", ":", " ", "float", ")", " ", "->", " ",
        "float", ":", "\n",
    ]  # fmt: skip
    assert tokenize("    x **= 2  # square\n") == [
        "    ", "x", " ", "**=", " ", "2", "  ", "#", " ", "square", "\n",
    ]  # fmt: skip
    assert tokenize("\tif r >= 0 and x != 1e-5:") == [
        "\t", "if", " ", "r", " ", ">=", " ", "0", " ", "and", " ", "x", " ", "!=",
        " ", "1e", "-", "5", ":",
    ]  # fmt: skip
    assert tokenize("3.14*r**2 // 1") == [
        "3.14", "*", "r", "**", "2", " ", "//", " ", "1",
    ]  # fmt: skip
    assert tokenize("n //= 0x1F; m := a...b") == [
        "n", " ", "//=", " ", "0x1F", ";", " ", "m", " ", ":=", " ", "a", "...", "b",
    ]  # fmt: skip
    quotes = tokenize("'it''s' \"q\"")
    assert quotes == ["'", "it", "'", "'", "s", "'", " ", '"', "q", '"']


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_operator_is_one_token_between_names(operator):
    assert tokenize(f"a{operator}b") == ["a", operator, "b"]


def test_unicode_identifiers_are_one_token_and_symbols_single_tokens():
    assert tokenize("café ✓\r\n") == ["café", " ", "✓", "\r", "\n"]
    assert tokenize("naïve = переменная + 変数2") == [
        "naïve", " ", "=", " ", "переменная", " ", "+", " ", "変数2",
    ]  # fmt: skip
    assert tokenize("Ωmega(_x9, Ёлка)") == ["Ωmega", "(", "_x9", ",", " ", "Ёлка", ")"]
    assert tokenize("😀😀 ٣x") == ["😀", "😀", " ", "٣x"]  # ٣ is a digit: a number
    # A combining accent is not a word character: decomposed text (normalize
    # "none") splits where NFC text does not.
    assert tokenize("cafe\u0301") == ["cafe", "\u0301"]


def test_vocabulary_keeps_every_character_and_the_most_frequent_tokens():
    text = "self.x = self.y\nself.z = x + y\nreturn self\n"
    vocabulary = TokenVocabulary.from_text(text, max_tokens=20)
    characters = set(text)
    assert set(vocabulary.characters) == characters
    longer = [t for t in vocabulary.tokens if len(t) > 1]
    assert longer == ["return", "self"]  # sorted, like every id
    # Every character, the two longer tokens, and the unknown id, last.
    assert vocabulary.size == len(characters) + 2 + 1 <= 20
    assert vocabulary.unknown_id == vocabulary.size - 1
    assert vocabulary.tokens[-1] == "\ufffd"
    assert vocabulary.tokens[:-1] == sorted(vocabulary.tokens[:-1])
    # Capped: only characters, the unknown id and the most frequent longer token.
    capped = TokenVocabulary.from_text(text, max_tokens=len(characters) + 2)
    assert [t for t in capped.tokens if len(t) > 1] == ["self"]
    assert capped.size == len(characters) + 2
    smallest = TokenVocabulary.from_text(text, max_tokens=1)
    assert smallest.size == len(characters) + 1  # never fewer than the characters


def test_tokens_outside_the_vocabulary_fall_back_to_characters():
    vocabulary = TokenVocabulary.from_text("self.value = self\n", max_tokens=100)
    ids = vocabulary.encode("self.sell = value\n")
    assert [vocabulary.tokens[i] for i in ids] == [
        "self", ".", "s", "e", "l", "l", " ", "=", " ", "value", "\n",
    ]  # fmt: skip
    assert vocabulary.decode(ids) == "self.sell = value\n"
    assert vocabulary.character_count(ids) == len("self.sell = value\n")


@given(st.text(alphabet="abcdef_ =+*/().\n\t012", max_size=200))
def test_encode_decode_round_trip_over_the_alphabet(text):
    vocabulary = TokenVocabulary.from_text(
        "abc = a_b * (d / e) + f.ab\n\t0120 ** 2 // c\n", max_tokens=30
    )
    ids = vocabulary.encode(text)
    assert ids.dtype == vocabulary.dtype
    assert vocabulary.decode(ids) == text
    assert vocabulary.character_count(ids) == len(text)


def test_without_an_unknown_id_unknown_characters_raise_or_are_dropped():
    # As vocabularies written before Unicode corpora do, like char mode.
    words = TokenVocabulary([*"abc \n", "abc", "cab"])
    chars = Vocabulary("abc \n")
    for vocabulary in (words, chars):
        assert vocabulary.unknown_id is None
        assert vocabulary.unknown("abXcY日") == ["X", "Y", "日"]
        with pytest.raises(ValueError, match=r"3 character\(s\) not in the vocabulary"):
            vocabulary.encode("abXcY日")
    ids = words.encode("abXc caYb", strict=False)
    assert words.decode(ids) == "abc cab"
    assert [words.tokens[i] for i in ids] == ["abc", " ", "cab"]


def test_with_an_unknown_id_unknown_characters_become_it():
    words = TokenVocabulary.from_text("abc cab\n", max_tokens=10)
    chars = Vocabulary.from_text("abc cab\n")
    for vocabulary in (words, chars):
        assert vocabulary.unknown_id == vocabulary.size - 1
        assert vocabulary.unknown("abXcY日") == []
        ids = vocabulary.encode("abXcY日")  # strict, yet nothing raises
        assert vocabulary.decode(ids) == "ab\ufffdc\ufffd\ufffd"
        assert vocabulary.character_count(ids) == 6
    ids = words.encode("abc XabcY cab")
    # "XabcY" is one identifier outside the vocabulary: its characters.
    assert [words.tokens[i] for i in ids] == [
        "abc", " ", "\ufffd", "a", "b", "c", "\ufffd", " ", "cab",
    ]  # fmt: skip
    np.testing.assert_array_equal(words.encode("abc XabcY cab", strict=False), ids)


def test_rare_characters_and_their_tokens_are_left_out():
    text = "alpha beta\nalpha beta zeta\n"  # z occurs once
    vocabulary = TokenVocabulary.from_text(text, max_tokens=100, min_count=2)
    assert "z" not in vocabulary and "zeta" not in vocabulary
    assert {"alpha", "beta"} <= set(vocabulary.tokens)
    ids = vocabulary.encode(text)
    assert vocabulary.decode(ids) == text.replace("z", "\ufffd")
    assert "zeta" in TokenVocabulary.from_text(text, max_tokens=100)
    with pytest.raises(ValueError, match="min_char_count"):
        TokenVocabulary.from_text("ab", max_tokens=10, min_count=2)


@pytest.mark.parametrize(
    "text",
    [
        "naïve = переменная + naïve\nпеременная = 1\n",
        "変数 = '日本語'  # 😀\n変数 += 1\n",
        "def f(x):  # é 😀 Ёлка\n    return x\n",
    ],
)
def test_unicode_encode_decode_round_trip(text):
    vocabulary = TokenVocabulary.from_text(text, max_tokens=100)
    ids = vocabulary.encode(text)
    assert vocabulary.unknown_id not in ids
    assert vocabulary.decode(ids) == text
    assert vocabulary.character_count(ids) == len(text)
    assert len(ids) == len(tokenize(text))  # every token is in the vocabulary


def test_dtype_is_the_smallest_that_holds_every_id():
    small = TokenVocabulary.from_text("x = y\n", max_tokens=1000)
    assert small.dtype == np.uint8
    names = " ".join(f"name{i}" for i in range(400)) + "\n"
    large = TokenVocabulary.from_text(names, max_tokens=1000)
    assert large.size > 256 and large.dtype == np.uint16
    assert large.unknown_id == large.size - 1 > 255
    ids = large.encode(names)
    assert ids.dtype == np.uint16 and len(ids) == 800
    assert large.decode(ids) == names


def test_corpus_bytes_encode_as_text():
    text = "for i in range(10):\n    total += i\n"
    vocabulary = TokenVocabulary.from_text(text.encode("ascii"), max_tokens=50)
    assert vocabulary == TokenVocabulary.from_text(text, max_tokens=50)
    np.testing.assert_array_equal(
        vocabulary.encode(text.encode("ascii")), vocabulary.encode(text)
    )


def test_json_round_trip_restores_a_token_vocabulary(tmp_path):
    vocabulary = TokenVocabulary.from_text(CODE + 'q = "\\u"\n', max_tokens=40)
    path = tmp_path / "vocab.json"
    vocabulary.save(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == {"kind": "word", "tokens": vocabulary.tokens[:-1], "unknown": True}
    for load in (TokenVocabulary.load, Vocabulary.load):  # `kind` picks the class
        loaded = load(path)
        assert isinstance(loaded, TokenVocabulary) and loaded == vocabulary
        assert loaded.dtype == vocabulary.dtype
        np.testing.assert_array_equal(loaded.encode(CODE), vocabulary.encode(CODE))
    assert Vocabulary.from_config({"characters": "ab"}) == Vocabulary("ab")
    with pytest.raises(ValueError, match="kind"):
        Vocabulary.from_config({"kind": "bpe", "tokens": ["a"]})


def test_json_without_unknown_loads_without_an_unknown_id(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text('{"kind": "word", "tokens": [" ", "a", "ab", "b"]}\n')
    for load in (TokenVocabulary.load, Vocabulary.load):
        old = load(path)
        assert old == TokenVocabulary([" ", "a", "ab", "b"])
        assert old.unknown_id is None and old.size == 4
        assert old.tokens == [" ", "a", "ab", "b"]
        with pytest.raises(ValueError, match="not in the vocabulary"):
            old.encode("abc")
    unicode = TokenVocabulary.from_text("naïve = naïve\n", max_tokens=20)
    unicode.save(path)
    assert "naïve" in path.read_text(encoding="utf-8")  # UTF-8, not escaped
    assert TokenVocabulary.load(path) == unicode
    assert TokenVocabulary([" ", "a"]) != TokenVocabulary([" ", "a"], unknown=True)
    with pytest.raises(ValueError, match="unknown"):
        TokenVocabulary.from_config({"kind": "word", "tokens": ["a"], "unknown": 1})


def test_tokens_need_their_characters():
    with pytest.raises(ValueError, match="every character of a token"):
        TokenVocabulary(["ab", "a"])
    with pytest.raises(ValueError, match="must not be empty"):
        TokenVocabulary([])
    with pytest.raises(ValueError, match="max_tokens"):
        TokenVocabulary.from_text("ab", max_tokens=0)


def test_partial_suffix_is_the_last_token_of_the_line():
    vocabulary = TokenVocabulary.from_text("return self.x\n", max_tokens=50)
    assert vocabulary.partial_suffix("x = 1\n    return sel") == 3
    assert vocabulary.partial_suffix("    return ") == 1
    assert vocabulary.partial_suffix("a **") == 0  # "*" is outside the vocabulary
    with_stars = TokenVocabulary.from_text("return self.x ** 2\n", max_tokens=50)
    assert with_stars.partial_suffix("a **") == 2
    assert vocabulary.partial_suffix("done\n") == 0
    assert vocabulary.partial_suffix("self") == 0  # nothing would be left to feed
    assert vocabulary.partial_suffix("") == 0
    assert Vocabulary("abc").partial_suffix("abc") == 0


def test_allowed_tokens_spell_out_the_remaining_text():
    vocabulary = TokenVocabulary(["s", "e", "l", "f", "t", "se", "sel", "self", "set"])
    allowed = vocabulary.allowed("sel")
    assert sorted(vocabulary.tokens[i] for i in np.flatnonzero(allowed)) == [
        "s", "se", "sel", "self",
    ]  # fmt: skip
    assert [vocabulary.tokens[i] for i in np.flatnonzero(vocabulary.allowed("f"))] == [
        "f"
    ]
    # The unknown id spells nothing: it is never allowed.
    with_unknown = TokenVocabulary(vocabulary.tokens, unknown=True)
    assert with_unknown.allowed("sel").shape == (with_unknown.size,)
    assert not with_unknown.allowed("sel")[with_unknown.unknown_id]
    np.testing.assert_array_equal(with_unknown.allowed("sel")[:-1], allowed)
