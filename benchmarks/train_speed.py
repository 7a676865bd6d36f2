"""Training chars/s and held-out bits/char: charlstm's default vs the keras-io recipe.

Both models train for the same wall-clock budget on the first 95% of the same
corpus, in the same process, and are scored on the same held-out last 5%:

- charlstm: the default `RunConfig`, stateful, interleaved `StatefulBatches`,
  built with the library's own pieces (`build_model`, `compile_model`,
  `ResetStates`, `TimeBudget`), as `charlstm.train` does but without its
  per-epoch validation pass (the validation tail `StatefulBatches` keeps back
  from every stream goes unused).
- keras-io (https://keras.io/examples/generative/lstm_character_level_text_generation/):
  stateless windows of 40 characters, step 3, one-hot input, LSTM(128), Dense
  softmax, RMSprop(learning_rate=0.01), batch 128, shuffled; one target per window.

charlstm is scored with `charlstm.evaluate` (held-out text fed statefully); the
keras-io model the way it is used, each character predicted from the 40 before it.
Run by hand, alone on the machine:

    python benchmarks/train_speed.py --budget 120 > docs/train_speed.md

Prints a Markdown table and notes; progress goes to stderr.
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
from charlstm.data.batches import StatefulBatches, WindowDataset  # noqa: E402
from charlstm.model.build import OneHot, build_model  # noqa: E402
from charlstm.training.callbacks import ResetStates, TimeBudget  # noqa: E402
from charlstm.training.schedule import compile_model  # noqa: E402

HELD_OUT = 0.05  # tail share of the corpus held out for both models
WINDOW, STEP = 40, 3  # the keras-io recipe's windows


def log(message):
    print(message, file=sys.stderr, flush=True)


class Throughput(keras.callbacks.Callback):
    """Training targets per second, counted after the first (compiling) batch."""

    def __init__(self, targets_per_batch):
        super().__init__()
        self.targets_per_batch = targets_per_batch
        self.batches, self.first_end, self.last_end = 0, None, None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.first_end is None:
            self.first_end = now
        else:
            self.batches, self.last_end = self.batches + 1, now

    @property
    def targets(self):
        return (self.batches + 1) * self.targets_per_batch

    @property
    def rate(self):
        if not self.batches:
            return math.nan
        return self.batches * self.targets_per_batch / (self.last_end - self.first_end)


def train_charlstm(config, train_ids, budget):
    data = config.data
    batches = StatefulBatches(
        train_ids, data.batch_size, data.sequence_length, data.validation_split
    )
    keras.utils.set_random_seed(0)
    model = build_model(
        config.model, data.batch_size, data.sequence_length, for_training=True
    )
    compile_model(model, config.model, len(batches.train))
    meter = Throughput(data.batch_size * data.sequence_length)
    calls = [ResetStates(), TimeBudget(budget), meter]
    model.fit(batches.train, epochs=10**4, shuffle=False, verbose=0, callbacks=calls)
    return model, meter


def train_keras_io(vocabulary_size, train_ids, budget):
    windows = WindowDataset(train_ids, WINDOW, STEP, 128, shuffle=True, seed=0)
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(WINDOW,), dtype="int32")
    x = OneHot(vocabulary_size)(inputs)  # (batch, 40, vocab)
    x = keras.layers.LSTM(128)(x)  # (batch, 128)
    x = keras.layers.Dense(vocabulary_size, activation="softmax")(x)  # (batch, vocab)
    model = keras.Model(inputs, x, name="keras_io")
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
    )
    meter = Throughput(128)
    model.fit(windows, epochs=10**4, verbose=0, callbacks=[TimeBudget(budget), meter])
    return model, meter


def window_bits_per_char(model, ids, first_target, count):
    """Bits/char of `count` ids from `first_target` on, each from the 40 before it."""
    starts = np.arange(first_target, first_target + count) - WINDOW
    x = ids[starts[:, None] + np.arange(WINDOW)].astype(np.int32)  # (count, 40)
    y = ids[starts + WINDOW]  # (count,)
    probs = model.predict(x, batch_size=1024, verbose=0)  # (count, vocab)
    picked = probs[np.arange(count), y].astype(np.float64)
    return -np.log2(np.maximum(picked, 1e-30)).mean()


def parse_override(text):
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("corpus", nargs="*", help="files or directories (default: stdlib source)")
    add("--budget", type=float, default=120, help="training seconds per model")
    add("--max-chars", type=int, help="keep only the first N characters")
    add("--eval-chars", type=int, default=20_000, help="held-out targets for both")
    add(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a charlstm config field (smoke tests), e.g. --set units=64",
    )
    args = parser.parse_args()

    corpus = charlstm.load_corpus(args.corpus or None)
    ids, vocabulary = corpus.ids[: args.max_chars], corpus.vocabulary
    cut = int(len(ids) * (1 - HELD_OUT))
    train_ids, held_ids = ids[:cut], ids[cut:]
    log(
        f"corpus {len(ids):,} chars, vocabulary {vocabulary.size}; "
        f"train {len(train_ids):,}, held out {len(held_ids):,}"
    )

    overrides = dict(parse_override(s) for s in args.set)
    config = charlstm.make_config(vocabulary_size=vocabulary.size, **overrides)
    log(f"charlstm: training {args.budget:g} s ...")
    model, meter = train_charlstm(config, train_ids, args.budget)
    generator = charlstm.TextGenerator.from_model(
        model, vocabulary, config, engine="keras"
    )
    full = charlstm.evaluate(generator, ids=held_ids)
    first_ids = held_ids[: args.eval_chars + 1]
    first = charlstm.evaluate(generator, ids=first_ids, num_streams=1)
    scored = first["characters"]  # the targets held_ids[1 : scored + 1]
    name = "charlstm default" + (f" ({', '.join(args.set)})" if args.set else "")
    rows = [
        (
            name,
            model.count_params(),
            meter,
            f"{first['bits_per_char']:.3f}",
            f"{full['bits_per_char']:.3f}",
        )
    ]

    log(f"keras-io: training {args.budget:g} s ...")
    model, meter = train_keras_io(vocabulary.size, train_ids, args.budget)
    log(f"keras-io: scoring {scored:,} held-out chars from 40-char windows ...")
    bits = window_bits_per_char(model, ids, cut + 1, scored)
    rows.append(("keras-io LSTM(128)", model.count_params(), meter, f"{bits:.3f}", "-"))

    print(
        f"| model | params | train target chars/s | targets trained "
        f"| held-out bits/char, first {scored:,} "
        f"| held-out bits/char, all {full['characters']:,} |"
    )
    print("|---|---|---|---|---|---|")
    for name, params, meter, bits, all_bits in rows:
        print(
            f"| {name} | {params:,} | {meter.rate:,.0f} | {meter.targets:,} "
            f"| {bits} | {all_bits} |"
        )
    ratio = rows[0][2].rate / rows[1][2].rate
    m, d = config.model, config.data
    notes = [
        f"charlstm / keras-io train target chars/s: **{ratio:.2f}x**",
        "",
        f"- Corpus: {len(ids):,} characters "
        f"({'given files' if args.corpus else 'stdlib source'}), vocabulary "
        f"{vocabulary.size}; both models train on the first {len(train_ids):,} and are "
        f"scored on the last {len(held_ids):,}.",
        f"- Budget: {args.budget:g} s of training each, compilation included; chars/s "
        "counts from the end of the first batch. A target is a predicted character: "
        "charlstm has batch x sequence per batch, keras-io one per window (128).",
        f"- charlstm: {m.num_layers} x {m.units} {m.cell}, {m.input_encoding}, batch "
        f"{d.batch_size}, sequence {d.sequence_length}; scored with "
        f"`charlstm.evaluate`, statefully: the first {scored:,} held-out targets as "
        "one stream, and all held-out text with its default streams.",
        f"- keras-io: 40-char windows, step 3, batch 128, RMSprop 0.01; scored on the "
        f"same first {scored:,} held-out targets, each predicted from the 40 "
        "characters before it (windows of 40, step 1; the first ones reach back into "
        "the training text).",
    ]
    print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
