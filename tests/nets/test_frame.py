"""Tests of neurova.nets.frame: SingleFrameNet on a frame or on the last frame of a clip."""

from __future__ import annotations

import pytest
import torch

from neurova.nets import SingleFrameNet, TinyConvNet


def test_a_clip_is_predicted_from_its_last_frame():
    net = SingleFrameNet(TinyConvNet(2, (4, 8))).eval()
    clip = torch.rand(3, 4, 2, 16, 16)
    with torch.no_grad():
        out = net(clip)
        assert out.shape == (3, 2) and out.abs().max() < 1
        torch.testing.assert_close(out, net(clip[:, -1]))
        clip[:, :-1] = 0  # earlier frames do not matter
        torch.testing.assert_close(net(clip), out)


def test_other_shapes_are_refused():
    net = SingleFrameNet(TinyConvNet(1, (4,)))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) or \(B, T, C, H, W\)"):
        net(torch.rand(16, 16))
