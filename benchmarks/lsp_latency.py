"""Keystroke-to-completion latency of `charlstm lsp`, through a real LSP client.

A pygls client starts `python -m charlstm lsp RUN_DIR` and types real Python
files one character at a time, from an empty document: each keystroke is an
incremental `textDocument/didChange` followed by a `textDocument/completion`
request at the cursor, and a keystroke's latency is the time from sending the
change to receiving the completion. The files are a few of the standard
library's (the default corpus), evenly spread over `default_corpus_paths()`.
Cold start is the time from starting the server's process to its `initialize`
response, the median of `--starts` starts.

The run is `--run-dir`, or a model with random weights written to a temporary
directory (`--random-model`): `default` (`ModelConfig()`'s defaults, 2 x 224
LN-LSTM), `perez2021` (2 x 128) or `frank2022` (3 x 512), with the default
corpus's vocabulary. Random weights end lines anywhere, so the completions'
lengths (and the time of the search) are not those of a trained model: give
`--run-dir` for figures to report.

With `--dynamic`, the server's `dynamic` setting is on (dynamic evaluation:
each document's weights learn its text between requests), with the
`DynamicConfig` flags given (`--variant`, `--learning-rate`, ...). Typing starts
once the server says it is on (the rms variant's gradient statistics are
measured first; the time is reported), and the characters learned are reported.

Targets (issue 17), for the default model: p50 <= 15 ms, p99 <= 40 ms, cold
start <= 1 s. Run by hand, alone on the machine:

    python benchmarks/lsp_latency.py --random-model default
    python benchmarks/lsp_latency.py --run-dir runs/stdlib --chars 20000
    python benchmarks/lsp_latency.py --run-dir runs/stdlib --dynamic

Prints a Markdown table; progress goes to stderr.
"""

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from charlstm.cli.options import add_dataclass_options, dataclass_values
from charlstm.eval.dynamic import DynamicConfig
from charlstm.serve.settings import DYNAMIC_NAMES

ROOT = Path(__file__).resolve().parents[1]
# Line breaks of Python's str.splitlines that are not LSP's: pygls splits lines
# there, the client does not, so positions would disagree. They are left out.
ODD_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def random_run(name: str, run_dir: Path) -> Path:
    """A run directory holding a model of preset `name` with random weights."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    import charlstm
    from charlstm.config import ModelConfig, RunConfig
    from charlstm.infer.engine_weights import export_checkpoint
    from charlstm.model.build import build_model

    vocabulary = charlstm.load_corpus().vocabulary
    base = ModelConfig() if name == "default" else charlstm.preset(name).model
    config = dataclasses.replace(base, vocabulary_size=vocabulary.size)
    keras.utils.set_random_seed(0)
    model = build_model(config, batch_size=1)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(run_dir / "model.keras")
    RunConfig(model=config).save(run_dir / "config.json")
    vocabulary.save(run_dir / "vocab.json")
    export_checkpoint(run_dir, model.get_weights())  # engine.npz: no Keras to load
    return run_dir


def typed_files(count: int, chars: int) -> list[tuple[str, str]]:
    """(name, text) of `count` standard-library files, `chars` characters in all."""
    from charlstm.data.corpus import default_corpus_paths

    paths = default_corpus_paths()
    step = max(1, len(paths) // count)
    chosen = paths[step // 2 :: step][:count]
    files = []
    for path in chosen:
        text = path.read_text(encoding="utf-8", errors="replace")
        text = text.replace("\r\n", "\n").translate(dict.fromkeys(map(ord, ODD_BREAKS)))
        files.append((path.name, text[: chars // len(chosen)]))
    return files


async def forward_stderr(client: LanguageClient) -> None:
    # pygls pipes the server's stderr; read it so that it never fills up.
    stream = client._server.stderr
    while line := await stream.readline():
        sys.stderr.buffer.write(line)


async def start(run_dir: Path, settings: dict):
    """A client connected to a new server, and the seconds to its initialize."""
    client = LanguageClient("charlstm-benchmark", "0")
    began = time.perf_counter()
    await client.start_io(
        sys.executable, "-m", "charlstm", "lsp", str(run_dir), cwd=str(ROOT)
    )
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"charlstm": settings},
        )
    )
    seconds = time.perf_counter() - began
    client.initialized(types.InitializedParams())
    asyncio.ensure_future(forward_stderr(client))
    return client, seconds


async def stats(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams("charlstm.stats")
    )


async def dynamic_ready(client: LanguageClient, timeout: float = 600) -> float:
    """Waits until the server's dynamic evaluation is on; returns the seconds."""
    began = time.perf_counter()
    while (status := (await stats(client))["dynamic"]) != "on":
        if status != "preparing" or time.perf_counter() - began > timeout:
            raise SystemExit(f"dynamic evaluation is {status!r} (see the server)")
        await asyncio.sleep(0.05)
    return time.perf_counter() - began


