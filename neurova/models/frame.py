"""Frame-based models: one TBR frame (``ResNet``, ``ViT``) or the K latest frames (``ResNetFusion``).

Each predicts the (valence, arousal) of the **last** frame of a clip.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from neurova.metrics import LossKind
from neurova.models.base import SchedulerKind, VARegressionModule
from neurova.models.registry import register_model
from neurova.nets import FrameFusionNet, FusionKind, SingleFrameNet, create_backbone

__all__ = ["ResNet", "ResNetFusion", "ViT"]


def _last_frame(x: Tensor) -> Tensor:
    if x.ndim == 5:
        return x[:, -1]
    if x.ndim == 4:
        return x
    raise ValueError(f"expected (B, C, H, W) or (B, T, C, H, W) input, got shape {tuple(x.shape)}")


class ResNet(VARegressionModule):
    """A timm ResNet trunk on the last frame → (valence, arousal).

    Args:
        in_chans: channels per frame (1 merged TBR, 2 split polarity, ...).
        backbone: timm model name (``"resnet18"``, ``"resnet34"``, ``"resnet50"``; any timm CNN works).
        pretrained: local weights file for the backbone (3-channel stems are adapted); never downloaded.
        bounded: ``tanh`` on the output (predictions in [-1, 1]).
        dropout: dropout before the head.
        loss, loss_weights, lr, backbone_lr, weight_decay, warmup_steps, scheduler, freeze_backbone,
        input_contract: see :class:`~neurova.models.base.VARegressionModule`.

    ``forward``: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (last frame used) → ``(B, 2)``.
    """

    def __init__(
        self,
        in_chans: int = 1,
        backbone: str = "resnet18",
        pretrained: str | None = None,
        bounded: bool = True,
        dropout: float = 0.0,
        loss: LossKind = "mse+ccc",
        loss_weights: tuple[float, float] = (1.0, 1.0),
        lr: float = 1e-3,
        backbone_lr: float | None = None,
        weight_decay: float = 1e-4,
        warmup_steps: int = 0,
        scheduler: SchedulerKind = "cosine",
        freeze_backbone: bool = False,
        input_contract: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(in_chans=in_chans, loss=loss, loss_weights=loss_weights, lr=lr, backbone_lr=backbone_lr,
                         weight_decay=weight_decay, warmup_steps=warmup_steps, scheduler=scheduler,
                         freeze_backbone=freeze_backbone, input_contract=input_contract)
        self.net = SingleFrameNet(create_backbone(backbone, in_chans, pretrained), bounded, dropout)

    @property
    def frames_used(self) -> int:
        return 1

    def forward(self, x: Tensor) -> Tensor:
        return self.net(_last_frame(x))


class ResNetFusion(VARegressionModule):
    """A shared timm ResNet trunk over the K latest frames, fused, → (valence, arousal) of the last frame.

    Args:
        in_chans: channels per frame.
        backbone: timm model name of the shared trunk.
        num_frames: K, frames fused (the last K of each clip; clips must have at least K frames).
        fusion: ``"attention"`` (default), ``"mean"`` or ``"concat"`` (see :class:`neurova.nets.FrameFusionNet`).
        pretrained, bounded, dropout, loss, ...: as :class:`ResNet`.

    ``forward``: ``(B, T, C, H, W)`` with T ≥ K (or ``(B, C, H, W)`` when K = 1) → ``(B, 2)``.
    """

    def __init__(
        self,
        in_chans: int = 1,
        backbone: str = "resnet18",
        num_frames: int = 4,
        fusion: FusionKind = "attention",
        pretrained: str | None = None,
        bounded: bool = True,
        dropout: float = 0.0,
        loss: LossKind = "mse+ccc",
        loss_weights: tuple[float, float] = (1.0, 1.0),
        lr: float = 1e-3,
        backbone_lr: float | None = None,
        weight_decay: float = 1e-4,
        warmup_steps: int = 0,
        scheduler: SchedulerKind = "cosine",
        freeze_backbone: bool = False,
        input_contract: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(in_chans=in_chans, loss=loss, loss_weights=loss_weights, lr=lr, backbone_lr=backbone_lr,
                         weight_decay=weight_decay, warmup_steps=warmup_steps, scheduler=scheduler,
                         freeze_backbone=freeze_backbone, input_contract=input_contract)
        trunk = create_backbone(backbone, in_chans, pretrained)
        self.net = FrameFusionNet(trunk, num_frames=num_frames, fusion=fusion, bounded=bounded, dropout=dropout)

    @property
    def frames_used(self) -> int:
        return self.net.num_frames

    def forward(self, x: Tensor) -> Tensor:
        k = self.net.num_frames
        if x.ndim == 4 and k == 1:
            x = x.unsqueeze(1)
        if x.ndim != 5:
            raise ValueError(f"ResNetFusion expects (B, T, C, H, W) input, got shape {tuple(x.shape)}")
        if x.shape[1] < k:
            raise ValueError(f"ResNetFusion fuses the last num_frames={k} frames but got clips of {x.shape[1]} "
                             "frame(s); use clips of at least num_frames frames (datamodule clip_length)")
        return self.net(x[:, -k:])


class ViT(VARegressionModule):
    """A timm Vision Transformer on the last frame → (valence, arousal).

    Args:
        in_chans: channels per frame.
        backbone: timm ViT name (``"vit_tiny_patch16_224"``, ``"vit_small_patch16_224"``).
        img_size: side of the position-embedding grid the ViT is built for; other sizes (multiples of
            the patch size) are accepted too, the position embeddings being interpolated
            (timm ``dynamic_img_size``).
        pretrained, bounded, dropout, loss, ...: as :class:`ResNet`.

    ``forward``: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (last frame used) → ``(B, 2)``.
    """

    def __init__(
        self,
        in_chans: int = 1,
        backbone: str = "vit_tiny_patch16_224",
        img_size: int = 112,
        pretrained: str | None = None,
        bounded: bool = True,
        dropout: float = 0.0,
        loss: LossKind = "mse+ccc",
        loss_weights: tuple[float, float] = (1.0, 1.0),
        lr: float = 1e-3,
        backbone_lr: float | None = None,
        weight_decay: float = 1e-4,
        warmup_steps: int = 0,
        scheduler: SchedulerKind = "cosine",
        freeze_backbone: bool = False,
        input_contract: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(in_chans=in_chans, loss=loss, loss_weights=loss_weights, lr=lr, backbone_lr=backbone_lr,
                         weight_decay=weight_decay, warmup_steps=warmup_steps, scheduler=scheduler,
                         freeze_backbone=freeze_backbone, input_contract=input_contract)
        trunk = create_backbone(backbone, in_chans, pretrained, img_size=img_size, dynamic_img_size=True)
        self.net = SingleFrameNet(trunk, bounded, dropout)

    @property
    def frames_used(self) -> int:
        return 1

    def forward(self, x: Tensor) -> Tensor:
        return self.net(_last_frame(x))


@register_model
def resnet18(**kwargs: Any) -> ResNet:
    """ResNet-18 on one frame."""
    return ResNet(**{"backbone": "resnet18", **kwargs})


@register_model
def resnet34(**kwargs: Any) -> ResNet:
    """ResNet-34 on one frame."""
    return ResNet(**{"backbone": "resnet34", **kwargs})


@register_model
def resnet50(**kwargs: Any) -> ResNet:
    """ResNet-50 on one frame."""
    return ResNet(**{"backbone": "resnet50", **kwargs})


@register_model
def resnet18_fusion(**kwargs: Any) -> ResNetFusion:
    """ResNet-18 trunk shared over the 4 latest frames, attention fusion."""
    return ResNetFusion(**{"backbone": "resnet18", "num_frames": 4, "fusion": "attention", **kwargs})


@register_model
def resnet34_fusion(**kwargs: Any) -> ResNetFusion:
    """ResNet-34 trunk shared over the 4 latest frames, attention fusion."""
    return ResNetFusion(**{"backbone": "resnet34", "num_frames": 4, "fusion": "attention", **kwargs})


@register_model
def vit_tiny(**kwargs: Any) -> ViT:
    """ViT-Tiny/16 on one frame (112 px grid)."""
    return ViT(**{"backbone": "vit_tiny_patch16_224", "img_size": 112, **kwargs})


@register_model
def vit_small(**kwargs: Any) -> ViT:
    """ViT-Small/16 on one frame (112 px grid)."""
    return ViT(**{"backbone": "vit_small_patch16_224", "img_size": 112, **kwargs})
