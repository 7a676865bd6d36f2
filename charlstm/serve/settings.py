"""The language server's settings: temperature, candidates, maximum length and
mode, and dynamic evaluation (`dynamic` and `DynamicConfig`'s fields), as the
editor names them, checked when they change. Imports neither pygls nor
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from charlstm.eval.dynamic import DynamicConfig
from charlstm.utils.checks import InputError

MODES = ("line", "paragraph")
MAX_CANDIDATES = 10
MAX_LENGTH = 2000
# Setting name in the editor's configuration -> CompletionSettings field.
SETTING_NAMES = {
    "temperature": "temperature",
    "candidates": "candidates",
    "maxLength": "max_length",
    "mode": "mode",
    "dynamic": "dynamic",
}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


# Setting name -> DynamicConfig field (`segmentLength` -> `segment_length`).
DYNAMIC_NAMES = {_camel(f.name): f.name for f in dataclasses.fields(DynamicConfig)}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class CompletionSettings:
    """How the language server completes; the editor's settings, section
    "charlstm" (`SETTING_NAMES` gives each field's name there).

    Args:
        temperature: float. 0 is beam search (greedy with one candidate);
            above 0 samples the candidates.
        candidates: int. Endings offered, most likely first (1 to 10).
        max_length: int. Characters added at most (1 to 2000); `maxLength` in
            the editor's settings.
        mode: str. "line": complete to the end of the line; "paragraph": to the
            first blank line.
        dynamic: bool. Each document's weights learn its text (dynamic
            evaluation); LSTM and LN-LSTM runs only.
        adaptation: DynamicConfig. How they learn; its fields are settings of
            their own, in camelCase (`DYNAMIC_NAMES`: `learningRate`, ...).

    Example:
    >>> settings = CompletionSettings().updated({"candidates": 3, "maxLength": 120})
    >>> settings.updated({"dynamic": True, "learningRate": 1e-4}).to_dict()["dynamic"]
    True
    """

    temperature: float = 0.0  # 0: beam search; above: sampling
    candidates: int = 1  # endings offered, most likely first
    max_length: int = 80  # characters added at most
    mode: str = "line"  # "line" or "paragraph" (to a blank line)
    dynamic: bool = False  # documents' weights learn their text
    adaptation: DynamicConfig = field(default_factory=DynamicConfig)  # how

    def __post_init__(self):
        t = self.temperature
        if (
            isinstance(t, bool)
            or not isinstance(t, (int, float))
            or not (math.isfinite(t) and t >= 0)
        ):
            raise InputError(
                "`temperature` must be a finite number >= 0 (0 is beam search). "
                f"Received: temperature={t!r}"
            )
        for name, value, most in (
            ("candidates", self.candidates, MAX_CANDIDATES),
            ("maxLength", self.max_length, MAX_LENGTH),
        ):
            if not _is_int(value) or not 1 <= value <= most:
                raise InputError(
                    f"`{name}` must be an integer from 1 to {most}. "
                    f"Received: {name}={value!r}"
                )
        if self.mode not in MODES:
            raise InputError(
                f"`mode` must be one of {MODES}. Received: mode={self.mode!r}"
            )
        if not isinstance(self.dynamic, bool):
            raise InputError(
                f"`dynamic` must be true or false. Received: dynamic={self.dynamic!r}"
            )

    def updated(self, options) -> CompletionSettings:
        """These settings with the editor's `options` applied: a dict of setting
        names (`SETTING_NAMES`) to values, either flat or under "charlstm". A
        value of None is the default. Raises an InputError naming the first bad
        setting; nothing changes then.
        """
        if isinstance(options, dict) and "charlstm" in options:
            options = options["charlstm"]
        if options is None:
            return self
        if not isinstance(options, dict):
            raise InputError(
                f'the "charlstm" settings must be an object. Received: {options!r}'
            )
        unknown = sorted(set(options) - set(SETTING_NAMES) - set(DYNAMIC_NAMES))
        if unknown:
            raise InputError(
                f"unknown setting(s) {unknown}; the settings are "
                f"{sorted(SETTING_NAMES) + sorted(DYNAMIC_NAMES)}."
            )
        defaults = CompletionSettings()
        changes = {
            SETTING_NAMES[name]: (
                getattr(defaults, SETTING_NAMES[name]) if value is None else value
            )
            for name, value in options.items()
            if name in SETTING_NAMES
        }
        adaptation = self.adaptation
        for name, value in options.items():
            if name in DYNAMIC_NAMES:
                adaptation = _dynamic_setting(adaptation, name, value)
        return dataclasses.replace(self, **changes, adaptation=adaptation)

    def to_dict(self) -> dict:
        """The settings under their names in the editor's configuration."""
        return {
            **{name: getattr(self, key) for name, key in SETTING_NAMES.items()},
            **{n: getattr(self.adaptation, k) for n, k in DYNAMIC_NAMES.items()},
        }


def _dynamic_setting(config: DynamicConfig, name: str, value) -> DynamicConfig:
    """`config` with the setting `name` (a `DYNAMIC_NAMES` key) at `value`
    (None: the default); an InputError names the setting."""
    key = DYNAMIC_NAMES[name]
    default = getattr(DynamicConfig(), key)
    if value is None:
        value = default
    if isinstance(value, bool) and not isinstance(default, str):
        # DynamicConfig would take True for 1.
        raise InputError(f"`{name}` must be a number. Received: {name}={value!r}")
    try:
        return dataclasses.replace(config, **{key: value})
    except InputError as error:
        raise InputError(f"`{name}`: {error}") from None
