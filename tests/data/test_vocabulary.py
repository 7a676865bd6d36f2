"""Tests for charlstm.data.vocabulary."""

import json

import numpy as np
import pytest

from charlstm.data.vocabulary import Vocabulary, smallest_uint_dtype

# 300 distinct characters, none of them ASCII or Latin-1.
CJK_300 = "".join(chr(0x4E00 + i) for i in range(300))


def test_characters_are_sorted_and_deduplicated():
    vocabulary = Vocabulary("hello, world")
    assert vocabulary.characters == " ,dehlorw"
    assert vocabulary.size == len(vocabulary) == 9
    assert Vocabulary(["z", "a", "m", "a"]).characters == "amz"
    assert "h" in vocabulary and "x" not in vocabulary


def test_ids_follow_sorted_order():
    vocabulary = Vocabulary.from_text("banana")
    assert vocabulary.characters == "abn"
    ids = vocabulary.encode("banana")
    np.testing.assert_array_equal(ids, [1, 0, 2, 0, 2, 0])
    assert vocabulary.decode([2, 1, 0]) == "nba"


@pytest.mark.parametrize(
    "corpus",
    [
        "def f(x):\n\treturn x ** 2  # comment\n",
        "".join(map(chr, range(128))),
        "Grüße aus Köln, ½ € ÿ",  # Latin-1 and beyond
        CJK_300,
    ],
)
def test_encode_decode_round_trip(corpus):
    vocabulary = Vocabulary.from_text(corpus)
    ids = vocabulary.encode(corpus)
    assert ids.shape == (len(corpus),)
    assert ids.dtype == vocabulary.dtype
    assert vocabulary.decode(ids) == corpus
    # Reversed text too, so it is not just the identity on one ordering.
    assert vocabulary.decode(vocabulary.encode(corpus[::-1])) == corpus[::-1]


def test_decode_accepts_2d_arrays_and_lists():
    vocabulary = Vocabulary("abc")
    assert vocabulary.decode(np.array([[0, 1], [2, 0]])) == "abca"
    assert vocabulary.decode([]) == ""


@pytest.mark.parametrize(
    "size, dtype",
    [
        (1, np.uint8),
        (256, np.uint8),
        (257, np.uint16),
        (65536, np.uint16),
        (65537, np.uint32),
    ],
)
def test_smallest_uint_dtype(size, dtype):
    assert smallest_uint_dtype(size) == np.dtype(dtype)


def test_dtype_is_uint8_up_to_256_symbols():
    vocabulary = Vocabulary(map(chr, range(256)))
    assert vocabulary.dtype == np.uint8
    ids = vocabulary.encode(bytes(range(256)))
    assert ids.dtype == np.uint8
    np.testing.assert_array_equal(ids, np.arange(256))


def test_dtype_is_uint16_beyond_256_symbols():
    vocabulary = Vocabulary(CJK_300)
    assert vocabulary.size == 300
    assert vocabulary.dtype == np.uint16
    ids = vocabulary.encode(CJK_300)
    assert ids.dtype == np.uint16
    np.testing.assert_array_equal(ids, np.arange(300))
    assert vocabulary.decode(ids[::-1]) == CJK_300[::-1]


def test_json_save_load_round_trip(tmp_path):
    characters = 'ab"\\\n\t {}µ日' + CJK_300[:10]
    vocabulary = Vocabulary(characters)
    path = tmp_path / "vocabulary.json"
    vocabulary.save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "characters": vocabulary.characters
    }
    loaded = Vocabulary.load(path)
    assert loaded == vocabulary
    assert loaded.characters == vocabulary.characters
    assert loaded.dtype == vocabulary.dtype
    np.testing.assert_array_equal(
        loaded.encode(characters), vocabulary.encode(characters)
    )
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_equality():
    assert Vocabulary("abc") == Vocabulary("cba")
    assert Vocabulary("abc") != Vocabulary("abcd")
    assert Vocabulary("abc") != "abc"


