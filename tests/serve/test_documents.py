import asyncio
import time

import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.eval.dynamic import DynamicConfig
from charlstm.infer.completion import Completer
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.serve import documents
from charlstm.serve.documents import CompletionQueue, GivingWayEngine
from charlstm.serve.settings import CompletionSettings
from charlstm.utils.checks import InputError
from tests.helpers import ALPHABET, make_text


def test_settings_from_the_editor():
    settings = CompletionSettings()
    assert settings.to_dict() == {
        "temperature": 0.0,
        "candidates": 1,
        "maxLength": 80,
        "mode": "line",
        "dynamic": False,
        "variant": "rms",
        "segmentLength": 20,
        "learningRate": 5e-5,
        "decay": 0.002,
        "epsilon": 2e-5,
        "statisticsCharacters": 100_000,
        "statisticsBatchSize": 100,
    }
    changed = settings.updated({"charlstm": {"candidates": 3, "maxLength": 120}})
    assert (changed.candidates, changed.max_length) == (3, 120)
    flat = changed.updated({"mode": "paragraph", "candidates": None})
    assert (flat.mode, flat.candidates, flat.max_length) == ("paragraph", 1, 120)
    assert changed.updated(None) is changed
    assert changed.updated({"charlstm": None}) is changed
    dynamic = changed.updated({"dynamic": True, "learningRate": 0.1, "variant": "sgd"})
    assert dynamic.dynamic and dynamic.adaptation == DynamicConfig(
        variant="sgd", learning_rate=0.1
    )
    assert dynamic.max_length == 120
    again = dynamic.updated({"segmentLength": 5, "learningRate": None})
    assert again.adaptation == DynamicConfig(variant="sgd", segment_length=5)


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
        ({"dynamic": "yes"}, "`dynamic` must be true or false"),
        ({"learningRate": -1}, "`learningRate`: `learning_rate` must be a number"),
        ({"learningRate": True}, "`learningRate` must be a number"),
        ({"segmentLength": 0}, "`segmentLength`: `segment_length` must be an"),
        ({"segmentLength": 2.5}, "segment_length=2.5"),
        ({"decay": 2}, r"`decay`: `decay` must be in \[0, 1\]"),
        ({"variant": "adam"}, "`variant`: `variant` must be one of"),
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


def random_generator(cell="lstm"):
    config = ModelConfig(vocabulary_size=10, cell=cell, num_layers=2, units=8)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, 0.7, s) for s in expected_shapes(config)]
    return TextGenerator(
        NumpyEngine(EngineWeights(config, arrays)), Vocabulary(ALPHABET)
    )


SGD = {"dynamic": True, "variant": "sgd", "learningRate": 0.5, "segmentLength": 10}


async def until(condition, seconds=10.0):
    """Waits (the event loop running) until `condition()` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_dynamic_is_refused_where_it_cannot_run():
    queue = CompletionQueue(random_generator("gru"))
    with pytest.raises(InputError, match="LSTM runs; Received: cell='gru'"):
        queue.configure(SGD)
    assert not queue.settings.dynamic and queue.dynamic_status() == "off"
    queue = CompletionQueue(random_generator())  # no run directory: no corpus
    with pytest.raises(InputError, match="use variant 'sgd'"):
        queue.configure({"dynamic": True})
    assert not queue.settings.dynamic
    queue.configure(SGD)
    assert queue.settings.dynamic
    queue.shutdown()


def test_a_document_learns_the_text_of_its_completions_after_them():
    async def scenario():
        generator = random_generator()
        queue = CompletionQueue(generator)
        queue.configure(SGD)
        await until(lambda: queue.dynamic_status() == "on")
        uri, text = "file:///a.py", make_text(305, seed=1)
        found = await queue.complete(uri, text)
        static = Completer(generator.engine, generator.vocabulary).complete(text)
        assert [c.text for c in found] == [static.text]  # read with θ_0
        document = queue.documents[uri]
        await until(lambda: document.stats()["learned"] == 300)
        assert document.stats()["updates"] == 30
        text += "bad cafe head"  # 13 more: one more whole segment
        await queue.complete(uri, text)
        await until(lambda: document.stats()["learned"] == 310)
        assert document.stats()["updates"] == 31
        found = await queue.complete(uri, text)
        adaptive = document.adaptive
        assert found[0].text == adaptive.completer.complete(text).text
        assert adaptive.adaptation.version > 0 and document.completer.fed == 0
        queue.configure({"dynamic": False})  # back to the trained weights
        found = await queue.complete(uri, text)
        assert document.adaptive is None and document.stats()["learned"] is None
        static = Completer(generator.engine, generator.vocabulary).complete(text)
        assert found[0].log_probability == pytest.approx(static.log_probability)
        queue.shutdown()

    asyncio.run(scenario())


def test_learning_gives_way_to_a_waiting_completion(monkeypatch):
    async def scenario():
        queue = CompletionQueue(random_generator())
        queue.configure(SGD)
        await until(lambda: queue.dynamic_status() == "on")

        async def by_hand():
            pass

        queue._learn = by_hand  # the test has the document learn
        await queue.complete("file:///b.py", make_text(200, seed=2))
        document = queue.documents["file:///b.py"]
        queue._waiting.add("a completion")
        assert queue._learn_some(document)  # more to learn, later
        assert document.stats()["updates"] == 0
        queue._waiting.clear()
        # One step of a segment at a time (read, gradient, update): the weights
        # change at the third.
        monkeypatch.setattr(documents, "ADAPT_SLICE", 0.0)
        for updates in (0, 0, 1, 1):
            assert queue._learn_some(document)
            assert document.stats()["updates"] == updates
        queue.shutdown()

    asyncio.run(scenario())


def test_every_document_learns_its_text_the_latest_first():
    async def scenario():
        queue = CompletionQueue(random_generator())
        queue.configure(SGD)
        await until(lambda: queue.dynamic_status() == "on")
        texts = {
            f"file:///{name}.py": make_text(2001, seed=i) for i, name in enumerate("ab")
        }
        for uri, text in texts.items():  # b's completion comes as a learns
            await queue.complete(uri, text)
        for uri in texts:
            document = queue.documents[uri]
            await until(lambda d=document: d.stats()["learned"] == 2000)
            assert document.stats()["updates"] == 200
        # The model's thread drops a document once it has learned it all.
        await until(lambda: not queue._unlearned)
        queue.shutdown()

    asyncio.run(scenario())
