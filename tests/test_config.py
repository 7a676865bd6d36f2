"""Tests for charlstm.config: presets, overrides, validation, JSON round trip."""

import dataclasses
import json

import pytest

from charlstm.config import (
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainingConfig,
    make_config,
)
from charlstm.presets import preset
from charlstm.training.schedule import warmup_batches


def test_preset_perez2021():
    config = preset("perez2021")
    model, data = config.model, config.data
    assert model.cell == "lstm"
    assert model.units == 128
    assert model.num_layers == 2
    assert data.sequence_length == 50
    assert data.batch_size == 50
    assert model.learning_rate == 0.002
    assert model.lr_decay == 0.97
    assert model.clipnorm == 5.0
    assert model.dropout == 0.0
    assert model.input_encoding == "one_hot"
    # The paper's optimizer and schedule, whatever the defaults are.
    assert model.optimizer == "rmsprop" and model.lr_schedule == "exponential"


def test_preset_frank2022():
    config = preset("frank2022")
    model, data = config.model, config.data
    assert model.cell == "lstm"
    assert model.units == 512
    assert model.num_layers == 3
    assert model.dropout == 0.5
    assert data.sequence_length == 100
    assert data.batch_size == 64
    assert model.learning_rate == 0.0015
    assert model.clipnorm == 5.0
    assert model.lr_decay == 1.0  # constant learning rate
    assert model.optimizer == "rmsprop" and model.lr_schedule == "exponential"
    assert model.input_encoding == "one_hot"
    assert data.lowercase is True  # Frank lowercased both of his corpora


def test_old_preset_names_are_aliases():
    assert preset("seed000") == preset("perez2021")
    assert preset("seed002") == preset("frank2022")
    with pytest.raises(ValueError, match="perez2021"):
        preset("seed001")


def test_presets_are_independent_copies():
    a = preset("frank2022")
    a.model.units = 1
    a.data.sources.append("x")
    assert preset("frank2022").model.units == 512
    assert preset("frank2022").data.sources == []


@pytest.mark.parametrize("name", ["seed001", "SEED000", "", "default"])
def test_unknown_preset_raises(name):
    with pytest.raises(ValueError, match="preset") as info:
        preset(name)
    assert "perez2021" in str(info.value)
    if name:
        with pytest.raises(ValueError, match="preset"):
            make_config(name)


def test_make_config_routes_overrides_to_their_section():
    config = make_config(
        "perez2021", units=64, batch_size=8, epochs=3, random_seed=1, pattern="*.py"
    )
    assert config.model.units == 64
    assert config.data.batch_size == 8
    assert config.data.pattern == "*.py"
    assert config.training.epochs == 3
    assert config.training.random_seed == 1
    # Everything else still comes from the preset.
    assert config.model.num_layers == 2
    assert config.data.sequence_length == 50
    assert config.model.learning_rate == 0.002


def test_make_config_without_preset_uses_defaults_or_base():
    assert make_config() == RunConfig()
    assert make_config(dropout=0.2).model == ModelConfig(dropout=0.2)
    base = make_config("frank2022", epochs=7)
    derived = make_config(base=base, units=32)
    assert derived.model.units == 32
    assert derived.model.num_layers == 3
    assert derived.training.epochs == 7
    assert base.model.units == 512  # base is not modified


def test_make_config_ignores_none_overrides():
    config = make_config("frank2022", units=None, batch_size=None, random_seed=None)
    assert config == preset("frank2022")


@pytest.mark.parametrize("field", ["unit", "hidden_dim", "version", "lr"])
def test_make_config_unknown_field_raises(field):
    with pytest.raises(ValueError, match=field):
        make_config("perez2021", **{field: 1})


@pytest.mark.parametrize(
    "section, field, value",
    [
        (ModelConfig, "cell", "transformer"),
        (ModelConfig, "cell", "LSTM"),
        (ModelConfig, "input_encoding", "bag"),
        (ModelConfig, "vocabulary_size", -1),
        (ModelConfig, "num_layers", 0),
        (ModelConfig, "units", 0),
        (ModelConfig, "embedding_dim", 0),
        (ModelConfig, "dropout", -0.1),
        (ModelConfig, "dropout", 1.0),
        (ModelConfig, "dropout", float("nan")),
        (ModelConfig, "learning_rate", 0.0),
        (ModelConfig, "learning_rate", float("inf")),
        (ModelConfig, "learning_rate", float("nan")),
        (ModelConfig, "clipnorm", 0.0),
        (ModelConfig, "clipnorm", -5.0),
        (ModelConfig, "lr_decay", 0.0),
        (ModelConfig, "lr_decay", 1.01),
        (ModelConfig, "l2", -1e-4),
        (ModelConfig, "optimizer", "sgd"),
        (ModelConfig, "optimizer", "Adam"),
        (ModelConfig, "lr_schedule", "step"),
        (ModelConfig, "warmup_steps", -1),
        (ModelConfig, "warmup_steps", 1.5),
        (ModelConfig, "weight_decay", -0.1),
        (ModelConfig, "weight_decay", float("nan")),
        (DataConfig, "batch_size", 0),
        (DataConfig, "sequence_length", 0),
        (DataConfig, "validation_split", 0.0),
        (DataConfig, "validation_split", 0.5),
        (DataConfig, "validation_split", float("nan")),
        (TrainingConfig, "epochs", -1),
    ],
)
def test_invalid_field_value_raises_naming_the_field(section, field, value):
    with pytest.raises(ValueError, match=f"`{field}`") as info:
        section(**{field: value})
    assert f"{field}={value!r}" in str(info.value)
    # The same check applies to overrides.
    with pytest.raises(ValueError, match=f"`{field}`"):
        make_config("perez2021", **{field: value})


