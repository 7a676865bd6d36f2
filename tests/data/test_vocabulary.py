"""Tests for charlstm.data.vocabulary."""

import json
from collections import Counter

import numpy as np
import pytest

import charlstm.data.vocabulary as vocabulary_module
from charlstm.data.vocabulary import (
    UNKNOWN_CHARACTER,
    Vocabulary,
    character_counts,
    code_points,
    smallest_uint_dtype,
)

# 300 distinct characters, none of them ASCII or Latin-1.
CJK_300 = "".join(chr(0x4E00 + i) for i in range(300))
ACCENTED = "Grüße aus Köln, ½ € ÿ; être à l'hôtel, ça"
CYRILLIC = "Привет, мир! def функция(аргумент):\n"
CJK = "日本語のテキスト，中文\n"
EMOJI = "😀 ok 🐍\U0010fffd"  # outside the Basic Multilingual Plane
MIXED = "def naïve(x):  # 日本 😀\n\treturn x ** 2  # Привет\r\n"


def reference_ids(vocabulary: Vocabulary, text: str) -> list[int]:
    """What encoding should give, one character at a time in Python."""
    index = {c: i for i, c in enumerate(vocabulary.characters)}
    ids = [index.get(c, vocabulary.unknown_id) for c in text]
    return [i for i in ids if i is not None]


def test_characters_are_sorted_and_deduplicated():
    vocabulary = Vocabulary("hello, world")
    assert vocabulary.characters == " ,dehlorw"
    assert vocabulary.size == len(vocabulary) == 9
    assert vocabulary.unknown_id is None
    assert Vocabulary(["z", "a", "m", "a"]).characters == "amz"
    assert "h" in vocabulary and "x" not in vocabulary
    # Sorted by code point, whatever the script.
    assert Vocabulary("😀日éz").characters == "zé日😀"


def test_the_unknown_id_is_the_last_id():
    vocabulary = Vocabulary("hello, world", unknown=True)
    assert vocabulary.characters == " ,dehlorw"  # the unknown id not included
    assert vocabulary.unknown_id == 9
    assert vocabulary.size == len(vocabulary) == 10
    assert vocabulary.tokens == [*" ,dehlorw", UNKNOWN_CHARACTER]
    assert UNKNOWN_CHARACTER == "\ufffd"
    assert vocabulary.decode([9]) == "\ufffd"
    assert vocabulary.decode([4, 9, 5]) == "h\ufffdl"
    assert "unknown=True" in repr(vocabulary)
    assert Vocabulary("ab").tokens == ["a", "b"]


def test_from_text_always_has_an_unknown_id():
    vocabulary = Vocabulary.from_text("banana")
    assert vocabulary.characters == "abn"
    assert vocabulary.unknown_id == 3 and vocabulary.size == 4
    assert vocabulary == Vocabulary("abn", unknown=True)
    assert vocabulary != Vocabulary("abn")


def test_from_text_min_count_leaves_rare_characters_to_the_unknown_id():
    vocabulary = Vocabulary.from_text("banana!", min_count=2)
    assert vocabulary.characters == "an"  # b and ! occur once
    assert vocabulary.unknown_id == 2
    np.testing.assert_array_equal(vocabulary.encode("banana!"), [2, 0, 1, 0, 1, 0, 2])
    assert vocabulary.decode(vocabulary.encode("banana!")) == "\ufffdanana\ufffd"
    assert Vocabulary.from_text("banana", min_count=3).characters == "a"
    with pytest.raises(ValueError, match="min_char_count"):
        Vocabulary.from_text("banana", min_count=4)
    counts = {"x": 5, "é": 2, "日": 1}
    assert Vocabulary.from_counts(counts, 2) == Vocabulary("xé", unknown=True)


def test_ids_follow_sorted_order():
    vocabulary = Vocabulary.from_text("banana")
    ids = vocabulary.encode("banana")
    np.testing.assert_array_equal(ids, [1, 0, 2, 0, 2, 0])
    assert vocabulary.decode([2, 1, 0]) == "nba"


