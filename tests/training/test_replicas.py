"""Training on the replicas of a tf.distribute strategy: the same updates as one
device at the same global batch, each replica's states its own streams', runs
that move between replica counts, and multi-worker training where the chief
alone writes.

Replicas need TensorFlow's devices configured before it starts, so those runs
are in fresh processes (`replica_job.py`); the one-device references run here,
through the same job code.
"""

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from charlstm.training.checkpoint import Checkpoints
from charlstm.training.replicas import ReplicaSteps
from charlstm.training.run_dir import RunFiles
from charlstm.training.strategy import CPU_DEVICES_VARIABLE, is_chief, make_strategy
from charlstm.utils.checks import InputError
from tests.training import replica_job

JOB = Path(replica_job.__file__)


def run_jobs(tmp_path, jobs, env, name="jobs"):
    """Runs `jobs` in a fresh process with `env` added; returns their results."""
    spec, result = tmp_path / f"{name}.json", tmp_path / f"{name}-result.json"
    spec.write_text(json.dumps(jobs))
    process = subprocess.run(
        [sys.executable, str(JOB), str(spec), str(result)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    return json.loads(result.read_text())


def weights(path):
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def assert_same_weights(ours, theirs, tolerance=1e-4):
    for a, b in zip(weights(ours), weights(theirs), strict=True):
        assert np.abs(a - b).max() <= tolerance


def checkpoint_states(run):
    """The RNN states of a run's committed checkpoint, and where it is."""
    files = RunFiles(run)
    manifest = Checkpoints(files).read()
    with np.load(files.root / manifest.arrays) as data:
        states = [data[k] for k in sorted(data.files) if k.startswith("state_")]
    return states, (manifest.progress.epoch, manifest.progress.batch)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    """The uninterrupted one-device run: its result and weights."""
    path = tmp_path_factory.mktemp("one") / "weights.npz"
    result = replica_job.train({"epochs": 3, "weights": str(path)})
    return result, path


def test_two_mirrored_replicas_train_as_one_device(tmp_path, one_device):
    reference, reference_weights = one_device
    job = {"kind": "train", "distribute": "mirrored", "epochs": 3}
    job["weights"] = str(tmp_path / "mirrored.npz")
    (result,) = run_jobs(tmp_path, [job], {CPU_DEVICES_VARIABLE: "2"})
    assert "2 replica(s) (mirrored)" in result["devices"]
    # Replicas of a split CPU run side by side: not two operations at a time.
    assert result["devices"].endswith("; TensorFlow's thread pools")
    assert len(result["history"]) == len(reference["history"]) == 3
    for ours, theirs in zip(result["history"], reference["history"], strict=True):
        assert abs(ours["loss"] - theirs["loss"]) <= 1e-4
        assert abs(ours["val_loss"] - theirs["val_loss"]) <= 1e-4
    assert_same_weights(job["weights"], reference_weights)


def test_replica_states_and_resume_across_replica_counts(tmp_path, one_device):
    """Replica r's states are those of streams r*b..: a checkpoint written on 2
    replicas holds one device's states for every stream (shared or broadcast
    states would not); it resumes on 1 device, and one device's on 2, to the
    uninterrupted run."""
    _, reference_weights = one_device
    single, mirrored = tmp_path / "single", tmp_path / "mirrored"
    stopped = replica_job.train({"run_dir": str(single), "stop_at": 7})
    assert stopped["error"] == "stopped by the test"
    single_states, where = checkpoint_states(single)
    assert where == (0, 6)
    jobs = [
        {"kind": "train", "distribute": "mirrored", "run_dir": str(mirrored)},
        {"kind": "train", "distribute": "mirrored", "run_dir": str(single)},
    ]
    jobs[0]["stop_at"] = 7
    jobs[1].update(resume=True, weights=str(tmp_path / "1to2.npz"))
    crashed, one_to_two = run_jobs(tmp_path, jobs, {CPU_DEVICES_VARIABLE: "2"})
    assert crashed["error"] == "stopped by the test"
    mirrored_states, where = checkpoint_states(mirrored)
    assert where == (0, 6)
    assert len(mirrored_states) == len(single_states) == 4  # (h, c) x 2 layers
    for ours, theirs in zip(mirrored_states, single_states, strict=True):
        assert ours.shape == (4, 8)  # every stream, in stream order
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # 2 replicas -> 1 device, and 1 device -> 2 replicas.
    assert "2 replica(s)" in one_to_two["devices"]
    assert_same_weights(jobs[1]["weights"], reference_weights)
    two_to_one = replica_job.train(
        {"run_dir": str(mirrored), "resume": True, "weights": str(tmp_path / "2to1")}
    )
    assert "replica" not in two_to_one["devices"]
    assert_same_weights(tmp_path / "2to1.npz", reference_weights)


def test_replicas_draw_different_dropout_masks(tmp_path):
    (result,) = run_jobs(tmp_path, [{"kind": "dropout"}], {CPU_DEVICES_VARIABLE: "2"})
    first, second = (np.array(o) for o in result["outputs"])  # same ids, states
    assert first.shape == second.shape == (2, 5, 10)
    # With the same masks the outputs would be equal to the last bit.
    assert np.abs(first - second).max() > 1e-6


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_as_one_process_and_only_the_chief_writes(
    tmp_path, one_device
):
    _, reference_weights = one_device
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        job = {"kind": "train", "distribute": "multi-worker", "epochs": 3}
        job.update(
            run_dir=str(tmp_path / f"run{index}"),
            weights=str(tmp_path / f"worker{index}.npz"),
        )
        spec = tmp_path / f"worker{index}.json"
        spec.write_text(json.dumps([job]))
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config)}
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        command = [sys.executable, str(JOB), str(spec), str(tmp_path / f"r{index}")]
        workers.append(
            subprocess.Popen(
                command, env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path
            )
        )
    try:  # every worker to its end; on a timeout none is left running
        errors = [worker.communicate(timeout=300)[1] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, stderr in zip(workers, errors, strict=True):
        assert worker.returncode == 0, stderr[-4000:]
    for index in range(2):
        assert_same_weights(tmp_path / f"worker{index}.npz", reference_weights)
    results = [json.loads((tmp_path / f"r{i}").read_text())[0] for i in range(2)]
    assert "2 replica(s) (multi-worker)" in results[0]["devices"]
    for ours, theirs in zip(*(r["history"] for r in results), strict=True):
        assert (ours["loss"], ours["val_loss"]) == (theirs["loss"], theirs["val_loss"])
    # Worker 0 is the chief: its run directory is complete; worker 1 wrote none.
    chief = RunFiles(tmp_path / "run0")
    assert chief.model.is_file() and chief.history.is_file()
    assert Checkpoints(chief).read().progress.epoch == 3
    assert not (tmp_path / "run1").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("run")) == [
        "run0"
    ]


