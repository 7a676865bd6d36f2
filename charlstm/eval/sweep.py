"""Hyper-parameter sweeps: a grid of runs under one budget, as a CSV and a table.

Seed 000's table 4.1 swept batch size x starter learning rate x regularization
weight and reported BLEU on training and evaluation prompts; it also compared
LSTM, GRU and simple RNN cells. `run_sweep` trains one run per grid point, each
under the same budget (time or epochs), into `out_dir/<point>/`, and writes
`results.csv` and `results.md` in `out_dir` after every point.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from charlstm.config import CELLS, RunConfig, make_config
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_write_text

# Grid field -> the command-line flag that sets it.
GRID_FLAGS = {
    "batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "l2": "--l2",
    "cell": "--cell",
}
# Published grids by name (and old name) -> the SweepGrid constructor.
NAMED_GRIDS = {"perez2021": "perez2021", "seed000": "perez2021"}
RESULT_COLUMNS = (
    "point",
    "cell",
    "batch_size",
    "learning_rate",
    "l2",
    "epochs",
    "train_seconds",
    "chars_per_second",
    "loss",
    "val_bits_per_char",
    "bleu_train",
    "bleu_eval",
    "bleu_tokens_train",
    "bleu_tokens_eval",
    "syntax_valid_train",
    "syntax_valid_eval",
)
ROW_FILE = "sweep_row.json"  # in a point's run directory once the point is complete
SETTINGS_FILE = "sweep.json"  # in the sweep directory: what the sweep was run with
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"


def _bad(name: str, rule: str, value, given=None) -> ValueError:
    shown = f"{name}={value!r}" + (f" in {given!r}" if given is not None else "")
    return InputError(
        f"sweep grid `{name}` ({GRID_FLAGS[name]}) values must be {rule}. "
        f"Received: {shown}"
    )


def _check_value(name: str, value, given=None):
    """The value, checked (and converted from text); a ValueError naming it."""
    if name == "cell":
        if value not in CELLS:
            raise _bad(name, f"one of {', '.join(CELLS)}", value, given)
        return value
    if name == "batch_size":
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise _bad(name, "integers >= 1", value, given) from None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _bad(name, "integers >= 1", value, given)
        return value
    rule = "numbers > 0" if name == "learning_rate" else "numbers >= 0"
    text = value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _bad(name, rule, text, given) from None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _bad(name, rule, text, given)
    value = float(value)
    low_ok = value > 0 if name == "learning_rate" else value >= 0
    if not (math.isfinite(value) and low_ok):
        raise _bad(name, rule, text, given)
    return value


@dataclass
class SweepGrid:
    """The values to sweep; every combination is one run. An empty list keeps the
    base config's value.

    Args:
        batch_size: list of int. Parallel streams per batch.
        learning_rate: list of float. Starter RMSprop learning rates.
        l2: list of float. L2 weights on every kernel (seed 000's
            "regularization weight").
        cell: list of str. "lstm", "gru", "simple_rnn".

    Example:
    >>> grid = SweepGrid.parse(batch_size="32,64", cell="lstm,gru")
    >>> len(grid.points(make_config()))
    4
    """

    batch_size: list[int] = field(default_factory=list)  # streams per batch
    learning_rate: list[float] = field(default_factory=list)  # starter rates
    l2: list[float] = field(default_factory=list)  # L2 weights on kernels
    cell: list[str] = field(default_factory=list)  # recurrent cell types

    def __post_init__(self):
        for name in GRID_FLAGS:
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise InputError(
                    f"sweep grid `{name}` must be a list of values. "
                    f"Received: {name}={values!r}"
                )
            checked = [_check_value(name, v) for v in values]
            for value in checked:
                if checked.count(value) > 1:
                    raise InputError(
                        f"sweep grid `{name}` ({GRID_FLAGS[name]}) lists a value "
                        f"twice. Received: {name}={value!r}"
                    )
            setattr(self, name, checked)

    @classmethod
    def parse(
        cls,
        batch_size: str | None = None,
        learning_rate: str | None = None,
        l2: str | None = None,
        cell: str | None = None,
    ) -> SweepGrid:
        """A grid from comma-separated values, e.g. `batch_size="32,64"`."""
        given = dict(
            batch_size=batch_size, learning_rate=learning_rate, l2=l2, cell=cell
        )
        lists = {}
        for name, text in given.items():
            if text is None:
                lists[name] = []
                continue
            items = [item.strip() for item in text.split(",")]
            if not all(items):
                raise _bad(name, "a comma-separated list", text)
            lists[name] = [_check_value(name, item, text) for item in items]
        return cls(**lists)

    @classmethod
    def named(cls, name: str) -> SweepGrid:
        """A published grid: "perez2021" (also "seed000", its old name)."""
        if name not in NAMED_GRIDS:
            raise InputError(
                f"`grid` must be one of {sorted(set(NAMED_GRIDS) - {'seed000'})}. "
                f"Received: grid={name!r}"
            )
        return getattr(cls, NAMED_GRIDS[name])()

    @classmethod
    def perez2021(cls) -> SweepGrid:
        """Table 4.1 of Perez, Ottens and Viswanathan (batch 64, 128; learning rate
        0.02, 0.002, 0.0002; regularization weight 0.1, 0.01) over the three cell
        types they compared."""
        return cls(
            batch_size=[64, 128],
            learning_rate=[0.02, 0.002, 0.0002],
            l2=[0.1, 0.01],
            cell=list(CELLS),
        )

    def replace(self, **lists) -> SweepGrid:
        """This grid with the non-empty lists of `lists` in place of its own."""
        return dataclasses.replace(self, **{k: v for k, v in lists.items() if v})

    def points(self, base: RunConfig) -> list[SweepPoint]:
        """Every combination, cell slowest and L2 fastest, as configs over `base`.

        Raises a ValueError before anything is trained if a point's config is
        invalid.
        """
        values = {
            name: getattr(self, name)
            or [getattr(base.model if name != "batch_size" else base.data, name)]
            for name in GRID_FLAGS
        }
        points = []
        for cell, batch_size, learning_rate, l2 in itertools.product(
            values["cell"], values["batch_size"], values["learning_rate"], values["l2"]
        ):
            config = make_config(
                base=base,
                cell=cell,
                batch_size=batch_size,
                learning_rate=learning_rate,
                l2=l2,
            )
            points.append(SweepPoint(cell, batch_size, learning_rate, l2, config))
        return points


@dataclass
class SweepPoint:
    """One run of a sweep."""

    cell: str
    batch_size: int
    learning_rate: float
    l2: float
    config: RunConfig  # the run's full config

    @property
    def name(self) -> str:
        """Directory name, e.g. `lstm-bs64-lr0.002-l2_0.01` (floats as repr)."""
        return (
            f"{self.cell}-bs{self.batch_size}-lr{self.learning_rate!r}-l2_{self.l2!r}"
        )


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
        training loss; per prompt set, `bleu_*` is seed 000's BLEU
        (`summary["bleu_seed000"]`), `bleu_tokens_*` corpus BLEU on Python
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
        changed = sorted(k for k in settings if saved.get(k) != settings[k])
        if changed:
            raise InputError(
                f"cannot resume {str(out)!r} with different settings "
                f"({', '.join(changed)}); use force (--force) to run it again."
            )

    data = base.data
    loaded = load_corpus(
        corpus,
        text,
        data.pattern,
        data.lowercase,
        tokens=data.tokens,
        max_tokens=data.max_tokens,
    )
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
        row[f"bleu_{name}"] = summary.get("bleu_seed000")
        row[f"bleu_tokens_{name}"] = summary.get("bleu_tokens")
        row[f"syntax_valid_{name}"] = summary.get("syntax_valid_rate")
    return {k: _plain(row[k]) for k in RESULT_COLUMNS}


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def write_results(out_dir: str | os.PathLike, rows: Sequence[dict]) -> None:
    """Writes `results.csv` and `results.md` in `out_dir`, atomically."""
    out = Path(out_dir)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in RESULT_COLUMNS})
    atomic_write_text(out / RESULTS_CSV, buffer.getvalue())
    atomic_write_text(out / RESULTS_MD, markdown_table(rows))


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def read_results(path: str | os.PathLike) -> list[dict]:
    """Reads a sweep's `results.csv` (or the sweep directory); numbers as numbers,
    empty cells as None."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_CSV
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key, value in row.items():
            if value == "":
                row[key] = None
            elif key in ("batch_size", "epochs"):
                row[key] = int(value)
            elif key not in ("point", "cell"):
                row[key] = float(value)
    return rows


