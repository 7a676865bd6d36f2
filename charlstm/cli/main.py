"""The `charlstm` command: train, generate, evaluate.

User mistakes print one line, `charlstm: error: ...`, on stderr and exit with 2.
TensorFlow is imported only by the subcommand that needs it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

EXIT_USAGE = 2
# With --time-budget and no --epochs, train until the budget runs out.
UNLIMITED_EPOCHS = 1_000_000


class UsageError(Exception):
    """A mistake in the command line, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="charlstm",
        description="Stateful character-level RNN language models: "
        "train, generate, evaluate.",
    )
    from charlstm import __version__

    parser.add_argument(
        "--version", action="version", version=f"charlstm {__version__}"
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    t = commands.add_parser(
        "train",
        help="train a model on a corpus",
        description="Train a stateful char-RNN. With no CORPUS, trains on the embedded "
        "default corpus: this Python's own standard-library source.",
    )
    t.add_argument(
        "corpus", nargs="*", help="text files or directories (default: embedded corpus)"
    )
    t.add_argument("--out", metavar="RUN_DIR", help="run directory to create")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    t.add_argument(
        "--force", action="store_true", help="start over in an existing --out"
    )
    t.add_argument(
        "--preset",
        metavar="NAME|DIR",
        help="a seed's exact configuration (seed000, seed002); with --backend gpt2, "
        "a keras-hub GPT-2 preset directory to fine-tune",
    )
    t.add_argument("--pattern", help="file-name glob inside directories, e.g. '*.py'")
    t.add_argument(
        "--tokens",
        choices=["char", "word"],
        help="char (default), or word: identifiers, numbers, operators, spaces",
    )
    t.add_argument(
        "--max-tokens",
        type=_positive_int,
        metavar="N",
        help="word mode: vocabulary size cap (default 4000)",
    )
    t.add_argument(
        "--lowercase", action="store_true", default=None, help="lowercase the text"
    )
    t.add_argument("--epochs", type=int, help="total epochs (default 10)")
    t.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop after this much training",
    )
    t.add_argument(
        "--batch-size", type=_positive_int, help="parallel streams per batch"
    )
    t.add_argument("--sequence-length", type=_positive_int, help="time steps per batch")
    t.add_argument(
        "--validation-split", type=float, help="tail share of each stream, in (0, 0.5)"
    )
    t.add_argument("--cell", choices=["lstm", "gru", "simple_rnn"])
    t.add_argument("--num-layers", type=_positive_int)
    t.add_argument("--units", type=_positive_int)
    t.add_argument("--dropout", type=float)
    t.add_argument(
        "--residual",
        action="store_true",
        default=None,
        help="add each recurrent layer's input to its output (equal widths)",
    )
    t.add_argument(
        "--layer-norm",
        action="store_true",
        default=None,
        help="LayerNormalization after every recurrent layer",
    )
    t.add_argument("--input-encoding", choices=["one_hot", "embedding"])
    t.add_argument("--embedding-dim", type=_positive_int)
    t.add_argument("--optimizer", choices=["rmsprop", "adam", "adamw"])
    t.add_argument("--learning-rate", type=float)
    t.add_argument("--clipnorm", type=float)
    t.add_argument(
        "--lr-schedule",
        choices=["exponential", "cosine", "linear"],
        help="exponential: x --lr-decay per epoch; cosine, linear: warm-up, then "
        "down to zero at the last epoch or the end of --time-budget",
    )
    t.add_argument(
        "--lr-decay", type=float, help="learning-rate factor per epoch (exponential)"
    )
    t.add_argument(
        "--warmup-steps",
        type=int,
        metavar="N",
        help="batches of warm-up (cosine, linear)",
    )
    t.add_argument("--l2", type=float, help="L2 weight on every kernel")
    t.add_argument("--weight-decay", type=float, help="decoupled weight decay")
    t.add_argument(
        "--fast-path",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="charlstm's faster recurrent layers: same results as Keras's (on by "
        "default; --no-fast-path for Keras's own)",
    )
    t.add_argument("--random-seed", type=int)
    t.add_argument(
        "--sample-every", type=int, metavar="N", help="print samples every N epochs"
    )
    t.add_argument("--sample-seed", default="\n", help="warm-up seed of those samples")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    from charlstm.backends.gpt2.cli import add_gpt2_train_options

    add_gpt2_train_options(t)

    g = commands.add_parser("generate", help="generate text from a trained run")
    g.add_argument("run_dir", metavar="RUN_DIR")
    g.add_argument("--seed", default="\n", help="warm-up text (default: a newline)")
    g.add_argument(
        "--length",
        type=int,
        default=500,
        help="characters to generate (tokens for a word-mode run)",
    )
    g.add_argument("--temperature", type=float, default=0.75, help="0 is greedy")
    g.add_argument("--top-k", type=int)
    g.add_argument("--top-p", type=float)
    g.add_argument("--num-samples", type=_positive_int, default=1)
    g.add_argument("--random-seed", type=int)
    g.add_argument("--checkpoint", choices=["best", "last"], default="best")
    g.add_argument(
        "--drop-unknown",
        action="store_true",
        help="drop seed characters not in the vocabulary",
    )

    e = commands.add_parser(
        "evaluate", help="loss and bits per character on held-out text"
    )
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("corpus", nargs="+", metavar="CORPUS")
    e.add_argument("--pattern", default="*", help="file-name glob inside directories")
    e.add_argument("--checkpoint", choices=["best", "last"], default="best")
    from charlstm.cli.corpus import add_corpus_parser

    add_corpus_parser(commands)
    from charlstm.cli.visualize import add_visualize_parser

    add_visualize_parser(commands)
    from charlstm.cli.complete import add_complete_parser

    add_complete_parser(commands)
    from charlstm.cli.codegen import add_codegen_parser

    add_codegen_parser(commands)
    from charlstm.cli.plot import add_plot_parser
    from charlstm.cli.sweep import add_sweep_parser

    add_sweep_parser(commands)
    add_plot_parser(commands)
    return parser


