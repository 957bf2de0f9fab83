"""A small single-face detector for event images (CenterNet-style heat map + box regression).

Input: ``(B, C, H, W)`` float32 event images in ``[0, 1]`` (by default ``C = 2``: ON and OFF
counts of a time window, letterboxed to a fixed size; see :func:`neurova.faces.event_image`),
with ``H`` and ``W`` multiples of :attr:`EventFaceNet.stride` (8).

Output: ``(B, 5, H / 8, W / 8)`` raw maps. Channel 0 is the heat-map logit of "a face centre lies
in this cell"; channels 1-2 the centre's offset inside the cell (sigmoid, in cells); channels 3-4
``log(width / 8), log(height / 8)`` of the box in input pixels. :meth:`EventFaceNet.decode` turns
them into one box per image (the best cell) and its score.

The receptive field (132 input pixels, from two dilated convolutions at stride 8) covers the
whole head of the largest faces of a 96-pixel-high input, so a cell sees the head and the shoulders
around it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["EventFaceNet"]


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class EventFaceNet(nn.Module):
    """Heat-map face detector, stride 8, about 0.1 M parameters with the default widths.

    A 4x4 stride-4 "patchify" stem (event images are sparse: cheap pixels first), one convolution
    at stride 4, a stride-2 convolution to stride 8, then three convolutions at stride 8 (dilations
    1, 2, 4) and a 1x1 head.

    Args:
        in_chans: input channels (2: ON and OFF counts).
        widths: channels of the stem (stride 4), of the stride-4 convolution and of the stride-8 stage.
    """

    stride = 8

    def __init__(self, in_chans: int = 2, widths: tuple[int, int, int] = (16, 32, 48)) -> None:
        super().__init__()
        if in_chans < 1:
            raise ValueError(f"in_chans must be >= 1, got {in_chans}")
        if len(widths) != 3 or min(widths) < 1:
            raise ValueError(f"widths must be three positive channel counts, got {widths}")
        w1, w2, w3 = (int(w) for w in widths)
        self.in_chans = int(in_chans)
        self.widths = (w1, w2, w3)
        stem = nn.Sequential(nn.Conv2d(in_chans, w1, 4, stride=4, bias=False), nn.BatchNorm2d(w1), nn.ReLU(inplace=True))
        self.features = nn.Sequential(
            stem,
            _conv(w1, w2),
            _conv(w2, w3, stride=2),
            _conv(w3, w3),
            _conv(w3, w3, dilation=2),
            _conv(w3, w3, dilation=4),
        )
        self.head = nn.Conv2d(w3, 5, 1)
        with torch.no_grad():  # start with a low face prior (CenterNet's bias init): few cells hold a centre
            self.head.bias.zero_()
            self.head.bias[0] = -4.0

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` event images → ``(B, 5, H / 8, W / 8)`` raw maps (see the module doc)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"EventFaceNet expects (B, {self.in_chans}, H, W) input, got {tuple(x.shape)}")
        if x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(f"input height and width must be multiples of {self.stride}, got {tuple(x.shape[2:])}")
        return self.head(self.features(x))

    @classmethod
    def decode(cls, maps: Tensor) -> tuple[Tensor, Tensor]:
        """The best box of each image.

        Args:
            maps: ``(B, 5, h, w)`` output of :meth:`forward`.

        Returns:
            ``boxes`` ``(B, 4)`` ``[x0, y0, width, height]`` in input pixels and ``scores`` ``(B,)``
            in ``[0, 1]`` (sigmoid of the best cell's heat-map logit).
        """
        b, _, h, w = maps.shape
        logits = maps[:, 0].reshape(b, -1)
        best = logits.argmax(dim=1)
        scores = torch.sigmoid(logits.gather(1, best[:, None])[:, 0])
        cell = maps.permute(0, 2, 3, 1).reshape(b, h * w, 5)[torch.arange(b), best]
        cy = torch.div(best, w, rounding_mode="floor").to(maps.dtype)
        cx = (best % w).to(maps.dtype)
        centre_x = (cx + torch.sigmoid(cell[:, 1])) * cls.stride
        centre_y = (cy + torch.sigmoid(cell[:, 2])) * cls.stride
        size = torch.exp(cell[:, 3:5].clamp(-6.0, 6.0)) * cls.stride
        boxes = torch.stack([centre_x - size[:, 0] / 2, centre_y - size[:, 1] / 2, size[:, 0], size[:, 1]], dim=1)
        return boxes, scores
