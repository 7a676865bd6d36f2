"""Each option is declared once: the config fields are the flags."""

import argparse
import dataclasses

import pytest

from charlstm.backends import REGISTRY
from charlstm.cli.app import build_parser
from charlstm.cli.options import (
    check_backend_options,
    check_resume_options,
    flag_fields,
    sections,
    split_by_section,
)
from charlstm.config import DataConfig, ModelConfig, TrainingConfig


def subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action.choices[name]


def config_flags(parser: argparse.ArgumentParser, group_title: str) -> set[str]:
    group = next(g for g in parser._action_groups if g.title.startswith(group_title))
    return {a.dest for a in group._group_actions}


@pytest.mark.parametrize("backend", sorted(REGISTRY))
def test_every_config_field_is_declared_with_help(backend):
    for section in sections(backend):
        for field in dataclasses.fields(section):
            assert field.metadata.get("help"), (
                f"{section.__name__}.{field.name} is not declared with "
                "charlstm.config.option (no help text)"
            )


def test_train_flags_are_exactly_the_config_fields():
    fields = set()
    for backend in REGISTRY:
        fields |= set(flag_fields(backend))
    flags = config_flags(subparser("train"), "model, data and training")
    assert flags == fields
    # Fields charlstm sets itself are not flags.
    assert "vocabulary_size" not in flag_fields("lstm")
    assert "sources" not in flags and "characters_per_token" not in flags


def test_sweep_takes_every_lstm_field_and_lists_for_the_grid():
    flags = config_flags(subparser("sweep"), "model, data and training")
    assert flags == set(flag_fields("lstm"))
    # The options the sweep used to lack are there now.
    assert {"optimizer", "lr_schedule", "tokens", "fast_path"} <= flags


def test_help_shows_the_defaults():
    text = subparser("train").format_help()
    assert "units per recurrent layer (default: 224)" in text
    assert "(default: 5.0; gpt2: 1.0)" in text  # --clipnorm of each backend


def test_a_flag_goes_to_the_section_of_its_backend():
    given = {"batch_size": 8, "units": 16, "epochs": 2}
    model, data, training = split_by_section(given, "lstm")
    assert (model, data, training) == ({"units": 16}, {"batch_size": 8}, {"epochs": 2})
    model, data, training = split_by_section({"batch_size": 8, "num_heads": 2}, "gpt2")
    assert model == {"batch_size": 8, "num_heads": 2} and data == {}


def test_options_of_the_other_backend_and_fixed_on_resume_are_errors():
    with pytest.raises(ValueError, match="--num-heads is a GPT-2 option"):
        check_backend_options({"num_heads": 2}, "lstm")
    with pytest.raises(ValueError, match="--tokens is an LSTM option"):
        check_backend_options({"tokens": "word"}, "gpt2")
    check_resume_options({"epochs": 3, "random_seed": 1}, "lstm")
    with pytest.raises(ValueError, match="--units cannot change when resuming"):
        check_resume_options({"units": 3, "epochs": 3}, "lstm")


def test_sections_are_the_config_classes():
    assert sections("lstm") == (ModelConfig, DataConfig, TrainingConfig)
    assert sections("gpt2")[1:] == (DataConfig, TrainingConfig)
