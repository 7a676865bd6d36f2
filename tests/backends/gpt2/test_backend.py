"""The GPT-2 backend: training on the LSTM's split, generation, evaluation, presets.

One tiny GPT-2 (2 layers, 2 heads, 32 wide, windows of 16 tokens, a 300-token
BPE trained here) is trained once for the module and shared: these are the
heaviest tests of the suite.
"""

import json
import math

import keras
import numpy as np
import pytest

import charlstm
from charlstm.backends.gpt2.backend import (
    GPT2Config,
    evaluate_gpt2,
    load_gpt2,
    load_preset,
    train_gpt2,
)
from charlstm.backends.gpt2.data import split_streams, token_windows
from charlstm.backends.gpt2.generation import GPT2Generator
from charlstm.backends.gpt2.tokenizer import decode, encode
from charlstm.config import TrainingConfig
from charlstm.data.batches import StatefulBatches
from charlstm.data.vocabulary import Vocabulary
from charlstm.infer.generator import Generator
from charlstm.infer.sampling import Sampling
from charlstm.training.run_dir import HISTORY_COLUMNS
from tests.gpt2_helpers import make_code, tiny_data_config, tiny_gpt2_config
from tests.helpers import make_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def code():
    return make_code(12000)


@pytest.fixture(scope="module")
def trained(code, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("gpt2") / "run"
    result = train_gpt2(
        text=code,
        run_dir=run_dir,
        config=tiny_gpt2_config(),
        data=tiny_data_config(),
        training=TrainingConfig(epochs=1, random_seed=0),
    )
    return result


@pytest.fixture(scope="module")
def generator(trained):
    return load_gpt2(trained.run_dir)


def test_run_directory_follows_the_lstm_conventions(trained):
    run = trained.run_dir
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json",
        "history.csv",
        "last.keras",
        "model.keras",
        "tokenizer.json",
    ]
    saved = json.loads((run / "config.json").read_text())
    assert saved["backend"] == "gpt2"
    assert saved["model"]["vocabulary_size"] == 300
    assert saved["model"]["learning_rate"] == 1e-3  # resolved and recorded
    header = (run / "history.csv").read_text().splitlines()[0]
    assert tuple(header.split(",")) == HISTORY_COLUMNS
    (row,) = trained.history
    assert row["val_bits_per_char"] == pytest.approx(row["val_loss"] / math.log(2))
    assert 0 < row["loss"] < 8 and row["chars_per_second"] > 0
    # Tokens are longer than characters: about 1.6 characters per token here.
    assert 1.2 < trained.config.model.characters_per_token < 3


def test_split_is_the_lstms(code):
    data = tiny_data_config()
    split = split_streams(code, data)
    vocabulary = Vocabulary.from_text(code.encode())
    batches = StatefulBatches(
        vocabulary.encode(code.encode()),
        data.batch_size,
        data.sequence_length,
        data.validation_split,
    )
    head = batches.train.count * data.sequence_length
    for i in range(data.batch_size):
        tail_targets = batches.targets[i, head:]
        assert split.validation[i] == vocabulary.decode(tail_targets)
        assert split.train[i][:-1] == vocabulary.decode(batches.inputs[i, :head])
        assert split.train[i][1:] == vocabulary.decode(batches.targets[i, :head])
    assert sum(map(len, split.validation)) == batches.validation.characters


def test_validation_scores_exactly_the_lstms_characters(trained, code):
    data = tiny_data_config()
    batches = StatefulBatches(
        np.zeros(len(code), np.uint8),
        data.batch_size,
        data.sequence_length,
        data.validation_split,
    )
    assert trained.validation_characters == batches.validation.characters


def test_generation_is_reproducible_and_counts_characters(generator):
    first = generator.generate("def ", 60, random_seed=3)
    assert first == generator.generate("def ", 60, random_seed=3)
    assert first.startswith("def ") and len(first) == 4 + 60
    others = {generator.generate("def ", 60, random_seed=s) for s in range(4, 8)}
    assert len(others | {first}) > 1
    greedy = generator.generate("for ", 30, temperature=0, random_seed=1)
    assert greedy == generator.generate("for ", 30, temperature=0, random_seed=2)
    # A length longer than the window (16 tokens) slides it on.
    assert len(generator.generate("x", 120, random_seed=0)) == 121


def test_batched_seeds_samples_and_sampling_options(generator):
    out = generator.generate(
        ["def ", "class Value("],
        25,
        num_samples=2,
        top_k=5,
        top_p=0.9,
        temperature=0.5,
        random_seed=0,
    )
    assert [len(group) for group in out] == [2, 2]
    assert all(s.startswith("def ") and len(s) == 29 for s in out[0])
    assert all(s.startswith("class Value(") and len(s) == 37 for s in out[1])
    # top_k=1 is greedy whatever the temperature.
    assert generator.generate("if ", 20, top_k=1, random_seed=5) == (
        generator.generate("if ", 20, temperature=0)
    )
    with pytest.raises(ValueError, match="top_p"):
        generator.generate("def ", 10, top_p=1.5)
    with pytest.raises(ValueError, match="seed"):
        generator.generate("", 10)


