"""Training: corpus -> stateful batches -> the training loop, with a run
directory, checkpoints and exact resume."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras

from charlstm import __version__
from charlstm.config import DataConfig, RunConfig, TrainingConfig
from charlstm.data.batches import StatefulBatches
from charlstm.data.corpus import Corpus, TextStats, load_corpus
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine_weights import export_checkpoint
from charlstm.model.build import (
    LAYER_KINDS,
    build_model,
    layer_kind,
    load_model_file,
    planned_layer_kind,
)
from charlstm.training.callbacks import (
    EpochStats,
    ProgressBar,
    SampleText,
    TimeBudget,
    global_step,
)
from charlstm.training.checkpoint import (
    Checkpoints,
    Progress,
    copy_training_state,
    corpus_fingerprint,
)
from charlstm.training.lock import RunLock
from charlstm.training.loop import BatchHistory, Checkpointer, train_epochs
from charlstm.training.loop import catch_signals as _signals
from charlstm.training.replicas import KerasSteps, ReplicaSteps
from charlstm.training.run_dir import (
    RunFiles,
    create_run,
    open_run,
    read_history,
    recorded_sources,
    rewind_batch_history,
)
from charlstm.training.schedule import (
    DecayPerEpoch,
    DecayToZero,
    compile_model,
    warmup_batches,
)
from charlstm.training.strategy import is_chief, make_strategy
from charlstm.training.tensorboard import TensorBoard
from charlstm.training.threads import configure_threads, describe_threads
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_path

# Seconds between checkpoints inside an epoch: at most a minute of work lost.
DEFAULT_CHECKPOINT_EVERY = 60.0


@dataclass
class TrainResult:
    """What `train` returns."""

    model: keras.Model  # the training model, with the weights of the last epoch
    vocabulary: Vocabulary
    config: RunConfig
    history: list[dict]  # one row per epoch, all epochs of the run
    run_dir: Path | None  # where checkpoints were written, if anywhere
    stats: TextStats = field(default_factory=TextStats)  # what reading the corpus found
    stopped_on_budget: bool = False  # whether the time budget ended training
    budget_batches: int = 0  # batches trained under the time budget, if any
    untrained: str = ""  # why this call trained nothing ("" if it trained)
    # What trained the model: its layers, and the replicas under tf.distribute.
    devices: str = ""
    # A row every `history_every` batches, all sessions (`batch_history.csv`).
    batch_history: list[dict] = field(default_factory=list)

    def describe_corpus(self) -> str:
        """One line on what training read: files, characters, the vocabulary and
        what was unknown, dropped or undecodable."""
        return self.stats.describe()

    def generator(self, engine: str = "auto"):
        """A `TextGenerator` with the weights of the last epoch, on the numpy
        engine where it runs the model ("auto"), or on `engine`."""
        from charlstm.infer.generator import TextGenerator

        return TextGenerator.from_model(
            self.model, self.vocabulary, self.config, engine
        )


def train(
    corpus=None,
    run_dir: str | os.PathLike | None = None,
    *,
    text: str | None = None,
    config: RunConfig | None = None,
    resume: bool = False,
    force: bool = False,
    time_budget: float | None = None,
    callbacks=None,
    verbose: int = 0,
    checkpoint_every: float | None = DEFAULT_CHECKPOINT_EVERY,
    allow_new_corpus: bool = False,
    catch_signals: bool = True,
    on_corpus=None,
    on_start=None,
) -> TrainResult:
    """Trains a stateful character-level model on a corpus.

    States are reset at the start of every epoch; batches are never shuffled.
    `config.training.distribute` trains on the replicas of a `tf.distribute`
    strategy, each owning a share of the streams (`charlstm.training.replicas`);
    under multi-worker training every worker calls `train` alike, and the chief
    alone writes `run_dir` (a resumed run is read from it by every worker).
    With a `run_dir`, a checkpoint (weights, optimizer, RNN states, random
    states, the position in the corpus, the history) is committed atomically
    every `checkpoint_every` seconds and after every epoch, the best `model.keras`
    (by validation loss) and `history.csv` beside it, and `batch_history.csv`
    gets a row every `config.training.history_every` batches; `resume` continues
    from the last checkpoint exactly where the run was. One trainer at a time may
    use a run directory (a lock that a killed process releases).

    Args:
        corpus: path, list of paths, or None. Files or directories; None (and no
            `text`) is the embedded default corpus, the standard library's source.
        run_dir: path or None. Run directory for checkpoints; None keeps everything
            in memory.
        text: str or None. Train on this text instead of files.
        config: RunConfig or None. Model, data and training settings (defaults if
            None). When resuming, only its `training` section is used.
            `config.data.tokens="word"` trains on word-level tokens
            (`charlstm.data.tokens`) instead of characters;
            `config.data.variable_length` cuts every epoch at lengths drawn as
            AWD-LSTM does (`charlstm.data.batches`), on one device.
        resume: bool. Continue the run in `run_dir` from its last checkpoint.
        force: bool. Start a new run in `run_dir` even if it holds one.
        time_budget: float or None. Stop after this many seconds of training, at a
            batch boundary, then validate and checkpoint. A resumed run without
            one continues with what is left of its own.
        callbacks: list of keras.callbacks.Callback. Extra callbacks, e.g.
            `charlstm.TensorBoard(log_dir)` or `charlstm.SampleText()`.
        verbose: int. 1 shows a progress bar per epoch.
        checkpoint_every: float or None. Seconds between checkpoints inside an
            epoch (None: at epoch ends only).
        allow_new_corpus: bool. Resume on a corpus other than the run's own.
        catch_signals: bool. SIGINT and SIGTERM save a checkpoint and raise
            `TrainingInterrupted` (main thread only).
        on_corpus: callable or None. Called with the corpus's `TextStats` once
            it is read and checked, before the model is built (the command line
            prints `stats.describe()`).
        on_start: callable or None. Called with `TrainResult.devices`, what
            will train the model, before the first batch.

    Example:
    >>> result = train(text=open("input.txt").read(), run_dir="runs/demo",
    ...                config=make_config(epochs=2, units=64))
    >>> print(result.generator().generate("The ", 100))
    """
    # Checked before anything touches the run directory.
    if time_budget is not None:
        TimeBudget(time_budget)
    if checkpoint_every is not None and not checkpoint_every > 0:
        raise InputError(
            "`checkpoint_every` must be a positive number of seconds or None. "
            f"Received: checkpoint_every={checkpoint_every!r}"
        )
    if config is not None and not resume:
        _check_variable_length(config.data, config.training)
    files = RunFiles(run_dir) if run_dir is not None else None
    # Before anything else runs on TensorFlow: thread pools and devices are
    # configured at start-up.
    startup = _startup_training(files, resume, config)
    # "auto" on one device: replicas of a split CPU run more than two at a time.
    alone = startup.distribute == "none"
    threads = configure_threads(startup.threads if alone else "tensorflow")
    strategy = make_strategy(startup.distribute)
    fit = (strategy, threads, callbacks, verbose, checkpoint_every, on_start)
    if not is_chief(strategy):  # another worker: reads the run, writes nothing
        if resume:
            open_run(files, resume, force)
            run = _resumed(
                files, corpus, text, config, allow_new_corpus, time_budget, on_corpus
            )
        else:
            run = _new(corpus, text, config or RunConfig(), time_budget, on_corpus)
        with _signals(catch_signals) as stop:
            return _fit(run, None, stop, *fit)
    if resume:
        open_run(files, resume, force)
        with RunLock(files.root, create=False):
            Checkpoints(files).clean()
            run = _resumed(
                files, corpus, text, config, allow_new_corpus, time_budget, on_corpus
            )
            with _signals(catch_signals) as stop:
                return _fit(run, files, stop, *fit)
    open_run(files, resume, force)  # refused before the corpus is read
    run = _new(corpus, text, config or RunConfig(), time_budget, on_corpus)
    with RunLock(files.root) if files else contextlib.nullcontext():
        if files is not None:
            open_run(files, resume, force)  # again, now that no one else can write
            create_run(files, run.write)
        with _signals(catch_signals) as stop:
            return _fit(run, files, stop, *fit)


def _startup_training(files, resume: bool, config: RunConfig | None):
    """The `TrainingConfig` whose start-up settings (`threads`, `distribute`)
    apply: the given config's, else a resumed run's, else the defaults."""
    if config is not None:
        return config.training
    if resume and files is not None and files.config.is_file():
        return RunConfig.load(files.config).training
    return TrainingConfig()


@dataclass
class _Run:
    """A run ready to train: its config, corpus, model and where it is."""

    config: RunConfig
    corpus: Corpus
    model: keras.Model
    progress: Progress
    fingerprint: dict
    budget: TimeBudget | None

    def write(self, files: RunFiles) -> None:
        """Writes a new run's config and vocabulary."""
        self.corpus.vocabulary.save(files.vocabulary)
        self.config.save(files.config)


