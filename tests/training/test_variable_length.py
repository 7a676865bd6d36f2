"""Training with variable lengths (`DataConfig.variable_length`, AWD-LSTM's
variable truncation): the epochs' batches, the rescaled learning rates, exact
resume inside an epoch, the flags and what is refused."""

import json

import keras
import numpy as np
import pytest

import charlstm
from charlstm.cli import main
from charlstm.config import DataConfig, RunConfig
from charlstm.data.batches import StatefulBatches
from charlstm.training.callbacks import current_learning_rate
from charlstm.training.checkpoint import Checkpoints
from charlstm.training.replicas import KerasSteps
from charlstm.training.run_dir import RunFiles
from charlstm.training.schedule import (
    DecayToZero,
    compile_model,
    scaled_learning_rate,
    warmup_batches,
)
from tests.cli.test_main import TINY, error_line
from tests.helpers import make_text, tiny_config
from tests.training.test_checkpoint import StopAt, assert_same_run

TEXT = make_text(3000)
# Lengths of 5, 10, 15 and 20 around 10 (and what ends an epoch); dropout on.
# The LSTM: resumed mid-epoch, the LN-LSTM's fused stack with variable lengths
# ends within 7.1e-5 of the uninterrupted run, not to the last bit (the default,
# fixed lengths, is exact for both cells: tests/training/test_checkpoint.py).
LSTM = dict(cell="lstm", epochs=3, dropout=0.5, sequence_length=10)
CONFIGS = {"stack": dict(LSTM, fast_path="on"), "keras": dict(LSTM, fast_path="off")}


def variable_config(name="stack", **overrides):
    return tiny_config(**{**CONFIGS[name], "variable_length": True, **overrides})


def layout(result, config):
    """The run's batches, built here as the trainer documents them."""
    data = config.data
    return StatefulBatches(
        result.vocabulary.encode(TEXT),
        data.batch_size,
        data.sequence_length,
        data.validation_split,
        variable_length=True,
        variable_length_std=data.variable_length_std,
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Each config's run with variable lengths, trained without a stop."""
    return {
        name: charlstm.train(
            text=TEXT,
            run_dir=tmp_path_factory.mktemp("whole") / name,
            config=variable_config(name),
        )
        for name in CONFIGS
    }


@pytest.fixture
def spy(monkeypatch):
    """Every training step's batch and the learning rate it trained at."""
    seen = []
    original = KerasSteps.train

    def train(self, x, y):
        seen.append((np.array(x), np.array(y), current_learning_rate(self.model)))
        return original(self, x, y)

    monkeypatch.setattr(KerasSteps, "train", train)
    return seen


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_loss_falls_on_a_model_of_any_length(uninterrupted, name):
    result = uninterrupted[name]
    assert result.model.input_shape == (4, None)
    losses = [row["loss"] for row in result.history]
    val_losses = [row["val_loss"] for row in result.history]
    assert losses[2] < losses[1] < losses[0]
    assert val_losses[2] < val_losses[0]
    saved = RunConfig.load(RunFiles(result.run_dir).config)
    assert saved.data.variable_length is True
    assert saved.data.variable_length_std == 5.0


def test_off_trains_todays_model_of_a_fixed_length():
    result = charlstm.train(text=TEXT, config=tiny_config())
    assert result.model.input_shape == (4, 5)
    assert result.config.data.variable_length is False


def test_every_epoch_trains_its_own_cut_at_rescaled_rates(spy):
    config = variable_config(epochs=2, lr_schedule="cosine")
    result = charlstm.train(text=TEXT, config=config)
    batches = layout(result, config)
    expected = [batches.train_batches(e) for e in range(2)]
    assert len(expected[0]) != len(expected[1])  # two cuts, two batch counts
    assert len(spy) == sum(len(e) for e in expected)
    total = len(spy)
    schedule = DecayToZero(
        config.model.learning_rate, total, warmup_batches(config.model, total)
    )
    step = 0
    for epoch in expected:
        for k in range(len(epoch)):
            x, y, rate = spy[step]
            expected_x, expected_y = epoch[k]
            np.testing.assert_array_equal(x, expected_x)
            np.testing.assert_array_equal(y, expected_y)
            # The schedule's rate (over every batch of the run), times L / T.
            scale = x.shape[1] / config.data.sequence_length
            assert rate == pytest.approx(schedule.rate(step) * scale, rel=1e-6)
            step += 1
    assert {x.shape[1] for x, _, _ in spy} >= {5, 10, 15}
    # After the last batch, the schedule's rate again, unscaled.
    last = schedule.rate(total - 1)
    assert current_learning_rate(result.model) == pytest.approx(last, rel=1e-6)


def test_exponential_decay_is_per_epoch_and_rescaled(spy):
    config = variable_config(epochs=2, lr_schedule="exponential", lr_decay=0.5)
    result = charlstm.train(text=TEXT, config=config)
    steps = [len(layout(result, config).train_batches(e)) for e in range(2)]
    for step, (x, _, rate) in enumerate(spy):
        epoch = int(step >= steps[0])
        scale = x.shape[1] / config.data.sequence_length
        assert rate == pytest.approx(0.01 * 0.5**epoch * scale, rel=1e-6)
    assert [row["learning_rate"] for row in result.history] == pytest.approx(
        [0.01, 0.005], rel=1e-6
    )


def test_scaled_learning_rate_restores_the_rate_exactly():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    config = tiny_config(lr_schedule="exponential").model
    compile_model(model, config, steps_per_epoch=None)  # a plain float
    model.optimizer.learning_rate = 0.0123
    before = current_learning_rate(model)
    with scaled_learning_rate(model, 0.7):
        assert current_learning_rate(model) == pytest.approx(before * 0.7)
    assert current_learning_rate(model) == before
    with pytest.raises(RuntimeError), scaled_learning_rate(model, 1.5):
        raise RuntimeError
    assert current_learning_rate(model) == before


@pytest.mark.parametrize(
    "name, stop", [("stack", 40), ("keras", 40), ("stack", "second epoch")]
)
def test_resume_mid_epoch_equals_the_uninterrupted_run(
    tmp_path, uninterrupted, name, stop
):
    config = variable_config(name)
    whole = uninterrupted[name]
    first = len(layout(whole, config).train_batches(0))
    count = 40 if stop == 40 else first + 17
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="stopped by the test"):
        charlstm.train(
            text=TEXT,
            run_dir=run,
            config=config,
            checkpoint_every=1e-9,  # after every batch
            callbacks=[StopAt(count)],
        )
    progress = Checkpoints(RunFiles(run)).read().progress
    expected = (0, count - 1) if stop == 40 else (1, count - 1 - first)
    assert (progress.epoch, progress.batch) == expected
    resumed = charlstm.train(text=TEXT, run_dir=run, config=config, resume=True)
    assert_same_run(resumed, whole)


