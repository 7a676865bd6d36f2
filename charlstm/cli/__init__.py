"""The `charlstm` command: one module per subcommand, `main` dispatches."""

from charlstm.cli.main import main

__all__ = ["main"]
