"""Training a GPT-2 on the LSTM's split, with the LSTM's run directory.

The corpus is read and cleaned as for the LSTM, then split as
`charlstm.data.batches.StatefulBatches` splits it for `config.data`: `batch_size`
contiguous streams, each ending in a validation tail. The training parts (the
heads of the streams) are tokenized, concatenated and cut into non-overlapping
windows of `sequence_length + 1` tokens, shuffled every epoch. Each validation
tail is scored after its own stream's head, as the stateful LSTM reads it, so
`val_bits_per_char` counts exactly the LSTM's validation characters.

History rows have the LSTM's columns and units: `loss` and `val_loss` in nats
per character (the mean token loss times the training text's tokens per
character, and the validation NLL over its characters), `chars_per_second` in
training characters.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from charlstm import __version__
from charlstm.backends.gpt2.backend import (
    GPT2LanguageModel,
    build_gpt2,
    compile_gpt2,
    load_model_file,
    load_preset,
)
from charlstm.backends.gpt2.callbacks import GPT2Checkpoint, GPT2Validation
from charlstm.backends.gpt2.config import GPT2Config, GPT2RunConfig, GPT2RunFiles
from charlstm.backends.gpt2.data import StreamSplit, split_streams, token_windows
from charlstm.backends.gpt2.tokenizer import (
    encode,
    load_tokenizer,
    save_tokenizer,
    train_tokenizer,
)
from charlstm.config import DataConfig, TrainingConfig
from charlstm.data.corpus import TextStats, check_unknown_share, read_pieces
from charlstm.training.callbacks import (
    EpochStats,
    ProgressBar,
    RecordHistory,
    TimeBudget,
)
from charlstm.training.run_dir import (
    create_run,
    open_run,
    recorded_sources,
)
from charlstm.training.tensorboard import TensorBoard
from charlstm.training.threads import configure_threads
from charlstm.utils.checks import InputError

# Learning rates when the config leaves it unset.
LEARNING_RATE = 1e-3
PRESET_LEARNING_RATE = 1e-4


@dataclass
class GPT2TrainResult:
    """What `train_gpt2` returns."""

    model: GPT2LanguageModel  # the weights of the last epoch
    tokenizer: object  # tokenizers.Tokenizer, the byte-level BPE
    config: GPT2RunConfig
    history: list[dict]  # one row per epoch, all epochs of the run
    run_dir: Path | None  # where checkpoints were written, if anywhere
    stats: TextStats = field(default_factory=TextStats)  # what reading found
    validation_characters: int = 0  # characters scored by val_bits_per_char
    stopped_on_budget: bool = False  # whether the time budget ended training
    budget_batches: int = 0  # batches trained under the time budget, if any
    untrained: str = ""  # why this call trained nothing ("" if it trained)

    def describe_corpus(self) -> str:
        """One line on what training read: files, characters, what was dropped,
        the BPE."""
        return (
            f"{self.stats.describe()}, BPE vocabulary "
            f"{self.tokenizer.get_vocab_size()}, "
            f"{self.config.model.characters_per_token:.2f} characters per token"
        )

    def generator(self):
        """A `GPT2Generator` with the weights of the last epoch."""
        from charlstm.backends.gpt2.generation import GPT2Generator

        return GPT2Generator(self.model, self.tokenizer, self.config.model)


def _run_config(config, data, training) -> GPT2RunConfig:
    if config is None:
        config = GPT2RunConfig()
    elif isinstance(config, GPT2Config):
        config = GPT2RunConfig(model=config)
    elif not isinstance(config, GPT2RunConfig):
        raise InputError(
            "`config` must be a GPT2Config or GPT2RunConfig. Received: "
            f"{type(config).__name__}"
        )
    return dataclasses.replace(
        config, data=data or config.data, training=training or config.training
    )


def _read(corpus, text, data: DataConfig) -> tuple[str, TextStats]:
    """The corpus as the LSTM reads it (every character kept: the byte-level BPE
    encodes any text), checked."""
    pieces, stats = read_pieces(corpus, text, data)
    check_unknown_share(stats, data.max_unknown_share)
    return "".join(pieces), stats


def train_gpt2(
    corpus=None,
    run_dir: str | os.PathLike | None = None,
    *,
    text: str | None = None,
    config: GPT2Config | GPT2RunConfig | None = None,
    data: DataConfig | None = None,
    training: TrainingConfig | None = None,
    resume: bool = False,
    force: bool = False,
    time_budget: float | None = None,
    callbacks=None,
    verbose: int = 0,
    on_corpus=None,
) -> GPT2TrainResult:
    """Trains a GPT-2 on a corpus with the LSTM's split and run directory.

    From a config, a byte-level BPE of `config.vocabulary_size` tokens is trained
    on the training text first; with `config.preset`, a keras-hub GPT-2 preset
    directory is fine-tuned with its own tokenizer. Nothing is downloaded.

    Args:
        corpus: path, list of paths, or None. Files or directories; None (and no
            `text`) is the embedded default corpus.
        run_dir: path or None. Run directory for checkpoints (`config.json`,
            `tokenizer.json`, `model.keras`, `last.keras`, `history.csv`).
        text: str or None. Train on this text instead of files.
        config: GPT2Config, GPT2RunConfig or None. The model (and, for a
            GPT2RunConfig, the data and training sections). When resuming, only
            the training section is used.
        data: DataConfig or None. Reading and the validation split (the LSTM's
            defaults if None): use the LSTM run's to validate on its characters.
        training: TrainingConfig or None. Epochs and random seed.
        resume: bool. Continue the run in `run_dir` from its last complete epoch.
        force: bool. Start a new run in `run_dir` even if it holds one.
        time_budget: float or None. Stop after this many seconds of training, at
            a batch boundary, then validate and checkpoint.
        callbacks: list of keras.callbacks.Callback. Extra callbacks.
        verbose: int. 1 shows a progress bar per epoch.
        on_corpus: callable or None. Called with the corpus's `TextStats` once it
            is read and checked, before the model is built.

    Example:
    >>> result = train_gpt2(text=open("corpus.py").read(), run_dir="runs/gpt2",
    ...                     config=GPT2Config(num_layers=2, hidden_dim=64),
    ...                     training=TrainingConfig(epochs=10**6, random_seed=0),
    ...                     time_budget=180)
    >>> result.history[-1]["val_bits_per_char"]
    """
    budget = TimeBudget(time_budget) if time_budget is not None else None
    files = GPT2RunFiles(run_dir) if run_dir is not None else None
    run = _run_config(config, data, training)
    history = open_run(files, resume, force)
    if resume:
        saved = GPT2RunConfig.load(files.config)
        if training is None and isinstance(config, GPT2RunConfig):
            training = config.training
        run = dataclasses.replace(saved, training=training or saved.training)
        configure_threads(run.training.threads)  # before TensorFlow starts
        sources = corpus if corpus is not None else (run.data.sources or None)
        body, stats = _read(sources, text, run.data)
        split = split_streams(body, run.data)
        tokenizer = load_tokenizer(files.tokenizer)
        if run.training.random_seed is not None:
            keras.utils.set_random_seed(run.training.random_seed)
        model = load_model_file(files.last, compile=True)
    else:
        configure_threads(run.training.threads)  # before TensorFlow starts
        body, stats = _read(corpus, text, run.data)
        split = split_streams(body, run.data)
        if run.training.random_seed is not None:
            keras.utils.set_random_seed(run.training.random_seed)
        model_config = run.model
        if model_config.preset:
            model, tokenizer, model_config = load_preset(
                model_config.preset, model_config
            )
            rate = PRESET_LEARNING_RATE
        else:
            tokenizer = train_tokenizer(split.train, model_config.vocabulary_size)
            model = build_gpt2(model_config)
            rate = LEARNING_RATE
        if model_config.learning_rate is None:
            model_config = dataclasses.replace(model_config, learning_rate=rate)
        run = dataclasses.replace(
            run,
            model=model_config,
            data=dataclasses.replace(run.data, sources=recorded_sources(corpus)),
            version=__version__,
        )
    train_tokens = encode(tokenizer, split.train)
    validation_tokens = encode(tokenizer, split.validation)
    train_characters = sum(len(t) for t in split.train)
    tokens_per_character = sum(len(t) for t in train_tokens) / train_characters
    if not resume:
        measured = dataclasses.replace(
            run.model, characters_per_token=1 / tokens_per_character
        )
        run = dataclasses.replace(run, model=measured)
        compile_gpt2(model, run.model)

        def write(files):
            save_tokenizer(tokenizer, files.tokenizer)
            run.save(files.config)

        create_run(files, write)
    if on_corpus is not None:  # read, checked, tokenized: training starts
        on_corpus(stats)
    prepared = _Prepared(
        model, tokenizer, run, split, train_tokens, validation_tokens, stats
    )
    return _fit(
        prepared, tokens_per_character, files, history, budget, callbacks, verbose
    )


@dataclass
class _Prepared:
    """What `train_gpt2` hands to `_fit`: the model and the tokenized split."""

    model: object  # GPT2LanguageModel, compiled
    tokenizer: object  # tokenizers.Tokenizer
    run: GPT2RunConfig
    split: StreamSplit
    train_tokens: list  # one token array per stream head
    validation_tokens: list  # one token array per stream tail
    stats: TextStats


def _fit(
    prepared: _Prepared,
    tokens_per_character: float,
    files,
    history,
    budget,
    callbacks,
    verbose,
) -> GPT2TrainResult:
    model, tokenizer, run = prepared.model, prepared.tokenizer, prepared.run
    split, stats = prepared.split, prepared.stats
    train_tokens = prepared.train_tokens
    validation_tokens = prepared.validation_tokens
    config = run.model
    window = config.sequence_length
    windows = token_windows(train_tokens, window)  # (count, T + 1)
    sequences = [
        (np.concatenate([head[-window:], tail]), len(head[-window:]))
        for head, tail in zip(train_tokens, validation_tokens, strict=True)
    ]
    validation_characters = sum(len(t) for t in split.validation)
    chars_per_batch = config.batch_size * window / tokens_per_character
    recorder = GPT2Checkpoint(files, history) if files else RecordHistory(history)
    all_callbacks = [
        GPT2Validation(sequences, validation_characters, window, tokens_per_character),
        EpochStats(chars_per_batch),
    ]
    all_callbacks += [budget] if budget else []
    all_callbacks.append(recorder)
    if verbose:
        all_callbacks.append(
            ProgressBar(chars_per_batch, None if budget else run.training.epochs)
        )
    for callback in callbacks or []:
        if isinstance(callback, TensorBoard):
            callback.bind(chars_per_batch)
    all_callbacks += list(callbacks or [])
    trained = len(history) < run.training.epochs
    if trained:
        inputs = {
            "token_ids": windows[:, :-1],  # (count, T)
            "padding_mask": np.ones((len(windows), window), dtype=bool),
        }
        model.fit(
            inputs,
            windows[:, 1:],  # (count, T)
            batch_size=config.batch_size,
            epochs=run.training.epochs,
            initial_epoch=len(history),
            shuffle=True,
            verbose=0,
            callbacks=all_callbacks,
        )
    return GPT2TrainResult(
        model=model,
        tokenizer=tokenizer,
        config=run,
        history=recorder.history,
        run_dir=files.root if files else None,
        stats=stats,
        validation_characters=validation_characters,
        stopped_on_budget=bool(budget and budget.stopped),
        budget_batches=budget.batches if budget else 0,
        untrained=("" if trained else f"the run already has {len(history)} epoch(s)"),
    )