@pytest.mark.parametrize(
    "corpus",
    [
        "def f(x):\n\treturn x ** 2  # comment\n",
        "".join(map(chr, range(128))),
        ACCENTED,
        CYRILLIC,
        CJK,
        EMOJI,
        MIXED,
        CJK_300,
    ],
)
def test_encode_decode_round_trip(corpus):
    vocabulary = Vocabulary.from_text(corpus)
    ids = vocabulary.encode(corpus)
    assert ids.shape == (len(corpus),)
    assert ids.dtype == vocabulary.dtype
    assert vocabulary.unknown_id not in ids
    assert vocabulary.decode(ids) == corpus
    assert ids.tolist() == reference_ids(vocabulary, corpus)
    # Reversed text too, so it is not just the identity on one ordering.
    assert vocabulary.decode(vocabulary.encode(corpus[::-1])) == corpus[::-1]


def test_an_astral_character_is_one_id():
    vocabulary = Vocabulary.from_text("a😀b")
    assert vocabulary.characters == "ab😀"
    np.testing.assert_array_equal(vocabulary.encode("😀a😀"), [2, 0, 2])
    assert vocabulary.decode([2, 1]) == "😀b"


@pytest.mark.parametrize("outside", ["xyz!", "é日😀", "x日!😀"])
def test_characters_outside_become_the_unknown_id(outside):
    vocabulary = Vocabulary("abc ", unknown=True)
    text = "ab " + outside + " ca"
    ids = vocabulary.encode(text)  # strict, yet nothing raises
    assert len(ids) == len(text)
    assert ids.tolist() == reference_ids(vocabulary, text)
    assert vocabulary.decode(ids) == "ab " + "\ufffd" * len(outside) + " ca"
    np.testing.assert_array_equal(vocabulary.encode(text, strict=False), ids)
    assert vocabulary.unknown(text) == []


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


def test_dtype_is_uint8_up_to_256_ids():
    characters = "".join(map(chr, range(256)))
    vocabulary = Vocabulary(characters)
    assert vocabulary.size == 256 and vocabulary.dtype == np.uint8
    ids = vocabulary.encode(characters)
    assert ids.dtype == np.uint8
    np.testing.assert_array_equal(ids, np.arange(256))
    # 255 characters and the unknown id: 256 ids, still one byte.
    with_unknown = Vocabulary(characters[:255], unknown=True)
    assert with_unknown.size == 256 and with_unknown.dtype == np.uint8
    assert with_unknown.encode("ÿ").tolist() == [255]  # the unknown id


def test_dtype_is_uint16_beyond_256_ids():
    vocabulary = Vocabulary(CJK_300)
    assert vocabulary.size == 300
    assert vocabulary.dtype == np.uint16
    ids = vocabulary.encode(CJK_300)
    assert ids.dtype == np.uint16
    np.testing.assert_array_equal(ids, np.arange(300))
    assert vocabulary.decode(ids[::-1]) == CJK_300[::-1]
    # The unknown id counts: 256 characters and it need two bytes.
    assert Vocabulary(map(chr, range(256)), unknown=True).dtype == np.uint16
    from_text = Vocabulary.from_text(CJK_300 + "x")
    assert from_text.size == 302 and from_text.unknown_id == 301
    assert from_text.encode("x?" + CJK_300[:2]).tolist() == [0, 301, 1, 2]
    assert from_text.encode("?").dtype == np.uint16


