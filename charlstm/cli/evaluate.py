"""`charlstm evaluate`: loss and bits per character of held-out text, as JSON.

The run's backend scores the text (`charlstm.backends`): an LSTM run statefully,
stream by stream, on the numpy engine when it supports the model (no
TensorFlow); a GPT-2 run in sliding windows. Both score every character of the
text, read and cleaned as the run's corpus was, so the figures compare.

With `--dynamic`, an LSTM or LN-LSTM run is scored in one stream twice: with its trained
weights ("static") and with dynamic evaluation ("dynamic", `charlstm.eval.dynamic`),
whose flags come from `DynamicConfig`'s fields.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from charlstm.cli.common import (
    add_dynamic_options,
    add_json_option,
    add_run_arguments,
    dynamic_config,
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
PROGRESS_MIN = 20_000  # characters from which --dynamic shows a progress bar


def add_parser(commands):

    e = commands.add_parser(
        "evaluate",
        help="loss and bits per character on held-out text (JSON)",
        description="Score held-out text with a trained run and print "
        '{"loss", "bits_per_char", "perplexity", "characters", '
        '"unknown_characters", "bits_per_char_known"} as JSON: every character '
        "is scored, those outside the vocabulary as its unknown id (counted in "
        "unknown_characters; bits_per_char_known leaves them out). With "
        '--dynamic: {"static": {...}, "dynamic": {...}, "settings": {...}}, the '
        "text read in one stream with the trained weights and with dynamic "
        "evaluation (Krause et al. 2018: after scoring each segment, the weights "
        "take a gradient step on it).",
    )
    add_run_arguments(e)
    e.add_argument("corpus", nargs="+", metavar="CORPUS", help="files or directories")
    e.add_argument(
        "--pattern", default="*", help="file-name glob inside directories (default: *)"
    )
    add_json_option(e, "the scores (they are always JSON)")
    d = e.add_argument_group("dynamic evaluation (LSTM and LN-LSTM runs)")
    d.add_argument(
        "--dynamic",
        action="store_true",
        help="also score with dynamic evaluation, and print both figures",
    )
    add_dynamic_options(d)
    return e


def run(args) -> int:
    from charlstm.backends import get_backend, run_backend, run_config_class
    from charlstm.data.corpus import read_text
    from charlstm.training.run_dir import RunFiles

    backend = run_backend(args.run_dir)
    config = dynamic_config(args, backend)
    generator = load_generator(args)
    data = run_config_class(backend).load(RunFiles(args.run_dir).config).data
    text = read_text(args.corpus, data, pattern=args.pattern)
    if config is not None:
        return _run_dynamic(args, generator, data, text, config)
    scores = get_backend(backend).evaluate_text(generator, text)
    _note_dropped(scores)
    print(json.dumps({k: scores[k] for k in KEYS}))
    return 0


def _note_dropped(scores: dict) -> None:
    if scores.get("unknown_dropped"):
        note(
            f"{scores['unknown_dropped']:,} characters outside the vocabulary were "
            "dropped (the run's vocabulary predates unknown ids)"
        )


def _statistics_text(args, config) -> tuple[str | None, str | None]:
    """The training text of the rms variant's statistics, and where it came from:
    --statistics-corpus, else the run's own corpus (None for sgd)."""
    from charlstm.eval.dynamic import statistics_text

    if config.variant != "rms":
        return None, None
    return statistics_text(args.run_dir, args.statistics_corpus)


def _run_dynamic(args, generator, data, text: str, config) -> int:
    from charlstm.eval.dynamic import evaluate_dynamic

    statistics, where = _statistics_text(args, config)
    bar = progress = None
    if len(text) >= PROGRESS_MIN:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(text), unit="char", desc="dynamic", file=sys.stderr)

        def progress(done, total):  # ids scored: characters, or tokens
            bar.total = total
            bar.update(done - bar.n)

    try:
        figures = evaluate_dynamic(
            generator, text, config, statistics_text=statistics, progress=progress
        )
    finally:
        if bar is not None:
            bar.close()
    _note_dropped(figures["static"])
    print(
        json.dumps(
            {
                "static": {k: figures["static"][k] for k in KEYS},
                "dynamic": {k: figures["dynamic"][k] for k in KEYS},
                "settings": dataclasses.asdict(config),
                "statistics_corpus": where,
            }
        )
    )
    return 0
