"""`charlstm export`: a trained run as files that need no charlstm."""

from __future__ import annotations

from charlstm.cli.common import add_run_arguments, note


def add_parser(commands):
    e = commands.add_parser(
        "export",
        help="write a run as a Keras model and numpy weights that need no charlstm",
        description="Write a self-contained inference model of a trained run: "
        "model.keras (batch 1, stateful, the vocabulary inside as a StringLookup "
        "layer; keras.saving.load_model opens it without charlstm), engine.npz "
        "(the numpy weights, format in docs/export.md), vocab.json and a README. "
        "An LN-LSTM run (--cell ln_lstm) has no model.keras: no built-in Keras "
        "layer runs its cell.",
    )
    add_run_arguments(e, engine=False)
    e.add_argument("--out", metavar="DIR", required=True, help="directory to write")
    e.add_argument("--force", action="store_true", help="replace --out if it exists")
    return e


def run(args) -> int:
    from charlstm.model.export import export

    out = export(args.run_dir, args.out, args.checkpoint, args.force)
    names = ("model.keras", "engine.npz", "vocab.json", "README.md")
    written = ", ".join(name for name in names if (out / name).exists())
    note(f"wrote {out}: {written}")
    if not (out / "model.keras").exists():
        note(
            "no model.keras: no built-in Keras layer runs an LN-LSTM cell; "
            "engine.npz holds its weights (train with --cell lstm for a Keras model)"
        )
    return 0
