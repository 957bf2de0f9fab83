"""timm-style model factory over the net registry: ``list_models``, ``create_model``, ``is_model``.

Every net registered with :func:`neurova.nets.register_net` is a model: ``create_model(name, **kwargs)``
builds :class:`~neurova.models.task.VARegressionTask` with that net, ``kwargs`` going to the net (its
factory's arguments) or to the task (``lr``, ``loss``, ``freeze_backbone``, ...). Built-in names come back
as their entry-point class (``create_model("resnet34_fusion")`` is a ``ResNetFusion``), classes declared
with :func:`entry_point`.

:func:`register_model` still registers a plain factory returning a LightningModule, for code written
before the net registry; new models register a net instead (``docs/models.md``).
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import lightning as L

from neurova.errors import CheckpointError
from neurova.models import hub
from neurova.models.task import VARegressionTask
from neurova.nets.registry import get_net_spec, is_net, list_nets

__all__ = ["create_model", "entry_point", "is_model", "list_models", "model_entrypoint", "register_model"]

_BACKBONE_WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
_FACTORIES: dict[str, Callable[..., L.LightningModule]] = {}
_ENTRY_POINTS: dict[str, type[VARegressionTask]] = {}
FactoryT = TypeVar("FactoryT", bound=Callable[..., Any])
EntryT = TypeVar("EntryT", bound=type[VARegressionTask])


def entry_point(cls: EntryT) -> EntryT:
    """Make ``cls`` the class :func:`create_model` returns for each of its ``variants`` (registered nets)."""
    if not cls.variants:
        raise ValueError(f"{cls.__name__} names no registered net in its variants")
    for name in cls.variants:
        get_net_spec(name)  # an unregistered name fails here, at import
        _ENTRY_POINTS[name] = cls
    return cls


def register_model(fn: FactoryT) -> FactoryT:
    """Register a factory returning a LightningModule under its ``__name__`` (the pre-net-registry way).

    Prefer :func:`neurova.nets.register_net`: a registered net gets the task, checkpoints and the tests for free.
    """
    name = fn.__name__
    if is_net(name) or (name in _FACTORIES and _FACTORIES[name] is not fn):
        raise ValueError(f"model {name!r} is already registered")
    _FACTORIES[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered names matching the shell-style ``pattern`` (``"resnet*"``, ``"*_fusion"``)."""
    return sorted({*list_nets(pattern), *(n for n in _FACTORIES if fnmatch.fnmatchcase(n, pattern))})


def is_model(name: str) -> bool:
    """True when ``name`` is registered."""
    return is_net(name) or name in _FACTORIES


def model_entrypoint(name: str) -> Callable[..., L.LightningModule]:
    """The factory of ``name``: ``kwargs -> model`` (``create_model(name, **kwargs)`` for a net);
    ``ValueError`` naming close matches otherwise."""
    if name in _FACTORIES:
        return _FACTORIES[name]
    get_net_spec(name)
    return functools.partial(_build, name)


def create_model(name: str, pretrained: bool | str | os.PathLike[str] | None = False,
                 **kwargs: Any) -> L.LightningModule:
    """Build the registered model ``name``, as ``timm.create_model`` does.

    Args:
        name: a registered name (:func:`list_models`).
        pretrained: ``False`` or ``None`` (random weights); ``True`` (the checkpoint named ``name`` under
            ``$NEUROVA_HOME/models/``); a checkpoint name, a folder written by ``save_pretrained`` or a
            Lightning ``.ckpt`` (the whole model, which must be a ``name`` model); or a local
            backbone weights file (``.safetensors``, ``.pth``, ``.pt``, ``.bin``: the trunk is
            initialised from it, 3-channel stems adapted to ``in_chans``). Nothing is downloaded.
        **kwargs: ``in_chans``, the net's arguments (``backbone``, ``num_frames``, ...: its factory in
            :mod:`neurova.nets.registry`) and the task's (``lr``, ``loss``, ``freeze_backbone``, ...:
            :class:`VARegressionTask`). With a whole-model checkpoint they must equal what the checkpoint was
            built with.

    Raises:
        ValueError: unknown name.
        TypeError: an argument neither the net nor the task takes.
        CheckpointError: the checkpoint is missing, of another architecture, or built with other arguments.
    """
    if pretrained is False or pretrained is None:
        return model_entrypoint(name)(**kwargs)
    source = os.fspath(name if pretrained is True else pretrained)
    if Path(source).suffix in _BACKBONE_WEIGHT_SUFFIXES:
        return model_entrypoint(name)(**{**kwargs, "pretrained": source})
    model_entrypoint(name)  # an unknown name fails before any file is read
    model = hub.load_model(source, cls=VARegressionTask, exact=False)
    if model.architecture != name:
        raise CheckpointError(f"checkpoint holds a {model.architecture!r} model, not {name!r}", path=source)
    recorded = {**model.net_args, **model.hparams}
    differing = {k: (v, recorded.get(k)) for k, v in kwargs.items() if recorded.get(k) != v}
    if differing:
        detail = ", ".join(f"{k}={v!r} (checkpoint: {c!r})" for k, (v, c) in differing.items())
        raise CheckpointError(f"arguments differ from the checkpoint's: {detail}", path=source)
    return model


def _build(name: str, **kwargs: Any) -> VARegressionTask:
    """The task with net ``name``: its entry-point class when it has one, else :class:`VARegressionTask`."""
    spec = get_net_spec(name)
    cls = _ENTRY_POINTS.get(name)
    if cls is not None:
        model = cls(**{**spec.defaults, **kwargs})
        model.architecture = name
        return model
    net_args = {k: kwargs.pop(k) for k in list(kwargs) if k in spec.defaults}
    return VARegressionTask(name, net_args, **kwargs)
