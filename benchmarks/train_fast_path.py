"""Training chars/s: Keras's own LSTM layers vs charlstm's fast path, same run.

For each model, a plain-Keras model (`fast_path=False`) and the fast-path model
(`fast_path=True`: `charlstm.model.lstm_stack.LSTMStack` for stacked LSTMs with nothing
between them, `charlstm.model.fast_rnn`'s layers otherwise) are built with
`build_model(..., for_training=True)`/`compile_model` as `charlstm.train` builds
them, and trained on the same random ids, in blocks of
`--batches` batches taken in turn (plain, fast, plain, fast, ...) so that both
see the same machine load. Each block is one `fit` call whose first batch is
not timed (`measure`). The table gives the median chars/s over the blocks,
the median of the per-block ratios to plain Keras, and the ratio of CPU-time
rates (less sensitive to other processes than wall time). Optional variants:
`fast_unroll` (the loop unrolled in the graph; `charlstm.model.fast_rnn`'s layers
only, not `LSTMStack`), `fast_xla`
(`jit_compile=True`), and `bf16`/`fast_bf16` (Keras's "mixed_bfloat16" policy).

The matrix-product bound is the chars/s the model would reach if a training
step cost only its matrix products (2 FLOPs per multiply-add, forward plus two
products backward), all running at the machine's FLOP rate for recurrent
products `(batch, units) @ (units, 4 units)` measured here (`product_timer`:
one at a time, or two side by side, whichever is faster under the process's
thread pools), measured before every round of blocks and after the last, two
ways: the peak, the fastest of a few chains of 100 products; and the sustained
rate, chains run back to back for seconds, as a training block runs. On the
shared 2-core machine on 2026-12-01 the two parted: the best chains ran at 213
to 312 GFLOP/s, five seconds of them at 173 to 217, while the training blocks
held their pace within a few per cent. Two shares: the median chars/s against
the best peak of the run, and the median over rounds of each round's chars/s
against the higher of the sustained measurements just before and after it.
`--threads` sets TensorFlow's thread pools as
`TrainingConfig.threads` does (`benchmarks/threads.py` compares the two).

Run by hand, alone on the machine:

    python benchmarks/train_fast_path.py --repeats 10 --batches 20
"""

import argparse
import dataclasses
import itertools
import os
import re
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.config import THREADS  # noqa: E402
from charlstm.model.build import build_model, recurrent_layers  # noqa: E402
from charlstm.training.schedule import compile_model  # noqa: E402
from charlstm.training.threads import configure_threads, describe_threads  # noqa: E402

VOCABULARY = 100  # about the stdlib corpus's
MODELS = {
    # The defaults (docs/defaults.md): 2 x LN-LSTM(224).
    "default": lambda: charlstm.make_config(vocabulary_size=VOCABULARY),
    # The default LSTM until the third round of docs/defaults.md.
    "2x224lstm": lambda: charlstm.make_config(vocabulary_size=VOCABULARY, cell="lstm"),
    # 2 x LSTM(128), embedding 64, batch 64, sequence 50, RMSprop (the default
    # until the ten-minute defaults search).
    "2x128": lambda: charlstm.make_config(
        vocabulary_size=VOCABULARY,
        cell="lstm",
        units=128,
        optimizer="rmsprop",
        lr_schedule="exponential",
    ),
    # The 3 x LSTM(512) of Frank, "Generating Python with Character Level LSTMs"
    # (2022): one-hot, dropout 0.5, batch 64, sequence 100.
    "3x512": lambda: charlstm.make_config("frank2022", vocabulary_size=VOCABULARY),
}
VARIANTS = ("plain", "fast", "fast_unroll", "fast_xla", "bf16", "fast_bf16")
# layers x units [b batch] [cell]: "2x192", "2x256b128", "2x192gru", "2x512ln_lstm"
MODEL_SPEC = re.compile(r"^(\d+)x(\d+)(?:b(\d+))?(ln_lstm|lstm|gru|simple_rnn)?$")


def model_config(name):
    """A named model, or "LxU[bB][cell]": L x LSTM(U) (or the cell), batch B,
    the defaults otherwise."""
    if name in MODELS:
        return MODELS[name]()
    layers, units, batch, cell = MODEL_SPEC.match(name).groups()
    return charlstm.make_config(
        vocabulary_size=VOCABULARY,
        num_layers=int(layers),
        units=int(units),
        batch_size=int(batch) if batch else None,
        cell=cell or "lstm",
    )


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(config, variant):
    fast = variant.startswith("fast")
    model_config = dataclasses.replace(config.model, fast_path="on" if fast else "off")
    keras.utils.set_random_seed(0)
    # Layers take the global dtype policy when they are built.
    keras.config.set_dtype_policy("mixed_bfloat16" if "bf16" in variant else "float32")
    model = build_model(
        model_config,
        config.data.batch_size,
        config.data.sequence_length,
        for_training=True,  # as charlstm.train builds it: LSTMStack where it fuses
    )
    keras.config.set_dtype_policy("float32")
    if variant == "fast_unroll":
        for layer in recurrent_layers(model):
            layer.unroll = True  # read when the training step is traced
    compile_model(model, model_config, steps_per_epoch=1000)
    if variant == "fast_xla":
        model.jit_compile = True
    return model


