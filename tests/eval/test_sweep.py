import csv
import json
import textwrap

import pytest

import charlstm
from charlstm.eval.codegen import extract_functions, run_codegen
from charlstm.eval.grid import SweepGrid
from charlstm.eval.sweep import SETTINGS_FILE, run_sweep
from charlstm.eval.sweep_results import RESULT_COLUMNS, markdown_table, read_results
from charlstm.infer.sampling import Sampling
from charlstm.training.run_dir import read_history
from tests.helpers import make_text, tiny_config


def test_parse_reads_every_list_and_points_cover_the_grid():
    grid = SweepGrid.parse(
        batch_size="32, 64",
        learning_rate="0.002,0.004",
        l2="0,1e-5",
        cell="lstm,gru,simple_rnn",
    )
    assert grid.batch_size == [32, 64]
    assert grid.learning_rate == [0.002, 0.004]
    assert grid.l2 == [0.0, 1e-5]
    assert grid.cell == ["lstm", "gru", "simple_rnn"]
    points = grid.points(tiny_config())
    assert len(points) == 24
    assert len({p.name for p in points}) == 24
    # Cell slowest, L2 fastest; each point's config carries its values.
    assert [p.l2 for p in points[:2]] == [0.0, 1e-5]
    assert {p.cell for p in points[:8]} == {"lstm"}
    for p in points:
        assert p.config.model.cell == p.cell
        assert p.config.data.batch_size == p.batch_size
        assert p.config.model.learning_rate == p.learning_rate
        assert p.config.model.l2 == p.l2
        assert p.config.model.units == 8  # the base config's other settings
    assert points[0].name == "lstm-bs32-lr0.002-l2_0.0"


def test_empty_lists_keep_the_base_config_values():
    base = tiny_config(cell="gru", learning_rate=0.03)
    [point] = SweepGrid().points(base)
    assert (point.cell, point.batch_size, point.learning_rate, point.l2) == (
        "gru",
        4,
        0.03,
        0.0,
    )
    points = SweepGrid.parse(l2="0.1,0.01").points(base)
    assert [(p.cell, p.l2) for p in points] == [("gru", 0.1), ("gru", 0.01)]


def test_perez2021_grid_is_table_4_1_over_three_cells():
    grid = SweepGrid.perez2021()
    assert SweepGrid.named("perez2021") == grid == SweepGrid.named("seed000")
    with pytest.raises(ValueError, match="perez2021"):
        SweepGrid.named("table41")
    assert grid.batch_size == [64, 128]
    assert grid.learning_rate == [0.02, 0.002, 0.0002]
    assert grid.l2 == [0.1, 0.01]
    assert len(grid.points(tiny_config())) == 36
    replaced = grid.replace(batch_size=[8], cell=[])
    assert replaced.batch_size == [8] and replaced.cell == grid.cell


@pytest.mark.parametrize(
    "field, text, shown",
    [
        ("batch_size", "32,0", "batch_size=0"),
        ("batch_size", "2.5", "batch_size='2.5'"),
        ("batch_size", "-4", "batch_size=-4"),
        ("learning_rate", "0.1,0", "learning_rate='0'"),
        ("learning_rate", "nan", "learning_rate='nan'"),
        ("learning_rate", "fast", "learning_rate='fast'"),
        ("l2", "-1e-5", "l2='-1e-5'"),
        ("l2", "inf", "l2='inf'"),
        ("l2", "0,,1", "l2='0,,1'"),
        ("cell", "lstm,transformer", "cell='transformer'"),
        ("cell", "LSTM", "cell='LSTM'"),
    ],
)
def test_an_invalid_grid_value_is_named_with_its_flag(field, text, shown):
    flag = "--" + field.replace("_", "-")
    with pytest.raises(ValueError) as error:
        SweepGrid.parse(**{field: text})
    message = str(error.value)
    assert f"`{field}` ({flag})" in message
    assert shown in message


