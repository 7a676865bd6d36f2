"""Tests for charlstm.datasets: the Python and course-catalog corpus builders.

Everything is served by a real HTTP server on 127.0.0.1 started by the test
(tests/corpus_server.py); nothing is downloaded from anywhere else.
"""

import dataclasses
import shutil
import subprocess
import time

import pytest

from charlstm.datasets import (
    CatalogConfig,
    FetchConfig,
    Fetcher,
    FetchError,
    Progress,
    PythonCorpusConfig,
    RobotsDisallowed,
    TqdmProgress,
    build_catalog_corpus,
    build_python_corpus,
    default_cache_dir,
)
from charlstm.datasets import fetch as fetch_module
from charlstm.datasets.course_html import extract_courses
from tests.corpus_server import closed_port, tar_gz_bytes, zip_bytes

TIMEOUT = 0.5  # seconds; the hanging page fails after 1 + RETRIES of these


def fetch_config(tmp_path, **overrides):
    settings = dict(
        cache_dir=tmp_path / "cache", timeout=TIMEOUT, retries=2, backoff=0, delay=0
    )
    settings.update(overrides)
    return FetchConfig(**settings)


# --- the course catalog -----------------------------------------------------------

INDEX = """<html><head><title>Courses</title></head><body>
<ul>
<li><a href="/course-descriptions/abcd/">ABCD</a></li>
<li><a href="abcd/">ABCD again</a></li>
<li><a href="{base}/course-descriptions/abcd/#top">ABCD, top</a></li>
<li><a href="efgh/">EFGH</a></li>
<li><a href="flky/">Flaky</a></li>
<li><a href="slow/">Slow</a></li>
<li><a href="malf/">Malformed</a></li>
<li><a href="json/">Not a page</a></li>
<li><a href="priv/">Private</a></li>
</ul>
<a href="/about/">About</a> <a href="mailto:registrar@example.edu">Mail</a>
<a href="/course-descriptions/">All</a>
</body></html>"""

ABCD = """<html><body><div class="courseblock">
<p class="courseblocktitle"><strong>ABCD&#160;101.&#160; Intro to
    Testing.&#160; 3 Units.</strong></p>
<p class="courseblockdesc">
Learn to   test
things.<br/>Offered as ABCD 101 and EFGH 201.<br>Prereq: none.
</p></div>
<div class="courseblock">
<p class="courseblocktitle">ABCD 102. Café Studies. 1 Unit.</p>
<p class="courseblockdesc">Naïve résumé — writing ✓ &amp; more.</p>
</div></body></html>"""

EFGH = """<html><head><script>var courseblockdesc = "not text";</script></head>
<body><p class="courseblockdesc">A description before any title is dropped.</p>
<div class="courseblock"><p class="courseblocktitle">EFGH 201. Seminar. 1 Unit.</p>
</div>
<div class="courseblock"><p class="courseblocktitle">EFGH 300. Theory. 3 Units.</p>
<div class="courseblockdesc"><p>First <em>paragraph</em>.</p><p>Second.</p></div>
</div></body></html>"""

FLAKY = """<div class="courseblock"><p class="courseblocktitle">FLKY 100. Retry.</p>
<p class="courseblockdesc">Served on the third attempt.</p></div>"""

SLOW = """<div class="courseblock"><p class="courseblocktitle">SLOW 100. Late.</p>
<p class="courseblockdesc">Answered only when released.</p></div>"""

MALFORMED = """<div class=courseblock><p class=courseblocktitle><b>MALF 201. Broken
Markup. 2 Units.</b>
<p class="courseblockdesc">Unclosed paragraph &amp; a stray </span> end tag
<div class="courseblock"><p class="courseblocktitle">MALF 202. Next One.</div>
<p class="courseblockdesc">Second <i>description</p></i> <p>outside</p>
<div class="courseblock"><p class="courseblocktitle">MALF 203. Unterminated"""

