import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import charlstm
from charlstm.infer.engine import EngineFallbackWarning
from charlstm.infer.generator import TextGenerator
from charlstm.infer.keras_engine import compile_forward
from tests.helpers import make_text, tiny_config


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A private copy of the trained run, free to modify."""
    return shutil.copytree(trained_run, tmp_path / "run")


def test_training_writes_the_engine_file(trained_run):
    assert (trained_run / "engine.npz").exists()


def test_auto_picks_numpy_and_keras_on_request(trained_run):
    assert isinstance(charlstm.load(trained_run), TextGenerator)
    assert isinstance(charlstm.load(trained_run, engine="numpy"), TextGenerator)
    assert isinstance(charlstm.load(trained_run, engine="keras"), TextGenerator)
    with pytest.raises(ValueError, match="engine.*'tensorflow'"):
        charlstm.load(trained_run, engine="tensorflow")


def test_numpy_matches_keras_on_the_trained_model(trained_run):
    fast = charlstm.load(trained_run, engine="numpy")
    slow = charlstm.load(trained_run, engine="keras")
    ids = fast.vocabulary.encode(make_text(1000, seed=5))
    forward = compile_forward(slow.inference_model(1))
    expected = forward(ids[None].astype("int32"))[0]  # (time, vocab)
    fast.engine.reset(1)
    got = fast.engine.feed(ids[None], return_sequences=True)[0]
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    for temperature in (0.0, 1.0):
        kwargs = dict(temperature=temperature, num_samples=2, random_seed=4)
        assert fast.generate("head ", 40, **kwargs) == slow.generate(
            "head ", 40, **kwargs
        )


def test_missing_engine_file_is_exported_on_first_load(run_copy):
    (run_copy / "engine.npz").unlink()
    generator = charlstm.load(run_copy)
    assert isinstance(generator, TextGenerator)
    assert (run_copy / "engine.npz").exists()
    again = charlstm.load(run_copy)
    assert again.generate("bad ", 30, temperature=0) == generator.generate(
        "bad ", 30, temperature=0
    )


def test_last_checkpoint_gets_its_own_engine_file(run_copy):
    charlstm.load(run_copy, checkpoint="last")
    assert (run_copy / "engine_last.npz").exists()


def test_stale_engine_file_is_replaced(run_copy):
    from charlstm.infer.engine_weights import EngineWeights, file_digest

    weights = EngineWeights.read(run_copy / "engine.npz")
    zeroed = EngineWeights(weights.config, [np.zeros_like(a) for a in weights.arrays])
    zeroed.save(run_copy / "engine.npz", source_digest="an older model.keras")
    generator = charlstm.load(run_copy)
    assert not np.allclose(generator.weights[-1], 0)  # read from model.keras
    assert EngineWeights.read(
        run_copy / "engine.npz", file_digest(run_copy / "model.keras")
    )


def test_read_only_run_dir_keeps_the_weights_in_memory(run_copy, monkeypatch):
    import charlstm.infer.engine_weights

    (run_copy / "engine.npz").unlink()
    monkeypatch.setattr(
        charlstm.infer.engine_weights.os, "access", lambda path, mode: False
    )
    generator = charlstm.load(run_copy)
    assert isinstance(generator, TextGenerator)
    assert not (run_copy / "engine.npz").exists()


def test_other_charlstm_release_falls_back_to_keras(run_copy):
    path = run_copy / "config.json"
    config = json.loads(path.read_text())
    config["version"] = "9.0.0"
    path.write_text(json.dumps(config))
    with pytest.warns(EngineFallbackWarning, match="charlstm 9.0.0"):
        generator = charlstm.load(run_copy)
    assert isinstance(generator, TextGenerator)
    completion = generator.complete("hea", max_length=10)  # on Keras
    assert (
        completion.text
        == charlstm.load(run_copy, engine="keras").complete("hea", max_length=10).text
    )
    with pytest.raises(ValueError, match="numpy engine cannot run"):
        charlstm.load(run_copy, engine="numpy")


def test_layer_norm_run_falls_back_to_keras(tmp_path):
    run = tmp_path / "run"
    config = tiny_config(layer_norm=True, residual=True, cell="lstm")
    charlstm.train(text=make_text(2000), run_dir=run, config=config)
    with pytest.warns(EngineFallbackWarning, match="layer normalisation"):
        generator = charlstm.load(run)
    assert isinstance(generator, TextGenerator)
    text = generator.generate("hea", 20, random_seed=0)
    assert text.startswith("hea") and len(text) == 3 + 20
    with pytest.raises(ValueError, match="numpy engine cannot run"):
        charlstm.load(run, engine="numpy")


def test_numpy_path_never_imports_tensorflow(trained_run):
    script = textwrap.dedent(
        f"""
        import sys
        import charlstm
        for engine in ("numpy", "auto"):
            generator = charlstm.load({str(trained_run)!r}, engine=engine)
            generator.generate(["head ", "a"], 20, temperature=0.5, random_seed=0)
            "".join(generator.stream("bad ", 20, stop="\\n"))
        generator.complete("hea", num_candidates=2)
        loaded = [m for m in ("tensorflow", "keras") if m in sys.modules]
        print(type(generator).__name__, loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["TextGenerator", "[]"]


@pytest.mark.parametrize("engine", ["auto", "keras"])
def test_a_fresh_interpreter_loads_model_keras(run_copy, engine):
    """Reading model.keras (Keras engine, or exporting a missing engine.npz)
    registers charlstm's layers first, as a new process must."""
    (run_copy / "engine.npz").unlink()
    code = (
        "import charlstm\n"
        f"g = charlstm.load({str(run_copy)!r}, engine={engine!r})\n"
        "print(g.engine_name, g.generate('head ', 5, temperature=0))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    expected = charlstm.load(run_copy).generate("head ", 5, temperature=0)
    name = "numpy" if engine == "auto" else "keras"
    assert result.stdout == f"{name} {expected}\n"
