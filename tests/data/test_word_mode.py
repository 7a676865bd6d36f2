"""Word mode end to end: the same data layout, model, engines, sampler and line
completion on word-level token ids."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import charlstm
from charlstm.cli import main
from charlstm.data.corpus import load_corpus
from charlstm.data.tokens import TokenVocabulary, tokenize
from charlstm.infer.completion import Completer, UnknownCharactersWarning
from charlstm.infer.generator import TextGenerator
from tests.helpers import make_text, tiny_config


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "words"
    # The greedy outputs the tests below rely on come from this training.
    config = tiny_config(
        tokens="word",
        cell="lstm",
        epochs=2,
        units=8,
        batch_size=2,
        optimizer="rmsprop",
        lr_schedule="exponential",
    )
    result = charlstm.train(text=make_text(3000), run_dir=run_dir, config=config)
    return run_dir, result


@pytest.fixture(scope="module")
def generators(word_run):
    run_dir, _ = word_run
    fast = charlstm.load(run_dir, engine="numpy")
    return fast, charlstm.load(run_dir, engine="keras")


def test_training_saves_a_word_run(word_run):
    run_dir, result = word_run
    config = charlstm.RunConfig.load(run_dir / "config.json")
    assert config.data.tokens == "word" and config.data.max_tokens == 4000
    saved = json.loads((run_dir / "vocab.json").read_text())
    assert saved["kind"] == "word"
    vocabulary = result.vocabulary
    assert isinstance(vocabulary, TokenVocabulary)
    assert {"bad", "cafe", "hedge"} <= set(vocabulary.tokens)
    # 10 characters, the 8 words, and the unknown id, last.
    assert config.model.vocabulary_size == vocabulary.size == 10 + 8 + 1
    assert vocabulary.unknown_id == 18 and vocabulary.tokens[-1] == "\ufffd"
    assert saved["unknown"] is True
    assert charlstm.Vocabulary.load(run_dir / "vocab.json") == vocabulary
    assert len(result.history) == 2


def test_both_engines_load_the_token_vocabulary_and_agree(generators):
    fast, slow = generators
    assert isinstance(fast, TextGenerator) and isinstance(slow, TextGenerator)
    assert isinstance(fast.vocabulary, TokenVocabulary)
    assert fast.vocabulary == slow.vocabulary
    kwargs = dict(temperature=0.8, num_samples=2, random_seed=3)
    assert fast.generate("bad ", 12, **kwargs) == slow.generate("bad ", 12, **kwargs)


def test_length_counts_tokens(generators):
    generator, _ = generators
    vocabulary, engine = generator.vocabulary, generator.engine
    engine.reset(1)
    probs = engine.feed(vocabulary.encode("head ")[None])
    expected = []
    for _ in range(7):
        expected.append(int(probs[0].argmax()))
        probs = engine.step(np.array(expected[-1:]))
    text = generator.generate("head ", 7, temperature=0)
    assert text == "head " + vocabulary.decode(expected)
    assert len(text) - len("head ") > 7  # words of 3 to 5 characters


def test_stream_and_stop_strings_work_on_tokens(generators):
    generator, _ = generators
    full = generator.generate("fed ", 40, temperature=0)[len("fed ") :]
    streamed = "".join(generator.stream("fed ", 40, temperature=0))
    assert streamed == full
    tokens = tokenize(full)
    assert len(tokens) >= 3
    inside = next(t for t in tokens if len(t) > 1)[1:]  # inside a token
    end = len(tokens[0])
    across = full[end - 1 : end + 1]  # the end of one token and the next
    assert across not in tokens
    for stop in ("\n", inside, across, "zz"):  # "zz": never
        cut = full.find(stop)
        expected = full[:cut] if cut >= 0 else full
        assert generator.generate("fed ", 40, temperature=0, stop=stop) == (
            "fed " + expected
        )
        assert "".join(generator.stream("fed ", 40, temperature=0, stop=stop)) == (
            expected
        )


def test_line_completion_stops_at_the_newline_on_both_engines(generators):
    fast, slow = generators
    context = make_text(300, seed=2).rsplit("\n", 1)[0] + "\n"
    for prefix in ("bad ca", "hedge ", "h"):
        completion = fast.complete(prefix, context=context, max_length=20)
        assert "\n" not in completion.text
        assert "".join(c.char for c in completion.characters) == completion.text
        again = slow.complete(prefix, context=context, max_length=20)
        assert again.text == completion.text
        assert again.log_probability == pytest.approx(
            completion.log_probability, abs=1e-4
        )
    best = fast.complete("bad c", context=context, num_candidates=3, max_length=20)
    assert len(best) == 3
    assert [c.log_probability for c in best] == sorted(
        (c.log_probability for c in best), reverse=True
    )


def test_unknown_characters_are_the_unknown_id_in_word_mode(generators):
    generator, _ = generators
    assert generator.vocabulary.unknown("bad cXa") == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is dropped: no warning
        completion = generator.complete("bXd cafe ", max_length=5)
        again = generator.complete("bXd cafe ", max_length=5, strict=True)
    assert again.text == completion.text and "\n" not in completion.text
    text = generator.generate("bXd ", 3, temperature=0)
    assert text.startswith("bXd ") and len(text) > len("bXd ")


def test_evaluate_scores_unknown_characters_not_tokens(generators):
    _, slow = generators
    scores = charlstm.evaluate(slow, text="bad cafe\nXX hedge fed\n" * 20)
    assert scores["unknown_characters"] == 40
    assert scores["unknown_dropped"] == 0
    assert scores["characters"] == 22 * 20
    assert math.isfinite(scores["loss"])
    assert math.isfinite(scores["bits_per_char_known"])


class BigramEngine:
    """An engine whose next-id distribution depends only on the last id."""

    def __init__(self, table):
        self.table = table  # (vocab, vocab), rows sum to 1
        self.last = np.zeros(1, dtype=np.intp)

    def reset(self, batch_size=None):
        self.last = np.zeros(batch_size or len(self.last), dtype=np.intp)

    def feed(self, ids, lengths=None, return_sequences=False):
        self.last = np.asarray(ids)[:, -1].astype(np.intp)
        return self.table[self.last]

    def step(self, ids):
        self.last = np.asarray(ids, dtype=np.intp)
        return self.table[self.last]

    def get_state(self):
        return [self.last.copy()]

    def set_state(self, state):
        self.last = state[0].copy()

    def select(self, rows):
        self.last = self.last[np.asarray(rows, dtype=np.intp)]


def make_bigram_completer(unknown=False):
    """After a space: "self" (0.5), "set" (0.3), "sel" (0.2); "self" -> ".x\\n"."""
    vocabulary = TokenVocabulary(
        ["\n", " ", ".", "e", "f", "l", "s", "t", "x", "=", "sel", "self", "set"],
        unknown=unknown,
    )
    index = {t: i for i, t in enumerate(vocabulary.tokens)}
    table = np.full((vocabulary.size, vocabulary.size), 1e-6)
    follows = {
        " ": {"self": 0.5, "set": 0.3, "sel": 0.2},
        "self": {".": 1.0},
        ".": {"x": 1.0},
        "x": {"\n": 1.0},
        "set": {"\n": 1.0},
        "sel": {"f": 0.1, "\n": 0.9},
        "f": {"\n": 1.0},
    }
    for last, nexts in follows.items():
        for token, p in nexts.items():
            table[index[last], index[token]] = p
    table /= table.sum(axis=1, keepdims=True)
    return Completer(BigramEngine(table), vocabulary)


@pytest.fixture
def bigram_completer():
    return make_bigram_completer()


def test_completion_re_reads_the_last_token(bigram_completer):
    """Completing "x = sel" feeds "x = " and makes the ending spell "sel" first:
    the token "self" wins, which the model never predicts after the token "sel"."""
    best = bigram_completer.complete("x = sel")
    assert best.text == "f.x" and best.finished
    assert best.log_probability == pytest.approx(math.log(0.5), abs=1e-4)
    assert [c.char for c in best.characters] == ["f", ".", "x"]
    assert best.characters[0].probability == pytest.approx(0.5, abs=1e-4)
    endings = bigram_completer.complete("x = sel", num_candidates=3, beam_width=4)
    assert [c.text for c in endings] == ["f.x", "", "f"]
    assert endings[1].log_probability == pytest.approx(math.log(0.2 * 0.9), abs=1e-4)
    # "set" does not start with "sel": ruled out.
    assert bigram_completer.complete("x = se").text == "lf.x"
    sampled = bigram_completer.complete(
        "x = sel", temperature=1.0, num_candidates=4, random_seed=0
    )
    assert {c.text for c in sampled} <= {"f.x", "", "f"}


def test_cli_trains_a_word_run_and_refuses_to_change_it(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(make_text(2000, seed=1))
    run = tmp_path / "run"
    tiny = ["--units", "8", "--num-layers", "1", "--batch-size", "2"]
    tiny += ["--sequence-length", "5", "--epochs", "1", "--quiet"]
    args = ["train", str(corpus), "--out", str(run), *tiny]
    assert main([*args, "--tokens", "word", "--max-tokens", "14"]) == 0
    out = capsys.readouterr().out
    assert "bits/token" in out
    vocabulary = charlstm.Vocabulary.load(run / "vocab.json")
    assert isinstance(vocabulary, TokenVocabulary) and vocabulary.size == 14
    assert main(["train", "--resume", str(run), "--tokens", "char"]) == 2
    assert "--tokens cannot change" in capsys.readouterr().err
    generate = ["generate", str(run), "--seed", "bad ", "--length", "3"]
    assert main([*generate, "--temperature", "0"]) == 0
    assert capsys.readouterr().out.startswith("bad ")
    assert main(["complete", str(run), "--prefix", "bad ca", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "\n" not in answer["completions"][0]["text"]


def test_without_an_unknown_id_unknown_characters_warn_or_raise():
    """A vocabulary written before Unicode corpora has no unknown id."""
    completer = make_bigram_completer(unknown=False)
    with pytest.warns(UnknownCharactersWarning, match="'X'"):
        best = completer.complete("x = Xsel")
    assert best.text == "f.x"  # as for "x = sel"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        completer.complete("x = Xsel", strict=True)


def test_with_an_unknown_id_unknown_characters_are_fed():
    completer = make_bigram_completer(unknown=True)
    vocabulary = completer.vocabulary
    assert vocabulary.unknown_id == 13
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        best = completer.complete("x = X sel", strict=True)
    assert best.text == "f.x"
    np.testing.assert_array_equal(
        completer.encode("x = X "), vocabulary.encode("x = X ")
    )
    assert vocabulary.encode("X")[0] == vocabulary.unknown_id


def test_completing_a_last_token_with_an_unknown_character():
    completer = make_bigram_completer(unknown=True)
    # No token spells "sXl": it is read as it is, unknown id included, and the
    # completion goes on from it instead of failing to heal it.
    completion = completer.complete("x = sXl")
    assert isinstance(completion.text, str) and completion.finished
    assert completer.vocabulary.partial_suffix("x = sXl") == 0
    assert completer.vocabulary.partial_suffix("x = sel") == 3


def test_word_mode_keeps_unicode_identifiers_whole():
    text = "naïve = переменная\nпеременная = naïve + naïve\n" * 3
    corpus = load_corpus(text=text, tokens="word")
    vocabulary = corpus.vocabulary
    assert {"naïve", "переменная"} <= set(vocabulary.tokens)
    naive, variable = vocabulary.encode("naïve"), vocabulary.encode("переменная")
    assert len(naive) == 1 and len(variable) == 1
    assert vocabulary.tokens[naive[0]] == "naïve"
    assert len(corpus.ids) == len(tokenize(text))
    assert vocabulary.decode(corpus.ids) == text
    # Decomposed text is normalised (NFC) first, so "naïve" stays one token.
    decomposed = text.replace("ï", "i\u0308")
    again = load_corpus(text=decomposed, tokens="word")
    np.testing.assert_array_equal(again.ids, corpus.ids)
    apart = load_corpus(text=decomposed, tokens="word", normalize="none")
    assert "naïve" not in apart.vocabulary
    # U+0308 is not a word character: it splits the identifier.
    assert {"nai", "\u0308", "ve"} <= set(apart.vocabulary.tokens)


@given(st.lists(st.text(alphabet="ab \n=", max_size=30), min_size=1, max_size=6))
def test_completer_reuses_the_ids_of_earlier_lines(pieces):
    """Requests that extend the last text reuse its ids; any text encodes right."""
    vocabulary = TokenVocabulary.from_text("ab = ba\naa = b\n", max_tokens=10)
    completer = Completer(BigramEngine(np.eye(vocabulary.size)), vocabulary)
    text = ""
    for n, piece in enumerate(pieces):
        text = text + piece if n % 3 else piece + text  # mostly extending
        np.testing.assert_array_equal(completer.encode(text), vocabulary.encode(text))
