"""`charlstm evaluate`: loss and bits per character of held-out text, as JSON.

The run's backend scores the text (`charlstm.backends`): an LSTM run statefully,
stream by stream, on the numpy engine when it supports the model (no
TensorFlow); a GPT-2 run in sliding windows. Both score every character of the
text, read and cleaned as the run's corpus was, so the figures compare.
"""

from __future__ import annotations

import json

from charlstm.cli.common import (
    add_json_option,
    add_run_arguments,
    load_generator,
    note,
)

KEYS = (
    "loss",
    "bits_per_char",
    "perplexity",
    "characters",
    "unknown_characters",
    "bits_per_char_known",
)


def add_parser(commands):
    e = commands.add_parser(
        "evaluate",
        help="loss and bits per character on held-out text (JSON)",
        description="Score held-out text with a trained run and print "
        '{"loss", "bits_per_char", "perplexity", "characters", '
        '"unknown_characters", "bits_per_char_known"} as JSON: every character '
        "is scored, those outside the vocabulary as its unknown id (counted in "
        "unknown_characters; bits_per_char_known leaves them out).",
    )
    add_run_arguments(e)
    e.add_argument("corpus", nargs="+", metavar="CORPUS", help="files or directories")
    e.add_argument(
        "--pattern", default="*", help="file-name glob inside directories (default: *)"
    )
    add_json_option(e, "the scores (they are always JSON)")
    return e


def run(args) -> int:
    from charlstm.backends import get_backend, run_backend, run_config_class
    from charlstm.data.corpus import read_text
    from charlstm.training.run_dir import RunFiles

    backend = run_backend(args.run_dir)
    generator = load_generator(args)
    data = run_config_class(backend).load(RunFiles(args.run_dir).config).data
    text = read_text(args.corpus, data, pattern=args.pattern)
    scores = get_backend(backend).evaluate_text(generator, text)
    if scores.get("unknown_dropped"):
        note(
            f"{scores['unknown_dropped']:,} characters outside the vocabulary were "
            "dropped (the run's vocabulary predates unknown ids)"
        )
    print(json.dumps({k: scores[k] for k in KEYS}))
    return 0
