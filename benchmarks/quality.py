"""Quality, measured so that it cannot flatter: charlstm against the GPT-2 backend.

The protocol:

1. Corpora, all built offline:
   - `stdlib`: the running interpreter's standard library (top-level `.py`);
   - `package:NAME`: an installed package's Python source (default `nltk`, a
     dependency of charlstm that the project never tuned on);
   - `french`: the French manual pages of Debian's `manpages-fr` package,
     rendered to text with `man` (prose in another language).
2. Splits: every file (a module, a manual page) goes to `train` (80%), `tune`
   (10%) or `test` (10%) by the SHA-256 of its path inside the corpus: stable,
   independent of file order, and the same for every contender.
3. `tune`: each contender's candidate configurations (`CANDIDATES`; every
   contender has as many) train `--budget` seconds on `train` with seed 0 and
   are scored on `tune`. Settings are chosen on this split only.
4. `test`: each contender's best candidate on `tune` trains with seeds 0 and 1
   and is scored once on `test`; `report` gives the mean and both values.
   charlstm's runs are also scored with dynamic evaluation (Krause et al.
   2018) on the first `--dynamic-test-chars` characters of `test`, against
   the static loss on the same characters. Its settings (`dynamic_grid`) are
   chosen on the first `--dynamic-chars` characters of `tune`: by the tuning
   run, or for a candidate tuned without it by its first test run (seed 0),
   whose choice the second then uses.
5. `test --tuned-on CORPUS` scores a corpus nobody tuned on: the candidates
   and the dynamic setting are those chosen on CORPUS's tuning split, and this
   corpus's `tune` split is never read. `--dynamic-tuned-on` names another
   corpus for the dynamic setting alone; naming the tested corpus itself
   chooses it on its own `tune` split (by the seed-0 test run, as in 4).

Every finished training appends one JSON line to `--results`; a rerun skips
the lines already there, so the protocol can be run over several sessions and
interrupted at any point. Run it alone on the machine:

    python benchmarks/quality.py tune --corpus package:nltk --results runs/quality.jsonl
    python benchmarks/quality.py test --corpus package:nltk --results runs/quality.jsonl
    python benchmarks/quality.py test --corpus stdlib --tuned-on package:nltk \
        --results runs/quality.jsonl
    python benchmarks/quality.py test --corpus french --tuned-on package:nltk \
        --dynamic-tuned-on french --contenders charlstm --results runs/quality.jsonl
    python benchmarks/quality.py report --results runs/quality.jsonl > quality.md

A quick check of the machinery (seconds, tiny slices):
`python benchmarks/quality.py tune --corpus stdlib --budget 5 --limit 200000
--results /tmp/q.jsonl --candidates 1`.
"""

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import charlstm  # noqa: E402
from charlstm.data.cleaning import clean_text  # noqa: E402
from charlstm.eval.lstm_gradients import CELLS as DYNAMIC_CELLS  # noqa: E402

SPLITS = {"train": 0.8, "tune": 0.1, "test": 0.1}
SEEDS = (0, 1)
SEED_TEXT = {"code": "def ", "prose": "Le "}
TEMPERATURE, SAMPLE_CHARS = 0.8, 300
DEFAULT_PACKAGE = "nltk"

# Candidate configurations per contender, tried on the tuning split: the same
# number for each. charlstm's are `make_config` fields, GPT-2's `GPT2Config`
# fields; a `learning_rate` is a factor of the contender's default rate.
CANDIDATES = {
    # Tried in order, each on top of the best so far (a greedy search): the
    # settings are explicit so that a change of charlstm's defaults does not
    # change what a recorded candidate means.
    "charlstm": {
        "lstm": {"cell": "lstm"},  # the default before this protocol
        # Layer normalisation inside the cell (Ba, Kiros and Hinton 2016).
        "ln_lstm": {"cell": "ln_lstm"},
        # AWD-LSTM's variable truncation (Merity, Keskar and Socher 2018).
        "ln_lstm+variable_length": {"cell": "ln_lstm", "variable_length": True},
        "ln_lstm-2x512": {"cell": "ln_lstm", "units": 512},
    },
    "gpt2": {
        "default": {},
        "lr-x0.5": {"learning_rate": 0.5},
        "lr-x2": {"learning_rate": 2.0},
        "6x192": {"num_layers": 6, "hidden_dim": 192, "num_heads": 6},
    },
}
CONTENDERS = tuple(CANDIDATES)
# Dynamic evaluation settings tried on the tuning split (DynamicConfig fields):
# every step with every decay. `--dynamic-steps` replaces the steps, and a row
# chosen from other steps records them (`dynamic_steps`).
DYNAMIC_STEPS = (5e-5, 2e-4, 1e-3)
DYNAMIC_DECAYS = (0.0, 0.002)