def test_stop_strings_cut_the_same_sample(generator):
    full = generator.generate("def ", 80, random_seed=7)
    generated = full[4:]
    stop = generated[20:22]
    cut = generator.generate("def ", 80, random_seed=7, stop=[stop, "@@@"])
    assert cut == "def " + generated[: generated.find(stop)]


def test_stream_yields_generate_text(generator):
    pieces = list(generator.stream("def ", 30, temperature=0))
    assert len(pieces) > 1  # handed out as produced
    assert "def " + "".join(pieces) == generator.generate("def ", 30, temperature=0)
    full = generator.generate("def ", 30, temperature=0)[4:]
    stop = full[12:14]
    streamed = "".join(generator.stream("def ", 30, temperature=0, stop=stop))
    assert streamed == full[: full.find(stop)]


def test_generation_is_compiled_once(generator):
    # keras-hub's own generate recompiles on every call with new settings. One
    # trace serves every batch size, length and sampling setting.
    for temperature, top_k, samples in [(0.2, None, 1), (1.0, 3, 3), (0, 2, 2)]:
        generator.generate(
            "x = ", 17, temperature=temperature, top_k=top_k, num_samples=samples
        )
    assert generator.traces == 1


def test_evaluate_matches_the_model_by_hand(generator, code):
    text = code[:24]  # fits one window
    result = evaluate_gpt2(generator, text)
    context, body = encode(generator.tokenizer, ["\n", text])
    tokens = np.concatenate([context, body])  # the text follows a newline
    assert len(tokens) <= 16
    logits = generator.model(
        {"token_ids": tokens[None, :-1], "padding_mask": np.ones((1, len(tokens) - 1))}
    )
    log_probs = keras.ops.convert_to_numpy(keras.ops.log_softmax(logits[0], axis=-1))
    nll = -sum(
        log_probs[t, tokens[t + 1]] for t in range(len(context) - 1, len(tokens) - 1)
    )
    assert result["characters"] == len(text)  # every character is scored
    assert result["tokens"] == len(body)
    assert result["bits_per_char"] == pytest.approx(
        nll / len(text) / math.log(2), rel=1e-4
    )
    keys = {"loss", "bits_per_char", "perplexity", "characters", "unknown_characters"}
    assert keys <= set(result)
    assert result["unknown_characters"] == 0 and result["unknown_dropped"] == 0
    long = evaluate_gpt2(generator, code[:3000])
    assert long["characters"] == 3000 and 0 < long["bits_per_char"] < 9
    with pytest.raises(ValueError, match="empty"):
        evaluate_gpt2(generator, "")


def test_both_backends_score_the_same_characters(generator, trained_run):
    """The same held-out text, with characters outside the LSTM's vocabulary and
    the GPT-2's training text: both count every character."""
    text = "def naïve(x):\n    return 'Привет, 日本 😀'\n" + make_text(500, seed=4)
    lstm = charlstm.evaluate(charlstm.load(trained_run), text=text)
    gpt2 = evaluate_gpt2(generator, text)
    assert lstm["characters"] == gpt2["characters"] == len(text)
    assert lstm["unknown_characters"] > 0 and lstm["unknown_dropped"] == 0


def test_charlstm_load_detects_the_backend(trained):
    generator = charlstm.load(trained.run_dir)
    assert isinstance(generator, GPT2Generator)
    assert isinstance(generator, Generator)  # the interface every backend has
    sampling = Sampling(temperature=0.7, random_seed=4, stop="\n\n")
    texts = generator.generate(["def ", "class "], 30, sampling, num_samples=2)
    assert [len(pair) for pair in texts] == [2, 2]
    assert all("\n\n" not in text for pair in texts for text in pair)
    assert generator.generate("def ", 30, sampling) == generator.generate(
        "def ", 30, temperature=0.7, random_seed=4, stop="\n\n"
    )
    streamed = "".join(generator.stream("def ", 30, sampling))
    assert len(streamed) <= 30 and "\n\n" not in streamed
    with pytest.raises(ValueError, match="numpy engine runs LSTM runs only"):
        charlstm.load(trained.run_dir, engine="numpy")
    with pytest.raises(ValueError, match="LSTM runs only"):
        generator.complete("def f(")


