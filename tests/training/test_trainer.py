import keras
import numpy as np
import pytest

import charlstm
import charlstm.training.run_dir
from charlstm.training.run_dir import HISTORY_COLUMNS
from tests.helpers import make_text, tiny_config


def test_val_loss_falls_over_two_epochs(text):
    result = charlstm.train(text=text, config=tiny_config(epochs=2))
    val = [row["val_loss"] for row in result.history]
    assert len(val) == 2 and val[1] < val[0]
    # Bits per character are the loss in base 2.
    assert result.history[1]["val_bits_per_char"] == pytest.approx(val[1] / np.log(2))


def test_run_directory_files_and_history(tmp_path, text):
    run = tmp_path / "run"
    result = charlstm.train(text=text, run_dir=run, config=tiny_config(epochs=2))
    for name in ("model.keras", "checkpoint.json", "config.json", "vocab.json"):
        assert (run / name).is_file(), name
    # One checkpoint: the manifest's model and arrays, the previous one removed.
    assert sorted(p.name for p in run.glob("checkpoint-*")) == [
        "checkpoint-000002.keras",
        "checkpoint-000002.npz",
    ]
    assert (run / "history.csv").is_file()
    header = (run / "history.csv").read_text().splitlines()[0]
    assert header.split(",") == list(HISTORY_COLUMNS)
    assert [r["epoch"] for r in result.history] == [1, 2]
    assert all(r["chars_per_second"] > 0 and r["seconds"] > 0 for r in result.history)
    config = charlstm.RunConfig.load(run / "config.json")
    assert config.model.vocabulary_size == 11  # 10 characters and the unknown id
    assert charlstm.Vocabulary.load(run / "vocab.json").characters == "\n abcdefgh"
    leftovers = [p.name for p in run.glob(".*") if p.name != ".lock"]
    assert not leftovers, "temporary files left behind"


def test_best_model_is_the_lowest_validation_loss(tmp_path, text):
    run = tmp_path / "run"
    # A learning rate this high makes later epochs worse than earlier ones often
    # enough; whatever happens, model.keras must hold the best epoch.
    result = charlstm.train(
        text=text, run_dir=run, config=tiny_config(epochs=3, learning_rate=0.3)
    )
    best_epoch = min(result.history, key=lambda r: r["val_loss"])["epoch"]
    best = keras.saving.load_model(run / "model.keras", compile=False)
    last_path = charlstm.training.run_dir.RunFiles(run).last_model()
    last = keras.saving.load_model(last_path, compile=False)
    np.testing.assert_array_equal(last.get_weights()[0], result.model.get_weights()[0])
    if best_epoch == 3:
        np.testing.assert_allclose(best.get_weights()[0], last.get_weights()[0])
    else:
        assert not np.allclose(best.get_weights()[0], last.get_weights()[0])


def test_existing_run_is_never_overwritten_without_force(tmp_path, text):
    run = tmp_path / "run"
    charlstm.train(text=text, run_dir=run, config=tiny_config())
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(FileExistsError, match="--resume|--force"):
        charlstm.train(text=text, run_dir=run, config=tiny_config())
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    result = charlstm.train(
        text=text, run_dir=run, config=tiny_config(random_seed=5), force=True
    )
    assert len(result.history) == 1


def test_bad_corpus_leaves_an_existing_run_alone_even_with_force(tmp_path, text):
    run = tmp_path / "run"
    charlstm.train(text=text, run_dir=run, config=tiny_config())
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(ValueError, match="too small"):
        charlstm.train(text="abc" * 5, run_dir=run, config=tiny_config(), force=True)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_resume_continues_with_optimizer_state_and_schedule(tmp_path, text):
    run = tmp_path / "run"
    config = tiny_config(
        epochs=1, lr_schedule="exponential", lr_decay=0.5, learning_rate=0.01
    )
    first = charlstm.train(text=text, run_dir=run, config=config)
    steps = int(first.model.optimizer.iterations.numpy())
    saved = [np.asarray(v).copy() for v in first.model.optimizer.variables]
    # Resuming restores every optimizer variable (iterations, RMS accumulators).
    reloaded = charlstm.train(text=text, run_dir=run, resume=True)
    restored = [np.asarray(v) for v in reloaded.model.optimizer.variables]
    assert len(restored) == len(saved) > 1
    for a, b in zip(restored, saved, strict=True):
        np.testing.assert_array_equal(a, b)
    resumed = charlstm.train(
        text=text, run_dir=run, config=tiny_config(epochs=2), resume=True
    )
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert int(resumed.model.optimizer.iterations.numpy()) == 2 * steps
    # The second epoch trained with the decayed rate: the schedule continued.
    assert resumed.history[1]["learning_rate"] == pytest.approx(0.005)
    # Model config is the saved one, not the caller's.
    assert resumed.config.model.lr_decay == 0.5


