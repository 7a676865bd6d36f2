"""Line-completion exact-match accuracy: char mode against word mode.

Two models with the same architecture train for the same wall-clock budget on
the same Python corpus (by default the embedded one, this Python's standard
library): one on characters, one on word-level tokens (`charlstm.data.tokens`). The
last 10% of the corpus's files (in sorted order) are held out of both.

From the held-out files, `--lines` lines are drawn at random (seeded) among those
with more than `--prefix-chars` characters after their indentation and at most
`--max-length` characters left after the prefix. Each model is given the file
before the line as context, plus the line's indentation and its first
`--prefix-chars` characters (as in the "smart code completion tool" of an article
on temperature: type the start of a line), and completes the rest of the line
greedily (temperature 0, one candidate, numpy engine, `max_length` =
`--max-length` characters or tokens). A completion is an
exact match if it equals the rest of the line, trailing whitespace ignored.

Time per completion is what an editor sees with the file already read: the
context is fed first (untimed, `complete("", context=...)`), then the timed
request reads the prefix and searches. Lines of a file are asked in order, so
feeding a context only reads the text since the previous line's.

Run by hand, alone on the machine (about 2 x budget + a few minutes):

    python benchmarks/completion_accuracy.py --budget 900 --lines 300 \\
        > docs/completion_accuracy.md

Smoke test: `python benchmarks/completion_accuracy.py --budget 5 --lines 5
--units 16 --num-layers 1 --corpus-chars 200000`. Prints a Markdown table and
notes; progress goes to stderr.
"""

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.data.cleaning import clean_text  # noqa: E402
from charlstm.data.corpus import default_corpus_paths  # noqa: E402

HELD_OUT = 0.10  # share of the corpus's files held out, from the end
UNLIMITED_EPOCHS = 1_000_000  # the budget ends training


def log(message):
    print(message, file=sys.stderr, flush=True)


def corpus_files(args) -> list[Path]:
    if not args.corpus:
        return default_corpus_paths(args.corpus_chars)
    files = []
    for source in map(Path, args.corpus):
        if source.is_dir():
            files += sorted(p for p in source.rglob(args.pattern) if p.is_file())
        else:
            files.append(source)
    return files


