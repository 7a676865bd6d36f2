"""`charlstm corpus python|catalog`: build Frank's (2022) corpora (no TensorFlow).

Options left out keep the defaults of the library's config dataclasses
(`charlstm.datasets`).
"""

from __future__ import annotations

from charlstm.cli.common import note


def add_parser(commands):
    c = commands.add_parser(
        "corpus", help="build a training corpus: Python sources or a course catalog"
    )
    parser_class = type(c)  # the CLI's parser, whose errors are one line
    kinds = c.add_subparsers(
        dest="corpus_command", required=True, parser_class=parser_class
    )
    common = parser_class(add_help=False)
    common.add_argument("--out", metavar="FILE", required=True, help="text to write")
    common.add_argument("--force", action="store_true", help="replace --out")
    common.add_argument("--lowercase", action="store_true", help="lowercase the text")
    common.add_argument(
        "--ascii",
        action="store_true",
        help="fold the text to ASCII (accents removed, other characters dropped)",
    )
    common.add_argument(
        "--cache", metavar="DIR", help="page and archive cache (~/.cache/charlstm)"
    )
    common.add_argument("--timeout", type=float, metavar="S", help="default 30")
    common.add_argument("--retries", type=int, help="on 429, 5xx, errors (default 3)")
    common.add_argument(
        "--backoff", type=float, metavar="S", help="default 1, doubling"
    )
    common.add_argument("--delay", type=float, metavar="S", help="between requests (1)")
    common.add_argument("--user-agent", help="User-Agent, also matched in robots.txt")
    common.add_argument("--quiet", action="store_true", help="no progress bars")

    p = kinds.add_parser(
        "python",
        parents=[common],
        help="concatenate the .py files of directories, git work trees and archives",
    )
    p.add_argument(
        "source", nargs="+", metavar="SOURCE", help="directory, archive, or its URL"
    )
    p.add_argument("--pattern", help="file-name glob (default *.py)")
    p.add_argument("--max-bytes", type=int, help="skip larger files (default 1000000)")
    p.add_argument(
        "--max-line-length", type=int, help="skip files with longer lines (1000; 0 off)"
    )
    p.add_argument("--keep-generated", action="store_true", help="keep generated files")
    p.add_argument(
        "--separator", help="line before each file (default '# file: {name}')"
    )

    k = kinds.add_parser(
        "catalog", parents=[common], help="scrape a bulletin's course descriptions"
    )
    k.add_argument("index_url", metavar="INDEX_URL", help="page linking the subjects")
    k.add_argument(
        "--link-pattern", help="regex of subject links (course-descriptions/XXXX/)"
    )
    k.add_argument("--title-class", help="default courseblocktitle")
    k.add_argument("--description-class", help="default courseblockdesc")
    return c


def _given(args, *names) -> dict:
    """The options among `names` that were given on the command line."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def run(args) -> int:
    """Runs `charlstm corpus`; returns the exit status (1 if pages failed)."""
    from charlstm import datasets

    fetch = datasets.FetchConfig(
        cache_dir=args.cache,
        **_given(args, "timeout", "retries", "backoff", "delay", "user_agent"),
    )
    bars = None if args.quiet else datasets.TqdmProgress()
    try:
        if args.corpus_command == "python":
            config = datasets.PythonCorpusConfig(
                skip_generated=not args.keep_generated,
                **_given(
                    args,
                    "pattern",
                    "max_bytes",
                    "max_line_length",
                    "separator",
                    "lowercase",
                    "ascii",
                ),
            )
            stats = datasets.build_python_corpus(
                args.source, args.out, config, fetch, args.force, bars
            )
        else:
            config = datasets.CatalogConfig(
                **_given(
                    args,
                    "link_pattern",
                    "title_class",
                    "description_class",
                    "lowercase",
                    "ascii",
                )
            )
            stats = datasets.build_catalog_corpus(
                args.index_url, args.out, config, fetch, args.force, bars
            )
    finally:
        if bars is not None:
            bars.close()
    notes, failures = [], []
    if args.corpus_command == "python":
        what = f"{stats.files:,} files"
        skipped = {
            "duplicates": stats.duplicates,
            "binary": stats.skipped_binary,
            "generated": stats.skipped_generated,
            "over --max-bytes": stats.skipped_large,
            "with lines over --max-line-length": stats.skipped_long_lines,
            "empty": stats.skipped_empty,
        }
        counts = [f"{len(files):,} {why}" for why, files in skipped.items() if files]
        if counts:
            notes.append(f"skipped {', '.join(counts)}")
    else:
        what = f"{stats.courses:,} courses from {stats.subjects:,} subject pages"
        notes.append(
            f"{stats.fetched:,} pages fetched, {stats.cached:,} from the cache"
        )
        if stats.duplicate_links:
            notes.append(f"{stats.duplicate_links:,} duplicate subject links ignored")
        notes += [f"no course on {url}" for url in stats.empty_pages]
        notes += [f"robots.txt disallows {url}: skipped" for url in stats.disallowed]
        failures = stats.failures
    if stats.dropped_characters:
        notes.append(f"{stats.dropped_characters:,} non-ASCII characters dropped")
    print(
        f"wrote {args.out}: {what}, {stats.characters:,} characters, "
        f"vocabulary {stats.vocabulary}"
    )
    for line in notes:
        note(line)
    for failure in failures:
        note(f"failed: {failure.url}: {failure.reason}")
    if failures:
        note(
            f"{len(failures)} page(s) failed and are missing; the rest is written. "
            "Run again with --force: only what is missing is fetched."
        )
        return 1
    return 0
