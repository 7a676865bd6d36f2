"""Numpy engine speed against the predict-per-char loop of Frank (2022), in one run.

All figures come from one model with random weights (speed does not depend on
training) and the default corpus's vocabulary:

- the stateful loop of Frank, "Generating Python with Character Level LSTMs"
  (2022) (`model.predict` per character, as reproduced in `generate_speed.py`)
  on the same weights: the baseline of every ratio;
- the numpy engine, one stream (`generate`, temperature 0.75), and the same on
  one BLAS thread, alternating (if threadpoolctl is installed: `pip install
  threadpoolctl`), to see which thread count suits the model size;
- the numpy engine, `--streams` streams at once (`num_samples`);
- the matrix-product bound: the engine's per-step matrix products alone, timed;
- line completion (<= 50 characters, greedy) as an editor sends it: the file so
  far as context, each request one character longer, the line typed again from
  its start after its end (the first request, which reads the file, apart);
- `charlstm complete` from a cold start, in a subprocess (wall time), and
  whether it imported TensorFlow.

Run by hand, alone on the machine (long with --preset frank2022):

    python benchmarks/engine_speed.py --preset frank2022 > docs/engine_speed.md
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
    frank_model,
    log,
    stateful_loop,
)

import charlstm  # noqa: E402
from charlstm.config import ModelConfig, RunConfig  # noqa: E402
from charlstm.infer.engine_weights import GATES, EngineWeights, export_checkpoint  # noqa: E402
from charlstm.infer.generator import TextGenerator  # noqa: E402
from charlstm.infer.numpy_engine import NumpyEngine  # noqa: E402
from charlstm.model.build import build_model  # noqa: E402

PRESETS = {
    "lstm128": dict(num_layers=1, units=128),
    "frank2022": dict(num_layers=3, units=512),
    "tiny": dict(num_layers=1, units=16),
}


def matmul_bound(config: ModelConfig, streams: int, seconds: float = 1.0) -> float:
    """Steps per second of the engine's per-step matrix products alone.

    The same products as `NumpyEngine.step` (batch `streams`): the first layer's
    state times its recurrent kernel (its input is a table row), each upper
    layer's [input, state] block times its stacked [kernel; recurrent] (a GRU:
    two products), the top state times the Dense kernel. Every layer has its own
    random matrices, as the engine does, so they are not all hot in cache.
    """
    gates, units, layers = GATES[config.cell], config.units, config.num_layers
    rng = np.random.default_rng(0)
    states = rng.random((streams, layers * units), dtype=np.float32)
    out = np.empty((streams, gates * units), np.float32)
    products = [(states[:, :units], rng.random((units, gates * units), np.float32))]
    for i in range(1, layers):
        block = states[:, (i - 1) * units : (i + 1) * units]  # (streams, 2 units)
        if config.cell == "gru":
            for half in (block[:, :units], block[:, units:]):
                products.append((half, rng.random((units, gates * units), np.float32)))
        else:
            products.append((block, rng.random((2 * units, gates * units), np.float32)))
    dense = rng.random((units, config.vocabulary_size), dtype=np.float32)
    logits = np.empty((streams, config.vocabulary_size), np.float32)
    top = states[:, (layers - 1) * units :]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for x, weights in products:
            np.matmul(x, weights, out=out)
        np.matmul(top, dense, out=logits)
        steps += 1
    return steps / (time.perf_counter() - start)


def one_stream_rates(generator, seed: str, chars: int, repeats: int = 3):
    """Median chars/s of one stream with numpy's default BLAS threads, and with
    one BLAS thread (None without threadpoolctl), alternating the two."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    rates = {"default": [], "one thread": []}
    for repeat in range(repeats):
        for name in rates:
            if name == "one thread" and threadpool_limits is None:
                continue
            limits = threadpool_limits(1, "blas") if name == "one thread" else None
            start = time.perf_counter()
            generator.generate(seed, chars, TEMPERATURE, random_seed=repeat)
            rates[name].append(chars / (time.perf_counter() - start))
            if limits is not None:
                limits.restore_original_limits()
    one = rates["one thread"]
    return float(np.median(rates["default"])), float(np.median(one)) if one else None