def split_files(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files): the last 10% of files, at least one."""
    held = max(1, round(len(files) * HELD_OUT))
    if held >= len(files):
        raise SystemExit(f"need at least 2 corpus files, got {len(files)}")
    return files[:-held], files[-held:]


def sample_lines(held_out: list[Path], args) -> list[tuple[str, int, str, str]]:
    """Up to `args.lines` (file text, line start, prefix, rest of line), in file
    order, drawn at random among the eligible lines of the held-out files."""
    eligible = []
    for path in held_out:
        text = clean_text(path.read_text(encoding="utf-8", errors="replace"))
        start = 0
        for line in text.split("\n"):
            body = line.lstrip(" \t")
            indent = len(line) - len(body)
            prefix = line[: indent + args.prefix_chars]
            rest = line[len(prefix) :]
            if rest.strip() and len(rest) <= args.max_length and start > 0:
                eligible.append((text, start, prefix, rest))
            start += len(line) + 1
    rng = np.random.default_rng(args.random_seed)
    count = min(args.lines, len(eligible))
    chosen = sorted(rng.choice(len(eligible), size=count, replace=False))
    return [eligible[i] for i in chosen]


class CountBatches(keras.callbacks.Callback):
    """Counts training batches (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def train_mode(mode: str, files, run_dir: Path, args) -> dict:
    config = charlstm.make_config(
        tokens=mode,
        max_tokens=args.max_tokens,
        epochs=UNLIMITED_EPOCHS,
        random_seed=args.random_seed,
        num_layers=args.num_layers,
        units=args.units,
        batch_size=args.batch_size,
        sequence_length=args.sequence_length,
    )
    log(f"{mode}: training for {args.budget:g} s into {run_dir}")
    counter = CountBatches()
    result = charlstm.train(
        [str(f) for f in files],
        run_dir=run_dir,
        config=config,
        time_budget=args.budget,
        force=True,
        callbacks=[counter],
    )
    validated = [r["val_bits_per_char"] for r in result.history]
    return {
        "ids_trained": counter.batches * args.batch_size * args.sequence_length,
        "epochs": len(result.history),
        "val_bits_per_id": min((v for v in validated if v != ""), default=math.nan),
    }


def measure(mode: str, run_dir: Path, lines, args) -> dict:
    generator = charlstm.load(run_dir, engine="numpy")
    vocabulary = generator.vocabulary
    matches, correct_shares, seconds = [], [], []
    warm_seconds = 0.0
    for n, (text, start, prefix, rest) in enumerate(lines):
        context = text[:start]
        if args.context_chars and len(context) > args.context_chars:
            cut = context.find("\n", len(context) - args.context_chars) + 1
            context = context[cut:]
        began = time.perf_counter()
        generator.complete("", context=context, max_length=1)  # the file so far
        warm_seconds += time.perf_counter() - began
        began = time.perf_counter()
        completion = generator.complete(
            prefix, context=context, max_length=args.max_length
        )
        seconds.append(time.perf_counter() - began)
        got, want = completion.text.rstrip(), rest.rstrip()
        matches.append(got == want)
        same = next(
            (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
            min(len(got), len(want)),
        )
        correct_shares.append(same / len(want))
        if n < args.show:
            log(f"{mode}: {prefix!r} -> {completion.text!r} (want {rest!r})")
    held_text = "".join(text for text in dict.fromkeys(t for t, *_ in lines))
    ids = vocabulary.encode(held_text, strict=False)
    ms = np.array(seconds) * 1e3
    accuracy = float(np.mean(matches)) if matches else math.nan
    return {
        "vocabulary": vocabulary.size,
        "chars_per_id": len(held_text) / max(1, len(ids)),
        "exact": accuracy,
        "stderr": math.sqrt(accuracy * (1 - accuracy) / max(1, len(matches))),
        "correct_share": float(np.mean(correct_shares)) if matches else math.nan,
        "mean_ms": float(ms.mean()) if len(ms) else math.nan,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else math.nan,
        "p90_ms": float(np.percentile(ms, 90)) if len(ms) else math.nan,
        "warm_seconds": warm_seconds,
    }


def table(rows: dict) -> str:
    out = [
        "| mode | vocabulary | chars/id | ids trained | epochs | val bits/char "
        "| exact match | rest correct | ms mean | ms p50 | ms p90 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, r in rows.items():
        bits = r["val_bits_per_id"] / r["chars_per_id"]
        out.append(
            f"| {mode} | {r['vocabulary']:,} | {r['chars_per_id']:.2f} "
            f"| {r['ids_trained']:,.0f} | {r['epochs']} | {bits:.3f} "
            f"| {100 * r['exact']:.1f}% ± {100 * r['stderr']:.1f} "
            f"| {100 * r['correct_share']:.1f}% | {r['mean_ms']:.1f} "
            f"| {r['p50_ms']:.1f} | {r['p90_ms']:.1f} |"
        )
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "corpus",
        nargs="*",
        help="files or directories (default: the embedded standard-library corpus)",
    )
    parser.add_argument("--pattern", default="*.py", help="file glob in directories")
    parser.add_argument(
        "--corpus-chars",
        type=int,
        default=2_000_000,
        help="size of the embedded corpus",
    )
    parser.add_argument("--budget", type=float, default=600, help="seconds per mode")
    parser.add_argument("--lines", type=int, default=200, help="held-out lines")
    parser.add_argument(
        "--prefix-chars",
        type=int,
        default=10,
        help="characters typed after the indentation",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=80,
        help="longest rest of line; completion limit",
    )
    parser.add_argument(
        "--context-chars",
        type=int,
        default=0,
        help="keep this much of the file before the line (0: all)",
    )
    parser.add_argument("--max-tokens", type=int, default=4000, help="word mode")
    # Model and layout flags default to charlstm's own defaults (docs/defaults.md).
    parser.add_argument("--num-layers", type=int)
    parser.add_argument("--units", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument(
        "--sequence-length", type=int, help="time steps: characters or tokens"
    )
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--out", help="keep the two run directories here")
    parser.add_argument(
        "--show", type=int, default=3, help="log this many completions per mode"
    )
    args = parser.parse_args(argv)
    defaults = charlstm.make_config()
    for name, section in (
        ("num_layers", defaults.model),
        ("units", defaults.model),
        ("batch_size", defaults.data),
        ("sequence_length", defaults.data),
    ):
        if getattr(args, name) is None:
            setattr(args, name, getattr(section, name))

    files = corpus_files(args)
    train_files, held_out = split_files(files)
    lines = sample_lines(held_out, args)
    log(
        f"{len(train_files)} training files, {len(held_out)} held out, "
        f"{len(lines)} lines drawn"
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.out or scratch)
        rows = {}
        for mode in ("char", "word"):
            trained = train_mode(mode, train_files, root / mode, args)
            rows[mode] = {**trained, **measure(mode, root / mode, lines, args)}
            log(f"{mode}: exact match {100 * rows[mode]['exact']:.1f}%")

    print(table(rows))
    print()
    print(
        f"- Corpus: {len(train_files)} files for training, the last {len(held_out)} "
        f"held out ({', '.join(p.name for p in held_out[:3])}"
        f"{', ...' if len(held_out) > 3 else ''}); {len(lines)} held-out lines, "
        f"prefix = indentation + {args.prefix_chars} characters; exact match "
        "ignores trailing whitespace, ± one standard error."
    )
    print(
        f"- Model: {charlstm.ModelConfig().cell} {args.num_layers} x {args.units}, "
        "embedding input, "
        f"batch {args.batch_size}, sequence {args.sequence_length} ids, "
        f"{args.budget:g} s of training per mode; word mode keeps "
        f"{args.max_tokens:,} tokens at most."
    )
    print(
        "- chars/id: held-out characters per id. val bits/char: the best "
        "validation loss in bits per id divided by chars/id (exact for char "
        "mode, approximate for word mode). rest correct: share of the rest of "
        "the line right before the first wrong character."
    )
    print(
        "- ms: one greedy completion with the file already read (the prefix is "
        f"fed, then searched to the newline), numpy engine. Feeding the contexts "
        f"took {rows['char']['warm_seconds']:.1f} s (char) and "
        f"{rows['word']['warm_seconds']:.1f} s (word) in all."
    )
    print()
    command = " ".join(["python benchmarks/completion_accuracy.py", *sys.argv[1:]])
    print(f"Command: `{command}`")


if __name__ == "__main__":
    main()
