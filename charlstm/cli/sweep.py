"""`charlstm sweep`: train a grid of runs under one budget and tabulate them
(table 4.1 of Perez et al., over cell types too)."""

from __future__ import annotations

import json
import math
import sys

from charlstm.cli.common import add_corpus_argument, add_json_option, note
from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError

# With --time-budget and no --epochs, every point trains until the budget runs out.
UNLIMITED_EPOCHS = 1_000_000


def add_parser(commands):
    from charlstm.cli.options import add_config_options
    from charlstm.eval.grid import GRID_FLAGS

    s = commands.add_parser(
        "sweep",
        help="train a grid of runs (batch size x learning rate x L2 x cell)",
        description="Train one run per combination of the comma-separated grid "
        "values, each under the same budget, into OUT/<point>/, and write "
        "OUT/results.csv and OUT/results.md (val bits/char of the best epoch; "
        "BLEU on --prompts-train and --prompts-eval functions if given). Every "
        "other model, data and training flag sets the base config of all points.",
    )
    add_corpus_argument(s)
    run = s.add_argument_group("the sweep")
    run.add_argument("--out", metavar="DIR", required=True, help="sweep directory")
    run.add_argument(
        "--resume", action="store_true", help="keep the complete points of --out"
    )
    run.add_argument("--force", action="store_true", help="run every point again")
    run.add_argument(
        "--grid",
        metavar="NAME",
        help="perez2021: table 4.1 of Perez et al. (batch 64,128; lr "
        "0.02,0.002,0.0002; L2 0.1,0.01) x lstm,gru,simple_rnn; the grid flags "
        "replace its lists",
    )
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="training seconds per point",
    )
    run.add_argument(
        "--preset", metavar="NAME", help="base configuration: perez2021, frank2022"
    )
    run.add_argument(
        "--prompts-train",
        nargs="+",
        metavar="SRC",
        help="Python sources whose documented functions give the BLEU train column",
    )
    run.add_argument(
        "--prompts-eval",
        nargs="+",
        metavar="SRC",
        help="held-out Python sources for the BLEU eval column",
    )
    run.add_argument(
        "--limit",
        type=int,
        default=50,
        help="functions drawn at random per prompt set (default: 50)",
    )
    run.add_argument(
        "--max-length",
        type=int,
        default=1000,
        help="characters generated per body at most (default: 1000)",
    )
    run.add_argument(
        "--temperature",
        type=float,
        default=0.75,
        help="of generation (default: 0.75, sampling as Perez et al. did; 0: greedy)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    add_json_option(run, "the result rows")
    add_config_options(
        s.add_argument_group("model, data and training (all points)"),
        backends=["lstm"],
        lists=tuple(GRID_FLAGS),
    )
    return s


def _prompts(flag: str, sources, limit: int, random_seed: int):
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


def run(args) -> int:
    from charlstm.cli.options import given_options
    from charlstm.config import make_config
    from charlstm.eval import sweep
    from charlstm.eval.grid import GRID_FLAGS, SweepGrid
    from charlstm.eval.sweep_results import markdown_table

    if args.time_budget is not None and not (
        args.time_budget > 0 and math.isfinite(args.time_budget)
    ):
        raise InputError(
            "--time-budget must be a positive number of seconds, "
            f"got {args.time_budget}"
        )
    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be a positive integer, got {args.epochs}")
    Sampling(temperature=args.temperature)  # checked before anything trains
    for flag, value in (("--limit", args.limit), ("--max-length", args.max_length)):
        if value < 1:
            raise InputError(f"{flag} must be a positive integer, got {value}")
    if args.resume and args.force:
        raise InputError("give --resume or --force, not both")
    grid = SweepGrid.named(args.grid) if args.grid else SweepGrid()
    grid = grid.replace(
        **vars(SweepGrid.parse(**{n: getattr(args, n) for n in GRID_FLAGS}))
    )
    given = {
        n: v for n, v in given_options(args, ["lstm"]).items() if n not in GRID_FLAGS
    }
    random_seed = given.setdefault("random_seed", 0)  # the same for every point
    if given.get("epochs") is None and args.time_budget is not None:
        given["epochs"] = UNLIMITED_EPOCHS
    base = make_config(args.preset, **given)
    total = len(grid.points(base))  # checks every point before anything else
    train_prompts = _prompts(
        "--prompts-train", args.prompts_train, args.limit, random_seed
    )
    eval_prompts = _prompts(
        "--prompts-eval", args.prompts_eval, args.limit, random_seed
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
            "random_seed": random_seed,
        },
        resume=args.resume,
        force=args.force,
        progress=progress,
        verbose=0 if args.quiet else 1,
    )
    if args.json:
        print(json.dumps(rows))
    else:
        sys.stdout.write(markdown_table(rows))
    return 0