def test_grid_lists_are_checked_when_built_directly():
    with pytest.raises(ValueError, match="batch_size=True"):
        SweepGrid(batch_size=[True])
    with pytest.raises(ValueError, match="must be a list"):
        SweepGrid(cell="lstm")
    with pytest.raises(ValueError, match=r"twice. Received: learning_rate=0.002"):
        SweepGrid(learning_rate=[0.002, 0.002])
    assert SweepGrid(learning_rate=[1]).learning_rate == [1.0]


SOURCE = textwrap.dedent(
    '''
    def head(a, b):
        """Bad cafe."""
        return a + b


    def fed(x):
        """Beef."""
        if x:
            return x
        return None
    '''
)
CODEGEN = {"max_length": 12, "temperature": 0.0, "random_seed": 0}


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "functions.py"
    path.write_text(SOURCE)
    examples, skipped = extract_functions(path)
    assert len(examples) == 2 and skipped == 0
    return examples


@pytest.fixture(scope="module")
def two_point_sweep(tmp_path_factory, prompts):
    out = tmp_path_factory.mktemp("sweeps") / "cells"
    events = []
    rows = run_sweep(
        out_dir=out,
        grid=SweepGrid.parse(cell="lstm,gru"),
        base_config=tiny_config(epochs=1),
        text=make_text(1000),
        train_prompts=prompts,
        eval_prompts=prompts[1:],
        codegen_options=CODEGEN,
        progress=lambda point, i, n, row: events.append((point.name, i, n, row)),
    )
    return out, rows, events


def test_two_point_sweep_writes_runs_csv_and_markdown(two_point_sweep):
    out, rows, events = two_point_sweep
    names = ["lstm-bs4-lr0.01-l2_0.0", "gru-bs4-lr0.01-l2_0.0"]
    assert [row["point"] for row in rows] == names
    assert [(e[0], e[1], e[2], e[3] is None) for e in events] == [
        (names[0], 0, 2, True),
        (names[0], 0, 2, False),
        (names[1], 1, 2, True),
        (names[1], 1, 2, False),
    ]
    for name, row in zip(names, rows, strict=True):
        run = out / name
        assert (run / "model.keras").is_file() and (run / "history.csv").is_file()
        config = json.loads((run / "config.json").read_text())
        assert config["model"]["cell"] == row["cell"]
        history = read_history(run / "history.csv")
        assert row["epochs"] == len(history) == 1
        assert row["val_bits_per_char"] == pytest.approx(
            history[0]["val_bits_per_char"], rel=1e-5
        )
        assert 0 < row["val_bits_per_char"] < 5
        assert row["chars_per_second"] > 0 and row["train_seconds"] > 0
    with open(out / "results.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == list(RESULT_COLUMNS)
    back = read_results(out)
    assert [r["point"] for r in back] == names
    for written, read in zip(rows, back, strict=True):
        assert read["batch_size"] == 4
        assert read["bleu_eval"] == pytest.approx(written["bleu_eval"], rel=1e-5)
        assert read["val_bits_per_char"] == pytest.approx(
            written["val_bits_per_char"], rel=1e-5
        )
    markdown = (out / "results.md").read_text()
    assert markdown == markdown_table(rows)
    lines = markdown.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| cell | batch size | learning rate | L2 weight")
    assert lines[0].endswith(
        "| BLEU train | BLEU eval | token BLEU train | token BLEU eval "
        "| syntax-valid train | syntax-valid eval |"
    )
    assert lines[2].startswith("| lstm | 4 | 0.01 | 0 | 1 |")
    assert f"| {rows[1]['val_bits_per_char']:.3f} |" in lines[3]
    assert not list(out.glob(".*")), "temporary files left behind"


def test_an_existing_sweep_is_refused_then_resumed_without_retraining(
    two_point_sweep, prompts
):
    out, rows, _ = two_point_sweep
    model = out / rows[0]["point"] / "model.keras"
    before = model.stat().st_mtime_ns
    settings = dict(
        out_dir=out,
        grid=SweepGrid.parse(cell="lstm,gru"),
        base_config=tiny_config(epochs=1),
        text=make_text(1000),
        train_prompts=prompts,
        eval_prompts=prompts[1:],
        codegen_options=CODEGEN,
    )
    with pytest.raises(FileExistsError, match="--resume.*--force"):
        run_sweep(**settings)
    started = []
    resumed = run_sweep(
        **settings, resume=True, progress=lambda p, i, n, r: started.append(r)
    )
    assert resumed == rows
    assert None not in started  # no point was started again
    assert model.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="different settings.*base_config"):
        run_sweep(**{**settings, "base_config": tiny_config(epochs=2)}, resume=True)
    # How fast points train is not what they are: other thread pools resume,
    # and so does a sweep written before `threads` existed.
    faster = {**settings, "base_config": tiny_config(epochs=1, threads="tensorflow")}
    assert run_sweep(**faster, resume=True) == rows
    saved = json.loads((out / SETTINGS_FILE).read_text())
    del saved["base_config"]["training"]["threads"]
    (out / SETTINGS_FILE).write_text(json.dumps(saved))
    assert run_sweep(**settings, resume=True) == rows
    assert model.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="different settings.*corpus"):
        run_sweep(**{**settings, "text": make_text(1000, seed=1)}, resume=True)
    with pytest.raises(ValueError, match="different settings.*prompts"):
        run_sweep(**{**settings, "eval_prompts": prompts}, resume=True)
    with pytest.raises(ValueError, match="different settings.*codegen_options"):
        run_sweep(**{**settings, "codegen_options": {}}, resume=True)
    with pytest.raises(ValueError, match="`resume` or `force`"):
        run_sweep(**settings, resume=True, force=True)


