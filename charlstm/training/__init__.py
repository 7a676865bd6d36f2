"""Training: the trainer, its Keras callbacks, the learning-rate schedule and the
run directory it writes.

- `trainer`: `train`, corpus -> fitted model in a run directory.
- `loop`: the stateful training loop, checkpoints on a timer, the batch history.
- `callbacks`: state resets, time budget, progress bar, samples, checkpoints.
- `tensorboard`: `TensorBoard`, training figures and samples for TensorBoard.
- `schedule`: optimizers and the learning-rate schedules.
- `run_dir`: the files of a run directory, its histories, new/resume/force.

`run_dir` imports neither TensorFlow nor Keras; the others do.
"""
