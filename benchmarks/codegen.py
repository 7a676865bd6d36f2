"""Code generation after a long training: how many generated function bodies parse.

The task of Perez, Ottens and Viswanathan, "Automatic Code Generation using
Pre-Trained Language Models" (2021): write a function's body from its signature
and docstring (`charlstm.eval.codegen`). This trains charlstm's default model
for `--budget` seconds (an hour by default) on a corpus's `train` split, the
splits of `benchmarks/quality.py` (by the SHA-256 of each file's path), and
then:

1. `tune`: the sampling temperature is chosen on documented functions of the
   `tune` split's files (`TEMPERATURES`, `--functions` functions each), by
   syntax validity (`ast`), ties to the higher temperature;
2. `test`: every documented function of the `test` split's files is
   generated once with that temperature, for each sampling seed in
   `SAMPLING_SEEDS`, and scored: syntax validity, the BLEU of Perez et al.
   (`bleu_perez2021`) and token BLEU.

The run directory is kept (`--runs`), so `score` can be repeated without
training again; each test scoring also writes every generated body there
(`codegen_test_seedN.jsonl`). Every scoring appends one JSON line to
`--results`. Run it alone on the machine:

    python benchmarks/codegen.py train --corpus stdlib --seed 0 --runs runs/codegen
    python benchmarks/codegen.py score --corpus stdlib --seed 0 --runs runs/codegen \
        --results benchmarks/results/codegen.jsonl
    python benchmarks/codegen.py report --results benchmarks/results/codegen.jsonl

A quick check of the machinery (seconds): `--budget 5 --limit 200000` for
`train`, `--limit 200000 --functions 5` for `score`, with a scratch `--runs`
and `--results`.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from quality import (  # noqa: E402 (this folder)
    append_result,
    corpus_name,
    load_corpus,
    log,
    read_results,
    split_of,
)

import charlstm  # noqa: E402
from charlstm.eval.codegen import (  # noqa: E402
    extract_functions,
    results_jsonl,
    run_codegen,
    select_examples,
)
from charlstm.infer.sampling import Sampling  # noqa: E402
from charlstm.utils.storage import atomic_write_text  # noqa: E402

TEMPERATURES = (0.2, 0.4, 0.6, 0.75)  # 0.75: Perez et al. sampled, our default
SAMPLING_SEEDS = (0, 1)


def split_functions(corpus, part: str, count: int | None, seed: int):
    """`count` documented functions drawn at random from the files of `part`
    (all of them if None), their number in all, and the number of files."""
    paths = [corpus.root / p for p in sorted(corpus.files) if split_of(p) == part]
    examples, _ = extract_functions(paths)
    chosen = select_examples(examples, count, random_seed=seed)
    return chosen, len(examples), len(paths)


def run_dir(args) -> Path:
    return args.runs / f"{corpus_name(args.corpus).replace(':', '-')}-s{args.seed}"


def train(args, corpus) -> int:
    directory = run_dir(args)
    if directory.exists():
        sys.exit(f"codegen.py: {directory} exists: score it, or choose another --runs")
    text = corpus.split("train", args.limit)
    log(f"{corpus.name}: training {args.budget:g} s on {len(text):,} chars")
    config = charlstm.make_config(epochs=10**6, random_seed=args.seed)
    start = time.perf_counter()
    result = charlstm.train(
        text=text, config=config, run_dir=directory, time_budget=args.budget
    )
    best = min(result.history, key=lambda row: row["val_loss"])
    record = dict(
        corpus=corpus.name,
        seed=args.seed,
        budget=args.budget,
        limit=args.limit,
        train_seconds=time.perf_counter() - start,
        epochs=len(result.history),
        best_epoch=best["epoch"],  # the model scored: the best validation loss
        best_val_bits_per_char=best["val_bits_per_char"],
        params=result.model.count_params(),
        cell=config.model.cell,
        date=time.strftime("%F"),
    )
    atomic_write_text(directory / "codegen_training.json", json.dumps(record) + "\n")
    log(f"trained: {record}")
    return 0


def score(args, corpus) -> int:
    directory = run_dir(args)
    training = json.loads((directory / "codegen_training.json").read_text())
    scored = [
        r
        for r in read_results(args.results)
        if all(r.get(k) == training[k] for k in ("corpus", "seed", "budget", "limit"))
    ]
    if scored:
        sys.exit(
            f"codegen.py: {args.results} already scores {directory}: remove its "
            "rows to score it again"
        )
    generator = charlstm.load(directory)
    train_text = corpus.split("train", args.limit)

    def codegen(examples, temperature, seed):
        sampling = Sampling(temperature=temperature, random_seed=seed)
        return run_codegen(
            generator, examples, sampling=sampling, training_text=train_text
        )

    tune, tune_found, _ = split_functions(corpus, "tune", args.functions, 0)
    test, _, test_files = split_functions(corpus, "test", None, 0)
    log(f"functions: tune {len(tune)} of {tune_found}, test {len(test)} (all)")
    grid = {}
    for temperature in TEMPERATURES:
        grid[temperature] = codegen(tune, temperature, 0).summary["syntax_valid_rate"]
        log(f"tune: temperature {temperature}: syntax valid {grid[temperature]:.3f}")
    chosen = max(TEMPERATURES, key=lambda t: (grid[t], t))
    for seed in SAMPLING_SEEDS:
        result = codegen(test, chosen, seed)
        summary = result.summary
        # Every generated body, to read: `charlstm.eval.codegen.read_results`.
        bodies = directory / f"codegen_test_seed{seed}.jsonl"
        atomic_write_text(bodies, results_jsonl(result.records))
        row = dict(training, tune={str(t): v for t, v in grid.items()})
        row.update(temperature=chosen, sampling_seed=seed, functions=len(test))
        row.update(tune_functions=len(tune), test_files=test_files)
        row.update(summary=summary, scored=time.strftime("%F"))
        append_result(args.results, row)
        log(
            f"test, sampling seed {seed}: syntax valid "
            f"{summary['syntax_valid_rate']:.3f}, bleu_perez2021 "
            f"{summary['bleu_perez2021']:.4f}, bleu_tokens {summary['bleu_tokens']:.4f}"
        )
    return 0


def report(results) -> str:
    lines = [
        "| corpus | training seed | budget s | temperature (tuned) | functions "
        "| syntax valid | bleu_perez2021 | bleu_tokens | ended at dedent |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        s = row["summary"]
        lines.append(
            f"| {row['corpus']} | {row['seed']} | {row['budget']:g} | "
            f"{row['temperature']} | {row['functions']} | "
            f"{s['syntax_valid_rate']:.3f} | {s['bleu_perez2021']:.4f} | "
            f"{s['bleu_tokens']:.4f} | {s['ended_at_dedent_rate']:.3f} |"
        )
    runs = {}  # the scorings of one training budget on one corpus
    for row in results:
        runs.setdefault((row["corpus"], row["budget"]), []).append(row)
    for (corpus, budget), rows in runs.items():
        rates = [r["summary"]["syntax_valid_rate"] for r in rows]
        seeds = sorted({r["seed"] for r in rows})
        lines.append(
            f"\n{corpus}, {budget:g} s: syntax valid mean {statistics.mean(rates):.3f},"
            f" {min(rates):.3f} to {max(rates):.3f} over {len(rates)} scorings "
            f"(training seeds {', '.join(map(str, seeds))})"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("train", "score", "report"))
    parser.add_argument("--corpus", default="stdlib", help="stdlib or package:NAME")
    parser.add_argument("--runs", type=Path, default=Path("runs/codegen"))
    parser.add_argument("--results", type=Path, help="JSON-lines file (score, report)")
    parser.add_argument("--budget", type=float, default=3600, help="training seconds")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument(
        "--limit", type=int, help="use only the first N characters of each split"
    )
    parser.add_argument(
        "--functions",
        type=int,
        default=200,
        help="tuning-split functions each temperature is tried on (the test "
        "split's are all scored)",
    )
    args = parser.parse_args()
    if args.phase != "train" and args.results is None:
        parser.error(f"{args.phase} needs --results")
    if args.phase == "report":
        print(report(read_results(args.results)))
        return 0
    if args.corpus == "french":
        parser.error("--corpus: code generation needs Python: stdlib or package:NAME")
    corpus = load_corpus(args.corpus)
    return (train if args.phase == "train" else score)(args, corpus)


if __name__ == "__main__":
    sys.exit(main())
