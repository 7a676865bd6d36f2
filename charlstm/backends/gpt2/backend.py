"""An optional GPT-2 backend on keras-hub, for comparison with the char-RNN.

A GPT-2 comes from a config (any size, with a byte-level BPE trained on the
training text) or from a local keras-hub preset directory (fine-tuned). Both are
trained on the LSTM's train/validation split, saved in a run directory like the
LSTM's, sampled with keras-hub's samplers, and scored in bits per character, so
their figures compare directly with the LSTM's. Nothing is downloaded.

Needs the `gpt2` extra (keras-hub and tokenizers); importing this module without
it raises an ImportError that says so.

Example:
>>> from charlstm.backends.gpt2.backend import GPT2Config, train_gpt2, evaluate_gpt2
>>> result = train_gpt2(text=open("corpus.py").read(), run_dir="runs/gpt2",
...                     config=GPT2Config(num_layers=2, hidden_dim=64))
>>> generator = result.generator()
>>> print(generator.generate("def ", 200, temperature=0.75, random_seed=0))
>>> evaluate_gpt2(generator, open("held_out.py").read())["bits_per_char"]
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from charlstm.backends import require_gpt2
from charlstm.utils.checks import InputError

require_gpt2()

import keras  # noqa: E402
import keras_hub  # noqa: E402

from charlstm.backends.gpt2.config import (  # noqa: E402
    GPT2Config,
    GPT2RunConfig,
    GPT2RunFiles,
)
from charlstm.backends.gpt2.tokenizer import load_tokenizer  # noqa: E402
from charlstm.model.build import load_model_file  # noqa: E402
from charlstm.training.run_dir import check_trained  # noqa: E402

# Defined elsewhere, importable from here: the backend's one obvious entry point.
_LAZY = {
    "train_gpt2": "charlstm.backends.gpt2.training",
    "GPT2TrainResult": "charlstm.backends.gpt2.training",
    "evaluate_gpt2": "charlstm.backends.gpt2.evaluation",
    "GPT2Generator": "charlstm.backends.gpt2.generation",
}

__all__ = [
    "GPT2Config",
    "GPT2RunConfig",
    "GPT2LanguageModel",
    "build_gpt2",
    "load_preset",
    "load_gpt2",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@keras.saving.register_keras_serializable(package="charlstm")
class GPT2LanguageModel(keras_hub.models.GPT2CausalLM):
    """keras-hub's `GPT2CausalLM` on token ids, with no preprocessor.

    Two changes, both for training and resuming: `fit` is `keras.Model.fit` (the
    inputs are already token ids, so arrays are sliced and shuffled by Keras, not
    turned into a preprocessing pipeline), and a saved model is compiled again on
    loading with its optimizer and its state (keras-hub's tasks skip this because
    their `compile` is custom).

    Args:
        backbone: keras_hub.models.GPT2Backbone.
    """

    def __init__(self, backbone, **kwargs):
        kwargs.pop("preprocessor", None)
        super().__init__(backbone=backbone, preprocessor=None, **kwargs)

    def fit(self, *args, **kwargs):
        return keras.Model.fit(self, *args, **kwargs)

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)


def compile_gpt2(model: GPT2LanguageModel, config: GPT2Config) -> None:
    """Compiles for training: AdamW on the mean token cross-entropy."""
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=config.learning_rate,
            weight_decay=config.weight_decay,
            clipnorm=config.clipnorm,
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )


def build_gpt2(config: GPT2Config) -> GPT2LanguageModel:
    """A randomly initialised GPT-2 of `config`'s size.

    Example:
    >>> model = build_gpt2(GPT2Config(vocabulary_size=300, num_layers=2,
    ...                               num_heads=2, hidden_dim=32, sequence_length=16))
    """
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=config.vocabulary_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim or 4 * config.hidden_dim,
        dropout=config.dropout,
        max_sequence_length=config.context_length,
    )
    return GPT2LanguageModel(backbone)


def check_preset(preset_dir: str | os.PathLike) -> dict:
    """The backbone config of a keras-hub GPT-2 preset directory; clear errors for
    a missing directory or another model's preset."""
    path = Path(preset_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"preset directory does not exist: {str(path)!r}")
    try:
        with open(path / "config.json", encoding="utf-8") as f:
            saved = json.load(f)
        name = saved.get("registered_name") or saved.get("class_name")
    except (OSError, ValueError, AttributeError):
        saved, name = {}, None
    if name not in ("keras_hub>GPT2Backbone", "GPT2Backbone"):
        what = f"a {name.split('>')[-1]}" if name else "no keras-hub config.json"
        raise InputError(
            "`preset` must be a keras-hub GPT-2 preset directory (its config.json "
            f"a GPT2Backbone). Received: preset={str(path)!r}, holding {what}"
        )
    return saved["config"]


