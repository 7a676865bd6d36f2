"""Novelty of generated text: how much of it is copied verbatim from the corpus.

`NoveltyIndex` hashes every window of `size` characters of the training text
once (a sorted array of 64-bit hashes per size); a generated window is looked up
with a binary search (`np.searchsorted`), so checking a text costs
O(windows * log(corpus)) instead of a scan of the corpus per window.

The hash of a window is two polynomial hashes modulo the primes 2^31 - 1 and
2^31 - 19, side by side in one uint64; all windows of a text are computed at
once by doubling (the hash of a 2m-window from two m-windows), in numpy. Two
different windows of n characters get the same pair of hashes with probability
at most ((n - 1) / 2^31)^2 for randomly drawn bases (about 5e-16 at n = 50), so
a novel window is wrongly counted as copied with probability at most that times
the number of distinct windows of the corpus: below 1e-7 for a 100 MB corpus.
The bases are fixed, so results are reproducible. There is no false negative:
a copied window is always found.

Memory: 8 bytes per window and size (1.6 GB for a 100 MB corpus and two sizes),
plus about 250 MB of temporaries while hashing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from charlstm.utils.checks import InputError, check_count

# Two Mersenne-size primes and fixed bases (drawn once at random below them).
_MODULI = (2_147_483_647, 2_147_483_629)
_BASES = (1_076_056_273, 1_605_479_831)
# Windows hashed per chunk: bounds the temporaries (~6 uint64 arrays of this size).
_CHUNK = 1 << 22


def _codes(text) -> np.ndarray:
    """The character codes of `text` as uint64: bytes are one character each."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = np.frombuffer(text, dtype=np.uint8)
    elif isinstance(text, str):
        if text.isascii():
            data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        else:
            data = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    else:
        raise InputError(f"`text` must be a str or bytes. Received: {type(text)}")
    return data


def _poly_hashes(codes: np.ndarray, size: int, modulus: int, base: int) -> np.ndarray:
    """Polynomial hashes mod `modulus` of every `size`-window of `codes`, by
    doubling: (len(codes) - size + 1,) uint64."""
    m = np.uint64(modulus)
    block = codes.astype(np.uint64) % m  # hashes of 1-windows
    block_len = 1
    acc, acc_len = None, 0  # hash of the first acc_len characters of each window
    remaining = size
    while True:
        if remaining & 1:
            if acc is None:
                acc, acc_len = block, block_len
            else:
                valid = len(codes) - acc_len - block_len + 1
                shift = np.uint64(pow(base, block_len, modulus))
                acc = (acc[:valid] * shift + block[acc_len : acc_len + valid]) % m
                acc_len += block_len
        remaining >>= 1
        if not remaining:
            break
        valid = len(codes) - 2 * block_len + 1
        shift = np.uint64(pow(base, block_len, modulus))
        block = (block[:valid] * shift + block[block_len : block_len + valid]) % m
        block_len *= 2
    return acc


def window_hashes(text, size: int) -> np.ndarray:
    """64-bit hashes of every window of `size` characters of `text`.

    Args:
        text: str, bytes or a 1-D array of character codes.
        size: int. Window length in characters.

    Returns:
        (max(0, len(text) - size + 1),) uint64, in window order.

    Example:
    >>> h = window_hashes("abcabc", 3)
    >>> bool(h[0] == h[3]), bool(h[0] == h[1])
    (True, False)
    """
    check_count("size", size)
    codes = text if isinstance(text, np.ndarray) else _codes(text)
    windows = len(codes) - size + 1
    out = np.empty(max(0, windows), dtype=np.uint64)  # (windows,)
    for start in range(0, max(0, windows), _CHUNK):
        stop = min(windows, start + _CHUNK)
        part = codes[start : stop + size - 1]
        high = _poly_hashes(part, size, _MODULI[0], _BASES[0])
        low = _poly_hashes(part, size, _MODULI[1], _BASES[1])
        out[start:stop] = (high << np.uint64(32)) | low
    return out