def test_resume_needs_a_complete_epoch(tmp_path, text):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        charlstm.train(text=text, run_dir=tmp_path / "none", resume=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a charlstm run"):
        charlstm.train(text=text, run_dir=tmp_path / "empty", resume=True)
    # A run that stopped before its first checkpoint: what to do instead.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    charlstm.RunConfig().save(crashed / "config.json")
    (crashed / "vocab.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="never saved a checkpoint.*--force"):
        charlstm.train(text=text, run_dir=crashed, resume=True)
    with pytest.raises(FileExistsError, match="never saved a checkpoint.*--force"):
        charlstm.train(text=text, run_dir=crashed, config=tiny_config())


def test_resume_already_finished_trains_nothing(tmp_path, text):
    run = tmp_path / "run"
    charlstm.train(text=text, run_dir=run, config=tiny_config(epochs=1))
    result = charlstm.train(text=text, run_dir=run, resume=True)  # saved epochs=1
    assert len(result.history) == 1


def test_time_budget_stops_at_a_batch_and_still_validates(tmp_path):
    run = tmp_path / "run"
    result = charlstm.train(
        text=make_text(20000),
        run_dir=run,
        config=tiny_config(epochs=50),
        time_budget=1e-9,
    )
    assert result.stopped_on_budget
    assert len(result.history) == 1
    row = result.history[0]
    assert row["stopped"] == "time_budget" and row["val_loss"] > 0
    assert (run / "model.keras").exists()


def test_time_budget_must_be_positive(text):
    with pytest.raises(ValueError, match="time_budget"):
        charlstm.train(text=text, config=tiny_config(), time_budget=0)


def test_corpus_too_small_names_the_minimum(tmp_path):
    with pytest.raises(ValueError, match="at least 41 characters"):
        charlstm.train(
            text="abcdefgh" * 4, run_dir=tmp_path / "r", config=tiny_config()
        )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"validation_split": 0.5}, "validation_split"),
        ({"validation_split": 0.0}, "validation_split"),
    ],
)
def test_invalid_validation_split(overrides, field):
    with pytest.raises(ValueError, match=field):
        tiny_config(**overrides)


def test_empty_and_binary_corpora(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        charlstm.train(empty, config=tiny_config())
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ValueError, match="binary"):
        charlstm.train(binary, config=tiny_config())


def test_trains_from_files_and_records_their_paths(tmp_path, text):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(text[:1500])
    (corpus / "b.txt").write_text(text[1500:])
    result = charlstm.train(corpus, run_dir=tmp_path / "run", config=tiny_config())
    assert result.stats.files == 2
    assert result.config.data.sources == [str(corpus.resolve())]
    # Resume finds the corpus from config.json without being told.
    resumed = charlstm.train(
        run_dir=tmp_path / "run", config=tiny_config(epochs=2), resume=True
    )
    assert len(resumed.history) == 2


def test_training_gets_the_interleaved_batches_in_order_unshuffled(monkeypatch, text):
    seen = []
    original = keras.Model.train_on_batch

    def spy(self, x=None, y=None, **kwargs):
        seen.append((np.array(x), np.array(y)))
        return original(self, x, y, **kwargs)

    monkeypatch.setattr(keras.Model, "train_on_batch", spy)
    config = tiny_config(epochs=2)
    result = charlstm.train(text=text, config=config)
    batches = charlstm.StatefulBatches(
        result.vocabulary.encode(text), 4, 5, config.data.validation_split
    )
    assert len(seen) == 2 * len(batches.train)  # every batch, every epoch
    for index, (x, y) in enumerate(seen):
        expected_x, expected_y = batches.train[index % len(batches.train)]
        np.testing.assert_array_equal(x, expected_x)
        np.testing.assert_array_equal(y, expected_y)


def test_invalid_time_budget_with_force_keeps_the_existing_run(tmp_path, text):
    run = tmp_path / "run"
    charlstm.train(text=text, run_dir=run, config=tiny_config())
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(ValueError, match="time_budget"):
        charlstm.train(
            text=text, run_dir=run, config=tiny_config(), force=True, time_budget=0
        )
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_run_trained_on_a_gpu_resumes_and_generates_on_a_cpu(tmp_path, monkeypatch):
    """`fast_path="auto"` trains with Keras's layers where a GPU is visible (cuDNN)
    and the fused stack on a CPU: a GPU run continues on a CPU with the same
    weights, optimizer and states, ending where a run on Keras's layers ends."""
    import json

    from charlstm.model import build

    text = make_text(2000)
    lstm = dict(epochs=2, cell="lstm")  # the cell cuDNN runs
    whole = charlstm.train(text=text, config=tiny_config(**lstm, fast_path="off"))
    run = tmp_path / "run"

    class CrashInSecondEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:  # after the first epoch's checkpoint
                self.seen = build.layer_kind(self.model)
                raise RuntimeError("crashed")

    monkeypatch.setattr(build, "gpu_visible", lambda: True)  # as on a GPU machine
    crash = CrashInSecondEpoch()
    with pytest.raises(RuntimeError, match="crashed"):
        charlstm.train(
            text=text, run_dir=run, config=tiny_config(**lstm), callbacks=[crash]
        )
    assert crash.seen == "keras"
    recorded = json.loads((run / "checkpoint.json").read_text())["progress"]
    assert recorded["epoch"] == 1
    assert recorded["devices"].startswith("Keras's own layers")
    monkeypatch.setattr(build, "gpu_visible", lambda: False)  # now on a CPU
    cpu = charlstm.train(
        text=text, run_dir=run, config=tiny_config(**lstm), resume=True
    )
    assert cpu.devices.startswith("fused LSTM stack")
    assert build.layer_kind(cpu.model) == "stack"
    for ours, theirs in zip(
        cpu.model.get_weights(), whole.model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert [r["epoch"] for r in cpu.history] == [1, 2]
    assert cpu.history[1]["val_loss"] == pytest.approx(
        whole.history[1]["val_loss"], abs=1e-5
    )
    generated = charlstm.load(run).generate("abc ", 20, random_seed=0)
    assert generated.startswith("abc ") and len(generated) == 24