def dynamic_grid(steps=DYNAMIC_STEPS) -> dict:
    return {
        f"lr{lr:g}-decay{decay:g}": {"learning_rate": lr, "decay": decay}
        for lr in steps
        for decay in DYNAMIC_DECAYS
    }


def log(message):
    print(message, file=sys.stderr, flush=True)


# Corpora and splits.


@dataclasses.dataclass
class Corpus:
    name: str
    kind: str  # "code" or "prose"
    files: dict  # relative path -> cleaned text
    root: Path  # the folder the paths are relative to

    def split(self, part: str, limit: int | None = None) -> str:
        """The concatenated text of the files of one split, in path order."""
        text = "".join(t for p, t in sorted(self.files.items()) if split_of(p) == part)
        return text[:limit] if limit else text


def split_of(path: str) -> str:
    """train, tune or test, by the SHA-256 of the file's path in its corpus."""
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    x = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    edge = 0.0
    for part, share in SPLITS.items():
        edge += share
        if x < edge:
            return part
    return "test"


def load_corpus(spec: str) -> Corpus:
    if spec == "stdlib":
        root = Path(sysconfig.get_paths()["stdlib"])
        return _python_files("stdlib", root, sorted(root.glob("*.py")))
    if spec.startswith("package:") or spec == "package":
        name = corpus_name(spec).partition(":")[2]
        found = importlib.util.find_spec(name)
        if found is None or not found.submodule_search_locations:
            sys.exit(f"quality.py: --corpus {spec}: no installed package {name!r}")
        root = Path(next(iter(found.submodule_search_locations)))
        return _python_files(f"package:{name}", root, sorted(root.rglob("*.py")))
    if spec == "french":
        return _french_manual_pages()
    sys.exit(f"quality.py: --corpus {spec!r}: choose stdlib, package:NAME or french")


def corpus_name(spec: str) -> str:
    """The name results are recorded under for a `--corpus` value."""
    return f"package:{DEFAULT_PACKAGE}" if spec in ("package", "package:") else spec


def _python_files(name, root, paths) -> Corpus:
    files = {}
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.strip():
            files[str(path.relative_to(root))] = clean_text(text)
    return Corpus(name, "code", files, root)


def _french_manual_pages(root=Path("/usr/share/man/fr")) -> Corpus:
    if not root.is_dir() or not shutil.which("man"):
        sys.exit(
            "quality.py: --corpus french needs Debian's French manual pages and "
            "man: apt-get install manpages-fr man-db"
        )
    env = {**os.environ, "LC_ALL": "C.UTF-8", "MANWIDTH": "80"}
    files = {}
    for page in sorted(root.glob("man*/*.gz")):
        shown = subprocess.run(
            ["man", "-l", str(page)], capture_output=True, env=env, check=False
        ).stdout
        plain = subprocess.run(
            ["col", "-bx"], input=shown, capture_output=True, check=False
        ).stdout.decode("utf-8", errors="replace")
        if plain.strip():
            files[str(page.relative_to(root))] = clean_text(plain)
    return Corpus("french", "prose", files, root)


# Training and scoring.


def lstm_config(settings: dict, seed: int):
    settings = dict(settings)
    if "learning_rate" in settings:  # a factor of the default rate
        settings["learning_rate"] *= charlstm.make_config().model.learning_rate
    return charlstm.make_config(epochs=10**6, random_seed=seed, **settings)


