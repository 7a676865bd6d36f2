import json
import math

import pytest

import charlstm
from charlstm.data.vocabulary import Vocabulary
from charlstm.eval.codegen import (
    FunctionExample,
    cut_at_dedent,
    generate_body,
    generate_function_body,
    read_results,
    results_jsonl,
    run_codegen,
    summarize,
)
from charlstm.eval.metrics import bleu_perez2021
from charlstm.infer.generator import Generator
from charlstm.infer.sampling import Sampling


def example(prompt, body, indent="", name="f"):
    return FunctionExample(
        path="m.py",
        name=name,
        qualified_name=name,
        lineno=1,
        prompt=prompt,
        body=body,
        indent=indent,
        body_indent=indent + "    ",
    )


TOP = example('def f(x):\n    """Add one."""\n', "    return x + 1\n")
METHOD = example(
    '    def m(self):\n        """Self."""\n', "        return self\n", "    ", "m"
)


class StreamGenerator(Generator):
    """Yields a scripted continuation one character at a time; counts reads."""

    def __init__(self, script, vocabulary=None):
        self.script = script
        self.vocabulary = vocabulary
        self.read = 0
        self.calls = []

    def unknown(self, text):
        return self.vocabulary.unknown(text) if self.vocabulary else []

    def outside(self, text):
        return self.vocabulary.outside(text) if self.vocabulary else []

    def stream(self, seed, length, sampling=None, **changes):
        sampling = Sampling.of(sampling, **changes)
        self.calls.append((seed, length, sampling.temperature, sampling.random_seed))
        return self._pieces(length)

    def _pieces(self, length):
        for char in self.script[:length]:
            self.read += 1
            yield char


def test_stream_stops_reading_at_the_dedented_line():
    script = "    y = x\n\n    if y:\n        return y\n\n\ndef g():\n    pass\n"
    generator = StreamGenerator(script)
    made = generate_function_body(
        generator, TOP, max_length=500, sampling=Sampling(random_seed=3)
    )
    assert made.text == "    y = x\n\n    if y:\n        return y\n"
    assert made.ended_at_dedent and made.unknown_characters == 0
    assert generator.read == script.index("def g") + 1  # no character further
    assert generator.calls == [(TOP.prompt, 500, 0.75, 3)]


def test_a_method_ends_at_its_own_level_not_the_body_level():
    script = (
        "        x = 1\n      # deeper than the def: kept\n        return x\n"
        "    def n(self):\n"
    )
    made = generate_function_body(StreamGenerator(script), METHOD)
    assert (
        made.text
        == "        x = 1\n      # deeper than the def: kept\n        return x\n"
    )
    assert made.ended_at_dedent


def test_the_length_cap_ends_a_body_that_never_dedents():
    generator = StreamGenerator("    x = 1\n" * 100)
    made = generate_function_body(generator, TOP, max_length=25)
    assert made.text == "    x = 1\n    x = 1\n    x\n"  # 25 characters, closed
    assert not made.ended_at_dedent
    assert generator.read == 25


def test_a_dedent_on_the_first_line_gives_an_empty_body():
    assert generate_body(StreamGenerator("def g():\n"), TOP) == ""


def test_prompt_characters_outside_the_vocabulary_are_counted():
    vocabulary = Vocabulary("abcdefghijklmnopqrstuvwxyz ():\n")
    generator = StreamGenerator("        return self\n\n    def n(self):\n", vocabulary)
    made = generate_function_body(generator, METHOD, max_length=200)
    assert made.text == "        return self\n"
    assert made.ended_at_dedent
    assert generator.calls[0][0] == "    def m(self):\n        elf\n"
    assert made.unknown_characters == 8  # six quotes, "S" and "."
    # With an unknown id nothing is dropped: the prompt is read whole.
    generator = StreamGenerator(
        "        return self\n\n    def n(self):\n",
        Vocabulary(vocabulary.characters, True),
    )
    made = generate_function_body(generator, METHOD, max_length=200)
    assert generator.calls[0][0] == METHOD.prompt
    assert made.unknown_characters == 8


def test_dedent_helpers():
    # Tabs count to the next multiple of 8: 8 spaces are at the level of "\t".
    text = "\t\ta\n" + " " * 9 + "b\n" + " " * 8 + "c\n"
    assert cut_at_dedent(text, "\t") == ("\t\ta\n" + " " * 9 + "b\n", True)
    assert cut_at_dedent("    a\n", "") == ("    a\n", False)