@pytest.mark.parametrize("unknown", [True, False])
def test_ascii_fast_path_and_code_point_path_agree(monkeypatch, unknown):
    vocabulary = Vocabulary("abdefnrtux()#: \n\t日é😀", unknown=unknown)
    text = MIXED + "ascii only, with outside characters: XYZ!\n"
    assert not text.isascii()
    whole = vocabulary.encode(text, strict=False)  # the code-point path
    assert whole.tolist() == reference_ids(vocabulary, text)
    # One character per chunk: ASCII characters take the byte table, the others
    # the code-point lookup.
    monkeypatch.setattr(vocabulary_module, "ENCODE_CHUNK", 1)
    single = vocabulary.encode(text, strict=False)
    np.testing.assert_array_equal(single, whole)
    assert single.dtype == whole.dtype == vocabulary.dtype
    # An ASCII-only text, both ways.
    ascii_text = "def f(x):\n\treturn x  # XYZ\n"
    monkeypatch.setattr(vocabulary_module, "ENCODE_CHUNK", 1 << 22)
    fast = vocabulary.encode(ascii_text, strict=False)
    slow = vocabulary.encode(ascii_text + "é", strict=False)[:-1]
    np.testing.assert_array_equal(fast, slow)
    assert fast.tolist() == reference_ids(vocabulary, ascii_text)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
def test_chunked_encoding_equals_one_pass(monkeypatch, chunk):
    for vocabulary in (Vocabulary.from_text(MIXED), Vocabulary("abcdef\n😀é")):
        text = MIXED * 3 + "abc\ndef\n😀é\n" * 7
        whole = vocabulary.encode(text, strict=False)
        with monkeypatch.context() as patch:
            patch.setattr(vocabulary_module, "ENCODE_CHUNK", chunk)
            chunked = vocabulary.encode(text, strict=False)
            assert chunked.dtype == whole.dtype
            np.testing.assert_array_equal(chunked, whole)
            assert chunked.tolist() == reference_ids(vocabulary, text)
            assert character_counts([text, text[:5]]) == Counter(text + text[:5])
            assert vocabulary.encode("").dtype == vocabulary.dtype


def test_chunked_encoding_finds_unknown_characters_in_any_chunk(monkeypatch):
    vocab = Vocabulary("abcdef\n")
    text = "abc\ndef\nfed\ncab\n" * 7
    whole = vocab.encode(text)
    monkeypatch.setattr(vocabulary_module, "ENCODE_CHUNK", 5)
    np.testing.assert_array_equal(vocab.encode(text), whole)
    with pytest.raises(ValueError, match="'Z'"):
        vocab.encode(text + "Z")
    with pytest.raises(ValueError, match="'日'"):
        vocab.encode(text + "日")
    np.testing.assert_array_equal(vocab.encode("Z" + text + "Z日", strict=False), whole)
    assert vocab.encode("").dtype == np.uint8


def test_json_save_load_round_trip(tmp_path):
    characters = 'ab"\\\n\t {}µ日😀' + CJK_300[:10]
    vocabulary = Vocabulary.from_text(characters)
    path = tmp_path / "vocabulary.json"
    vocabulary.save(path)
    raw = path.read_text(encoding="utf-8")
    assert "日" in raw and "😀" in raw  # UTF-8, not escaped
    assert json.loads(raw) == {"characters": vocabulary.characters, "unknown": True}
    loaded = Vocabulary.load(path)
    assert loaded == vocabulary
    assert loaded.unknown_id == vocabulary.unknown_id == len(vocabulary.characters)
    assert loaded.characters == vocabulary.characters
    assert loaded.dtype == vocabulary.dtype
    text = characters + "?é"
    np.testing.assert_array_equal(loaded.encode(text), vocabulary.encode(text))
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_json_of_a_vocabulary_without_an_unknown_id(tmp_path):
    vocabulary = Vocabulary("abc")
    assert vocabulary.get_config() == {"characters": "abc"}
    path = tmp_path / "vocab.json"
    vocabulary.save(path)
    assert Vocabulary.load(path) == vocabulary
    # A file written before Unicode corpora has no "unknown": no unknown id.
    path.write_text('{"characters": "\\nabc"}\n', encoding="utf-8")
    old = Vocabulary.load(path)
    assert old.unknown_id is None and old.size == 4
    assert old.tokens == ["\n", "a", "b", "c"]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        old.encode("abcd")
    assert Vocabulary.from_config({"characters": "ab", "unknown": False}) == Vocabulary(
        "ab"
    )


