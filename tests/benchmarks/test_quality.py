"""benchmarks/quality.py's bookkeeping: which recorded choice a test run uses,
and which rows the report puts together. The protocol's honesty rests on these
(a setting chosen on one split must never be read as chosen on another); the
training itself is the library's and is tested there."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def quality():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_quality", BENCHMARKS / "quality.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def row(corpus, seed, loss, **fields):
    return dict(
        phase="test",
        corpus=corpus,
        contender="charlstm",
        candidate="ln_lstm",
        seed=seed,
        loss=loss,
        **fields,
    )


NLTK = "package:nltk"


def test_dynamic_choice_comes_from_the_named_corpus_only(quality):
    chosen_on_nltk = row(NLTK, 0, 1.0, dynamic={"a": 0.9, "b": 0.8})
    chosen_on_nltk["phase"] = "tune"
    # French's seed-0 run scored with NLTK's choice: it tried no setting.
    french_with_nltk = row("french", 0, 0.5, tuned_on=NLTK, dynamic_setting="b")
    # French's seed-0 run choosing on its own tuning split.
    french_own = row(
        "french",
        0,
        0.5,
        tuned_on=NLTK,
        dynamic_tuned_on="french",
        dynamic={"a": 0.4, "b": 0.7},
    )
    # A grid on a French row whose setting is recorded as chosen on NLTK's
    # split: never French's own choice.
    french_grid_elsewhere = row(
        "french", 1, 0.5, tuned_on=NLTK, dynamic={"a": 0.9, "c": 0.1}
    )
    results = [chosen_on_nltk, french_grid_elsewhere, french_with_nltk, french_own]
    assert quality.best_dynamic(results, NLTK, "ln_lstm") == "b"
    assert quality.best_dynamic(results, "french", "ln_lstm") == "a"
    # A corpus scored only with another's choice has chosen nothing itself.
    assert quality.best_dynamic(results[:3], "french", "ln_lstm") == ""


def test_a_new_row_names_where_each_setting_was_chosen(quality):
    made = quality.new_row("test", "french", "charlstm", "ln_lstm", 0, NLTK, "french")
    assert quality.settings_origin(made) == NLTK
    assert quality.dynamic_origin(made) == "french"
    # GPT-2 has no dynamic setting; a corpus's own choices are not named.
    gpt2 = quality.new_row("test", "french", "gpt2", "lr-x0.5", 0, NLTK, "french")
    assert "dynamic_tuned_on" not in gpt2 and quality.dynamic_origin(gpt2) == NLTK
    own = quality.new_row("test", NLTK, "charlstm", "ln_lstm", 0, NLTK, NLTK)
    assert "tuned_on" not in own and "dynamic_tuned_on" not in own


def test_rows_with_a_different_dynamic_origin_are_different_runs(quality):
    with_nltk = row("french", 0, 0.5, tuned_on=NLTK)
    own = row("french", 0, 0.5, tuned_on=NLTK, dynamic_tuned_on="french")
    assert quality.key(with_nltk) != quality.key(own)
    assert quality.dynamic_origin(with_nltk) == NLTK
    assert quality.dynamic_origin(own) == "french"
    assert quality.dynamic_origin(row(NLTK, 0, 1.0)) == NLTK


def test_report_keeps_each_origin_in_its_own_table(quality):
    results = [
        row("french", 0, 0.40, tuned_on=NLTK),
        row("french", 1, 0.50, tuned_on=NLTK),
        row("french", 0, 0.60, tuned_on=NLTK, dynamic_tuned_on="french"),
        row("french", 1, 0.70, tuned_on=NLTK, dynamic_tuned_on="french"),
    ]
    text = quality.report(results)
    assert "settings chosen on the tuning split of package:nltk), nats/char" in text
    assert (
        "settings chosen on the tuning split of package:nltk, the dynamic "
        "setting on its own tuning split), nats/char" in text
    )
    means = [
        line.split("|")[3].strip() for line in text.splitlines() if "ln_lstm" in line
    ]
    assert means == ["0.450", "0.650"]  # never the four runs averaged together


def test_wider_dynamic_steps_are_recorded_and_kept_apart(quality):
    steps = (2e-5,) + quality.DYNAMIC_STEPS
    made = quality.new_row(
        "test", "french", "charlstm", "ln_lstm", 0, NLTK, "french", steps
    )
    assert made["dynamic_steps"] == list(steps)
    usual = quality.new_row("test", "french", "charlstm", "ln_lstm", 0, NLTK, "french")
    assert "dynamic_steps" not in usual
    assert quality.key(made) != quality.key(usual)
    # A choice made among other steps is never reused for these, nor the reverse.
    first = dict(made, dynamic={"lr2e-05-decay0": 0.3, "lr5e-05-decay0": 0.4})
    assert quality.best_dynamic([first], "french", "ln_lstm") == ""
    assert quality.best_dynamic([first], "french", "ln_lstm", steps) == "lr2e-05-decay0"
    # The report gives the wider grid's runs their own table, naming the steps.
    text = quality.report(
        [
            dict(usual, loss=0.4),
            dict(usual, seed=1, loss=0.5),
            dict(made, loss=0.6),
            dict(made, seed=1, loss=0.7),
        ]
    )
    assert "dynamic steps 2e-05, 5e-05, 0.0002, 0.001), nats/char" in text
    means = [
        line.split("|")[3].strip() for line in text.splitlines() if "ln_lstm" in line
    ]
    assert means == ["0.450", "0.650"]
    assert len(quality.dynamic_grid(steps)) == 2 * len(steps)


def test_dynamic_steps_are_parsed_sorted_and_checked(quality):
    assert quality.steps_list("2e-4, 1e-5,1e-5") == (1e-5, 2e-4)
    for bad in ("", "fast", "0,1e-5", "-1e-5", "inf"):
        with pytest.raises(quality.argparse.ArgumentTypeError, match="positive"):
            quality.steps_list(bad)
    with pytest.raises(quality.argparse.ArgumentTypeError, match="6 significant"):
        quality.steps_list("1e-5,1.0000001e-5")


def test_dynamic_steps_are_refused_where_no_dynamic_choice_is_made(quality):
    for argv in (
        ["tune", "--dynamic-steps", "1e-5"],
        ["test", "--dynamic-steps", "1e-5", "--no-dynamic"],
        ["test", "--dynamic-steps", "1e-5", "--contenders", "gpt2"],
    ):
        with pytest.raises(SystemExit) as stopped:
            quality.main(["--results", "/nonexistent/q.jsonl", *argv])
        assert stopped.value.code == 2
