"""Peak memory of preparing a corpus and training on it: charlstm versus keras-io.

The keras-io recipe (and section 2.1 of Frank, "Generating Python with Character
Level LSTMs", 2022) builds every 40-character window of the corpus as a one-hot
array before training. charlstm keeps the corpus as one byte per character and
slices each batch when asked for. Each side runs in its own subprocess: read the
corpus, build its training data, train a few batches. The script reports each
child's own peak resident set size (ru_maxrss). A baseline child only imports
TensorFlow and Keras, in the same run.

    python benchmarks/memory.py [--max-chars N] > docs/memory_results.md

With `--corpus-mb N`, it measures `charlstm.train` itself on a corpus of N MB
(the default corpus repeated into one file) for `--seconds` of training, with
checkpoints, validation and the run directory, against the same import-only
baseline:

    python benchmarks/memory.py --corpus-mb 100 --seconds 20
"""

import argparse
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PRELUDE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
import charlstm
from charlstm.data.corpus import load_corpus
MAX = int(sys.argv[1])
"""

CHILDREN = {
    "import TensorFlow + Keras only": PRELUDE,
    "charlstm: ids + StatefulBatches, 20 training batches": PRELUDE
    + """
corpus = load_corpus()
ids = corpus.ids[:MAX] if MAX else corpus.ids
config = charlstm.make_config(vocabulary_size=corpus.vocabulary.size)
B, T = config.data.batch_size, config.data.sequence_length
batches = charlstm.StatefulBatches(ids, B, T)
model = charlstm.build_model(config.model, B, T, for_training=True)
from charlstm.training.schedule import compile_model
compile_model(model, config.model, len(batches.train))
for k in range(20):
    model.train_on_batch(*batches.train[k])
""",
    "keras-io: one-hot windows (40, step 3), 20 training batches": PRELUDE
    + """
corpus = load_corpus()
ids = corpus.ids[:MAX] if MAX else corpus.ids
V, T, STEP = corpus.vocabulary.size, 40, 3
starts = np.arange(0, len(ids) - T, STEP)
x = np.zeros((len(starts), T, V), dtype=bool)  # as in the keras-io example
y = np.zeros((len(starts), V), dtype=bool)
for i, s in enumerate(starts):
    x[i, np.arange(T), ids[s : s + T]] = 1
    y[i, ids[s + T]] = 1
model = keras.Sequential([keras.Input((T, V)), keras.layers.LSTM(128),
                          keras.layers.Dense(V, activation="softmax")])
model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy")
model.fit(x, y, batch_size=128, epochs=1, steps_per_epoch=20, verbose=0)
""",
}


REPORT = """
import resource
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_mb(code: str, max_chars: int) -> float:
    """Runs `code` in a fresh interpreter; returns the peak RSS it reports, in MB."""
    out = subprocess.run(
        [sys.executable, "-c", code + REPORT, str(max_chars)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


TRAIN = """
import sys, tempfile
import charlstm
with tempfile.TemporaryDirectory() as run:
    result = charlstm.train(sys.argv[2], run_dir=run, time_budget=float(sys.argv[3]),
                            checkpoint_every=5.0)
print(result.stats.characters, file=sys.stderr)
"""


def train_peak(megabytes: int, seconds: float) -> None:
    """`charlstm.train` on an N MB corpus, against the import-only baseline."""
    import tempfile

    from charlstm.data.corpus import default_corpus_paths

    body = b"".join(p.read_bytes() for p in default_corpus_paths())
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.py")
        target = megabytes * 1_000_000
        with open(corpus, "wb") as f:
            for _ in range(target // len(body) + 1):
                f.write(body)
            f.truncate(target)
        rows = [
            ("import TensorFlow + Keras only", PRELUDE, []),
            (
                f"`charlstm.train` on {megabytes} MB for {seconds:g} s of training",
                TRAIN,
                [corpus, str(seconds)],
            ),
        ]
        print(f"Corpus: the default corpus repeated to {target:,} bytes.\n")
        print("| process | peak RSS (MB) |")
        print("|---|---|")
        for name, code, extra in rows:
            out = subprocess.run(
                [sys.executable, "-c", code + REPORT, "0", *extra],
                check=True,
                capture_output=True,
                text=True,
            )
            rss = int(out.stdout.split()[-1]) / 1024
            print(f"| {name} | {rss:,.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-chars", type=int, default=0, help="truncate the corpus (0: all)"
    )
    parser.add_argument(
        "--corpus-mb", type=int, help="measure charlstm.train on N MB instead"
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="training time (--corpus-mb)"
    )
    args = parser.parse_args()
    if args.corpus_mb:
        train_peak(args.corpus_mb, args.seconds)
        return
    from charlstm.data.corpus import load_corpus

    size = len(load_corpus().ids) if not args.max_chars else args.max_chars
    print(f"Corpus: the embedded default corpus, {size:,} characters.\n")
    print("| process | peak RSS (MB) | ratio to the import-only baseline |")
    print("|---|---|---|")
    baseline = None
    for name, code in CHILDREN.items():
        rss = peak_rss_mb(code, args.max_chars)
        baseline = baseline or rss
        print(f"| {name} | {rss:,.0f} | {rss / baseline:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