ABCD_TEXT = (
    "ABCD 101.  Intro to Testing.  3 Units.\n"
    "Learn to test things.\n"
    "Offered as ABCD 101 and EFGH 201.\n"
    "Prereq: none.\n\n"
    "ABCD 102. Café Studies. 1 Unit.\n"
    "Naïve résumé — writing ✓ & more.\n\n"
)
# With `ascii`: accents removed, the dash folded, the check mark dropped.
ABCD_ASCII_TEXT = ABCD_TEXT.replace("Café", "Cafe").replace(
    "Naïve résumé — writing ✓", "Naive resume - writing "
)
EFGH_TEXT = (
    "EFGH 201. Seminar. 1 Unit.\n\n"
    "EFGH 300. Theory. 3 Units.\nFirst paragraph.\nSecond.\n\n"
)
FLAKY_TEXT = "FLKY 100. Retry.\nServed on the third attempt.\n\n"
SLOW_TEXT = "SLOW 100. Late.\nAnswered only when released.\n\n"
MALFORMED_TEXT = (
    "MALF 201. Broken Markup. 2 Units.\n"
    "Unclosed paragraph & a stray end tag\n\n"
    "MALF 202. Next One.\nSecond description\n\n"
    "MALF 203. Unterminated\n\n"
)


@pytest.fixture
def catalog(site):
    """A bulletin: robots.txt, an index with duplicate links, seven subject pages."""
    site.add("/robots.txt", "User-agent: *\nDisallow: /course-descriptions/priv/\n")
    site.add("/course-descriptions/", INDEX.format(base=site.base))
    site.add("/course-descriptions/abcd/", ABCD)
    site.add("/course-descriptions/efgh/", EFGH)
    site.add("/course-descriptions/flky/", FLAKY, failures=2)
    site.add("/course-descriptions/slow/", SLOW, hang=True)
    site.add("/course-descriptions/malf/", MALFORMED)
    site.add("/course-descriptions/json/", '{"courses": []}', "application/json")
    site.add("/course-descriptions/priv/", FLAKY)
    site.index = site.url("/course-descriptions/")
    return site


def test_catalog_exact_text_retries_failures_and_cache(catalog, tmp_path):
    out = tmp_path / "catalog.txt"
    fetch = fetch_config(tmp_path)
    started = time.monotonic()
    stats = build_catalog_corpus(catalog.index, out, fetch=fetch)
    elapsed = time.monotonic() - started

    assert (
        out.read_text(encoding="utf-8")
        == ABCD_TEXT + EFGH_TEXT + FLAKY_TEXT + MALFORMED_TEXT
    )
    assert dict(catalog.hits) == {
        "/robots.txt": 1,
        "/course-descriptions/": 1,
        "/course-descriptions/abcd/": 1,  # three links, one page
        "/course-descriptions/efgh/": 1,
        "/course-descriptions/flky/": 3,  # 500, 500, then 200
        "/course-descriptions/slow/": 3,  # timed out, retried twice
        "/course-descriptions/malf/": 1,
        "/course-descriptions/json/": 1,
    }  # priv/ is never requested: robots.txt disallows it
    assert elapsed < 3 * TIMEOUT + 2
    assert all(agent.startswith("charlstm/") for _, _, agent in catalog.log)
    assert stats.subjects == 7
    assert stats.duplicate_links == 2
    assert stats.courses == 8
    assert stats.characters == len(out.read_text(encoding="utf-8"))
    assert stats.vocabulary == len(set(out.read_text(encoding="utf-8")))
    assert stats.dropped_characters == 0  # Unicode is kept
    assert stats.fetched == 6 and stats.cached == 0  # the index and 5 pages
    assert stats.disallowed == [catalog.url("/course-descriptions/priv/")]
    assert [(f.url, f.reason) for f in stats.failures] == [
        (
            catalog.url("/course-descriptions/slow/"),
            f"no answer within {TIMEOUT:g} s after 2 retries",
        ),
        (
            catalog.url("/course-descriptions/json/"),
            "not an HTML page (Content-Type: application/json)",
        ),
    ]

    # Once the slow page answers, a second run fetches only it.
    catalog.release.set()
    catalog.reset()
    stats = build_catalog_corpus(catalog.index, out, fetch=fetch, force=True)
    assert dict(catalog.hits) == {"/course-descriptions/slow/": 1}
    full = ABCD_TEXT + EFGH_TEXT + FLAKY_TEXT + SLOW_TEXT + MALFORMED_TEXT
    assert out.read_text(encoding="utf-8") == full
    assert stats.fetched == 1 and stats.cached == 6
    assert [f.url for f in stats.failures] == [
        catalog.url("/course-descriptions/json/")
    ]

    # Everything is cached now: a third run makes no request at all.
    catalog.reset()
    build_catalog_corpus(catalog.index, out, fetch=fetch, force=True)
    assert dict(catalog.hits) == {}
    assert out.read_text(encoding="utf-8") == full


