"""Polite HTTP for the corpus builders.

One `requests.Session` with a User-Agent, timeouts, retries with exponential
backoff on 429, 5xx, connection errors and timeouts (urllib3's `Retry`), a delay
between two requests to one host, robots.txt (`urllib.robotparser`), and an
on-disk cache: a page or archive fetched once is never fetched again, so a second
or an interrupted run picks up where the last one stopped. robots.txt is cached
for a day.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from charlstm import __version__
from charlstm.datasets.progress import Progress
from charlstm.utils.checks import InputError
from charlstm.utils.storage import atomic_path, atomic_write, atomic_write_text

DEFAULT_USER_AGENT = f"charlstm/{__version__} (character-level corpus builder)"
# Answers worth another attempt: too many requests, and server-side failures.
RETRY_STATUSES = (429, 500, 502, 503, 504)
# The longest wait between two attempts, in seconds.
BACKOFF_MAX = 60.0
# Seconds a cached robots.txt is trusted (RFC 9309 asks for at most 24 hours).
ROBOTS_MAX_AGE = 24 * 60 * 60
# Bytes per read while streaming a download to disk.
DOWNLOAD_CHUNK = 1 << 16


def default_cache_dir() -> Path:
    """The cache of fetched pages and archives: `$XDG_CACHE_HOME/charlstm`.

    Falls back to `~/.cache/charlstm` when `XDG_CACHE_HOME` is unset or empty.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "charlstm"


@dataclass
class FetchConfig:
    """How the corpus builders talk to web servers."""

    cache_dir: str | os.PathLike | None = None  # None: `default_cache_dir()`
    user_agent: str = DEFAULT_USER_AGENT  # sent with every request; used in robots.txt
    timeout: float = 30.0  # seconds to connect, and of silence while reading
    retries: int = 3  # further attempts on 429, 5xx, connection errors, timeouts
    backoff: float = 1.0  # seconds; attempts wait backoff, 2*backoff, 4*backoff...
    delay: float = 1.0  # seconds between the starts of two requests to one host
    respect_robots: bool = True  # skip pages the host's robots.txt disallows

    def __post_init__(self):
        if not self.timeout > 0:
            raise InputError(
                f"`timeout` must be a positive number of seconds. "
                f"Received: timeout={self.timeout}"
            )
        for name in ("retries", "backoff", "delay"):
            value = getattr(self, name)
            if not value >= 0:
                raise InputError(
                    f"`{name}` must be zero or more. Received: {name}={value}"
                )


class FetchError(OSError):
    """A URL that could not be fetched, after the retries."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"could not fetch {url}: {reason}")
        self.url = url
        self.reason = reason


class RobotsDisallowed(FetchError):
    """A URL the host's robots.txt forbids to our User-Agent."""

    def __init__(self, url: str):
        super().__init__(url, "robots.txt disallows it")


@dataclass
class Page:
    """A fetched page, from the network or the cache."""

    url: str  # the URL asked for
    content: bytes
    content_type: str  # the Content-Type header, "" if none
    from_cache: bool


class _Retry(Retry):
    """urllib3's Retry, waiting `backoff` before the first retry too (not 0)."""

    def get_backoff_time(self) -> float:
        errors = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            errors += 1
        if errors == 0:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (errors - 1))


