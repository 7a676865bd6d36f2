"""Named presets: the exact configurations of the papers charlstm reproduces.

- `perez2021`: the char-RNN baseline of Perez, Ottens and Viswanathan,
  "Automatic Code Generation using Pre-Trained Language Models" (2021): LSTM
  2 x 128, one-hot input, sequence 50, batch 50, RMSprop at 0.002 decaying by
  0.97 per epoch, gradient norm clipped at 5, text folded to ASCII.
- `frank2022`: Frank, "Generating Python with Character Level LSTMs" (2022):
  LSTM 3 x 512, dropout 0.5, one-hot input, sequence 100, batch 64, RMSprop at
  0.0015, gradient norm clipped at 5, text folded to ASCII and lowercased (both
  of its corpora were).

`seed000` and `seed002`, their names in charlstm 0.1's first releases, are
accepted as aliases.
"""

from __future__ import annotations

from charlstm.config import DataConfig, ModelConfig, RunConfig
from charlstm.utils.checks import InputError

# Preset name -> the overrides of each config section.
PRESETS = {
    "perez2021": {
        "model": dict(
            cell="lstm",
            num_layers=2,
            units=128,
            dropout=0.0,
            input_encoding="one_hot",
            optimizer="rmsprop",
            learning_rate=0.002,
            clipnorm=5.0,
            lr_schedule="exponential",
            lr_decay=0.97,
            l2=0.0,
        ),
        "data": dict(sequence_length=50, batch_size=50, ascii=True),
    },
    "frank2022": {
        "model": dict(
            cell="lstm",
            num_layers=3,
            units=512,
            dropout=0.5,
            input_encoding="one_hot",
            optimizer="rmsprop",
            learning_rate=0.0015,
            clipnorm=5.0,
            lr_schedule="exponential",
            lr_decay=1.0,
            l2=0.0,
        ),
        "data": dict(sequence_length=100, batch_size=64, lowercase=True, ascii=True),
    },
}
# Old names, still accepted.
ALIASES = {"seed000": "perez2021", "seed002": "frank2022"}


def preset_name(name: str) -> str:
    """The preset's name (an alias resolved); an InputError naming the presets."""
    name = ALIASES.get(name, name)
    if name not in PRESETS:
        raise InputError(
            f"`preset` must be one of {sorted(PRESETS)}. Received: preset={name!r}"
        )
    return name


def preset(name: str) -> RunConfig:
    """The `RunConfig` of a named preset ("perez2021", "frank2022").

    Example:
    >>> preset("frank2022").model.units
    512
    """
    p = PRESETS[preset_name(name)]
    return RunConfig(model=ModelConfig(**p["model"]), data=DataConfig(**p["data"]))
