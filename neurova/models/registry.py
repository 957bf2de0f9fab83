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
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from neurova.errors import CheckpointError

if TYPE_CHECKING:
    from neurova.models.base import VARegressionModule

__all__ = ["create_model", "is_model", "list_models", "model_entrypoint", "register_model"]

_BACKBONE_WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
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


def create_model(name: str, pretrained: bool | str | os.PathLike[str] = False, **overrides: Any) -> VARegressionModule:
    """Build the registered model ``name``, as ``timm.create_model`` does.

    Args:
        name: a registered name (:func:`list_models`).
        pretrained: ``False`` (random weights); ``True`` (the checkpoint named ``name`` under
            ``$NEUROVA_HOME/models/``); a checkpoint name, a folder written by ``save_pretrained`` or a
            Lightning ``.ckpt`` (the whole model, which must be a ``name`` model); or a local
            backbone weights file (``.safetensors``, ``.pth``, ``.pt``, ``.bin``: the trunk is
            initialised from it, 3-channel stems adapted to ``in_chans``). Nothing is downloaded.
        **overrides: constructor arguments replacing the factory's defaults (``in_chans=2``, ...).
            With a whole-model checkpoint they must equal what the checkpoint was built with.

    Raises:
        ValueError: unknown name.
        CheckpointError: the checkpoint is missing, of another architecture, or built with other arguments.
    """
    if pretrained is False or pretrained is None:
        return _build(name, overrides)
    source = os.fspath(name if pretrained is True else pretrained)
    if Path(source).suffix in _BACKBONE_WEIGHT_SUFFIXES:
        return _build(name, {**overrides, "pretrained": source})
    from neurova.models.hub import load_pretrained

    model_entrypoint(name)  # an unknown name fails before any file is read
    model = load_pretrained(source)
    if model.architecture != name:
        raise CheckpointError(f"checkpoint holds a {model.architecture!r} model, not {name!r}", path=source)
    differing = {k: (v, model.hparams.get(k)) for k, v in overrides.items() if model.hparams.get(k) != v}
    if differing:
        detail = ", ".join(f"{k}={v!r} (checkpoint: {c!r})" for k, (v, c) in differing.items())
        raise CheckpointError(f"arguments differ from the checkpoint's: {detail}", path=source)
    return model


def _build(name: str, kwargs: dict[str, Any]) -> VARegressionModule:
    model = model_entrypoint(name)(**kwargs)
    model.architecture = name
    return model
