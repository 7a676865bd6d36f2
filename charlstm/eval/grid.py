"""The grid of a sweep: the values of each swept setting, and its points.

Table 4.1 of Perez, Ottens and Viswanathan, "Automatic Code Generation using
Pre-Trained Language Models" (2021), swept batch size x starter learning rate x
regularization weight; the paper also compared LSTM, GRU and simple RNN cells.
`SweepGrid.perez2021()` is that grid.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from charlstm.config import CELLS, RunConfig, make_config
from charlstm.utils.checks import InputError

# Grid field -> the command-line flag that sets it.
GRID_FLAGS = {
    "batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "l2": "--l2",
    "cell": "--cell",
}
# Published grids by name (and old name) -> the SweepGrid constructor.
NAMED_GRIDS = {"perez2021": "perez2021", "seed000": "perez2021"}


def _bad(name: str, rule: str, value, given=None) -> ValueError:
    shown = f"{name}={value!r}" + (f" in {given!r}" if given is not None else "")
    return InputError(
        f"sweep grid `{name}` ({GRID_FLAGS[name]}) values must be {rule}. "
        f"Received: {shown}"
    )


def _check_value(name: str, value, given=None):
    """The value, checked (and converted from text); a ValueError naming it."""
    if name == "cell":
        if value not in CELLS:
            raise _bad(name, f"one of {', '.join(CELLS)}", value, given)
        return value
    if name == "batch_size":
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise _bad(name, "integers >= 1", value, given) from None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _bad(name, "integers >= 1", value, given)
        return value
    rule = "numbers > 0" if name == "learning_rate" else "numbers >= 0"
    text = value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _bad(name, rule, text, given) from None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _bad(name, rule, text, given)
    value = float(value)
    low_ok = value > 0 if name == "learning_rate" else value >= 0
    if not (math.isfinite(value) and low_ok):
        raise _bad(name, rule, text, given)
    return value


@dataclass
class SweepGrid:
    """The values to sweep; every combination is one run. An empty list keeps the
    base config's value.

    Args:
        batch_size: list of int. Parallel streams per batch.
        learning_rate: list of float. Starter RMSprop learning rates.
        l2: list of float. L2 weights on every kernel (Perez et
            al.'s "regularization weight").
        cell: list of str. "ln_lstm", "lstm", "gru", "simple_rnn".

    Example:
    >>> grid = SweepGrid.parse(batch_size="32,64", cell="lstm,gru")
    >>> len(grid.points(make_config()))
    4
    """

    batch_size: list[int] = field(default_factory=list)  # streams per batch
    learning_rate: list[float] = field(default_factory=list)  # starter rates
    l2: list[float] = field(default_factory=list)  # L2 weights on kernels
    cell: list[str] = field(default_factory=list)  # recurrent cell types

    def __post_init__(self):
        for name in GRID_FLAGS:
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise InputError(
                    f"sweep grid `{name}` must be a list of values. "
                    f"Received: {name}={values!r}"
                )
            checked = [_check_value(name, v) for v in values]
            for value in checked:
                if checked.count(value) > 1:
                    raise InputError(
                        f"sweep grid `{name}` ({GRID_FLAGS[name]}) lists a value "
                        f"twice. Received: {name}={value!r}"
                    )
            setattr(self, name, checked)

    @classmethod
    def parse(
        cls,
        batch_size: str | None = None,
        learning_rate: str | None = None,
        l2: str | None = None,
        cell: str | None = None,
    ) -> SweepGrid:
        """A grid from comma-separated values, e.g. `batch_size="32,64"`."""
        given = dict(
            batch_size=batch_size, learning_rate=learning_rate, l2=l2, cell=cell
        )
        lists = {}
        for name, text in given.items():
            if text is None:
                lists[name] = []
                continue
            items = [item.strip() for item in text.split(",")]
            if not all(items):
                raise _bad(name, "a comma-separated list", text)
            lists[name] = [_check_value(name, item, text) for item in items]
        return cls(**lists)

    @classmethod
    def named(cls, name: str) -> SweepGrid:
        """A published grid: "perez2021" (also "seed000", its old name)."""
        if name not in NAMED_GRIDS:
            raise InputError(
                f"`grid` must be one of {sorted(set(NAMED_GRIDS) - {'seed000'})}. "
                f"Received: grid={name!r}"
            )
        return getattr(cls, NAMED_GRIDS[name])()

    @classmethod
    def perez2021(cls) -> SweepGrid:
        """Table 4.1 of Perez, Ottens and Viswanathan (batch 64, 128; learning rate
        0.02, 0.002, 0.0002; regularization weight 0.1, 0.01) over the three cell
        types they compared."""
        return cls(
            batch_size=[64, 128],
            learning_rate=[0.02, 0.002, 0.0002],
            l2=[0.1, 0.01],
            cell=["lstm", "gru", "simple_rnn"],  # the paper's three
        )

    def replace(self, **lists) -> SweepGrid:
        """This grid with the non-empty lists of `lists` in place of its own."""
        return dataclasses.replace(self, **{k: v for k, v in lists.items() if v})

    def points(self, base: RunConfig) -> list[SweepPoint]:
        """Every combination, cell slowest and L2 fastest, as configs over `base`.

        Raises a ValueError before anything is trained if a point's config is
        invalid.
        """
        values = {
            name: getattr(self, name)
            or [getattr(base.model if name != "batch_size" else base.data, name)]
            for name in GRID_FLAGS
        }
        points = []
        for cell, batch_size, learning_rate, l2 in itertools.product(
            values["cell"], values["batch_size"], values["learning_rate"], values["l2"]
        ):
            config = make_config(
                base=base,
                cell=cell,
                batch_size=batch_size,
                learning_rate=learning_rate,
                l2=l2,
            )
            points.append(SweepPoint(cell, batch_size, learning_rate, l2, config))
        return points


@dataclass
class SweepPoint:
    """One run of a sweep."""

    cell: str
    batch_size: int
    learning_rate: float
    l2: float
    config: RunConfig  # the run's full config

    @property
    def name(self) -> str:
        """Directory name, e.g. `lstm-bs64-lr0.002-l2_0.01` (floats as repr)."""
        return (
            f"{self.cell}-bs{self.batch_size}-lr{self.learning_rate!r}-l2_{self.l2!r}"
        )
