"""A tiny registered net for model tests that are not about a network's size.

:func:`tiny_net` is a two-block :class:`~neurova.nets.TinyConvNet` (4 and 8 channels, ~400 parameters) shared over
the latest ``num_frames`` frames with mean fusion: ``(B, T, C, H, W)`` → ``(B, 2)`` for ``H, W >= 4``.
:func:`register_tiny_net` registers it as :data:`TINY_NET` for one test, so ``create_model(TINY_NET)`` builds the
:class:`~neurova.models.VARegressionTask` over it (checkpoints, contracts and the training loop included), and the
registry is restored afterwards.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neurova.nets import FrameFusionNet, TinyConvNet, register_net
from neurova.nets import registry as nets_registry

TINY_NET = "test_tiny_net"
"""The name :func:`register_tiny_net` registers."""

TINY_CONTRACT = {"image_size": 16}
"""The tiny net's default input recipe: 16 x 16 frames."""


def tiny_net(in_chans: int = 1, width: int = 4, num_frames: int = 2, bounded: bool = True,
             dropout: float = 0.0) -> nn.Module:
    """Blocks of ``width`` and ``2 * width`` channels per frame, mean over the latest ``num_frames`` frames."""
    return FrameFusionNet(TinyConvNet(in_chans, (width, 2 * width)), num_frames=num_frames, fusion="mean",
                          bounded=bounded, dropout=dropout)


def register_tiny_net(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register :func:`tiny_net` as :data:`TINY_NET` on a copy of the net registry that ``monkeypatch`` undoes."""
    monkeypatch.setattr(nets_registry, "_NETS", dict(nets_registry._NETS))
    register_net(tiny_net, name=TINY_NET, frames="num_frames", lr=1e-2, contract=TINY_CONTRACT)
    return TINY_NET


def random_batch(batch_size: int = 4, num_frames: int = 2, in_chans: int = 1, size: int = 16,
                 seed: int = 0) -> dict[str, torch.Tensor]:
    """A training batch: ``frames`` ``(B, T, C, size, size)`` in [0, 1) and ``va`` ``(B, T, 2)`` in [-1, 1)."""
    generator = torch.Generator().manual_seed(seed)
    return {"frames": torch.rand(batch_size, num_frames, in_chans, size, size, generator=generator),
            "va": torch.rand(batch_size, num_frames, 2, generator=generator) * 2 - 1}
