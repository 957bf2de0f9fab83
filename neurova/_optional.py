"""Lazy import of optional extras with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from neurova.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    Args:
        module: importable module name, e.g. ``"evt3"``.
        extra: the neurova extra that provides it, e.g. ``"io"``.
        purpose: what it is needed for, used in the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the optional package '{module}', which is not installed. "
            f'Install it with: pip install "neurova-va[{extra}]"'
        ) from exc
