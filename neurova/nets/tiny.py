"""A tiny convolutional trunk (about 47 k parameters): the small-network baseline of the leaderboard.

Four blocks of ``conv 3x3 → BatchNorm → max-pool 2x2 → ReLU`` followed by global average pooling: the textbook
``ReLU → max-pool`` to the last bit (a max of ReLUs is the ReLU of the max, gradients included), with the ReLU on a
quarter of the elements.
It works on any ``S x S`` input with ``S >= 16`` and plugs into :class:`neurova.nets.SingleFrameNet`
and :class:`neurova.nets.FrameFusionNet` like a timm trunk (it sets ``num_features``).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

__all__ = ["TinyConvNet"]


class TinyConvNet(nn.Module):
    """``(B, C, H, W)`` → pooled features ``(B, F)``, ``F = widths[-1]``.

    Args:
        in_chans: input channels C.
        widths: output channels of each block; the default ``(16, 32, 48, 64)`` gives 46.5 k parameters
            for one input channel.

    Each block halves H and W, so inputs need ``H, W >= 2 ** len(widths)`` pixels.
    """

    prefers_channels_last = True
    """It runs faster with channels-last weights at every batch size: its narrow convolutions then skip oneDNN's
    layout reorders (inference 1.8-2.4x on batches of 4-128 frames of 64x64, 1-2 threads; float32 training steps
    1.5-1.8x; docs/benchmarks.md). :func:`neurova.predict` reads it, and so does a fit on the CPU
    (:meth:`neurova.models.VARegressionTask.setup`)."""

    def __init__(self, in_chans: int = 1, widths: Sequence[int] = (16, 32, 48, 64)) -> None:
        super().__init__()
        if in_chans < 1:
            raise ValueError(f"in_chans must be >= 1, got {in_chans}")
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"widths must be a non-empty sequence of positive ints, got {tuple(widths)}")
        blocks: list[nn.Module] = []
        channels = in_chans
        for width in widths:
            blocks += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.MaxPool2d(2), nn.ReLU(inplace=True)]
            channels = width
        self.features = nn.Sequential(*blocks)
        self.in_chans = in_chans
        self.widths = tuple(int(w) for w in widths)
        self.num_features = self.widths[-1]
        self.min_size = 2 ** len(self.widths)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"TinyConvNet expects (B, {self.in_chans}, H, W) input, got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"TinyConvNet with {len(self.widths)} blocks needs H, W >= {self.min_size} pixels, "
                             f"got {tuple(x.shape[-2:])}")
        return self.features(x).mean(dim=(2, 3))  # global average pooling (deterministic on GPUs too)
