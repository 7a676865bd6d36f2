"""Tests for charlstm.utils.storage: atomic writes."""

import os
import stat

import pytest

from charlstm.utils.storage import atomic_path, atomic_write, atomic_write_text


@pytest.fixture
def umask():
    """Sets the process umask for one test and restores it afterwards."""
    previous = os.umask(0o022)
    try:
        yield lambda mask: os.umask(mask)
    finally:
        os.umask(previous)


def test_atomic_write_text_writes_content(tmp_path):
    path = tmp_path / "out.json"
    atomic_write_text(path, '{"a": "µ日"}\n')
    assert path.read_text(encoding="utf-8") == '{"a": "µ日"}\n'
    atomic_write_text(str(path), "replaced")
    assert path.read_text(encoding="utf-8") == "replaced"
    assert sorted(tmp_path.iterdir()) == [path]


def test_failed_write_leaves_original_untouched_and_no_temp_files(tmp_path):
    path = tmp_path / "weights.keras"
    path.write_text("original")
    seen = []

    def writer(tmp):
        seen.append(tmp)
        tmp.write_text("half of the new cont")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, writer)
    assert path.read_text() == "original"
    assert sorted(tmp_path.iterdir()) == [path]
    # The writer got a file beside the target that kept its suffix.
    assert seen[0].parent == tmp_path
    assert seen[0].suffix == ".keras"
    assert seen[0] != path


def test_failed_write_of_a_new_file_creates_nothing(tmp_path):
    path = tmp_path / "new.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_moves_the_result_into_place(tmp_path):
    path = tmp_path / "model.keras"
    atomic_write(path, lambda tmp: tmp.write_bytes(b"\x00weights"))
    assert path.read_bytes() == b"\x00weights"
    assert list(tmp_path.iterdir()) == [path]


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_file_mode_follows_umask_022(tmp_path, umask):
    path = tmp_path / "config.json"
    atomic_write_text(path, "{}")
    assert mode(path) == 0o644
    path2 = tmp_path / "weights.keras"
    atomic_write(path2, lambda tmp: tmp.write_bytes(b"w"))
    assert mode(path2) == 0o644


def test_file_mode_follows_other_umasks(tmp_path, umask):
    umask(0o077)
    atomic_write_text(tmp_path / "private.txt", "x")
    assert mode(tmp_path / "private.txt") == 0o600
    umask(0o002)
    atomic_write_text(tmp_path / "group.txt", "x")
    assert mode(tmp_path / "group.txt") == 0o664
    # The umask itself is left as it was found.
    assert os.umask(0o002) == 0o002
