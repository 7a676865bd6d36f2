"""How long `charlstm generate` takes from a cold start, against the Keras path.

One run directory of the default model (2 x LN-LSTM(224), trained for a few
batches: speed does not depend on training) is generated from in fresh
interpreters, each figure the median wall time of `--repeats` starts:

- `charlstm generate` (engine "auto": the numpy engine, no TensorFlow);
- the same with `--engine keras`: what every `generate` did before the one
  loader (TensorFlow imported, the Keras model loaded and compiled);
- `import tensorflow` alone: the floor of any path that imports it;
- with `--before PATH`, the same command from an older charlstm checkout at PATH
  (put first on `sys.path`), on the same run directory.

Run by hand, alone on the machine:

    python benchmarks/cli_startup.py --repeats 7
    git worktree add /tmp/before 394622b && \\
        python benchmarks/cli_startup.py --repeats 7 --before /tmp/before

Prints a Markdown table; progress goes to stderr.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
# The same entry point in every version: charlstm.cli's `main`.
CLI = "import sys; from charlstm.cli import main; sys.exit(main(sys.argv[1:]))"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_run(run_dir: Path) -> None:
    """The default config, trained for a few batches on a slice of the corpus."""
    import charlstm
    from charlstm.data.corpus import default_corpus_paths

    text = charlstm.read_text(default_corpus_paths(300_000))
    charlstm.train(text=text, run_dir=run_dir, time_budget=3.0)


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    # From the filesystem root, so that `-c` finds charlstm on PYTHONPATH only.
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=os.path.abspath(os.sep)
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
    return seconds


def which_charlstm(env: dict) -> str:
    code = "import charlstm; print(charlstm.__file__)"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.abspath(os.sep),
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--length", type=int, default=200, help="characters")
    parser.add_argument("--run-dir", type=Path, help="an existing run (default: new)")
    parser.add_argument("--before", type=Path, help="an older charlstm checkout")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or Path(tmp) / "default"
        if args.run_dir is None:
            log("training a default run for 3 s ...")
            make_run(run_dir)
        generate = ["generate", str(run_dir), "--length", str(args.length)]
        generate += ["--random-seed", "0"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        rows = [
            (
                "`charlstm generate` (numpy engine)",
                [sys.executable, "-c", CLI] + generate,
                env,
            ),
            (
                "`charlstm generate --engine keras` (the Keras path)",
                [sys.executable, "-c", CLI] + generate + ["--engine", "keras"],
                env,
            ),
            (
                "`import tensorflow` alone",
                [sys.executable, "-c", "import tensorflow"],
                env,
            ),
        ]
        if args.before:
            before = {**os.environ, "PYTHONPATH": str(args.before.resolve())}
            rows.append(
                (
                    f"`charlstm generate` before ({args.before.name})",
                    [sys.executable, "-c", CLI] + generate,
                    before,
                )
            )
        log(f"this charlstm: {which_charlstm(env)}")
        if args.before:
            log(f"before: {which_charlstm(before)}")
        medians = []
        for name, command, command_env in rows:
            times = []
            for _ in range(args.repeats):
                times.append(timed(command, command_env))
                log(f"{name}: {times[-1]:.2f} s")
            medians.append((name, statistics.median(times), min(times), max(times)))
    ours = medians[0][1]
    print("| command | median s | min s | max s | / numpy engine |")
    print("|---|---|---|---|---|")
    for name, median, low, high in medians:
        print(
            f"| {name} | {median:.2f} | {low:.2f} | {high:.2f} | {median / ours:.1f}x |"
        )
    print(
        f"\n- {args.repeats} cold starts each, `--length {args.length}`, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
