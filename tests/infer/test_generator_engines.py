import numpy as np
import pytest

import charlstm
from charlstm.data.vocabulary import UNKNOWN_CHARACTER, Vocabulary
from charlstm.infer.generator import TextGenerator
from charlstm.model.build import build_model, reset_states
from tests.helpers import ALPHABET, tiny_model_config


@pytest.fixture(scope="module", params=["numpy", "keras"])
def generator(trained_run, request):
    """The one `TextGenerator`, on each engine."""
    return charlstm.load(trained_run, engine=request.param)


def random_generator(
    cell="lstm", encoding="embedding", batch_size=4, sequence_length=5
):
    config = tiny_model_config(cell, encoding)
    model = build_model(config, batch_size, sequence_length)
    return model, TextGenerator.from_model(
        model, Vocabulary(ALPHABET), config, engine="keras"
    )


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("encoding", ["one_hot", "embedding"])
def test_batch_one_inference_model_matches_training_model(cell, encoding):
    train_model, generator = random_generator(cell, encoding)
    ids = np.random.default_rng(1).integers(0, 10, size=(4, 10)).astype("int32")
    # The training model reads two consecutive windows, carrying its state.
    expected = np.concatenate(
        [
            np.asarray(train_model(ids[:, :5], training=False)),
            np.asarray(train_model(ids[:, 5:], training=False)),
        ],
        axis=1,
    )  # (batch, 10, vocab)
    inference = generator.inference_model(1)
    for row in range(4):
        reset_states(inference)
        got = np.asarray(inference(ids[row : row + 1]))  # whole row in one call
        np.testing.assert_allclose(got[0], expected[row], atol=1e-5)


def test_generate_returns_seed_plus_length(generator):
    text = generator.generate("abc", 30, random_seed=0)
    assert text.startswith("abc") and len(text) == 33
    # The characters, and the unknown id's U+FFFD (docs/unicode.md), which
    # temperature 1 can sample.
    assert set(text) <= set(ALPHABET) | {UNKNOWN_CHARACTER}
    assert generator.generate("abc", 0) == "abc"


def test_reproducible_with_random_seed(generator):
    a = generator.generate("ab", 40, temperature=1.0, random_seed=7)
    b = generator.generate("ab", 40, temperature=1.0, random_seed=7)
    c = generator.generate("ab", 40, temperature=1.0, random_seed=8)
    assert a == b and a != c


def test_greedy_matches_a_manual_argmax_loop(generator):
    text = generator.generate("head ", 25, temperature=0.0)
    model = generator.inference_model(1)
    ids = list(generator.vocabulary.encode("head "))
    probs = np.asarray(model(np.array([ids], dtype="int32")))[0, -1]
    out = []
    for _ in range(25):
        nxt = int(np.argmax(probs))
        out.append(nxt)
        probs = np.asarray(model(np.array([[nxt]], dtype="int32")))[0, -1]
    assert text == "head " + generator.vocabulary.decode(out)


def test_multiple_samples_are_independent_and_each_reproducible(generator):
    texts = generator.generate("fed", 30, temperature=1.0, num_samples=3, random_seed=3)
    assert isinstance(texts, list) and len(texts) == 3
    assert all(t.startswith("fed") and len(t) == 33 for t in texts)
    assert len(set(texts)) > 1
    # Greedy samples from the same seed are identical.
    greedy = generator.generate("fed", 20, temperature=0, num_samples=2)
    assert greedy[0] == greedy[1] == generator.generate("fed", 20, temperature=0)


def test_top_k_one_is_greedy(generator):
    assert generator.generate(
        "bad", 20, temperature=1.5, top_k=1, random_seed=1
    ) == generator.generate("bad", 20, temperature=0)


@pytest.mark.parametrize("temperature", [-0.1, float("nan")])
def test_invalid_temperature(generator, temperature):
    with pytest.raises(ValueError, match="temperature"):
        generator.generate("abc", 5, temperature=temperature)


def test_invalid_length_and_seed(generator):
    with pytest.raises(ValueError, match="length"):
        generator.generate("abc", -1)
    with pytest.raises(ValueError, match="seed"):
        generator.generate("", 5)


def test_seed_characters_outside_the_vocabulary(generator):
    """Read as the unknown id: the seed comes back with U+FFFD in their place."""
    assert generator.outside("abzX") == ["X", "z"] and generator.unknown("abzX") == []
    out = generator.generate("abzX", 5, random_seed=0)
    assert out.startswith("abzX") and len(out) == 9
    assert generator.generate("abzX", 5, random_seed=0, strict=False) == out


def test_seed_characters_a_vocabulary_without_an_unknown_id_cannot_read():
    """Runs from before unknown ids: an error, or dropped with strict=False."""
    _, old = random_generator()  # Vocabulary(ALPHABET): no unknown id
    with pytest.raises(ValueError, match=r"'X', 'z'"):
        old.generate("abzX", 5)
    assert old.generate("abzX", 5, strict=False).startswith("ab")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        charlstm.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no trained model"):
        charlstm.load(tmp_path / "empty")


def test_train_result_generator_uses_last_weights(text):
    from tests.helpers import tiny_config

    result = charlstm.train(text=text, config=tiny_config())
    generator = result.generator()
    for a, b in zip(generator.weights, result.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
