"""`charlstm codegen`: Perez et al.'s code-generation task from the command line.

Completes the documented functions of Python sources with a trained run, writes
one JSON record per function to `--out` and prints a JSON summary on stdout
(`charlstm.eval.codegen`). Runs on the numpy engine and does not import TensorFlow
when the run has its `engine.npz`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from charlstm.cli.common import (
    add_json_option,
    add_run_arguments,
    add_sampling_options,
    load_generator,
    note,
    sampling_from,
)
from charlstm.utils.checks import InputError


def add_parser(commands):
    c = commands.add_parser(
        "codegen",
        help="complete documented functions (Perez et al.'s task): BLEU, syntax, "
        "novelty",
        description="Prompt the model with the decorators, signature and docstring "
        "of every documented function in SOURCE, generate the body until a line "
        "is dedented to the function's level (or --max-length), and score it: "
        "Perez et al.'s character BLEU, token BLEU, syntax validity, and the share of "
        "20- and 50-character windows copied from the training corpus. Writes one "
        "JSON record per function to --out and prints a JSON summary.",
    )
    add_run_arguments(c)
    c.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="Python files or directories"
    )
    c.add_argument("--out", metavar="FILE", required=True, help="results.jsonl")
    c.add_argument("--force", action="store_true", help="replace --out")
    c.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="N functions drawn at random with --random-seed (default: all)",
    )
    c.add_argument("--pattern", default="*.py", help="file-name glob in directories")
    c.add_argument(
        "--max-length",
        type=int,
        default=1000,
        help="cap on each body in characters (tokens for a word-mode run)",
    )
    add_sampling_options(
        c,
        random_seed=0,
        random_seed_help="function i is sampled with seed + i; also draws --limit",
    )
    c.add_argument(
        "--training-corpus",
        nargs="+",
        metavar="PATH",
        help="novelty against this text (default: the corpus in the run's "
        "config.json, read with its pattern and lowercasing)",
    )
    c.add_argument(
        "--no-novelty", action="store_true", help="skip the copied-window shares"
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json_option(c, "the summary (it is always JSON)")
    return c


def _check_args(args) -> Path:
    """Checks the options before anything slow; returns --out as a Path."""
    for name in ("limit", "max_length"):
        value = getattr(args, name)
        if value is not None and value < 1:
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} must be a positive integer, got {value}")
    sampling_from(args)  # checked before anything slow
    if args.no_novelty and args.training_corpus:
        raise InputError("give --training-corpus or --no-novelty, not both")
    out = Path(args.out)
    if out.is_dir():
        raise IsADirectoryError(f"--out is a directory: {str(out)!r}")
    if out.exists() and not args.force:
        raise FileExistsError(
            f"--out already exists: {str(out)!r}. Use --force to replace it."
        )
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"--out's directory does not exist: {str(out.parent)!r}"
        )
    return out


def _run_data_config(run_dir):
    """The run's DataConfig, or None if its config.json is not a charlstm one."""
    from charlstm.config import RunConfig
    from charlstm.training.run_dir import RunFiles

    try:
        return RunConfig.load(RunFiles(run_dir).config).data
    except (OSError, ValueError, TypeError):
        return None


def training_corpus(args) -> tuple[str | None, str]:
    """The training text for novelty (None if skipped), and where it came from.

    --training-corpus is read and cleaned as the run's corpus was; without
    it, the run's own corpus sources are (the embedded default corpus when the
    run lists none). A run whose corpus cannot be found gets a note and no
    novelty figures.
    """
    from charlstm.data.corpus import default_corpus_paths, read_text

    if args.no_novelty:
        return None, "skipped (--no-novelty)"
    data = _run_data_config(args.run_dir)
    if args.training_corpus:
        text = read_text(args.training_corpus, data)
        return text, " ".join(args.training_corpus)
    if data is None:
        note("novelty skipped: the run has no charlstm config; give --training-corpus")
        return None, "skipped (no run config)"
    sources = data.sources or [str(p) for p in default_corpus_paths()]
    where = " ".join(data.sources) if data.sources else "the default corpus"
    missing = [s for s in sources if not Path(s).exists()]
    if missing:
        note(
            f"novelty skipped: the run's corpus {missing[0]!r} is not found; "
            "give --training-corpus"
        )
        return None, f"skipped ({missing[0]} not found)"
    return read_text(sources, data), where


def run(args) -> int:
    from charlstm.eval import codegen
    from charlstm.utils.storage import atomic_write_text

    out = _check_args(args)
    found, skipped = codegen.extract_functions(args.sources, args.pattern)
    if skipped:
        note(f"{skipped} file(s) skipped: they could not be decoded or parsed")
    if not found:
        raise InputError(
            "no function with a docstring and a body was found in SOURCE "
            f"({' '.join(args.sources)}, pattern {args.pattern!r})"
        )
    examples = codegen.select_examples(found, args.limit, args.random_seed)
    generator = load_generator(args)
    text, corpus_name = training_corpus(args)
    bar = None
    if not args.quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(examples), unit="fn", desc="codegen", file=sys.stderr)
    try:
        result = codegen.run_codegen(
            generator,
            examples,
            max_length=args.max_length,
            sampling=sampling_from(args),
            training_text=text,
            progress=(lambda done, total: bar.update(done - bar.n)) if bar else None,
        )
    finally:
        if bar is not None:
            bar.close()
    atomic_write_text(out, codegen.results_jsonl(result.records))
    summary = {
        **result.summary,
        "run_dir": str(args.run_dir),
        "sources": list(args.sources),
        "functions_found": len(found),
        "skipped_files": skipped,
        "training_corpus": corpus_name,
        "out": str(out),
    }
    print(json.dumps(summary))
    return 0
