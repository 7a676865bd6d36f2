"""`charlstm train --backend gpt2`, and `evaluate` on GPT-2 runs.

`cli.py` adds the options (`add_gpt2_train_options`) and hands GPT-2 runs over:
a new run with `--backend gpt2`, a resumed run whose `config.json` says so, and
any run directory given to `evaluate` (`generate` only swaps the loader).
keras-hub is imported only here, when a GPT-2 run is really used.
"""

from __future__ import annotations

import argparse
import json

from charlstm.backends import run_backend
from charlstm.utils.checks import InputError

# Options that only one backend takes (argparse dest names).
LSTM_ONLY = (
    "cell",
    "units",
    "input_encoding",
    "embedding_dim",
    "optimizer",
    "lr_schedule",
    "lr_decay",
    "warmup_steps",
    "l2",
    "fast_path",
    "residual",
    "layer_norm",
    "tokens",
    "max_tokens",
    "sample_every",
)
GPT2_ONLY = ("num_heads", "hidden_dim", "vocabulary_size")
# What --preset fixes in a GPT-2 run.
PRESET_FIXED = ("num_layers", "num_heads", "hidden_dim", "vocabulary_size")
# Settings a resumed GPT-2 run keeps from its config.json.
GPT2_RUN_FIXED = (
    "preset",
    "pattern",
    "lowercase",
    "batch_size",
    "sequence_length",
    "validation_split",
    "num_layers",
    "num_heads",
    "hidden_dim",
    "vocabulary_size",
    "dropout",
    "learning_rate",
    "clipnorm",
    "weight_decay",
)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_gpt2_train_options(parser) -> None:
    """Adds `--backend` and the GPT-2-only options to the `train` parser."""
    parser.add_argument(
        "--backend",
        choices=["lstm", "gpt2"],
        help="lstm (default), or gpt2: a keras-hub GPT-2 for comparison "
        "(pip install 'charlstm[gpt2]'; see docs/gpt2.md)",
    )
    parser.add_argument(
        "--num-heads", type=_positive_int, help="gpt2: attention heads (4)"
    )
    parser.add_argument(
        "--hidden-dim", type=_positive_int, help="gpt2: model width (128)"
    )
    parser.add_argument(
        "--vocabulary-size",
        type=_positive_int,
        metavar="N",
        help="gpt2: BPE tokens to train (1024)",
    )


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _given(args, names) -> list[str]:
    """The options among `names` given on the command line (flags: set)."""
    given = []
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value is not False:
            given.append(name)
    return given


def train_backend(args) -> str:
    """The backend `charlstm train` runs: `--backend`, or a resumed run's own;
    a ValueError for an option of the other backend."""
    backend = args.backend
    if args.resume:
        saved = run_backend(args.resume)
        if backend and backend != saved:
            raise InputError(
                f"--backend {backend} does not match the run in {args.resume!r}: "
                f"it is a {saved} run"
            )
        backend = saved
    backend = backend or "lstm"
    if backend == "gpt2":
        wrong = _given(args, LSTM_ONLY)
        if wrong:
            raise InputError(
                f"{_flag(wrong[0])} is an LSTM option; a GPT-2 run does not take it "
                "(GPT-2: --num-layers, --num-heads, --hidden-dim, --sequence-length, "
                "--vocabulary-size, --preset DIR)"
            )
    else:
        wrong = _given(args, GPT2_ONLY)
        if wrong:
            raise InputError(f"{_flag(wrong[0])} is a GPT-2 option: add --backend gpt2")
    return backend


def run_train(args, epochs: int | None, note) -> int:
    """`charlstm train` for a GPT-2 run; `epochs` as the LSTM path computed it."""
    from charlstm.backends.gpt2.backend import GPT2Config, GPT2RunConfig, train_gpt2
    from charlstm.backends.gpt2.config import GPT2RunFiles
    from charlstm.config import DataConfig, TrainingConfig

    if args.resume:
        fixed = _given(args, GPT2_RUN_FIXED)
        if fixed:
            raise InputError(
                f"{', '.join(map(_flag, fixed))} cannot change when resuming: the "
                "run keeps the settings in its config.json"
            )
        saved = GPT2RunConfig.load(GPT2RunFiles(args.resume).config).training
        training = TrainingConfig(
            epochs=saved.epochs if epochs is None else epochs,
            random_seed=(
                saved.random_seed if args.random_seed is None else args.random_seed
            ),
        )
        config = None
    else:
        if args.preset:
            fixed = _given(args, PRESET_FIXED)
            if fixed:
                raise InputError(
                    f"{_flag(fixed[0])} cannot be used with --preset: the preset "
                    "fixes the model's size and vocabulary"
                )
        names = ("num_layers", "num_heads", "hidden_dim", "sequence_length")
        names += ("vocabulary_size", "dropout", "learning_rate", "clipnorm")
        names += ("weight_decay",)
        names += ("batch_size", "preset")
        fields = {n: getattr(args, n) for n in _given(args, names)}
        if args.preset and args.sequence_length is None:
            # The default window, or the preset's positions if fewer.
            from charlstm.backends.gpt2.backend import check_preset

            positions = check_preset(args.preset)["max_sequence_length"]
            fields["sequence_length"] = min(GPT2Config.sequence_length, positions)
        model = GPT2Config(**fields)
        names = ("pattern", "lowercase", "validation_split")
        data = DataConfig(**{n: getattr(args, n) for n in _given(args, names)})
        training = TrainingConfig(
            **({} if epochs is None else {"epochs": epochs}),
            random_seed=args.random_seed,
        )
        config = GPT2RunConfig(model=model, data=data)
    result = train_gpt2(
        args.corpus or None,
        args.out or args.resume,
        config=config,
        training=training,
        resume=bool(args.resume),
        force=args.force,
        time_budget=args.time_budget,
        verbose=0 if args.quiet else 1,
    )
    stats = result.stats
    note(
        f"corpus: {stats.files} file(s), {stats.characters:,} characters, "
        f"BPE vocabulary {result.tokenizer.get_vocab_size()}, "
        f"{result.config.model.characters_per_token:.2f} characters per token"
    )
    if result.stopped_on_budget:
        note(f"stopped on the time budget of {args.time_budget:g} s")
    if result.history:
        last = result.history[-1]
        best = min(
            r["val_bits_per_char"]
            for r in result.history
            if r["val_bits_per_char"] != ""
        )
        print(
            f"epoch {last['epoch']}: loss {last['loss']:.4f}, "
            f"val_loss {last['val_loss']:.4f}, "
            f"best val {best:.4f} bits/char; run in {result.run_dir}"
        )
    else:
        note(f"nothing to train: the run already has {training.epochs} epoch(s)")
    return 0


def run_evaluate(args, note) -> int:
    """`charlstm evaluate` on a GPT-2 run: bits per character of the corpus."""
    from charlstm.backends.gpt2.backend import GPT2RunConfig, evaluate_gpt2, load_gpt2
    from charlstm.backends.gpt2.config import GPT2RunFiles
    from charlstm.data.corpus import read_bytes

    generator = load_gpt2(args.run_dir, args.checkpoint)
    lowercase = GPT2RunConfig.load(GPT2RunFiles(args.run_dir).config).data.lowercase
    data, _ = read_bytes(args.corpus, args.pattern, lowercase)
    scores = evaluate_gpt2(generator, data.decode("ascii"))
    keys = ("loss", "bits_per_char", "perplexity", "characters")
    print(json.dumps({k: scores[k] for k in keys}))
    return 0