class NoveltyIndex:
    """Every window of `sizes` characters of a training text, for exact-copy lookup.

    Args:
        text: str or bytes. The training corpus (bytes count as one character
            each).
        sizes: tuple of int. Window lengths to index.

    Example:
    >>> index = NoveltyIndex("the quick brown fox", sizes=(5,))
    >>> index.copied_share(["quick brownie"])
    {'copied_5': 0.7777777777777778, 'windows_5': 9}
    """

    def __init__(self, text, sizes: Sequence[int] = (20, 50)):
        sizes = tuple(sizes)
        if not sizes or len(set(sizes)) != len(sizes):
            raise InputError(
                f"`sizes` must be distinct window lengths. Received: sizes={sizes!r}"
            )
        for size in sizes:
            check_count("sizes", size)
        codes = _codes(text)
        self.sizes = sizes
        self.characters = len(codes)
        self._sorted = {}
        for size in sizes:
            hashes = window_hashes(codes, size)
            hashes.sort()
            self._sorted[size] = hashes

    def _table(self, size: int) -> np.ndarray:
        if size not in self._sorted:
            raise InputError(
                f"`size` must be one of the indexed sizes {self.sizes}. "
                f"Received: size={size!r}"
            )
        return self._sorted[size]

    def _found(self, table: np.ndarray, queries: np.ndarray) -> np.ndarray:
        if not len(table) or not len(queries):
            return np.zeros(len(queries), dtype=bool)
        order = np.argsort(queries)  # sorted keys: each search starts at the last
        at = np.minimum(np.searchsorted(table, queries[order]), len(table) - 1)
        found = np.empty(len(queries), dtype=bool)
        found[order] = table[at] == queries[order]
        return found

    def copied_mask(self, text: str, size: int) -> np.ndarray:
        """For each window of `size` characters of `text`, whether it occurs
        verbatim in the training text: (windows,) bool."""
        table = self._table(size)
        return self._found(table, window_hashes(text, size))

    def copied_counts(
        self, texts: Sequence[str], size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per text, how many of its `size`-windows occur verbatim in the training
        text, and how many windows it has: two (len(texts),) int64 arrays.

        The texts are hashed together (one pass, one search); windows that
        would span two texts are left out.
        """
        table = self._table(size)
        codes = [_codes(t) for t in texts]
        lengths = np.array([len(c) for c in codes], dtype=np.int64)  # (texts,)
        windows = np.maximum(lengths - size + 1, 0)  # (texts,)
        found = np.zeros(len(codes), dtype=np.int64)
        if not windows.sum():
            return found, windows
        wide = np.uint32 if any(c.dtype == np.uint32 for c in codes) else np.uint8
        joined = np.concatenate([c.astype(wide) for c in codes])  # (characters,)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # (texts,)
        hits = self._found(table, window_hashes(joined, size))
        # Window i belongs to text t if it starts in t and ends inside it.
        owner = np.repeat(np.arange(len(codes)), lengths)[: len(hits)]
        inside = np.arange(len(hits)) + size <= (starts + lengths)[owner]
        np.add.at(found, owner[inside], hits[inside])
        return found, windows

    def copied_share(self, texts: str | Sequence[str]) -> dict:
        """The share of generated windows that occur verbatim in the training text.

        Windows lie inside one text (none spans two texts); shares are pooled
        over all windows of all texts.

        Args:
            texts: str or list of str. Generated texts.

        Returns:
            dict with, per size n, `copied_n` (share of the n-character windows
            found in the corpus, in [0, 1]; None when no text has n characters)
            and `windows_n` (how many windows were checked). The novel share is
            1 - copied_n.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        result = {}
        for size in self.sizes:
            found, windows = self.copied_counts(texts, size)
            checked = int(windows.sum())
            result[f"copied_{size}"] = int(found.sum()) / checked if checked else None
            result[f"windows_{size}"] = checked
        return result
