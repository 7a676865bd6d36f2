import keras
import numpy as np
import pytest

import charlstm
from charlstm.model.build import state_variables
from charlstm.training.callbacks import SampleText
from charlstm.training.run_dir import read_history, write_history
from charlstm.training.schedule import CosineLearningRate, DecayToZero
from tests.helpers import tiny_config


def _first_layer_states(model):  # (h, c) of the bottom LSTM
    return [np.asarray(s).copy() for s in state_variables(model)[:2]]


def _state_norm(model):
    return float(sum(np.abs(s).sum() for s in _first_layer_states(model)))


class StateSpy(keras.callbacks.Callback):
    """Records the first layer's state at each epoch's first batch and at validation."""

    def __init__(self):
        super().__init__()
        self.at_epoch_start, self.at_validation, self.after_training = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.at_epoch_start.append(_state_norm(self.model))

    def on_train_batch_end(self, batch, logs=None):
        self.last_train_state = _first_layer_states(self.model)

    def on_test_begin(self, logs=None):
        states = _first_layer_states(self.model)
        self.at_validation.append(
            all(
                np.array_equal(a, b)
                for a, b in zip(states, self.last_train_state, strict=True)
            )
        )

    # Frank (2022) named its reset hook like this; Keras never calls it.
    def on_epoch_start(self, epoch, logs=None):  # pragma: no cover - must not run
        raise AssertionError("Keras called on_epoch_start")


@pytest.mark.parametrize("fast_path", [False, True])  # Keras layers, LSTMStack
def test_states_reset_at_every_epoch_and_validation_continues_them(text, fast_path):
    spy = StateSpy()
    config = tiny_config(epochs=3, fast_path=fast_path)
    charlstm.train(text=text, config=config, callbacks=[spy])
    # Every epoch starts from zero state, although the previous epoch left it non-zero.
    assert spy.at_epoch_start == [0.0, 0.0, 0.0]
    # Validation starts from the state training left, not from a reset.
    assert spy.at_validation == [True, True, True]
    assert _state_norm(spy.model) > 0


def test_history_csv_round_trip(tmp_path):
    rows = [
        {
            "epoch": 1,
            "loss": 2.5,
            "val_loss": 2.25,
            "val_bits_per_char": 3.2,
            "seconds": 1.5,
            "chars_per_second": 1000.0,
            "learning_rate": 0.002,
            "stopped": "",
        }
    ]
    write_history(tmp_path / "h.csv", rows)
    assert read_history(tmp_path / "h.csv") == rows
    assert read_history(tmp_path / "missing.csv") == []


def test_sample_text_writes_one_sample_per_temperature(text):
    written = []
    sampler = SampleText(
        seed="abc", length=20, temperatures=(0.0, 1.0), write=written.append
    )
    charlstm.train(text=text, config=tiny_config(epochs=2), callbacks=[sampler])
    assert len(written) == 4
    assert "epoch 2, temperature 1.0" in written[-1]
    body = written[0].split("\n", 1)[1]
    assert body.startswith("abc") and len(body) == 23


def test_cosine_rate_warms_up_linearly_then_falls_to_zero():
    schedule = DecayToZero(0.01, total_steps=110, warmup_steps=10)
    assert schedule.rate(0) == pytest.approx(0.001)
    assert schedule.rate(9) == pytest.approx(0.01)
    assert schedule.rate(10) == pytest.approx(0.01)
    assert schedule.rate(60) == pytest.approx(0.005)  # half-way through the cosine
    assert schedule.rate(110) == pytest.approx(0.0, abs=1e-12)
    rates = [schedule.rate(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))


def test_cosine_rate_follows_the_time_budget_when_it_ends_first():
    schedule = DecayToZero(0.01, total_steps=10**9)
    assert schedule.rate(5, time_fraction=0.5) == pytest.approx(0.005)
    assert schedule.rate(5, time_fraction=1.0) == pytest.approx(0.0, abs=1e-12)
    # Steps still count when the budget is far from spent.
    assert DecayToZero(0.01, 10).rate(5, 0.1) == pytest.approx(0.005)


def test_linear_rate_warms_up_then_falls_in_a_straight_line():
    schedule = DecayToZero(0.01, total_steps=110, warmup_steps=10, shape="linear")
    assert schedule.rate(9) == pytest.approx(0.01)
    assert schedule.rate(35) == pytest.approx(0.0075)  # a quarter of the way down
    assert schedule.rate(60) == pytest.approx(0.005)
    assert schedule.rate(110) == pytest.approx(0.0, abs=1e-12)
    budgeted = DecayToZero(0.01, total_steps=10**9, shape="linear")
    assert budgeted.rate(5, time_fraction=0.8) == pytest.approx(0.002)


def test_decay_to_zero_refuses_an_unknown_shape():
    with pytest.raises(ValueError, match="`shape` must be 'cosine' or 'linear'"):
        DecayToZero(0.01, 10, shape="step")


def test_cosine_learning_rate_is_the_old_name_of_decay_to_zero():
    assert CosineLearningRate is DecayToZero


def _final_rate(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def test_cosine_schedule_in_training_reaches_near_zero_on_the_last_batch(text):
    config = tiny_config(epochs=2, lr_schedule="cosine", warmup_steps=3)
    result = charlstm.train(text=text, config=config)
    steps = int(keras.ops.convert_to_numpy(result.model.optimizer.iterations))
    expected = DecayToZero(0.01, steps, 3).rate(steps - 1)
    assert _final_rate(result.model) == pytest.approx(expected, rel=1e-5)
    assert expected < 0.01 * 1e-3
    # The history records the rate of each epoch's first batch.
    first, second = (row["learning_rate"] for row in result.history)
    schedule = DecayToZero(0.01, steps, 3)
    assert first == pytest.approx(schedule.rate(0), rel=1e-6)  # warming up
    assert second == pytest.approx(schedule.rate(steps // 2), rel=1e-6)


def test_default_schedule_warms_up_over_a_tenth_of_a_short_run(text):
    config = tiny_config(epochs=2)  # cosine, automatic warm-up
    rates = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: rates.append(_final_rate(spy.model))
    )
    result = charlstm.train(text=text, config=config, callbacks=[spy])
    steps = len(rates)
    warmup = steps // 10
    assert warmup >= 2
    expected = [DecayToZero(0.01, steps, warmup).rate(s) for s in range(steps)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    assert rates[0] == pytest.approx(0.01 / warmup)
    assert result.config.model.warmup_steps is None


def test_linear_schedule_in_training_ends_on_the_linear_rate(text):
    config = tiny_config(epochs=2, lr_schedule="linear", warmup_steps=0)
    result = charlstm.train(text=text, config=config)
    steps = int(keras.ops.convert_to_numpy(result.model.optimizer.iterations))
    expected = DecayToZero(0.01, steps, shape="linear").rate(steps - 1)
    assert _final_rate(result.model) == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(0.01 / steps)


def test_cosine_schedule_resumes_where_it_stopped(tmp_path, text):
    config = tiny_config(epochs=2, lr_schedule="cosine")
    straight = charlstm.train(text=text, config=config)
    run = tmp_path / "run"
    first = tiny_config(epochs=1, lr_schedule="cosine")
    charlstm.train(text=text, run_dir=run, config=first)
    resumed = charlstm.train(run_dir=run, text=text, config=config, resume=True)
    assert _final_rate(resumed.model) == pytest.approx(_final_rate(straight.model))
