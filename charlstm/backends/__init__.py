"""Other model families behind charlstm's run directories and commands.

`charlstm.backends.gpt2` trains, evaluates and samples a GPT-2 (keras-hub) on the
same corpus, split and run-directory conventions as the LSTM, for comparison. It
needs the `gpt2` extra; `import charlstm` does not import it.
"""

from __future__ import annotations

import importlib

GPT2_INSTALL_MESSAGE = (
    "GPT-2 needs keras-hub and tokenizers: pip install 'charlstm[gpt2]'"
)


def require_gpt2(*names: str) -> None:
    """Raises an ImportError naming the `gpt2` extra if one of the modules `names`
    (default: keras-hub and tokenizers) cannot be imported."""
    for name in names or ("keras_hub", "tokenizers"):
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ImportError(GPT2_INSTALL_MESSAGE) from error
