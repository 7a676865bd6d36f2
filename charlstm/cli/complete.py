"""`charlstm complete`: line completion from the command line, or as a server
reading one JSON request per line on stdin (for editors).

Runs on the numpy engine and does not import TensorFlow when the run has its
`engine.npz`.

With `--dynamic` (LSTM and LN-LSTM runs), the model first adapts its weights to
the text it completes by dynamic evaluation (`charlstm.infer.adaptation`), whose
flags come from `DynamicConfig`'s fields as in `charlstm evaluate --dynamic`.
"""

from __future__ import annotations

import json
import sys
import warnings

from charlstm.cli.common import (
    add_dynamic_options,
    add_json_option,
    add_run_arguments,
    add_sampling_options,
    add_strict_option,
    dynamic_config,
    load_generator,
    note_outside,
)
from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError

# Fields of a --serve request, and the option that gives each one's default.
REQUEST_FIELDS = {
    "prefix": "prefix",
    "context": "context",
    "candidates": "candidates",
    "max_length": "max_length",
    "temperature": "temperature",
    "beam_width": "beam_width",
    "top_k": "top_k",
    "top_p": "top_p",
    "random_seed": "random_seed",
    "strict": "strict",
    "confidence": "confidence",
}
# ANSI colours for a character's probability: >= 0.9, >= 0.5, below.
COLOURS = ((0.9, "\033[32m"), (0.5, "\033[33m"), (0.0, "\033[31m"))
RESET = "\033[0m"


def add_parser(commands):
    c = commands.add_parser(
        "complete",
        help="complete the current line (a code completion tool)",
        description="Complete the line that --prefix ends in, up to the newline. "
        "With --serve, read one JSON request per line on stdin "
        '({"prefix": ..., "context": ..., "candidates": ...}) and write one JSON '
        "answer per line.",
    )
    add_run_arguments(c)
    c.add_argument(
        "--prefix", help="the text typed so far (its last line is completed)"
    )
    c.add_argument("--context", default="", help="text before the prefix")
    c.add_argument(
        "--context-file", metavar="FILE", help="read the text before the prefix here"
    )
    c.add_argument(
        "--candidates", type=int, default=1, help="endings, best first (default: 1)"
    )
    c.add_argument(
        "--max-length",
        type=int,
        default=80,
        help="characters at most, tokens for a word-mode run (default: 80)",
    )
    add_sampling_options(c, temperature=0.0)
    c.add_argument("--beam-width", type=int, help="default: --candidates")
    add_strict_option(c, default=False)
    add_json_option(c, "the answer")
    c.add_argument(
        "--confidence",
        action="store_true",
        help="per-character probability and entropy (JSON), colour (terminal)",
    )
    c.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    c.add_argument(
        "--serve", action="store_true", help="answer JSON requests from stdin"
    )
    _add_dynamic(c)
    return c


def _add_dynamic(parser) -> None:
    """`--dynamic`, `DynamicConfig`'s flags and `--statistics-corpus`."""

    d = parser.add_argument_group("dynamic evaluation (LSTM and LN-LSTM runs)")
    d.add_argument(
        "--dynamic",
        action="store_true",
        help="adapt the weights to the text before the cursor first (dynamic "
        "evaluation, Krause et al. 2018: each segment read, then one gradient "
        "step on it), and complete with the adapted weights; with --serve, "
        "requests that extend the last one's text learn only what is new",
    )
    add_dynamic_options(d)


def _dynamic_config(args):
    """The `DynamicConfig` of the flags with --dynamic (None without it)."""
    from charlstm.backends import run_backend

    return dynamic_config(args, run_backend(args.run_dir))


def adaptive_completer(args, generator, config):
    """An `AdaptiveCompleter` of the run (None without a config); the rms
    variant's statistics measured on the training text."""
    from charlstm.eval.dynamic import gradient_statistics, statistics_text
    from charlstm.infer.adaptation import Adapter, AdaptiveCompleter

    if config is None:
        return None
    ms = None
    if config.variant == "rms":
        text, _ = statistics_text(args.run_dir, args.statistics_corpus)
        ms = gradient_statistics(generator, text, config)
    return AdaptiveCompleter(Adapter(generator, config, ms))


