"""`charlstm lsp`: a language server on stdin/stdout that completes lines as the
user types (docs/editors.md). Needs the `lsp` extra (pygls); runs the numpy
engine and never imports TensorFlow."""

from __future__ import annotations

from charlstm.cli.common import add_run_arguments, load_generator


def add_parser(commands):
    c = commands.add_parser(
        "lsp",
        help="a language server for editors: completes lines as you type",
        description="Serve the Language Server Protocol on stdin/stdout: "
        "completion and inline completion (ghost text) that finish the current "
        "line, from a trained run on the numpy engine. Start it from an editor "
        "(docs/editors.md); its settings come from the editor (section "
        '"charlstm": temperature, candidates, maxLength, mode, and dynamic to '
        "learn the open file as you type). Needs "
        "pip install 'charlstm[lsp]'.",
    )
    add_run_arguments(c, engine=False)
    return c


def run(args) -> int:
    # First, so that a missing extra is reported before the run is loaded.
    from charlstm.serve.lsp import serve

    serve(load_generator(args, engine="numpy"), run_dir=args.run_dir)
    return 0
