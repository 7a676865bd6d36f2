"""Corpus builders: Frank's (2022) Python repositories and scraped course catalog.

    from charlstm.datasets import build_catalog_corpus, build_python_corpus

    build_python_corpus(["https://example.org/repo.zip", "my_project/"], "py.txt")
    build_catalog_corpus("https://bulletin.example.edu/course-descriptions/",
                         "catalog.txt")

Both return a stats dataclass and never print; `TqdmProgress` shows bars. Web
access is polite (User-Agent, timeouts, retries with backoff, a delay between
requests, robots.txt) and cached on disk (`default_cache_dir()`), so a second or
interrupted run fetches nothing already fetched.
"""

from charlstm.datasets.catalog import (
    CatalogConfig,
    CatalogStats,
    Failure,
    build_catalog_corpus,
)
from charlstm.datasets.fetch import (
    FetchConfig,
    Fetcher,
    FetchError,
    RobotsDisallowed,
    default_cache_dir,
)
from charlstm.datasets.progress import Progress, TqdmProgress
from charlstm.datasets.python_corpus import (
    PythonCorpusConfig,
    PythonCorpusStats,
    build_python_corpus,
)

__all__ = [
    "CatalogConfig",
    "CatalogStats",
    "Failure",
    "FetchConfig",
    "FetchError",
    "Fetcher",
    "Progress",
    "PythonCorpusConfig",
    "PythonCorpusStats",
    "RobotsDisallowed",
    "TqdmProgress",
    "build_catalog_corpus",
    "build_python_corpus",
    "default_cache_dir",
]
