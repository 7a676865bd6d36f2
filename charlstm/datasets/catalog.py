"""A corpus of course descriptions scraped from a university bulletin.

The second corpus of Frank (2022): an index page links one page per four-letter
subject code; each subject page holds course blocks, a title element and a
description element (classes `courseblocktitle` and `courseblockdesc`). The
corpus is every course as its title line, its description lines and a blank
line:

    ECSE 132.  Introduction to Engineering.  3 Units.
    An introduction to ...
    Offered as ...

Every page goes through `Fetcher`'s cache, so an interrupted or partly failed run
is finished by running it again, and only the missing pages are requested.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from charlstm.datasets.course_html import extract_courses, subject_links
from charlstm.datasets.fetch import (
    FetchConfig,
    Fetcher,
    FetchError,
    Page,
    RobotsDisallowed,
)
from charlstm.datasets.output import check_output, corpus_writer
from charlstm.datasets.progress import Progress
from charlstm.utils.checks import InputError

# Frank's (2022) subject pages: course-descriptions/ and a four-letter subject code.
DEFAULT_LINK_PATTERN = r"course-descriptions/[A-Za-z]{4}/"
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


@dataclass
class CatalogConfig:
    """Where the courses are on the bulletin's pages, and how they are written."""

    link_pattern: str = DEFAULT_LINK_PATTERN  # regex searched in each absolute link
    title_class: str = "courseblocktitle"  # class of a course's title element
    description_class: str = "courseblockdesc"  # class of its description element
    lowercase: bool = False  # lowercase the text
    ascii: bool = False  # fold the text to ASCII, as Frank (2022) did

    def __post_init__(self):
        try:
            re.compile(self.link_pattern)
        except re.error as error:
            raise InputError(
                f"`link_pattern` is not a valid regular expression ({error}). "
                f"Received: link_pattern={self.link_pattern!r}"
            ) from None
        for name in ("title_class", "description_class"):
            value = getattr(self, name)
            if not value or value.split() != [value]:
                raise InputError(
                    f"`{name}` must be one class name. Received: {name}={value!r}"
                )


@dataclass
class Failure:
    """A page that could not be read."""

    url: str
    reason: str


@dataclass
class CatalogStats:
    """What scraping a catalog found."""

    subjects: int = 0  # distinct subject pages linked from the index
    duplicate_links: int = 0  # links to a subject page already listed
    fetched: int = 0  # pages requested over the network (the index included)
    cached: int = 0  # pages read from the cache (the index included)
    courses: int = 0  # courses written
    characters: int = 0  # characters written
    vocabulary: int = 0  # distinct characters written
    dropped_characters: int = 0  # characters folding to ASCII removed
    empty_pages: list[str] = field(default_factory=list)  # pages with no course
    disallowed: list[str] = field(default_factory=list)  # forbidden by robots.txt
    failures: list[Failure] = field(default_factory=list)  # failed after retries


def _is_html(page: Page) -> bool:
    if page.content_type:
        return "html" in page.content_type.lower()
    return page.content.lstrip()[:1] == b"<"


def _decode(page: Page) -> str:
    match = _CHARSET.search(page.content_type)
    try:
        return page.content.decode(match.group(1) if match else "utf-8", "replace")
    except LookupError:
        return page.content.decode("utf-8", "replace")


def _not_html(page: Page) -> str:
    return f"not an HTML page (Content-Type: {page.content_type or 'none'})"


def build_catalog_corpus(
    index_url: str,
    out: str | os.PathLike,
    config: CatalogConfig | None = None,
    fetch: FetchConfig | None = None,
    force: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> CatalogStats:
    """Scrapes a course catalog into one text file, politely and resumably.

    The index's links matching `link_pattern` are de-duplicated and fetched in the
    index's order; each page's (title, description) pairs are written as
    `title\\ndescription\\n\\n`, cleaned as Frank (2022) did. Pages that fail after
    the retries are listed in `stats.failures` and the rest is written; running again
    fetches only what is not in the cache yet.

    Args:
        index_url: str. The http(s) URL of the page linking every subject page.
        out: path. The text file to write, atomically.
        config: CatalogConfig or None. Link pattern and element classes.
        fetch: FetchConfig or None. Cache, User-Agent, timeouts, retries, delay.
        force: bool. Replace an existing `out`.
        progress: callable or None. Called with a `Progress` after each page.

    Example:
    >>> stats = build_catalog_corpus(
    ...     "https://bulletin.case.edu/course-descriptions/", "catalog.txt")
    >>> [failure.url for failure in stats.failures]
    """
    config = config or CatalogConfig()
    if not isinstance(index_url, str) or urlsplit(index_url).scheme not in (
        "http",
        "https",
    ):
        raise InputError(
            f"`index_url` must be an http:// or https:// URL. Received: {index_url!r}"
        )
    out = check_output(out, force)
    stats = CatalogStats()
    with Fetcher(fetch) as fetcher:
        index = fetcher.get(index_url)
        _count(index, stats)
        if not _is_html(index):
            raise InputError(f"`index_url` is {_not_html(index)}: {index_url}")
        pattern = re.compile(config.link_pattern)
        urls, stats.duplicate_links = subject_links(_decode(index), index_url, pattern)
        if not urls:
            raise InputError(
                f"`index_url` links to no subject page: no link matches "
                f"link_pattern={config.link_pattern!r} on {index_url}"
            )
        stats.subjects = len(urls)
        with corpus_writer(out, config.lowercase, config.ascii) as writer:
            for done, url in enumerate(urls, start=1):
                _scrape_page(fetcher, url, config, writer, stats)
                if progress is not None:
                    progress(Progress("pages", done, len(urls), url, "page"))
            if not stats.courses:
                _raise_nothing_found(stats, config)
            stats.characters = writer.characters
            stats.vocabulary = len(writer.vocabulary)
            stats.dropped_characters = writer.dropped_characters
    return stats


def _count(page: Page, stats: CatalogStats) -> None:
    if page.from_cache:
        stats.cached += 1
    else:
        stats.fetched += 1


def _scrape_page(fetcher, url, config, writer, stats) -> None:
    """Fetches one subject page and writes its courses; failures are recorded."""
    try:
        page = fetcher.get(url)
    except RobotsDisallowed:
        stats.disallowed.append(url)
        return
    except FetchError as error:
        stats.failures.append(Failure(url, error.reason))
        return
    _count(page, stats)
    if not _is_html(page):
        stats.failures.append(Failure(url, _not_html(page)))
        return
    courses = extract_courses(
        _decode(page), config.title_class, config.description_class
    )
    if not courses:
        stats.empty_pages.append(url)
    for title, description in courses:
        title, description = writer.clean(title), writer.clean(description)
        writer.write(f"{title}\n{description}\n\n" if description else f"{title}\n\n")
        stats.courses += 1


def _raise_nothing_found(stats: CatalogStats, config: CatalogConfig) -> None:
    if stats.failures or stats.disallowed:
        first = (
            f"{stats.failures[0].url}: {stats.failures[0].reason}"
            if stats.failures
            else f"{stats.disallowed[0]}: disallowed by robots.txt"
        )
        raise OSError(
            f"no course was read: {len(stats.failures)} of {stats.subjects} subject "
            f"page(s) failed and {len(stats.disallowed)} are disallowed by "
            f"robots.txt (first: {first})"
        )
    raise InputError(
        f"no course found on {stats.subjects} subject page(s): no element has "
        f"title_class={config.title_class!r}"
    )
