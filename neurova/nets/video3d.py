"""torchvision 18-layer video networks (R(2+1)D, R3D) with a C-channel stem and per-frame outputs.

The body downsamples time by 8 (strides in ``layer2..4``). Its output is pooled over space only,
``(B, 512, T')``, resampled linearly in time back to the T input frames, and mapped to
(valence, arousal) by a per-frame head. Every frame's prediction therefore sees the whole clip:
these networks are not causal (use :class:`~neurova.nets.temporal.TemporalNet` for live use).
"""

from __future__ import annotations

import os
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import video as tv_video

from neurova.errors import CheckpointError
from neurova.nets.backbone import adapt_stem_weight, load_weights_file
from neurova.nets.heads import VAHead

__all__ = ["Video3DNet", "VideoArch"]

VideoArch = Literal["r2plus1d_18", "r3d_18"]
_BUILDERS = {"r2plus1d_18": tv_video.r2plus1d_18, "r3d_18": tv_video.r3d_18}


def _replace_stem(model: nn.Module, in_chans: int) -> None:
    old: nn.Conv3d = model.stem[0]
    if old.in_channels == in_chans:
        return
    model.stem[0] = nn.Conv3d(in_chans, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False)


class Video3DNet(nn.Module):
    """R(2+1)D-18 or R3D-18 mapping ``(B, T, C, H, W)`` clips to ``(B, T, 2)``.

    Sizes with one input channel: 31.3 M parameters (R(2+1)D-18), 33.1 M (R3D-18).

    Args:
        arch: ``"r2plus1d_18"`` or ``"r3d_18"`` (torchvision, built with ``weights=None``).
        in_chans: input channels C.
        pretrained: optional local torchvision state dict (e.g. Kinetics-400 weights you saved); its
            3-channel stem is adapted to C channels (channel sum / repeat, as timm does for 2-D stems)
            and its classifier dropped.
        bounded: ``tanh`` on the output.
        dropout: dropout before the head.
    """

    def __init__(self, arch: VideoArch = "r2plus1d_18", in_chans: int = 1, pretrained: str | os.PathLike[str] | None = None,
                 bounded: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if arch not in _BUILDERS:
            raise ValueError(f"unknown video architecture {arch!r}; expected one of {sorted(_BUILDERS)}")
        model = _BUILDERS[arch](weights=None)
        if pretrained is not None:
            state = load_weights_file(pretrained)
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            if "stem.0.weight" in state:
                state["stem.0.weight"] = adapt_stem_weight(state["stem.0.weight"], in_chans)
            _replace_stem(model, in_chans)
            model.fc = nn.Identity()
            result = model.load_state_dict(state, strict=False)
            if result.missing_keys or result.unexpected_keys:
                raise CheckpointError(f"weights do not fit {arch}: missing keys {result.missing_keys[:10]}, "
                                      f"unexpected keys {result.unexpected_keys[:10]}", path=pretrained)
        _replace_stem(model, in_chans)
        self.trunk = nn.Sequential(model.stem, model.layer1, model.layer2, model.layer3, model.layer4)
        self.trunk.num_features = 512
        self.head = VAHead(512, bounded=bounded, dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5:
            raise ValueError(f"expected (B, T, C, H, W) input, got shape {tuple(x.shape)}")
        t = x.shape[1]
        features = self.trunk(x.transpose(1, 2)).mean(dim=(3, 4))  # (B, 512, T')
        features = F.interpolate(features, size=t, mode="linear", align_corners=False)
        return self.head(features.transpose(1, 2))
