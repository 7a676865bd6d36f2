"""Which model defaults give the lowest validation bits/char in a few CPU minutes?

Trains each candidate on the same corpus and split for the same wall-clock budget
(`charlstm.train(..., time_budget=...)`), then reads its validation bits/char
from the run's history. Run by hand, alone on the machine:

    python benchmarks/defaults.py --budget 180 > docs/defaults_results.md

Prints a Markdown table, one row per candidate. The candidates pin the settings
this three-minute search held fixed (RMSprop, decay 0.97 per epoch); the
ten-minute search on held-out Python, which set today's defaults, is
`benchmarks/quality.py --set ...` (docs/defaults.md).
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import charlstm  # noqa: E402


def _lstm(layers, units, batch, seq=100, lr=0.002, encoding="embedding", dropout=0.0):
    return dict(
        num_layers=layers,
        units=units,
        batch_size=batch,
        sequence_length=seq,
        learning_rate=lr,
        input_encoding=encoding,
        dropout=dropout,
        # This search's fixed settings (the defaults before the ten-minute search).
        cell="lstm",
        optimizer="rmsprop",
        lr_schedule="exponential",
        lr_decay=0.97,
        embedding_dim=64,
    )


CANDIDATES = {
    # The char-RNN baseline of Perez, Ottens and Viswanathan, "Automatic Code
    # Generation using Pre-Trained Language Models" (2021), exactly.
    (
        "perez2021 preset (Perez et al., 2021): 2x128 one-hot, seq 50, batch 50, "
        "lr 2e-3"
    ): dict(preset_name="perez2021"),
    # The ten-minute search's plain Keras recipe: 2 x LSTM(256), one-hot,
    # RMSprop 2e-3, clip 5.
    "2x256 one-hot, seq 100, batch 64, lr 2e-3": _lstm(2, 256, 64, encoding="one_hot"),
    "2x128 one-hot, seq 100, batch 64, lr 4e-3": _lstm(
        2, 128, 64, encoding="one_hot", lr=0.004
    ),
    "2x128 embedding, seq 100, batch 64, lr 4e-3": _lstm(2, 128, 64, lr=0.004),
    "2x128 embedding, seq 50, batch 64, lr 4e-3": _lstm(2, 128, 64, seq=50, lr=0.004),
    "2x128 embedding, seq 100, batch 32, lr 4e-3": _lstm(2, 128, 32, lr=0.004),
    "3x128 embedding, seq 100, batch 64, lr 4e-3": _lstm(3, 128, 64, lr=0.004),
    "1x256 embedding, seq 100, batch 64, lr 4e-3": _lstm(1, 256, 64, lr=0.004),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=180, help="seconds per candidate"
    )
    parser.add_argument("--only", help="substring of the candidate names to run")
    args = parser.parse_args()
    print("| candidate | val bits/char | train chars/s | epochs | params |")
    print("|---|---|---|---|---|")
    for name, overrides in CANDIDATES.items():
        if args.only and args.only not in name:
            continue
        config = charlstm.make_config(**{"epochs": 1000, "random_seed": 0, **overrides})
        result = charlstm.train(config=config, time_budget=args.budget)
        last = result.history[-1]
        # Mean training rate, each epoch weighted by its length (a budget-stopped
        # last epoch can be short).
        seconds = sum(r["seconds"] for r in result.history)
        rate = (
            sum(r["chars_per_second"] * r["seconds"] for r in result.history) / seconds
        )
        print(
            f"| {name} | {last['val_bits_per_char']:.3f} "
            f"| {rate:,.0f} "
            f"| {len(result.history)} | {result.model.count_params():,} |",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
