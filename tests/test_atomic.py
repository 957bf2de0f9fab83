"""Tests of neurova._atomic: files and folders appear complete or not at all, with ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neurova._atomic import atomic_dir, atomic_path, remove_stale_temporaries


def test_file_appears_only_on_success_with_its_suffix_kept(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".csv" and tmp != target
        tmp.write_text("a,b\n")
        assert not target.exists()  # nothing under the final name while writing
    assert target.read_text() == "a,b\n"
    assert list(target.parent.iterdir()) == [target]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_permissions_follow_the_umask_or_the_replaced_file(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "new.txt") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "folder") as folder:
            (folder / "f").write_text("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o640  # not tempfile's private 0o600
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o750
    old = tmp_path / "kept.txt"
    old.write_text("x")
    old.chmod(0o604)
    with atomic_path(old) as tmp:
        tmp.write_text("y")
    assert old.stat().st_mode & 0o777 == 0o604 and old.read_text() == "y"


def test_folder_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "weights.bin").write_bytes(b"1")
    with pytest.raises(ValueError, match="bad"), atomic_dir(target) as tmp:
        (tmp / "weights.bin").write_bytes(b"2")
        raise ValueError("bad")
    assert [p.name for p in tmp_path.iterdir()] == ["model"] and (target / "weights.bin").read_bytes() == b"1"
    with atomic_dir(target) as tmp:
        (tmp / "other.bin").write_bytes(b"3")
    assert sorted(p.name for p in target.iterdir()) == ["other.bin"]  # the old content is gone, not merged
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_remove_stale_temporaries_removes_only_the_targets_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "clip.h5"
    stale = tmp_path / ".clip.abc123.tmp.h5"
    other = tmp_path / ".other.abc123.tmp.h5"
    for path in (target, stale, other):
        path.write_bytes(b"")
    assert remove_stale_temporaries(target) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, other.name])
    assert remove_stale_temporaries(tmp_path / "missing" / "x.h5") == []