def run_charlstm(settings, seed, train_text, scored, args, kind) -> dict:
    config = lstm_config(settings, seed)
    start = time.perf_counter()
    result = charlstm.train(text=train_text, config=config, time_budget=args.budget)
    trained = time.perf_counter() - start
    generator = result.generator()
    static = charlstm.evaluate(generator, text=scored)
    row = dict(
        params=result.model.count_params(),
        loss=static["loss"],
        characters=static["characters"],
        train_seconds=trained,
        epochs=len(result.history),
        batches=result.budget_batches,  # trained in the budget
    )
    dynamic = adapts(config, args)
    grid = dynamic_grid(args.dynamic_steps)
    # Dynamic evaluation's settings are chosen on the tuning split: by the
    # tuning run, or else (a candidate tuned without it) by this run itself.
    name = args.dynamic_choice if args.phase == "test" else ""
    if dynamic:  # the RMS rule's statistics, measured on training text once
        from charlstm.eval.dynamic import DynamicConfig, gradient_statistics

        ms = gradient_statistics(generator, train_text, DynamicConfig())
    if dynamic and not name:  # each setting on a slice of tune
        part = (scored if args.phase == "tune" else args.tune_text)[
            : args.dynamic_chars
        ]
        figures = {
            setting: _dynamic(generator, part, ms, s) for setting, s in grid.items()
        }
        losses = {setting: f["dynamic"]["loss"] for setting, f in figures.items()}
        row["dynamic"] = losses
        # The same characters without adaptation, in one stream: the baseline.
        row["dynamic_static"] = next(iter(figures.values()))["static"]["loss"]
        name = min(losses, key=losses.get)
    if args.phase == "test" and dynamic:  # the test split's first characters
        part = scored[: args.dynamic_test_chars]
        figures = _dynamic(generator, part, ms, grid[name])
        row["dynamic_setting"] = name
        row["dynamic_characters"] = figures["static"]["characters"]
        row["dynamic_loss"] = figures["dynamic"]["loss"]
        row["dynamic_test_static"] = figures["static"]["loss"]
    row["sample"] = generator.generate(
        SEED_TEXT[kind], SAMPLE_CHARS, temperature=TEMPERATURE, random_seed=0
    )
    return row


def _dynamic(generator, text, ms, settings) -> dict:
    """Static and dynamic figures on `text`, with the RMS statistics `ms`."""
    from charlstm.eval.dynamic import DynamicConfig, evaluate_dynamic

    return evaluate_dynamic(generator, text, DynamicConfig(**settings), ms=ms)


def run_gpt2(settings, seed, train_text, scored, args, kind) -> dict:
    from charlstm.backends.gpt2.backend import GPT2Config, evaluate_gpt2, train_gpt2
    from charlstm.backends.gpt2.training import LEARNING_RATE

    settings = dict(settings)
    if "learning_rate" in settings:  # a factor of the default rate
        settings["learning_rate"] *= LEARNING_RATE
    start = time.perf_counter()
    result = train_gpt2(
        text=train_text,
        config=GPT2Config(**settings),
        data=charlstm.make_config().data,  # the LSTM's stream split
        training=charlstm.TrainingConfig(epochs=10**6, random_seed=seed),
        time_budget=args.budget,
    )
    trained = time.perf_counter() - start
    generator = result.generator()
    scores = evaluate_gpt2(generator, scored)
    return dict(
        params=result.model.count_params(),
        loss=scores["loss"],
        characters=scores["characters"],
        train_seconds=trained,
        epochs=len(result.history),
        batches=result.budget_batches,  # trained in the budget
        sample=generator.generate(
            SEED_TEXT[kind], SAMPLE_CHARS, temperature=TEMPERATURE, random_seed=0
        ),
    )


RUNNERS = {"charlstm": run_charlstm, "gpt2": run_gpt2}


# The results file.


