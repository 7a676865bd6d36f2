"""Ranking units by how closely their activation follows a feature of the text.

Frank (2022) picked the interesting neurons by hand from thousands. Here every unit
of every layer (its `h`, and its `c` for an LSTM) is scored against every
feature of `charlstm.interpret.features` by the absolute Pearson correlation of the two
over the characters read; the best few per feature are the units to look at.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from charlstm.interpret.activations import Activations, check_neuron
from charlstm.interpret.features import DESCRIPTIONS, TextFeatures
from charlstm.utils.checks import InputError, check_count

# Below this standard deviation a unit or feature counts as constant.
CONSTANT = 1e-7
_SPEC = re.compile(r"^\s*(-?\d+)\s*:\s*(-?\d+)\s*(?::\s*([A-Za-z]+)\s*)?$")


@dataclass(frozen=True)
class Neuron:
    """One unit of one layer's state.

    Args:
        layer: int. The layer, 0 for the bottom one.
        unit: int. The unit within the layer.
        kind: str. "h" (hidden state) or "c" (LSTM cell state).
    """

    layer: int
    unit: int
    kind: str = "h"

    def __str__(self) -> str:
        return f"{self.layer}:{self.unit}" + (":c" if self.kind == "c" else "")


@dataclass(frozen=True)
class NeuronScore:
    """How closely a neuron follows a feature.

    Args:
        neuron: Neuron. The unit.
        feature: str. The feature's name (`charlstm.interpret.features.DESCRIPTIONS`).
        correlation: float. Pearson's r of activation and feature; the rank
            is by its absolute value.
    """

    neuron: Neuron
    feature: str
    correlation: float

    def to_dict(self) -> dict:
        return {
            **asdict(self.neuron),
            "feature": self.feature,
            "correlation": round(self.correlation, 6),
        }


def correlations(activations: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Pearson's r between every column of two matrices.

    Args:
        activations: array (steps, neurons).
        features: array (steps, features).

    Returns:
        Array (neurons, features); 0 where either column is constant.

    Example:
    >>> correlations(np.array([[0.], [1.], [2.]]), np.array([[1.], [3.], [5.]]))
    array([[1.]])
    """
    a = np.asarray(activations, np.float64)
    f = np.asarray(features, np.float64)
    if a.ndim != 2 or f.ndim != 2 or a.shape[0] != f.shape[0]:
        raise InputError(
            "`activations` and `features` must be (steps, n) arrays with the same "
            f"steps. Received shapes {a.shape} and {f.shape}"
        )
    a = a - a.mean(axis=0)  # (steps, neurons)
    f = f - f.mean(axis=0)  # (steps, features)
    a_norm = np.sqrt((a * a).sum(axis=0))  # (neurons,)
    f_norm = np.sqrt((f * f).sum(axis=0))  # (features,)
    steps = max(a.shape[0], 1)
    a_live = a_norm / np.sqrt(steps) > CONSTANT
    f_live = f_norm / np.sqrt(steps) > CONSTANT
    r = (a.T @ f) / np.outer(np.where(a_live, a_norm, 1), np.where(f_live, f_norm, 1))
    r[~a_live, :] = 0.0
    r[:, ~f_live] = 0.0
    return np.clip(r, -1.0, 1.0)


def neuron_matrix(acts: Activations, kinds=None) -> tuple[np.ndarray, list[Neuron]]:
    """Every recorded unit as a column: (steps, neurons) and the neuron of each
    column, `h` of every layer first, then `c`."""
    kinds = acts.kinds if kinds is None else tuple(kinds)
    columns, neurons = [], []
    for kind in kinds:
        states = acts.states(kind)  # (layers, steps, units)
        for layer in range(acts.num_layers):
            columns.append(states[layer])  # (steps, units)
            neurons += [Neuron(layer, unit, kind) for unit in range(acts.units)]
    return np.concatenate(columns, axis=1), neurons  # (steps, layers * units * kinds)


