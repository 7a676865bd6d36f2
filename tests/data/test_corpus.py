"""Tests for charlstm.data.corpus: reading files and directories, cleaning them,
their statistics, load_corpus."""

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from charlstm.config import DataConfig
from charlstm.data import corpus as text
from charlstm.data.corpus import (
    TextStats,
    check_unknown_share,
    default_corpus_paths,
    load_corpus,
    read_pieces,
    read_text,
)
from charlstm.data.tokens import TokenVocabulary
from charlstm.data.vocabulary import Vocabulary
from charlstm.utils.checks import InputError

ASCII = DataConfig(ascii=True)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def read(sources, data=None) -> tuple[str, TextStats]:
    """`read_pieces`, joined."""
    pieces, stats = read_pieces(sources, data=data)
    assert all(pieces), "empty pieces are not kept"
    return "".join(pieces), stats


# read_pieces / read_text: cleaning ---------------------------------------------


def test_read_one_file_keeps_unicode_by_default(tmp_path):
    path = write(tmp_path / "a.txt", "Héllo, wörld ✓ Привет 日本 😀\n")
    data, stats = read(path)
    assert data == "Héllo, wörld ✓ Привет 日本 😀\n"
    assert stats.files == 1
    assert stats.characters == len(data) == 27
    assert stats.dropped_characters == 0
    assert stats.undecodable_bytes == 0
    assert stats.unknown_characters == 0
    assert stats.skipped_binary == []
    assert read_text(str(path)) == data


def test_read_one_file_folded_to_ascii(tmp_path):
    path = write(tmp_path / "a.txt", "Héllo, wörld ✓\n")
    data, stats = read(path, ASCII)
    assert data == "Hello, world \n"
    assert stats.characters == len(data)
    assert stats.dropped_characters == 1  # the check mark
    assert stats.undecodable_bytes == 0
    assert read_text(path, ascii=True) == data
    assert read_text(path, data=ASCII) == data
    # Options replace the fields of `data`.
    assert read_text(path, data=ASCII, ascii=False) == "Héllo, wörld ✓\n"


def test_read_pieces_cleans_text_instead_of_files():
    pieces, stats = read_pieces(text="Ça va? ✓\n", data=ASCII)
    assert pieces == ["Ca va? \n"]
    assert stats.files == 0 and stats.dropped_characters == 1
    pieces, stats = read_pieces(text="Ça va? ✓\n")
    assert pieces == ["Ça va? ✓\n"]
    assert stats.characters == 9 and stats.dropped_characters == 0
    with pytest.raises(ValueError, match="`text` must be a string"):
        read_pieces(text=b"bytes")


def test_read_several_files_in_the_given_order(tmp_path):
    a = write(tmp_path / "a.txt", "first\n")
    b = write(tmp_path / "b.txt", "second\n")
    assert read_text([b, a]) == "second\nfirst\n"
    data, stats = read([a, b])
    assert data == "first\nsecond\n"
    assert stats.files == 2
    assert stats.characters == len(data)


def test_read_text_lowercase(tmp_path):
    path = write(tmp_path / "a.txt", "MiXeD Ç ПРИВЕТ\n")
    assert read_text(path, lowercase=True) == "mixed ç привет\n"
    assert read_text(path) == "MiXeD Ç ПРИВЕТ\n"
    assert read_text(path, lowercase=True, ascii=True) == "mixed c \n"


def test_nfc_joins_a_combining_accent_and_none_keeps_it_apart(tmp_path):
    path = write(tmp_path / "a.txt", "cafe\u0301 = 1\n")
    data, stats = read(path)
    assert data == "café = 1\n"
    assert "\u0301" not in data
    assert stats.characters == 9
    data, stats = read(path, DataConfig(normalize="none"))
    assert data == "cafe\u0301 = 1\n"
    assert stats.characters == 10
    assert read_text(path, normalize="nfkc") == "café = 1\n"


def test_nfkc_replaces_compatibility_characters(tmp_path):
    path = write(tmp_path / "a.txt", "ﬁle = x²\n")
    assert read_text(path, normalize="nfkc") == "file = x2\n"
    assert read_text(path) == "ﬁle = x²\n"  # NFC keeps them
    assert read_text(path, normalize="none") == "ﬁle = x²\n"


def test_a_bad_normal_form_is_refused(tmp_path):
    path = write(tmp_path / "a.txt", "x\n")
    with pytest.raises(InputError, match="normalize.*'nfd'"):
        read_text(path, normalize="nfd")
    with pytest.raises(ValueError, match="normalize"):
        load_corpus(text="x", normalize="NFC")


