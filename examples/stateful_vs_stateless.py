"""The experiment of Frank (2022): the same model trained statefully and statelessly.

The paper: Frank, "Generating Python with Character Level LSTMs" (2022), section 4.

    python examples/stateful_vs_stateless.py --budget 300 [--corpus PATH ...]

Both ways train the same architecture (charlstm's default config unless `--set`
changes it) for the same wall-clock budget, on the first 95% of the same corpus,
in one process, and are scored the same ways on the same held-out last 5%:

- stateful: `charlstm.train` - interleaved streams, state carried from batch to
  batch, a target at every time step (sequence_length targets per window), the
  stream tails validated after every epoch (inside the budget).
- stateless: `charlstm.build_model(..., stateful=False)` on shuffled independent
  windows (`charlstm.WindowDataset`, section 2.1 of Frank's paper / keras-io):
  windows of sequence_length characters every `--step` characters, one
  next-character target per window, the state reset for every window.

Scoring, for both models with the weights they ended with:

- "stateful read": `charlstm.evaluate` feeds the held-out text through a stateful
  copy of the model, every character predicted from everything before it in its
  stream. This is how either model is used to generate (Frank's paper generates
  from its stateless model the same way: a warm-up, then one character at a time).
- "windows": each of the first `--eval-chars` held-out targets predicted from the
  sequence_length characters before it by a stateless copy, the way the stateless
  model was trained.

Target chars/s counts predicted characters per second of training, from the end
of the first (compiling) batch. Prints a Markdown table; progress goes to stderr.
The table belongs in docs/stateful_vs_stateless.md, which explains the choices.
"""

import argparse
import ast
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.model.build import build_model  # noqa: E402
from charlstm.training.callbacks import TimeBudget  # noqa: E402
from charlstm.training.schedule import compile_model  # noqa: E402

HELD_OUT = 0.05  # tail share of the corpus held out for both models
UNLIMITED_EPOCHS = 1_000_000  # the budget ends training


def log(message):
    print(message, file=sys.stderr, flush=True)


class Throughput(keras.callbacks.Callback):
    """Batches and targets per second, counted after the first (compiling) batch."""

    def __init__(self, targets_per_batch):
        super().__init__()
        self.targets_per_batch = targets_per_batch
        self.batches, self.first_end, self.last_end = 0, None, None
        self.steps_per_epoch = None

    def on_train_begin(self, logs=None):
        self.steps_per_epoch = self.params.get("steps")

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.first_end is None:
            self.first_end = now
        else:
            self.last_end = now
        self.batches += 1

    @property
    def targets(self):
        return self.batches * self.targets_per_batch

    @property
    def rate(self):
        if self.batches < 2:
            return math.nan
        return (
            (self.batches - 1)
            * self.targets_per_batch
            / (self.last_end - self.first_end)
        )

    @property
    def epochs(self):
        return self.batches / self.steps_per_epoch if self.steps_per_epoch else 0.0


def train_stateful(config, train_text, budget):
    data = config.data
    meter = Throughput(data.batch_size * data.sequence_length)
    result = charlstm.train(
        text=train_text, config=config, time_budget=budget, callbacks=[meter]
    )
    return result, meter


def train_stateless(config, train_ids, budget, step, batch_size):
    """The same architecture on shuffled independent windows, one target each."""
    length = config.data.sequence_length
    windows = charlstm.WindowDataset(
        train_ids, length, step, batch_size, shuffle=True, seed=0
    )
    keras.utils.set_random_seed(0)
    full = build_model(config.model, None, length, stateful=False)
    # Only the last time step is a target: the softmax reads the top layer's last
    # output. Same layers, so `full` holds the trained weights.
    top = full.layers[-2].output  # (batch, time, units)
    last = full.get_layer("softmax")(top[:, -1, :])  # (batch, vocab)
    model = keras.Model(full.input, last, name="charlstm_stateless")
    compile_model(model, config.model, len(windows))
    meter = Throughput(batch_size)
    model.fit(
        windows,
        epochs=UNLIMITED_EPOCHS,
        verbose=0,
        callbacks=[TimeBudget(budget), meter],
    )
    return full, meter


def window_bits_per_char(weights, config, ids, count):
    """Bits/char of `count` targets of `ids`, each from the sequence_length ids
    before it, by a stateless copy of the model."""
    length = config.data.sequence_length
    model = build_model(config.model, None, length, stateful=False)
    model.set_weights(weights)
    count = min(count, len(ids) - length)
    starts = np.arange(count)
    x = ids[starts[:, None] + np.arange(length)].astype(np.int32)  # (count, time)
    y = ids[starts + length]  # (count,)
    probs = model.predict(x, batch_size=256, verbose=0)[:, -1, :]  # (count, vocab)
    picked = probs[np.arange(count), y].astype(np.float64)
    return float(-np.log2(np.maximum(picked, 1e-30)).mean()), count


