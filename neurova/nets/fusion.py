"""Frame fusion: a shared 2-D trunk over the K most recent frames, fused into one prediction.

Streaming: :meth:`FrameFusionNet.step` consumes the newest frame and a :class:`FusionState` holding the trunk
features of the K-1 frames before it, so consecutive windows that share K-1 frames cost one trunk pass each
instead of K (the pattern of :meth:`neurova.nets.TemporalNet.step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from neurova.nets.backbone import feature_width
from neurova.nets.heads import VAHead

__all__ = ["AttentionPool", "FrameFusionNet", "FusionKind", "FusionState"]

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


@dataclass
class FusionState:
    """State carried between :meth:`FrameFusionNet.step` calls.

    Attributes:
        features: trunk features ``(B, K-1, F)`` of the K-1 frames before the next one, oldest first.
        frames_seen: frames consumed so far.
    """

    features: Tensor
    frames_seen: int = 0


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

    @property
    def stream_window(self) -> int:
        """Frames :meth:`step`'s output depends on: K, the newest frame and the K-1 before it."""
        return self.num_frames

    @torch.no_grad()
    def step(self, frame: Tensor, state: FusionState | None = None) -> tuple[Tensor, FusionState]:
        """Consume the newest frame(s); return the prediction ``(B, 2)`` of the K-frame window ending there.

        Only the new frames go through the trunk; the features of the K-1 frames before them come from
        ``state``. The result equals ``forward`` on the window of the last K frames consumed.

        Args:
            frame: ``(B, C, H, W)``, one new frame, or ``(B, M, C, H, W)``, M new frames oldest first (with
                M >= K only the last K are used and ``state`` is not needed).
            state: what the previous call returned; ``None`` starts a stream whose frames before the first
                are empty (all zero, the frame of a window without events): the result then equals
                ``forward`` on ``[0, ..., 0, frames]``.

        Returns:
            ``((B, 2) prediction, the state for the next call)``.

        Raises:
            ValueError: ``frame`` is not 4- or 5-dimensional, or ``state`` holds another batch size or
                feature width.
        """
        if frame.ndim not in (4, 5) or (frame.ndim == 5 and frame.shape[1] == 0):
            raise ValueError(f"expected (B, C, H, W) or (B, M, C, H, W) frames, got shape {tuple(frame.shape)}")
        frames = (frame.unsqueeze(1) if frame.ndim == 4 else frame)[:, -self.num_frames :]
        b, m = frames.shape[:2]
        features = self.forward_features(frames)
        missing = self.num_frames - m
        if missing > 0 and state is None:
            empty = self.trunk(torch.zeros_like(frames[:1, 0]))  # (1, F): the features of an empty frame
            past = empty[:, None].expand(b, missing, -1)
        elif missing > 0:
            assert state is not None
            if state.features.shape[0] != b or state.features.shape[2] != features.shape[2]:
                raise ValueError(f"the state holds features {tuple(state.features.shape)}, which do not fit a "
                                 f"batch of {b} frames with {features.shape[2]} features")
            past = state.features[:, -missing:]
        else:
            past = features[:, :0]
        window = torch.cat([past, features], dim=1)
        seen = (0 if state is None else state.frames_seen) + (frame.shape[1] if frame.ndim == 5 else 1)
        return self.fuse(window), FusionState(window[:, 1:], seen)