def test_preset_saved_with_keras_hub_loads_with_its_weights(trained, tmp_path):
    import keras_hub

    preset = tmp_path / "preset"
    save_preset(trained, preset)
    model, tokenizer, config = load_preset(preset, GPT2Config(sequence_length=12))
    assert (config.num_layers, config.hidden_dim, config.vocabulary_size) == (
        2,
        32,
        300,
    )
    assert config.max_sequence_length == 16 and config.sequence_length == 12
    assert tokenizer.get_vocab() == trained.tokenizer.get_vocab()
    for ours, theirs in zip(
        model.backbone.get_weights(), trained.model.backbone.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)
    assert isinstance(model.backbone, keras_hub.models.GPT2Backbone)


def save_preset(trained, directory):
    """Saves the trained model as a keras-hub preset, tokenizer included."""
    import keras_hub

    vocabulary, merges = trained.tokenizer.model.save(str(directory.parent))
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(
        tokenizer=tokenizer, sequence_length=16
    )
    model = keras_hub.models.GPT2CausalLM(
        backbone=trained.model.backbone, preprocessor=preprocessor
    )
    model.save_to_preset(str(directory))


def test_bad_presets(trained, tmp_path):
    with pytest.raises(FileNotFoundError, match="preset directory does not exist"):
        load_preset(tmp_path / "missing")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(
        json.dumps({"registered_name": "keras_hub>GemmaBackbone", "config": {}})
    )
    with pytest.raises(ValueError, match="GPT-2 preset.*GemmaBackbone"):
        load_preset(other)
    preset = tmp_path / "preset"
    save_preset(trained, preset)
    with pytest.raises(ValueError, match="sequence_length.*16 positions"):
        load_preset(preset, GPT2Config(sequence_length=32))


def test_bad_corpora(code, tmp_path):
    with pytest.raises(ValueError, match="too small for sequence_length=16"):
        token_windows([np.arange(10), np.arange(5)], 16)
    windows = token_windows([np.arange(20), np.arange(20, 34)], 16)
    assert windows.shape == (2, 17) and list(windows[1, :3]) == [16, 17, 18]
    run = tmp_path / "run"
    with pytest.raises(ValueError, match="too small for the validation split"):
        train_gpt2(text=code[:60], run_dir=run, data=tiny_data_config())
    with pytest.raises(ValueError, match="vocabulary_size.*cannot be reached"):
        train_gpt2(
            text=code[:3000],
            run_dir=run,
            config=tiny_gpt2_config(vocabulary_size=4000),
            data=tiny_data_config(),
        )
    assert not run.exists()  # nothing written for a bad input


def test_seeds_are_token_healed(generator):
    # "def f(a, b):\n" ends in a lone "\n" token; the code always has "\n   "
    # + " return" there. Healed, the first token is chosen among those starting
    # with "\n", so the body can start indented.
    seeds = ["def f(a, b):\n", "x = ", "for key in items:\n", "y"]
    rows = [generator._encode(s) for s in seeds]
    histories, generated, cuts = generator._heal(seeds, rows)
    for seed, row, history, first, cut in zip(
        seeds, rows, histories, generated, cuts, strict=True
    ):
        removed = decode(generator.tokenizer, row[-1:]) if len(row) > 1 else ""
        assert cut == len(removed)
        assert list(history[:-1]) == list(row[: len(row) - (len(row) > 1)])
        assert decode(generator.tokenizer, first).startswith(removed)
        assert decode(generator.tokenizer, history).startswith(seed)
    # Greedy, the first token is the model's most likely among those starting
    # with the removed "\n" (the merged "\n  " and "\n   " included).
    generator.sampler.configure(Sampling(temperature=0, random_seed=0))
    _, (first, *_), _ = generator._heal(seeds, rows)
    context, removed = generator.healer.split(rows[0], seeds[0])
    inputs = {"token_ids": context[None], "padding_mask": np.ones((1, len(context)))}
    logits = keras.ops.convert_to_numpy(generator.model(inputs))[0, -1]
    allowed = generator.healer.allowed(removed)
    assert allowed.sum() >= 3 and not allowed.all()
    assert list(first) == [np.argmax(np.where(allowed, logits, -np.inf))]
    greedy = generator.generate("def f(a, b):\n", 12, temperature=0)
    assert greedy.startswith("def f(a, b):\n    ")  # indented, as in training
    out = generator.generate(
        ["def value_key(value, key):\n", "x"], 20, num_samples=3, random_seed=1
    )
    assert out == generator.generate(
        ["def value_key(value, key):\n", "x"], 20, num_samples=3, random_seed=1
    )
    assert all(s.startswith("def value_key(value, key):\n") for s in out[0])
    assert all(len(s) == 21 and s[0] == "x" for s in out[1])
    assert len(set(out[0])) > 1  # independent samples
    streamed = "".join(generator.stream("def f(a, b):\n", 12, temperature=0))
    assert "def f(a, b):\n" + streamed == greedy
    generator.generate("if ", 5, random_seed=0)
    assert generator.traces == 1
    assert generator._first_tokens.experimental_get_tracing_count() == 1