# read_pieces / read_text: files and directories -----------------------------------


def test_read_directory_recursively_with_glob_sorted_and_skipping_hidden(tmp_path):
    root = tmp_path / "src"
    # Created out of order so a directory listing is unlikely to already be sorted.
    write(root / "d.py", "D\n")
    write(root / "b" / "deep" / "z.py", "BZ\n")
    write(root / "b" / "c.py", "BC\n")
    write(root / "a.py", "A\n")
    write(root / "notes.txt", "not python\n")
    write(root / "b" / "data.json", "{}\n")
    write(root / ".git" / "hook.py", "hidden dir\n")
    write(root / "b" / ".cache" / "x.py", "nested hidden dir\n")
    write(root / ".hidden.py", "hidden file\n")

    data, stats = read(root, DataConfig(pattern="*.py"))
    assert data == "A\nBC\nBZ\nD\n"
    assert stats.files == 4
    # Stable: the same answer every time.
    assert read(root, DataConfig(pattern="*.py"))[0] == data
    assert read_text(root, pattern="*.py") == data
    # The default pattern takes every visible file, still sorted.
    assert read_text(root) == "A\nBC\n{}\nBZ\nD\nnot python\n"


def test_read_directory_inside_a_hidden_parent_is_not_skipped(tmp_path):
    # Only hidden parts *below* the given directory are skipped.
    root = tmp_path / ".project"
    write(root / "a.py", "ok\n")
    assert read_text(root, pattern="*.py") == "ok\n"


def test_read_mixes_files_and_directories(tmp_path):
    write(tmp_path / "dir" / "x.py", "X\n")
    single = write(tmp_path / "single.txt", "S\n")
    assert read_text([single, tmp_path / "dir"], pattern="*.py") == "S\nX\n"


def test_undecodable_bytes_are_removed_and_counted_once(tmp_path):
    path = write(tmp_path / "bad.txt", b"ok\xff\xfeok\n")
    for data in (None, ASCII):
        cleaned, stats = read(path, data)
        assert cleaned == "okok\n"
        assert stats.undecodable_bytes == 2
        assert stats.dropped_characters == 0  # not counted twice
        assert stats.characters == 5
        assert stats.lost_share == pytest.approx(2 / 7)


def test_undecodable_bytes_next_to_unicode_text(tmp_path):
    path = write(
        tmp_path / "bad.txt", "é\n".encode() + b"\xc3(\xed\xa0\x80" + "日\n".encode()
    )
    cleaned, stats = read(path)
    # \xc3 starts a 2-byte sequence "(" does not continue; \xed\xa0\x80 is a
    # UTF-8-encoded surrogate, which UTF-8 does not allow.
    assert cleaned == "é\n(日\n"
    assert stats.undecodable_bytes == 4
    assert not any(0xD800 <= ord(c) < 0xE000 for c in cleaned)


def test_truncated_utf8_at_end_of_file_is_removed_not_fatal(tmp_path):
    path = write(tmp_path / "bad.txt", b"abc\xe2\x82")  # first two bytes of "€"
    cleaned, stats = read(path)
    assert cleaned == "abc"
    assert stats.undecodable_bytes == 2


def test_latin1_file_loses_its_non_utf8_bytes(tmp_path):
    path = write(tmp_path / "latin1.txt", "café ok".encode("latin-1"))
    cleaned, stats = read(path)
    assert cleaned == "caf ok"
    assert stats.undecodable_bytes == 1


def test_binary_file_given_explicitly_raises(tmp_path):
    path = write(tmp_path / "blob.bin", b"text\x00\x01\x02more")
    with pytest.raises(ValueError, match="binary"):
        read_pieces(path)
    with pytest.raises(ValueError, match="binary"):
        read_text([write(tmp_path / "ok.txt", "fine\n"), path])


