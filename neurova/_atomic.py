"""Atomic file writes: write beside the target, then rename.

An interrupted write never leaves a truncated file under the final name, and an
existing file is only replaced once the new one is complete. The result gets the permissions an
ordinary ``open``/``mkdir`` would give (``0o666`` / ``0o777`` less the umask), or keeps those of the
file it replaces, not the private ``0o600`` / ``0o700`` of :mod:`tempfile`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_dir", "atomic_path", "remove_stale_temporaries"]


def _umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no read-only query elsewhere: set and restore at once
    os.umask(mask)
    return mask


def _public_mode(path: Path, target: Path, *, directory: bool) -> None:
    """Give the temporary ``path`` the mode ``target`` has, else the umask's default for a new file/folder."""
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        mode = (0o777 if directory else 0o666) & ~_umask()
    os.chmod(path, mode)


def _temporary_prefix(target: Path) -> str:
    return f".{target.stem}."


def _temporary_suffix(target: Path) -> str:
    return f".tmp{target.suffix}"


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files that an interrupted :func:`atomic_path` write of ``target`` left behind.

    Only call this when no other process is writing ``target`` at the same time (for example
    for the clips this process owns). Returns the removed paths.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    stale = [p for p in target.parent.glob(f"{_temporary_prefix(target)}*{_temporary_suffix(target)}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary file keeps ``target``'s suffix (some writers dispatch on it) and
    is removed if the block raises.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=_temporary_suffix(target), dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _public_mode(tmp_path, target, directory=False)  # after the writer: some replace the file they write
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; move it onto ``target`` on success.

    An existing ``target`` directory is replaced only after the new one is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _public_mode(tmp, target, directory=True)
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
