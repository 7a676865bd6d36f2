"""Ranking neurons by correlation with features (charlstm/interpret/neurons.py)."""

import numpy as np
import pytest

from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.interpret.activations import Activations, record_activations
from charlstm.interpret.features import TextFeatures, text_features
from charlstm.interpret.neurons import (
    Neuron,
    auto_neurons,
    best_feature,
    correlations,
    parse_neurons,
    rank_neurons,
    report,
)
from tests.helpers import tiny_model_config

CODE_ALPHABET = "abcfx()[]= ,\n"


def nested_code(lines: int, seed: int = 0) -> str:
    """Valid Python over CODE_ALPHABET with brackets nested up to 4 deep."""
    rng = np.random.default_rng(seed)

    def expression(depth):
        if depth >= 4 or rng.random() < 0.35:
            return "abcx"[rng.integers(4)]
        inner = ", ".join(expression(depth + 1) for _ in range(rng.integers(1, 3)))
        return f"f({inner})" if rng.random() < 0.6 else f"[{inner}]"

    return "".join(f"x = {expression(0)}\n" for _ in range(lines))


def planted_generator(unit: int, seed: int = 0) -> TextGenerator:
    """A 2 x LSTM(8) whose layer-0 `unit` has c = tanh(1) * bracket depth.

    Its input, forget and output gates are saturated open (bias 30, no input),
    and its candidate is +tanh(1) on "(" and "[", -tanh(1) on ")" and "]", 0
    otherwise; every other weight is random, and nothing else reads this unit.
    """
    vocabulary = Vocabulary(CODE_ALPHABET)
    config = tiny_model_config(
        "lstm", "one_hot", vocabulary_size=vocabulary.size, dropout=0.0
    )
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(0, 0.5, s).astype(np.float32) for s in expected_shapes(config)]
    kernel, recurrent, bias = arrays[0], arrays[1], arrays[2]
    units = config.units
    gates = [g * units + unit for g in range(4)]  # i, f, c, o columns of `unit`
    kernel[:, gates] = 0.0
    recurrent[:, gates] = 0.0
    recurrent[unit, :] = 0.0  # the other units do not see it
    arrays[3][unit, :] = 0.0  # nor does layer 1
    bias[gates] = [30.0, 30.0, 0.0, 30.0]
    for char, sign in (("(", 1), ("[", 1), (")", -1), ("]", -1)):
        kernel[vocabulary.encode(char)[0], gates[2]] = sign
    return TextGenerator(NumpyEngine(EngineWeights(config, arrays)), vocabulary)


@pytest.mark.parametrize("unit", [0, 5])
def test_ranking_finds_a_planted_bracket_depth_neuron_first(unit):
    code = nested_code(40)
    acts = record_activations(planted_generator(unit), code)
    features = text_features(code)
    assert features.method == "tokenize"
    depth = features.values["bracket_depth"]
    assert depth.max() >= 3
    np.testing.assert_allclose(acts.cell[0, :, unit], np.tanh(1.0) * depth, atol=1e-5)
    ranking = rank_neurons(acts, features, top_k=5)
    first = ranking["bracket_depth"][0]
    assert first.neuron == Neuron(0, unit, "c")
    assert first.correlation == pytest.approx(1.0, abs=1e-6)
    assert len(ranking["bracket_depth"]) == 5
    # Among hidden states only, the same unit's h = tanh(c) comes first.
    h_only = rank_neurons(acts, features, kinds=("h",))["bracket_depth"]
    assert h_only[0].neuron == Neuron(0, unit, "h")
    assert abs(h_only[0].correlation) > max(abs(s.correlation) for s in h_only[1:])
    # No string, comment or docstring in the text: nothing can follow them.
    assert ranking["in_string"] == ranking["in_comment"] == []
    assert auto_neurons(ranking)[0] is not None
    assert ranking["bracket_depth"][0] in auto_neurons(ranking)
    best = best_feature(acts, features, Neuron(0, unit, "c"))
    assert (best.neuron, best.feature) == (first.neuron, "bracket_depth")
    assert best.correlation == pytest.approx(first.correlation)


def test_correlations_against_numpy_and_constant_columns():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 3))
    a[:, 2] = 4.0  # a constant neuron
    f = np.stack([a[:, 0] * -2 + 1, rng.normal(size=50), np.zeros(50)], axis=1)
    r = correlations(a, f)
    assert r.shape == (3, 3)
    assert r[0, 0] == pytest.approx(-1.0)
    assert r[1, 1] == pytest.approx(np.corrcoef(a[:, 1], f[:, 1])[0, 1])
    assert not r[2].any() and not r[:, 2].any()  # constant: 0, never NaN
    with pytest.raises(ValueError, match="same steps"):
        correlations(a, f[:10])


def hand_made(values: np.ndarray, feature: np.ndarray) -> tuple:
    """Activations of one layer whose units are the columns of `values`."""
    steps, units = values.shape
    acts = Activations(
        tokens=["a"] * steps,
        hidden=values[None].astype(np.float32),  # (1, steps, units)
        cell=None,
        cell_type="gru",
        seed_steps=steps,
    )
    return acts, TextFeatures({"f": feature.astype(np.float32)}, "text")


def test_rank_is_by_absolute_value_and_stable():
    feature = np.array([0, 1, 2, 3, 2, 1, 0, 1], float)
    values = np.stack(
        [
            feature * 0.1 + [0, 0, 0, 0.2, 0, 0, 0, 0],  # r < 1
            -feature,  # r = -1
            feature * 3,  # r = 1, ties with unit 1: lower unit first
            np.ones(8),
        ],
        axis=1,
    )  # constant
    acts, features = hand_made(values, feature)
    scores = rank_neurons(acts, features, top_k=4)["f"]
    assert [s.neuron.unit for s in scores] == [1, 2, 0, 3]
    assert scores[0].correlation == pytest.approx(-1.0)
    assert scores[3].correlation == 0.0
    data = report({"f": scores}, text_features("x" * 8, "text"), acts)
    assert data["features"]["f"]["top"][0] == {
        "layer": 0,
        "unit": 1,
        "kind": "h",
        "feature": "f",
        "correlation": -1.0,
    }
    with pytest.raises(ValueError, match="`top_k`"):
        rank_neurons(acts, features, top_k=0)
    with pytest.raises(ValueError, match="must describe"):
        rank_neurons(acts, TextFeatures({"f": np.zeros(3)}, "text"))


def test_parse_neurons():
    kinds = ("h", "c")
    assert parse_neurons("1:7, 0:0:c", 2, 8, kinds) == [
        Neuron(1, 7, "h"),
        Neuron(0, 0, "c"),
    ]
    with pytest.raises(ValueError, match=r"'1:8'.*`unit` must be in 0\.\.7"):
        parse_neurons("1:8", 2, 8, kinds)
    with pytest.raises(ValueError, match=r"`layer` must be in 0\.\.1"):
        parse_neurons("2:0", 2, 8, kinds)
    with pytest.raises(ValueError, match=r"`unit` must be in 0\.\.7"):
        parse_neurons("0:-1", 2, 8, kinds)
    with pytest.raises(ValueError, match="`kind` must be one of"):
        parse_neurons("0:1:c", 2, 8, ("h",))
    with pytest.raises(ValueError, match="LAYER:UNIT"):
        parse_neurons("0-1", 2, 8, kinds)
    with pytest.raises(ValueError, match="must be 'auto'"):
        parse_neurons("", 2, 8, kinds)
