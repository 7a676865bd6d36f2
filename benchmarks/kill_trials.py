"""SIGKILL a real training run at random moments, resume it, and compare.

One run of the default model on a slice of the default corpus is trained
without interruption (the reference). The same run is then started in a
subprocess and killed with SIGKILL at a random moment, `--trials` times, each
time resumed from its last checkpoint (`charlstm train --resume`), until it
finishes. For every kill the script records:

- whether the run directory was consistent (its checkpoint manifest readable
  and every file it names present) and resumable: files corrupted must be 0;
- the seconds of training lost: the time between the last committed checkpoint
  and the kill (must be at most `--checkpoint-every` plus one batch);

and at the end whether the final weights and history equal the reference's.

Run by hand, alone on the machine (about 10 minutes with the defaults; the run
is long enough that every kill lands before it ends):

    python benchmarks/kill_trials.py --trials 20 > docs/kill_trials.md

Prints a Markdown report; progress goes to stderr.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, pathlib, keras
import charlstm
from charlstm.data.corpus import default_corpus_paths

class Started(keras.callbacks.Callback):  # tells the parent training has begun
    def on_train_begin(self, logs=None):
        pathlib.Path(sys.argv[6]).touch()

text = charlstm.read_text(default_corpus_paths())[: int(sys.argv[2])]
config = charlstm.make_config(epochs=int(sys.argv[3]), random_seed=0, dropout=0.1)
charlstm.train(text=text, run_dir=sys.argv[1], config=config, callbacks=[Started()],
               checkpoint_every=float(sys.argv[4]), resume=sys.argv[5] == "resume")
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def manifest_time(run: Path) -> float | None:
    path = run / "checkpoint.json"
    return path.stat().st_mtime if path.exists() else None


def consistent(run: Path) -> bool:
    """The manifest reads, and every file it names is whole enough to open."""
    import zipfile

    path = run / "checkpoint.json"
    if not path.exists():
        return True  # killed before the first checkpoint: nothing to corrupt
    manifest = json.loads(path.read_text())
    with zipfile.ZipFile(run / manifest["model"]) as archive:
        if archive.testzip() is not None:
            return False
    with np.load(run / manifest["arrays"]) as arrays:
        _ = [arrays[k] for k in arrays.files]
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--characters", type=int, default=2_400_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def child(run: Path, mode: str, marker: Path):
        marker.unlink(missing_ok=True)
        command = [sys.executable, "-c", CHILD, str(run), str(args.characters)]
        command += [str(args.epochs), str(args.checkpoint_every), mode, str(marker)]
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    import charlstm

    with tempfile.TemporaryDirectory() as tmp:
        reference_dir, run = Path(tmp) / "reference", Path(tmp) / "killed"
        marker = Path(tmp) / "started"
        log("reference run ...")
        start = time.monotonic()
        process = child(reference_dir, "new", marker)
        if process.wait() != 0:
            raise SystemExit(process.stderr.read().decode())
        reference_seconds = time.monotonic() - start
        log(f"reference: {reference_seconds:.0f} s")
        lost, corrupted, resumed, kills = [], 0, 0, 0
        finished = False
        while not finished:
            mode = "resume" if (run / "checkpoint.json").exists() else "new"
            resumed += mode == "resume"
            process = child(run, mode, marker)
            if kills < args.trials:
                while not marker.exists() and process.poll() is None:
                    time.sleep(0.05)
                started = time.time()
                # A random moment within the next three checkpoint intervals.
                delay = rng.uniform(0.0, 3 * args.checkpoint_every)
                try:
                    process.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    killed_at = time.time()
                    kills += 1
                    committed = manifest_time(run)
                    ok = consistent(run)
                    corrupted += not ok
                    # Training done in this process since the last commit is lost.
                    lost.append(killed_at - max(committed or started, started))
                    log(
                        f"kill {kills}: {delay:.1f} s into training, consistent={ok}, "
                        f"lost {lost[-1]:.1f} s"
                    )
                    continue
            if process.wait() != 0:
                raise SystemExit(process.stderr.read().decode())
            finished = True
        reference = charlstm.load(reference_dir, "last", engine="numpy")
        final = charlstm.load(run, "last", engine="numpy")
        dw = max(
            float(np.abs(a - b).max())
            for a, b in zip(reference.weights, final.weights, strict=True)
        )
        same_history = [
            (r["loss"], r["val_loss"]) for r in _history(reference_dir)
        ] == [(r["loss"], r["val_loss"]) for r in _history(run)]
    print("| measure | value |")
    print("|---|---|")
    print(f"| SIGKILLs | {kills} |")
    print(f"| runs resumed | {resumed} |")
    print(f"| files corrupted | {corrupted} |")
    if lost:
        print(f"| training lost per kill, median s | {statistics.median(lost):.1f} |")
        print(f"| training lost per kill, max s | {max(lost):.1f} |")
    print(f"| checkpoint interval s | {args.checkpoint_every:g} |")
    print(
        f"| final weights, max abs difference from the uninterrupted run | {dw:.3g} |"
    )
    print(f"| history equal to the uninterrupted run's | {same_history} |")
    print(
        f"\n- Default model, {args.characters:,} characters of the default corpus, "
        f"{args.epochs} epochs, dropout 0.1, random seed 0; the uninterrupted run "
        f"took {reference_seconds:.0f} s. `python benchmarks/kill_trials.py "
        f"--trials {args.trials} --checkpoint-every {args.checkpoint_every:g}`."
    )
    return 0


def _history(run: Path) -> list[dict]:
    from charlstm.training.run_dir import read_history

    return read_history(run / "history.csv")


if __name__ == "__main__":
    sys.exit(main())
