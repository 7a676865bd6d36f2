"""Held-out Python after equal wall-clock training: charlstm vs plain Keras vs GPT-2.

The corpus is the running interpreter's standard library (every top-level `.py`
file, sorted by name). The last 10% of the files are held out; the contenders
train on the rest, each for `--budget` seconds (`time_budget`, compilation and
the per-epoch validation of the training tails included), then score the
held-out text:

- `charlstm`: charlstm's default `RunConfig`.
- `plain_keras`: the plain Keras recipe of the ten-minute defaults search,
  through charlstm: stateful 2 x LSTM(256), one-hot input, RMSprop 2e-3,
  clipnorm 5, constant learning rate, Keras's own LSTM layers
  (`fast_path=False`); the default data layout.
- `gpt2`: a GPT-2 through `charlstm.backends.gpt2.backend` with its default
  `GPT2Config` (nanoGPT's CPU recipe: 4 layers, 4 heads, 128 wide, windows of
  64 tokens, a 1,024-token byte-level BPE), on the same stream split.

The LSTMs are scored with `charlstm.evaluate` (one stateful pass over the
held-out text, read as `--eval-streams` parallel streams), GPT-2 with
`evaluate_gpt2` (sliding windows); both give nats per held-out character.
Samples: 200 characters after "def " at temperature 0.8.

Run by hand, alone on the machine (about 3 x 11 minutes):

    python benchmarks/quality.py --budget 600 > quality.md

A quick check: `python benchmarks/quality.py --budget 20 --eval-chars 20000`.
"""

import argparse
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import charlstm  # noqa: E402
from charlstm.data.cleaning import clean_text  # noqa: E402
from charlstm.data.corpus import default_corpus_paths  # noqa: E402

HELD_OUT_FILES = 0.10  # share of the (sorted) files held out
SEED, TEMPERATURE, SAMPLE_CHARS = "def ", 0.8, 200
CONTENDERS = ("charlstm", "plain_keras", "gpt2")
PLAIN_KERAS = dict(
    num_layers=2,
    units=256,
    input_encoding="one_hot",
    optimizer="rmsprop",
    learning_rate=0.002,
    clipnorm=5.0,
    lr_schedule="exponential",
    lr_decay=1.0,
    dropout=0.0,
    fast_path=False,
)


def log(message):
    print(message, file=sys.stderr, flush=True)


def split_corpus():
    """(train text, held-out text, train files, held-out files)."""
    paths = sorted(default_corpus_paths(max_characters=10**12))
    cut = len(paths) - max(1, round(len(paths) * HELD_OUT_FILES))
    texts = [clean_text(p.read_text(encoding="utf-8", errors="replace")) for p in paths]
    return "".join(texts[:cut]), "".join(texts[cut:]), paths[:cut], paths[cut:]


def train_rate(history):
    """Mean train chars/s, each epoch weighted by its length in seconds."""
    seconds = sum(r["seconds"] for r in history)
    return sum(r["chars_per_second"] * r["seconds"] for r in history) / seconds