def _note(message: str) -> None:
    print(f"charlstm: {message}", file=sys.stderr)


# Settings a resumed run keeps from its config.json.
_RUN_FIXED = (
    "preset",
    "pattern",
    "lowercase",
    "batch_size",
    "sequence_length",
    "validation_split",
    "tokens",
    "max_tokens",
    "cell",
    "num_layers",
    "units",
    "dropout",
    "input_encoding",
    "embedding_dim",
    "optimizer",
    "learning_rate",
    "clipnorm",
    "lr_schedule",
    "lr_decay",
    "warmup_steps",
    "l2",
    "weight_decay",
    "fast_path",
    "residual",
    "layer_norm",
)


def _train(args) -> int:
    from charlstm.config import make_config
    from charlstm.training.callbacks import SampleText
    from charlstm.training.trainer import train

    if bool(args.out) == bool(args.resume):
        raise UsageError(
            "give exactly one of --out RUN_DIR (new run) or --resume RUN_DIR"
        )
    if args.time_budget is not None:
        if not (args.time_budget > 0 and math.isfinite(args.time_budget)):
            raise UsageError(
                "--time-budget must be a positive number of seconds, "
                f"got {args.time_budget}"
            )
        if args.epochs == 0:
            raise UsageError("--time-budget cannot be combined with --epochs 0")
    epochs = args.epochs
    if epochs is None and args.time_budget is not None:
        epochs = UNLIMITED_EPOCHS
    from charlstm.backends.gpt2 import cli as gpt2_cli

    if gpt2_cli.train_backend(args) == "gpt2":
        return gpt2_cli.run_train(args, epochs, _note)
    config = make_config(
        args.preset,
        epochs=epochs,
        random_seed=args.random_seed,
        pattern=args.pattern,
        lowercase=args.lowercase,
        batch_size=args.batch_size,
        sequence_length=args.sequence_length,
        validation_split=args.validation_split,
        tokens=args.tokens,
        max_tokens=args.max_tokens,
        cell=args.cell,
        num_layers=args.num_layers,
        units=args.units,
        dropout=args.dropout,
        input_encoding=args.input_encoding,
        embedding_dim=args.embedding_dim,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        lr_schedule=args.lr_schedule,
        lr_decay=args.lr_decay,
        warmup_steps=args.warmup_steps,
        l2=args.l2,
        weight_decay=args.weight_decay,
        fast_path=args.fast_path,
        residual=args.residual,
        layer_norm=args.layer_norm,
    )
    if args.resume:
        from charlstm.config import RunConfig
        from charlstm.training.run_dir import RunFiles

        fixed = [
            f"--{name.replace('_', '-')}" for name in _RUN_FIXED if getattr(args, name)
        ]
        if fixed:
            raise UsageError(
                f"{', '.join(fixed)} cannot change when resuming: the run keeps the "
                "settings in its config.json"
            )
        files = RunFiles(args.resume)
        if files.config.exists():
            saved = RunConfig.load(files.config)
            config = make_config(
                base=saved, epochs=epochs, random_seed=args.random_seed
            )
    callbacks = []
    if args.sample_every:
        callbacks.append(SampleText(seed=args.sample_seed, every=args.sample_every))
    result = train(
        args.corpus or None,
        args.out or args.resume,
        config=config,
        resume=bool(args.resume),
        force=args.force,
        time_budget=args.time_budget,
        callbacks=callbacks,
        verbose=0 if args.quiet else 1,
    )
    stats = result.stats
    _note(
        f"corpus: {stats.files} file(s), {stats.characters:,} characters, "
        f"vocabulary {result.vocabulary.size}"
        + (
            f", {stats.dropped_characters:,} non-ASCII dropped"
            if stats.dropped_characters
            else ""
        )
        + (
            f", {stats.replaced_bytes:,} undecodable bytes"
            if stats.replaced_bytes
            else ""
        )
        + (
            f", {len(stats.skipped_binary)} binary file(s) skipped"
            if stats.skipped_binary
            else ""
        )
        + (
            f", {result.unknown_dropped:,} outside the vocabulary"
            if result.unknown_dropped
            else ""
        )
    )
    if result.stopped_on_budget:
        if result.budget_batches == 1:
            _note(
                f"the time budget of {args.time_budget:g} s is shorter than one "
                "batch: trained one batch"
            )
        else:
            _note(f"stopped on the time budget of {args.time_budget:g} s")
    if result.history:
        last = result.history[-1]
        unit = "token" if result.config.data.tokens == "word" else "char"
        best = min(
            r["val_bits_per_char"]
            for r in result.history
            if r["val_bits_per_char"] != ""
        )
        print(
            f"epoch {last['epoch']}: loss {last['loss']:.4f}, "
            f"val_loss {last['val_loss']:.4f}, "
            f"best val {best:.4f} bits/{unit}; run in {result.run_dir}"
        )
    else:
        _note(
            f"nothing to train: the run already has {config.training.epochs} epoch(s)"
        )
    return 0