def test_the_global_batch_must_split_evenly_over_the_replicas():
    strategy = types.SimpleNamespace(num_replicas_in_sync=3)
    with pytest.raises(InputError, match=r"`batch_size` must be a multiple .*\(3\)"):
        ReplicaSteps(strategy, None, None, 4, 5, None)


def test_strategy_settings_are_checked(monkeypatch):
    assert make_strategy("none") is None
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InputError, match="TF_CONFIG"):
        make_strategy("multi-worker")
    with pytest.raises(InputError, match="distribute"):
        make_strategy("tpu")
    monkeypatch.setenv(CPU_DEVICES_VARIABLE, "two")
    with pytest.raises(InputError, match=CPU_DEVICES_VARIABLE):
        make_strategy("mirrored")


def _resolver(task_type, task_id, jobs):
    spec = types.SimpleNamespace(jobs=jobs)
    return types.SimpleNamespace(
        task_type=task_type, task_id=task_id, cluster_spec=lambda: spec
    )


@pytest.mark.parametrize(
    "task, jobs, chief",
    [
        (("worker", 0), ["worker"], True),
        (("worker", 1), ["worker"], False),
        (("chief", 0), ["chief", "worker"], True),
        (("worker", 0), ["chief", "worker"], False),
        ((None, None), [], True),  # one machine
    ],
)
def test_the_chief_writes_the_run(task, jobs, chief):
    assert is_chief(None)
    strategy = types.SimpleNamespace(cluster_resolver=_resolver(*task, jobs))
    assert is_chief(strategy) is chief
