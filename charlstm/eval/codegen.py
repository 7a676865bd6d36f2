"""The code-generation task of Perez, Ottens and Viswanathan, "Automatic Code
Generation using Pre-Trained Language Models" (2021): complete a function from
its signature and docstring, then score the body.

`extract_functions` (`charlstm.eval.functions`, re-exported here) finds the documented
functions of Python sources with `ast`. `generate_body` prompts a generator with
a function's decorators, signature and docstring and keeps what it writes until
a line is dedented to the function's own level. `run_codegen` does this for many
functions and scores the bodies (`charlstm.eval.metrics`: two BLEU protocols and
syntax validity; `charlstm.eval.novelty`: the share copied verbatim from the
training text).

Any backend's generator works (`charlstm.infer.generator.Generator`): the body
is read from its `stream` and reading stops at the dedent.

Example:
>>> generator = charlstm.load("runs/stdlib")
>>> examples, skipped = extract_functions("my_project/")
>>> result = run_codegen(generator, examples[:50], training_text=open("c.txt").read())
>>> result.summary["bleu_tokens"], result.summary["syntax_valid_rate"]
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from charlstm.eval.functions import (  # noqa: F401 (re-exported)
    FunctionExample,
    extract_functions,
    leading_whitespace,
    select_examples,
)
from charlstm.eval.metrics import (
    SMOOTHING,
    bleu_perez2021,
    bleu_tokens,
    python_tokens,
    syntax_valid,
)
from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError, check_count

# Per-record fields that `read_results` requires.
RECORD_FIELDS = ("prompt", "reference_body", "generated_body", "indent")
# Record keys renamed since earlier releases: old name -> new name.
OLD_KEYS = {"bleu_seed000": "bleu_perez2021"}


def _width(indent: str) -> int:
    return len(indent.expandtabs(8))


def read_until_dedent(pieces: Iterable[str], indent: str) -> tuple[str, bool]:
    """Reads text piece by piece up to its first non-blank line indented `indent`
    or less (tabs to multiples of 8), and stops reading there.

    Args:
        pieces: iterable of str. Characters or tokens, e.g. `generator.stream(...)`.
        indent: str. The function's own indentation.

    Returns:
        (the text before that line, whether there was one).

    Example:
    >>> read_until_dedent(["    return 1\n", "\n", "def g():\n"], "")
    ('    return 1\n\n', True)
    """
    level = _width(indent)
    text = ""
    start, judged = 0, False  # start of the current line; whether it was judged
    for piece in pieces:
        text += piece
        while True:
            end = text.find("\n", start)
            line = text[start:] if end < 0 else text[start:end]
            if not judged and line.strip():
                if _width(leading_whitespace(line)) <= level:
                    return text[:start], True
                judged = True
            if end < 0:
                break
            start, judged = end + 1, False
    return text, False


def cut_at_dedent(text: str, indent: str) -> tuple[str, bool]:
    """`text` up to its first non-blank line indented `indent` or less, and
    whether there was one (`read_until_dedent` on a whole text)."""
    return read_until_dedent([text], indent)


def _tidy(body: str) -> str:
    """Trailing blank lines removed; one final newline unless the body is empty."""
    lines = body.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


@dataclass
class GeneratedBody:
    """What `generate_body` produced for one example."""

    text: str  # the body: whole lines, trailing blank lines removed
    ended_at_dedent: bool  # False when it ran into `max_length`
    unknown_characters: int  # prompt characters outside the vocabulary: read as
    # the unknown id, or dropped by a vocabulary without one


def generate_function_body(
    generator,
    example: FunctionExample,
    max_length: int = 1000,
    sampling: Sampling | None = None,
) -> GeneratedBody:
    """`generate_body` with how generation ended and how many prompt characters
    were outside the vocabulary."""
    check_count("max_length", max_length)
    prompt = example.prompt
    unknown = generator.unknown(prompt)
    feed = prompt.translate(dict.fromkeys(map(ord, unknown))) if unknown else prompt
    if not feed:
        raise InputError(
            f"the prompt of {example.qualified_name!r} ({example.path}) has no "
            "character of the model's vocabulary."
        )
    # Read as it is produced; leaving the loop stops the generator.
    pieces = generator.stream(feed, max_length, sampling)
    try:
        body, ended = read_until_dedent(pieces, example.indent)
    finally:
        pieces.close()
    outside = sum(prompt.count(c) for c in generator.outside(prompt))
    return GeneratedBody(_tidy(body), ended, outside)


def generate_body(
    generator,
    example: FunctionExample,
    max_length: int = 1000,
    sampling: Sampling | None = None,
) -> str:
    """Generates a function's body from its prompt (decorators, signature,
    docstring).

    The generator is warmed up on the prompt (characters outside its vocabulary
    read as its unknown id, or dropped by a vocabulary without one) and writes
    until a non-blank line is indented at the function's own level or less, or
    `max_length` characters (tokens in word mode). That line is not kept;
    trailing blank lines are removed.

    Args:
        generator: Generator. `charlstm.load(run_dir)`, of any backend.
        example: FunctionExample. The function to complete.
        max_length: int. Cap on the generated characters (tokens).
        sampling: Sampling or None. Temperature (0 is greedy), random seed, ...

    Example:
    >>> body = generate_body(charlstm.load("runs/stdlib"), examples[0])
    """
    return generate_function_body(generator, example, max_length, sampling).text


def _strip_indent(code: str, indent: str) -> str:
    """Removes `indent` from the start of every line that has it."""
    if not indent:
        return code
    return "\n".join(
        line[len(indent) :] if line.startswith(indent) else line
        for line in code.split("\n")
    )


def body_syntax_valid(prompt: str, body: str, indent: str) -> bool:
    """Whether prompt + body parses (a method is first moved to column 0). An
    empty body counts as invalid: the prompt alone parses, its docstring being
    a statement."""
    return bool(body.strip()) and syntax_valid(_strip_indent(prompt + body, indent))


@dataclass
class CodegenResult:
    """Per-function records and their summary (`run_codegen`)."""

    records: list[dict] = field(default_factory=list)  # one per function
    summary: dict = field(default_factory=dict)  # `summarize(records)` + parameters


def run_codegen(
    generator,
    examples: Sequence[FunctionExample],
    *,
    max_length: int = 1000,
    sampling: Sampling | None = None,
    training_text=None,
    novelty_sizes: Sequence[int] = (20, 50),
    progress: Callable[[int, int], None] | None = None,
) -> CodegenResult:
    """Generates and scores the body of every example.

    Args:
        generator: Generator. Of any backend (see `generate_body`).
        examples: list of FunctionExample (`extract_functions`).
        max_length: int. Cap on each body, in characters (tokens in word mode).
        sampling: Sampling or None. Default: temperature 0.75 (Perez et al.
            sampled) and random seed 0; example i is sampled with
            `random_seed + i`.
        training_text: str, bytes, `NoveltyIndex` or None. The training corpus,
            for the novelty figures (None: they are None). Pass a NoveltyIndex to
            reuse one across runs.
        novelty_sizes: tuple of int. Window lengths of the novelty figures (the
            index's sizes when a NoveltyIndex is given).
        progress: callable or None. Called as `progress(done, total)` after
            each example.

    Returns:
        CodegenResult. `records`: one dict per example (`path`, `qualified_name`,
        `lineno`, `indent`, `prompt`, `reference_body`, `generated_body`,
        `ended_at_dedent`, `unknown_characters`, `bleu_perez2021`,
        `bleu_tokens_sentence`, `syntax_valid`, and `copied_n`, `windows_n` per
        novelty size). `summary`: `summarize(records)` and `parameters`.

    Example:
    >>> result = run_codegen(charlstm.load("runs/stdlib"), examples, max_length=400)
    >>> print(result.summary)
    """
    from charlstm.eval.novelty import NoveltyIndex

    if not examples:
        raise InputError(
            "`examples` is empty: no function with a docstring and a body to complete."
        )
    check_count("max_length", max_length)
    index = training_text
    if index is not None and not isinstance(index, NoveltyIndex):
        index = NoveltyIndex(training_text, novelty_sizes)
    sizes = tuple(index.sizes if index is not None else novelty_sizes)
    sampling = sampling if sampling is not None else Sampling(random_seed=0)
    random_seed = sampling.random_seed
    records = []
    for i, example in enumerate(examples):
        seed = None if random_seed is None else random_seed + i
        made = generate_function_body(
            generator, example, max_length, Sampling.of(sampling, random_seed=seed)
        )
        records.append(_record(example, made, index, sizes))
        if progress is not None:
            progress(i + 1, len(examples))
    summary = summarize(records, sizes)
    summary["novelty_corpus_characters"] = index.characters if index else None
    summary["parameters"] = {
        "max_length": max_length,
        "temperature": sampling.temperature,
        "random_seed": random_seed,
        "novelty_sizes": list(sizes),
    }
    return CodegenResult(records, summary)


def _record(example: FunctionExample, made: GeneratedBody, index, sizes) -> dict:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    body = made.text
    with_smoothing = getattr(SmoothingFunction(), SMOOTHING)
    record = {
        "path": example.path,
        "qualified_name": example.qualified_name,
        "lineno": example.lineno,
        "indent": example.indent,
        "prompt": example.prompt,
        "reference_body": example.body,
        "generated_body": body,
        "ended_at_dedent": made.ended_at_dedent,
        "unknown_characters": made.unknown_characters,
        "bleu_perez2021": bleu_perez2021(example.source, body),
        "bleu_tokens_sentence": float(
            sentence_bleu(
                [python_tokens(example.body)],
                python_tokens(body),
                smoothing_function=with_smoothing,
            )
        ),
        "syntax_valid": body_syntax_valid(example.prompt, body, example.indent),
    }
    for size in sizes:
        if index is None:
            record[f"copied_{size}"], record[f"windows_{size}"] = None, 0
            continue
        found, windows = index.copied_counts([body], size)
        record[f"copied_{size}"] = int(found[0]) / windows[0] if windows[0] else None
        record[f"windows_{size}"] = int(windows[0])
    return record


def summarize(
    records: Iterable[dict], novelty_sizes: Sequence[int] | None = None
) -> dict:
    """The summary of codegen records (from `run_codegen` or `read_results`).

    Args:
        records: iterable of dict. Records as `run_codegen` makes them.
        novelty_sizes: list of int or None. Window sizes to pool (None: those
            the first record has a `copied_n` for).

    Returns:
        dict: `count`; `bleu_perez2021` (mean of the records' BLEU as Perez
        et al. scored it); `bleu_tokens` (corpus BLEU on Python tokens against
        the true bodies, not a mean of the records' sentence BLEU) and
        `bleu_tokens_smoothing`; `syntax_valid_rate`; `ended_at_dedent_rate`;
        `unknown_characters` (total); per novelty size n, `copied_n` (share of
        all generated n-character windows found verbatim in the training text,
        None without one) and `windows_n`.
    """
    records = list(records)
    if not records:
        raise InputError("`records` is empty: there are no results to summarize.")
    if novelty_sizes is None:  # the sizes the records have
        novelty_sizes = sorted(
            int(key[len("copied_") :])
            for key in records[0]
            if key.startswith("copied_") and key[len("copied_") :].isdigit()
        )
    references = [python_tokens(r["reference_body"]) for r in records]
    hypotheses = [python_tokens(r["generated_body"]) for r in records]
    summary = {
        "count": len(records),
        "bleu_perez2021": float(
            np.mean(
                [
                    bleu_perez2021(
                        r["prompt"] + r["reference_body"], r["generated_body"]
                    )
                    for r in records
                ]
            )
        ),
        "bleu_tokens": bleu_tokens(references, hypotheses),
        "bleu_tokens_smoothing": SMOOTHING,
        "syntax_valid_rate": float(
            np.mean(
                [
                    body_syntax_valid(r["prompt"], r["generated_body"], r["indent"])
                    for r in records
                ]
            )
        ),
        "ended_at_dedent_rate": float(
            np.mean([bool(r.get("ended_at_dedent")) for r in records])
        ),
        "unknown_characters": int(sum(r.get("unknown_characters", 0) for r in records)),
    }
    for size in novelty_sizes:
        shares = [r.get(f"copied_{size}") for r in records]
        windows = [r.get(f"windows_{size}", 0) for r in records]
        total = sum(w for s, w in zip(shares, windows, strict=True) if s is not None)
        found = sum(
            round(s * w) for s, w in zip(shares, windows, strict=True) if s is not None
        )
        summary[f"copied_{size}"] = found / total if total else None
        summary[f"windows_{size}"] = total
    return summary


def results_jsonl(records: Iterable[dict]) -> str:
    """The records as JSON lines (what `charlstm codegen --out` writes)."""
    return "".join(json.dumps(r) + "\n" for r in records)


def _with_new_keys(record: dict) -> dict:
    """The record with its `OLD_KEYS` renamed (in place in the key order); an old
    key whose new name is also there is left as it is."""
    return {
        (OLD_KEYS[k] if k in OLD_KEYS and OLD_KEYS[k] not in record else k): v
        for k, v in record.items()
    }


def read_results(path: str | os.PathLike) -> list[dict]:
    """Reads a results.jsonl written by `charlstm codegen`.

    Keys renamed since (`bleu_seed000`, now `bleu_perez2021`) are read under
    their new names.

    Raises:
        ValueError: the file is empty, a line is not a JSON object, or a record
            lacks one of `RECORD_FIELDS`.
    """
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(
                    f"results file {str(path)!r}, line {number}: not JSON ({error})"
                ) from None
            missing = [
                k
                for k in RECORD_FIELDS
                if not isinstance(record, dict) or k not in record
            ]
            if missing:
                raise InputError(
                    f"results file {str(path)!r}, line {number}: not a codegen "
                    f"record (missing {', '.join(missing)})"
                )
            records.append(_with_new_keys(record))
    if not records:
        raise InputError(f"results file is empty: {str(path)!r} holds no record.")
    return records
