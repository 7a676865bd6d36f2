"""`charlstm sweep`: train a grid of runs under one budget and tabulate them
(seed 000's table 4.1, over cell types too)."""

from __future__ import annotations

import math
import sys

from charlstm.utils.checks import InputError

# With --time-budget and no --epochs, every point trains until the budget runs out.
UNLIMITED_EPOCHS = 1_000_000


def add_sweep_parser(commands) -> None:
    """Adds the `sweep` subcommand to the CLI's subparsers."""
    s = commands.add_parser(
        "sweep",
        help="train a grid of runs (batch size x learning rate x L2 x cell)",
        description="Train one run per combination of the comma-separated grid "
        "values, each under the same budget, into OUT/<point>/, and write "
        "OUT/results.csv and OUT/results.md (val bits/char of the best epoch; "
        "BLEU on --prompts-train and --prompts-eval functions if given).",
    )
    s.add_argument(
        "corpus", nargs="*", help="text files or directories (default: embedded corpus)"
    )
    s.add_argument("--out", metavar="DIR", required=True, help="sweep directory")
    s.add_argument(
        "--resume", action="store_true", help="keep the complete points of --out"
    )
    s.add_argument("--force", action="store_true", help="run every point again")
    s.add_argument(
        "--grid",
        choices=["seed000"],
        help="seed000: table 4.1 (batch 64,128; lr 0.02,0.002,0.0002; L2 0.1,0.01) "
        "x lstm,gru,simple_rnn; the options below replace its lists",
    )
    s.add_argument("--batch-size", metavar="N,N,...", help="streams per batch")
    s.add_argument("--learning-rate", metavar="R,R,...", help="starter rates, > 0")
    s.add_argument("--l2", metavar="W,W,...", help="L2 weights on kernels, >= 0")
    s.add_argument("--cell", metavar="CELL,...", help="lstm, gru, simple_rnn")
    s.add_argument("--epochs", type=int, help="epochs per point (default 10)")
    s.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="training seconds per point",
    )
    s.add_argument(
        "--preset", choices=["seed000", "seed002"], help="base configuration"
    )
    s.add_argument("--pattern", help="file-name glob inside directories")
    s.add_argument(
        "--lowercase", action="store_true", default=None, help="lowercase the text"
    )
    s.add_argument("--sequence-length", type=int)
    s.add_argument("--validation-split", type=float)
    s.add_argument("--num-layers", type=int)
    s.add_argument("--units", type=int)
    s.add_argument("--dropout", type=float)
    s.add_argument("--input-encoding", choices=["one_hot", "embedding"])
    s.add_argument("--embedding-dim", type=int)
    s.add_argument("--clipnorm", type=float)
    s.add_argument("--lr-decay", type=float)
    s.add_argument(
        "--random-seed", type=int, default=0, help="the same for every point (0)"
    )
    s.add_argument(
        "--prompts-train",
        nargs="+",
        metavar="SRC",
        help="Python sources whose documented functions give the BLEU train column",
    )
    s.add_argument(
        "--prompts-eval",
        nargs="+",
        metavar="SRC",
        help="held-out Python sources for the BLEU eval column",
    )
    s.add_argument(
        "--limit",
        type=int,
        default=50,
        help="functions drawn at random per prompt set (50)",
    )
    s.add_argument(
        "--max-length",
        type=int,
        default=1000,
        help="characters generated per body at most (1000)",
    )
    s.add_argument(
        "--temperature",
        type=float,
        default=0.75,
        help="of generation (0.75, sampling as seed 000 did; 0: greedy)",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bars")


def _prompts(flag: str, sources, limit: int, random_seed: int, note):
    """`limit` documented functions of `sources`, drawn as `charlstm codegen` does."""
    if not sources:
        return None
    from charlstm.eval.codegen import extract_functions, select_examples

    examples, skipped = extract_functions(sources)
    if skipped:
        note(f"{flag}: {skipped} file(s) skipped (not decodable or parseable)")
    if not examples:
        raise InputError(
            f"{flag} holds no documented functions. Received: {' '.join(sources)}"
        )
    return select_examples(examples, limit, random_seed)


def run_sweep(args, note) -> int:
    """Runs `charlstm sweep`; `note` writes one line to stderr."""
    from charlstm.config import make_config
    from charlstm.eval import sweep
    from charlstm.eval.sweep import SweepGrid

    if args.time_budget is not None and not (
        args.time_budget > 0 and math.isfinite(args.time_budget)
    ):
        raise InputError(
            "--time-budget must be a positive number of seconds, "
            f"got {args.time_budget}"
        )
    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be a positive integer, got {args.epochs}")
    for flag, value in (("--limit", args.limit), ("--max-length", args.max_length)):
        if value < 1:
            raise InputError(f"{flag} must be a positive integer, got {value}")
    if not (args.temperature >= 0 and math.isfinite(args.temperature)):
        raise InputError(
            f"--temperature must be a finite number >= 0, got {args.temperature}"
        )
    if args.resume and args.force:
        raise InputError("give --resume or --force, not both")
    grid = SweepGrid.seed000() if args.grid == "seed000" else SweepGrid()
    grid = grid.replace(
        **vars(SweepGrid.parse(args.batch_size, args.learning_rate, args.l2, args.cell))
    )
    epochs = args.epochs
    if epochs is None and args.time_budget is not None:
        epochs = UNLIMITED_EPOCHS
    base = make_config(
        args.preset,
        epochs=epochs,
        random_seed=args.random_seed,
        pattern=args.pattern,
        lowercase=args.lowercase,
        sequence_length=args.sequence_length,
        validation_split=args.validation_split,
        num_layers=args.num_layers,
        units=args.units,
        dropout=args.dropout,
        input_encoding=args.input_encoding,
        embedding_dim=args.embedding_dim,
        clipnorm=args.clipnorm,
        lr_decay=args.lr_decay,
    )
    total = len(grid.points(base))  # checks every point before anything else
    train_prompts = _prompts(
        "--prompts-train", args.prompts_train, args.limit, args.random_seed, note
    )
    eval_prompts = _prompts(
        "--prompts-eval", args.prompts_eval, args.limit, args.random_seed, note
    )

    def progress(point, index, count, row):
        if row is None:
            note(f"point {index + 1}/{count}: {point.name}")
            return
        bits = row["val_bits_per_char"]
        shown = f"{bits:.3f}" if bits is not None else "-"
        note(f"point {index + 1}/{count} done: val {shown} bits/char")

    note(f"sweeping {total} point(s) into {args.out}")
    rows = sweep.run_sweep(
        args.corpus or None,
        args.out,
        grid,
        base,
        time_budget=args.time_budget,
        train_prompts=train_prompts,
        eval_prompts=eval_prompts,
        codegen_options={
            "max_length": args.max_length,
            "temperature": args.temperature,
            "random_seed": args.random_seed,
        },
        resume=args.resume,
        force=args.force,
        progress=progress,
        verbose=0 if args.quiet else 1,
    )
    sys.stdout.write(sweep.markdown_table(rows))
    return 0
