"""The `charlstm` command: builds the parser from the subcommand modules and runs
one of them.

Errors: what the user must fix (an `InputError`, a file or a URL that cannot be
read or written, a missing extra) is one line, `charlstm: error: ...`, on stderr
with exit status 2; anything else is a bug and shows its traceback (exit status
1). `--debug` adds the traceback to
the one-line errors too. TensorFlow is imported only by a command that needs it,
and then without its start-up chatter on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import sys
import traceback

from charlstm.cli.common import UsageError
from charlstm.utils.checks import InputError

EXIT_USAGE = 2
# The subcommands, each a module of this package with `add_parser` and `run`.
COMMANDS = (
    "train",
    "generate",
    "evaluate",
    "complete",
    "codegen",
    "sweep",
    "plot",
    "visualize",
    "search",
    "corpus",
    "export",
    "lsp",
    "serve",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from charlstm import __version__

    parser = _Parser(
        prog="charlstm",
        description="Stateful character-level RNN language models: train, "
        "generate, complete, evaluate.",
    )
    parser.add_argument(
        "--version", action="version", version=f"charlstm {__version__}"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of every error, user mistakes included",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    for name in COMMANDS:
        module = importlib.import_module(f"charlstm.cli.{name}")
        module.add_parser(commands).set_defaults(run=module.run)
    return parser


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Mutes native stderr while `tensorflow` is first imported, whoever imports
    it: TensorFlow prints INFO lines from C++ before its logging is set up, so
    `TF_CPP_MIN_LOG_LEVEL` alone does not silence them."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _native_stderr_muted():
            self.loader.exec_module(module)


@contextlib.contextmanager
def _native_stderr_muted():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def quiet_tensorflow() -> None:
    """Keeps TensorFlow's import quiet unless the user set its log level."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.meta_path.insert(0, _QuietTensorFlowImport())


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def main(argv=None) -> int:
    """Entry point of the `charlstm` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        quiet_tensorflow()
        return args.run(args)
    except KeyboardInterrupt:
        print("charlstm: interrupted", file=sys.stderr)
        return 130
    except (InputError, OSError) as error:
        return _user_error(error, debug)
    except ImportError as error:
        if "pip install" not in str(error):  # only a missing extra is the user's
            raise
        return _user_error(error, debug)


def _user_error(error: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"charlstm: error: {_one_line(error)}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
