"""The sdist and the wheel build offline from a copy of the source, pass `twine
check`, and hold the license, the typing marker and the playground page."""

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import charlstm

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "site", "runs", "build", "dist", "*.egg-info", "__pycache__",
    ".hypothesis", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


def run(*command, cwd):
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done


def test_the_sdist_and_wheel_build_and_hold_what_they_must(tmp_path):
    source, out = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORED)
    # No isolation: the build uses this environment's setuptools and wheel (the
    # `test` extra), so nothing is downloaded.
    run("build", "--no-isolation", "--sdist", "--wheel", "--outdir", out, cwd=source)
    version = charlstm.__version__
    wheel = out / f"charlstm-{version}-py3-none-any.whl"
    sdist = out / f"charlstm-{version}.tar.gz"
    run("twine", "check", "--strict", wheel, sdist, cwd=tmp_path)

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "charlstm/py.typed",
        "charlstm/serve/playground.html",
        f"charlstm-{version}.dist-info/licenses/LICENSE",
    } <= names
    assert not any(n.startswith(("tests/", "docs/")) for n in names)

    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive if "/" in m.name}
    assert {
        "LICENSE",
        "charlstm/py.typed",
        "charlstm/serve/playground.html",
        "mkdocs.yml",
        "docs/index.md",
        "docs/hooks/cli_reference.py",
        "examples/quickstart.ipynb",
        "tests/conftest.py",
    } <= members
    assert not any("__pycache__" in m for m in members)
