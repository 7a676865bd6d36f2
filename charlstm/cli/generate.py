"""`charlstm generate`: text from a trained run, after a warm-up seed.

Runs on the numpy engine when it supports the model, and then does not import
TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys

from charlstm.cli.common import (
    add_json_option,
    add_run_arguments,
    add_sampling_options,
    add_strict_option,
    load_generator,
    note_outside,
    positive_int,
    sampling_from,
)


def add_parser(commands):
    g = commands.add_parser(
        "generate",
        help="generate text from a trained run",
        description="Print the seed followed by generated text; with "
        "--num-samples M, the samples are separated by blank lines.",
    )
    add_run_arguments(g)
    g.add_argument("--seed", default="\n", help="warm-up text (default: a newline)")
    g.add_argument(
        "--length",
        type=int,
        default=500,
        help="characters to generate, tokens for a word-mode run (default: 500)",
    )
    add_sampling_options(g)
    g.add_argument(
        "--stop",
        action="append",
        metavar="TEXT",
        help="end a sample before this text (repeat for several)",
    )
    g.add_argument(
        "--num-samples", type=positive_int, default=1, help="samples (default: 1)"
    )
    add_strict_option(g, default=True)
    g.add_argument(  # the name of --no-strict before there was one flag
        "--drop-unknown", dest="strict", action="store_false", help=argparse.SUPPRESS
    )
    add_json_option(g, "the samples (a list)")
    return g


def run(args) -> int:
    sampling = sampling_from(args, stop=tuple(args.stop or ()))
    generator = load_generator(args)
    if not (args.strict and generator.unknown(args.seed)):  # else: an error
        note_outside(generator, args.seed, "seed ")
    texts = generator.generate(
        args.seed,
        args.length,
        sampling,
        num_samples=args.num_samples,
        strict=args.strict,
    )
    texts = texts if isinstance(texts, list) else [texts]
    if args.json:
        print(json.dumps({"samples": texts}))
    else:
        sys.stdout.write("\n\n".join(texts) + "\n")
    return 0
