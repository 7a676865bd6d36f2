"""Hyper-parameter sweeps: a grid of runs under one budget, as a CSV and a table.

Table 4.1 of Perez, Ottens and Viswanathan, "Automatic Code Generation using
Pre-Trained Language Models" (2021), swept batch size x starter learning rate x
regularization weight and reported BLEU on training and evaluation prompts; the
paper also compared LSTM, GRU and simple RNN cells. `run_sweep` trains one run
per grid point, each under the same budget (time or epochs), into
`out_dir/<point>/`, and writes `results.csv` and `results.md` in `out_dir` after
every point.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from charlstm.config import RunConfig
from charlstm.eval.grid import SweepGrid, SweepPoint
from charlstm.eval.sweep_results import (
    RESULT_COLUMNS,
    write_results,
)
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write_text, plain_scalar

ROW_FILE = "sweep_row.json"  # in a point's run directory once the point is complete
SETTINGS_FILE = "sweep.json"  # in the sweep directory: what the sweep was run with


def run_sweep(
    corpus=None,
    out_dir: str | os.PathLike = "sweep",
    grid: SweepGrid | None = None,
    base_config: RunConfig | None = None,
    *,
    text: str | None = None,
    time_budget: float | None = None,
    train_prompts: Sequence | None = None,
    eval_prompts: Sequence | None = None,
    codegen_options: dict | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Callable[[SweepPoint, int, int, dict | None], None] | None = None,
    verbose: int = 0,
) -> list[dict]:
    """Trains one run per grid point under the same budget and tabulates them.

    Every point trains with `charlstm.train` into `out_dir/<point.name>/` from the
    same base config and random seed, for `base_config.training.epochs` epochs or
    until `time_budget` seconds of training, whichever comes first. Its row holds
    the best epoch's validation bits/char (the epoch `model.keras` keeps) and,
    when prompts are given, the BLEU of that model's completions of the prompts
    (`charlstm.eval.codegen.run_codegen`). After every point, `results.csv` and
    `results.md` are rewritten atomically in `out_dir`.

    Args:
        corpus: path, list of paths, or None. As in `charlstm.train`.
        out_dir: path. The sweep directory; refused if it exists and is not
            empty, unless `resume` or `force`.
        grid: SweepGrid or None. The values to sweep (None: the base config only).
        base_config: RunConfig or None. Settings shared by every point.
        text: str or None. Train on this text instead of files.
        time_budget: float or None. Training seconds per point.
        train_prompts: list of `charlstm.eval.codegen.FunctionExample` or None.
            Functions from the training corpus, for the `bleu_train` column.
        eval_prompts: list of `FunctionExample` or None. Held-out functions, for
            the `bleu_eval` column.
        codegen_options: dict or None. Keyword arguments of `run_codegen`
            (`max_length`, `temperature`, `random_seed`; its defaults if None).
        resume: bool. Keep the points already complete in `out_dir` and run the
            others (the grid may have grown); the base config, budget, corpus,
            prompts and codegen options must be the same.
        force: bool. Run every point again in an existing `out_dir`.
        progress: callable(point, index, total, row) or None. Called before each
            point (row None) and after it (its row).
        verbose: int. Passed to `charlstm.train` (1: a progress bar per epoch).

    Returns:
        list of dict: one row per point, with the `RESULT_COLUMNS`:
        `val_bits_per_char` of the best epoch (the one `model.keras` keeps),
        `chars_per_second` the mean over epochs, `loss` the last epoch's
        training loss; per prompt set, `bleu_*` is Perez et al.'s BLEU
        (`summary["bleu_perez2021"]`), `bleu_tokens_*` corpus BLEU on Python
        tokens and `syntax_valid_*` the share of bodies that parse (None without
        prompts).

    Example:
    >>> rows = run_sweep("src/", "sweeps/lr", SweepGrid.parse(learning_rate=
    ...     "0.002,0.004"), make_config(epochs=1000), time_budget=60)
    >>> [row["val_bits_per_char"] for row in rows]
    """
    from charlstm.data.batches import minimum_corpus_length
    from charlstm.data.corpus import load_corpus

    base = base_config or RunConfig()
    points = (grid or SweepGrid()).points(base)  # checks every value first
    if time_budget is not None and not (
        isinstance(time_budget, (int, float)) and 0 < time_budget < math.inf
    ):
        raise InputError(
            "`time_budget` must be a positive number of seconds or None. "
            f"Received: time_budget={time_budget!r}"
        )
    if resume and force:
        raise InputError("give `resume` or `force`, not both.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"sweep directory is a file: {str(out)!r}")
    if out.is_dir() and any(out.iterdir()) and not (resume or force):
        raise FileExistsError(
            f"sweep directory already exists and is not empty: {str(out)!r}. Use "
            "resume (--resume) to finish it or force (--force) to run it again."
        )
    settings = _settings(corpus, text, base, time_budget, codegen_options)
    settings["prompts"] = {
        "train": _fingerprint(train_prompts),
        "eval": _fingerprint(eval_prompts),
    }
    settings_path = out / SETTINGS_FILE
    if resume and settings_path.exists():
        saved = json.loads(settings_path.read_text(encoding="utf-8"))
        saved["base_config"] = _comparable(saved.get("base_config"))
        current = {**settings, "base_config": _comparable(settings["base_config"])}
        changed = sorted(k for k in current if saved.get(k) != current[k])
        if changed:
            raise InputError(
                f"cannot resume {str(out)!r} with different settings "
                f"({', '.join(changed)}); use force (--force) to run it again."
            )

    data = base.data
    loaded = load_corpus(corpus, text, data=data)
    largest = max(point.batch_size for point in points)
    needed = minimum_corpus_length(largest, data.sequence_length)
    if len(loaded.ids) < needed:
        raise InputError(
            f"sweep grid `batch_size` (--batch-size) values must fit the corpus: "
            f"with sequence_length={data.sequence_length} it needs at least "
            f"{needed:,} characters. Received: batch_size={largest} for a corpus of "
            f"{len(loaded.ids):,} characters."
        )
    del loaded

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(settings_path, json.dumps(settings, indent=2) + "\n")
    rows = []
    for index, point in enumerate(points):
        run_dir = out / point.name
        row_path = run_dir / ROW_FILE
        if resume and row_path.exists():
            row = json.loads(row_path.read_text(encoding="utf-8"))
        else:
            if progress:
                progress(point, index, len(points), None)
            row = _run_point(
                point,
                run_dir,
                corpus,
                text,
                time_budget,
                train_prompts,
                eval_prompts,
                codegen_options or {},
                verbose,
            )
            atomic_write_text(row_path, json.dumps(row, indent=2) + "\n")
        rows.append(row)
        write_results(out, rows)
        if progress:
            progress(point, index, len(points), row)
    return rows


def _settings(corpus, text, base: RunConfig, time_budget, codegen_options) -> dict:
    """What must not change when a sweep is resumed."""
    if text is not None:
        source = "text sha256 " + hashlib.sha256(text.encode()).hexdigest()[:16]
    elif corpus is None:
        source = "default corpus"
    else:
        paths = [corpus] if isinstance(corpus, (str, os.PathLike)) else corpus
        source = [str(Path(p).resolve()) for p in paths]
    return {
        "corpus": source,
        "base_config": base.to_dict(),
        "time_budget": time_budget,
        "codegen_options": codegen_options or {},
    }


def _comparable(config: dict | None) -> dict | None:
    """A base config as a resumed sweep compares it: fields added since it was
    written take their defaults, and `threads` (how fast a point trains, not
    what it trains) is left out."""
    if not isinstance(config, dict):
        return config
    comparable = RunConfig.from_dict(config).to_dict()
    comparable["training"].pop("threads")
    return comparable


def _fingerprint(prompts) -> str | None:
    """How many functions, and a digest of their source, to tell sets apart."""
    if not prompts:
        return None
    digest = hashlib.sha256()
    for example in prompts:
        digest.update(example.source.encode("utf-8", "replace"))
    return f"{len(prompts)} function(s), sha256 {digest.hexdigest()[:16]}"


def _run_point(
    point, run_dir, corpus, text, time_budget, train_prompts, eval_prompts, options, v
):
    from charlstm.training.trainer import train

    result = train(
        corpus,
        run_dir,
        text=text,
        config=point.config,
        force=True,  # the sweep directory was checked as a whole
        time_budget=time_budget,
        verbose=v,
    )
    history = result.history
    scored = [r for r in history if r.get("val_bits_per_char") not in ("", None)]
    best = min(scored, key=lambda r: r["val_bits_per_char"]) if scored else {}
    rates = [r["chars_per_second"] for r in history if r.get("chars_per_second")]
    row = {
        "point": point.name,
        "cell": point.cell,
        "batch_size": point.batch_size,
        "learning_rate": point.learning_rate,
        "l2": point.l2,
        "epochs": len(history),
        "train_seconds": sum(float(r["seconds"] or 0) for r in history),
        "chars_per_second": sum(rates) / len(rates) if rates else None,
        "loss": history[-1]["loss"] if history else None,
        "val_bits_per_char": best.get("val_bits_per_char"),
    }
    generator = None
    for name, prompts in (("train", train_prompts), ("eval", eval_prompts)):
        summary = {}
        if prompts:
            from charlstm.eval.codegen import run_codegen
            from charlstm.infer.load import load

            generator = generator or load(run_dir)  # the best epoch
            summary = run_codegen(
                generator, list(prompts), **_codegen_arguments(options)
            ).summary
        row[f"bleu_{name}"] = summary.get("bleu_perez2021")
        row[f"bleu_tokens_{name}"] = summary.get("bleu_tokens")
        row[f"syntax_valid_{name}"] = summary.get("syntax_valid_rate")
    return {k: plain_scalar(row[k]) for k in RESULT_COLUMNS}


def _codegen_arguments(options: dict) -> dict:
    """`run_codegen`'s keyword arguments from the sweep's (JSON) codegen options."""
    from charlstm.infer.sampling import Sampling

    options = dict(options)
    sampling = Sampling(
        temperature=options.pop("temperature", 0.75),
        random_seed=options.pop("random_seed", 0),
    )
    return {**options, "sampling": sampling}
