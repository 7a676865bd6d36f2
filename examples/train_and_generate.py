"""Train a small stateful LSTM on a text file, then generate at several temperatures.

    python examples/train_and_generate.py [CORPUS ...] --run runs/example --minutes 3

With no CORPUS it uses the embedded default corpus (this Python's standard library).
"""

import argparse

import charlstm


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*")
    parser.add_argument("--run", default="runs/example")
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--seed", default="def ")
    args = parser.parse_args()

    config = charlstm.make_config(epochs=1000, random_seed=0)
    result = charlstm.train(
        args.corpus or None,
        run_dir=args.run,
        config=config,
        time_budget=args.minutes * 60,
        verbose=1,
    )
    best = min(row["val_bits_per_char"] for row in result.history)
    print(f"best validation bits/char: {best:.3f} (run in {args.run})")

    generator = charlstm.load(args.run)
    for temperature in (0.2, 0.5, 0.75, 1.0):
        text = generator.generate(
            args.seed, 300, temperature=temperature, random_seed=0
        )
        print(f"\n--- temperature {temperature} ---\n{text}")


if __name__ == "__main__":
    main()
