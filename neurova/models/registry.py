"""timm-style model registry: ``@register_model`` factories, ``list_models``, ``create_model``.

A factory is a function named after the model that returns a configured
:class:`~neurova.models.base.VARegressionModule`; keyword arguments override its defaults::

    @register_model
    def resnet18_fusion(**kwargs) -> ResNetFusion:
        return ResNetFusion(**{"backbone": "resnet18", **kwargs})
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from neurova.models.base import VARegressionModule

__all__ = ["create_model", "is_model", "list_models", "model_entrypoint", "register_model"]

_ENTRYPOINTS: dict[str, Callable[..., VARegressionModule]] = {}
FactoryT = TypeVar("FactoryT", bound=Callable[..., Any])


def _load_builtin() -> None:
    importlib.import_module("neurova.models")  # registers the built-in factories


def register_model(fn: FactoryT) -> FactoryT:
    """Register ``fn`` under its ``__name__``; a name can be registered once."""
    name = fn.__name__
    if name in _ENTRYPOINTS and _ENTRYPOINTS[name] is not fn:
        raise ValueError(f"model {name!r} is already registered")
    _ENTRYPOINTS[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered names matching the shell-style ``pattern`` (``"resnet*"``, ``"*_fusion"``)."""
    _load_builtin()
    return sorted(n for n in _ENTRYPOINTS if fnmatch.fnmatchcase(n, pattern))


def is_model(name: str) -> bool:
    """True when ``name`` is registered."""
    _load_builtin()
    return name in _ENTRYPOINTS


def model_entrypoint(name: str) -> Callable[..., VARegressionModule]:
    """The factory registered as ``name``; ``ValueError`` naming close matches otherwise."""
    _load_builtin()
    if name not in _ENTRYPOINTS:
        close = difflib.get_close_matches(name, _ENTRYPOINTS, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown model {name!r}{hint} (neurova.models.list_models() lists them)")
    return _ENTRYPOINTS[name]


def create_model(name: str, **overrides: Any) -> VARegressionModule:
    """Build the registered model ``name``; ``overrides`` replace constructor defaults (``in_chans=2``, ...)."""
    model = model_entrypoint(name)(**overrides)
    model.architecture = name
    return model