class Interrupted(Exception):
    pass


def test_interrupted_catalog_run_resumes_with_the_remaining_pages(catalog, tmp_path):
    catalog.release.set()  # no waiting on the slow page in this test
    out = tmp_path / "catalog.txt"
    fetch = fetch_config(tmp_path)
    seen = []

    def stop_after_two_pages(event: Progress):
        seen.append(event)
        if event.done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_catalog_corpus(
            catalog.index, out, fetch=fetch, progress=stop_after_two_pages
        )
    assert not out.exists()  # the output is written only when complete
    assert list(tmp_path.iterdir()) == [tmp_path / "cache"]  # no temporary left
    assert [(e.task, e.done, e.total, e.unit) for e in seen] == [
        ("pages", 1, 7, "page"),
        ("pages", 2, 7, "page"),
    ]
    assert catalog.hits["/course-descriptions/efgh/"] == 1
    assert catalog.hits["/course-descriptions/flky/"] == 0

    catalog.reset()
    stats = build_catalog_corpus(catalog.index, out, fetch=fetch)
    assert dict(catalog.hits) == {
        "/course-descriptions/flky/": 3,
        "/course-descriptions/slow/": 1,
        "/course-descriptions/malf/": 1,
        "/course-descriptions/json/": 1,
    }  # the index, abcd/, efgh/ and robots.txt come from the cache
    assert stats.cached == 3
    assert out.read_text(encoding="utf-8") == (
        ABCD_TEXT + EFGH_TEXT + FLAKY_TEXT + SLOW_TEXT + MALFORMED_TEXT
    )


def test_catalog_ascii_folds_the_text(site, tmp_path):
    site.add("/course-descriptions/", '<a href="abcd/">ABCD</a>')
    site.add("/course-descriptions/abcd/", ABCD)
    out = tmp_path / "c.txt"
    stats = build_catalog_corpus(
        site.url("/course-descriptions/"),
        out,
        CatalogConfig(ascii=True),
        fetch_config(tmp_path),
    )
    assert out.read_bytes() == ABCD_ASCII_TEXT.encode("ascii")
    assert stats.dropped_characters == 1  # the check mark
    assert stats.characters == len(ABCD_ASCII_TEXT)
    assert stats.vocabulary == len(set(ABCD_ASCII_TEXT))


def test_catalog_options_lowercase_link_pattern_and_classes(site, tmp_path):
    site.add(
        "/index.html",
        '<a href="/subjects/one.html">1</a><a href="/course-descriptions/abcd/">x</a>',
    )
    site.add(
        "/subjects/one.html",
        '<h3 class="t">ONE 1. First.</h3><div class="d">Some TEXT.</div>'
        '<p class="courseblocktitle">ignored</p>',
    )
    config = CatalogConfig(
        link_pattern=r"/subjects/\w+\.html$",
        title_class="t",
        description_class="d",
        lowercase=True,
    )
    out = tmp_path / "c.txt"
    stats = build_catalog_corpus(
        site.url("/index.html"), out, config, fetch_config(tmp_path)
    )
    assert out.read_text(encoding="utf-8") == "one 1. first.\nsome text.\n\n"
    assert stats.subjects == 1
    assert site.hits["/robots.txt"] == 1  # a 404: everything allowed


def test_requests_are_spaced_by_the_delay(site, tmp_path):
    site.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    site.add("/course-descriptions/", '<a href="abcd/">a</a> <a href="efgh/">e</a>')
    site.add("/course-descriptions/abcd/", ABCD)
    site.add("/course-descriptions/efgh/", EFGH)
    build_catalog_corpus(
        site.url("/course-descriptions/"),
        tmp_path / "c.txt",
        fetch=fetch_config(tmp_path, delay=0.2),
    )
    times = [t for _, t, _ in site.log]
    assert len(times) == 4  # robots.txt, the index, two pages
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.18, gaps