def matmul_bound(config):
    """A function measuring, at each call, the chars/s this model would reach if
    a training step cost only its matrix products at the machine's rate then,
    and that rate (FLOP/s): `{"peak": (chars/s, FLOP/s), "sustained": (...)}`,
    at the rate of the fastest product chain (`product_timer`) and at the rate
    kept up over seconds of back-to-back chains (`sustained_product_seconds`)."""
    m, batch = config.model, config.data.batch_size
    features = VOCABULARY if m.input_encoding == "one_hot" else m.embedding_dim
    # The LN-LSTM's normalisations are not matrix products: its bound is the LSTM's.
    gates = {"lstm": 4, "ln_lstm": 4, "gru": 3, "simple_rnn": 1}[m.cell]
    macs = m.units * VOCABULARY  # softmax
    for i in range(m.num_layers):
        macs += ((features if i == 0 else m.units) + m.units) * gates * m.units
    flops_per_char = 6 * macs  # forward + two products backward, 2 FLOPs a MAC
    chains = product_chains(batch, m.units, gates)
    flops = 2 * batch * m.units * gates * m.units  # one product

    def bound():
        rates = {
            "peak": flops / product_timer(chains=chains)(),
            "sustained": flops / sustained_product_seconds(chains),
        }  # FLOP/s
        return {k: (rate / flops_per_char, rate) for k, rate in rates.items()}

    return bound


def product_chains(batch, units, gates=4):
    """Compiled chains of 100 recurrent products `(batch, units) @ (units, gates
    * units)`, each followed by a slice and a scaling that keep the chain's
    shape: `(one, pair)`, each a function of no arguments running one chain, or
    two side by side. One chain uses every core where TensorFlow splits a
    product over them; a pair, where it runs one operation per core
    (`charlstm.training.threads`)."""
    import tensorflow as tf

    h = tf.random.normal((batch, units))
    u = tf.random.normal((units, gates * units))

    def chain(h):
        for _ in range(100):
            h = tf.matmul(h, u)[:, :units] * 1e-3
        return h

    one = tf.function(chain)
    two = tf.function(lambda h, g: (chain(h), chain(g)))
    one(h), two(h, h + 1)
    return lambda: one(h).numpy(), lambda: [x.numpy() for x in two(h, h + 1)]


def product_timer(batch=None, units=None, gates=4, chains=None):
    """A function measuring, at each call, the seconds per recurrent product of
    the whole machine at its fastest: the best of 5 chains run alone and of 5
    pairs run side by side (per product; `product_chains`, or the `chains`
    given). A peak: short chains may run faster than the machine keeps up."""
    one, pair = chains or product_chains(batch, units, gates)

    def seconds():
        alone = min(timed_call(one) for _ in range(5)) / 100
        return min(alone, min(timed_call(pair) for _ in range(5)) / 200)

    return seconds


def sustained_product_seconds(chains, seconds=3.0):
    """Seconds per recurrent product kept up over `seconds` of chains run back
    to back, alone and then in pairs (`product_chains`), the faster. On the
    2-core machine on 2026-12-01 the best chain of a pair ran at 213 to 305
    GFLOP/s and five seconds of them at 173 to 217."""
    per_product = []
    for run, products in zip(chains, (100, 200), strict=True):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            run()
            count += 1
        per_product.append((time.perf_counter() - start) / (count * products))
    return min(per_product)


def add_threads_option(parser):
    """`--threads`, TensorFlow's thread pools as `TrainingConfig.threads` sets
    them; the script calls `configure_threads` before TensorFlow starts."""
    parser.add_argument(
        "--threads",
        choices=THREADS,
        default="auto",
        help="TensorFlow's thread pools, as TrainingConfig.threads sets them",
    )


def timed_call(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class BatchTimer(keras.callbacks.Callback):
    """Wall and CPU seconds of every training batch of a `fit` call."""

    def __init__(self):
        super().__init__()
        self.wall, self.cpu = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter(), time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])