def _generate(args) -> int:
    from charlstm.backends.gpt2 import cli as gpt2_cli

    if gpt2_cli.run_backend(args.run_dir) == "gpt2":
        from charlstm.backends.gpt2.backend import load_gpt2 as load
    else:
        from charlstm.infer.keras_generation import load
    generator = load(args.run_dir, args.checkpoint)  # GPT-2: strict has no effect
    texts = generator.generate(
        args.seed,
        args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        num_samples=args.num_samples,
        random_seed=args.random_seed,
        strict=not args.drop_unknown,
    )
    texts = texts if isinstance(texts, list) else [texts]
    sys.stdout.write("\n\n".join(texts) + "\n")
    return 0


def _evaluate(args) -> int:
    from charlstm.backends.gpt2 import cli as gpt2_cli
    from charlstm.config import RunConfig
    from charlstm.data.corpus import read_bytes
    from charlstm.eval.heldout import evaluate
    from charlstm.infer.keras_generation import load
    from charlstm.training.run_dir import RunFiles

    if gpt2_cli.run_backend(args.run_dir) == "gpt2":
        return gpt2_cli.run_evaluate(args, _note)
    generator = load(args.run_dir, args.checkpoint)
    lowercase = RunConfig.load(RunFiles(args.run_dir).config).data.lowercase
    data, _ = read_bytes(args.corpus, args.pattern, lowercase)
    ids = generator.vocabulary.encode(data, strict=False)
    dropped = len(data) - generator.vocabulary.character_count(ids)
    if dropped:
        _note(f"{dropped:,} characters outside the vocabulary were dropped")
    scores = evaluate(generator, ids=ids)
    keys = ("loss", "bits_per_char", "perplexity", "characters")
    print(json.dumps({k: scores[k] for k in keys}))
    return 0


def _corpus(args) -> int:
    from charlstm.cli.corpus import run_corpus

    return run_corpus(args, _note)


def _visualize(args) -> int:
    # No TensorFlow unless the run lacks its engine.npz (visualize_command.py).
    from charlstm.cli.visualize import run_visualize

    return run_visualize(args, _note)


def _complete(args) -> int:
    # No TensorFlow: the numpy engine runs the model (complete_command.py).
    from charlstm.cli.complete import run_complete

    return run_complete(args, _note)


def _codegen(args) -> int:
    # TensorFlow only if the run lacks its engine.npz (codegen_command.py).
    from charlstm.cli.codegen import run_codegen

    return run_codegen(args, _note)


def _sweep(args) -> int:
    from charlstm.cli.sweep import run_sweep

    return run_sweep(args, _note)


def _plot(args) -> int:
    # No TensorFlow: the history is read as CSV (plot_command.py).
    from charlstm.cli.plot import run_plot

    return run_plot(args, _note)


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with native stderr muted, unless the user set its log level.

    TensorFlow prints INFO lines (oneDNN, CUDA) from C++ before its logging is set
    up, so `TF_CPP_MIN_LOG_LEVEL` alone does not silence them.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            finally:
                os.dup2(saved, 2)
    except ImportError:
        pass  # reported where the backend is really used
    finally:
        os.close(saved)


def main(argv=None) -> int:
    """Entry point of the `charlstm` command."""
    try:
        args = _build_parser().parse_args(argv)
        if args.command in ("train", "generate", "evaluate", "sweep"):
            _import_tensorflow_quietly()
        run = {
            "train": _train,
            "generate": _generate,
            "evaluate": _evaluate,
            "corpus": _corpus,
            "visualize": _visualize,
            "complete": _complete,
            "codegen": _codegen,
            "sweep": _sweep,
            "plot": _plot,
        }[args.command]
        return run(args)
    except (UsageError, ValueError, OSError) as error:
        message = (
            str(error).strip().splitlines()[0]
            if str(error).strip()
            else type(error).__name__
        )
        print(f"charlstm: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as error:
        # Only the one-line messages that name a missing extra; anything else is a bug.
        if "pip install" not in str(error):
            raise
        print(f"charlstm: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("charlstm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
