"""Tests for charlstm.model.export: a run as files that need no charlstm."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import charlstm
from charlstm.config import RunConfig
from charlstm.data.vocabulary import Vocabulary
from charlstm.model.build import build_model
from charlstm.model.export import export
from tests.helpers import tiny_config, tiny_model_config

# Accented Latin, Cyrillic, CJK and an emoji outside the Basic Multilingual Plane.
CHARACTERS = "\n ,.adefrtxàéПриветмир日本語😀"
PROBE = "Привет, 日本 😀 débat ∑"  # "∑" and "b" are outside the vocabulary
FILES = ["README.md", "engine.npz", "model.keras", "vocab.json"]  # sorted


def random_run(tmp_path, cell="lstm", encoding="embedding", unknown=True):
    """A run directory holding a random model (no training needed to export)."""
    vocabulary = Vocabulary(CHARACTERS, unknown=unknown)
    config = tiny_model_config(cell, encoding, vocabulary_size=vocabulary.size)
    run = tmp_path / f"run-{cell}-{encoding}-{unknown}"
    run.mkdir()
    model = build_model(config, batch_size=1)
    weights = [
        np.random.default_rng(i).normal(0, 0.5, w.shape)
        for i, w in enumerate(model.get_weights())
    ]
    model.set_weights(weights)
    model.save(run / "model.keras")
    RunConfig(model=config).save(run / "config.json")
    vocabulary.save(run / "vocab.json")
    return run


def charlstm_probabilities(run, text):
    """(len(text), columns) probabilities from charlstm, in the export's columns."""
    generator = charlstm.load(run, engine="numpy")
    vocabulary = generator.vocabulary
    ids = vocabulary.encode(text, strict=False)
    generator.engine.reset(1)
    probs = generator.engine.feed(ids[None].astype(np.int32), return_sequences=True)
    unknown = (
        probs[0, :, vocabulary.unknown_id : vocabulary.unknown_id + 1]
        if vocabulary.unknown_id is not None
        else np.zeros((len(ids), 1))
    )
    return np.concatenate([unknown, probs[0, :, : len(vocabulary.characters)]], 1)


def exported_probabilities(model, text):
    import tensorflow as tf

    return model(tf.constant([list(text)])).numpy()[0]


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("encoding", ["embedding", "one_hot"])
def test_export_gives_charlstm_probabilities(tmp_path, cell, encoding):
    run = random_run(tmp_path, cell, encoding)
    out = export(run, tmp_path / "exported")
    assert sorted(p.name for p in out.iterdir()) == FILES
    model = keras.saving.load_model(out / "model.keras")
    lookup = model.get_layer("vocabulary").get_vocabulary()
    assert lookup == ["[UNK]", *Vocabulary(CHARACTERS).characters]
    got = exported_probabilities(model, PROBE)  # (time, columns)
    np.testing.assert_allclose(got, charlstm_probabilities(run, PROBE), atol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


def test_exported_model_is_stateful_until_reset(tmp_path):
    model = keras.saving.load_model(
        export(random_run(tmp_path), tmp_path / "e") / "model.keras"
    )
    whole = exported_probabilities(model, PROBE)
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
    first = exported_probabilities(model, PROBE[:5])
    rest = exported_probabilities(model, PROBE[5:])
    np.testing.assert_allclose(np.concatenate([first, rest]), whole, atol=1e-6)
    # Without a reset the state goes on: the same text scores differently.
    assert not np.allclose(exported_probabilities(model, PROBE[:5]), first, atol=1e-4)


def test_a_vocabulary_without_an_unknown_id_gives_it_no_probability(tmp_path):
    run = random_run(tmp_path, unknown=False)  # a run from before unknown ids
    model = keras.saving.load_model(export(run, tmp_path / "e") / "model.keras")
    got = exported_probabilities(model, "Привет")
    assert np.all(got[:, 0] < 1e-12)
    np.testing.assert_allclose(got, charlstm_probabilities(run, "Привет"), atol=1e-5)


def test_export_loads_where_charlstm_cannot_be_imported(tmp_path):
    """The issue's check: a trained Unicode run, exported, opened by a process in
    which `import charlstm` fails, gives charlstm's probabilities within 1e-5."""
    text = "Привет, мир! 日本語のテキスト 😀 def naïve(x):\n    return x\n" * 30
    run = tmp_path / "run"
    charlstm.train(
        text=text, run_dir=run, config=tiny_config(min_char_count=1, cell="lstm")
    )
    out = export(run, tmp_path / "exported")
    expected = charlstm_probabilities(run, PROBE)
    np.save(tmp_path / "expected.npy", expected)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["charlstm"] = None  # `import charlstm` raises ImportError
        import keras, numpy as np, tensorflow as tf
        try:
            import charlstm
        except ImportError:
            pass
        else:
            raise SystemExit("charlstm was importable")
        model = keras.saving.load_model({str(out / "model.keras")!r})
        got = model(tf.constant([list({PROBE!r})])).numpy()[0]
        expected = np.load({str(tmp_path / "expected.npy")!r})
        print(float(np.abs(got - expected).max()))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) < 1e-5


