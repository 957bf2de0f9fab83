"""neurova: valence and arousal estimation from event-camera data of faces.

Submodules are imported lazily, so ``import neurova`` is cheap and does not
load torch until a model, encoding or simulator is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "augment",
    "baselines",
    "cli",
    "contract",
    "datamodules",
    "datasets",
    "demo",
    "domain",
    "emotions",
    "encodings",
    "errors",
    "events",
    "face_detector_training",
    "faces",
    "image",
    "inference",
    "io",
    "leaderboard",
    "metrics",
    "models",
    "nets",
    "plotting",
    "recipes",
    "simulator",
    "streaming",
    "training",
    "transforms",
    "zero_shot",
    "zoo",
)
"""Every public submodule, importable as an attribute (``neurova.image``) on first use."""

__all__ = [*_SUBMODULES, "__version__", "predict"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"neurova.{name}")
    if name == "predict":
        from neurova.inference import predict

        return predict
    raise AttributeError(f"module 'neurova' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