def rank_neurons(
    acts: Activations, features: TextFeatures, top_k: int = 5, kinds=None
) -> dict:
    """The `top_k` neurons per feature by absolute correlation, best first.

    Features are taken at the last character of each step. A feature that is
    constant over the text (no string in it, say) gets an empty list: no neuron
    can follow it. Constant neurons score 0. Ties keep the order of
    `neuron_matrix` (lower layer, then lower unit).

    Args:
        acts: Activations. The recorded states.
        features: TextFeatures. Features of `acts.text`.
        top_k: int. Neurons kept per feature.
        kinds: tuple of "h", "c", or None for every recorded kind.

    Returns:
        dict of feature name to a list of NeuronScore.

    Example:
    >>> acts = record_activations(generator, source)
    >>> ranking = rank_neurons(acts, text_features(source))
    >>> ranking["bracket_depth"][0]
    NeuronScore(neuron=Neuron(layer=1, unit=37, kind='c'), feature=..., ...)
    """
    check_count("top_k", top_k)
    sizes = {len(v) for v in features.values.values()}
    if sizes != {len(acts.text)}:
        raise InputError(
            "`features` must describe `acts.text`. Received features of "
            f"{sorted(sizes)} characters for a text of {len(acts.text)}"
        )
    matrix, neurons = neuron_matrix(acts, kinds)  # (steps, neurons)
    values = features.at(acts.ends)
    names = list(values)
    stacked = np.stack([values[n] for n in names], axis=1)  # (steps, features)
    r = correlations(matrix, stacked)  # (neurons, features)
    constant = stacked.std(axis=0) <= CONSTANT
    ranking = {}
    for j, name in enumerate(names):
        if constant[j]:
            ranking[name] = []
            continue
        order = np.argsort(-np.abs(r[:, j]), kind="stable")[:top_k]
        ranking[name] = [NeuronScore(neurons[i], name, float(r[i, j])) for i in order]
    return ranking


def best_feature(acts: Activations, features: TextFeatures, neuron: Neuron):
    """The feature a neuron follows most closely, as a NeuronScore (None if
    every feature or the neuron is constant)."""
    column = acts.neuron(neuron.layer, neuron.unit, neuron.kind)[:, None]
    values = features.at(acts.ends)
    names = list(values)
    stacked = np.stack([values[n] for n in names], axis=1)  # (steps, features)
    r = correlations(column, stacked)[0]  # (features,)
    if not np.any(r):
        return None
    j = int(np.argmax(np.abs(r)))
    return NeuronScore(neuron, names[j], float(r[j]))


def auto_neurons(ranking: dict) -> list[NeuronScore]:
    """The best neuron for each feature that has one, in feature order."""
    return [scores[0] for scores in ranking.values() if scores]


def parse_neurons(spec: str, num_layers: int, units: int, kinds) -> list[Neuron]:
    """Neurons from "L:I,L:I:c,...": layer and unit from 0; ":c" for the cell
    state (`kinds`: the model's, ("h", "c") for an LSTM). A ValueError names
    the valid range of a layer or unit out of it.

    Example:
    >>> parse_neurons("1:37,0:5:c", num_layers=2, units=128, kinds=("h", "c"))
    [Neuron(layer=1, unit=37, kind='h'), Neuron(layer=0, unit=5, kind='c')]
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(
            f"`neurons` must be 'auto' or a list like '1:37,0:5:c'. Received: {spec!r}"
        )
    neurons = []
    for item in spec.split(","):
        match = _SPEC.match(item)
        if not match:
            raise InputError(
                "`neurons` must be 'auto' or LAYER:UNIT[:h|c] items separated by "
                f"commas, e.g. '1:37,0:5:c'. Received: {item.strip()!r}"
            )
        layer, unit, kind = int(match[1]), int(match[2]), match[3] or "h"
        try:
            check_neuron(layer, unit, kind, num_layers, units, tuple(kinds))
        except ValueError as error:
            raise InputError(f"`neurons` item {item.strip()!r}: {error}") from None
        neurons.append(Neuron(layer, unit, kind))
    return neurons


def report(ranking: dict, features: TextFeatures, acts: Activations) -> dict:
    """A JSON-ready report: per feature its description and top neurons."""
    return {
        "characters": len(acts.text),
        "steps": acts.num_steps,
        "layers": acts.num_layers,
        "units": acts.units,
        "cell": acts.cell_type,
        "kinds": list(acts.kinds),
        "feature_method": features.method,
        "dropped": acts.dropped,
        "unknown": acts.unknown,
        "features": {
            name: {
                "description": DESCRIPTIONS.get(name, name),
                "constant": not scores,
                "top": [s.to_dict() for s in scores],
            }
            for name, scores in ranking.items()
        },
    }
