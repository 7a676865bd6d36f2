"""Recording every layer's states (charlstm/interpret/activations.py)."""

import numpy as np
import pytest

from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.keras_engine import KerasEngine
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.interpret.activations import (
    Activations,
    record_activations,
    record_generation,
    record_ids,
)
from tests.helpers import ALPHABET, make_text, tiny_model_config


def random_generator(
    cell="lstm", encoding="embedding", seed=0, vocabulary=ALPHABET, **overrides
):
    """A TextGenerator with random weights over `vocabulary`'s characters."""
    vocabulary = Vocabulary(vocabulary)
    config = tiny_model_config(
        cell, encoding, vocabulary_size=vocabulary.size, **overrides
    )
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(0, 0.5, s).astype(np.float32) for s in expected_shapes(config)]
    return TextGenerator(NumpyEngine(EngineWeights(config, arrays)), vocabulary)


@pytest.mark.parametrize(
    "cell,encoding",
    [("lstm", "embedding"), ("gru", "one_hot"), ("simple_rnn", "embedding")],
)
def test_recorded_states_match_keras_step_by_step(cell, encoding):
    """The Keras stateful inference model, one character per call, reading
    every layer's `states` after each call."""
    from charlstm.model.build import reset_states

    generator = random_generator(cell, encoding)
    text = make_text(16, seed=1)
    acts = record_activations(generator, text)
    model = generator.inference_model(1)
    reset_states(model)
    layers = [model.get_layer(f"{cell}_{i}") for i in range(2)]
    ids = generator.vocabulary.encode(text).astype(np.int32)
    for t, token_id in enumerate(ids):
        model(np.array([[token_id]], np.int32), training=False)
        for i, layer in enumerate(layers):
            states = [np.asarray(s.numpy()) for s in layer.states]  # (1, units) each
            np.testing.assert_allclose(acts.hidden[i, t], states[0][0], atol=1e-5)
            if cell == "lstm":
                np.testing.assert_allclose(acts.cell[i, t], states[1][0], atol=1e-5)
    assert (acts.cell is None) == (cell != "lstm")


def test_last_step_matches_the_engine_feed():
    generator = random_generator("lstm")
    ids = generator.vocabulary.encode(make_text(300, seed=2))
    hidden, cell = record_ids(generator, ids)
    assert hidden.shape == cell.shape == (2, 300, 8)  # (layers, steps, units)
    engine = generator.engine
    engine.reset(1)
    engine.feed(ids[None, :])
    state = engine.get_state()  # h0, c0, h1, c1 after the last id
    expected_h = np.stack([state[0][0], state[2][0]])  # (layers, units)
    expected_c = np.stack([state[1][0], state[3][0]])
    np.testing.assert_allclose(hidden[:, -1], expected_h, atol=1e-6)
    np.testing.assert_allclose(cell[:, -1], expected_c, atol=1e-6)


def test_record_generation_writes_what_generate_writes():
    generator = random_generator("gru")
    acts = record_generation(generator, "abc ", 30, temperature=0.8, random_seed=3)
    expected = generator.generate("abc ", 30, temperature=0.8, random_seed=3)
    assert acts.text == expected
    assert acts.seed_steps == 4 and acts.num_steps == 34
    # The states of the generated part are those of reading the whole text.
    read = record_activations(generator, acts.text)
    np.testing.assert_allclose(acts.hidden, read.hidden, atol=1e-6)


def test_recording_runs_on_the_keras_engine_too():
    """A RecordingEngine wraps any engine: Keras records the same states."""
    generator = random_generator("lstm", "one_hot", seed=5)
    on_keras = TextGenerator(
        KerasEngine(generator.config, generator.weights), generator.vocabulary
    )
    text = make_text(60, seed=2)
    ours, theirs = (
        record_activations(generator, text),
        record_activations(on_keras, text),
    )
    np.testing.assert_allclose(theirs.hidden, ours.hidden, atol=1e-5)
    np.testing.assert_allclose(theirs.cell, ours.cell, atol=1e-5)
    written = record_generation(on_keras, "abc ", 20, temperature=0, random_seed=1)
    assert written.text == generator.generate("abc ", 20, temperature=0)


def test_unknown_characters_are_dropped_and_counted():
    generator = random_generator()
    acts = record_activations(generator, "ab#c€€d")
    assert acts.text == "abcd"
    assert acts.dropped == {"#": 1, "€": 2}
    assert acts.dropped_count == 3
    assert acts.ends.tolist() == [0, 1, 2, 3]


def test_empty_and_unreadable_text_are_errors():
    generator = random_generator()
    with pytest.raises(ValueError, match="`text` must contain at least one"):
        record_activations(generator, "")
    with pytest.raises(ValueError, match="all 3 characters are outside"):
        record_activations(generator, "XYZ")
    with pytest.raises(ValueError, match="`seed` must contain"):
        record_generation(generator, "", 5)
    with pytest.raises(ValueError, match="`length`"):
        record_generation(generator, "a", -1)


def test_neuron_checks_name_the_valid_range():
    acts = record_activations(random_generator("simple_rnn"), "abc")
    assert acts.kinds == ("h",)
    assert acts.neuron(1, 7).shape == (3,)
    with pytest.raises(ValueError, match=r"`unit` must be in 0\.\.7"):
        acts.neuron(1, 8)
    with pytest.raises(ValueError, match=r"`layer` must be in 0\.\.1"):
        acts.neuron(2, 0)
    with pytest.raises(ValueError, match="`kind` must be one of"):
        acts.neuron(0, 0, "c")


def test_word_mode_records_one_step_per_token():
    from charlstm.data.tokens import TokenVocabulary

    vocabulary = TokenVocabulary.from_text("abc abc head\n", max_tokens=12)
    config = tiny_model_config(vocabulary_size=vocabulary.size)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, 0.5, s).astype(np.float32) for s in expected_shapes(config)]
    generator = TextGenerator(NumpyEngine(EngineWeights(config, arrays)), vocabulary)
    acts = record_activations(generator, "abc head\n")
    assert isinstance(acts, Activations)
    assert acts.tokens == ["abc", " ", "head", "\n"]
    assert acts.ends.tolist() == [2, 3, 7, 8]
