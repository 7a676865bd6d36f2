"""Runs training jobs in a fresh process, where TensorFlow's devices can still be
configured: `CHARLSTM_CPU_DEVICES` splits the CPU for `distribute="mirrored"`,
and `TF_CONFIG` makes this process a worker of a multi-worker cluster.

    python tests/training/replica_job.py SPEC.json RESULT.json

SPEC holds a list of jobs, run in order: {"kind": "train", "distribute", "epochs",
"run_dir", "resume", "stop_at", "dropout", "weights"} trains on the test corpus
and records the history, the weights (an .npz) and the error if any; {"kind":
"dropout"} runs the replica model with dropout on the same input on every
replica and records each replica's output.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

import charlstm  # noqa: E402
from charlstm.model.build import build_model  # noqa: E402
from charlstm.training.strategy import make_strategy  # noqa: E402
from tests.helpers import make_text, tiny_config  # noqa: E402
from tests.training.test_checkpoint import StopAt  # noqa: E402

TEXT = make_text(2000)


def config(job):
    return tiny_config(
        epochs=job.get("epochs", 3),
        dropout=job.get("dropout", 0.0),
        distribute=job.get("distribute", "none"),
        cell=job.get("cell", "lstm"),  # the LN-LSTM's float32 rounding grows faster
        batch_size=4,
        clipnorm=0.05,  # active: clipping must see the global gradient
        l2=0.001,
    )


def train(job) -> dict:
    stop_at = job.get("stop_at")
    try:
        result = charlstm.train(
            text=TEXT,
            run_dir=job.get("run_dir"),
            config=config(job),
            resume=job.get("resume", False),
            checkpoint_every=1e-9 if stop_at else 60.0,  # after every batch
            callbacks=[StopAt(stop_at)] if stop_at else [],
        )
    except RuntimeError as error:
        return {"error": str(error)}
    if job.get("weights"):
        np.savez(job["weights"], *result.model.get_weights())
    return {"history": result.history, "devices": result.devices, "error": None}


def dropout(job) -> dict:
    """Each replica's output for the same ids and states, dropout on."""
    from charlstm.training.replicas import ReplicaSteps
    from charlstm.training.schedule import compile_model

    strategy = make_strategy("mirrored")  # before anything runs on TensorFlow
    model_config = config({"dropout": 0.5}).model
    model_config.vocabulary_size = 10
    model = build_model(model_config, 4, 5, for_training=True)
    compile_model(model, model_config, 10)
    steps = ReplicaSteps(
        strategy, model, model_config, 4, 5, lambda m: compile_model(m, model_config, 9)
    )
    ids = np.tile(np.arange(5, dtype="int32"), (2, 1))  # (local batch, time)
    zeros = [np.zeros((2, 8), "float32")] * 4

    def replica():
        return steps.model([ids, *zeros], training=True)[0]

    outputs = strategy.experimental_local_results(strategy.run(replica))
    return {"outputs": [np.asarray(o).tolist() for o in outputs]}


def main(spec_path, result_path):
    jobs = json.loads(Path(spec_path).read_text())
    results = [{"train": train, "dropout": dropout}[job["kind"]](job) for job in jobs]
    Path(result_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])
