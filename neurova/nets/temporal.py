"""Per-frame trunk + temporal model (LSTM, GRU or Transformer) predicting every frame.

Streaming: :meth:`TemporalNet.step` consumes one new frame and a :class:`StreamState`, computes the
trunk only for that frame and reuses the earlier per-frame features (or the recurrent state), so
live inference costs one trunk pass per frame instead of one per frame of the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from neurova.nets.backbone import feature_width
from neurova.nets.heads import VAHead

__all__ = ["StreamState", "TemporalKind", "TemporalNet"]

TemporalKind = Literal["lstm", "gru", "transformer"]


@dataclass
class StreamState:
    """State carried between :meth:`TemporalNet.step` calls.

    Attributes:
        features: projected features of the last ``window`` frames ``(B, W, D)`` (oldest first).
        hidden: recurrent state of a causal LSTM/GRU (then ``features`` is not needed), else ``None``.
        frames_seen: frames consumed so far.
    """

    features: Tensor | None = None
    hidden: Tensor | tuple[Tensor, Tensor] | None = None
    frames_seen: int = 0


def _sinusoidal(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Sinusoidal position encodings ``(length, dim)`` (Vaswani et al. 2017)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    enc = torch.zeros(length, dim, device=device)
    enc[:, 0::2] = torch.sin(pos * freq)
    enc[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return enc.to(dtype)


class TemporalNet(nn.Module):
    """Per-frame 2-D trunk → temporal model → (valence, arousal) per frame.

    Args:
        trunk: maps ``(N, C, H, W)`` to ``(N, F)``; F is :func:`~neurova.nets.backbone.feature_width`.
        temporal: ``"lstm"``, ``"gru"`` or ``"transformer"``.
        hidden_size: D, width of the temporal model (features are projected from F to D).
        num_layers: recurrent / transformer layers.
        causal: the prediction of frame t uses frames ≤ t only (unidirectional RNN, causal attention
            mask); required for exact streaming. Non-causal RNNs are bidirectional.
        num_heads: attention heads (transformer).
        window: frames kept by :meth:`step` for the transformer and non-causal RNNs.
        bounded: ``tanh`` on the output.
        dropout: dropout in the temporal model and before the head.
        final_norm: transformer only: a LayerNorm after the last (pre-norm) layer, as pre-norm stacks end
            (ViT, GPT-2). Without it the unnormalised residual stream feeds the bounded head, which can
            saturate its ``tanh`` and stop learning. ``False`` is the net of checkpoints saved before it existed.

    Shapes: ``(B, T, C, H, W)`` → ``(B, T, 2)``.
    """

    def __init__(self, trunk: nn.Module, temporal: TemporalKind = "gru", hidden_size: int = 256, num_layers: int = 1,
                 causal: bool = True, num_heads: int = 4, window: int = 16, bounded: bool = True,
                 dropout: float = 0.0, final_norm: bool = True) -> None:
        super().__init__()
        if temporal not in ("lstm", "gru", "transformer"):
            raise ValueError(f"unknown temporal model {temporal!r}; expected 'lstm', 'gru' or 'transformer'")
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.trunk = trunk
        self.temporal = temporal
        self.causal = causal
        self.window = window
        self.proj = nn.Linear(feature_width(trunk), hidden_size)
        out_features = hidden_size
        if temporal == "transformer":
            if hidden_size % num_heads:
                raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
            layer = nn.TransformerEncoderLayer(hidden_size, num_heads, dim_feedforward=2 * hidden_size,
                                               dropout=dropout, batch_first=True, norm_first=True)
            norm = nn.LayerNorm(hidden_size) if final_norm else None
            self.encoder: nn.Module = nn.TransformerEncoder(layer, num_layers, norm=norm, enable_nested_tensor=False)
        else:
            rnn = nn.LSTM if temporal == "lstm" else nn.GRU
            self.encoder = rnn(hidden_size, hidden_size, num_layers, batch_first=True, bidirectional=not causal,
                               dropout=dropout if num_layers > 1 else 0.0)
            out_features = hidden_size * (1 if causal else 2)
        self.head = VAHead(out_features, bounded=bounded, dropout=dropout)

    def forward_features(self, x: Tensor) -> Tensor:
        """Projected per-frame features: ``(B, T, C, H, W)`` → ``(B, T, D)``; frames are independent."""
        b, t = x.shape[:2]
        return self.proj(self.trunk(x.flatten(0, 1))).reshape(b, t, -1)

    def _encode(self, features: Tensor, hidden: Tensor | tuple[Tensor, Tensor] | None = None,
                ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor] | None]:
        if self.temporal == "transformer":
            t = features.shape[1]
            h = features + _sinusoidal(t, features.shape[-1], features.device, features.dtype)
            mask = nn.Transformer.generate_square_subsequent_mask(t, device=features.device) if self.causal else None
            return self.encoder(h, mask=mask, is_causal=self.causal), None
        return self.encoder(features, hidden)

    def forward_temporal(self, features: Tensor) -> Tensor:
        """``(B, T, D)`` features → ``(B, T, 2)`` predictions."""
        return self.head(self._encode(features)[0])

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5:
            raise ValueError(f"expected (B, T, C, H, W) input, got shape {tuple(x.shape)}")
        return self.forward_temporal(self.forward_features(x))

    @property
    def recurrent_streaming(self) -> bool:
        """True when :meth:`step` carries the RNN state (O(1) per frame, unbounded history)."""
        return self.temporal != "transformer" and self.causal

    @torch.no_grad()
    def step(self, frame: Tensor, state: StreamState | None = None) -> tuple[Tensor, StreamState]:
        """Consume one new frame ``(B, C, H, W)``; return its prediction ``(B, 2)`` and the new state.

        For a causal LSTM/GRU the recurrent state is carried, so the result equals
        ``forward(all frames so far)[:, -1]``. Otherwise the features of the last ``window`` frames
        are kept and only the temporal model is re-run: the result equals
        ``forward(last window frames)[:, -1]``, with the trunk run once per frame.
        """
        state = state or StreamState()
        feat = self.forward_features(frame.unsqueeze(1))
        if self.recurrent_streaming:
            out, hidden = self._encode(feat, state.hidden)
            return self.head(out[:, -1]), StreamState(None, hidden, state.frames_seen + 1)
        feats = feat if state.features is None else torch.cat([state.features, feat], dim=1)[:, -self.window:]
        out, _ = self._encode(feats)
        return self.head(out[:, -1]), StreamState(feats, None, state.frames_seen + 1)
