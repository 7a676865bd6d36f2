"""Argument checks shared by every module: one wording, one error type.

`InputError` is a `ValueError` raised for a value that a user gave (an argument,
a flag, a file's content): the command line reports it as one line and exits
with status 2. Any other exception is a bug, and shows its traceback.
"""

from __future__ import annotations

import numpy as np


class InputError(ValueError):
    """A value a user gave is wrong; the message names it and what to do."""


def check_count(name: str, value, minimum: int = 1) -> None:
    """Raises an InputError naming `name` unless `value` is an integer >= `minimum`."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise InputError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if value < minimum:
        raise InputError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
