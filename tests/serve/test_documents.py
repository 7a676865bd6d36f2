import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.serve import documents
from charlstm.serve.documents import CompletionSettings, GivingWayEngine
from charlstm.utils.checks import InputError


def test_settings_from_the_editor():
    settings = CompletionSettings()
    assert settings.to_dict() == {
        "temperature": 0.0,
        "candidates": 1,
        "maxLength": 80,
        "mode": "line",
    }
    changed = settings.updated({"charlstm": {"candidates": 3, "maxLength": 120}})
    assert (changed.candidates, changed.max_length) == (3, 120)
    flat = changed.updated({"mode": "paragraph", "candidates": None})
    assert (flat.mode, flat.candidates, flat.max_length) == ("paragraph", 1, 120)
    assert changed.updated(None) is changed
    assert changed.updated({"charlstm": None}) is changed


@pytest.mark.parametrize(
    "options, match",
    [
        ({"temperature": -1}, "`temperature` must be a finite number >= 0"),
        ({"temperature": True}, "temperature=True"),
        ({"candidates": 0}, "`candidates` must be an integer from 1 to 10"),
        ({"candidates": 2.0}, "candidates=2.0"),
        ({"maxLength": 5000}, "maxLength=5000"),
        ({"mode": "block"}, "`mode` must be one of"),
        ({"colour": "red"}, r"unknown setting\(s\) \['colour'\]"),
        ({"charlstm": [1]}, "must be an object"),
    ],
)
def test_bad_settings_name_the_setting(options, match):
    with pytest.raises(InputError, match=match):
        CompletionSettings().updated(options)


def test_giving_way_feeds_in_slices_and_pauses(monkeypatch):
    config = ModelConfig(vocabulary_size=10, num_layers=2, units=8, embedding_dim=4)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, 0.5, s) for s in expected_shapes(config)]
    inner = NumpyEngine(EngineWeights(config, arrays))
    engine = GivingWayEngine(inner)
    pauses = []
    monkeypatch.setattr(documents, "WORK_SLICE", 0.0)
    monkeypatch.setattr(documents.time, "sleep", pauses.append)
    ids = rng.integers(0, 10, (1, 1000))
    engine.reset(1)
    probs = engine.feed(ids)
    assert len(pauses) == -(-1000 // documents.FEED_SLICE)  # one per slice
    inner.reset(1)
    np.testing.assert_allclose(probs, inner.feed(ids), atol=1e-6)
    engine.step(np.array([3]))
    assert len(pauses) == 5