def test_json_that_is_not_a_vocabulary_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        Vocabulary.from_config({"characters": "ab", "unknown": "yes"})
    with pytest.raises(ValueError, match="sorted"):
        Vocabulary.from_config({"characters": "ba", "unknown": True})
    path = tmp_path / "vocab.json"
    path.write_text('{"characters": "ab", "unknown": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.json"):
        Vocabulary.load(path)


def test_equality():
    assert Vocabulary("abc") == Vocabulary("cba")
    assert Vocabulary("abc") != Vocabulary("abcd")
    assert Vocabulary("abc") != Vocabulary("abc", unknown=True)
    assert Vocabulary("abc", unknown=True) == Vocabulary("cab", unknown=True)
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
        vocabulary.encode("aé日😀b")
    for char in "é日😀":
        assert repr(char) in str(info.value)


def test_encode_strict_truncates_a_long_list_of_unknown_characters():
    vocabulary = Vocabulary("a")
    with pytest.raises(ValueError, match="25 character.*and 5 more"):
        vocabulary.encode("bcdefghijklmnopqrstuvwxyz")


def test_encode_strict_only_raises_without_an_unknown_id():
    with_unknown = Vocabulary("abc ", unknown=True)
    ids = with_unknown.encode("a zebra? 日 cab", strict=True)
    assert with_unknown.decode(ids) == "a \ufffd\ufffdb\ufffda\ufffd \ufffd cab"


def test_encode_non_strict_drops_unknown_characters_without_an_unknown_id():
    vocabulary = Vocabulary("abc ")
    ids = vocabulary.encode("a zebra? cab", strict=False)
    assert vocabulary.decode(ids) == "a ba cab"
    ids = vocabulary.encode("aé日😀b", strict=False)
    assert vocabulary.decode(ids) == "ab"
    assert ids.dtype == vocabulary.dtype
    assert vocabulary.encode("xyz", strict=False).shape == (0,)
    assert vocabulary.encode("é日", strict=False).shape == (0,)


def test_unknown():
    assert Vocabulary("abc").unknown("abxyxz") == ["x", "y", "z"]
    assert Vocabulary("abc").unknown("a日é") == ["é", "日"]
    assert Vocabulary("abc").unknown("cab") == []
    # With an unknown id every character can be encoded.
    assert Vocabulary("abc", unknown=True).unknown("abxyxz日") == []


@pytest.mark.parametrize("corpus", ["hello world\n", "".join(map(chr, range(128)))])
def test_bytes_input_equals_str_input(corpus):
    vocabulary = Vocabulary.from_text(corpus)
    from_str = vocabulary.encode(corpus)
    for data in (corpus.encode("ascii"), bytearray(corpus.encode("ascii"))):
        from_bytes = vocabulary.encode(data)
        assert from_bytes.dtype == from_str.dtype
        np.testing.assert_array_equal(from_bytes, from_str)


def test_bytes_input_is_utf8():
    vocabulary = Vocabulary.from_text(MIXED)
    np.testing.assert_array_equal(
        vocabulary.encode(MIXED.encode("utf-8")), vocabulary.encode(MIXED)
    )


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


def test_from_text_on_bytes_equals_on_str():
    corpus = "def f():\n\treturn 1\n"
    assert Vocabulary.from_text(corpus.encode("ascii")) == Vocabulary.from_text(corpus)


def test_code_points_and_character_counts():
    text = "aé日😀a"
    assert code_points(text).tolist() == [ord(c) for c in text]
    assert code_points(text).dtype == np.uint32
    assert code_points("").shape == (0,)
    assert character_counts(["abca", "é日😀é", "", "\n"]) == Counter("abcaé日😀é\n")
    assert character_counts([]) == Counter()


def test_invalid_characters_raise():
    with pytest.raises(ValueError, match="characters"):
        Vocabulary("")
    with pytest.raises(ValueError, match="characters"):
        Vocabulary(["ab", "c"])
