"""Any text: a multilingual corpus (French, Russian, Japanese and Python with
Unicode identifiers) through every part that reads or writes text: training,
generation on both engines, evaluation, completion, word mode, activations and
the HTML view. Each uses accented Latin, Cyrillic, CJK and an emoji outside the
Basic Multilingual Plane."""

import re

import numpy as np
import pytest

import charlstm
from charlstm.interpret.activations import record_activations
from charlstm.interpret.neurons import Neuron
from charlstm.interpret.view import View, render_html
from tests.helpers import tiny_config
from tests.interpret.test_view import parse

FRENCH = (
    "Le cours présente les équations différentielles, à l'école d'été où l'on "
    "étudie la théorie.\n"
)
RUSSIAN = (
    "Курс знакомит студентов с дифференциальными уравнениями и теорией вероятностей.\n"
)
JAPANESE = "この講座では微分方程式と確率論を学びます。日本語の文章です。\n"
PYTHON = 'def größe(länge, 幅):\n    """Fläche 😀"""\n    return länge * 幅\n'
CYCLE = FRENCH + RUSSIAN + JAPANESE + PYTHON
CORPUS = CYCLE * 12
# One sample of each: accented Latin, Cyrillic, CJK, an emoji outside the BMP.
SAMPLES = ("équations", "студентов", "微分方程式", "😀")
SCRIPTS = {
    "Le cours présente ": r"[a-zàâçéèêëîïôûùüÿ]",
    "Курс знакомит ": r"[а-яё]",
    "この講座では": r"[\u3040-\u30ff\u4e00-\u9fff]",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A model that has learned the multilingual corpus by heart."""
    run_dir = tmp_path_factory.mktemp("unicode") / "run"
    config = tiny_config(
        num_layers=1,
        units=64,
        epochs=30,
        batch_size=8,
        sequence_length=25,
        learning_rate=0.02,
    )
    result = charlstm.train(text=CORPUS, run_dir=run_dir, config=config)
    return run_dir, result


def test_the_corpus_trains_with_every_character_kept(run):
    _, result = run
    stats = result.stats
    assert stats.characters == len(CORPUS)
    assert stats.dropped_characters == stats.undecodable_bytes == 0
    assert stats.unknown_characters == 0
    assert set(result.vocabulary.characters) == set(CORPUS)
    assert result.vocabulary.unknown_id == len(set(CORPUS))
    assert result.history[-1]["val_bits_per_char"] < 1.0  # it learned the text


@pytest.mark.parametrize("engine", ["numpy", "keras"])
def test_generates_text_in_each_script(run, engine):
    generator = charlstm.load(run[0], engine=engine)
    for seed, script in SCRIPTS.items():
        written = generator.generate(seed, 30, temperature=0.2, random_seed=0)
        assert written.startswith(seed)
        line = written[len(seed) :].split("\n")[0]  # then the corpus goes on
        letters = [c for c in line if c.isalpha()]
        assert len(letters) >= 5, (seed, written)
        share = np.mean([bool(re.fullmatch(script, c.lower())) for c in letters])
        assert share > 0.8, (seed, written)


def test_numpy_and_keras_engines_agree_on_unicode_text(run):
    text = "".join(SAMPLES) + PYTHON
    probs = {}
    for engine in ("numpy", "keras"):
        generator = charlstm.load(run[0], engine=engine)
        ids = generator.vocabulary.encode(text)
        generator.engine.reset(1)
        probs[engine] = generator.engine.feed(
            ids[None].astype(np.int32), return_sequences=True
        )
    np.testing.assert_allclose(probs["numpy"], probs["keras"], atol=1e-5)


def test_evaluation_scores_every_character_unknown_ones_apart(run):
    generator = charlstm.load(run[0])
    held_out = FRENCH + RUSSIAN + JAPANESE + PYTHON + "∑ ≠ ∞\n"  # 3 unseen
    scores = charlstm.evaluate(generator, text=held_out)
    assert scores["characters"] == len(held_out)
    assert scores["unknown_characters"] == 3
    assert scores["unknown_dropped"] == 0
    assert scores["bits_per_char_known"] < scores["bits_per_char"]
    known = charlstm.evaluate(generator, text=held_out[:-6])
    assert known["unknown_characters"] == 0
    assert known["bits_per_char_known"] == pytest.approx(known["bits_per_char"])


def test_completion_finishes_lines_in_each_script(run):
    generator = charlstm.load(run[0])
    for prefix, rest in [
        ("Le cours présente les équa", "tions différentielles"),
        ("Курс знакомит студен", "тов с дифференциальными"),
        ("この講座では微分", "方程式と確率論"),
        ('    """Fläche ', '😀"""'),
    ]:
        best = generator.complete(prefix, context=CYCLE)  # after a whole cycle
        assert best.text.startswith(rest), (prefix, best.text)


def test_word_mode_keeps_unicode_identifiers_whole(tmp_path):
    config = tiny_config(tokens="word", max_tokens=200, epochs=1, units=16)
    result = charlstm.train(text=CORPUS, run_dir=tmp_path / "words", config=config)
    vocabulary = result.vocabulary
    for word in ("größe", "länge", "студентов", "équations"):
        assert word in vocabulary.tokens
    assert result.stats.unknown_characters == 0
    generator = charlstm.load(tmp_path / "words")
    written = generator.generate("def größe(", 20, random_seed=0)
    assert written.startswith("def größe(") and len(written) > len("def größe(")
    ids = vocabulary.encode(PYTHON)
    assert vocabulary.decode(ids) == PYTHON


def test_activations_and_the_html_view_show_every_character(run):
    generator = charlstm.load(run[0])
    text = " ".join(SAMPLES) + "\n"
    acts = record_activations(generator, text)
    assert acts.text == text
    assert acts.tokens == list(text)  # the emoji is one step, not two
    assert acts.hidden.shape[1] == len(text)
    assert acts.dropped == {}
    held = parse(render_html(acts, [View(Neuron(0, 3))])).data
    # The page holds the text once and one value per step; the script splits the
    # text by code point (checked in a browser in tests/interpret/test_view.py).
    assert held["text"] == text and held["lengths"] is None
    assert len(held["neurons"][0]["values"]) == 2 * len(text)


def test_characters_outside_the_vocabulary_are_read_as_the_unknown_id(run):
    generator = charlstm.load(run[0])
    acts = record_activations(generator, "a ∑ e")
    assert acts.dropped == {}
    assert acts.tokens == ["a", " ", "\ufffd", " ", "e"]
