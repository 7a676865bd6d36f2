"""Code search on the standard library: MRR of each encoder, two seeds each.

The (docstring, code) pairs of every documented function in this Python's
standard library (site-packages left out) are split by file, 80% / 20%; every
encoder is trained on the train files with `SearchConfig`'s defaults (no
tuning, for any of them) and ranked on the test files as CodeSearchNet ranks
(each query against its own code and 999 others). Each runs with two seeds,
which change the split, the initialisation and the batches; the table gives
both figures and their mean.

Run by hand, alone on the machine:

    python benchmarks/code_search.py --char-run runs/stdlib

`--char-run` adds the charlstm code encoder (a trained charlstm run's states).
Prints a Markdown table; progress goes to stderr.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--char-run", help="a charlstm run for the charlstm encoder")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--encoders", default="nbow,bilstm")
    args = parser.parse_args()

    from charlstm.search.model import CodeSearch, SearchConfig
    from charlstm.search.pairs import extract_pairs, split_by_file

    stdlib = Path(os.__file__).parent
    sources = sorted(p for p in stdlib.iterdir() if p.name != "site-packages")
    start = time.monotonic()
    pairs, skipped = extract_pairs(sources)
    files = len({p.path for p in pairs})
    log(
        f"{len(pairs):,} pairs in {files:,} files ({skipped} skipped), "
        f"{time.monotonic() - start:.0f} s"
    )
    contenders = [
        (
            kind,
            dict(encoder=kind, query_encoder="bilstm" if kind == "bilstm" else "nbow"),
        )
        for kind in args.encoders.split(",")
    ]
    if args.char_run:
        contenders.append(
            ("charlstm", dict(encoder="charlstm", char_run=args.char_run))
        )
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name, settings in contenders:
        figures = []
        for seed in seeds:
            config = SearchConfig(**settings, epochs=args.epochs, random_seed=seed)
            train, test = split_by_file(pairs, config.test_share, seed)
            start = time.monotonic()
            search = CodeSearch.for_pairs(config, train)
            search.fit(train)
            result = search.evaluate(test)
            result["seconds"] = time.monotonic() - start
            result["test"] = len(test)
            figures.append(result)
            log(
                f"{name} seed {seed}: MRR {result['mrr']:.3f} "
                f"({result['seconds']:.0f} s, {len(train):,} train, {len(test):,} test)"
            )
        rows.append((name, figures))
    print(
        "| code encoder | MRR, each seed | mean MRR | recall@1 | recall@10 | "
        "test queries | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, figures in rows:
        mrrs = [f["mrr"] for f in figures]

        def mean(key, figures=figures):
            return sum(f[key] for f in figures) / len(figures)

        print(
            f"| {name} | {', '.join(f'{m:.3f}' for m in mrrs)} | "
            f"{sum(mrrs) / len(mrrs):.3f} | {mean('recall@1'):.3f} | "
            f"{mean('recall@10'):.3f} | {', '.join(str(f['test']) for f in figures)} | "
            f"{mean('seconds'):.0f} |"
        )
    print(
        f"\n- {len(pairs):,} documented functions of the Python "
        f"{sys.version.split()[0]} standard library in {files:,} files; split by "
        f"file 80/20 per seed; {args.epochs} epochs, batch 256, dim 128, "
        "SearchConfig's defaults otherwise."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
