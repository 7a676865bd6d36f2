"""`charlstm search train|evaluate|query`: the CodeSearchNet retrieval baselines
on any Python tree (`charlstm.search`)."""

from __future__ import annotations

import json
from pathlib import Path

from charlstm.cli.common import UsageError, add_json_option, note


def add_parser(commands):
    from charlstm.cli.options import add_dataclass_options
    from charlstm.search.model import SearchConfig

    s = commands.add_parser(
        "search",
        help="code search: docstring -> function (CodeSearchNet's baselines)",
        description="Train encoders that put each docstring next to its own "
        "function's code, evaluate them with CodeSearchNet's MRR, and query them.",
    )
    kinds = s.add_subparsers(dest="search_command", required=True, parser_class=type(s))
    t = kinds.add_parser(
        "train",
        help="train on the documented functions of SOURCE; print test MRR",
        description="Extract (docstring, code) pairs, split them by file into "
        "train and test, train, and write the search and an index of every "
        "function's code vector to --out. Prints the test split's MRR as JSON.",
    )
    t.add_argument("sources", nargs="+", metavar="SOURCE", help="Python files or dirs")
    t.add_argument("--out", metavar="DIR", required=True, help="the search directory")
    t.add_argument("--force", action="store_true", help="replace an existing --out")
    t.add_argument("--pattern", default="*.py", help="file-name glob (default: *.py)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    add_dataclass_options(t.add_argument_group("the search"), SearchConfig)
    e = kinds.add_parser("evaluate", help="MRR and recall@1/5/10 on SOURCE (JSON)")
    e.add_argument("directory", metavar="DIR", help="a search directory")
    e.add_argument("sources", nargs="+", metavar="SOURCE", help="Python files or dirs")
    e.add_argument("--pattern", default="*.py", help="file-name glob (default: *.py)")
    add_json_option(e, "the figures (they are always JSON)")
    q = kinds.add_parser("query", help="the best functions for a query")
    q.add_argument("directory", metavar="DIR", help="a search directory")
    q.add_argument("query", help='what to look for, e.g. "read a csv file"')
    q.add_argument("--top", type=int, default=5, help="functions shown (default: 5)")
    add_json_option(q, "the hits")
    return s


def run(args) -> int:
    return {"train": _train, "evaluate": _evaluate, "query": _query}[
        args.search_command
    ](args)


def _pairs(sources, pattern):
    from charlstm.search.model import pair_count_check
    from charlstm.search.pairs import extract_pairs

    pairs, skipped = extract_pairs(sources, pattern)
    if skipped:
        note(f"{skipped} file(s) skipped: they could not be decoded or parsed")
    pair_count_check(pairs, sources)
    return pairs


def _train(args) -> int:
    from charlstm.cli.options import dataclass_values
    from charlstm.search.model import CodeSearch, SearchConfig
    from charlstm.search.pairs import split_by_file

    out = Path(args.out)
    if (out / "config.json").exists() and not args.force:
        raise UsageError(
            f"--out {out} already holds a search; use --force to replace it"
        )
    config = SearchConfig(**dataclass_values(args, SearchConfig))
    pairs = _pairs(args.sources, args.pattern)
    train, test = split_by_file(pairs, config.test_share, config.random_seed)
    if len(train) < 2 or not test:
        raise UsageError(
            f"{len(pairs)} documented function(s) in {len(set(p.path for p in pairs))} "
            "file(s) cannot be split into train and test: give more files"
        )
    note(f"{len(pairs):,} pairs: {len(train):,} to train, {len(test):,} to test")
    search = CodeSearch.for_pairs(config, train)
    losses = search.fit(train, verbose=0 if args.quiet else 1)
    figures = search.evaluate(test)
    search.save(out, pairs)
    print(json.dumps({**figures, "train_pairs": len(train), "loss": losses[-1]}))
    return 0


def _evaluate(args) -> int:
    from charlstm.search.model import CodeSearch

    search = CodeSearch.load(args.directory)
    print(json.dumps(search.evaluate(_pairs(args.sources, args.pattern))))
    return 0


def _query(args) -> int:
    from charlstm.search.model import CodeSearch, search_index

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    search = CodeSearch.load(args.directory)
    hits = search_index(search, args.directory, args.query, args.top)
    if args.json:
        print(json.dumps([hit.__dict__ for hit in hits]))
        return 0
    for hit in hits:
        print(f"{hit.score:8.3f}  {hit.path}:{hit.line}  {hit.name}  {hit.docstring}")
    return 0