def test_binary_file_inside_a_directory_is_skipped_and_listed(tmp_path):
    write(tmp_path / "d" / "a.txt", "A\n")
    blob = write(tmp_path / "d" / "b.txt", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(tmp_path / "d" / "c.txt", "C\n")
    cleaned, stats = read(tmp_path / "d")
    assert cleaned == "A\nC\n"
    assert stats.skipped_binary == [str(blob)]
    assert stats.files == 2
    assert "1 binary file(s) skipped" in stats.describe()


def test_directory_holding_only_binary_files_is_an_empty_corpus(tmp_path):
    write(tmp_path / "d" / "b.bin", b"\x00\x00")
    with pytest.raises(ValueError, match="empty"):
        read_pieces(tmp_path / "d")


def test_empty_corpus_raises(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_pieces(write(tmp_path / "empty.txt", b""))
    with pytest.raises(ValueError, match="empty"):
        read_pieces(write(tmp_path / "bad.txt", b"\xff\xfe"))
    with pytest.raises(ValueError, match="empty"):
        read_pieces(text="")
    symbols = write(tmp_path / "symbols.txt", "✓→€日本")
    # Folded to ASCII nothing is left; by default everything is.
    with pytest.raises(ValueError, match="empty"):
        read_pieces(symbols, data=ASCII)
    with pytest.raises(ValueError, match="empty"):
        load_corpus(text="✓✓✓", ascii=True)
    assert read_text(symbols) == "✓→€日本"


def test_no_sources_raises(tmp_path):
    with pytest.raises(ValueError, match="sources"):
        read_pieces([])


def test_missing_path_raises_file_not_found(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_pieces(missing)
    with pytest.raises(FileNotFoundError):
        read_text([write(tmp_path / "ok.txt", "x"), missing])


def test_directory_without_matching_files_raises(tmp_path):
    write(tmp_path / "d" / "a.txt", "A\n")
    write(tmp_path / "d" / ".git" / "b.py", "hidden\n")
    with pytest.raises(ValueError, match=r"\*\.py"):
        read_pieces(tmp_path / "d", data=DataConfig(pattern="*.py"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        read_pieces(tmp_path / "empty")


# Memory-mapped reading -------------------------------------------------------------

# Every kind of UTF-8 sequence, undecodable bytes and a combining accent in one file.
# é and Ñ are 2 bytes in UTF-8, ✓ is 3, 𝄞 is 4, U+0301 is 2; \xff and \xe2\x82 do
# not decode.
MIXED = "abéc✓d𝄞Ñ\n".encode() + b"x\xffy\xe2\x82z" + "Àµ cafe\u0301 end\n".encode() * 3
MIXED_READ = {
    False: ("abéc✓d𝄞Ñ\nxyz" + "Àµ café end\n" * 3, 0),
    True: ("abecdN\nxyz" + "Au cafe end\n" * 3, 2),  # ✓ and 𝄞 dropped
}


def memory_mapped(monkeypatch, chunk_bytes):
    """Memory-maps every file of more than 8 bytes, read `chunk_bytes` at a time;
    returns the list the chunks read are appended to."""
    chunks = []
    raw_chunks = text._raw_chunks

    def spy(path):
        for chunk in raw_chunks(path):
            chunks.append(chunk)
            yield chunk

    monkeypatch.setattr(text, "MMAP_THRESHOLD", 8)
    monkeypatch.setattr(text, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(text, "_raw_chunks", spy)
    return chunks


@pytest.mark.parametrize("ascii", [False, True])
def test_memory_mapped_reading_equals_plain_reading(tmp_path, monkeypatch, ascii):
    path = write(tmp_path / "big.txt", MIXED)
    data = DataConfig(ascii=ascii)
    plain, plain_stats = read(path, data)
    expected, dropped = MIXED_READ[ascii]
    assert plain == expected
    assert plain_stats.undecodable_bytes == 3
    assert plain_stats.dropped_characters == dropped
    assert plain_stats.characters == len(expected)

    for chunk_bytes in range(1, 65):
        with monkeypatch.context() as patch:
            chunks = memory_mapped(patch, chunk_bytes)
            mapped, mapped_stats = read(path, data)
        assert b"".join(chunks) == MIXED, chunk_bytes
        assert len(chunks) == -(-len(MIXED) // chunk_bytes), chunk_bytes
        assert mapped == plain, chunk_bytes
        assert mapped_stats == plain_stats, chunk_bytes


def test_memory_mapped_reading_splits_multibyte_characters(tmp_path, monkeypatch):
    # "abé": 61 62 | C3 A9 -- with 3-byte chunks "é" is cut after its first byte;
    # "日" (3 bytes) and "😀" (4 bytes) are cut too.
    content = "abéçëz日😀\n" * 5
    path = write(tmp_path / "big.txt", content)
    monkeypatch.setattr(text, "MMAP_THRESHOLD", 4)
    monkeypatch.setattr(text, "CHUNK_BYTES", 3)
    mapped_calls = []
    real_mmap = text.mmap.mmap

    def counting_mmap(*args, **kwargs):
        mapped_calls.append(args)
        return real_mmap(*args, **kwargs)

    monkeypatch.setattr(text.mmap, "mmap", counting_mmap)
    cleaned, stats = read(path)
    assert mapped_calls, "the large-file path did not memory-map"
    assert cleaned == content
    assert stats.undecodable_bytes == 0
    assert stats.dropped_characters == 0
    cleaned, stats = read(path, ASCII)
    assert cleaned == "abecez\n" * 5
    assert stats.dropped_characters == 10
    assert stats.undecodable_bytes == 0


def test_combining_accent_split_across_chunks_normalises_as_read_whole(
    tmp_path, monkeypatch
):
    # No newline between a letter and its accent, so no chunk boundary may
    # separate them when the text is normalised.
    content = "cafe\u0301 e\u0301te\u0301 A\u030a\n" * 4 + "fin e\u0301"
    path = write(tmp_path / "big.txt", content)
    whole = read(path)
    assert whole[0] == unicodedata.normalize("NFC", content)
    assert whole[0] == "café été Å\n" * 4 + "fin é"
    for chunk_bytes in range(1, 17):
        with monkeypatch.context() as patch:
            chunks = memory_mapped(patch, chunk_bytes)
            assert read(path) == whole, chunk_bytes
            assert len(chunks) > 1
    # Without normalisation the accents stay, however the file is cut.
    apart = read(path, DataConfig(normalize="none"))
    assert apart[0] == content
    with monkeypatch.context() as patch:
        memory_mapped(patch, 5)
        assert read(path, DataConfig(normalize="none")) == apart


def test_small_files_are_not_memory_mapped(tmp_path, monkeypatch):
    path = write(tmp_path / "small.txt", "small\n")

    def fail(*args, **kwargs):
        raise AssertionError("small file was memory-mapped")

    monkeypatch.setattr(text.mmap, "mmap", fail)
    assert read(path)[0] == "small\n"


# TextStats -------------------------------------------------------------------------


def test_lost_share_counts_undecodable_dropped_and_unknown():
    stats = TextStats(
        characters=90, undecodable_bytes=4, dropped_characters=6, unknown_characters=10
    )
    assert stats.lost_share == pytest.approx((4 + 6 + 10) / 100)
    assert TextStats().lost_share == 0.0
    assert TextStats(characters=50).lost_share == 0.0


def test_describe_mentions_what_was_found_and_lost():
    stats = TextStats(
        files=3,
        characters=12_345,
        undecodable_bytes=7,
        dropped_characters=5,
        unknown_characters=11,
        vocabulary_size=98,
    )
    line = stats.describe()
    for words in (
        "3 file(s)",
        "12,345 characters",
        "vocabulary 98",
        "unknown 11",
        "dropped 5",
        "7 undecodable",
    ):
        assert words in line, words
    assert "binary" not in line
    no_files = TextStats(characters=10).describe()
    assert "file" not in no_files and "10 characters" in no_files


def test_check_unknown_share():
    # `characters` counts the unknown characters too: they are kept, as one id.
    stats = TextStats(characters=100, unknown_characters=1)
    check_unknown_share(stats, 0.01)  # exactly 1%: allowed
    with pytest.raises(InputError, match="--max-unknown-share"):
        check_unknown_share(stats, 0.005)


# load_corpus -------------------------------------------------------------------


def test_load_corpus_from_text_keeps_unicode():
    raw = "def f(x):\n    return x  # ✓ café\n" * 2
    corpus = load_corpus(text=raw)
    assert corpus.vocabulary == Vocabulary.from_text(raw)
    assert corpus.vocabulary.unknown_id == corpus.vocabulary.size - 1
    assert {"✓", "é"} <= set(corpus.vocabulary.characters)
    assert corpus.vocabulary.decode(corpus.ids) == raw
    assert corpus.ids.dtype == np.uint8
    assert corpus.stats.characters == len(raw)
    assert corpus.stats.dropped_characters == 0
    assert corpus.stats.unknown_characters == 0
    assert corpus.stats.vocabulary_size == corpus.vocabulary.size
    assert corpus.stats.files == 0
    assert corpus.unknown_dropped == 0


def test_load_corpus_from_text_folded_to_ascii():
    raw = "Héllo wörld, çà et là ✓ " * 30
    corpus = load_corpus(text=raw, ascii=True, check=False)
    cleaned = "Hello world, ca et la  " * 30
    assert corpus.vocabulary.decode(corpus.ids) == cleaned
    assert corpus.vocabulary.characters.isascii()
    assert corpus.stats.dropped_characters == 30
    assert corpus.stats.lost_share == pytest.approx(30 / len(raw))


def test_load_corpus_text_lowercase():
    corpus = load_corpus(text="ABC abc ÉÉ éé", lowercase=True)
    assert corpus.vocabulary.characters == " abcé"
    assert corpus.vocabulary.decode(corpus.ids) == "abc abc éé éé"


def test_load_corpus_from_sources(tmp_path):
    write(tmp_path / "d" / "a.py", "x = 1\n")
    write(tmp_path / "d" / "b.py", "y = 2\n")
    write(tmp_path / "d" / "c.txt", "ignored\n")
    corpus = load_corpus(tmp_path / "d", pattern="*.py", min_char_count=1)
    assert corpus.vocabulary.decode(corpus.ids) == "x = 1\ny = 2\n"
    assert corpus.vocabulary.characters == "\n 12=xy"
    assert corpus.vocabulary.size == 8  # and the unknown id
    assert corpus.stats.files == 2
    # `data` gives the same settings as keyword options.
    same = load_corpus(
        tmp_path / "d", data=DataConfig(pattern="*.py", min_char_count=1)
    )
    assert same.vocabulary == corpus.vocabulary
    np.testing.assert_array_equal(same.ids, corpus.ids)


def test_rare_characters_become_the_unknown_id():
    raw = "abab\n" * 50 + "Ωé"  # Ω and é occur once
    corpus = load_corpus(text=raw)  # min_char_count is 2 by default
    vocabulary = corpus.vocabulary
    assert vocabulary.characters == "\nab"
    assert vocabulary.unknown_id == 3 and vocabulary.size == 4
    assert corpus.ids.tolist()[-2:] == [3, 3]
    assert corpus.vocabulary.decode(corpus.ids) == raw[:-2] + "\ufffd\ufffd"
    assert len(corpus.ids) == len(raw)  # nothing dropped
    assert corpus.stats.unknown_characters == 2
    assert corpus.unknown_dropped == 0
    assert "unknown 2" in corpus.stats.describe()

    every = load_corpus(text=raw, min_char_count=1)
    assert every.vocabulary.characters == "\nabéΩ"  # sorted by code point
    assert every.stats.unknown_characters == 0
    assert every.vocabulary.decode(every.ids) == raw

    # A character seen exactly `min_char_count` times is kept.
    rare = load_corpus(text="aaab" * 30 + "xx", min_char_count=3, check=False)
    assert set(rare.vocabulary.characters) == {"a", "b"}
    assert rare.stats.unknown_characters == 2
    kept = load_corpus(text="aaab" * 30 + "xx", min_char_count=2)
    assert "x" in kept.vocabulary


def test_too_large_an_unknown_share_is_refused_naming_the_setting():
    raw = "abab\n" * 10 + "Ω"  # 1 unknown character of 51: 1.96%
    with pytest.raises(InputError, match="--max-unknown-share") as info:
        load_corpus(text=raw)
    assert isinstance(info.value, ValueError)
    assert "max_unknown_share=0.02" in str(info.value)
    # Accepted with a larger share, or unchecked.
    accepted = load_corpus(text=raw, max_unknown_share=0.02)
    assert accepted.stats.unknown_characters == 1
    unchecked = load_corpus(text=raw, check=False)
    assert unchecked.stats.lost_share == pytest.approx(1 / 51)
    np.testing.assert_array_equal(unchecked.ids, accepted.ids)
    # Exactly 1% is allowed.
    assert load_corpus(text="a" * 99 + "Ω").stats.unknown_characters == 1
    with pytest.raises(InputError, match="--max-unknown-share"):
        load_corpus(text="a" * 98 + "Ω")


def test_dropped_and_undecodable_count_towards_the_unknown_share(tmp_path):
    folded = "abab\n" * 10 + "✓✓"
    with pytest.raises(InputError, match="--max-unknown-share"):
        load_corpus(text=folded, ascii=True)
    assert load_corpus(text=folded, ascii=True, max_unknown_share=0.05).ids.size == 50
    assert load_corpus(text=folded, min_char_count=1).stats.lost_share == 0

    path = write(tmp_path / "bad.txt", b"abab\n" * 10 + b"\xff\xfe")
    with pytest.raises(InputError, match="--max-unknown-share") as info:
        load_corpus(path)
    assert "2 undecodable" in str(info.value)
    corpus = load_corpus(path, max_unknown_share=0.05)
    assert corpus.stats.undecodable_bytes == 2
    assert corpus.vocabulary.decode(corpus.ids) == "abab\n" * 10
    assert load_corpus(path, check=False).stats.lost_share == pytest.approx(2 / 52)


def test_a_given_vocabulary_with_an_unknown_id_maps_other_characters_to_it(tmp_path):
    vocabulary = Vocabulary("abc ", unknown=True)
    corpus = load_corpus(text="abc xyz cab!", vocabulary=vocabulary, check=False)
    assert corpus.vocabulary is vocabulary
    assert corpus.vocabulary.decode(corpus.ids) == "abc \ufffd\ufffd\ufffd cab\ufffd"
    assert len(corpus.ids) == 12  # nothing dropped
    assert corpus.stats.unknown_characters == 4  # x, y, z, !
    assert corpus.stats.vocabulary_size == 5
    assert corpus.unknown_dropped == 0
    assert corpus.ids.dtype == vocabulary.dtype
    with pytest.raises(InputError, match="--max-unknown-share"):
        load_corpus(text="abc xyz cab!", vocabulary=vocabulary)

    path = write(tmp_path / "f.txt", "a-b-c\n")
    corpus = load_corpus(path, vocabulary=vocabulary, check=False)
    assert corpus.vocabulary.decode(corpus.ids) == "a\ufffdb\ufffdc\ufffd"
    assert corpus.stats.unknown_characters == 3
    assert corpus.unknown_dropped == 0


def test_a_given_vocabulary_without_an_unknown_id_drops_other_characters(tmp_path):
    vocabulary = Vocabulary("abc ")  # as written before Unicode corpora
    corpus = load_corpus(text="abc xyz cab!", vocabulary=vocabulary, check=False)
    assert corpus.vocabulary is vocabulary
    assert corpus.vocabulary.decode(corpus.ids) == "abc  cab"
    assert corpus.unknown_dropped == 4  # x, y, z, !
    assert corpus.stats.unknown_characters == 4
    assert corpus.stats.vocabulary_size == 4
    assert corpus.ids.dtype == vocabulary.dtype

    path = write(tmp_path / "f.txt", "a-b-c\n")
    corpus = load_corpus(path, vocabulary=vocabulary, check=False)
    assert corpus.vocabulary.decode(corpus.ids) == "abc"
    assert corpus.unknown_dropped == 3
    # Within the allowed share nothing is refused.
    corpus = load_corpus(text="abc " * 30 + "é", vocabulary=vocabulary)
    assert corpus.unknown_dropped == 1 and len(corpus.ids) == 120


def test_load_corpus_in_word_mode():
    raw = "naïve = переменная + naïve\nпеременная = 1\n"
    corpus = load_corpus(text=raw, tokens="word", min_char_count=1)
    vocabulary = corpus.vocabulary
    assert isinstance(vocabulary, TokenVocabulary)
    assert {"naïve", "переменная"} <= set(vocabulary.tokens)
    assert vocabulary.unknown_id == vocabulary.size - 1
    assert vocabulary.decode(corpus.ids) == raw
    assert corpus.stats.vocabulary_size == vocabulary.size
    # Rare characters become the unknown id in word mode too.
    rare = load_corpus(text=raw * 3 + "Ω", tokens="word", max_unknown_share=0.05)
    assert "Ω" not in rare.vocabulary
    assert rare.stats.unknown_characters == 1
    assert rare.ids[-1] == rare.vocabulary.unknown_id
    assert rare.unknown_dropped == 0


def test_default_corpus_paths_are_existing_python_files():
    paths = default_corpus_paths()
    assert paths
    assert paths == sorted(paths)
    assert len(set(paths)) == len(paths)
    for path in paths:
        assert isinstance(path, Path)
        assert path.suffix == ".py"
        assert path.is_file()


def test_default_corpus_paths_stop_near_max_characters():
    assert len(default_corpus_paths(max_characters=1)) == 1
    paths = default_corpus_paths(max_characters=50_000)
    sizes = [p.stat().st_size for p in paths]
    # Files are added until the total first reaches the limit, then it stops.
    assert sum(sizes[:-1]) < 50_000 <= sum(sizes)
