"""Training: the trainer, its Keras callbacks, the learning-rate schedule and the
run directory it writes.

- `trainer`: `train`, corpus -> fitted model in a run directory.
- `callbacks`: state resets, time budget, progress bar, samples, checkpoints.
- `schedule`: optimizers and the learning-rate schedules.
- `run_dir`: the files of a run directory, its history, new/resume/force.

`run_dir` imports neither TensorFlow nor Keras; the others do.
"""
