"""What every subcommand shares: the one-line error, notes on stderr, the run
directory and engine arguments, the sampling flags, and the one way a command
loads a trained run."""

from __future__ import annotations

import argparse
import sys
import warnings

from charlstm.utils.checks import InputError


class UsageError(InputError):
    """A mistake in the command line, reported as one line with exit status 2."""


def note(message: str) -> None:
    """One line for the user on stderr: `charlstm: message`."""
    print(f"charlstm: {message}", file=sys.stderr)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_corpus_argument(parser) -> None:
    """CORPUS ...: files or directories; none is the embedded default corpus."""
    parser.add_argument(
        "corpus", nargs="*", help="text files or directories (default: embedded corpus)"
    )


def add_run_arguments(parser, engine: bool = True) -> None:
    """RUN_DIR, `--checkpoint` and (for commands that run a model) `--engine`."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a trained run directory")
    parser.add_argument(
        "--checkpoint",
        choices=["best", "last"],
        default="best",
        help="best (lowest validation loss, model.keras) or last (default: best)",
    )
    if engine:
        parser.add_argument(
            "--engine",
            choices=["auto", "numpy", "keras"],
            default="auto",
            help="auto: numpy where it runs the model (no TensorFlow), else Keras "
            "(default: auto)",
        )


def load_generator(args, engine: str | None = None):
    """The run's generator through `charlstm.load`; a fallback to Keras is a note.

    TensorFlow is imported only if the load needs it (`main` keeps it quiet).
    """
    from charlstm.infer.load import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generator = load(
            args.run_dir, args.checkpoint, engine or getattr(args, "engine", "auto")
        )
    for warning in caught:
        note(str(warning.message))
    return generator


def add_sampling_options(
    parser,
    temperature: float = 0.75,
    random_seed: int | None = None,
    random_seed_help: str = "makes the output reproducible",
) -> None:
    """`--temperature`, `--top-k`, `--top-p`, `--random-seed` (`Sampling`'s fields)."""
    parser.add_argument(
        "--temperature",
        type=float,
        default=temperature,
        metavar="T",
        help=f"0 is greedy; higher is more varied (default: {temperature})",
    )
    parser.add_argument(
        "--top-k", type=int, metavar="K", help="sample among the K most likely"
    )
    parser.add_argument(
        "--top-p", type=float, metavar="P", help="nucleus sampling with this mass"
    )
    if random_seed is not None:
        random_seed_help += f" (default: {random_seed})"
    parser.add_argument(
        "--random-seed",
        type=int,
        default=random_seed,
        metavar="R",
        help=random_seed_help,
    )


def sampling_from(args, **changes):
    """The `Sampling` of the sampling flags (checked once, here)."""
    from charlstm.infer.sampling import Sampling

    try:
        return Sampling(
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            random_seed=args.random_seed,
            **changes,
        )
    except InputError as error:
        raise UsageError(f"{_flag_of(error)}{error}") from None


def _flag_of(error: InputError) -> str:
    """`--name: ` for the first `name` the error message quotes."""
    for name in ("temperature", "top_k", "top_p", "random_seed", "stop"):
        if f"`{name}`" in str(error):
            return f"--{name.replace('_', '-')}: "
    return ""


def note_outside(generator, text: str, what: str = "") -> None:
    """Notes the characters of `text` outside the run's vocabulary: read as its
    unknown id, or (a vocabulary without one) dropped. `what`: "seed ", ..."""
    vocabulary = getattr(generator, "vocabulary", None)
    outside = vocabulary.outside(text) if vocabulary is not None else []
    if not outside:
        return
    listed = ", ".join(repr(c) for c in outside[:20])
    more = f" and {len(outside) - 20} more" if len(outside) > 20 else ""
    if vocabulary.unknown_id is not None:
        done = "read as its unknown id"
    else:
        done = "dropped"
    note(
        f"{len(outside)} {what}character(s) outside the vocabulary, {done}: "
        f"{listed}{more}"
    )


def add_strict_option(parser, default: bool) -> None:
    """`--strict` / `--no-strict`: characters outside the vocabulary are an error,
    or are dropped with a note."""
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="characters outside the vocabulary are an error (--no-strict: they "
        f"are dropped with a note; default: {'strict' if default else 'no-strict'})",
    )


def add_json_option(parser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def dynamic_config(args, backend: str):
    """The `DynamicConfig` of the flags with --dynamic (None without it)."""
    from charlstm.cli.options import dataclass_values, flag
    from charlstm.eval.dynamic import DynamicConfig

    given = dataclass_values(args, DynamicConfig)
    if not args.dynamic:
        named = [*given, *(["statistics_corpus"] if args.statistics_corpus else [])]
        if named:
            raise UsageError(f"{flag(named[0])} goes with --dynamic")
        return None
    if backend != "lstm":
        raise UsageError(f"--dynamic supports LSTM runs; Received: backend={backend!r}")
    try:
        return DynamicConfig(**given)
    except InputError as error:
        named = [n for n in given if f"`{n}`" in str(error)]
        raise UsageError(f"{flag(named[0]) + ': ' if named else ''}{error}") from None


def add_dynamic_options(group) -> None:
    """Dynamic evaluation's settings (`DynamicConfig`'s fields) and
    --statistics-corpus, for the commands that take --dynamic."""
    from charlstm.cli.options import add_dataclass_options
    from charlstm.eval.dynamic import DynamicConfig

    add_dataclass_options(group, DynamicConfig)
    group.add_argument(
        "--statistics-corpus",
        nargs="+",
        metavar="PATH",
        help="training text for the rms variant's gradient statistics (default: "
        "the run's own corpus)",
    )
