"""Argument checks shared by every module: one wording for every error."""

from __future__ import annotations

import numpy as np


def check_count(name: str, value, minimum: int = 1) -> None:
    """Raises a ValueError naming `name` unless `value` is an integer >= `minimum`."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
