"""Video-based models: predict (valence, arousal) for every frame of a clip ``(B, T, C, H, W)`` → ``(B, T, 2)``.

``ResNetLSTM``, ``ResNetGRU`` and ``ResNetTransformer`` run a timm ResNet on each frame and a
temporal model over the per-frame features (causal by default, for live use: see :meth:`step`);
``R2Plus1D`` and ``R3D`` are torchvision's 18-layer video CNNs with a C-channel stem.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from neurova.metrics import LossKind
from neurova.models.base import SchedulerKind, VARegressionModule
from neurova.models.registry import register_model
from neurova.nets import StreamState, TemporalKind, TemporalNet, Video3DNet, create_backbone

__all__ = ["R3D", "R2Plus1D", "ResNetGRU", "ResNetLSTM", "ResNetTransformer"]


def _clip(x: Tensor, name: str) -> Tensor:
    if x.ndim != 5:
        raise ValueError(f"{name} expects (B, T, C, H, W) input, got shape {tuple(x.shape)}")
    return x


class _ResNetTemporal(VARegressionModule):
    """Shared body of the ResNet + temporal-model classes (they differ by the temporal model only)."""

    predicts_sequence = True
    net: TemporalNet

    def _build(self, temporal: TemporalKind, backbone: str, pretrained: str | None, hidden_size: int,
               num_layers: int, causal: bool, num_heads: int, window: int, bounded: bool, dropout: float) -> None:
        trunk = create_backbone(backbone, self.hparams["in_chans"], pretrained)
        self.net = TemporalNet(trunk, temporal=temporal, hidden_size=hidden_size, num_layers=num_layers,
                               causal=causal, num_heads=num_heads, window=window, bounded=bounded, dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(_clip(x, type(self).__name__))

    def step(self, frame: Tensor, state: StreamState | None = None) -> tuple[Tensor, StreamState]:
        """Streaming inference: one new frame ``(B, C, H, W)`` → its ``(B, 2)`` prediction and the new state.

        The backbone runs on the new frame only; earlier per-frame features (or the recurrent state)
        are reused. See :meth:`neurova.nets.TemporalNet.step`.
        """
        return self.net.step(frame, state)


_TEMPORAL_DOC = """
    Args:
        in_chans: channels per frame.
        backbone: timm model name of the per-frame trunk (``"resnet18"``, ...).
        pretrained: local weights file for the backbone (3-channel stems are adapted); never downloaded.
        hidden_size: width D of the temporal model (trunk features are projected to D).
        num_layers: stacked temporal layers.
        causal: frame t sees frames ≤ t only (needed for exact streaming with :meth:`step`);
            when False, recurrent models are bidirectional and attention is unmasked.
        window: frames of features kept by :meth:`step` when it cannot carry a recurrent state.
        bounded: ``tanh`` on the output.
        dropout: dropout in the temporal model and before the head.
        loss, loss_weights, lr, backbone_lr, weight_decay, warmup_steps, scheduler, freeze_backbone,
        input_contract: see :class:`~neurova.models.base.VARegressionModule`.
"""


class ResNetLSTM(_ResNetTemporal):
    __doc__ = "Per-frame timm ResNet → LSTM → (valence, arousal) per frame." + _TEMPORAL_DOC

    def __init__(
        self,
        in_chans: int = 1,
        backbone: str = "resnet18",
        pretrained: str | None = None,
        hidden_size: int = 256,
        num_layers: int = 1,
        causal: bool = True,
        window: int = 16,
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
        self._build("lstm", backbone, pretrained, hidden_size, num_layers, causal, 1, window, bounded, dropout)


class ResNetGRU(_ResNetTemporal):
    __doc__ = "Per-frame timm ResNet → GRU → (valence, arousal) per frame." + _TEMPORAL_DOC

    def __init__(
        self,
        in_chans: int = 1,
        backbone: str = "resnet18",
        pretrained: str | None = None,
        hidden_size: int = 256,
        num_layers: int = 1,
        causal: bool = True,
        window: int = 16,
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
        self._build("gru", backbone, pretrained, hidden_size, num_layers, causal, 1, window, bounded, dropout)


class ResNetTransformer(_ResNetTemporal):
    __doc__ = ("Per-frame timm ResNet → Transformer encoder (sinusoidal positions) → (valence, arousal) per frame."
               + _TEMPORAL_DOC + "        num_heads: attention heads (``hidden_size`` must be divisible by it).\n")

    def __init__(
        self,
        in_chans: int = 1,
        backbone: str = "resnet18",
        pretrained: str | None = None,
        hidden_size: int = 256,
        num_layers: int = 2,
        num_heads: int = 4,
        causal: bool = True,
        window: int = 16,
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
        self._build("transformer", backbone, pretrained, hidden_size, num_layers, causal, num_heads, window, bounded,
                    dropout)


class _Video3D(VARegressionModule):
    """Shared body of the torchvision 3-D CNN classes."""

    predicts_sequence = True
    net: Video3DNet

    def forward(self, x: Tensor) -> Tensor:
        return self.net(_clip(x, type(self).__name__))


_VIDEO3D_DOC = """
    The body downsamples time by 8; its spatially pooled output is resampled linearly to the T input
    frames before a per-frame head, so every prediction sees the whole clip (not causal).

    Args:
        in_chans: channels per frame (the stem convolution takes C channels).
        pretrained: local torchvision state dict (e.g. Kinetics-400 weights); stem adapted to C channels.
        bounded: ``tanh`` on the output.
        dropout: dropout before the head.
        loss, loss_weights, lr, backbone_lr, weight_decay, warmup_steps, scheduler, freeze_backbone,
        input_contract: see :class:`~neurova.models.base.VARegressionModule`.
"""


class R2Plus1D(_Video3D):
    __doc__ = "torchvision R(2+1)D-18 → (valence, arousal) per frame." + _VIDEO3D_DOC

    def __init__(
        self,
        in_chans: int = 1,
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
        self.net = Video3DNet("r2plus1d_18", in_chans, pretrained, bounded=bounded, dropout=dropout)


class R3D(_Video3D):
    __doc__ = "torchvision R3D-18 → (valence, arousal) per frame." + _VIDEO3D_DOC

    def __init__(
        self,
        in_chans: int = 1,
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
        self.net = Video3DNet("r3d_18", in_chans, pretrained, bounded=bounded, dropout=dropout)


@register_model
def resnet18_lstm(**kwargs: Any) -> ResNetLSTM:
    """ResNet-18 per frame → causal LSTM."""
    return ResNetLSTM(**{"backbone": "resnet18", **kwargs})


@register_model
def resnet18_gru(**kwargs: Any) -> ResNetGRU:
    """ResNet-18 per frame → causal GRU."""
    return ResNetGRU(**{"backbone": "resnet18", **kwargs})


@register_model
def resnet18_transformer(**kwargs: Any) -> ResNetTransformer:
    """ResNet-18 per frame → 2-layer causal Transformer encoder."""
    return ResNetTransformer(**{"backbone": "resnet18", **kwargs})


@register_model
def r2plus1d_18(**kwargs: Any) -> R2Plus1D:
    """torchvision R(2+1)D-18 with a C-channel stem."""
    return R2Plus1D(**kwargs)


@register_model
def r3d_18(**kwargs: Any) -> R3D:
    """torchvision R3D-18 with a C-channel stem."""
    return R3D(**kwargs)
