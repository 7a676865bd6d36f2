"""The GPT-2 backend's byte-level BPE, its configs, and the optional dependency."""

import importlib
import json
import subprocess
import sys

import pytest

from charlstm.backends import run_backend
from charlstm.backends.gpt2.config import GPT2Config, GPT2RunConfig
from charlstm.backends.gpt2.tokenizer import (
    decode,
    encode,
    load_tokenizer,
    preset_tokenizer,
    save_tokenizer,
    train_tokenizer,
)
from charlstm.config import RunConfig
from tests.gpt2_helpers import make_code


@pytest.fixture(scope="module")
def code():
    return make_code(6000)


def test_trained_bpe_has_the_size_asked_and_round_trips(code, tmp_path):
    tokenizer = train_tokenizer([code], 300)
    assert tokenizer.get_vocab_size() == 300
    ids = encode(tokenizer, [code])[0]
    assert len(ids) < len(code) / 1.3  # merges shorten the text
    assert decode(tokenizer, ids) == code
    unseen = "naïve ünïcode ✓ and bytes \x00\x7f"
    assert decode(tokenizer, encode(tokenizer, [unseen])[0]) == unseen
    save_tokenizer(tokenizer, tmp_path / "tokenizer.json")
    again = load_tokenizer(tmp_path / "tokenizer.json")
    assert list(encode(again, [code])[0]) == list(ids)
    # Deterministic: the same text gives the same merges.
    assert train_tokenizer([code], 300).get_vocab() == tokenizer.get_vocab()


def test_vocabulary_size_out_of_reach(code):
    with pytest.raises(ValueError, match="vocabulary_size.*cannot be reached"):
        train_tokenizer([code[:300]], 2000)
    with pytest.raises(ValueError, match="at least 257"):
        train_tokenizer([code], 100)


def test_preset_tokenizer_splits_as_keras_hub_does(code, tmp_path):
    import keras_hub

    assets = tmp_path / "preset" / "assets" / "tokenizer"
    assets.mkdir(parents=True)
    trained = train_tokenizer([code], 300)
    vocabulary, merges = trained.model.save(str(assets))
    (assets / "vocab.json").rename(assets / "vocabulary.json")
    ours = preset_tokenizer(tmp_path / "preset")
    theirs = keras_hub.models.GPT2Tokenizer(
        vocabulary=str(assets / "vocabulary.json"), merges=str(assets / "merges.txt")
    )
    # Single spaces: keras-hub splits runs of spaces before a word apart from
    # OpenAI's regex (which `tokenizers` follows), so leave those out.
    sample = " ".join(code[:800].split()) + "\n\nif x:\n\tpass\n"
    assert list(encode(ours, [sample])[0]) == [int(i) for i in theirs(sample)]
    (assets / "merges.txt").unlink()
    with pytest.raises(ValueError, match="merges.txt"):
        preset_tokenizer(tmp_path / "preset")


def test_configs_round_trip_with_the_backend_marker(tmp_path):
    config = GPT2RunConfig(model=GPT2Config(num_layers=2, preset=""))
    config.save(tmp_path / "config.json")
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["backend"] == "gpt2"
    assert GPT2RunConfig.load(tmp_path / "config.json") == config
    assert run_backend(tmp_path) == "gpt2"
    assert run_backend(tmp_path / "missing") == "lstm"
    # LSTM code reading this run's config gets one clear line, not a TypeError.
    with pytest.raises(ValueError, match="a GPT-2 run, not an LSTM run"):
        RunConfig.load(tmp_path / "config.json")
    RunConfig().save(tmp_path / "config.json")
    assert run_backend(tmp_path) == "lstm"
    with pytest.raises(ValueError, match="an LSTM run, not a GPT-2 run"):
        GPT2RunConfig.load(tmp_path / "config.json")
    # A backend this version does not have is one line that says so.
    (tmp_path / "config.json").write_text('{"backend": "mamba"}')
    with pytest.raises(ValueError, match="names backend 'mamba'"):
        run_backend(tmp_path)


@pytest.mark.parametrize(
    "field, value",
    [
        ("num_heads", 0),
        ("hidden_dim", 30),  # not a multiple of 4 heads
        ("sequence_length", 1),
        ("vocabulary_size", 100),
        ("dropout", 1.0),
        ("learning_rate", -1.0),
        ("batch_size", 0),
        ("max_sequence_length", 8),  # below sequence_length 64
    ],
)
def test_bad_model_config(field, value):
    with pytest.raises(ValueError, match=field):
        GPT2Config(**{field: value})


def test_missing_extra_raises_an_import_error_naming_it(monkeypatch):
    for name in list(sys.modules):
        if name.startswith("charlstm.backends.gpt2") and name != (
            "charlstm.backends.gpt2.config"
        ):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install 'charlstm\[gpt2\]'"):
        importlib.import_module("charlstm.backends.gpt2.backend")
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(ImportError, match="GPT-2 needs keras-hub and tokenizers"):
        importlib.import_module("charlstm.backends.gpt2.tokenizer")


def test_import_charlstm_does_not_import_keras_hub():
    code = (
        "import sys, charlstm, charlstm.infer.load, charlstm.cli.app; "
        "assert 'keras_hub' not in sys.modules and 'tokenizers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
