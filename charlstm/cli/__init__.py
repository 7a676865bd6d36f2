"""The `charlstm` command: one module per subcommand, `main` dispatches."""

from charlstm.cli.app import main

__all__ = ["main"]
