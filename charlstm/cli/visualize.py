"""`charlstm visualize`: what the LSTM learned, as text coloured by its neurons.

Reads a text (or writes from a seed) with a trained model, records every
layer's states, ranks every unit against features of the text
(`charlstm.interpret.neurons`) and writes an HTML page with the best unit for each
feature, or the units asked for; optionally a JSON report of the top units per
feature and a PNG heat strip. Runs on the numpy engine and does not import
TensorFlow when the run has its `engine.npz`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from charlstm.cli.common import (
    add_run_arguments,
    add_sampling_options,
    load_generator,
    note,
    note_outside,
    sampling_from,
)
from charlstm.config import STATE_NAMES
from charlstm.interpret.view import DEFAULT_PICKER
from charlstm.utils.checks import InputError

DEFAULT_LENGTH = 400  # characters generated after --seed


def add_parser(commands):
    v = commands.add_parser(
        "visualize",
        help="colour text by neuron activations; find the neurons by feature",
        description="Record the states of every layer while the model reads "
        "--text FILE (or writes from --seed TEXT), rank every unit by how closely "
        "it follows features of the text (inside a string, a comment or a "
        "docstring, bracket depth, indentation, position in the line) and write "
        "an HTML page of the text coloured by the chosen units.",
    )
    add_run_arguments(v)
    source = v.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", metavar="FILE", help="the text for the model to read")
    source.add_argument("--seed", metavar="TEXT", help="generate from this seed")
    v.add_argument(
        "--length",
        type=int,
        metavar="N",
        help=f"with --seed: characters to generate (default {DEFAULT_LENGTH})",
    )
    add_sampling_options(v)
    v.add_argument("--out", metavar="HTML", required=True, help="the page to write")
    v.add_argument(
        "--neurons",
        default="auto",
        metavar="auto|L:I,...",
        help="auto (the best unit per feature, default) or LAYER:UNIT items from "
        "0, with ':c' for an LSTM's cell state: '1:37,0:5:c'",
    )
    v.add_argument("--report", metavar="JSON", help="write the top units per feature")
    v.add_argument("--png", metavar="PNG", help="write a heat strip (matplotlib)")
    v.add_argument(
        "--top", type=int, default=5, metavar="K", help="units per feature in --report"
    )
    v.add_argument(
        "--picker",
        default=str(DEFAULT_PICKER),
        metavar="K|all",
        help="the page's picker offers the top K units per feature besides those "
        f"shown (default {DEFAULT_PICKER}; 0 for none), or 'all': every unit, 2 "
        "bytes per character each",
    )
    v.add_argument(
        "--language",
        choices=["auto", "python", "text"],
        default="auto",
        help="which features: Python's or those of any text (default: detect)",
    )
    v.add_argument("--force", action="store_true", help="replace existing outputs")
    return v


def _check_outputs(args) -> list[Path]:
    """The outputs, refused if one exists (without --force) or two are the same."""
    outputs = [Path(p) for p in (args.out, args.report, args.png) if p]
    resolved = [p.resolve() for p in outputs]
    if len(set(resolved)) != len(resolved):
        raise InputError("--out, --report and --png must be different files")
    named = zip(
        ("--out", "--report", "--png"), (args.out, args.report, args.png), strict=True
    )
    for option, path in named:
        if not path:
            continue
        if Path(path).is_dir():
            raise InputError(f"{option} {path} is a directory")
        if Path(path).exists() and not args.force:
            raise InputError(f"{option} {path} exists; pass --force to replace it")
        if not Path(path).resolve().parent.is_dir():
            raise InputError(f"{option} {path}: its directory does not exist")
    return outputs


def _check_args(args) -> None:
    if args.text is not None and args.length is not None:
        raise InputError("--length goes with --seed, not --text")
    if args.seed is not None and args.seed == "":
        raise InputError("--seed must not be empty")
    if args.top < 1:
        raise InputError(f"--top must be a positive integer, got {args.top}")
    _picker(args.picker)
    if args.png:
        from charlstm.interpret.view import _import_matplotlib

        try:
            _import_matplotlib()  # fail before the work, not after
        except ImportError as error:
            raise InputError(f"--png: {error}") from None
    _check_outputs(args)


def _picker(value: str) -> int | str:
    """--picker as `NeuronView` takes it: a count, or "all"."""
    if value == "all":
        return value
    if not value.isdigit():
        raise InputError(f"--picker must be a count or 'all', got {value!r}")
    return int(value)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if not text:
        raise InputError(f"--text {path} is empty")
    return text


def run(args) -> int:
    from charlstm.config import RunConfig
    from charlstm.data.cleaning import clean_text
    from charlstm.interpret.activations import record_activations, record_generation
    from charlstm.interpret.features import text_features
    from charlstm.interpret.neurons import parse_neurons, rank_neurons, report
    from charlstm.interpret.view import auto_views, given_views, save_html, save_png
    from charlstm.training.run_dir import RunFiles
    from charlstm.utils.storage import atomic_write_text

    _check_args(args)
    text = _read_text(args.text) if args.text is not None else None
    generator = load_generator(args)
    config = generator.config
    kinds = STATE_NAMES[config.cell]
    neurons = None
    if args.neurons.strip() != "auto":
        neurons = parse_neurons(args.neurons, config.num_layers, config.units, kinds)
    data = RunConfig.load(RunFiles(args.run_dir).config).data
    form = (data.lowercase, data.normalize, data.ascii)  # as the corpus was read
    if text is not None:
        text = clean_text(text, *form)
        note_outside(generator, text)
        acts = record_activations(generator, text)
        source = f"{args.text} (read)"
    else:
        seed = clean_text(args.seed, *form)
        note_outside(generator, seed, "seed ")
        length = DEFAULT_LENGTH if args.length is None else args.length
        acts = record_generation(generator, seed, length, sampling_from(args))
        source = (
            f"generated from the seed {args.seed!r}, temperature {args.temperature}"
        )
    features = text_features(acts.text, args.language)
    picker = _picker(args.picker)
    depth = args.top if picker == "all" else max(args.top, picker)
    ranking = rank_neurons(acts, features, top_k=depth)
    if neurons is None:
        views = auto_views(ranking)
        if not views:
            raise InputError(
                "no feature varies over this text, so no neuron can be ranked; "
                "give a longer text or --neurons LAYER:UNIT"
            )
    else:
        views = given_views(acts, features, neurons)
    title = f"charlstm neurons: {os.path.basename(os.path.normpath(args.run_dir))}"
    save_html(
        args.out,
        acts,
        views,
        ranking=ranking,
        picker=picker,
        title=title,
        source=source,
        feature_method=features.method,
    )
    if args.report:
        top = {name: scores[: args.top] for name, scores in ranking.items()}
        data = report(top, features, acts)
        data["shown"] = [{"neuron": str(v.neuron), "heading": v.heading} for v in views]
        atomic_write_text(args.report, json.dumps(data, indent=2) + "\n")
    if args.png:
        save_png(args.png, acts, views)
    note(f"wrote {args.out}: {len(views)} neuron(s) over {len(acts.text)} characters")
    return 0
