"""Novelty lookup speed: `NoveltyIndex` against a substring scan per window.

Builds a corpus of `--corpus-chars` characters (the embedded default corpus,
repeated with a counter if needed so windows stay distinct), draws `--texts`
"generated" texts of `--text-chars` characters (half copied from the corpus,
half from a held-out file mix), and times:

- the naive check, `window in corpus` for every 20- and 50-character window
  (timed on at most `--naive-windows` windows, then scaled to all of them);
- `NoveltyIndex(corpus)`: the one-off build (hash and sort every window);
- `index.copied_share(texts)`: the lookups.

It checks that both give the same shares on the windows the naive scan saw, and
prints a Markdown table with each time and its ratio to the naive scan, all
measured in this run.

Run by hand, alone on the machine (the target size: a 100 MB corpus):

    python benchmarks/novelty_speed.py --corpus-chars 100000000 --texts 1000

Smoke test: `python benchmarks/novelty_speed.py --corpus-chars 200000 --texts 20
--naive-windows 200`.
"""

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from charlstm.data.corpus import default_corpus_paths, read_text  # noqa: E402
from charlstm.eval.novelty import NoveltyIndex  # noqa: E402

SIZES = (20, 50)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_corpus(chars: int) -> tuple[str, str]:
    """(corpus of `chars` characters, held-out text not in it)."""
    paths = default_corpus_paths(max_characters=10**9)
    held_out = read_text(paths[-3:])
    source = read_text(paths[:-3])
    parts, size, copy = [], 0, 0
    while size < chars:
        part = source if copy == 0 else f"# copy {copy}\n{source}"
        parts.append(part)
        size += len(part)
        copy += 1
    return "".join(parts)[:chars], held_out


def draw_texts(corpus: str, held_out: str, count: int, length: int, rng) -> list:
    texts = []
    for i in range(count):
        source = corpus if i % 2 == 0 else held_out
        start = int(rng.integers(0, max(1, len(source) - length)))
        texts.append(source[start : start + length])
    return texts


def naive(corpus: str, texts: list, size: int, limit: int) -> tuple[float, int, int]:
    """(seconds per window, windows checked, windows found) of the scan."""
    windows = [t[i : i + size] for t in texts for i in range(len(t) - size + 1)]
    step = max(1, len(windows) // limit)
    sample = windows[::step][:limit]
    start = time.perf_counter()
    found = sum(window in corpus for window in sample)
    return (time.perf_counter() - start) / len(sample), len(sample), found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-chars", type=int, default=10_000_000)
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--text-chars", type=int, default=400)
    parser.add_argument("--naive-windows", type=int, default=2000)
    parser.add_argument("--random-seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.random_seed)
    log(f"building a corpus of {args.corpus_chars:,} characters")
    corpus, held_out = build_corpus(args.corpus_chars)
    texts = draw_texts(corpus, held_out, args.texts, args.text_chars, rng)
    windows = {n: sum(max(0, len(t) - n + 1) for t in texts) for n in SIZES}

    log("naive scan")
    scan = {n: naive(corpus, texts, n, args.naive_windows) for n in SIZES}
    naive_total = sum(scan[n][0] * windows[n] for n in SIZES)

    log("index build")
    start = time.perf_counter()
    index = NoveltyIndex(corpus, SIZES)
    build = time.perf_counter() - start
    log("index lookups")
    start = time.perf_counter()
    shares = index.copied_share(texts)
    lookup = time.perf_counter() - start

    # Same answers on the naive sample (exactness check, not timed).
    for n in SIZES:
        all_windows = [t[i : i + n] for t in texts for i in range(len(t) - n + 1)]
        step = max(1, len(all_windows) // args.naive_windows)
        sample = all_windows[::step][: args.naive_windows]
        joined = "\x00".join(sample)
        mask = index.copied_mask(joined, n)[:: n + 1]
        assert int(mask.sum()) == scan[n][2], f"index and scan disagree at n={n}"

    print(
        f"Corpus {len(corpus):,} characters; {len(texts)} texts of "
        f"{args.text_chars} characters ({windows[20]:,} 20-windows, "
        f"{windows[50]:,} 50-windows); copied_20 {shares['copied_20']:.3f}, "
        f"copied_50 {shares['copied_50']:.3f}. Python {platform.python_version()}, "
        f"numpy {np.__version__}.\n"
    )
    print("| method | seconds | ratio to the naive scan |")
    print("|---|---:|---:|")
    rows = [
        ("naive `window in corpus` (scaled from the sample)", naive_total),
        ("NoveltyIndex build (once per corpus)", build),
        ("NoveltyIndex lookups", lookup),
        ("NoveltyIndex build + lookups", build + lookup),
    ]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / naive_total:.4f} |")
    for n in SIZES:
        print(
            f"\nnaive n={n}: {scan[n][0] * 1e3:.3f} ms per window "
            f"({scan[n][1]} windows timed)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
