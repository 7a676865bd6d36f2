import numpy as np
import pytest

from charlstm.config import ModelConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.completion import Completer
from charlstm.infer.engine_weights import EngineWeights, expected_shapes
from charlstm.infer.generator import TextGenerator
from charlstm.infer.numpy_engine import NumpyEngine
from charlstm.infer.states import DocumentStates, common_prefix_length
from tests.helpers import ALPHABET, make_text


def random_generator(seed):
    """A random tiny model (vocabulary 10, 2 x 8 LSTM)."""
    config = ModelConfig(
        vocabulary_size=10, cell="lstm", num_layers=2, units=8, embedding_dim=4
    )
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(0, 0.7, s) for s in expected_shapes(config)]
    return TextGenerator(
        NumpyEngine(EngineWeights(config, arrays)), Vocabulary(ALPHABET)
    )


@pytest.fixture
def generator():
    return random_generator(5)


def document_completer(generator, spacing=40):
    states = DocumentStates(spacing=spacing, recent=4)
    return Completer(generator.engine, generator.vocabulary, cache=states), states


def same_as_fresh(generator, completer, text):
    """The cached completer's answer is what a completer without a cache gives."""
    got = completer.complete(text, max_length=20)
    fresh = Completer(generator.engine, generator.vocabulary).complete(
        text, max_length=20
    )
    assert got.text == fresh.text
    assert got.log_probability == pytest.approx(fresh.log_probability, abs=1e-5)


def test_common_prefix_length():
    a = np.array([1, 2, 3, 4])
    assert common_prefix_length(a, np.array([1, 2, 9, 4])) == 2
    assert common_prefix_length(a, a[:3]) == 3
    assert common_prefix_length(a, np.array([7])) == 0
    assert common_prefix_length(a[:0], a) == 0


def test_typing_feeds_one_character_and_deleting_none(generator):
    text = make_text(2000, seed=1)
    completer, states = document_completer(generator)
    completer.complete(text)
    assert completer.fed == len(text)
    for char in "head bad":
        text += char
        same_as_fresh(generator, completer, text)
        assert completer.fed == 1
    text = text[:-1]  # backspace: the state of the request before is kept
    completer.complete(text)
    assert completer.fed == 0
    # Checkpoints at line starts, at least `spacing` apart, plus recent states.
    assert len(states.checkpoints) <= len(text) // 40
    assert len(states) <= len(states.checkpoints) + 4


def test_an_edit_re_feeds_from_about_the_edit(generator):
    text = make_text(3000, seed=2)
    completer, _ = document_completer(generator)
    completer.complete(text)
    line_start = text.index("\n", 1500) + 1
    longest_line = max(map(len, text.split("\n"))) + 1
    edited = text[:line_start] + "bad " + text[line_start:]
    # The cursor at the edit: re-fed from the checkpoint before it.
    cursor = line_start + len("bad ")
    same_as_fresh(generator, completer, edited[:cursor])
    assert completer.fed <= 40 + longest_line + len("bad ")
    # The cursor at the end: from the edit on, not from the start.
    same_as_fresh(generator, completer, edited)
    assert completer.fed <= len(edited) - cursor
    # Going back before the edit (a prefix of what was read) feeds at most a few
    # lines, and the states after the edit are still there.
    same_as_fresh(generator, completer, edited[:1000])
    assert completer.fed <= 40 + longest_line
    completer.complete(edited)
    assert completer.fed <= 40 + longest_line


def test_multiline_completion_stops_at_a_blank_line():
    generator = random_generator(11)  # greedy after "fe": "\na\na\na\n\n\n..."
    generated = generator.generate("fe", 60, temperature=0)[len("fe") :]
    block = generator.complete("fe", max_length=60, multiline=True)
    assert block.text == generated.split("\n\n")[0] == "\na\na\na"
    assert block.finished
    assert [c.char for c in block.characters] == list(block.text)
    line = generator.complete("fe", max_length=60)
    assert line.text == "" and line.finished
    sampled = generator.complete(
        "fe", max_length=60, multiline=True, temperature=0.5, random_seed=0
    )
    assert "\n\n" not in sampled.text
