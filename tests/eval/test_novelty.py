import numpy as np
import pytest

from charlstm.eval import novelty
from charlstm.eval.novelty import NoveltyIndex, window_hashes


def naive_copied(corpus: str, text: str, size: int) -> list[bool]:
    return [text[i : i + size] in corpus for i in range(len(text) - size + 1)]


def test_copied_share_on_a_crafted_corpus():
    index = NoveltyIndex("the quick brown fox", sizes=(5,))
    # Windows of "quick brownie": the 7 up to "brown" are in the corpus,
    # "rowni" and "ownie" are not.
    result = index.copied_share(["quick brownie"])
    assert result == {"copied_5": 7 / 9, "windows_5": 9}
    assert index.copied_mask("quick brownie", 5).tolist() == [True] * 7 + [False] * 2


def test_copied_20_and_50_windows_against_a_naive_scan():
    rng = np.random.default_rng(0)
    corpus = "".join(rng.choice(list("abcd \n"), size=20_000))
    copied = corpus[5000:5080]  # 80 characters copied verbatim
    mutated = copied[:40] + "X" + copied[41:]
    texts = [copied, mutated, "short", "".join(rng.choice(list("abcd"), size=120))]
    index = NoveltyIndex(corpus, sizes=(20, 50))
    result = index.copied_share(texts)
    for size in (20, 50):
        expected = [c for t in texts for c in naive_copied(corpus, t, size)]
        assert result[f"windows_{size}"] == len(expected)
        assert result[f"copied_{size}"] == pytest.approx(np.mean(expected))
    # The verbatim copy is fully copied; the mutation breaks every 50-window.
    assert index.copied_share(copied)["copied_50"] == 1.0
    assert index.copied_share(mutated)["copied_50"] == 0.0


def test_per_text_counts_match_a_naive_scan_and_windows_stay_inside_texts():
    rng = np.random.default_rng(1)
    corpus = "".join(rng.choice(list("ab c\n"), size=3000))
    texts = ["".join(rng.choice(list("ab c\nd"), size=n)) for n in range(0, 30)]
    index = NoveltyIndex(corpus, sizes=(1, 3, 7))
    for size in (1, 3, 7):
        found, windows = index.copied_counts(texts, size)
        assert found.tolist() == [sum(naive_copied(corpus, t, size)) for t in texts]
        assert windows.tolist() == [max(0, len(t) - size + 1) for t in texts]
    # "abc" + "def": the windows spanning the two texts are not checked.
    index = NoveltyIndex("abcdef", sizes=(4,))
    assert index.copied_share(["abc", "def"]) == {"copied_4": None, "windows_4": 0}
    assert index.copied_share(["abcdef"]) == {"copied_4": 1.0, "windows_4": 3}


def test_hashes_are_the_same_across_chunks(monkeypatch):
    rng = np.random.default_rng(2)
    text = "".join(rng.choice(list("abcdefgh \n"), size=500))
    whole = window_hashes(text, 20)
    monkeypatch.setattr(novelty, "_CHUNK", 7)
    assert np.array_equal(window_hashes(text, 20), whole)
    assert len(whole) == 481


def test_distinct_windows_get_distinct_hashes():
    rng = np.random.default_rng(3)
    text = "".join(rng.choice(list("ab"), size=20_000))  # many near-equal windows
    for size in (8, 13, 20):
        windows = {text[i : i + size] for i in range(len(text) - size + 1)}
        assert len(set(window_hashes(text, size).tolist())) == len(windows)


def test_non_ascii_text_and_bytes_corpus():
    index = NoveltyIndex("héllo wörld", sizes=(3,))
    assert index.copied_mask("wörl", 3).tolist() == [True, True]
    assert index.copied_mask("worl", 3).tolist() == [False, False]
    ascii_index = NoveltyIndex(bytearray(b"hello world"), sizes=(3,))
    assert ascii_index.copied_mask("world!", 3).tolist() == [True, True, True, False]


def test_a_corpus_shorter_than_the_window_copies_nothing():
    index = NoveltyIndex("abc", sizes=(5,))
    assert index.copied_share(["abcdefg"]) == {"copied_5": 0.0, "windows_5": 3}


def test_bad_sizes():
    with pytest.raises(ValueError, match="distinct"):
        NoveltyIndex("abc", sizes=(3, 3))
    with pytest.raises(ValueError, match="sizes"):
        NoveltyIndex("abc", sizes=(0,))
    with pytest.raises(ValueError, match="indexed sizes"):
        NoveltyIndex("abcdef", sizes=(3,)).copied_mask("abc", 4)