def parse_settings(pairs, parser, flag):
    """`KEY=VALUE` strings -> dict, values read as JSON when they parse."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            parser.error(f"{flag}: expected KEY=VALUE, got {pair!r}")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def run_lstm(name, overrides, train_text, held_out, args):
    config = charlstm.make_config(epochs=10**6, random_seed=0, **overrides)
    log(f"{name}: training {args.budget:g} s ...")
    result = charlstm.train(text=train_text, config=config, time_budget=args.budget)
    generator = result.generator()
    log(f"{name}: scoring {len(held_out):,} held-out characters ...")
    scores = charlstm.evaluate(generator, text=held_out, num_streams=args.eval_streams)
    sample = generator.generate(
        SEED, SAMPLE_CHARS, temperature=TEMPERATURE, random_seed=0
    )
    return dict(
        params=result.model.count_params(),
        loss=scores["loss"],
        rate=train_rate(result.history),
        epochs=len(result.history),
        sample=sample,
    )


def run_gpt2(train_text, held_out, args):
    from charlstm.backends.gpt2.backend import GPT2Config, evaluate_gpt2, train_gpt2

    data = charlstm.make_config().data  # the LSTMs' stream split
    training = charlstm.TrainingConfig(epochs=10**6, random_seed=0)
    log(f"gpt2: training {args.budget:g} s ...")
    result = train_gpt2(
        text=train_text,
        config=GPT2Config(**args.gpt2_settings),
        data=data,
        training=training,
        time_budget=args.budget,
    )
    generator = result.generator()
    log(f"gpt2: scoring {len(held_out):,} held-out characters ...")
    scores = evaluate_gpt2(generator, held_out)
    sample = generator.generate(
        SEED, SAMPLE_CHARS, temperature=TEMPERATURE, random_seed=0
    )
    return dict(
        params=result.model.count_params(),
        loss=scores["loss"],
        rate=train_rate(result.history),
        epochs=len(result.history),
        sample=sample,
    )


def describe(name, args):
    if name == "charlstm":
        c = charlstm.make_config(**args.settings)
        m, d = c.model, c.data
        changed = ", ".join(f"{k}={v}" for k, v in args.settings.items())
        return (
            f"charlstm {'with ' + changed if changed else 'default'}: "
            f"{m.num_layers} x {m.cell.upper()}({m.units}), {m.input_encoding}, "
            f"{m.optimizer} {m.learning_rate:g} {m.lr_schedule}, "
            f"seq {d.sequence_length}, batch {d.batch_size}"
        )
    if name == "plain_keras":
        return "plain Keras: 2 x LSTM(256), one-hot, RMSprop 2e-3, clip 5, constant lr"
    from charlstm.backends.gpt2.backend import GPT2Config

    g = GPT2Config(**args.gpt2_settings)
    return (
        f"GPT-2: {g.num_layers} x {g.hidden_dim}, {g.num_heads} heads, "
        f"BPE {g.vocabulary_size:,}, window {g.sequence_length}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--budget", type=float, default=600, help="training seconds per contender")
    add(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"comma-separated subset of {','.join(CONTENDERS)}",
    )
    add("--eval-chars", type=int, help="score only the first N held-out characters")
    add("--eval-streams", type=int, help="parallel streams for charlstm.evaluate")
    add(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field of the charlstm contender's config (repeatable), "
        "e.g. --set units=256 --set optimizer=adam",
    )
    add(
        "--gpt2-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a GPT2Config field (repeatable), e.g. --gpt2-set hidden_dim=64",
    )
    args = parser.parse_args()
    args.settings = parse_settings(args.set, parser, "--set")
    args.gpt2_settings = parse_settings(args.gpt2_set, parser, "--gpt2-set")
    names = [n for n in args.contenders.split(",") if n]
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown or not names:
        parser.error(f"--contenders: choose from {','.join(CONTENDERS)}")
    if not args.budget > 0:
        parser.error("--budget must be a positive number of seconds")

    train_text, held_out, train_files, held_files = split_corpus()
    held_out = held_out[: args.eval_chars]
    log(
        f"train: {len(train_files)} files, {len(train_text):,} chars; held out: "
        f"{len(held_files)} files ({held_files[0].name} .. {held_files[-1].name}), "
        f"{len(held_out):,} chars scored"
    )
    rows = {}
    for name in names:
        if name == "gpt2":
            rows[name] = run_gpt2(train_text, held_out, args)
        else:
            overrides = PLAIN_KERAS if name == "plain_keras" else args.settings
            rows[name] = run_lstm(name, overrides, train_text, held_out, args)

    print(
        "| contender | params | val nats/char | val bits/char | train chars/s "
        "| epochs |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {describe(name, args)} | {r['params']:,} | {r['loss']:.3f} "
            f"| {r['loss'] / math.log(2):.3f} | {r['rate']:,.0f} | {r['epochs']} |"
        )
    print(
        f"\n{args.budget:g} s of training each on {len(train_files)} standard-library "
        f"files ({len(train_text):,} chars); scored on {len(held_out):,} chars of "
        f"the last {len(held_files)} files. Train chars/s: characters (for GPT-2, "
        "characters spelled by its tokens) per second over the epochs. An epoch "
        "cut by the budget counts as one."
    )
    for name, r in rows.items():
        print(
            f"\nSample, {describe(name, args)} ({TEMPERATURE} temperature, "
            f'after "{SEED}"):\n'
        )
        print("```python\n" + r["sample"] + "\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