def _new(corpus, text, config: RunConfig, time_budget, on_corpus) -> _Run:
    data = config.data
    loaded = load_corpus(corpus, text, data=data)
    config = dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, vocabulary_size=loaded.vocabulary.size),
        data=dataclasses.replace(data, sources=recorded_sources(corpus)),
        version=__version__,
    )
    if config.training.random_seed is not None:
        keras.utils.set_random_seed(config.training.random_seed)
    batches = _batches(config, loaded)  # refuses a corpus too short
    if on_corpus is not None:
        on_corpus(loaded.stats)
    model = build_model(
        config.model, data.batch_size, _training_length(data), for_training=True
    )
    compile_model(model, config.model, _steps_per_epoch(batches))
    budget = TimeBudget(time_budget) if time_budget is not None else None
    progress = Progress(budget_seconds=time_budget)
    fingerprint = corpus_fingerprint(config.data.sources, loaded.ids)
    return _Run(config, loaded, model, progress, fingerprint, budget)


def _resumed(
    files, corpus, text, config, allow_new_corpus, time_budget, on_corpus
) -> _Run:
    saved = RunConfig.load(files.config)
    new_epochs = False
    if config is not None:
        new_epochs = config.training.epochs != saved.training.epochs
        saved = dataclasses.replace(saved, training=config.training)
    config = saved
    vocabulary = Vocabulary.load(files.vocabulary)
    data = config.data
    sources = corpus if corpus is not None else (data.sources or None)
    loaded = load_corpus(sources, text, data=data, vocabulary=vocabulary)
    checkpoints = Checkpoints(files)
    manifest = checkpoints.read()
    fingerprint = corpus_fingerprint(data.sources, loaded.ids)
    if manifest is not None:
        _check_corpus(files, manifest.corpus, fingerprint, allow_new_corpus)
        fingerprint = manifest.corpus if not allow_new_corpus else fingerprint
        progress = manifest.progress
        model_path = files.root / manifest.model
    else:  # a run written before checkpoints: its last complete epoch
        progress = Progress(epoch=0, history=read_history(files.history))
        progress.epoch = len(progress.history)
        model_path = files.last
    if on_corpus is not None:
        on_corpus(loaded.stats)
    if config.training.random_seed is not None:
        keras.utils.set_random_seed(config.training.random_seed)
    model = load_model_file(model_path, compile=True)
    if manifest is not None:
        checkpoints.restore(model, manifest)
    model = _on_this_machine(model, config, loaded)
    if time_budget is not None:  # a new budget, counted afresh
        progress.budget_seconds, progress.budget_spent = time_budget, 0.0
    elif new_epochs:  # a new number of epochs replaces the old budget
        progress.budget_seconds, progress.budget_spent = None, 0.0
    budget = None
    if progress.budget_seconds is not None:
        budget = TimeBudget(progress.budget_seconds, spent=progress.budget_spent)
    return _Run(config, loaded, model, progress, fingerprint, budget)


