"""The tiny CNN models (about 47 k parameters): one frame (``TinyCNN``) or the K latest frames (``TinyCNNFusion``).

Both use :class:`neurova.nets.TinyConvNet` as trunk and predict the (valence, arousal) of the
**last** frame of a clip. On the synthetic faces they beat the ResNet-18 models at a fraction of
the cost (see ``docs/leaderboard.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from neurova.metrics import LossKind
from neurova.models.base import SchedulerKind, VARegressionModule
from neurova.models.registry import register_model
from neurova.nets import FrameFusionNet, FusionKind, SingleFrameNet, TinyConvNet

__all__ = ["TinyCNN", "TinyCNNFusion"]


class TinyCNN(VARegressionModule):
    """The tiny CNN on the last frame → (valence, arousal).

    Args:
        in_chans: channels per frame.
        widths: output channels of the trunk's blocks (each halves H and W; inputs need
            ``H, W >= 2 ** len(widths)``).
        bounded: ``tanh`` on the output (predictions in [-1, 1]).
        dropout: dropout before the head.
        loss, loss_weights, lr, backbone_lr, weight_decay, warmup_steps, scheduler, freeze_backbone,
        input_contract: see :class:`~neurova.models.base.VARegressionModule`.

    ``forward``: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (last frame used) → ``(B, 2)``.
    """

    def __init__(
        self,
        in_chans: int = 1,
        widths: Sequence[int] = (16, 32, 48, 64),
        bounded: bool = True,
        dropout: float = 0.0,
        loss: LossKind = "mse+ccc",
        loss_weights: tuple[float, float] = (1.0, 1.0),
        lr: float = 3e-3,
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
        self.net = SingleFrameNet(TinyConvNet(in_chans, widths), bounded, dropout)

    @property
    def frames_used(self) -> int:
        return 1

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 5:
            x = x[:, -1]
        if x.ndim != 4:
            raise ValueError(f"TinyCNN expects (B, C, H, W) or (B, T, C, H, W) input, got shape {tuple(x.shape)}")
        return self.net(x)


class TinyCNNFusion(VARegressionModule):
    """The tiny CNN shared over the K latest frames, fused (:class:`neurova.nets.FrameFusionNet`) → (valence, arousal).

    Args:
        in_chans: channels per frame.
        widths: output channels of the trunk's blocks.
        num_frames: K, frames fused (the last K of each clip; clips must have at least K frames).
        fusion: ``"attention"``, ``"mean"`` (default: cheapest, and as good on the synthetic faces)
            or ``"concat"`` (time order kept).
        bounded, dropout, loss, ...: as :class:`TinyCNN`.

    ``forward``: ``(B, T, C, H, W)`` with T ≥ K (or ``(B, C, H, W)`` when K = 1) → ``(B, 2)``.
    """

    def __init__(
        self,
        in_chans: int = 1,
        widths: Sequence[int] = (16, 32, 48, 64),
        num_frames: int = 4,
        fusion: FusionKind = "mean",
        bounded: bool = True,
        dropout: float = 0.0,
        loss: LossKind = "mse+ccc",
        loss_weights: tuple[float, float] = (1.0, 1.0),
        lr: float = 3e-3,
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
        self.net = FrameFusionNet(TinyConvNet(in_chans, widths), num_frames=num_frames, fusion=fusion,
                                  bounded=bounded, dropout=dropout)

    @property
    def frames_used(self) -> int:
        return self.net.num_frames

    def forward(self, x: Tensor) -> Tensor:
        k = self.net.num_frames
        if x.ndim == 4 and k == 1:
            x = x.unsqueeze(1)
        if x.ndim != 5:
            raise ValueError(f"TinyCNNFusion expects (B, T, C, H, W) input, got shape {tuple(x.shape)}")
        if x.shape[1] < k:
            raise ValueError(f"TinyCNNFusion fuses the last num_frames={k} frames but got clips of {x.shape[1]} "
                             "frame(s); use clips of at least num_frames frames (datamodule clip_length)")
        return self.net(x[:, -k:])


@register_model
def tiny_cnn(**kwargs: Any) -> TinyCNN:
    """Tiny 4-block CNN (47 k parameters) on one frame."""
    return TinyCNN(**kwargs)


@register_model
def tiny_cnn_fusion(**kwargs: Any) -> TinyCNNFusion:
    """Tiny 4-block CNN shared over the 4 latest frames, mean fusion (47 k parameters)."""
    return TinyCNNFusion(**{"num_frames": 4, "fusion": "mean", **kwargs})
