"""What one open document costs the completion server, for a trained run: the
figures docs/editors.md quotes.

- reading: milliseconds per character of the numpy engine reading a text in
  one stream, with one BLAS thread (the first completion in a file reads
  everything before the cursor);
- with dynamic evaluation (`charlstm.infer.adaptation`, the default
  `DynamicConfig`): the time to measure the rms rule's gradient statistics on
  the run's training text, the milliseconds per segment learned (read,
  gradient, update), the time to rebuild the engine on new weights, and the
  memory of a document's weights (float64 θ and the engine's float32 copies).

Run by hand, alone on the machine:

    python benchmarks/document_costs.py runs/stdlib

Prints a Markdown list.
"""

import argparse
import contextlib
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.eval.dynamic import (  # noqa: E402
    DynamicConfig,
    gradient_statistics,
    statistics_text,
)
from charlstm.infer.adaptation import Adaptation, Adapter  # noqa: E402


def one_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a trained LSTM or LN-LSTM run")
    parser.add_argument("--chars", type=int, default=20_000, help="characters read")
    parser.add_argument("--learn", type=int, default=6_000, help="characters learned")
    args = parser.parse_args()
    generator = charlstm.load(args.run_dir, engine="numpy")
    text, where = statistics_text(args.run_dir)
    ids = generator.vocabulary.encode(text[: args.chars], strict=False)
    with one_thread():
        times = []
        for _ in range(3):
            generator.engine.reset(1)
            start = time.perf_counter()
            for chunk in np.array_split(ids, 40):  # as a document arrives
                generator.engine.feed(chunk[None].astype(np.int32))
            times.append(time.perf_counter() - start)
    config = DynamicConfig()
    start = time.perf_counter()
    ms = gradient_statistics(generator, text, config)
    statistics = time.perf_counter() - start
    document = Adaptation(Adapter(generator, config, ms))
    start = time.perf_counter()
    segments = document.learn(ids[: args.learn + 1])
    learning = time.perf_counter() - start
    start = time.perf_counter()
    engine = document.engine()
    rebuild = time.perf_counter() - start
    theta = sum(p.nbytes for p in document.params)
    copies = sum(w.nbytes for w in engine.weights)
    c = generator.config
    print(f"- Run: {args.run_dir}, {c.num_layers} x {c.cell} {c.units}.")
    print(
        f"- Reading: {1000 * min(times) / len(ids):.3f} ms a character "
        f"(best of 3, {len(ids):,} characters, one BLAS thread)."
    )
    print(
        f"- Gradient statistics on {config.statistics_characters:,} characters "
        f"of {where}: {statistics:.1f} s."
    )
    print(
        f"- Learning: {segments} segments of {config.segment_length}, "
        f"{1000 * learning / segments:.1f} ms each (read, gradient, update); "
        f"engine rebuilt in {1000 * rebuild:.1f} ms."
    )
    print(
        f"- A document's weights: {theta / 1e6:.1f} MB (float64) + "
        f"{copies / 1e6:.1f} MB (the engine's float32) = "
        f"{(theta + copies) / 1e6:.1f} MB."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