def test_retries_back_off_exponentially(site, tmp_path):
    url = site.add("/page", "ok", failures=2)
    with Fetcher(fetch_config(tmp_path, backoff=0.1)) as fetcher:
        page = fetcher.get(url)
    assert page.content == b"ok" and not page.from_cache
    times = [t for path, t, _ in site.log if path == "/page"]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.09  # backoff
    assert times[2] - times[1] >= 0.19  # 2 * backoff


def test_status_that_is_not_retried_fails_at_once(site, tmp_path):
    url = site.add("/gone", "gone", status=404)
    with Fetcher(fetch_config(tmp_path)) as fetcher:
        with pytest.raises(FetchError, match=r"HTTP 404 Not Found$") as error:
            fetcher.get(url)
    assert error.value.url == url
    assert site.hits["/gone"] == 1


def test_robots_txt_is_cached_for_a_day(site, tmp_path, monkeypatch):
    site.add("/robots.txt", "User-agent: *\nDisallow: /private\n", "text/plain")
    url = site.add("/page", "ok")
    config = fetch_config(tmp_path)
    with Fetcher(config) as fetcher:
        fetcher.check_robots(url)
    with Fetcher(config) as fetcher:
        fetcher.check_robots(url)  # from the cache
        with pytest.raises(RobotsDisallowed):
            fetcher.check_robots(site.url("/private/x"))
    assert site.hits["/robots.txt"] == 1
    later = time.time() + fetch_module.ROBOTS_MAX_AGE + 1
    monkeypatch.setattr(fetch_module.time, "time", lambda: later)
    with Fetcher(config) as fetcher:
        fetcher.check_robots(url)
    assert site.hits["/robots.txt"] == 2


def test_robots_txt_can_disallow_the_index(site, tmp_path):
    site.add("/robots.txt", "User-agent: charlstm\nDisallow: /\n", "text/plain")
    url = site.add("/course-descriptions/", INDEX.format(base=site.base))
    with pytest.raises(FetchError, match="robots.txt disallows it"):
        build_catalog_corpus(url, tmp_path / "c.txt", fetch=fetch_config(tmp_path))
    assert site.hits["/course-descriptions/"] == 0
    assert not (tmp_path / "c.txt").exists()


def test_extract_courses_pairs_titles_and_descriptions():
    html = (
        '<p class="t">A 1.</p><p class="d">one</p><p class="d">two</p>'
        '<p class="t">B 2.</p><style>.d {}</style>'
    )
    assert extract_courses(html, "t", "d") == [("A 1.", "one\ntwo"), ("B 2.", "")]


# --- bad input: the catalog -------------------------------------------------------


