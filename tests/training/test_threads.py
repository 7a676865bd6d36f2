"""TensorFlow's thread pools (`charlstm.training.threads`): each case in a new
process, since the pools are fixed when TensorFlow starts."""

import json
import os
import subprocess
import sys

import pytest

import charlstm
from charlstm.training.threads import (
    ENVIRONMENT,
    auto_threads,
    configure_threads,
    describe_threads,
)
from charlstm.utils.checks import InputError
from tests.helpers import POOLS, tiny_config

# Prints what configure_threads returned and TensorFlow's pools, before and
# after TensorFlow starts, for the settings given as arguments.
CHILD = """
import json, sys
import tensorflow as tf
from charlstm.training.threads import configure_threads, cpu_count

def pools():
    t = tf.config.threading
    return [t.get_inter_op_parallelism_threads(), t.get_intra_op_parallelism_threads()]

first = configure_threads(sys.argv[1])
before = pools()
tf.matmul(tf.ones((2, 2)), tf.ones((2, 2))).numpy()  # TensorFlow starts
again = configure_threads(sys.argv[2])
print(json.dumps({"first": first, "before": before, "again": again,
                  "after": pools(), "cores": cpu_count()}))
"""


def child(first, again, **environ):
    """Runs CHILD in a new process without a GPU or the pools' variables, but
    `environ`."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", **environ)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, first, again],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_auto_runs_two_operations_at_a_time_on_half_the_cores():
    assert auto_threads(1) is None  # one core: TensorFlow's own pools
    assert auto_threads(2) == (2, 1)
    assert auto_threads(3) == (2, 1)
    assert auto_threads(16) == (2, 8)
    assert describe_threads((2, 1)) == "2 operations at a time, 1 thread each"
    assert describe_threads((2, 8)) == "2 operations at a time, 8 threads each"
    assert describe_threads(None) == "TensorFlow's thread pools"


def test_auto_sets_the_pools_before_tensorflow_starts_and_keeps_them():
    seen = child("auto", "tensorflow")
    wanted = auto_threads(seen["cores"])
    expected = list(wanted) if wanted else None
    assert seen["first"] == expected
    assert seen["before"] == (expected or [0, 0])  # 0: TensorFlow's choice
    # Started with them: they stay, and are reported whatever the setting.
    assert seen["again"] == expected
    assert seen["after"] == seen["before"]


def test_tensorflow_keeps_its_pools_and_auto_cannot_change_them_once_started():
    seen = child("tensorflow", "auto")
    assert seen["first"] is None
    assert seen["before"] == [0, 0]
    # TensorFlow started with its own pools: "auto" leaves them, says so.
    assert seen["again"] is None
    assert seen["after"] == [0, 0]


def test_the_environment_variables_are_the_users_choice():
    seen = child("auto", "auto", TF_NUM_INTRAOP_THREADS="1")
    assert seen["first"] is None and seen["again"] is None
    assert seen["before"] == [0, 0]  # TensorFlow reads the variable itself


def test_an_unknown_setting_is_refused_naming_the_field():
    with pytest.raises(InputError, match="`threads` must be one of"):
        configure_threads("four")
    with pytest.raises(InputError, match="threads='four'"):
        charlstm.TrainingConfig(threads="four")


def test_training_reports_the_pools_it_ran_on(text):
    # The test process's pools were set by tests/helpers.py before TensorFlow
    # started, as a training process sets them.
    result = charlstm.train(text=text, config=tiny_config())
    assert result.devices.endswith(f"; {describe_threads(POOLS)}")
