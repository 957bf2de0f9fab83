"""Where neurova keeps files: its home directory, and names from user files joined safely to a root.

**The home directory** holds everything neurova writes on its own: ``models/`` (named checkpoints, looked up
by :func:`neurova.models.from_pretrained`) and ``cache/`` (simulated event caches, generated training windows).
It is ``$NEUROVA_HOME``, by default ``$XDG_CACHE_HOME/neurova`` (``~/.cache/neurova``). ``$NEUROVA_CACHE``
still moves the caches alone (e.g. to a scratch disk). :func:`home_dir`, :func:`models_dir`, :func:`cache_dir`
are the one definition; ``neurova.models.neurova_home`` and ``neurova.datasets.default_cache_dir`` call them.

**Joining names.** A name such as ``../../outside``, ``/etc/passwd`` or ``C:\\data`` must not make a dataset read
outside its root. :func:`join_inside` is the one check every dataset uses before it joins a
name from a file to a folder. The check is lexical (``..`` and absolute names are refused);
symbolic links a user placed inside the root are followed as usual.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from neurova.errors import AnnotationError

__all__ = ["cache_dir", "home_dir", "join_inside", "models_dir"]


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def home_dir() -> Path:
    """``$NEUROVA_HOME``, else ``$XDG_CACHE_HOME/neurova``, else ``~/.cache/neurova`` (not created here)."""
    home = _env_path("NEUROVA_HOME")
    if home is not None:
        return home
    return (_env_path("XDG_CACHE_HOME") or Path("~/.cache").expanduser()) / "neurova"


def models_dir() -> Path:
    """Named checkpoints: ``home_dir() / "models"``."""
    return home_dir() / "models"


def cache_dir() -> Path:
    """Caches: ``$NEUROVA_CACHE`` when set (an override), else ``home_dir() / "cache"``."""
    return _env_path("NEUROVA_CACHE") or home_dir() / "cache"


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