def test_engine_weights_file_matches_the_run(tmp_path):
    run = random_run(tmp_path)
    out = export(run, tmp_path / "e")
    with np.load(out / "engine.npz") as data:
        meta = json.loads(str(data["meta"]))
        arrays = [data[k] for k in sorted(data.files) if k.startswith("w")]
    assert meta["format"] == 1
    assert meta["model"]["vocabulary_size"] == len(set(CHARACTERS)) + 1
    saved = keras.saving.load_model(run / "model.keras").get_weights()
    for got, want in zip(arrays, saved, strict=True):
        np.testing.assert_array_equal(got, want)
    assert Vocabulary.load(out / "vocab.json") == Vocabulary.load(run / "vocab.json")


def test_an_existing_directory_is_kept_unless_forced(tmp_path):
    run = random_run(tmp_path)
    out = tmp_path / "e"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="force"):
        export(run, out)
    assert (out / "mine.txt").read_text() == "keep"
    export(run, out, force=True)
    assert not (out / "mine.txt").exists()
    assert (out / "model.keras").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def step_probabilities(model, text, units, layers):
    """(len(text), columns) probabilities from an LN-LSTM's one-step export."""
    import tensorflow as tf

    states, rows = [tf.zeros((1, units))] * (2 * layers), []
    for character in text:
        probs, *states = model([tf.constant([character]), *states])
        rows.append(np.asarray(probs)[0])
    return np.array(rows)


@pytest.mark.parametrize("encoding", ["embedding", "one_hot"])
def test_an_ln_lstm_run_exports_one_step_of_built_in_layers(tmp_path, encoding):
    run = random_run(tmp_path, cell="ln_lstm", encoding=encoding)
    out = export(run, tmp_path / "e")
    assert sorted(p.name for p in out.iterdir()) == FILES
    model = keras.saving.load_model(out / "model.keras")
    # Built-in layers only: nothing of charlstm's is needed to load it.
    assert all(type(x).__module__.startswith("keras.") for x in model.layers)
    assert [i.name for i in model.inputs] == ["character", "h_0", "c_0", "h_1", "c_1"]
    config = tiny_model_config("ln_lstm", encoding)
    got = step_probabilities(model, PROBE, config.units, config.num_layers)
    np.testing.assert_allclose(got, charlstm_probabilities(run, PROBE), atol=1e-5)
    readme = (out / "README.md").read_text()
    assert "One step of the model" in readme and "LN-LSTM" in readme
    with np.load(out / "engine.npz") as data:
        meta = json.loads(str(data["meta"]))
        arrays = [data[k] for k in sorted(data.files) if k.startswith("w")]
    assert meta["model"]["cell"] == "ln_lstm"
    saved = keras.saving.load_model(run / "model.keras").get_weights()
    assert len(arrays) == len(saved)  # the LN gains and shifts included
    for got_w, want in zip(arrays, saved, strict=True):
        np.testing.assert_array_equal(got_w, want)


def test_an_ln_lstm_export_s_readme_loop_runs_without_charlstm(tmp_path):
    """The README's example, run as it is in the export's directory by a process
    in which `import charlstm` fails, gives charlstm's probabilities after "def "."""
    run = random_run(tmp_path, cell="ln_lstm")
    out = export(run, tmp_path / "e")
    np.save(tmp_path / "expected.npy", charlstm_probabilities(run, "def ")[-1])
    readme = (out / "README.md").read_text()
    start = readme.index("      import keras")
    example = textwrap.dedent(
        readme[start : readme.index("\n", readme.index("print(", start))]
    )
    check = f"np.load({str(tmp_path / 'expected.npy')!r})"
    script = "\n".join(
        [
            "import sys",
            "sys.modules['charlstm'] = None  # `import charlstm` raises ImportError",
            example,
            f"print(float(np.abs(np.asarray(probs)[0] - {check}).max()))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) < 1e-5


def test_word_mode_runs_are_refused(tmp_path):
    from charlstm.data.tokens import TokenVocabulary

    run = random_run(tmp_path)
    TokenVocabulary(["a", "b", "ab"], unknown=True).save(run / "vocab.json")
    with pytest.raises(ValueError, match="character-level"):
        export(run, tmp_path / "e")
    assert not (tmp_path / "e").exists()