def test_warmup_needs_a_schedule_down_to_zero():
    with pytest.raises(ValueError, match="`warmup_steps` needs lr_schedule='cosine'"):
        ModelConfig(warmup_steps=10, lr_schedule="exponential")
    assert ModelConfig(warmup_steps=10, lr_schedule="cosine").warmup_steps == 10
    assert ModelConfig(warmup_steps=10, lr_schedule="linear").warmup_steps == 10


def test_automatic_warmup_is_200_batches_at_most_a_tenth_of_the_run():
    auto = ModelConfig()
    assert auto.warmup_steps is None
    assert warmup_batches(auto, total_steps=10**6) == 200
    assert warmup_batches(auto, total_steps=500) == 50
    assert warmup_batches(ModelConfig(lr_schedule="linear"), 10**6) == 200
    # No warm-up with per-epoch decay, and a set value is kept.
    assert warmup_batches(ModelConfig(lr_schedule="exponential"), 10**6) == 0
    assert warmup_batches(ModelConfig(warmup_steps=7), 10**6) == 7
    assert warmup_batches(ModelConfig(warmup_steps=0), 10**6) == 0
    # Switching an automatic config to "exponential" stays valid.
    assert make_config(lr_schedule="exponential").model.warmup_steps is None


def test_valid_edge_values_are_accepted():
    ModelConfig(dropout=0.0, lr_decay=1.0, clipnorm=None, l2=0.0, cell="gru")
    ModelConfig(cell="simple_rnn", input_encoding="one_hot")
    DataConfig(validation_split=0.49, batch_size=1, sequence_length=1)
    TrainingConfig(epochs=0)


def test_run_config_json_round_trip(tmp_path):
    config = make_config(
        "frank2022",
        sources=["corpus/", "extra.txt"],
        lowercase=True,
        epochs=4,
        random_seed=123,
        vocabulary_size=77,
    )
    # make_config ignores None overrides, so clipnorm=None is set directly.
    config.model = dataclasses.replace(config.model, clipnorm=None)
    config.version = "9.9.9"
    path = tmp_path / "config.json"
    config.save(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["model"]["units"] == 512
    assert saved["model"]["clipnorm"] is None
    assert saved["data"]["sources"] == ["corpus/", "extra.txt"]
    assert saved["version"] == "9.9.9"
    loaded = RunConfig.load(path)
    assert loaded == config
    assert dataclasses.asdict(loaded) == dataclasses.asdict(config)
    assert list(tmp_path.iterdir()) == [path]


def test_run_config_from_partial_dict_uses_defaults():
    config = RunConfig.from_dict({"model": {"units": 16}, "data": {"normalize": "nfc"}})
    assert config.model.units == 16
    assert config.data == DataConfig()
    assert config.training == TrainingConfig()
    with pytest.raises(ValueError, match="cell"):
        RunConfig.from_dict({"model": {"cell": "nope"}})


def test_a_config_from_before_the_optimizer_fields_keeps_its_training():
    # Runs saved by earlier releases trained with RMSprop and a per-epoch decay;
    # loading or resuming them must not switch to today's defaults.
    old = RunConfig.from_dict({"model": {"units": 16, "lr_decay": 0.97}})
    assert old.model.optimizer == "rmsprop"
    assert old.model.lr_schedule == "exponential"
    new = RunConfig.from_dict(RunConfig().to_dict())
    assert new.model.optimizer == ModelConfig().optimizer
    assert new.model.lr_schedule == ModelConfig().lr_schedule


def test_a_config_from_before_unicode_corpora_keeps_reading_ascii():
    # Runs saved before Unicode corpora folded their text to ASCII and kept every
    # character; resuming them must read the corpus the same way.
    old = RunConfig.from_dict({"data": {"batch_size": 8, "lowercase": True}})
    assert old.data.ascii is True and old.data.normalize == "none"
    assert old.data.min_char_count == 1 and old.data.max_unknown_share == 1.0
    assert old.data.batch_size == 8 and old.data.lowercase is True
    new = RunConfig.from_dict(RunConfig().to_dict())
    assert new.data == DataConfig()
    assert DataConfig().ascii is False and DataConfig().normalize == "nfc"


@pytest.mark.parametrize(
    "field, value",
    [("normalize", "nfd"), ("min_char_count", 0), ("max_unknown_share", 1.5)],
)
def test_bad_unicode_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        DataConfig(**{field: value})


def test_defaults_are_not_shared_between_instances():
    a, b = RunConfig(), RunConfig()
    a.data.sources.append("x")
    assert b.data.sources == []
    assert a.model is not b.model
