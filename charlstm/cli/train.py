"""`charlstm train`: a new run, or a resumed one, on either backend.

The model, data and training flags are generated from the config dataclasses
(`charlstm.cli.options`); the backend (`--backend`, or a resumed run's own)
decides which of them apply.
"""

from __future__ import annotations

import dataclasses
import json
import math

from charlstm.cli.common import (
    UsageError,
    add_corpus_argument,
    add_json_option,
    note,
)

# With --time-budget and no --epochs, train until the budget runs out.
UNLIMITED_EPOCHS = 1_000_000


def add_parser(commands):
    from charlstm.backends import REGISTRY
    from charlstm.cli.options import add_config_options

    t = commands.add_parser(
        "train",
        help="train a model on a corpus",
        description="Train a stateful char-RNN (or, with --backend gpt2, a small "
        "GPT-2 for comparison). With no CORPUS, trains on the embedded default "
        "corpus: this Python's own standard-library source.",
    )
    add_corpus_argument(t)
    run = t.add_argument_group("the run")
    run.add_argument("--out", metavar="RUN_DIR", help="run directory to create")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    run.add_argument(
        "--force", action="store_true", help="start over in an existing --out"
    )
    run.add_argument(
        "--backend",
        choices=sorted(REGISTRY),
        help="lstm (default), or gpt2: a keras-hub GPT-2 for comparison "
        "(pip install 'charlstm[gpt2]'; see docs/gpt2.md)",
    )
    run.add_argument(
        "--preset",
        metavar="NAME|DIR",
        help="a paper's configuration: perez2021 or frank2022 (docs/defaults.md); "
        "with --backend gpt2, a keras-hub GPT-2 preset directory to fine-tune",
    )
    run.add_argument(
        "--config",
        metavar="FILE",
        help="start from a saved config.json (its backend too); flags override it",
    )
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop after this much training, at a batch boundary",
    )
    run.add_argument(
        "--sample-every",
        type=int,
        metavar="N",
        help="print samples at temperatures 0.2 to 1.0 every N epochs (LSTM)",
    )
    run.add_argument(
        "--sample-seed", default="\n", help="warm-up seed of those samples"
    )
    run.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write the training loss, learning rate and characters per second "
        "every --history-every batches, validation per epoch and --sample-every "
        "samples for TensorBoard into DIR (to view them: pip install "
        "'charlstm[tensorboard]'; tensorboard --logdir DIR)",
    )
    run.add_argument(
        "--checkpoint-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="save a checkpoint this often inside an epoch, and after every epoch "
        "(default: 60; 0: after epochs only)",
    )
    run.add_argument(
        "--allow-new-corpus",
        action="store_true",
        help="resume on a corpus other than the run's own",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json_option(run, "the final figures")
    add_config_options(t.add_argument_group("model, data and training"))
    return t


def _check_args(args) -> None:
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
    if args.resume and (args.preset or args.config):
        raise UsageError(
            "--preset and --config start new runs; a resumed run keeps the "
            "settings in its config.json"
        )
    if args.preset and args.config:
        raise UsageError("give --preset or --config, not both")
    if not (args.checkpoint_every >= 0 and math.isfinite(args.checkpoint_every)):
        raise UsageError(
            f"--checkpoint-every must be >= 0 seconds, got {args.checkpoint_every}"
        )
    if args.allow_new_corpus and not args.resume:
        raise UsageError("--allow-new-corpus goes with --resume")
    if args.sample_every is not None and args.sample_every < 1:
        raise UsageError(f"--sample-every must be >= 1, got {args.sample_every}")


def _file_backend(path) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("backend", "lstm")
    except (ValueError, AttributeError) as error:
        raise UsageError(f"--config {path}: not a charlstm config.json") from error


def choose_backend(args) -> str:
    """`--backend`, else the resumed run's or the --config file's, else lstm."""
    from charlstm.backends import run_backend

    found = None
    if args.resume:
        found = run_backend(args.resume)
    elif args.config:
        found = _file_backend(args.config)
    if args.backend and found and args.backend != found:
        source = args.resume or args.config
        raise UsageError(
            f"--backend {args.backend} does not match {source!r}: it is a {found} run"
        )
    return args.backend or found or "lstm"


def build_config(args, backend: str, given: dict):
    """The run's config: for a new run, the preset, --config file or defaults
    with the given flags; for a resumed run, its own with the training flags."""
    from charlstm.backends import get_backend, run_config_class
    from charlstm.cli.options import check_resume_options, split_by_section
    from charlstm.training.run_dir import RunFiles

    config_class = run_config_class(backend)
    model, data, training = split_by_section(given, backend)
    if args.resume:
        check_resume_options(given, backend)
        path = RunFiles(args.resume).config
        base = config_class.load(path) if path.exists() else config_class()
        model = data = {}  # `train` refuses a run without its config.json
    elif args.config:
        base = config_class.load(args.config)
    else:
        base = get_backend(backend).base_config(args.preset, given)
    return dataclasses.replace(
        base,
        model=dataclasses.replace(base.model, **model),
        data=dataclasses.replace(base.data, **data),
        training=dataclasses.replace(base.training, **training),
    )


def run(args) -> int:
    from charlstm.backends import get_backend
    from charlstm.cli.options import check_backend_options, given_options

    _check_args(args)
    backend = choose_backend(args)
    given = given_options(args)
    check_backend_options(given, backend)
    if args.sample_every and backend != "lstm":
        raise UsageError("--sample-every samples LSTM runs only")
    if given.get("epochs") is None and args.time_budget is not None:
        given["epochs"] = UNLIMITED_EPOCHS
    config = build_config(args, backend, given)
    callbacks, board = [], None
    if args.tensorboard:
        from charlstm.training.tensorboard import TensorBoard

        board = TensorBoard(args.tensorboard, every=config.training.history_every)
        callbacks.append(board)
    if args.sample_every:
        from charlstm.training.callbacks import SampleText

        callbacks.append(
            SampleText(
                seed=args.sample_seed, every=args.sample_every, tensorboard=board
            )
        )
    options = {}
    if backend == "lstm":  # the LSTM trainer's checkpoints (GPT-2: per epoch)
        options["checkpoint_every"] = args.checkpoint_every or None
        options["allow_new_corpus"] = args.allow_new_corpus
        options["on_start"] = lambda devices: note(f"training on: {devices}")
    elif args.allow_new_corpus:
        raise UsageError("--allow-new-corpus resumes LSTM runs only")
    run_dir = args.out or args.resume
    from charlstm.training.loop import TrainingInterrupted

    try:
        result = get_backend(backend).train_run(
            args.corpus or None,
            run_dir,
            config=config,
            resume=bool(args.resume),
            force=args.force,
            time_budget=args.time_budget,
            callbacks=callbacks,
            verbose=0 if args.quiet else 1,
            on_corpus=lambda stats: note(stats.describe()),
            **options,
        )
    except TrainingInterrupted as stop:
        note(
            f"{stop.signal_name}: checkpoint saved at epoch {stop.progress.epoch + 1}, "
            f"batch {stop.progress.batch}; resume with: charlstm train --resume "
            f"{run_dir}"
        )
        return 143 if stop.signal_name == "SIGTERM" else 130
    if result.untrained:
        note(f"nothing to train: {result.untrained}")
        return 0
    if result.stopped_on_budget:
        if result.budget_batches == 1:
            note("the time budget is shorter than one batch: trained one batch")
        else:
            note("stopped on the time budget")
    _report(result, args.json)
    return 0


def _report(result, as_json: bool) -> None:
    last = result.history[-1]
    unit = "token" if result.config.data.tokens == "word" else "char"
    best = min(
        r["val_bits_per_char"] for r in result.history if r["val_bits_per_char"] != ""
    )
    if as_json:
        summary = {
            "run_dir": str(result.run_dir),
            "epoch": last["epoch"],
            "loss": last["loss"],
            "val_loss": last["val_loss"],
            f"best_val_bits_per_{unit}": best,
            "stopped_on_budget": result.stopped_on_budget,
        }
        print(json.dumps(summary))
        return
    print(
        f"epoch {last['epoch']}: loss {last['loss']:.4f}, "
        f"val_loss {last['val_loss']:.4f}, "
        f"best val {best:.4f} bits/{unit}; run in {result.run_dir}"
    )
