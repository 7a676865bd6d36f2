"""Model families behind charlstm's run directories, chosen by `config.json`.

A run directory's `config.json` names its backend (`"backend": "gpt2"`; no
entry is the LSTM). Each backend registers two things:

- its `RunConfig` class, which reads and writes `config.json` and whose
  sections' fields are the backend's command-line options (importing it needs
  no optional extra);
- a module that defines `load_run(run_dir, checkpoint="best", engine="auto")`,
  a generator (`charlstm.infer.generator.Generator`), and
  `evaluate_text(generator, text)`, held-out loss and bits per character with
  `charlstm.evaluate`'s keys.

`charlstm.load`, `generate`, `evaluate` and `codegen` look the backend up here
and never branch on its name. `backends.gpt2` (keras-hub) needs the `gpt2`
extra; `import charlstm` does not import it.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from charlstm.utils.checks import InputError

# Backend name, as config.json says it -> (the module that runs it, its RunConfig).
REGISTRY = {
    "lstm": ("charlstm.backends.lstm", "charlstm.config:RunConfig"),
    "gpt2": (
        "charlstm.backends.gpt2.backend",
        "charlstm.backends.gpt2.config:GPT2RunConfig",
    ),
}

GPT2_INSTALL_MESSAGE = (
    "GPT-2 needs keras-hub and tokenizers: pip install 'charlstm[gpt2]'"
)


def run_backend(run_dir: str | os.PathLike) -> str:
    """The backend of a run directory: its `config.json`'s `"backend"`, "lstm" if
    it names none (or there is no readable config.json: loading reports that)."""
    path = Path(run_dir) / "config.json"
    try:
        with open(path, encoding="utf-8") as f:
            backend = json.load(f).get("backend", "lstm")
    except (OSError, ValueError, AttributeError):
        return "lstm"
    if backend not in REGISTRY:
        raise InputError(
            f"{str(path)!r} names backend {backend!r}, which this charlstm does not "
            f"have (it has {sorted(REGISTRY)}): was the run written by a newer "
            "version?"
        )
    return backend


def get_backend(name: str):
    """The module of a registered backend (imports it)."""
    return importlib.import_module(REGISTRY[_check_name(name)][0])


def run_config_class(name: str):
    """The `RunConfig` class of a registered backend (no optional extra needed)."""
    module, _, cls = REGISTRY[_check_name(name)][1].partition(":")
    return getattr(importlib.import_module(module), cls)


def _check_name(name: str) -> str:
    if name not in REGISTRY:
        raise InputError(
            f"`backend` must be one of {sorted(REGISTRY)}. Received: backend={name!r}"
        )
    return name


def require_gpt2(*names: str) -> None:
    """Raises an ImportError naming the `gpt2` extra if one of the modules `names`
    (default: keras-hub and tokenizers) cannot be imported."""
    for name in names or ("keras_hub", "tokenizers"):
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ImportError(GPT2_INSTALL_MESSAGE) from error
