"""Valence/arousal models: one LightningModule over registered nets, its entry points, a timm-style factory,
and checkpoint save/load.

>>> from neurova.models import VARegressionTask, create_model, list_models, from_pretrained
>>> model = create_model("tiny_cnn_fusion", in_chans=2)                 # doctest: +SKIP
>>> model = VARegressionTask("resnet18_fusion", {"num_frames": 8})      # doctest: +SKIP
>>> model.save_pretrained("runs/my_model")                              # doctest: +SKIP
>>> model = from_pretrained("runs/my_model")                            # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from neurova.contract import InputContract
from neurova.models.base import VARegressionModule
from neurova.models.frame import ResNet, ResNetFusion, ViT
from neurova.models.hf_hub import push_to_hub
from neurova.models.hub import KNOWN_CHECKPOINTS, KnownCheckpoint, neurova_home, save_pretrained
from neurova.models.hub import load_pretrained as load_pretrained  # deprecated alias (warns when called)
from neurova.models.registry import create_model, is_model, list_models, model_entrypoint, register_model
from neurova.models.task import VARegressionTask
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
    "VARegressionTask",
    "ViT",
    "create_model",
    "from_pretrained",
    "is_model",
    "list_models",
    "model_entrypoint",
    "neurova_home",
    "push_to_hub",
    "register_model",
    "save_pretrained",
]


def from_pretrained(source: str | os.PathLike[str], *, map_location: str | torch.device = "cpu", strict: bool = True,
                    input_contract: InputContract | Mapping[str, Any] | None = None) -> VARegressionTask:
    """Load any saved model, in eval mode, as the class it was saved from: the one public loader.

    Args:
        source, resolved in this order: a folder written by ``save_pretrained`` or a Lightning ``.ckpt`` file;
            a checkpoint name under ``$NEUROVA_HOME/models/<name>/`` (tags such as
            ``tiny_cnn_fusion.synthetic_faces``, built by ``neurova zoo build``); a tag shipped inside the
            package (``neurova.zoo.SHIPPED_TAGS``; a bare model name stands for its default tag); a Hugging
            Face Hub repo id ``"user/repo"`` (through ``huggingface_hub``, cached, offline once cached).
        map_location: device of the returned model.
        strict: refuse missing or unexpected weight keys (shape mismatches are always refused).
        input_contract: data the model will be fed; refused if incompatible (:meth:`VARegressionTask.check_input`).

    Folders and ``.ckpt`` files of every neurova version load, also those written before checkpoints recorded
    the registered net. ``ResNetFusion.from_pretrained`` and the other classes' do the same and check the class.

    Raises:
        CheckpointError: missing files, an unsafe pickle, another architecture, mismatching weights.
        InputContractError: ``input_contract`` does not fit the model.
    """
    return VARegressionTask.from_pretrained(source, map_location=map_location, strict=strict,
                                            input_contract=input_contract)
