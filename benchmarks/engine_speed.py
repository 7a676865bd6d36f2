"""Numpy engine speed against seed 002's predict-per-char loop, in the same run.

All figures come from one model with random weights (speed does not depend on
training) and the default corpus's vocabulary:

- seed 002's stateful loop (`model.predict` per character, as reproduced in
  `generate_speed.py`) on the same weights: the baseline of every ratio;
- the numpy engine, one stream (`generate`, temperature 0.75);
- the numpy engine, `--streams` streams at once (`num_samples`);
- the matrix-vector bound: the same per-step matrix products alone, timed;
- line completion (<= 50 characters, greedy) as an editor sends it: the file so
  far as context, each request one character longer, so the state is warm;
- `charlstm complete` from a cold start, in a subprocess (wall time), and
  whether it imported TensorFlow.

Run by hand, alone on the machine (long with --preset seed002):

    python benchmarks/engine_speed.py --preset seed002 > docs/engine_speed.md
    python benchmarks/engine_speed.py --preset lstm128 >> docs/engine_speed.md

Smoke test: `python benchmarks/engine_speed.py --preset tiny --baseline-chars 5
--chars 200 --requests 5`. Prints a Markdown table; progress goes to stderr.
"""

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from generate_speed import (  # noqa: E402
    TEMPERATURE,
    WINDOW,
    log,
    seed002_model,
    stateful_loop,
)

import charlstm  # noqa: E402
from charlstm.config import ModelConfig, RunConfig  # noqa: E402
from charlstm.engine import GATES, EngineWeights, export_checkpoint  # noqa: E402
from charlstm.model import build_model  # noqa: E402
from charlstm.numpy_generation import NumpyTextGenerator  # noqa: E402

PRESETS = {
    "lstm128": dict(num_layers=1, units=128),
    "seed002": dict(num_layers=3, units=512),
    "tiny": dict(num_layers=1, units=16),
}


def matvec_bound(config: ModelConfig, streams: int, seconds: float = 1.0) -> float:
    """Steps per second of the per-step matrix products alone (batch `streams`)."""
    gates, units = GATES[config.cell], config.units
    rng = np.random.default_rng(0)
    h = rng.random((streams, units), dtype=np.float32)
    recurrent = rng.random((units, gates * units), dtype=np.float32)
    out = np.empty((streams, gates * units), np.float32)
    dense = rng.random((units, config.vocabulary_size), dtype=np.float32)
    logits = np.empty((streams, config.vocabulary_size), np.float32)
    products = 2 * config.num_layers - 1  # layer 0's input product is a gather
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(products):
            np.matmul(h, recurrent, out=out)
        np.matmul(h, dense, out=logits)
        steps += 1
    return steps / (time.perf_counter() - start)


def completion_latencies(generator, context: str, line: str, requests: int):
    """Seconds per request; request i is `line[:i + 1]` after `context`."""
    generator.complete(line[:1], context=context, max_length=50)  # warm the cache
    seconds = []
    for i in range(requests):
        prefix = line[: 1 + (i % len(line))]
        start = time.perf_counter()
        generator.complete(prefix, context=context, max_length=50)
        seconds.append(time.perf_counter() - start)
    return np.array(seconds)


