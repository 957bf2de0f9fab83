"""Frame fusion: a shared 2-D trunk over the K most recent frames, fused into one prediction."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from neurova.nets.backbone import feature_width
from neurova.nets.heads import VAHead

__all__ = ["AttentionPool", "FrameFusionNet", "FusionKind"]

FusionKind = Literal["attention", "mean", "concat"]


class AttentionPool(nn.Module):
    """Gated attention pooling over a set (Ilse et al. 2018): ``(B, K, F)`` → ``(B, F)``.

    Each element gets a score ``w·tanh(V f)``; the output is the softmax-weighted sum.
    """

    def __init__(self, in_features: int, hidden: int = 128) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def weights(self, x: Tensor) -> Tensor:
        """Attention weights ``(B, K)`` summing to 1 over K."""
        return torch.softmax(self.score(x).squeeze(-1), dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return (self.weights(x).unsqueeze(-1) * x).sum(dim=1)


class FrameFusionNet(nn.Module):
    """Shared trunk over K frames → fusion → (valence, arousal) of the latest frame.

    Args:
        trunk: maps ``(N, C, H, W)`` to ``(N, F)``; F is :func:`~neurova.nets.backbone.feature_width`.
        num_frames: K, frames fused (the last K of the input clip).
        fusion: ``"attention"`` (gated attention pooling, default), ``"mean"`` or ``"concat"``
            (features of the K frames concatenated in time order, so order matters).
        bounded: ``tanh`` on the output.
        dropout: dropout before the head.

    Shapes: ``(B, K, C, H, W)`` → ``(B, 2)``.
    """

    def __init__(self, trunk: nn.Module, num_frames: int = 4, fusion: FusionKind = "attention",
                 bounded: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        if fusion not in ("attention", "mean", "concat"):
            raise ValueError(f"unknown fusion {fusion!r}; expected 'attention', 'mean' or 'concat'")
        self.trunk = trunk
        self.num_frames = num_frames
        self.fusion = fusion
        features = feature_width(trunk)
        self.pool = AttentionPool(features) if fusion == "attention" else None
        self.head = VAHead(features * num_frames if fusion == "concat" else features, bounded=bounded, dropout=dropout)

    def forward_features(self, x: Tensor) -> Tensor:
        """Per-frame trunk features: ``(B, K, C, H, W)`` → ``(B, K, F)``."""
        b, k = x.shape[:2]
        return self.trunk(x.flatten(0, 1)).reshape(b, k, -1)

    def fuse(self, features: Tensor) -> Tensor:
        """``(B, K, F)`` → ``(B, 2)``."""
        if features.shape[1] != self.num_frames:
            raise ValueError(f"expected {self.num_frames} frames to fuse, got {features.shape[1]}")
        if self.fusion == "attention":
            fused = self.pool(features)
        elif self.fusion == "mean":
            fused = features.mean(dim=1)
        else:
            fused = features.flatten(1)
        return self.head(fused)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5:
            raise ValueError(f"expected (B, K, C, H, W) input, got shape {tuple(x.shape)}")
        return self.fuse(self.forward_features(x))