def test_unreachable_host(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/course-descriptions/"
    with pytest.raises(FetchError, match="could not connect after 1 retry") as error:
        build_catalog_corpus(
            url, tmp_path / "c.txt", fetch=fetch_config(tmp_path, retries=1)
        )
    assert str(error.value).startswith(f"could not fetch {url}: ")
    assert not (tmp_path / "c.txt").exists()


def test_index_with_no_subject_links(site, tmp_path):
    url = site.add("/course-descriptions/", '<a href="/about/">About</a>')
    with pytest.raises(ValueError, match="links to no subject page.*link_pattern="):
        build_catalog_corpus(url, tmp_path / "c.txt", fetch=fetch_config(tmp_path))
    assert not (tmp_path / "c.txt").exists()


def test_index_that_is_not_html(site, tmp_path):
    url = site.add("/course-descriptions/", b"%PDF-1.4", "application/pdf")
    with pytest.raises(ValueError, match=r"`index_url` is not an HTML page \(Cont"):
        build_catalog_corpus(url, tmp_path / "c.txt", fetch=fetch_config(tmp_path))


def test_pages_without_courses_are_an_error_naming_the_class(site, tmp_path):
    url = site.add("/course-descriptions/", '<a href="abcd/">a</a>')
    site.add("/course-descriptions/abcd/", "<p>No course blocks here.</p>")
    with pytest.raises(ValueError, match="title_class='courseblocktitle'"):
        build_catalog_corpus(url, tmp_path / "c.txt", fetch=fetch_config(tmp_path))
    assert not (tmp_path / "c.txt").exists()


def test_all_pages_failing_is_an_error(site, tmp_path):
    url = site.add("/course-descriptions/", '<a href="abcd/">a</a>')
    site.add("/course-descriptions/abcd/", "x", failures=99)
    with pytest.raises(OSError, match=r"no course was read: 1 of 1 .*HTTP 500"):
        build_catalog_corpus(url, tmp_path / "c.txt", fetch=fetch_config(tmp_path))
    assert site.hits["/course-descriptions/abcd/"] == 3
    assert not (tmp_path / "c.txt").exists()


@pytest.mark.parametrize("url", ["bulletin.example.edu/courses", "ftp://x/y", ""])
def test_index_url_must_be_http(url, tmp_path):
    with pytest.raises(ValueError, match="`index_url` must be an http"):
        build_catalog_corpus(url, tmp_path / "c.txt", fetch=fetch_config(tmp_path))


def test_output_in_a_missing_directory_is_refused_before_any_request(catalog, tmp_path):
    out = tmp_path / "missing" / "c.txt"
    with pytest.raises(FileNotFoundError, match="`out` is in a directory that does"):
        build_catalog_corpus(catalog.index, out, fetch=fetch_config(tmp_path))
    assert catalog.requests == 0


def test_existing_output_is_kept_unless_forced(catalog, tmp_path):
    out = tmp_path / "c.txt"
    out.write_text("precious")
    with pytest.raises(FileExistsError, match="`out` already exists.*--force"):
        build_catalog_corpus(catalog.index, out, fetch=fetch_config(tmp_path))
    assert out.read_text(encoding="utf-8") == "precious"
    assert catalog.requests == 0


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"link_pattern": "("}, "`link_pattern` is not a valid regular expression"),
        ({"title_class": "a b"}, "`title_class` must be one class name"),
        ({"description_class": ""}, "`description_class` must be one class name"),
    ],
)
def test_catalog_config_checks(settings, message):
    with pytest.raises(ValueError, match=message):
        CatalogConfig(**settings)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"timeout": 0}, r"`timeout` must be a positive.*timeout=0"),
        ({"retries": -1}, r"`retries` must be zero or more.*retries=-1"),
        ({"delay": -0.5}, r"`delay` must be zero or more"),
    ],
)
def test_fetch_config_checks(settings, message):
    with pytest.raises(ValueError, match=message):
        FetchConfig(**settings)


def test_default_cache_dir_honours_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "charlstm"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "charlstm"


# --- Python sources ---------------------------------------------------------------

PROJECT = {
    "a.py": b'def f():\n    return "caf\xc3\xa9"\n',
    "latin.py": b"# -*- coding: latin-1 -*-\ns = '\xe9'\n",
    "pkg/__init__.py": b"",
    "pkg/b.py": b"import a\nprint(a.f())",
    "pkg/big.py": b"x = 1\n" * 100,
    "pkg/blob.py": b"x = 1\0\n",
    "pkg/copy_of_a.py": b'def f():\n    return "caf\xc3\xa9"\n',
    "pkg/gen.py": b"# Generated by a tool. DO NOT EDIT.\nx = 2\n",
    "pkg/msg_pb2.py": b"x = 3\n",
    "pkg/notes.txt": b"not python\n",
    "pkg/wide.py": b"x = '" + b"y" * 300 + b"'\n",
    ".hidden/h.py": b"hidden = True\n",
}
SMALL = PythonCorpusConfig(max_bytes=500, max_line_length=200)


def python_text(prefix, fold=False):
    """The corpus of PROJECT: UTF-8 with é, or (`fold`: ascii=True) with e."""
    e = "e" if fold else "é"
    return (
        f"# file: {prefix}/a.py\n"
        f'def f():\n    return "caf{e}"\n'
        f"\n# file: {prefix}/latin.py\n"
        f"# -*- coding: latin-1 -*-\ns = '{e}'\n"
        f"\n# file: {prefix}/pkg/b.py\n"
        "import a\nprint(a.f())\n"
    )