def _on_this_machine(model, config: RunConfig, corpus: Corpus):
    """The resumed model with the layers this machine trains on (`fast_path`):
    a run trained on a GPU with Keras's cuDNN layers continues on a CPU with
    the fused stack, and vice versa, with the same weights, optimizer state and
    RNN states."""
    if layer_kind(model) == planned_layer_kind(config.model):
        return model
    data = config.data
    rebuilt = build_model(
        config.model, data.batch_size, _training_length(data), for_training=True
    )
    compile_model(rebuilt, config.model, _steps_per_epoch(_batches(config, corpus)))
    copy_training_state(model, rebuilt)
    return rebuilt


def _check_corpus(files, saved: dict, found: dict, allow_new_corpus: bool) -> None:
    if allow_new_corpus or saved.get("ids_sha256") == found["ids_sha256"]:
        return
    raise InputError(
        f"the corpus differs from the one {str(files.root)!r} was trained on "
        f"({found['characters']:,} characters against {saved.get('characters', 0):,}"
        ", or the same length with other text); resume on the run's own corpus, "
        "or allow a new one (--allow-new-corpus, allow_new_corpus=True)."
    )


def _batches(config: RunConfig, corpus: Corpus) -> StatefulBatches:
    data = config.data
    # Variable lengths are drawn from the epoch alone (the default seed), not
    # from `random_seed`, which a resumed run may change: the epoch it resumes
    # in must be cut as before.
    return StatefulBatches(
        corpus.ids,
        data.batch_size,
        data.sequence_length,
        data.validation_split,
        variable_length=data.variable_length,
        variable_length_std=data.variable_length_std,
    )