def parse_override(text):
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--corpus", nargs="+", help="files or directories (default: stdlib source)")
    add("--pattern", default="*", help="file-name glob inside directories")
    add("--budget", type=float, default=300, help="training seconds per model")
    add("--max-chars", type=int, help="keep only the first N characters")
    add("--step", type=int, default=3, help="stateless: distance between windows")
    add("--stateless-batch-size", type=int, help="windows per batch (config's)")
    add("--eval-chars", type=int, default=20_000, help="targets scored by windows")
    add(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field, e.g. --set units=64 (both models)",
    )
    args = parser.parse_args()

    corpus = charlstm.load_corpus(args.corpus, pattern=args.pattern)
    ids = corpus.ids[: args.max_chars]
    cut = int(len(ids) * (1 - HELD_OUT))
    train_text = corpus.vocabulary.decode(ids[:cut])
    held_text = corpus.vocabulary.decode(ids[cut:])
    log(
        f"corpus {len(ids):,} chars; train {len(train_text):,}, "
        f"held out {len(held_text):,}"
    )
    overrides = dict(parse_override(s) for s in args.set)
    config = charlstm.make_config(epochs=UNLIMITED_EPOCHS, random_seed=0, **overrides)

    log(f"stateful: training {args.budget:g} s ...")
    result, stateful_meter = train_stateful(config, train_text, args.budget)
    config, vocabulary = result.config, result.vocabulary  # vocabulary_size set
    trained = {"stateful": (result.model, stateful_meter)}

    log(f"stateless: training {args.budget:g} s ...")
    train_ids = vocabulary.encode(train_text)
    batch_size = args.stateless_batch_size or config.data.batch_size
    full, stateless_meter = train_stateless(
        config, train_ids, args.budget, args.step, batch_size
    )
    trained["stateless"] = (full, stateless_meter)

    held_ids = vocabulary.encode(held_text, strict=False)
    rows = []
    for mode, (model, meter) in trained.items():
        log(f"{mode}: scoring ...")
        # A stateful copy of the weights, whichever way they were trained.
        generator = charlstm.TextGenerator.from_model(
            model, vocabulary, config, engine="keras"
        )
        read = charlstm.evaluate(generator, ids=held_ids)
        windowed, scored = window_bits_per_char(
            model.get_weights(), config, held_ids, args.eval_chars
        )
        rows.append((mode, meter, read, windowed))

    length = config.data.sequence_length
    print(
        "| mode | target chars/s | targets trained | epochs "
        f"| val bits/char, stateful read of {rows[0][2]['characters']:,} "
        f"| val bits/char, {length}-char windows, {scored:,} |"
    )
    print("|---|---|---|---|---|---|")
    for mode, meter, read, windowed in rows:
        rate = "-" if math.isnan(meter.rate) else f"{meter.rate:,.0f}"
        print(
            f"| {mode} | {rate} | {meter.targets:,} | {meter.epochs:.2f} "
            f"| {read['bits_per_char']:.3f} | {windowed:.3f} |"
        )
    ratio = rows[0][1].rate / rows[1][1].rate
    if math.isnan(ratio):
        ratio_line = (
            "stateful / stateless train target chars/s: - (a budget ended after "
            "the first, compiling batch: give a longer --budget)"
        )
    else:
        ratio_line = f"stateful / stateless train target chars/s: **{ratio:.2f}x**"
    m, d = config.model, config.data
    print(
        f"\n{ratio_line}\n\n"
        f"- Corpus: {len(ids):,} characters "
        f"({'given files' if args.corpus else 'stdlib source'}), vocabulary "
        f"{vocabulary.size}; train on the first {len(train_text):,}, held out the "
        f"last {len(held_text):,}.\n"
        f"- Model (both): {m.num_layers} x {m.units} {m.cell}, {m.input_encoding}, "
        f"sequence {d.sequence_length}, RMSprop {m.learning_rate:g}, clipnorm "
        f"{m.clipnorm}, decay {m.lr_decay:g} per epoch.\n"
        f"- Stateful: batch {d.batch_size} streams, {d.sequence_length} targets per "
        f"row; {d.validation_split:g} of every stream validated per epoch.\n"
        f"- Stateless: batch {batch_size} windows, step {args.step}, one target per "
        "window, shuffled.\n"
        f"- Budget: {args.budget:g} s of training each (`TimeBudget`)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