def test_run_codegen_golden_scores_with_a_scripted_generator():
    class Copier(Generator):
        """Writes the true body for `f`, broken code for `g`."""

        def stream(self, seed, length, sampling=None):
            body = "    return x + 1\n" if "f(" in seed else "    return (x +\n"
            return (c for c in body)

    g = example('def g(x):\n    """Open."""\n', "    return (x)\n", name="g")
    seen = []
    result = run_codegen(
        Copier(),
        [TOP, g],
        training_text="zzz    return x + 1\nzzz",
        novelty_sizes=(5, 10),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 2), (2, 2)]
    first, second = result.records
    # Perez et al.'s protocol: the whole function is the reference, the body the
    # hypothesis. Every n-gram of the true body is in it: only the brevity
    # penalty exp(1 - r / c) is left.
    r, c = len(TOP.source), len(TOP.body)
    assert first["bleu_perez2021"] == pytest.approx(math.exp(1 - r / c), abs=1e-12)
    assert second["bleu_perez2021"] == bleu_perez2021(g.source, "    return (x +\n")
    summary = result.summary
    assert summary["bleu_perez2021"] == pytest.approx(
        (first["bleu_perez2021"] + second["bleu_perez2021"]) / 2
    )
    assert first["syntax_valid"] and not second["syntax_valid"]
    assert summary["syntax_valid_rate"] == 0.5
    # Tokens: "return x + 1" exactly, then "return ( x +" against "return ( x )".
    # Pooled: 1-grams (4 + 3) / (4 + 4), 2-grams (3 + 2) / (3 + 3), 3-grams
    # (2 + 1) / (2 + 2), 4-grams (1 + 0) / (1 + 1); 8 tokens each, no penalty.
    expected = (7 / 8 * 5 / 6 * 3 / 4 * 1 / 2) ** 0.25
    assert summary["bleu_tokens"] == pytest.approx(expected, abs=1e-12)
    # Novelty: the true body is in the training text. Of "    return (x +\n",
    # the 5-windows up to "turn " are, the 5 from "urn (" on are not; of its
    # 10-windows, "    return" and "   return " are.
    assert (first["copied_10"], first["windows_10"]) == (1.0, 8)
    assert (second["copied_5"], second["windows_5"]) == (7 / 12, 12)
    assert (second["copied_10"], second["windows_10"]) == (2 / 7, 7)
    assert summary["copied_5"] == (13 + 7) / (13 + 12)
    assert summary["copied_10"] == (8 + 2) / (8 + 7)
    assert summary["windows_10"] == 15
    assert summary["count"] == 2 and summary["ended_at_dedent_rate"] == 0.0
    assert summary["parameters"]["novelty_sizes"] == [5, 10]
    # The summary can be recomputed from the written records.
    again = summarize(
        json.loads(line) for line in results_jsonl(result.records).splitlines()
    )
    assert again == {k: v for k, v in summary.items() if k in again}


def test_run_codegen_seeds_each_example_and_checks_input():
    generator = StreamGenerator("    pass\n")
    run_codegen(
        generator, [TOP, TOP, TOP], sampling=Sampling(random_seed=10), max_length=7
    )
    assert [call[3] for call in generator.calls] == [10, 11, 12]
    assert [call[1] for call in generator.calls] == [7, 7, 7]
    result = run_codegen(generator, [TOP], sampling=Sampling(random_seed=None))
    assert generator.calls[-1][3] is None
    assert result.summary["copied_20"] is None and result.summary["windows_20"] == 0
    with pytest.raises(ValueError, match="examples"):
        run_codegen(generator, [])
    with pytest.raises(ValueError, match="max_length"):
        run_codegen(generator, [TOP], max_length=0)


def test_results_file_round_trip_and_bad_files(tmp_path):
    result = run_codegen(StreamGenerator("    return x + 1\n"), [TOP])
    path = tmp_path / "results.jsonl"
    path.write_text(results_jsonl(result.records))
    assert read_results(path) == result.records
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_results(tmp_path / "empty.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"prompt": "x"}\n')
    with pytest.raises(ValueError, match="line 1.*missing reference_body"):
        read_results(tmp_path / "bad.jsonl")
    (tmp_path / "junk.jsonl").write_text("not json\n")
    with pytest.raises(ValueError, match="not JSON"):
        read_results(tmp_path / "junk.jsonl")
    with pytest.raises(ValueError, match="empty"):
        summarize([])


def test_results_file_with_the_old_bleu_key_is_read_under_the_new_one(tmp_path):
    result = run_codegen(StreamGenerator("    return x + 1\n"), [TOP])
    old = [{k.replace("perez2021", "seed000"): v for k, v in result.records[0].items()}]
    (tmp_path / "old.jsonl").write_text(results_jsonl(old))
    assert "bleu_seed000" in old[0] and "bleu_perez2021" not in old[0]
    assert read_results(tmp_path / "old.jsonl") == result.records


def test_on_a_trained_model(trained_run):
    generator = charlstm.load(trained_run, engine="numpy")
    prompt = "def bad(cafe):\n    'head'\n"
    ex = example(prompt, "    fed beef\n")
    first = run_codegen(
        generator, [ex, ex], max_length=40, sampling=Sampling(random_seed=1)
    )
    again = run_codegen(
        generator, [ex, ex], max_length=40, sampling=Sampling(random_seed=1)
    )
    assert [r["generated_body"] for r in first.records] == [
        r["generated_body"] for r in again.records
    ]
    for record in first.records:
        assert record["unknown_characters"] == 5  # ( ) : ' ', read as unknown
        body = record["generated_body"]
        assert len(body) <= 41
        assert set(body) <= set(generator.vocabulary.tokens)  # U+FFFD: unknown
        assert all(
            not line.strip() or line.startswith(" ") for line in body.split("\n")
        )
