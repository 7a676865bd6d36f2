"""`charlstm serve`: a trained run over HTTP, OpenAI's completion API and a
playground page (`charlstm.serve.http`).

Needs the `serve` extra (starlette, uvicorn). Runs on the numpy engine and does
not import TensorFlow when the run has its `engine.npz`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from charlstm.cli.common import add_run_arguments, load_generator, note


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {text}")
    return value


def add_parser(commands):
    s = commands.add_parser(
        "serve",
        help="serve a run over HTTP: OpenAI's completion API and a playground",
        description="Serve the run on HTTP: POST /v1/completions (OpenAI's text "
        "completion, streamed with server-sent events), GET /health, and a "
        "playground page at /. One generation runs at a time. Stop with Ctrl-C.",
    )
    add_run_arguments(s)
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: 127.0.0.1, this machine only; "
        "0.0.0.0 opens it to the network, without any authentication)",
    )
    s.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="the port (default: 8000; 0 picks a free one)",
    )
    return s


def run(args) -> int:
    # Before loading: without the extra, an ImportError naming it (one line).
    from charlstm.backends import run_backend
    from charlstm.serve.http import make_app, run_server

    generator = load_generator(args)
    app = make_app(
        generator,
        model=Path(args.run_dir).resolve().name,
        backend=run_backend(args.run_dir),
    )
    _log_to_stderr()
    run_server(
        app,
        args.host,
        args.port,
        on_listening=lambda url: note(f"serving {args.run_dir} on {url}"),
    )
    return 0


def _log_to_stderr() -> None:
    """The server's errors (a failed request's traceback) on stderr."""
    logger = logging.getLogger("charlstm.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("charlstm: %(message)s"))
        logger.addHandler(handler)