def test_the_flags_reach_config_json(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--variable-length, --no-variable-length" in shown
    assert "--variable-length-std STD" in shown
    corpus, run = tmp_path / "corpus.txt", tmp_path / "run"
    corpus.write_text(TEXT)
    args = ["train", str(corpus), "--out", str(run), *TINY]
    assert main([*args, "--variable-length", "--variable-length-std", "3"]) == 0
    data = json.loads((run / "config.json").read_text())["data"]
    assert (data["variable_length"], data["variable_length_std"]) == (True, 3.0)


def test_replicas_are_refused_naming_both_settings(tmp_path, capsys):
    config = variable_config(distribute="mirrored")
    with pytest.raises(ValueError, match="variable_length") as error:
        charlstm.train(text=TEXT, run_dir=tmp_path / "api", config=config)
    assert "distribute='mirrored'" in str(error.value)
    assert not (tmp_path / "api").exists()
    corpus, run = tmp_path / "corpus.txt", tmp_path / "run"
    corpus.write_text(TEXT)
    args = ["train", str(corpus), "--out", str(run), *TINY, "--variable-length"]
    assert main([*args, "--distribute", "multi-worker"]) == 2
    line = error_line(capsys)
    assert "`variable_length`" in line and "distribute='multi-worker'" in line
    assert not run.exists()
    gpt2 = ["train", str(corpus), "--out", str(run), "--backend", "gpt2"]
    assert main([*gpt2, "--variable-length"]) == 2
    assert "--variable-length is an LSTM option" in error_line(capsys)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(variable_length="yes"),
        dict(variable_length_std=-1.0),
        dict(variable_length_std=float("nan")),
        dict(variable_length_std=True),
    ],
)
def test_invalid_settings_name_the_field(overrides):
    (field,) = overrides
    with pytest.raises(ValueError, match=f"`{field}`"):
        DataConfig(**overrides)


def test_a_config_json_without_the_fields_trains_fixed_lengths():
    saved = RunConfig().to_dict()
    del saved["data"]["variable_length"], saved["data"]["variable_length_std"]
    data = RunConfig.from_dict(saved).data
    assert (data.variable_length, data.variable_length_std) == (False, 5.0)
