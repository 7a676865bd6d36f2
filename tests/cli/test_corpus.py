"""Tests for `charlstm corpus python|catalog`: output, statistics, errors, exit codes.

Web pages and archives come from a real HTTP server on 127.0.0.1 started by the
test; the user cache is redirected to a temporary directory.
"""

import os
import subprocess
import sys

import pytest

from charlstm.cli import main
from tests.corpus_server import closed_port, zip_bytes

FAST = ["--timeout", "0.5", "--retries", "2", "--backoff", "0", "--delay", "0"]


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """The default cache (no --cache) goes to a temporary XDG_CACHE_HOME."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "charlstm"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "a.py").write_text("def f():\n    return 'Café'\n", encoding="utf-8")
    (root / "pkg" / "b.py").write_text("X = 1\n")
    (root / "pkg" / "dup.py").write_text("X = 1\n")
    (root / "pkg" / "gen.py").write_text("# @generated\nY = 2\n")
    return root


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("charlstm: error: ")
    return err[0]


@pytest.mark.parametrize("fold", [False, True])
def test_python_writes_the_corpus_and_prints_statistics(
    project, tmp_path, capsys, fold
):
    out = tmp_path / "py.txt"
    flags = ["--ascii"] if fold else []
    command = ["corpus", "python", str(project), "--out", str(out), "--quiet"]
    assert main([*command, *flags]) == 0
    # Unicode is kept (the file is UTF-8) unless --ascii folds it.
    cafe = "Cafe" if fold else "Caf\u00e9"
    text = (
        f"# file: proj/a.py\ndef f():\n    return '{cafe}'\n"
        "\n# file: proj/pkg/b.py\nX = 1\n"
    )
    assert out.read_bytes() == text.encode("utf-8")
    captured = capsys.readouterr()
    assert captured.out == (
        f"wrote {out}: 2 files, {len(text)} characters, vocabulary {len(set(text))}\n"
    )
    assert "charlstm: skipped 1 duplicates, 1 generated" in captured.err


def test_python_options(project, tmp_path, capsys):
    out = tmp_path / "py.txt"
    code = main(
        [
            "corpus",
            "python",
            str(project / "pkg"),
            "--out",
            str(out),
            "--keep-generated",
            "--separator",
            "### {name}",
            "--lowercase",
            "--max-bytes",
            "10",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert out.read_text() == "### pkg/b.py\nx = 1\n"  # gen.py is over 10 bytes
    assert "1 over --max-bytes" in capsys.readouterr().err


def test_existing_output_is_refused_unless_forced(project, tmp_path, capsys):
    out = tmp_path / "py.txt"
    out.write_text("precious")
    args = ["corpus", "python", str(project), "--out", str(out), "--quiet"]
    assert main(args) == 2
    assert "`out` already exists" in error_line(capsys)
    assert out.read_text() == "precious"
    assert main([*args, "--force"]) == 0
    assert out.read_text().startswith("# file: proj/a.py\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["python", "{tmp}/missing", "--out", "{tmp}/o.txt"], "path does not exist"),
        (["python", "{proj}", "--out", "{tmp}/no/o.txt"], "directory that does not"),
        (["python", "{proj}", "--out", "{tmp}/o.txt", "--max-bytes", "0"], "max_bytes"),
        (["python", "{proj}", "--out", "{tmp}/o.txt", "--timeout", "0"], "`timeout`"),
        (["python", "{proj}"], "the following arguments are required: --out"),
        (["catalog", "x", "--out", "{tmp}/o.txt"], "`index_url` must be an http"),
        (["catalog", "http://a/", "--out", "{tmp}/o", "--link-pattern", "("], "regul"),
        ([], "the following arguments are required"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    args, message, project, tmp_path, capsys
):
    args = [a.format(tmp=tmp_path, proj=project) for a in args]
    assert main(["corpus", *args, "--quiet"] if args else ["corpus"]) == 2
    assert message in error_line(capsys)


def test_archive_url_that_is_not_an_archive(site, tmp_path, capsys, cache_home):
    url = site.add("/repo", "<html>a page</html>")
    out = tmp_path / "o.txt"
    assert main(["corpus", "python", url, "--out", str(out), "--quiet"]) == 2
    assert "did not return a zip or tar archive" in error_line(capsys)
    assert not (tmp_path / "o.txt").exists()


def test_archive_url_goes_to_the_default_cache(site, tmp_path, capsys, cache_home):
    url = site.add("/r.zip", zip_bytes({"r-main/m.py": b"m = 1\n"}), "application/zip")
    out = tmp_path / "o.txt"
    assert main(["corpus", "python", url, "--out", str(out), *FAST]) == 0
    assert out.read_text() == "# file: r-main/m.py\nm = 1\n"
    assert len(list((cache_home / "archives").iterdir())) == 1
    assert "r.zip" in capsys.readouterr().err  # the download bar
    assert main(["corpus", "python", url, "--out", str(out), "--force"]) == 0
    assert site.hits["/r.zip"] == 1


def test_catalog_reports_failures_by_url_writes_the_rest_and_resumes(
    site, tmp_path, capsys
):
    site.add("/robots.txt", "User-agent: *\nDisallow:\n", "text/plain")
    index = site.add(
        "/course-descriptions/",
        '<a href="abcd/">A</a><a href="abcd/">A</a><a href="bust/">B</a>',
    )
    site.add(
        "/course-descriptions/abcd/",
        '<p class="courseblocktitle">ABCD 1. One.</p>'
        '<p class="courseblockdesc">Text.</p>',
    )
    site.add(
        "/course-descriptions/bust/",
        '<p class="courseblocktitle">BUST 2. Two.</p>',
        failures=3,  # fails all three attempts of the first run
    )
    out = tmp_path / "catalog.txt"
    args = ["corpus", "catalog", index, "--out", str(out), "--cache", str(tmp_path)]
    assert main([*args, *FAST]) == 1
    captured = capsys.readouterr()
    assert out.read_text() == "ABCD 1. One.\nText.\n\n"
    assert captured.out.startswith(f"wrote {out}: 1 courses from 2 subject pages, ")
    bust = site.url("/course-descriptions/bust/")
    assert (
        f"charlstm: failed: {bust}: HTTP 500 Internal Server Error after 2 retries\n"
        in captured.err
    )
    assert "1 page(s) failed and are missing; the rest is written" in captured.err
    assert "1 duplicate subject links ignored" in captured.err
    assert site.hits["/course-descriptions/bust/"] == 3

    assert main([*args, *FAST, "--force", "--quiet"]) == 0
    assert out.read_text() == "ABCD 1. One.\nText.\n\nBUST 2. Two.\n\n"
    assert "1 pages fetched, 2 from the cache" in capsys.readouterr().err
    assert site.hits["/course-descriptions/abcd/"] == 1


@pytest.mark.parametrize("fold", [False, True])
def test_catalog_keeps_unicode_unless_ascii(site, tmp_path, capsys, fold):
    site.add("/robots.txt", "User-agent: *\nDisallow:\n", "text/plain")
    index = site.add("/course-descriptions/", '<a href="cafe/">C</a>')
    site.add(
        "/course-descriptions/cafe/",
        '<p class="courseblocktitle">CAFE 1. Caf\u00e9 \u2014 na\u00efve.</p>'
        '<p class="courseblockdesc">\u0417\u0434\u0440\u0430\u0432\u0441\u0442'
        "\u0432\u0443\u0439 ok.</p>",
    )
    out = tmp_path / "catalog.txt"
    flags = ["--ascii"] if fold else []
    command = ["corpus", "catalog", index, "--out", str(out), "--quiet", *FAST]
    assert main([*command, *flags]) == 0, capsys.readouterr().err
    if fold:  # accents removed, the dash folded, the Cyrillic letters dropped
        text = "CAFE 1. Cafe - naive.\n ok.\n\n"
    else:
        text = (
            "CAFE 1. Caf\u00e9 \u2014 na\u00efve.\n"
            "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439 ok.\n\n"
        )
    assert out.read_bytes() == text.encode("utf-8")


@pytest.mark.parametrize(
    "answer, message",
    [
        (None, "could not connect"),
        ('<a href="/about/">About</a>', "links to no subject page"),
        ('{"a": 1}', "not an HTML page (Content-Type: application/json)"),
    ],
)
def test_catalog_bad_input(answer, message, site, tmp_path, capsys):
    if answer is None:
        url = f"http://127.0.0.1:{closed_port()}/course-descriptions/"
    else:
        kind = "application/json" if answer.startswith("{") else "text/html"
        url = site.add("/course-descriptions/", answer, kind)
    code = main(["corpus", "catalog", url, "--out", str(tmp_path / "c.txt"), *FAST])
    assert code == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "c.txt").exists()


def test_corpus_commands_do_not_import_tensorflow(project, tmp_path):
    script = (
        "import sys\n"
        "from charlstm.cli import main\n"
        f"code = main(['corpus', 'python', {str(project)!r}, '--out', "
        f"{str(tmp_path / 'o.txt')!r}, '--quiet'])\n"
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env
    )
    assert done.stdout.splitlines()[-1] == "0 False False", done.stderr