def complete_request(generator, request: dict, defaults: dict):
    """Completes one request (its fields over `defaults`) with `generator`: a
    `TextGenerator`, or an `AdaptiveCompleter` (--dynamic).

    Returns:
        (list of Completion, the settings used).

    Raises ValueError for a bad request (unknown field, wrong type, no prefix).
    """
    if not isinstance(request, dict):
        raise InputError(f"a request must be a JSON object. Received: {request!r}")
    unknown = sorted(set(request) - set(REQUEST_FIELDS) - {"id"})
    if unknown:
        raise InputError(
            f"unknown request field(s) {unknown}; known: {sorted(REQUEST_FIELDS)}"
        )
    settings = {**defaults, **{k: v for k, v in request.items() if k != "id"}}
    for name in ("prefix", "context"):
        if not isinstance(settings[name], str):
            raise InputError(
                f"`{name}` must be a string. Received: {name}={settings[name]!r}"
            )
    sampling = Sampling(
        temperature=settings["temperature"],
        top_k=settings["top_k"],
        top_p=settings["top_p"],
        random_seed=settings["random_seed"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown characters: reported as `dropped`
        found = generator.complete(
            settings["prefix"],
            sampling,
            max_length=settings["max_length"],
            num_candidates=settings["candidates"],
            context=settings["context"],
            beam_width=settings["beam_width"],
            strict=bool(settings["strict"]),
        )
    return (found if isinstance(found, list) else [found]), settings


def answer(generator, request: dict, defaults: dict) -> dict:
    """The JSON-ready answer to one request: `completions`, and the characters
    outside the vocabulary if any: `unknown` (read as its unknown id) or
    `dropped` (by a vocabulary without one); `id` echoed if given."""
    found, settings = complete_request(generator, request, defaults)
    result = {"id": request["id"]} if "id" in request else {}
    result["completions"] = [
        c.to_dict(confidence=bool(settings["confidence"])) for c in found
    ]
    vocabulary = generator.vocabulary
    outside = vocabulary.outside(settings["context"] + settings["prefix"])
    if outside:
        result["unknown" if vocabulary.unknown_id is not None else "dropped"] = outside
    return result


def coloured(completion) -> str:
    """The completion's text with each character coloured by its probability."""
    out = []
    for c in completion.characters:
        colour = next(code for floor, code in COLOURS if c.probability >= floor)
        out.append(f"{colour}{c.char}{RESET}")
    return "".join(out)


def run(args) -> int:
    if args.serve and args.prefix is not None:
        raise InputError("give either --prefix or --serve, not both")
    if not args.serve and args.prefix is None:
        raise InputError("--prefix TEXT is required (or --serve)")
    context = args.context
    if args.context_file:
        with open(args.context_file, encoding="utf-8", errors="replace") as f:
            context = f.read() + context
    defaults = {
        "prefix": args.prefix,
        "context": context,
        "candidates": args.candidates,
        "max_length": args.max_length,
        "temperature": args.temperature,
        "beam_width": args.beam_width,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "random_seed": args.random_seed,
        "strict": args.strict,
        "confidence": args.confidence,
    }
    config = _dynamic_config(args)
    generator = load_generator(args)
    completer = adaptive_completer(args, generator, config) or generator
    if args.serve:
        return serve(completer, defaults, sys.stdin, sys.stdout)
    if args.json:
        print(json.dumps(answer(completer, {}, defaults)))
        return 0
    if not (args.strict and generator.vocabulary.unknown(context + args.prefix)):
        note_outside(generator, context + args.prefix)
    found, _ = complete_request(completer, {}, defaults)
    line = args.prefix.split("\n")[-1]
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    for completion in found:
        text = coloured(completion) if args.confidence and colour else completion.text
        score = f"{completion.log_probability:9.3f}  " if args.candidates > 1 else ""
        print(f"{score}{line}{text}")
    return 0


def serve(generator, defaults: dict, stdin, stdout) -> int:
    """Answers one JSON request per line until end of input; a bad line gets an
    `{"error": ...}` answer and serving goes on."""
    defaults = {**defaults, "prefix": None}
    for line in stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            try:
                request = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"malformed JSON request: {error}") from None
            if isinstance(request, dict):
                request_id = request.get("id")
                if "prefix" not in request:
                    raise InputError("a request needs a `prefix` field")
            result = answer(generator, request, defaults)
        except Exception as error:  # an editor's server must outlive any request
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            if not isinstance(error, ValueError):
                message = f"{type(error).__name__}: {message}"
            result = {"error": message}
            if request_id is not None:
                result = {"id": request_id, **result}
        stdout.write(json.dumps(result) + "\n")
        stdout.flush()
    return 0