def make_tree(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_python_directory_exact_text_and_skips(tmp_path):
    proj = make_tree(tmp_path / "proj", PROJECT)
    out = tmp_path / "py.txt"
    stats = build_python_corpus(proj, out, SMALL, fetch_config(tmp_path))
    assert out.read_bytes() == python_text("proj").encode("utf-8")
    assert stats.files == 3
    assert stats.characters == len(python_text("proj"))
    assert stats.vocabulary == len(set(python_text("proj")))
    assert stats.dropped_characters == 0  # é is kept
    assert stats.duplicates == ["proj/pkg/copy_of_a.py"]
    assert stats.skipped_binary == ["proj/pkg/blob.py"]
    assert stats.skipped_generated == ["proj/pkg/gen.py", "proj/pkg/msg_pb2.py"]
    assert stats.skipped_large == ["proj/pkg/big.py"]
    assert stats.skipped_long_lines == ["proj/pkg/wide.py"]
    assert stats.skipped_empty == ["proj/pkg/__init__.py"]
    assert stats.downloaded == []


def test_python_ascii_folds_the_text(tmp_path):
    proj = make_tree(tmp_path / "proj", PROJECT)
    out = tmp_path / "py.txt"
    config = dataclasses.replace(SMALL, ascii=True)
    stats = build_python_corpus(proj, out, config, fetch_config(tmp_path))
    assert out.read_bytes() == python_text("proj", fold=True).encode("ascii")
    assert stats.files == 3
    assert stats.characters == len(python_text("proj", fold=True))
    assert stats.vocabulary == len(set(python_text("proj", fold=True)))
    assert stats.dropped_characters == 0  # é became e: replaced, not dropped
    assert stats.duplicates == ["proj/pkg/copy_of_a.py"]


def test_python_thresholds_are_options(tmp_path):
    proj = make_tree(tmp_path / "proj", PROJECT)
    config = PythonCorpusConfig(
        max_line_length=0, skip_generated=False, separator="## {name} ##"
    )
    out = tmp_path / "py.txt"
    stats = build_python_corpus(proj, out, config, fetch_config(tmp_path))
    assert stats.skipped_large == stats.skipped_long_lines == []
    assert stats.skipped_generated == []
    assert stats.files == 7
    assert "## proj/pkg/wide.py ##\nx = 'yyy" in out.read_text(encoding="utf-8")
    assert "## proj/pkg/big.py ##\n" + "x = 1\n" * 100 in out.read_text(
        encoding="utf-8"
    )


def test_python_archives_from_urls_are_cached(site, tmp_path):
    site.add(
        "/proj-main.zip",
        zip_bytes({f"proj-main/{n}": d for n, d in PROJECT.items()}),
        "application/zip",
    )
    site.add(
        "/other.tar.gz",
        tar_gz_bytes({"other-1.0/c.py": b"c = 3\n", "other-1.0/a.py": PROJECT["a.py"]}),
        "application/gzip",
    )
    urls = [site.url("/proj-main.zip"), site.url("/other.tar.gz")]
    out = tmp_path / "py.txt"
    events = []
    stats = build_python_corpus(
        urls, out, SMALL, fetch_config(tmp_path), progress=events.append
    )
    expected = python_text("proj-main") + "\n# file: other-1.0/c.py\nc = 3\n"
    assert out.read_text(encoding="utf-8") == expected
    assert stats.duplicates == ["proj-main/pkg/copy_of_a.py", "other-1.0/a.py"]
    assert stats.downloaded == urls
    assert dict(site.hits) == {"/proj-main.zip": 1, "/other.tar.gz": 1}
    downloads = [e for e in events if e.task == "download"]
    assert downloads[-1].done == downloads[-1].total  # bytes, Content-Length known
    assert [e.done for e in events if e.task == "files"] == list(range(1, 13))

    site.reset()
    stats = build_python_corpus(urls, out, SMALL, fetch_config(tmp_path), force=True)
    assert site.requests == 0  # both archives come from the cache
    assert stats.downloaded == []
    assert out.read_text(encoding="utf-8") == expected


def test_python_local_archive_and_single_file(tmp_path):
    archive = tmp_path / "proj.zip"
    archive.write_bytes(zip_bytes({f"proj/{n}": d for n, d in PROJECT.items()}))
    single = tmp_path / "z.py"
    single.write_text("z = 26\n")
    out = tmp_path / "py.txt"
    build_python_corpus([archive, single], out, SMALL, fetch_config(tmp_path))
    assert (
        out.read_text(encoding="utf-8")
        == python_text("proj") + "\n# file: z.py\nz = 26\n"
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_python_git_work_tree_uses_the_tracked_files(tmp_path):
    repo = make_tree(
        tmp_path / "repo",
        {
            "tracked.py": b"t = 1\n",
            "untracked.py": b"u = 2\n",
            ".gitignore": b"*.log\n",
        },
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "tracked.py"], check=True)
    out = tmp_path / "py.txt"
    build_python_corpus(repo, out, fetch=fetch_config(tmp_path))
    assert out.read_text(encoding="utf-8") == "# file: repo/tracked.py\nt = 1\n"


def test_tqdm_progress_shows_bars_for_downloads_and_pages(site, tmp_path, capsys):
    url = site.add("/a.zip", zip_bytes({"r/a.py": b"a = 1\n"}), "application/zip")
    bars = TqdmProgress()
    build_python_corpus(
        url, tmp_path / "py.txt", None, fetch_config(tmp_path), False, bars
    )
    bars.close()
    err = capsys.readouterr().err
    assert "a.zip" in err and "files" in err


# --- bad input: Python sources ----------------------------------------------------


def test_archive_url_that_is_not_an_archive(site, tmp_path):
    url = site.add("/repo", "<!DOCTYPE html><html>a repository page</html>")
    out = tmp_path / "py.txt"
    with pytest.raises(ValueError, match=r"did not return a zip or tar archive \(it"):
        build_python_corpus(url, out, fetch=fetch_config(tmp_path))
    assert not out.exists()
    assert not any((tmp_path / "cache" / "archives").iterdir())  # nothing cached
    with pytest.raises(ValueError):
        build_python_corpus(url, out, fetch=fetch_config(tmp_path))
    assert site.hits["/repo"] == 2


def test_local_file_that_is_not_an_archive(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(ValueError, match="neither a zip or tar archive nor a file"):
        build_python_corpus(notes, tmp_path / "py.txt", fetch=fetch_config(tmp_path))


def test_source_that_does_not_exist(site, tmp_path):
    url = site.add("/a.zip", zip_bytes({"r/a.py": b"a = 1\n"}), "application/zip")
    missing = tmp_path / "no_such_dir"
    with pytest.raises(FileNotFoundError, match="`sources` path does not exist"):
        build_python_corpus(
            [url, missing], tmp_path / "py.txt", fetch=fetch_config(tmp_path)
        )
    assert site.requests == 0  # checked before anything is downloaded


def test_archive_url_on_an_unreachable_host(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/repo.zip"
    with pytest.raises(FetchError, match="could not connect"):
        build_python_corpus(
            url, tmp_path / "py.txt", fetch=fetch_config(tmp_path, retries=0)
        )


def test_python_output_in_a_missing_directory(tmp_path):
    proj = make_tree(tmp_path / "proj", {"a.py": b"a = 1\n"})
    with pytest.raises(FileNotFoundError, match="`out` is in a directory that does"):
        build_python_corpus(proj, tmp_path / "nope" / "py.txt")


def test_python_sources_with_no_matching_files(tmp_path):
    proj = make_tree(tmp_path / "proj", {"a.txt": b"a\n"})
    with pytest.raises(ValueError, match="no files matching pattern '\\*.py'"):
        build_python_corpus(proj, tmp_path / "py.txt", fetch=fetch_config(tmp_path))
    with pytest.raises(ValueError, match="no file was left to write"):
        build_python_corpus(
            make_tree(tmp_path / "bin", {"b.py": b"\0"}),
            tmp_path / "py.txt",
            fetch=fetch_config(tmp_path),
        )
    assert not (tmp_path / "py.txt").exists()