def read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def append_result(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:  # one line: a partial run loses one
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def key(row) -> tuple:
    return (
        row["phase"],
        row["corpus"],
        row["contender"],
        row["candidate"],
        row["seed"],
        dynamic_origin(row),
        dynamic_steps(row),
    )


def settings_origin(row) -> str:
    """The corpus whose tuning split chose the row's candidate."""
    return row.get("tuned_on", row["corpus"])


def dynamic_origin(row) -> str:
    """The corpus whose tuning split chose the row's dynamic setting."""
    return row.get("dynamic_tuned_on", settings_origin(row))


def dynamic_steps(row) -> tuple:
    """The dynamic-evaluation steps the row's setting was chosen among."""
    return tuple(row.get("dynamic_steps", DYNAMIC_STEPS))


def adapts(config, args) -> bool:
    """Whether a charlstm run of `config` is scored with dynamic evaluation."""
    return args.dynamic and config.model.cell in DYNAMIC_CELLS


def new_row(
    phase, corpus, contender, candidate, seed, tuned, dynamic_on, steps=DYNAMIC_STEPS
):
    """A result row, naming where its settings were chosen when not on `corpus`
    (`tuned`: the candidate, `dynamic_on`: charlstm's dynamic setting) and the
    dynamic steps tried when not `DYNAMIC_STEPS`."""
    row = dict(phase=phase, corpus=corpus, contender=contender)
    row.update(candidate=candidate, seed=seed)
    if tuned != corpus:
        row["tuned_on"] = tuned
    if contender == "charlstm":
        if dynamic_on != tuned:
            row["dynamic_tuned_on"] = dynamic_on
        if tuple(steps) != DYNAMIC_STEPS:
            row["dynamic_steps"] = list(steps)
    return row


def best_candidates(results, corpus: str) -> dict:
    """Each contender's candidate with the lowest tuning loss on `corpus`."""
    best = {}
    for row in results:
        if row["phase"] == "tune" and row["corpus"] == corpus:
            name = row["contender"]
            if name not in best or row["loss"] < best[name]["loss"]:
                best[name] = row
    return {name: row["candidate"] for name, row in best.items()}


def best_dynamic(results, corpus: str, candidate: str, steps=DYNAMIC_STEPS) -> str:
    """The dynamic-evaluation setting with the lowest loss on `corpus`'s tuning
    split for charlstm's `candidate`, among `steps`: from its tuning run, or
    else from the first test run of `corpus` that tried them on that split."""
    for phase in ("tune", "test"):
        for row in results:
            where = (row["phase"], row["corpus"], row["contender"], row["candidate"])
            chosen_on = (dynamic_origin(row), dynamic_steps(row))
            if where == (phase, corpus, "charlstm", candidate) and chosen_on == (
                corpus,
                tuple(steps),
            ):
                found = row.get("dynamic") or {}
                if found:
                    return min(found, key=found.get)
    return ""


def jobs(phase, corpus, contenders, results, count) -> list[tuple]:
    if phase == "tune":
        return [
            (c, candidate, 0)
            for c in contenders
            for candidate in list(CANDIDATES[c])[:count]
        ]
    chosen = best_candidates(results, corpus)
    missing = [c for c in contenders if c not in chosen]
    if missing:
        sys.exit(
            f"quality.py: no tuning results for {', '.join(missing)} on {corpus}: "
            "run the tune phase first"
        )
    return [(c, chosen[c], seed) for c in contenders for seed in SEEDS]


# The report.


def report(results) -> str:
    lines = []
    for corpus in sorted({r["corpus"] for r in results}):
        rows = [r for r in results if r["corpus"] == corpus]
        lines += [f"## {corpus}", ""]
        tuning = sorted((r for r in rows if r["phase"] == "tune"), key=_order)
        if tuning:
            lines += ["Tuning split (seed 0), nats/char:", ""]
            lines += [
                "| contender | candidate | params | nats/char | epochs | dynamic, "
                "first `--dynamic-chars` of tune |"
            ]
            lines += ["|---|---|---|---|---|---|"]
        for r in tuning:
            found = r.get("dynamic") or {}
            best = min(found, key=found.get) if found else ""
            base = r.get("dynamic_static")
            against = f" against {base:.3f} static" if base is not None else ""
            dynamic = f"{found[best]:.3f} ({best}){against}" if best else "-"
            lines.append(
                f"| {r['contender']} | {r['candidate']} | {r['params']:,} "
                f"| {r['loss']:.3f} | {r['epochs']} | {dynamic} |"
            )
        by_origin = {}  # (candidate's origin, dynamic setting's, steps) -> rows
        for r in rows:
            if r["phase"] == "test":
                origin = (settings_origin(r), dynamic_origin(r), dynamic_steps(r))
                by_origin.setdefault(origin, []).append(r)

        def order(o):  # one origin for every setting first; the usual steps first
            return (o[0] != o[1], o[:2], o[2] != DYNAMIC_STEPS, o[2])

        for origin in sorted(by_origin, key=order):
            tests = by_origin[origin]
            lines += ["", _test_heading(corpus, *origin), ""]
            lines += [
                "| contender | candidate | mean | seeds | dynamic: characters, "
                "static on them, dynamic (means) |"
            ]
            lines += ["|---|---|---|---|---|"]
            for name in CONTENDERS:
                mine = [r for r in tests if r["contender"] == name]
                if mine:
                    lines.append(_test_line(name, mine))
            for r in tests:  # dynamic settings tried on tune by a test run
                found = r.get("dynamic") or {}
                if found:
                    tried = ", ".join(f"{k} {v:.3f}" for k, v in found.items())
                    lines += [
                        "",
                        f"Dynamic evaluation's settings, tried on the first "
                        f"`--dynamic-chars` of tune by the {r['candidate']} "
                        f"test run with seed {r['seed']} (static "
                        f"{r['dynamic_static']:.3f}): {tried}.",
                    ]
        lines.append("")
    return "\n".join(lines)


def _test_heading(corpus, tuned, dynamic, steps) -> str:
    def split(name):
        own = name == corpus
        return "its own tuning split" if own else f"the tuning split of {name}"

    where = f"; settings chosen on {split(tuned)}" if tuned != corpus else ""
    if dynamic != tuned:
        where += f", the dynamic setting on {split(dynamic)}"
    if steps != DYNAMIC_STEPS:
        where += f", dynamic steps {', '.join(f'{x:g}' for x in steps)}"
    return f"Test split, scored once (seeds 0 and 1{where}), nats/char:"


def _order(row):
    return (CONTENDERS.index(row["contender"]), row["loss"])


def _test_line(name, rows) -> str:
    losses = [r["loss"] for r in rows]
    seeds = ", ".join(f"{r['loss']:.3f}" for r in sorted(rows, key=lambda r: r["seed"]))
    adapted = [r for r in rows if "dynamic_loss" in r]
    dyn = "-"
    if adapted:
        static = statistics.mean(r["dynamic_test_static"] for r in adapted)
        dynamic = statistics.mean(r["dynamic_loss"] for r in adapted)
        dyn = (
            f"{adapted[0]['dynamic_characters']:,}, {static:.3f}, {dynamic:.3f} "
            f"({adapted[0]['dynamic_setting']})"
        )
    return (
        f"| {name} | {rows[0]['candidate']} | {statistics.mean(losses):.3f} "
        f"| {seeds} | {dyn} |"
    )


def steps_list(text: str) -> tuple:
    """`--dynamic-steps`: positive numbers, comma-separated; sorted, without
    repeats. Each must have its own setting name (`dynamic_grid`)."""
    try:
        steps = tuple(sorted({float(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        steps = ()
    if not steps or not all(0 < x < math.inf for x in steps):
        raise argparse.ArgumentTypeError(
            f"expected positive numbers separated by commas, got {text!r}"
        )
    if len(dynamic_grid(steps)) != len(steps) * len(DYNAMIC_DECAYS):
        raise argparse.ArgumentTypeError(
            f"steps that differ beyond 6 significant digits, in {text!r}: "
            "give steps that differ in their first 6"
        )
    return steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("tune", "test", "report"))
    parser.add_argument(
        "--corpus", default="stdlib", help="stdlib, package:NAME, french"
    )
    parser.add_argument("--results", type=Path, required=True, help="JSON-lines file")
    parser.add_argument("--budget", type=float, default=600, help="training seconds")
    parser.add_argument(
        "--tuned-on",
        metavar="CORPUS",
        help="test: use the settings chosen on this corpus's tuning split "
        "(default: the tested corpus's own)",
    )
    parser.add_argument(
        "--dynamic-tuned-on",
        metavar="CORPUS",
        help="test, with --tuned-on: choose the dynamic setting on this corpus's "
        "tuning split (the tested corpus: its own) instead of --tuned-on's",
    )
    parser.add_argument(
        "--contenders", default=",".join(CONTENDERS), help="comma-separated"
    )
    parser.add_argument(
        "--candidates", type=int, help="try only the first N candidates of each"
    )
    parser.add_argument(
        "--limit", type=int, help="use only the first N characters of each split"
    )
    parser.add_argument(
        "--no-dynamic",
        dest="dynamic",
        action="store_false",
        help="skip dynamic evaluation of charlstm's runs",
    )
    parser.add_argument(
        "--dynamic-chars",
        type=int,
        default=50_000,
        help="tuning-split characters each dynamic-evaluation setting is tried on",
    )
    parser.add_argument(
        "--dynamic-test-chars",
        type=int,
        default=100_000,
        help="test-split characters scored with dynamic evaluation (and, for "
        "its baseline, statically in one stream)",
    )
    parser.add_argument(
        "--dynamic-steps",
        type=steps_list,
        default=DYNAMIC_STEPS,
        help="comma-separated dynamic-evaluation steps to try, each with and "
        f"without decay (default: {','.join(f'{x:g}' for x in DYNAMIC_STEPS)}); "
        "rows chosen from other steps are kept apart",
    )
    args = parser.parse_args(argv)
    results = read_results(args.results)
    if args.phase == "report":
        print(report(results))
        return 0
    names = [n for n in args.contenders.split(",") if n]
    if not names or set(names) - set(CONTENDERS):
        parser.error(f"--contenders: choose from {','.join(CONTENDERS)}")
    if not args.budget > 0:
        parser.error("--budget must be a positive number of seconds")
    if args.dynamic_steps != DYNAMIC_STEPS and not (
        args.phase == "test" and args.dynamic and "charlstm" in names
    ):
        parser.error(
            "--dynamic-steps applies to the test phase's dynamic evaluation of "
            "charlstm only (not with --no-dynamic)"
        )
    corpus = load_corpus(args.corpus)
    train_text = corpus.split("train", args.limit)
    scored = corpus.split(args.phase, args.limit)
    counts = {part: sum(split_of(p) == part for p in corpus.files) for part in SPLITS}
    log(
        f"{corpus.name}: {counts} files; train {len(train_text):,} chars, "
        f"{args.phase} {len(scored):,} chars"
    )
    done = {key(r) for r in results}
    count = args.candidates or min(len(CANDIDATES[c]) for c in names)
    args.dynamic_choice = ""
    if args.tuned_on and args.phase != "test":
        parser.error("--tuned-on applies to the test phase only")
    if args.dynamic_tuned_on and not (
        args.tuned_on and args.dynamic and "charlstm" in names
    ):
        parser.error(
            "--dynamic-tuned-on applies with --tuned-on, to charlstm's dynamic "
            "evaluation only (not with --no-dynamic)"
        )
    tuned = corpus_name(args.tuned_on or corpus.name)
    dynamic_on = corpus_name(args.dynamic_tuned_on or tuned)
    if args.phase == "test":
        args.tune_text = (
            corpus.split("tune", args.limit) if dynamic_on == corpus.name else ""
        )
    for contender, candidate, seed in jobs(args.phase, tuned, names, results, count):
        settings = CANDIDATES[contender][candidate]
        steps = DYNAMIC_STEPS  # recorded only where dynamic evaluation runs
        if contender == "charlstm" and adapts(lstm_config(settings, seed), args):
            steps = args.dynamic_steps
        row = new_row(
            args.phase,
            corpus.name,
            contender,
            candidate,
            seed,
            tuned,
            dynamic_on,
            steps,
        )
        if key(row) in done:
            log(f"have {key(row)}")
            continue
        log(f"{key(row)}: training {args.budget:g} s ...")
        if args.phase == "test" and contender == "charlstm":
            # The corpus the row will name as the one that chose it.
            args.dynamic_choice = best_dynamic(
                results, dynamic_origin(row), candidate, args.dynamic_steps
            )
            if args.dynamic and not (args.dynamic_choice or args.tune_text):
                sys.exit(
                    f"quality.py: no dynamic-evaluation setting chosen on {dynamic_on} "
                    f"for {candidate}: run its test phase first, or --no-dynamic"
                )
        row.update(
            RUNNERS[contender](settings, seed, train_text, scored, args, corpus.kind)
        )
        row.update(budget=args.budget, limit=args.limit, date=time.strftime("%F"))
        append_result(args.results, row)
        results.append(row)
        bits = row["loss"] / math.log(2)
        log(f"{key(row)}: {row['loss']:.4f} nats/char ({bits:.4f} bits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
