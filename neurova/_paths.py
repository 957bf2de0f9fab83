"""Joining names read from user files (annotation CSVs, label files) to a dataset root, safely.

A name such as ``../../outside``, ``/etc/passwd`` or ``C:\\data`` must not make a dataset read
outside its root. :func:`join_inside` is the one check every dataset uses before it joins a
name from a file to a folder. The check is lexical (``..`` and absolute names are refused);
symbolic links a user placed inside the root are followed as usual.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from neurova.errors import AnnotationError

__all__ = ["join_inside"]


def join_inside(
    root: str | os.PathLike[str], name: str, *, what: str, source: str | os.PathLike[str] | None = None
) -> Path:
    """``root / name``, refusing a ``name`` that is empty, absolute or climbs out of ``root``.

    Args:
        root: the dataset folder the name is relative to.
        name: a relative path read from a file (``/`` or ``\\`` separated).
        what: what the name is (``"file"``, ``"NEFER user"``), for the message.
        source: the file the name was read from, named in the error.

    Raises:
        AnnotationError: naming ``source``, the name and the root.
    """
    text = str(name)
    windows = PureWindowsPath(text)
    problem = None
    if not text.strip() or "\x00" in text:
        problem = "is empty or holds a NUL character"
    elif PurePosixPath(text).is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        problem = "is an absolute path"
    else:
        depth = 0
        for part in text.replace("\\", "/").split("/"):
            depth += -1 if part == ".." else int(part not in ("", "."))
            if depth < 0:
                problem = "climbs out of the root with '..'"
                break
    if problem:
        raise AnnotationError(f"{what} {text!r} {problem}: names must stay inside {os.fspath(root)}", source)
    return Path(root) / text
