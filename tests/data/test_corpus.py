"""Tests for charlstm.data.corpus: cleaning, reading files and directories,
load_corpus."""

from pathlib import Path

import numpy as np
import pytest

from charlstm.data import corpus as text
from charlstm.data.corpus import (
    clean_text,
    default_corpus_paths,
    load_corpus,
    read_bytes,
    read_text,
)
from charlstm.data.vocabulary import Vocabulary

ACCENTED = {
    "a": "àáâãäå",
    "c": "ç",
    "e": "èéë",
    "i": "ìíï",
    "o": "òóõö",
    "n": "ñ",
    "u": "ùúüµ",
}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# clean_text ---------------------------------------------------------------------


@pytest.mark.parametrize("base, accented", sorted(ACCENTED.items()))
def test_clean_text_maps_accented_lowercase_letters_to_their_base(base, accented):
    assert clean_text(accented) == base * len(accented)


@pytest.mark.parametrize("base, accented", sorted(ACCENTED.items()))
def test_clean_text_maps_accented_uppercase_letters_to_uppercase_base(base, accented):
    # µ (micro sign) has no Latin uppercase form; the others do.
    upper = accented.replace("µ", "").upper()
    assert upper != accented.replace("µ", "")
    assert clean_text(upper) == base.upper() * len(upper)


def test_clean_text_drops_every_other_non_ascii_character():
    # ê, î, ô, û, ý, ÿ, ß are not in the table; neither are symbols or emoji.
    raw = "ê|î|ô|û|ý|ÿ|ß|✓|→|“q”|€|😀|日本|\ufffd|x"
    assert clean_text(raw) == "|" * 9 + "q" + "|" * 5 + "x"


def test_clean_text_keeps_ascii_unchanged_including_control_characters():
    raw = "def f(x):\n\treturn x ** 2  # OK!\r\n" + "".join(map(chr, range(128)))
    assert clean_text(raw) == raw


def test_clean_text_mixed_and_lowercase():
    assert clean_text("Café µ-law ✓") == "Cafe u-law "
    assert clean_text("Café µ-law ✓", lowercase=True) == "cafe u-law "
    assert clean_text("ÀÇÈÌÑÒÙ Déjà Vu", lowercase=True) == "aceinou deja vu"
    assert clean_text("ÀÇÈÌÑÒÙ Déjà Vu") == "ACEINOU Deja Vu"


def test_clean_text_result_is_ascii():
    raw = "".join(chr(c) for c in range(0, 0x3000, 7))
    assert clean_text(raw).isascii()


# read_bytes / read_text: files and directories -------------------------------------


def test_read_one_file(tmp_path):
    path = write(tmp_path / "a.txt", "Héllo, wörld ✓\n")
    data, stats = read_bytes(path)
    assert data == b"Hello, world \n"
    assert stats.files == 1
    assert stats.characters == len(data)
    assert stats.dropped_characters == 1  # the check mark
    assert stats.replaced_bytes == 0
    assert stats.skipped_binary == []
    assert read_text(str(path)) == "Hello, world \n"


def test_read_several_files_in_the_given_order(tmp_path):
    a = write(tmp_path / "a.txt", "first\n")
    b = write(tmp_path / "b.txt", "second\n")
    assert read_text([b, a]) == "second\nfirst\n"
    data, stats = read_bytes([a, b])
    assert data == b"first\nsecond\n"
    assert stats.files == 2


def test_read_text_lowercase(tmp_path):
    path = write(tmp_path / "a.txt", "MiXeD Ç\n")
    assert read_text(path, lowercase=True) == "mixed c\n"
    assert read_text(path) == "MiXeD C\n"


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

    data, stats = read_bytes(root, pattern="*.py")
    assert data == b"A\nBC\nBZ\nD\n"
    assert stats.files == 4
    # Stable: the same answer every time.
    assert read_bytes(root, pattern="*.py")[0] == data
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


