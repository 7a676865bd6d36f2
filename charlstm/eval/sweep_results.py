"""A sweep's results: one row per point, as `results.csv` and `results.md`."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

from charlstm.utils.storage import atomic_write_text

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
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"


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
    Perez et al.'s (character n-grams of the whole function, `bleu_perez2021`) and
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