def _training_length(data: DataConfig) -> int | None:
    """The training model's time steps: any with variable lengths."""
    return None if data.variable_length else data.sequence_length


def _steps_per_epoch(batches: StatefulBatches) -> int | None:
    """What `compile_model` is told: None where epochs vary in length."""
    return None if batches.variable_length else len(batches.train)


def _check_variable_length(data: DataConfig, training: TrainingConfig) -> None:
    if data.variable_length and training.distribute != "none":
        raise InputError(
            "`variable_length` needs distribute='none': the replicas of "
            "tf.distribute train batches of one length. Received: "
            f"variable_length=True, distribute={training.distribute!r}"
        )


def _fit(
    run: _Run,
    files,
    stop,
    strategy,
    threads,
    callbacks,
    verbose,
    checkpoint_every,
    on_start,
) -> TrainResult:
    config, corpus, model, progress = run.config, run.corpus, run.model, run.progress
    data, training = config.data, config.training
    _check_variable_length(data, training)  # a resumed run's data and training
    batches = _batches(config, corpus)
    if strategy is None:
        steps = KerasSteps(model, data.batch_size)
    else:
        steps = ReplicaSteps(
            strategy,
            model,
            config.model,
            data.batch_size,
            data.sequence_length,
            lambda m: compile_model(m, config.model, _steps_per_epoch(batches)),
        )
    devices = LAYER_KINDS[layer_kind(steps.model)]
    if strategy is not None:
        devices += f", {steps.replicas} replica(s) ({training.distribute})"
    devices += f"; {describe_threads(threads)}"
    progress.devices = devices
    if on_start is not None:
        on_start(devices)
    # Variable lengths: every epoch has its own number of batches, all known.
    total_steps = batches.total_steps(training.epochs)
    chars_per_batch = data.batch_size * data.sequence_length
    if data.variable_length and total_steps:  # the run's mean
        chars_per_batch = batches.train.characters * training.epochs / total_steps
    for callback in callbacks or []:
        if isinstance(callback, SampleText):
            callback.bind(corpus.vocabulary, config.model)
        if isinstance(callback, TensorBoard):
            callback.bind(chars_per_batch)
    budget = run.budget
    all_callbacks = [EpochStats(chars_per_batch)]
    all_callbacks += [budget] if budget else []
    if config.model.lr_schedule != "exponential":
        all_callbacks.append(
            DecayToZero(
                config.model.learning_rate,
                total_steps,
                warmup_batches(config.model, total_steps),
                budget,
                shape=config.model.lr_schedule,
            )
        )
    elif data.variable_length and config.model.lr_decay != 1.0:
        all_callbacks.append(
            DecayPerEpoch(config.model.learning_rate, config.model.lr_decay)
        )
    if verbose:
        all_callbacks.append(
            ProgressBar(chars_per_batch, None if budget else training.epochs)
        )
    all_callbacks += list(callbacks or [])
    checkpointer = Checkpointer(
        Checkpoints(files) if files is not None else None,
        run.fingerprint,
        checkpoint_every,
        (lambda model: _save_best(files, model)) if files is not None else None,
    )
    rows = []  # a resumed run's, without those of batches it trains again
    if files is not None:
        rows = rewind_batch_history(files.batch_history, global_step(model))
    batch_history = BatchHistory(
        training.history_every,
        chars_per_batch,
        files.batch_history if files is not None else None,
        rows,
    )
    untrained = ""
    if progress.epoch >= training.epochs:
        untrained = f"the run already has {progress.epoch} epoch(s)"
    elif budget is not None and budget.fraction_used() >= 1.0:
        untrained = (
            f"the run's time budget of {budget.seconds:g} s is spent; give a new "
            "one (--time-budget) or --epochs"
        )
    if not untrained:
        train_epochs(
            steps,
            batches,
            progress,
            training.epochs,
            all_callbacks,
            checkpointer,
            stop,
            budget,
            batch_history,
        )
        model = steps.snapshot()
    return TrainResult(
        model=model,
        vocabulary=corpus.vocabulary,
        config=config,
        history=progress.history,
        run_dir=files.root if files else None,
        stats=corpus.stats,
        stopped_on_budget=bool(budget and budget.stopped),
        budget_batches=budget.batches if budget else 0,
        untrained=untrained,
        batch_history=batch_history.rows,
        devices=devices,
    )


def _save_best(files: RunFiles, model) -> None:
    """Writes the best model, and its weights for the numpy engine."""
    with atomic_path(files.model) as tmp:
        model.save(tmp)
    export_checkpoint(files.root, model.get_weights())
