"""Tests of neurova.nets.fusion: FrameFusionNet's shapes, its streaming step (equal to forward on each window)
and its input checks."""

from __future__ import annotations

import pytest
import torch

from neurova.nets import AttentionPool, FrameFusionNet, TinyConvNet


@pytest.mark.parametrize("fusion", ["attention", "mean", "concat"])
def test_fusion_step_equals_forward_on_each_window(fusion):
    torch.manual_seed(0)
    net = FrameFusionNet(TinyConvNet(1, (8, 16)), num_frames=3, fusion=fusion).eval()
    x = torch.rand(2, 7, 1, 24, 24)
    state = None
    for i in range(7):
        out, state = net.step(x[:, i], state)
        window = x[:, max(0, i - 2) : i + 1]
        if i < 2:  # before K frames, the frames before the first are empty
            window = torch.cat([torch.zeros(2, 2 - i, 1, 24, 24), window], dim=1)
        torch.testing.assert_close(out, net(window), atol=1e-5, rtol=0)
        assert state.features.shape[:2] == (2, 2)
    assert state.frames_seen == 7
    # several new frames at once, and a whole window without state
    _, state = net.step(x[:, :4])
    out, state = net.step(x[:, 4:6], state)
    torch.testing.assert_close(out, net(x[:, 3:6]), atol=1e-5, rtol=0)
    torch.testing.assert_close(net.step(x[:, 2:7])[0], net(x[:, 4:7]), atol=1e-5, rtol=0)


def test_fusion_step_refuses_bad_input():
    net = FrameFusionNet(TinyConvNet(1, (8,)), num_frames=2).eval()
    _, state = net.step(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match="batch of 3"):
        net.step(torch.rand(3, 1, 16, 16), state)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        net.step(torch.rand(16, 16))


@pytest.mark.parametrize("fusion", ["attention", "mean", "concat"])
def test_forward_maps_k_frames_to_bounded_va(fusion):
    net = FrameFusionNet(TinyConvNet(2, (4, 8)), num_frames=3, fusion=fusion).eval()
    x = torch.rand(5, 3, 2, 16, 16)
    with torch.no_grad():
        out, features = net(x), net.forward_features(x)
    assert out.shape == (5, 2) and out.abs().max() < 1
    assert features.shape == (5, 3, 8)
    torch.testing.assert_close(net.fuse(features), out)
    with pytest.raises(ValueError, match="expected 3 frames to fuse, got 2"):
        net.fuse(features[:, :2])
    with pytest.raises(ValueError, match=r"\(B, K, C, H, W\)"):
        net(x[:, 0])


@pytest.mark.parametrize(("fusion", "order_matters"), [("attention", False), ("mean", False), ("concat", True)])
def test_only_concat_depends_on_the_frame_order(fusion, order_matters):
    net = FrameFusionNet(TinyConvNet(1, (4, 8)), num_frames=3, fusion=fusion, bounded=False).eval()
    x = torch.rand(2, 3, 1, 16, 16)
    with torch.no_grad():
        same = torch.allclose(net(x), net(x.flip(1)), atol=1e-6)
    assert same is not order_matters


def test_attention_pool_weights_sum_to_one_over_the_set():
    pool = AttentionPool(8, hidden=4)
    x = torch.randn(3, 5, 8)
    weights = pool.weights(x)
    assert weights.shape == (3, 5) and (weights >= 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    torch.testing.assert_close(pool(x), (weights[..., None] * x).sum(1))