def _cache_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _innermost(error: BaseException) -> BaseException:
    """The underlying urllib3 error of a requests error, when there is one."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    return getattr(error, "reason", None) or error


class Fetcher:
    """Fetches pages and archives politely, through an on-disk cache.

    Args:
        config: FetchConfig or None. Timeouts, retries, delay, robots, cache.
        progress: callable or None. Called with a `Progress` while downloading.

    Example:
    >>> with Fetcher(FetchConfig(cache_dir="/tmp/cache")) as fetcher:
    ...     page = fetcher.get("https://example.org/")
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        progress: Callable[[Progress], None] | None = None,
    ):
        self.config = config or FetchConfig()
        self.progress = progress
        self.cache_dir = Path(self.config.cache_dir or default_cache_dir())
        self.requests = 0  # requests sent, each counted once however often retried
        self.session = requests.Session()
        self.session.headers["User-Agent"] = self.config.user_agent
        retry = _Retry(
            total=None,
            connect=self.config.retries,
            read=self.config.retries,
            status=self.config.retries,
            other=self.config.retries,
            redirect=5,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.config.backoff,
            backoff_max=BACKOFF_MAX,
            raise_on_status=False,  # hand back the last answer; we report it
            respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._last_start: dict[str, float] = {}  # host -> time of the last request
        self._crawl_delay: dict[str, float] = {}  # host -> robots.txt Crawl-delay

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self.session.close()

    def cached(self, url: str) -> Page | None:
        """The cached page for `url`, or None."""
        body, meta = self._page_paths(url)
        if not meta.exists() or not body.exists():
            return None
        info = json.loads(meta.read_text(encoding="utf-8"))
        return Page(url, body.read_bytes(), info["content_type"], from_cache=True)

    def get(self, url: str) -> Page:
        """Fetches `url` (a 2xx answer) from the cache, or else the network.

        Raises `RobotsDisallowed` when robots.txt forbids it and `FetchError` when
        it still fails after the retries.
        """
        page = self.cached(url)
        if page is not None:
            return page
        self.check_robots(url)
        response = self._send(url)
        content_type = response.headers.get("Content-Type", "")
        page = Page(url, response.content, content_type, from_cache=False)
        body, meta = self._page_paths(url)
        body.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(body, lambda tmp: tmp.write_bytes(page.content))
        info = {"url": url, "content_type": page.content_type, "fetched": time.time()}
        atomic_write_text(meta, json.dumps(info) + "\n")  # written last: the marker
        return page

    def download(self, url: str, accept: Callable[[Path], str | None]) -> Path:
        """Downloads `url` into the archive cache, or returns the cached file.

        `accept(path)` inspects the downloaded file and returns None to keep it, or
        the reason it is refused (then nothing is cached and ValueError is raised).
        robots.txt is not consulted: it governs crawlers, and an archive named by the
        user is a single request, not a crawl.
        """
        name = re.sub(r"[^A-Za-z0-9._-]", "_", urlsplit(url).path.rsplit("/", 1)[-1])
        path = self.cache_dir / "archives" / f"{_cache_key(url)[:16]}-{name or 'x'}"
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        response = self._send(url, stream=True)
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        with atomic_path(path) as tmp:
            with response, open(tmp, "wb") as f:
                try:
                    for chunk in response.iter_content(DOWNLOAD_CHUNK):
                        f.write(chunk)
                        done += len(chunk)
                        self._report(Progress("download", done, total, url, "B"))
                except requests.RequestException as error:
                    raise FetchError(url, self._describe(error)) from error
            refused = accept(tmp)
            if refused:
                raise InputError(f"{refused}: {url}")
        return path

    def check_robots(self, url: str) -> None:
        """Raises `RobotsDisallowed` if the host's robots.txt forbids `url` to us."""
        if not self.config.respect_robots:
            return
        origin = _origin(url)
        robots = self._robots.get(origin)
        if robots is None:
            try:
                robots = self._read_robots(origin)
            except FetchError as error:
                raise FetchError(url, f"{error.reason} (reading robots.txt)") from error
            self._robots[origin] = robots
        if not robots.can_fetch(self.config.user_agent, url):
            raise RobotsDisallowed(url)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser:
        """robots.txt, from the cache if younger than ROBOTS_MAX_AGE, else fetched."""
        url = origin + "/robots.txt"
        path = self._page_paths(url)[0].with_suffix(".robots.json")
        saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        if saved is None or time.time() - saved["fetched"] > ROBOTS_MAX_AGE:
            response = self._send(url, raise_for_status=False)
            text = response.text if response.status_code < 400 else ""
            saved = {
                "status": response.status_code,
                "text": text,
                "fetched": time.time(),
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(saved) + "\n")
        robots = urllib.robotparser.RobotFileParser(url)
        if saved["status"] in (401, 403) or saved["status"] >= 500:
            # 401/403 as urllib.robotparser reads them; 5xx as RFC 9309 does.
            robots.disallow_all = True
        elif saved["status"] >= 400:
            robots.allow_all = True  # no robots.txt: everything is allowed
        else:
            robots.parse(saved["text"].splitlines())
        delay = robots.crawl_delay(self.config.user_agent)
        if delay is not None:
            self._crawl_delay[urlsplit(origin).netloc] = float(delay)
        return robots

    def _wait(self, url: str) -> None:
        """Sleeps until `delay` (or robots.txt's Crawl-delay) has passed for a host."""
        host = urlsplit(url).netloc
        last = self._last_start.get(host)
        if last is not None:
            delay = max(self.config.delay, self._crawl_delay.get(host, 0.0))
            remaining = delay - (time.monotonic() - last)
            if remaining > 0:
                time.sleep(remaining)
        self._last_start[host] = time.monotonic()

    def _send(
        self, url: str, stream: bool = False, raise_for_status: bool = True
    ) -> requests.Response:
        """One GET, retried by the session's adapter; errors become FetchError."""
        self._wait(url)
        self.requests += 1
        try:
            response = self.session.get(url, timeout=self.config.timeout, stream=stream)
        except requests.RequestException as error:
            raise FetchError(url, self._describe(error)) from error
        if raise_for_status and response.status_code >= 400:
            response.close()
            retried = response.status_code in RETRY_STATUSES
            raise FetchError(
                url,
                f"HTTP {response.status_code} {response.reason}"
                + (self._after_retries() if retried else ""),
            )
        return response

    def _describe(self, error: requests.RequestException) -> str:
        """A one-line reason for a failed request."""
        cause = _innermost(error)
        text = str(cause)
        retries = self._after_retries()
        if isinstance(error, requests.Timeout) or "timed out" in text.lower():
            return f"no answer within {self.config.timeout:g} s{retries}"
        if isinstance(error, requests.ConnectionError):
            detail = text.split(": ", 1)[-1] if ": " in text else type(cause).__name__
            return f"could not connect{retries} ({detail})"
        if isinstance(error, requests.exceptions.InvalidURL | requests.URLRequired):
            return f"not a valid URL ({text})"
        if isinstance(error, requests.exceptions.MissingSchema):
            return "not a URL: it needs http:// or https://"
        return text.splitlines()[0] if text else type(error).__name__

    def _after_retries(self) -> str:
        n = self.config.retries
        return f" after {n} retr{'y' if n == 1 else 'ies'}" if n else ""

    def _page_paths(self, url: str) -> tuple[Path, Path]:
        key = _cache_key(url)
        folder = self.cache_dir / "pages" / key[:2]
        return folder / f"{key}.body", folder / f"{key}.json"

    def _report(self, event: Progress) -> None:
        if self.progress is not None:
            self.progress(event)