def measure(name, variants, repeats, batches):
    """Steady-state training chars/s of each variant, in interleaved blocks.

    A block is one `fit` call of `batches` batches; its rate counts the batches
    after the first, timed from the start to the end of each (the step and its
    input), so that what the call costs around them is left out: on the
    2-core machine some calls of four batches spent up to 5 s outside their
    batches, halving those blocks' rates when they were timed whole.
    """
    if batches < 2:
        raise ValueError(f"`batches` must be at least 2. Received: batches={batches}")
    config = model_config(name)
    batch, length = config.data.batch_size, config.data.sequence_length
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCABULARY, (batches * batch, length)).astype("int32")
    y = rng.integers(0, VOCABULARY, (batches * batch, length))
    models, compile_seconds = {}, {}
    for variant in variants:
        start = time.perf_counter()
        models[variant] = build(config, variant)
        models[variant].fit(x[:batch], y[:batch], batch_size=batch, verbose=0)
        compile_seconds[variant] = time.perf_counter() - start
        log(f"{name} {variant}: built and compiled in {compile_seconds[variant]:.1f} s")
    wall = {v: [] for v in variants}
    cpu = {v: [] for v in variants}
    chars = (batches - 1) * batch * length  # the timed batches of a block
    bound_now, bounds = matmul_bound(config), []
    for r in range(repeats):
        bounds.append(bound_now())  # between rounds, as the machine is then
        for variant in variants:
            timer = BatchTimer()
            models[variant].fit(
                x,
                y,
                batch_size=batch,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=[timer],
            )
            wall[variant].append(chars / sum(timer.wall[1:]))
            cpu[variant].append(chars / sum(timer.cpu[1:]))
        rates = ", ".join(f"{v} {wall[v][-1]:,.0f}" for v in variants)
        log(f"{name}: repeat {r + 1}/{repeats}: chars/s {rates}")
    bounds.append(bound_now())  # after the last round
    bound, flop_rate = max(b["peak"] for b in bounds)
    # Each round against the sustained bound measured next to it: the higher of
    # the measurements just before and just after the round.
    sustained = [b["sustained"] for b in bounds]
    near = [max(a[0], b[0]) for a, b in itertools.pairwise(sustained)]
    base = variants[0]
    rows = []
    for variant in variants:
        ratios = [a / b for a, b in zip(wall[variant], wall[base], strict=True)]
        median = statistics.median(wall[variant])
        paired = [a / b for a, b in zip(wall[variant], near, strict=True)]
        rows.append(
            f"| {name} | {variant} | {median:,.0f} | {statistics.median(ratios):.2f} "
            f"| {min(ratios):.2f}-{max(ratios):.2f} "
            f"| {statistics.median(cpu[variant]) / statistics.median(cpu[base]):.2f} "
            f"| {median / bound:.2f} | {statistics.median(paired):.2f} "
            f"({min(paired):.2f}-{max(paired):.2f}) "
            f"| {compile_seconds[variant]:.0f} |"
        )

    def listed(kind):  # GFLOP/s of every measurement, in order
        return ", ".join(f"{b[kind][1] / 1e9:.0f}" for b in bounds)

    note = (
        f"- {name}: peak matrix-product bound {bound:,.0f} chars/s (recurrent "
        f"product at {flop_rate / 1e9:.1f} GFLOP/s, the best of {len(bounds)} "
        f"measurements before each round and after the last: {listed('peak')} "
        f"GFLOP/s); sustained, the same times: {listed('sustained')} GFLOP/s"
    )
    return rows, note


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add(
        "--models",
        default="2x128,3x512",
        help=f"comma-separated: {list(MODELS)}, or LxU[bB][cell] (layers x units, "
        "batch, lstm/gru/simple_rnn)",
    )
    add("--variants", default="plain,fast", help=f"comma-separated: {VARIANTS}")
    add("--repeats", type=int, default=10, help="blocks per variant")
    add("--batches", type=int, default=20, help="batches per block (the first untimed)")
    add_threads_option(parser)
    args = parser.parse_args()
    threads = configure_threads(args.threads)  # before TensorFlow starts
    if args.batches < 2:
        parser.error("--batches: at least 2 (the first batch of a block is untimed)")
    models = args.models.split(",")
    variants = args.variants.split(",")
    for name in models:
        if name not in MODELS and not MODEL_SPEC.match(name):
            parser.error(
                f"--models: unknown {name!r}; choose from {list(MODELS)} or "
                "LxU[bB][cell] (e.g. 2x256b128, 2x192gru)"
            )
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"--variants: unknown {variant!r}; choose from {VARIANTS}")
    print(
        f"| model | variant | train chars/s (median) | ratio to {variants[0]} "
        "(median) | ratio range | CPU-time ratio | of the peak bound (best) "
        "| of the sustained bound next to each round (median, range) | compile s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for name in models:
        rows, note = measure(name, variants, args.repeats, args.batches)
        print("\n".join(rows), flush=True)
        notes.append(note)
    print(
        f"\n{args.repeats} interleaved blocks of {args.batches} batches per variant "
        "(the first of each untimed); "
        f"random ids, vocabulary 100; {describe_threads(threads)} "
        f"(--threads {args.threads})."
    )
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