def test_bad_settings_are_refused_before_the_directory_is_touched(tmp_path):
    out = tmp_path / "sweep"
    with pytest.raises(ValueError, match="batch_size=512"):
        run_sweep(
            out_dir=out,
            grid=SweepGrid(batch_size=[4, 512]),
            base_config=tiny_config(),
            text=make_text(1000),
        )
    with pytest.raises(ValueError, match="time_budget=0"):
        run_sweep(out_dir=out, base_config=tiny_config(), text="ab", time_budget=0)
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        run_sweep(out_dir=tmp_path / "file", base_config=tiny_config(), text="ab")


def test_every_point_trains_under_the_time_budget(tmp_path):
    rows = run_sweep(
        out_dir=tmp_path / "budget",
        base_config=tiny_config(epochs=10_000),
        text=make_text(1000),
        time_budget=0.5,
    )
    history = read_history(tmp_path / "budget" / rows[0]["point"] / "history.csv")
    assert history[-1]["stopped"] == "time_budget"
    assert rows[0]["epochs"] == len(history) < 10_000


def test_bleu_columns_score_the_best_model_on_each_prompt_set(two_point_sweep, prompts):
    out, rows, _ = two_point_sweep
    for row in rows:
        generator = charlstm.load(out / row["point"])
        for name, examples in (("train", prompts), ("eval", prompts[1:])):
            summary = run_codegen(
                generator,
                examples,
                max_length=12,
                sampling=Sampling(temperature=0.0, random_seed=0),
            ).summary
            assert row[f"bleu_{name}"] == pytest.approx(summary["bleu_perez2021"])
            assert row[f"bleu_tokens_{name}"] == pytest.approx(summary["bleu_tokens"])
            assert row[f"syntax_valid_{name}"] == summary["syntax_valid_rate"]
            assert 0 <= row[f"bleu_{name}"] <= 1


def test_markdown_leaves_out_score_columns_no_row_has():
    row = {
        "cell": "gru",
        "batch_size": 8,
        "learning_rate": 0.002,
        "l2": 1e-5,
        "epochs": 3,
        "chars_per_second": 12345.6,
        "val_bits_per_char": 2.34567,
        "bleu_eval": 0.0123,
    }
    assert markdown_table([row, {**row, "val_bits_per_char": None}]) == (
        "| cell | batch size | learning rate | L2 weight | epochs | target chars/s "
        "| val bits/char | BLEU eval |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| gru | 8 | 0.002 | 1e-05 | 3 | 12,346 | 2.346 | 0.012 |\n"
        "| gru | 8 | 0.002 | 1e-05 | 3 | 12,346 |  | 0.012 |\n"
    )
