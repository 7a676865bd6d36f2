"""The `tf.distribute` strategy a run trains under (`TrainingConfig.distribute`),
and which process of a cluster writes the run."""

from __future__ import annotations

import functools
import os

from charlstm.utils.checks import InputError

# Splits the CPU into this many logical devices for `distribute="mirrored"` on a
# machine without GPUs (to try replicas out, and for tests).
CPU_DEVICES_VARIABLE = "CHARLSTM_CPU_DEVICES"


def make_strategy(distribute: str):
    """The `tf.distribute.Strategy` for `TrainingConfig.distribute` (None for
    "none"). Create it before anything else runs on TensorFlow: logical devices
    and multi-worker collectives are configured at start-up. A process makes one
    strategy of each kind and reuses it: a second one's collectives would take
    the first one's instance keys (TensorFlow aborts them).
    """
    if distribute == "none":
        return None
    if distribute not in ("mirrored", "multi-worker"):
        raise InputError(
            "`distribute` must be 'none', 'mirrored' or 'multi-worker'. "
            f"Received: distribute={distribute!r}"
        )
    if distribute == "multi-worker" and not os.environ.get("TF_CONFIG"):
        raise InputError(
            "`distribute='multi-worker'` reads the cluster from the TF_CONFIG "
            "environment variable, which is not set: set it on every worker "
            "(docs/scaling.md)."
        )
    return _strategy(
        distribute, os.environ.get("TF_CONFIG"), os.environ.get(CPU_DEVICES_VARIABLE)
    )


@functools.cache
def _strategy(distribute: str, cluster: str | None, cpu_devices: str | None):
    import tensorflow as tf

    if distribute == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_devices and not tf.config.list_physical_devices("GPU"):
        split_cpu(_device_count(cpu_devices))
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices(
        "CPU"
    )
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def _device_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise InputError(
            f"{CPU_DEVICES_VARIABLE} must be a number of devices >= 1. "
            f"Received: {CPU_DEVICES_VARIABLE}={text!r}"
        )
    return int(text)


def split_cpu(count: int) -> None:
    """Splits the CPU into `count` logical devices, which `distribute="mirrored"`
    then uses as replicas on a machine without GPUs. Call it before TensorFlow
    starts (before any model is built)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    configs = [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    try:
        tf.config.set_logical_device_configuration(cpu, configs)
    except RuntimeError:  # TensorFlow has started
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise InputError(
                f"the CPU can be split into {count} devices only before TensorFlow "
                f"starts; set {CPU_DEVICES_VARIABLE} before training, in a new "
                "process."
            ) from None


def is_chief(strategy) -> bool:
    """Whether this process writes the run: always, but under multi-worker
    training, where only the chief (or worker 0 of a cluster without one) does."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if strategy is None or resolver is None or not resolver.cluster_spec().jobs:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().jobs
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