def save_run(run_dir: Path, model, config: ModelConfig, vocabulary) -> None:
    """A run directory with these weights, as training would write it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    RunConfig(model=config, version=charlstm.__version__).save(run_dir / "config.json")
    vocabulary.save(run_dir / "vocab.json")
    model.save(run_dir / "model.keras")
    export_checkpoint(run_dir, model.get_weights())


def cold_start(run_dir: Path, prefix: str):
    """Wall seconds of `charlstm complete` in a new process, and whether it
    imported TensorFlow."""
    script = (
        "import sys, charlstm.cli as c; "
        f"c.main(['complete', {str(run_dir)!r}, '--prefix', {prefix!r}]); "
        "sys.stderr.write(str('tensorflow' in sys.modules))"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, result.stderr.strip().endswith("True")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="lstm128")
    parser.add_argument("--baseline-chars", type=int, default=50)
    parser.add_argument("--chars", type=int, default=5000)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    corpus = charlstm.load_corpus()
    vocabulary = corpus.vocabulary
    middle = len(corpus.ids) // 2
    seed = vocabulary.decode(corpus.ids[middle : middle + WINDOW])
    context = vocabulary.decode(corpus.ids[middle : middle + 2000])
    line = "        return self._replace("  # a line being typed
    config = ModelConfig(
        vocabulary_size=vocabulary.size,
        dropout=0.0,
        input_encoding="one_hot",
        **PRESETS[args.preset],
    )
    keras.utils.set_random_seed(0)
    model = build_model(config, batch_size=1)
    weights = model.get_weights()
    chars = vocabulary.characters
    char_indices = {c: i for i, c in enumerate(chars)}
    indices_char = dict(enumerate(chars))
    log(f"{config.num_layers} x {config.units} LSTM, {model.count_params():,} params")

    log(f"seed 002 stateful loop: {args.baseline_chars} chars ...")
    baseline = seed002_model(dataclasses.replace(config), stateful=True)
    baseline.set_weights(weights)
    stateful_loop(baseline, seed[-3:], 2, char_indices, indices_char)  # compile
    _, seconds = stateful_loop(
        baseline, seed, args.baseline_chars, char_indices, indices_char
    )
    base_rate = args.baseline_chars / seconds

    generator = NumpyTextGenerator(EngineWeights(config, weights), vocabulary)
    log(f"numpy engine, one stream: {args.chars} chars ...")
    start = time.perf_counter()
    generator.generate(seed, args.chars, temperature=TEMPERATURE, random_seed=0)
    one_rate = args.chars / (time.perf_counter() - start)
    log(f"numpy engine, {args.streams} streams: {args.chars // 10} chars each ...")
    per_stream = max(1, args.chars // 10)
    start = time.perf_counter()
    generator.generate(
        seed, per_stream, TEMPERATURE, num_samples=args.streams, random_seed=0
    )
    many_rate = args.streams * per_stream / (time.perf_counter() - start)
    one_bound = matvec_bound(config, 1)
    many_bound = matvec_bound(config, args.streams) * args.streams

    log(f"line completion: {args.requests} requests ...")
    latencies = completion_latencies(generator, context, line, args.requests) * 1e3

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        save_run(run_dir, model, config, vocabulary)
        cold_seconds, imported_tf = cold_start(run_dir, "    def __")

    print(
        f"\n### {config.num_layers} x {config.units} LSTM, one-hot, vocabulary "
        f"{vocabulary.size}, {model.count_params():,} parameters (random weights)\n"
    )
    print("| method | chars/s | x seed-002 loop | matrix-product bound |")
    print("|---|---|---|---|")
    rows = [
        ("seed 002: stateful `predict` per char", base_rate, None),
        ("numpy engine, 1 stream", one_rate, one_bound),
        (f"numpy engine, {args.streams} streams", many_rate, many_bound),
    ]
    for name, rate, bound in rows:
        shown = f"{bound:,.0f}" if bound else ""
        print(f"| {name} | {rate:,.1f} | {rate / base_rate:,.1f}x | {shown} |")
    p50, p99 = np.percentile(latencies, [50, 99])
    print(
        f"\n- Line completion (<= 50 chars, greedy, warm state, "
        f"{args.requests} requests): p50 {p50:.1f} ms, p99 {p99:.1f} ms."
    )
    print(
        f"- `charlstm complete` cold start: {cold_seconds:.2f} s wall; "
        f"TensorFlow imported: {imported_tf}."
    )
    print(
        f"- Baseline {args.baseline_chars} chars; numpy {args.chars} chars (one "
        f"stream), {per_stream} per stream ({args.streams} streams); temperature "
        f"{TEMPERATURE}; the bound times only the per-step matrix products."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
