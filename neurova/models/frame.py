"""Frame-based entry points: one frame (``ResNet``, ``ViT``) or the K latest frames (``ResNetFusion``).

Each is :class:`~neurova.models.task.VARegressionTask` with a registered net (:mod:`neurova.nets.registry`)
whose arguments are the constructor's, and predicts the (valence, arousal) of the **last** frame of a clip.
The training arguments (``lr``, ``loss``, ``freeze_backbone``, ...) are the task's, passed by keyword.
"""

from __future__ import annotations

from typing import Any

from neurova.models.registry import entry_point
from neurova.models.task import VARegressionTask, entry_net_args
from neurova.nets import FusionKind

__all__ = ["ResNet", "ResNetFusion", "ViT"]


@entry_point
class ResNet(VARegressionTask):
    """A timm trunk on the last frame → (valence, arousal): the nets ``resnet18``, ``resnet34``, ``resnet50``.

    Args:
        in_chans: channels per frame (1 merged TBR, 2 split polarity, ...).
        backbone: timm model name (``"resnet18"``, ``"resnet34"``, ``"resnet50"``; any timm model works).
        pretrained: local weights file for the backbone (3-channel stems are adapted); never downloaded.
        bounded: ``tanh`` on the output (predictions in [-1, 1]).
        dropout: dropout before the head.
        **task_kwargs: ``loss``, ``loss_weights``, ``lr``, ``backbone_lr``, ``weight_decay``, ``warmup_steps``,
            ``scheduler``, ``freeze_backbone``, ``input_contract``: see :class:`VARegressionTask`.

    ``forward``: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (last frame used) → ``(B, 2)``.
    """

    variants = ("resnet18", "resnet34", "resnet50")

    def __init__(self, in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None,
                 bounded: bool = True, dropout: float = 0.0, **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)


@entry_point
class ResNetFusion(VARegressionTask):
    """A shared timm trunk over the K latest frames, fused, → (valence, arousal) of the last frame: the nets
    ``resnet18_fusion`` and ``resnet34_fusion``.

    Args:
        in_chans: channels per frame.
        backbone: timm model name of the shared trunk.
        num_frames: K, frames fused (the last K of each clip; clips must have at least K frames).
        fusion: ``"attention"`` (default), ``"mean"`` or ``"concat"`` (see :class:`neurova.nets.FrameFusionNet`).
        pretrained, bounded, dropout, **task_kwargs: as :class:`ResNet`.

    ``forward``: ``(B, T, C, H, W)`` with T ≥ K (or ``(B, C, H, W)`` when K = 1) → ``(B, 2)``.
    """

    variants = ("resnet18_fusion", "resnet34_fusion")

    def __init__(self, in_chans: int = 1, backbone: str = "resnet18", num_frames: int = 4,
                 fusion: FusionKind = "attention", pretrained: str | None = None, bounded: bool = True,
                 dropout: float = 0.0, **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)


@entry_point
class ViT(VARegressionTask):
    """A timm Vision Transformer on the last frame → (valence, arousal): the nets ``vit_tiny`` and ``vit_small``.

    Args:
        in_chans: channels per frame.
        backbone: timm ViT name (``"vit_tiny_patch16_224"``, ``"vit_small_patch16_224"``).
        img_size: side of the position-embedding grid the ViT is built for; other sizes (multiples of
            the patch size) are accepted too, the position embeddings being interpolated
            (timm ``dynamic_img_size``).
        pretrained, bounded, dropout, **task_kwargs: as :class:`ResNet`.

    ``forward``: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (last frame used) → ``(B, 2)``.
    """

    variants = ("vit_tiny", "vit_small")

    def __init__(self, in_chans: int = 1, backbone: str = "vit_tiny_patch16_224", img_size: int = 112,
                 pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0,
                 **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)