# Markdown columns: (header, row key, format).
_MARKDOWN = (
    ("cell", "cell", "{}"),
    ("batch size", "batch_size", "{}"),
    ("learning rate", "learning_rate", "{:g}"),
    ("L2 weight", "l2", "{:g}"),
    ("epochs", "epochs", "{}"),
    ("target chars/s", "chars_per_second", "{:,.0f}"),
    ("val bits/char", "val_bits_per_char", "{:.3f}"),
    ("BLEU train", "bleu_train", "{:.3f}"),
    ("BLEU eval", "bleu_eval", "{:.3f}"),
    ("token BLEU train", "bleu_tokens_train", "{:.3f}"),
    ("token BLEU eval", "bleu_tokens_eval", "{:.3f}"),
    ("syntax-valid train", "syntax_valid_train", "{:.2f}"),
    ("syntax-valid eval", "syntax_valid_eval", "{:.2f}"),
)
_OPTIONAL = {"bleu", "syntax"}  # column families left out when no row has them


def markdown_table(rows: Sequence[dict]) -> str:
    """The rows as a Markdown table; val bits/char is the best epoch's, BLEU is
    seed 000's (character n-grams of the whole function, `bleu_seed000`) and
    token BLEU is corpus BLEU on Python tokens of the bodies. BLEU and
    syntax-valid columns that no row has are left out; other missing values are
    empty cells."""
    columns = [
        (header, key, fmt)
        for header, key, fmt in _MARKDOWN
        if key.split("_")[0] not in _OPTIONAL
        or any(row.get(key) is not None for row in rows)
    ]
    lines = [
        "| " + " | ".join(header for header, _, _ in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [
            "" if row.get(key) is None else fmt.format(row[key])
            for _, key, fmt in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _codegen_arguments(options: dict) -> dict:
    """`run_codegen`'s keyword arguments from the sweep's (JSON) codegen options."""
    from charlstm.infer.sampling import Sampling

    options = dict(options)
    sampling = Sampling(
        temperature=options.pop("temperature", 0.75),
        random_seed=options.pop("random_seed", 0),
    )
    return {**options, "sampling": sampling}
