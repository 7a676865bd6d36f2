"""LSTM against a small GPT-2 trained on the same corpus for the same CPU time.

    python examples/compare_gpt2.py [CORPUS ...] --budget 600 --out runs/compare \\
        [--held-out FILE ...] [--codegen-source DIR] [--codegen-examples 50]

Trains charlstm's default LSTM (an LN-LSTM since the third round of
docs/defaults.md) and a GPT-2 of nanoGPT's CPU size (4 layers, 4 heads, 128
wide, windows of 64 tokens, a 1,024-token BPE trained on the corpus)
for `--budget` seconds each, one after the other, on the same text and the same
train/validation split, then prints a table: validation bits per character (the
same stream-tail characters for both; and a `--held-out` text through each
backend's evaluate), training and generation characters per second, and, with
`--codegen-source`, the code-generation task of Perez, Ottens and Viswanathan,
"Automatic Code Generation using Pre-Trained Language Models" (2021) (syntax-valid
rate and BLEU). Ratios are against the LSTM measured in the same run. Needs the
`gpt2` extra. With no CORPUS it uses the embedded default corpus. See
docs/gpt2.md.
"""

import argparse
import json
import time
from pathlib import Path

import charlstm
from charlstm.backends.gpt2.backend import (
    GPT2Config,
    evaluate_gpt2,
    load_gpt2,
    train_gpt2,
)
from charlstm.config import TrainingConfig
from charlstm.data.corpus import default_corpus_paths, read_text

UNLIMITED_EPOCHS = 1_000_000


def training_speed(history) -> float:
    """Training characters per second over the run (epochs weighted by time)."""
    seconds = sum(row["seconds"] for row in history)
    chars = sum(row["chars_per_second"] * row["seconds"] for row in history)
    return chars / seconds if seconds else 0.0


def generation_speed(generator, length: int) -> float:
    """Characters per second of one sample of `length` characters (after a
    warm-up call, so compiling is not counted)."""
    generator.generate("def ", 20, random_seed=0)
    start = time.perf_counter()
    generator.generate("def ", length, random_seed=0)
    return length / (time.perf_counter() - start)


def codegen_figures(generator, examples, text, max_length):
    from charlstm.eval.codegen import run_codegen
    from charlstm.infer.sampling import Sampling

    summary = run_codegen(
        generator,
        examples,
        max_length=max_length,
        sampling=Sampling(temperature=0.75, random_seed=0),
        training_text=text,
    ).summary
    return {
        "syntax_valid_rate": summary["syntax_valid_rate"],
        "bleu_perez2021": summary["bleu_perez2021"],
        "bleu_tokens": summary["bleu_tokens"],
    }


def _fmt(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", help="default: the embedded corpus")
    parser.add_argument("--budget", type=float, default=600, help="seconds each")
    parser.add_argument("--out", required=True, help="directory for both runs")
    parser.add_argument("--held-out", nargs="*", default=[], metavar="FILE")
    parser.add_argument("--codegen-source", metavar="DIR")
    parser.add_argument("--codegen-examples", type=int, default=50)
    parser.add_argument("--codegen-length", type=int, default=600)
    parser.add_argument("--generate-length", type=int, default=500)
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace earlier runs")
    args = parser.parse_args()

    out = Path(args.out)
    text = read_text(args.corpus or default_corpus_paths())
    training = TrainingConfig(epochs=UNLIMITED_EPOCHS, random_seed=args.random_seed)
    lstm = charlstm.train(
        text=text,
        run_dir=out / "lstm",
        config=charlstm.make_config(
            epochs=UNLIMITED_EPOCHS, random_seed=args.random_seed
        ),
        time_budget=args.budget,
        force=args.force,
        verbose=1,
    )
    gpt2 = train_gpt2(
        text=text,
        run_dir=out / "gpt2",
        config=GPT2Config(num_layers=4, num_heads=4, hidden_dim=128),
        training=training,
        time_budget=args.budget,
        force=args.force,
        verbose=1,
    )
    generators = {"lstm": charlstm.load(out / "lstm"), "gpt2": load_gpt2(out / "gpt2")}
    held_out = read_text(args.held_out) if args.held_out else None
    examples = None
    if args.codegen_source:
        from charlstm.eval.codegen import extract_functions

        examples = extract_functions(args.codegen_source)[0][: args.codegen_examples]

    rows = {}
    for name, result in (("lstm", lstm), ("gpt2", gpt2)):
        generator = generators[name]
        row = {
            "parameters": result.model.count_params(),
            "epochs": len(result.history),
            "val_bits_per_char": min(r["val_bits_per_char"] for r in result.history),
            "train_chars_per_second": training_speed(result.history),
            "generate_chars_per_second": generation_speed(
                generator, args.generate_length
            ),
        }
        if held_out is not None:
            evaluate = charlstm.evaluate if name == "lstm" else evaluate_gpt2
            scores = evaluate(generator, text=held_out)
            row["held_out_bits_per_char"] = scores["bits_per_char"]
            row["held_out_characters"] = scores["characters"]
        if examples:
            row.update(codegen_figures(generator, examples, text, args.codegen_length))
        rows[name] = row

    columns = list(rows["lstm"])
    print(f"\nbudget {args.budget:g} s each, corpus {len(text):,} characters")
    print("| figure | LSTM | GPT-2 | GPT-2 / LSTM |")
    print("|---|---|---|---|")
    for column in columns:
        a, b = rows["lstm"][column], rows["gpt2"][column]
        ratio = f"{b / a:.2f}" if a else ""
        print(f"| {column} | {_fmt(a)} | {_fmt(b)} | {ratio} |")
    (out / "compare_gpt2.json").write_text(
        json.dumps({"budget": args.budget, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
