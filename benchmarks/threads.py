"""TensorFlow's thread pools: charlstm's "auto" against TensorFlow's own, same run.

TensorFlow fixes its thread pools when it starts, so every measurement is a new
process, and the two settings of `TrainingConfig.threads` take turns, `--rounds`
times per model, so that both see the same machine (which goes first
alternates). For an LSTM model a process runs `train_fast_path.py --variants fast
--threads SETTING` and reports its median training chars/s; for `gpt2` it trains
the GPT-2 backend (`charlstm.backends.gpt2`, its defaults) on the embedded corpus
for `--gpt2-seconds` and reports batches per second. The table gives each
setting's median and the median and range of the rounds' ratios auto /
tensorflow.

Run by hand, alone on the machine:

    python benchmarks/threads.py --models default,2x224lstm,2x512,3x512,gpt2 --rounds 3
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from charlstm.config import THREADS as SETTINGS  # ("auto", "tensorflow")

HERE = Path(__file__).resolve().parent


def log(message):
    print(message, file=sys.stderr, flush=True)


def lstm_rate(model, setting, repeats, batches) -> float:
    """Median training chars/s of one `train_fast_path.py` process."""
    command = [
        sys.executable,
        str(HERE / "train_fast_path.py"),
        f"--models={model}",
        "--variants=fast",
        f"--repeats={repeats}",
        f"--batches={batches}",
        f"--threads={setting}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    row = next(line for line in out.splitlines() if line.startswith(f"| {model} |"))
    return float(row.split("|")[3].replace(",", ""))


def gpt2_rate(setting, seconds) -> float:
    """Batches per second of one process training the GPT-2 backend."""
    command = [sys.executable, __file__, "--child-gpt2", str(seconds)]
    command.append(f"--threads={setting}")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"batches/s ([\d.]+)", out).group(1))


def child_gpt2(seconds, setting):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import charlstm
    from charlstm.backends.gpt2.backend import GPT2Config, train_gpt2

    result = train_gpt2(  # configures the pools from `training.threads`
        config=GPT2Config(),
        training=charlstm.TrainingConfig(epochs=10**6, random_seed=0, threads=setting),
        time_budget=seconds,
    )
    print(f"batches/s {result.budget_batches / seconds:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--models", default="default,2x512,gpt2", help="train_fast_path.py's, or gpt2")
    add("--rounds", type=int, default=3, help="processes per setting and model")
    add("--repeats", type=int, default=3, help="train_fast_path.py's --repeats")
    add("--batches", type=int, default=6, help="train_fast_path.py's --batches")
    add("--gpt2-seconds", type=float, default=60, help="GPT-2 training per process")
    add("--threads", choices=SETTINGS, help=argparse.SUPPRESS)  # a child's
    add("--child-gpt2", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_gpt2:
        return child_gpt2(args.child_gpt2, args.threads)
    for name in ("rounds", "repeats", "batches"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: at least 1")
    print("| model | auto (median) | tensorflow (median) | ratio (median) | range |")
    print("|---|---|---|---|---|")
    for model in args.models.split(","):
        rates = {s: [] for s in SETTINGS}
        for r in range(args.rounds):
            for setting in SETTINGS[:: 1 if r % 2 == 0 else -1]:  # who goes first
                start = time.perf_counter()
                if model == "gpt2":
                    rate = gpt2_rate(setting, args.gpt2_seconds)
                else:
                    rate = lstm_rate(model, setting, args.repeats, args.batches)
                rates[setting].append(rate)
                took = time.perf_counter() - start
                log(f"{model} round {r + 1} {setting}: {rate:,.2f} ({took:.0f} s)")
        ratios = [
            a / t for a, t in zip(rates["auto"], rates["tensorflow"], strict=True)
        ]
        unit = "batches/s" if model == "gpt2" else "chars/s"
        print(
            f"| {model} ({unit}) | {statistics.median(rates['auto']):,.1f} "
            f"| {statistics.median(rates['tensorflow']):,.1f} "
            f"| {statistics.median(ratios):.2f} "
            f"| {min(ratios):.2f}-{max(ratios):.2f} |",
            flush=True,
        )
    print(
        f"\n{args.rounds} rounds, each setting a new process in turn; LSTM models: "
        f"train_fast_path.py --variants fast --repeats {args.repeats} --batches "
        f"{args.batches}; gpt2: {args.gpt2_seconds:g} s of training on the "
        "embedded corpus."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