def completion_latencies(generator, context: str, line: str, requests: int):
    """Seconds of the first request (it reads `context`, the file so far) and of
    each of `requests` more, as an editor sends them: `line` typed one character
    at a time, then typed again from its start, and so on."""
    start = time.perf_counter()
    generator.complete(line[:1], context=context, max_length=50)
    first = time.perf_counter() - start
    seconds = []
    for i in range(requests):
        prefix = line[: 1 + (1 + i) % len(line)]
        start = time.perf_counter()
        generator.complete(prefix, context=context, max_length=50)
        seconds.append(time.perf_counter() - start)
    return first, np.array(seconds)


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
        "import sys, charlstm.cli.app as c; "
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
        cell="lstm",  # as Frank's (2022) loop, which the baseline runs
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

    log(f"Frank (2022) stateful loop: {args.baseline_chars} chars ...")
    baseline = frank_model(dataclasses.replace(config), stateful=True)
    baseline.set_weights(weights)
    stateful_loop(baseline, seed[-3:], 2, char_indices, indices_char)  # compile
    _, seconds = stateful_loop(
        baseline, seed, args.baseline_chars, char_indices, indices_char
    )
    base_rate = args.baseline_chars / seconds

    generator = TextGenerator(NumpyEngine(EngineWeights(config, weights)), vocabulary)
    log(f"numpy engine, one stream: {args.chars} chars, 3 times ...")
    one_rate, one_thread_rate = one_stream_rates(generator, seed, args.chars)
    log(f"numpy engine, {args.streams} streams: {args.chars // 10} chars each ...")
    per_stream = max(1, args.chars // 10)
    start = time.perf_counter()
    generator.generate(
        seed, per_stream, TEMPERATURE, num_samples=args.streams, random_seed=0
    )
    many_rate = args.streams * per_stream / (time.perf_counter() - start)
    one_bound = matmul_bound(config, 1)
    many_bound = matmul_bound(config, args.streams) * args.streams

    log(f"line completion: {args.requests} requests ...")
    first, latencies = completion_latencies(generator, context, line, args.requests)
    latencies *= 1e3

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        save_run(run_dir, model, config, vocabulary)
        cold_seconds, imported_tf = cold_start(run_dir, "    def __")

    print(
        f"\n### {config.num_layers} x {config.units} LSTM, one-hot, vocabulary "
        f"{vocabulary.size}, {model.count_params():,} parameters (random weights)\n"
    )
    print("| method | chars/s | x Frank (2022) loop | matrix-product bound |")
    print("|---|---|---|---|")
    rows = [
        ("Frank (2022): stateful `predict` per char", base_rate, None),
        ("numpy engine, 1 stream", one_rate, one_bound),
        ("numpy engine, 1 stream, one BLAS thread", one_thread_rate, None),
        (f"numpy engine, {args.streams} streams", many_rate, many_bound),
    ]
    for name, rate, bound in rows:
        if rate is None:
            continue  # no threadpoolctl: no one-thread row
        shown = f"{bound:,.0f}" if bound else ""
        print(f"| {name} | {rate:,.1f} | {rate / base_rate:,.1f}x | {shown} |")
    p50, p99 = np.percentile(latencies, [50, 99])
    print(
        f"\n- Line completion (<= 50 chars, greedy), {args.requests} requests "
        f"after the first: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max "
        f"{latencies.max():.1f} ms. The requests type a {len(line)}-character "
        f"line one character at a time, again and again, after {len(context):,} "
        f"characters of file (warm: the file was read by the first request, "
        f"{first * 1e3:.0f} ms, not counted)."
    )
    print(
        f"- `charlstm complete` cold start: {cold_seconds:.2f} s wall; "
        f"TensorFlow imported: {imported_tf}."
    )
    print(
        f"- Baseline {args.baseline_chars} chars; numpy {args.chars} chars (one "
        f"stream, median of 3 runs alternating with the one-thread run when "
        f"threadpoolctl is installed), {per_stream} per stream ({args.streams} "
        f"streams); temperature "
        f"{TEMPERATURE}; the bound times only the engine's per-step matrix products "
        "(one per layer, two for an upper GRU layer, and the Dense softmax's)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
