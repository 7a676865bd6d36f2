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
        "An LN-LSTM run's model.keras is one step, the states passed in and out.",
    )
    add_run_arguments(e, engine=False)
    e.add_argument("--out", metavar="DIR", required=True, help="directory to write")
    e.add_argument("--force", action="store_true", help="replace --out if it exists")
    return e


def run(args) -> int:
    from charlstm.model.export import export

    out = export(args.run_dir, args.out, args.checkpoint, args.force)
    note(f"wrote {out}: model.keras, engine.npz, vocab.json, README.md")
    return 0
