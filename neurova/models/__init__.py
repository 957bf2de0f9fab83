"""LightningModules for valence/arousal regression, a timm-style registry, and checkpoint save/load.

>>> from neurova.models import ResNetFusion, create_model, list_models, from_pretrained
>>> model = create_model("resnet18_fusion", in_chans=2)        # doctest: +SKIP
>>> model.save_pretrained("runs/my_model")                      # doctest: +SKIP
>>> model = from_pretrained("runs/my_model")                    # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from neurova.contract import InputContract
from neurova.models.base import VARegressionModule
from neurova.models.frame import ResNet, ResNetFusion, ViT
from neurova.models.hub import KNOWN_CHECKPOINTS, KnownCheckpoint, load_pretrained, neurova_home, save_pretrained
from neurova.models.registry import create_model, is_model, list_models, model_entrypoint, register_model
from neurova.models.tiny import TinyCNN, TinyCNNFusion
from neurova.models.video import R3D, R2Plus1D, ResNetGRU, ResNetLSTM, ResNetTransformer

__all__ = [
    "KNOWN_CHECKPOINTS",
    "R3D",
    "KnownCheckpoint",
    "R2Plus1D",
    "ResNet",
    "ResNetFusion",
    "ResNetGRU",
    "ResNetLSTM",
    "ResNetTransformer",
    "TinyCNN",
    "TinyCNNFusion",
    "VARegressionModule",
    "ViT",
    "create_model",
    "from_pretrained",
    "is_model",
    "list_models",
    "model_entrypoint",
    "neurova_home",
    "register_model",
    "save_pretrained",
]


def from_pretrained(source: str | os.PathLike[str], *, map_location: str | torch.device = "cpu", strict: bool = True,
                    input_contract: InputContract | Mapping[str, Any] | None = None) -> VARegressionModule:
    """Load any saved model (folder, Lightning ``.ckpt`` or checkpoint name) as the class it was saved from.

    See :func:`neurova.models.hub.load_pretrained`.
    """
    return load_pretrained(source, cls=None, map_location=map_location, strict=strict, input_contract=input_contract)