def load_preset(preset_dir: str | os.PathLike, config: GPT2Config | None = None):
    """A GPT-2 preset directory as a model, its tokenizer and its `GPT2Config`.

    The preset fixes the size and the vocabulary; `config` gives the training
    window (at most the preset's positions), dropout and optimizer.

    Args:
        preset_dir: path. A directory written by keras-hub's `save_to_preset`
            (see docs/gpt2.md to get `gpt2_base_en` once).
        config: GPT2Config or None. Training settings.

    Returns:
        (GPT2LanguageModel, tokenizers.Tokenizer, GPT2Config).
    """
    from charlstm.backends.gpt2.tokenizer import preset_tokenizer

    saved = check_preset(preset_dir)
    tokenizer = preset_tokenizer(preset_dir)
    config = config or GPT2Config()
    positions = saved["max_sequence_length"]
    if config.sequence_length > positions:
        raise InputError(
            f"`sequence_length` must be at most the preset's {positions} positions. "
            f"Received: sequence_length={config.sequence_length}"
        )
    config = dataclasses.replace(
        config,
        vocabulary_size=saved["vocabulary_size"],
        num_layers=saved["num_layers"],
        num_heads=saved["num_heads"],
        hidden_dim=saved["hidden_dim"],
        intermediate_dim=saved["intermediate_dim"],
        max_sequence_length=positions,
        preset=str(Path(preset_dir).resolve()),
    )
    backbone = keras_hub.models.GPT2Backbone.from_preset(
        str(preset_dir), dropout=config.dropout
    )
    if tokenizer.get_vocab_size() > backbone.vocabulary_size:
        raise InputError(
            f"the preset's tokenizer has {tokenizer.get_vocab_size()} tokens but "
            f"its model only {backbone.vocabulary_size}. Received: "
            f"preset={str(preset_dir)!r}"
        )
    return GPT2LanguageModel(backbone), tokenizer, config


def load_gpt2(run_dir: str | os.PathLike, checkpoint: str = "best"):
    """Loads a GPT-2 run directory as a `GPT2Generator`.

    Args:
        run_dir: path. A directory written by `train_gpt2` (or `charlstm train
            --backend gpt2`).
        checkpoint: "best" (lowest validation loss, `model.keras`) or "last".

    Example:
    >>> generator = load_gpt2("runs/gpt2")
    >>> generator.generate("def ", 200, random_seed=0)
    """
    from charlstm.backends.gpt2.generation import GPT2Generator

    files = GPT2RunFiles(run_dir)
    path = check_trained(files, checkpoint)
    config = GPT2RunConfig.load(files.config)
    model = load_model_file(path)
    return GPT2Generator(model, load_tokenizer(files.tokenizer), config.model)


# The backend registry's entry points (`charlstm.backends`).
def load_run(run_dir: str | os.PathLike, checkpoint: str = "best", engine="auto"):
    """`charlstm.load` for a GPT-2 run: a `GPT2Generator` on Keras."""
    if engine == "numpy":
        raise InputError(
            f"the numpy engine runs LSTM runs only: {str(run_dir)!r} is a GPT-2 "
            "run. Use engine='auto' or 'keras'."
        )
    return load_gpt2(run_dir, checkpoint)


def evaluate_text(generator, text: str) -> dict:
    """`charlstm.evaluate` for a GPT-2 generator (`evaluate_gpt2`)."""
    from charlstm.backends.gpt2.evaluation import evaluate_gpt2

    return evaluate_gpt2(generator, text)


# What a keras-hub preset directory fixes in a GPT-2 run.
PRESET_FIXED = ("num_layers", "num_heads", "hidden_dim", "vocabulary_size")


def base_config(preset: str | None, given: dict) -> GPT2RunConfig:
    """The config a new GPT-2 run starts from: the defaults, or fine-tuning a
    keras-hub preset directory (whose size and vocabulary it keeps)."""
    if not preset:
        return GPT2RunConfig()
    fixed = [name for name in PRESET_FIXED if name in given]
    if fixed:
        raise InputError(
            f"--{fixed[0].replace('_', '-')} cannot be used with --preset: the "
            "preset fixes the model's size and vocabulary"
        )
    # The default window, or the preset's positions if fewer.
    positions = check_preset(preset)["max_sequence_length"]
    window = min(GPT2Config.sequence_length, positions)
    return GPT2RunConfig(model=GPT2Config(preset=str(preset), sequence_length=window))


def train_run(corpus, run_dir, *, config, resume=False, **kwargs):
    """`train_gpt2` (the command line's `train`): on resume, only `config`'s
    training section is used."""
    from charlstm.backends.gpt2.training import train_gpt2

    return train_gpt2(
        corpus,
        run_dir,
        config=None if resume else config,
        training=config.training,
        resume=resume,
        **kwargs,
    )
