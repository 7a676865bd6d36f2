"""TensorFlow's CPU thread pools while training (`TrainingConfig.threads`).

TensorFlow runs independent operations side by side on its inter-op pool and
splits one operation (a matrix product) over its intra-op pool. By default each
pool has a thread per core, so on two cores up to four threads compete for two.
A recurrent training step is a long chain of small operations with some
independence in it: layer 2 at step t beside layer 1 at step t + 1, the
weights' gradients of different layers, the optimizer's updates. "auto" runs two
operations at a time on half the cores each, which on a 2-core machine trains
the default LN-LSTM 1.15x as fast, 2 x LSTM(224) 1.08x, the 512-wide LSTMs
1.00x to 1.02x and the GPT-2 backend 1.03x (docs/scaling.md, measured by
benchmarks/threads.py); "tensorflow" keeps TensorFlow's own pools.

The pools are fixed when TensorFlow starts (its first operation): a process
that already ran TensorFlow keeps the ones it has, and the environment
variables `TF_NUM_INTEROP_THREADS` and `TF_NUM_INTRAOP_THREADS`, where set, are
the user's choice and are kept too. The trainer applies "auto" on one device
only: under `tf.distribute` the replicas of a split CPU run side by side, more
than two operations at a time.
"""

from __future__ import annotations

import os

from charlstm.config import THREADS
from charlstm.utils.checks import InputError

ENVIRONMENT = ("TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS")


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_threads(cores: int) -> tuple[int, int] | None:
    """(inter-op, intra-op) threads of "auto" on `cores` cores: two operations
    at a time on half the cores each; None on one core (TensorFlow's own)."""
    if cores < 2:
        return None
    return 2, cores // 2


def configure_threads(setting: str) -> tuple[int, int] | None:
    """Sets TensorFlow's thread pools for `setting` where it still can.

    Args:
        setting: str. "auto" (two operations at a time on half the cores each,
            where no GPU is visible and the environment sets no pool) or
            "tensorflow" (TensorFlow's own pools).

    Returns:
        The (inter-op, intra-op) threads of the pools TensorFlow runs (or will
        start) with, where they were set: by this call, or by an earlier one
        before TensorFlow started, whatever `setting` is now; None where
        TensorFlow chooses them.
    """
    if setting not in THREADS:
        raise InputError(
            f"`threads` must be one of {THREADS}. Received: threads={setting!r}"
        )
    import tensorflow as tf

    threading = tf.config.threading
    chosen = setting == "tensorflow" or any(os.environ.get(n) for n in ENVIRONMENT)
    wanted = None if chosen else auto_threads(cpu_count())
    if wanted is not None and not tf.config.list_physical_devices("GPU"):
        try:
            threading.set_inter_op_parallelism_threads(wanted[0])
            threading.set_intra_op_parallelism_threads(wanted[1])
        except RuntimeError:  # TensorFlow has started: its pools stay as they are
            pass
    current = (
        threading.get_inter_op_parallelism_threads(),
        threading.get_intra_op_parallelism_threads(),
    )
    return current if all(current) else None


def describe_threads(threads: tuple[int, int] | None) -> str:
    """`configure_threads`'s result in words, for `TrainResult.devices`."""
    if threads is None:
        return "TensorFlow's thread pools"
    inter, intra = threads
    return f"{inter} operations at a time, {intra} thread{'s' * (intra > 1)} each"
