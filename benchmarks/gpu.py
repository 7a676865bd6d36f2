"""Training chars/s on a GPU: Keras's cuDNN layers against charlstm's fused stack.

`fast_path="auto"` (the default) trains with Keras's own layers where a GPU is
visible, which TensorFlow runs with cuDNN, and with charlstm's CPU path (the
fused `LSTMStack`) on CPUs. This measures that choice where it matters: the
default model and the 3 x 512 preset (Frank, "Generating Python with Character
Level LSTMs"), each trained on the same GPU as `plain` (Keras's layers: cuDNN)
and `fast` (the fused stack), in interleaved blocks, with the matrix-product
bound measured in the same run (`train_fast_path.py`, whose measurement this
reuses).

Run by hand, alone on a machine with a GPU:

    python benchmarks/gpu.py --repeats 5 --batches 20

Without a GPU it prints why it skipped and exits 0.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="default,3x512", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="blocks per variant")
    parser.add_argument("--batches", type=int, default=20, help="batches per block")
    args = parser.parse_args()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print(
            "skipped: TensorFlow sees no GPU (install tensorflow[and-cuda] on a "
            "machine with an NVIDIA GPU, or check CUDA_VISIBLE_DEVICES)"
        )
        return 0
    import train_fast_path as bench  # noqa: E402 (this folder)

    details = tf.config.experimental.get_device_details(gpus[0])
    print(
        f"GPU: {details.get('device_name', gpus[0].name)}, TensorFlow "
        f"{tf.__version__}\n"
    )
    print(
        "| model | variant | train chars/s (median) | ratio to plain (median) "
        "| ratio range | CPU-time ratio | of matmul bound | compile s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    notes = []
    for name in args.models.split(","):
        rows, note = bench.measure(name, ["plain", "fast"], args.repeats, args.batches)
        print("\n".join(rows), flush=True)
        notes.append(note)
    print(
        f"\nplain: Keras's layers (cuDNN); fast: charlstm's fused stack. "
        f"{args.repeats} interleaved blocks of {args.batches} batches; random ids."
    )
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