def test_encode_strict_lists_unknown_characters():
    vocabulary = Vocabulary("abc ")
    with pytest.raises(ValueError) as info:
        vocabulary.encode("a zebra? cab")
    message = str(info.value)
    for char in "zer?":
        assert repr(char) in message
    assert "4 character(s)" in message
    assert "strict=False" in message


def test_encode_strict_lists_unknown_non_ascii_characters():
    vocabulary = Vocabulary("abc")
    with pytest.raises(ValueError) as info:
        vocabulary.encode("aé日b")
    assert repr("é") in str(info.value)
    assert repr("日") in str(info.value)


def test_encode_strict_truncates_a_long_list_of_unknown_characters():
    vocabulary = Vocabulary("a")
    with pytest.raises(ValueError, match="25 character.*and 5 more"):
        vocabulary.encode("bcdefghijklmnopqrstuvwxyz")


def test_encode_non_strict_drops_unknown_characters():
    vocabulary = Vocabulary("abc ")
    ids = vocabulary.encode("a zebra? cab", strict=False)
    assert vocabulary.decode(ids) == "a ba cab"
    ids = vocabulary.encode("aé日b", strict=False)
    assert vocabulary.decode(ids) == "ab"
    assert ids.dtype == vocabulary.dtype
    assert vocabulary.encode("xyz", strict=False).shape == (0,)


def test_unknown():
    assert Vocabulary("abc").unknown("abxyxz") == ["x", "y", "z"]
    assert Vocabulary("abc").unknown("cab") == []


@pytest.mark.parametrize("corpus", ["hello world\n", "".join(map(chr, range(128)))])
def test_bytes_input_equals_str_input(corpus):
    vocabulary = Vocabulary.from_text(corpus)
    from_str = vocabulary.encode(corpus)
    for data in (corpus.encode("ascii"), bytearray(corpus.encode("ascii"))):
        from_bytes = vocabulary.encode(data)
        assert from_bytes.dtype == from_str.dtype
        np.testing.assert_array_equal(from_bytes, from_str)


def test_bytes_input_unknown_characters_strict_and_not():
    vocabulary = Vocabulary("ab")
    with pytest.raises(ValueError, match="'c'"):
        vocabulary.encode(b"abc")
    np.testing.assert_array_equal(
        vocabulary.encode(b"abcba", strict=False), vocabulary.encode("abba")
    )


def test_bytes_input_with_a_vocabulary_beyond_one_byte():
    vocabulary = Vocabulary("ab" + CJK_300)
    np.testing.assert_array_equal(vocabulary.encode(b"abba"), vocabulary.encode("abba"))


@pytest.mark.parametrize(
    "corpus", ["hello world", "def f():\n\treturn 1\n", "".join(map(chr, range(128)))]
)
def test_from_text_on_bytes_equals_on_str(corpus):
    assert Vocabulary.from_text(corpus.encode("ascii")) == Vocabulary.from_text(corpus)
    assert (
        Vocabulary.from_text(bytearray(corpus.encode("ascii"))).characters
        == Vocabulary.from_text(corpus).characters
    )


def test_invalid_characters_raise():
    with pytest.raises(ValueError, match="characters"):
        Vocabulary("")
    with pytest.raises(ValueError, match="characters"):
        Vocabulary(["ab", "c"])


def test_chunked_encoding_equals_one_pass(monkeypatch):
    import charlstm.data.vocabulary as vocabulary_module

    vocab = Vocabulary("abcdef\n")
    text = "abc\ndef\nfed\ncab\n" * 7
    whole = vocab.encode(text)
    monkeypatch.setattr(vocabulary_module, "ENCODE_CHUNK", 5)
    np.testing.assert_array_equal(vocab.encode(text), whole)
    # An unknown character in a later chunk is still found, and dropped when asked.
    with pytest.raises(ValueError, match="'Z'"):
        vocab.encode(text + "Z")
    np.testing.assert_array_equal(vocab.encode("Z" + text + "ZZ", strict=False), whole)
    assert vocab.encode("").dtype == np.uint8