async def stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def type_file(client, uri: str, text: str, latencies: list) -> tuple:
    """Types `text` into an empty document; appends each keystroke's latency.
    Returns how many completions were not empty, and the characters learned
    (dynamic evaluation; None without)."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text="")
        )
    )
    line = column = 0  # the cursor, in UTF-16 code units
    shown = 0
    for version, char in enumerate(text, start=2):
        here = types.Position(line, column)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(here, here), text=char
        )
        if char == "\n":
            line, column = line + 1, 0
        else:
            column += 2 if ord(char) > 0xFFFF else 1
        began = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [change],
            )
        )
        result = await client.text_document_completion_async(
            types.CompletionParams(
                types.TextDocumentIdentifier(uri), types.Position(line, column)
            )
        )
        latencies.append(time.perf_counter() - began)
        shown += bool(result and result.items)
    learned = (await stats(client))["documents"][uri]["learned"]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    return shown, learned


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def measure(args, run_dir: Path, settings: dict) -> dict:
    colds = []
    for _ in range(args.starts - 1):
        client, seconds = await start(run_dir, settings)
        colds.append(seconds)
        await stop(client)
    client, seconds = await start(run_dir, settings)
    colds.append(seconds)
    ready = await dynamic_ready(client) if settings.get("dynamic") else None
    latencies, shown, learned = [], 0, 0
    files = typed_files(args.files, args.chars)
    for name, text in files:
        log(f"typing {name}: {len(text):,} characters")
        found = await type_file(client, f"file:///bench/{name}", text, latencies)
        shown += found[0]
        learned += found[1] or 0
    await stop(client)
    return {
        "files": ", ".join(name for name, _ in files),
        "keystrokes": len(latencies),
        "shown": shown,
        "cold": statistics.median(colds),
        "latencies": latencies,
        "ready": ready,
        "learned": learned,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run-dir", type=Path, help="a trained run")
    source.add_argument(
        "--random-model",
        choices=["default", "perez2021", "frank2022"],
        default="default",
        help="a model with random weights (default: default)",
    )
    parser.add_argument("--files", type=int, default=3, help="files typed")
    parser.add_argument(
        "--chars", type=int, default=6000, help="keystrokes in all (default: 6000)"
    )
    parser.add_argument("--starts", type=int, default=3, help="cold starts timed")
    parser.add_argument("--candidates", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=80)
    parser.add_argument("--mode", choices=["line", "paragraph"], default="line")
    dynamic = parser.add_argument_group("dynamic evaluation")
    dynamic.add_argument(
        "--dynamic", action="store_true", help="the server's `dynamic` setting on"
    )
    add_dataclass_options(dynamic, DynamicConfig)
    args = parser.parse_args()
    settings = {
        "candidates": args.candidates,
        "maxLength": args.max_length,
        "mode": args.mode,
    }
    given = dataclass_values(args, DynamicConfig)
    if given and not args.dynamic:
        parser.error(f"{', '.join(given)} go with --dynamic")
    if args.dynamic:
        names = {field: name for name, field in DYNAMIC_NAMES.items()}
        settings.update(dynamic=True, **{names[k]: v for k, v in given.items()})
    with tempfile.TemporaryDirectory() as tmp:
        if args.run_dir is not None:
            run_dir, model = args.run_dir, str(args.run_dir)
        else:
            log(f"writing a random {args.random_model} model")
            run_dir = random_run(args.random_model, Path(tmp) / "run")
            model = f"random {args.random_model}"
        found = asyncio.run(measure(args, run_dir, settings))
    ms = [1000 * s for s in found["latencies"]]
    print(f"Keystroke to completion through `charlstm lsp` ({model}; {found['files']})")
    print()
    print(
        "| model | keystrokes | shown | p50 ms | p90 ms | p99 ms | max ms "
        "| cold start s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {model} | {found['keystrokes']:,} | {found['shown']:,} "
        f"| {percentile(ms, 50):.1f} | {percentile(ms, 90):.1f} "
        f"| {percentile(ms, 99):.1f} | {max(ms):.1f} | {found['cold']:.2f} |"
    )
    print()
    if found["ready"] is not None:
        print(
            f"Dynamic evaluation: on after {found['ready']:.1f} s (gradient "
            f"statistics); {found['learned']:,} characters learned."
        )
    print(f"Settings: {settings}; targets: p50 <= 15 ms, p99 <= 40 ms, cold <= 1 s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
