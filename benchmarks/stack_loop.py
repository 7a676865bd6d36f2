"""The fused stack's loop alone against the time of its matrix products.

`train_fast_path.py` times whole training steps, whose share of the
matrix-product bound mixes the recurrent loop with everything around it (the
embedding, the input projections, the softmax, the loss, the optimizer). This
times only `charlstm.model.lstm_stack.lstm_stack_sequence` (or, with `--cell
ln_lstm`, `charlstm.model.ln_lstm_stack.ln_lstm_stack_sequence`) on random
inputs and weights: its forward pass, and its forward and backward passes
under a `tf.GradientTape`, each against the time its products would take at
the rate of one recurrent product `(batch, units) @ (units, 4 units)` measured
in the same run: before each pass and after the last, the best.

Products counted, per step: one recurrent product per layer and, above the
first, one input product of the same size (the first layer's input
projections are computed before the loop, by the caller). The backward pass
runs two products for each of them (the gradient reaching the inputs, in the
loop; the weights' gradient, one product per layer after it), so forward and
backward count three times the forward's products.

Run by hand, alone on the machine:

    python benchmarks/stack_loop.py --layers 2 --units 512
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from train_fast_path import (  # noqa: E402 (this folder)
    add_threads_option,
    product_timer,
    timed_call,
)

from charlstm.model.ln_lstm import WEIGHT_NAMES  # noqa: E402
from charlstm.model.ln_lstm_stack import ln_lstm_stack_sequence  # noqa: E402
from charlstm.model.lstm_stack import lstm_stack_sequence  # noqa: E402
from charlstm.training.threads import configure_threads, describe_threads  # noqa: E402


def stack(cell, layers, units, batch, steps, seed=0):
    """A function running the stack over one random sequence, and its inputs."""
    rng = np.random.default_rng(seed)

    def normal(*shape, scale=1.0):
        return tf.constant(rng.normal(size=shape).astype("float32") * scale)

    xz = normal(steps, batch, 4 * units, scale=0.1)  # (time, batch, 4 * units)
    states = [(tf.zeros((batch, units)), tf.zeros((batch, units)))] * layers
    scale = units**-0.5
    if cell == "lstm":
        weights = [
            [normal(units, 4 * units, scale=scale) for _ in range(layers)],  # U
            [normal(units, 4 * units, scale=scale) for _ in range(layers - 1)],  # W
            [tf.zeros(4 * units) for _ in range(layers)],  # b
        ]

        def run(xz, weights):
            return lstm_stack_sequence(xz, states, *weights)[0]

    else:

        def ln_weight(name):  # kernels random, gammas 1, betas and bias 0
            if name.endswith("kernel"):
                return normal(units, 4 * units, scale=scale)
            shape = (units,) if name.startswith("cell") else (4 * units,)
            return tf.ones(shape) if name.endswith("gamma") else tf.zeros(shape)

        weights = [[ln_weight(name) for name in WEIGHT_NAMES] for _ in range(layers)]

        def run(xz, weights):
            return ln_lstm_stack_sequence(xz, states, weights)[0]

    return run, xz, weights


def timed(fn, repeats):
    """Wall seconds of `repeats` calls of `fn`, after one untimed call."""
    fn()  # traced and warmed
    return [timed_call(fn) for _ in range(repeats)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--cell", choices=("lstm", "ln_lstm"), default="lstm")
    add("--layers", type=int, default=2)
    add("--units", type=int, default=512)
    add("--batch", type=int, default=64)
    add("--steps", type=int, default=50)
    add("--repeats", type=int, default=7, help="timed calls of each")
    add_threads_option(parser)
    args = parser.parse_args()
    threads = configure_threads(args.threads)  # before TensorFlow starts
    for name in ("layers", "units", "batch", "steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: at least 1")
    run, xz, weights = stack(args.cell, args.layers, args.units, args.batch, args.steps)
    flat = tf.nest.flatten(weights)

    @tf.function
    def forward():
        return tf.reduce_sum(run(xz, weights))

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([xz, *flat])
            loss = tf.reduce_sum(run(xz, weights))
        return tape.gradient(loss, [xz, *flat])

    products = args.steps * (2 * args.layers - 1)  # forward, per sequence
    rows = [
        ("forward", lambda: forward().numpy(), products),
        (
            "forward and backward",
            # None: the first LN-LSTM layer's input weights, read by the caller
            lambda: [g.numpy() for g in forward_backward() if g is not None],
            3 * products,
        ),
    ]
    # The rate is a peak: measured before each pass and after the last, the best.
    product_now = product_timer(args.batch, args.units)
    product, timings = product_now(), []
    for name, fn, count in rows:
        timings.append((name, timed(fn, args.repeats), count))
        product = min(product, product_now())
    flops = 2 * args.batch * args.units * 4 * args.units / product
    print(
        f"{args.layers} x {args.cell}({args.units}), batch {args.batch}, "
        f"{args.steps} steps; one recurrent product {product * 1e3:.3f} ms "
        f"({flops / 1e9:.1f} GFLOP/s, the best of {len(rows) + 1} measurements); "
        f"{describe_threads(threads)} (--threads {args.threads})\n"
    )
    print("| pass | ms (best) | ms (median) | products' ms | share of the bound |")
    print("|---|---|---|---|---|")
    for name, seconds, count in timings:
        best, median = min(seconds), statistics.median(seconds)
        print(
            f"| {name} | {best * 1e3:.1f} | {median * 1e3:.1f} "
            f"| {count * product * 1e3:.1f} | {count * product / best:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