def test_undecodable_bytes_are_replaced_counted_and_dropped(tmp_path):
    path = write(tmp_path / "bad.txt", b"ok\xff\xfeok\n")
    data, stats = read_bytes(path)
    assert data == b"okok\n"
    assert stats.replaced_bytes == 2


def test_truncated_utf8_at_end_of_file_is_replaced_not_fatal(tmp_path):
    path = write(tmp_path / "bad.txt", b"abc\xe2\x82")  # first two bytes of "€"
    data, stats = read_bytes(path)
    assert data == b"abc"
    assert stats.replaced_bytes == 1


def test_latin1_file_is_read_with_replacements(tmp_path):
    path = write(tmp_path / "latin1.txt", "café ok".encode("latin-1"))
    data, stats = read_bytes(path)
    assert data == b"caf ok"
    assert stats.replaced_bytes == 1


def test_binary_file_given_explicitly_raises(tmp_path):
    path = write(tmp_path / "blob.bin", b"text\x00\x01\x02more")
    with pytest.raises(ValueError, match="binary"):
        read_bytes(path)
    with pytest.raises(ValueError, match="binary"):
        read_text([write(tmp_path / "ok.txt", "fine\n"), path])


def test_binary_file_inside_a_directory_is_skipped_and_listed(tmp_path):
    write(tmp_path / "d" / "a.txt", "A\n")
    blob = write(tmp_path / "d" / "b.txt", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(tmp_path / "d" / "c.txt", "C\n")
    data, stats = read_bytes(tmp_path / "d")
    assert data == b"A\nC\n"
    assert stats.skipped_binary == [str(blob)]
    assert stats.files == 2


def test_directory_holding_only_binary_files_is_an_empty_corpus(tmp_path):
    write(tmp_path / "d" / "b.bin", b"\x00\x00")
    with pytest.raises(ValueError, match="empty"):
        read_bytes(tmp_path / "d")


@pytest.mark.parametrize("content", [b"", "✓→€ 日本".replace(" ", "").encode()])
def test_empty_corpus_raises(tmp_path, content):
    path = write(tmp_path / "empty.txt", content)
    with pytest.raises(ValueError, match="empty"):
        read_bytes(path)


def test_no_sources_raises(tmp_path):
    with pytest.raises(ValueError, match="sources"):
        read_bytes([])


def test_missing_path_raises_file_not_found(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_bytes(missing)
    with pytest.raises(FileNotFoundError):
        read_text([write(tmp_path / "ok.txt", "x"), missing])


def test_directory_without_matching_files_raises(tmp_path):
    write(tmp_path / "d" / "a.txt", "A\n")
    write(tmp_path / "d" / ".git" / "b.py", "hidden\n")
    with pytest.raises(ValueError, match=r"\*\.py"):
        read_bytes(tmp_path / "d", pattern="*.py")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        read_bytes(tmp_path / "empty")


# Memory-mapped reading -------------------------------------------------------------

# Every kind of UTF-8 sequence, plus undecodable bytes, in one file.
# é and Ñ are 2 bytes in UTF-8, ✓ is 3, 𝄞 is 4; \xff and \xe2\x82 do not decode.
MIXED = "abéc✓d𝄞Ñ\n".encode() + b"x\xffy\xe2\x82z" + "Àµ end\n".encode() * 3
MIXED_CLEAN = b"abecdN\nxyz" + b"Au end\n" * 3


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 4, 5, 7, 64])
def test_memory_mapped_reading_equals_plain_reading(tmp_path, monkeypatch, chunk_bytes):
    path = write(tmp_path / "big.txt", MIXED)
    plain, plain_stats = read_bytes(path)
    assert plain == MIXED_CLEAN

    chunks = []
    raw_chunks = text._raw_chunks

    def spy(p):
        for chunk in raw_chunks(p):
            chunks.append(chunk)
            yield chunk

    monkeypatch.setattr(text, "MMAP_THRESHOLD", 8)
    monkeypatch.setattr(text, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(text, "_raw_chunks", spy)
    mapped, mapped_stats = read_bytes(path)

    assert b"".join(chunks) == MIXED
    assert len(chunks) == -(-len(MIXED) // chunk_bytes)
    assert mapped == plain
    assert mapped_stats == plain_stats
    assert mapped_stats.replaced_bytes == 2


def test_memory_mapped_reading_splits_a_multibyte_character(tmp_path, monkeypatch):
    # "abé": 61 62 | C3 A9 -- with 3-byte chunks "é" is cut after its first byte.
    path = write(tmp_path / "big.txt", "abéçëz" * 5)
    monkeypatch.setattr(text, "MMAP_THRESHOLD", 4)
    monkeypatch.setattr(text, "CHUNK_BYTES", 3)
    mapped_calls = []
    real_mmap = text.mmap.mmap

    def counting_mmap(*args, **kwargs):
        mapped_calls.append(args)
        return real_mmap(*args, **kwargs)

    monkeypatch.setattr(text.mmap, "mmap", counting_mmap)
    data, stats = read_bytes(path)
    assert mapped_calls, "the large-file path did not memory-map"
    assert data == b"abecez" * 5
    assert stats.replaced_bytes == 0
    assert stats.dropped_characters == 0


def test_small_files_are_not_memory_mapped(tmp_path, monkeypatch):
    path = write(tmp_path / "small.txt", "small\n")

    def fail(*args, **kwargs):
        raise AssertionError("small file was memory-mapped")

    monkeypatch.setattr(text.mmap, "mmap", fail)
    assert read_bytes(path)[0] == b"small\n"


# load_corpus and the default corpus -----------------------------------------------


def test_load_corpus_from_text():
    corpus = load_corpus(text="def f(x):\n    return x  # ✓ café\n")
    cleaned = "def f(x):\n    return x  #  cafe\n"
    assert corpus.vocabulary == Vocabulary.from_text(cleaned)
    assert corpus.vocabulary.decode(corpus.ids) == cleaned
    assert corpus.ids.dtype == np.uint8
    assert corpus.stats.characters == len(cleaned)
    assert corpus.stats.dropped_characters == 1
    assert corpus.stats.files == 0
    assert corpus.unknown_dropped == 0


def test_load_corpus_text_lowercase():
    corpus = load_corpus(text="ABC abc", lowercase=True)
    assert corpus.vocabulary.characters == " abc"
    assert corpus.vocabulary.decode(corpus.ids) == "abc abc"


def test_load_corpus_text_empty_after_cleaning_raises():
    with pytest.raises(ValueError, match="empty"):
        load_corpus(text="✓✓✓")


def test_load_corpus_from_sources(tmp_path):
    write(tmp_path / "d" / "a.py", "x = 1\n")
    write(tmp_path / "d" / "b.py", "y = 2\n")
    write(tmp_path / "d" / "c.txt", "ignored\n")
    corpus = load_corpus(tmp_path / "d", pattern="*.py")
    assert corpus.vocabulary.decode(corpus.ids) == "x = 1\ny = 2\n"
    assert corpus.vocabulary.characters == "\n 12=xy"
    assert corpus.stats.files == 2


def test_load_corpus_with_a_given_vocabulary_drops_unknown_characters(tmp_path):
    vocabulary = Vocabulary("abc ")
    corpus = load_corpus(text="abc xyz cab!", vocabulary=vocabulary)
    assert corpus.vocabulary is vocabulary
    assert corpus.vocabulary.decode(corpus.ids) == "abc  cab"
    assert corpus.unknown_dropped == 4  # x, y, z, !
    assert corpus.ids.dtype == vocabulary.dtype

    path = write(tmp_path / "f.txt", "a-b-c\n")
    corpus = load_corpus(path, vocabulary=vocabulary)
    assert corpus.vocabulary.decode(corpus.ids) == "abc"
    assert corpus.unknown_dropped == 3


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
