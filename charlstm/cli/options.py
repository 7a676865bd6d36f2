"""Command-line flags generated from the config dataclasses.

Every config field declared with `charlstm.config.option` is one flag: its name
(`learning_rate` -> `--learning-rate`), its type, choices and help text and its
default come from the field, so a field has a flag and a flag has a field by
construction. A name that two backends share (`--num-layers`) is one flag; the
chosen backend's section that declares it receives the value.
"""

from __future__ import annotations

import argparse
import dataclasses

from charlstm.backends import REGISTRY, run_config_class
from charlstm.config import BACKEND_NAMES
from charlstm.utils.checks import InputError

TYPES = {"int": int, "float": float, "str": str}


def sections(backend: str) -> tuple[type, ...]:
    """The config sections of a backend's run, model first: where flags go."""
    run_config = run_config_class(backend)
    fields = {f.name: f for f in dataclasses.fields(run_config)}
    return tuple(
        run_config.model_config if name == "model" else _section_class(fields[name])
        for name in ("model", "data", "training")
    )


def _section_class(field: dataclasses.Field) -> type:
    return field.default_factory  # DataConfig, TrainingConfig


def flag_fields(backend: str) -> dict[str, dataclasses.Field]:
    """Flag name (a field name) -> the field that declares it for `backend`: the
    first section that has it, skipping fields for other backends only."""
    found = {}
    for section in sections(backend):
        for f in dataclasses.fields(section):
            applies = f.metadata.get("backends") in (None, ()) or backend in (
                f.metadata.get("backends") or ()
            )
            if f.metadata.get("flag") and applies and f.name not in found:
                found[f.name] = f
    return found


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _type(f: dataclasses.Field):
    base = str(f.type).split("|")[0].strip()
    return TYPES[base]


def _shown(value) -> str | None:
    """A default as --help shows it; None for none (documented in the help)."""
    if value is None or value is dataclasses.MISSING or value == "":
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def add_config_options(parser, backends=None, lists: tuple[str, ...] = ()) -> None:
    """Adds a flag for every config field of `backends` (default: all) to `parser`.

    Args:
        parser: argparse parser or argument group.
        backends: backend names, or None for every registered backend.
        lists: field names that take a comma-separated list of values (a sweep);
            they are parsed by the caller.
    """
    per_name: dict[str, list] = {}
    for backend in backends or REGISTRY:
        for name, f in flag_fields(backend).items():
            per_name.setdefault(name, []).append((backend, f))
    _add_flags(parser, per_name, lists)


def add_dataclass_options(parser, config_class) -> None:
    """Adds a flag for every field of one config dataclass declared with
    `charlstm.config.option` (for commands with a config of their own)."""
    per_name = {
        f.name: [(None, f)]
        for f in dataclasses.fields(config_class)
        if f.metadata.get("flag")
    }
    _add_flags(parser, per_name, ())


def dataclass_values(args, config_class) -> dict:
    """The flags of `add_dataclass_options` that were given: field -> value."""
    names = [f.name for f in dataclasses.fields(config_class) if f.metadata.get("flag")]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _add_flags(parser, per_name: dict, lists) -> None:
    """One flag per name; `per_name` maps a name to its (backend, field) owners."""
    for name, owners in per_name.items():
        _, first = owners[0]
        help_text, defaults = first.metadata["help"], [_shown(first.default)]
        for backend, f in owners[1:]:
            if f.metadata["help"] != first.metadata["help"]:
                help_text += f"; {backend}: {f.metadata['help']}"
            if f.default != first.default and _shown(f.default) is not None:
                defaults.append(f"{backend}: {_shown(f.default)}")
        if defaults[0] is not None:
            help_text += f" (default: {'; '.join(d for d in defaults if d)})"
        choices = first.metadata.get("choices")
        kwargs = dict(dest=name, default=None, help=help_text)
        if name in lists:
            kwargs.update(metavar=",".join(["V"] * 2) + ",...")
            kwargs["help"] += "; a comma-separated list sweeps its values"
        elif str(first.type) == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=_type(first), choices=choices)
            if choices is None:
                kwargs["metavar"] = name.split("_")[-1].upper()
        parser.add_argument(flag(name), **kwargs)


def given_options(args, backends=None) -> dict:
    """The config flags given on the command line: field name -> value."""
    names = set()
    for backend in backends or REGISTRY:
        names |= set(flag_fields(backend))
    return {
        n: getattr(args, n) for n in sorted(names) if getattr(args, n, None) is not None
    }


def check_backend_options(given: dict, backend: str) -> None:
    """An InputError for a given flag that `backend` does not take."""
    fields = flag_fields(backend)
    for name in given:
        if name not in fields:
            others = [b for b in REGISTRY if b != backend and name in flag_fields(b)]
            if not others:
                raise InputError(f"{flag(name)} is not an option of this command")
            raise InputError(
                f"{flag(name)} is {BACKEND_NAMES[others[0]]} option; "
                f"{BACKEND_NAMES[backend]} run does not take it (--backend "
                f"{others[0]} for {BACKEND_NAMES[others[0]]} run)"
            )


def check_resume_options(given: dict, backend: str) -> None:
    """An InputError for a given flag that a resumed run may not change."""
    fields = flag_fields(backend)
    fixed = [flag(n) for n in given if not fields[n].metadata.get("resume")]
    if fixed:
        raise InputError(
            f"{', '.join(fixed)} cannot change when resuming: the run keeps the "
            "settings in its config.json"
        )


def split_by_section(given: dict, backend: str) -> list[dict]:
    """The given values of each of the backend's sections (model, data, training)."""
    fields = flag_fields(backend)
    out = []
    for section in sections(backend):
        names = {f.name for f in dataclasses.fields(section)}
        out.append(
            {
                n: v
                for n, v in given.items()
                if n in names and fields.get(n) in dataclasses.fields(section)
            }
        )
    return out
