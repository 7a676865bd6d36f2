"""`charlstm train --backend gpt2`, and generate/evaluate/resume on GPT-2 runs."""

import json

import pytest

from charlstm.backends.gpt2.config import GPT2RunConfig
from charlstm.cli import main
from charlstm.cli.evaluate import KEYS
from charlstm.training.run_dir import read_history
from tests.gpt2_helpers import make_code

pytestmark = pytest.mark.slow

TINY = [
    "--backend",
    "gpt2",
    "--num-layers",
    "2",
    "--num-heads",
    "2",
    "--hidden-dim",
    "32",
    "--sequence-length",
    "16",
    "--vocabulary-size",
    "300",
    "--batch-size",
    "16",
    "--epochs",
    "1",
    "--random-seed",
    "0",
    "--quiet",
]


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("charlstm: error: ")
    return err[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "code.py"
    path.write_text(make_code(12000))
    return path


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "gpt2"
    board = ["--tensorboard", str(run.parent / "tensorboard")]
    assert main(["train", str(corpus), "--out", str(run), *TINY, *board]) == 0
    return run


def test_train_generate_evaluate(run, corpus, capsys):
    config = GPT2RunConfig.load(run / "config.json")
    assert (config.model.num_heads, config.model.vocabulary_size) == (2, 300)
    assert config.data.sources == [str(corpus.resolve())]
    capsys.readouterr()
    args = ["generate", str(run), "--seed", "def ", "--length", "40"]
    assert main([*args, "--num-samples", "2", "--random-seed", "1"]) == 0
    samples = capsys.readouterr().out.split("\n\ndef ")
    assert len(samples) == 2 and samples[0].startswith("def ")
    held_out = corpus.parent / "held_out.py"
    held_out.write_text(make_code(2000, seed=1))
    assert main(["evaluate", str(run), str(held_out)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert tuple(scores) == KEYS  # the same keys from both backends
    assert scores["characters"] == 2000 and 0 < scores["bits_per_char"] < 9
    assert scores["unknown_characters"] == 0


def test_tensorboard_on_a_gpt2_run(run):
    from tests.training.test_tensorboard import read_events

    (epoch,) = read_history(run / "history.csv")
    train = read_events(run.parent / "tensorboard" / "train")
    validation = read_events(run.parent / "tensorboard" / "validation")
    # One point, at the epoch's end (16 batches, fewer than the 50 between
    # points): the epoch's loss, in nats per character as in the history.
    ((step, loss),) = train["loss"]
    assert loss == pytest.approx(epoch["loss"], rel=1e-4)
    ((val_step, val_loss),) = validation["loss"]
    assert step == val_step == 16
    assert val_loss == pytest.approx(epoch["val_loss"], rel=1e-5)
    assert train["chars_per_second"][0][1] > 0


def test_resume_needs_no_backend_option(run, corpus, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--quiet"]) == 0
    assert "epoch 2:" in capsys.readouterr().out
    rows = read_history(copy / "history.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[0] == read_history(run / "history.csv")[0]  # kept as written
    assert main(["train", "--resume", str(copy), "--sequence-length", "8"]) == 2
    assert "--sequence-length cannot change when resuming" in error_line(capsys)
    assert main(["train", "--resume", str(copy), "--backend", "lstm"]) == 2
    assert "it is a gpt2 run" in error_line(capsys)


def test_fine_tune_a_preset_directory(run, corpus, tmp_path, capsys):
    import keras_hub

    from charlstm.backends.gpt2.backend import load_gpt2

    generator = load_gpt2(run)
    vocabulary, merges = generator.tokenizer.model.save(str(tmp_path))
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(
        tokenizer=keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges),
        sequence_length=16,
    )
    keras_hub.models.GPT2CausalLM(
        backbone=generator.model.backbone, preprocessor=preprocessor
    ).save_to_preset(str(tmp_path / "preset"))
    tuned = tmp_path / "tuned"
    args = ["train", str(corpus), "--out", str(tuned), "--backend", "gpt2"]
    args += ["--preset", str(tmp_path / "preset"), "--epochs", "1", "--quiet"]
    assert main(args) == 0
    config = GPT2RunConfig.load(tuned / "config.json")
    assert config.model.preset == str((tmp_path / "preset").resolve())
    assert config.model.learning_rate == 1e-4  # fine-tuning's default
    assert (config.model.num_layers, config.model.hidden_dim) == (2, 32)
    # Fine-tuning starts from the preset: one epoch more than the run it was
    # saved from beats that run's first epoch.
    before = read_history(run / "history.csv")[0]["val_loss"]
    assert read_history(tuned / "history.csv")[0]["val_loss"] < before
    capsys.readouterr()
    assert main([*args, "--force", "--num-layers", "3"]) == 2
    assert "--num-layers cannot be used with --preset" in error_line(capsys)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--backend", "gpt2", "--cell", "gru"], "--cell is an LSTM option"),
        (["--backend", "gpt2", "--units", "8"], "--units is an LSTM option"),
        (
            ["--num-heads", "2"],
            "--num-heads is a GPT-2 option; an LSTM run does not take it",
        ),
        (
            ["--backend", "gpt2", "--preset", "{missing}"],
            "preset directory does not exist",
        ),
        (["--backend", "gpt2", "--preset", "{corpus_dir}"], "GPT-2 preset"),
        (["--backend", "gpt2", "--vocabulary-size", "100"], "vocabulary_size"),
        (["--backend", "gpt2", "--vocabulary-size", "9000"], "cannot be reached"),
        (["--backend", "gpt2", "--num-heads", "3"], "multiple of `num_heads`"),
        (["--preset", "{corpus_dir}"], "`preset` must be one of"),
    ],
)
def test_bad_input_is_one_line(tmp_path, corpus, capsys, extra, message):
    fill = {"missing": tmp_path / "nope", "corpus_dir": corpus.parent}
    out = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(out), "--epochs", "1", "--quiet"]
    assert main(args + [a.format(**fill) for a in extra]) == 2
    assert message in error_line(capsys)
    assert not out.exists()


def test_lstm_only_commands_on_a_gpt2_run(run, capsys):
    assert main(["complete", str(run), "--prefix", "def f(", "--engine", "numpy"]) == 2
    assert "numpy engine runs LSTM runs only" in error_line(capsys)
