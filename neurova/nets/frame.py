"""Single-frame network: a 2-D trunk and a (valence, arousal) head."""

from __future__ import annotations

from torch import Tensor, nn

from neurova.nets.backbone import feature_width
from neurova.nets.heads import VAHead

__all__ = ["SingleFrameNet"]


class SingleFrameNet(nn.Module):
    """``trunk`` → :class:`VAHead`: ``(B, C, H, W)`` or a clip ``(B, T, C, H, W)`` (its last frame) → ``(B, 2)``.

    Args:
        trunk: maps ``(B, C, H, W)`` to ``(B, F)``; F is :func:`~neurova.nets.backbone.feature_width`.
        bounded: ``tanh`` on the output.
        dropout: dropout before the head.
    """

    def __init__(self, trunk: nn.Module, bounded: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = VAHead(feature_width(trunk), bounded=bounded, dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 5:
            x = x[:, -1]
        if x.ndim != 4:
            raise ValueError(f"expected (B, C, H, W) or (B, T, C, H, W) input, got shape {tuple(x.shape)}")
        return self.head(self.trunk(x))
