"""Tests of neurova.nets.temporal: TemporalNet's shapes, causality (an output at t does not change when frames after
t change), its streaming step on the net itself, and its argument and input checks.

The trunk is a two-block TinyConvNet (8 features per 16 x 16 frame): the temporal model's code paths do not depend
on the trunk's size. The step of the registered models over timm trunks is tested in tests/models/test_task.py.
"""

from __future__ import annotations

import pytest
import torch

from neurova.nets import StreamState, TemporalNet, TinyConvNet

KINDS = ["lstm", "gru", "transformer"]


def make_net(temporal: str, causal: bool = True, **kwargs) -> TemporalNet:
    torch.manual_seed(0)
    return TemporalNet(TinyConvNet(1, (4, 8)), temporal=temporal, hidden_size=16, num_heads=4, causal=causal,
                       **kwargs).eval()


@pytest.mark.parametrize("temporal", KINDS)
@pytest.mark.parametrize("causal", [True, False])
def test_every_frame_gets_a_bounded_prediction(temporal: str, causal: bool) -> None:
    net = make_net(temporal, causal)
    x = torch.rand(3, 5, 1, 16, 16)
    with torch.no_grad():
        out = net(x)
        features = net.forward_features(x)
    assert out.shape == (3, 5, 2) and out.abs().max() < 1
    assert features.shape == (3, 5, 16)
    torch.testing.assert_close(net.forward_temporal(features), out)
    # a bidirectional RNN's head reads both directions
    rnn_width = 16 if causal or temporal == "transformer" else 32
    assert net.head.fc.in_features == rnn_width


@pytest.mark.parametrize("temporal", KINDS)
def test_causal_models_ignore_the_future_and_the_others_do_not(temporal: str) -> None:
    x = torch.randn(1, 5, 1, 16, 16)
    future = x.clone()
    future[:, 3:] += 1.0  # frames 3 and 4 change
    for causal in (True, False):
        net = make_net(temporal, causal)
        with torch.no_grad():
            a, b = net(x), net(future)
        assert not torch.allclose(a[:, 3:], b[:, 3:])
        if causal:
            torch.testing.assert_close(a[:, :3], b[:, :3])
        else:
            assert not torch.allclose(a[:, :3], b[:, :3])


@pytest.mark.parametrize("temporal", ["lstm", "gru"])
def test_a_causal_rnn_steps_through_the_whole_history(temporal: str) -> None:
    net = make_net(temporal, window=2)  # the window is not used: the recurrent state carries everything
    assert net.recurrent_streaming
    x = torch.rand(2, 6, 1, 16, 16)
    state = None
    outs = []
    for t in range(6):
        out, state = net.step(x[:, t], state)
        outs.append(out)
        assert state.features is None and state.hidden is not None
    assert state.frames_seen == 6
    with torch.no_grad():
        torch.testing.assert_close(torch.stack(outs, 1), net(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("temporal", "causal"), [("transformer", True), ("transformer", False), ("gru", False)])
def test_other_models_step_over_a_window_of_features(temporal: str, causal: bool) -> None:
    net = make_net(temporal, causal, window=3)
    assert not net.recurrent_streaming
    x = torch.rand(2, 6, 1, 16, 16)
    state = StreamState()
    for t in range(6):
        out, state = net.step(x[:, t], state)
        assert state.hidden is None and state.features.shape == (2, min(t + 1, 3), 16)
        with torch.no_grad():  # the prediction of the latest frame over the last 3 frames (fewer at the start)
            torch.testing.assert_close(out, net(x[:, max(0, t - 2) : t + 1])[:, -1], atol=1e-5, rtol=1e-4)
    assert state.frames_seen == 6


@pytest.mark.parametrize("final_norm", [True, False])
def test_the_transformer_head_reads_normalised_features_unless_final_norm_is_off(final_norm: bool) -> None:
    """Pre-norm layers leave the residual stream unnormalised: large trunk features reach the tanh head as they are
    (saturating it, as two of three leaderboard seeds did) unless the final LayerNorm rescales each frame's."""
    net = make_net("transformer", final_norm=final_norm)
    with torch.no_grad():
        net.proj.weight.mul_(1000.0)
        encoded, _ = net._encode(net.forward_features(torch.rand(2, 4, 1, 16, 16)))
    spread = encoded.std(dim=-1, correction=0)
    if final_norm:
        torch.testing.assert_close(spread, torch.ones_like(spread), rtol=0.01, atol=0.0)
    else:
        assert spread.min() > 10


def test_bad_arguments_and_inputs_are_refused() -> None:
    trunk = TinyConvNet(1, (4, 8))
    with pytest.raises(ValueError, match="unknown temporal model 'tcn'"):
        TemporalNet(trunk, temporal="tcn")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window must be >= 1"):
        TemporalNet(trunk, window=0)
    with pytest.raises(ValueError, match="hidden_size 18 must be divisible by num_heads 4"):
        TemporalNet(trunk, temporal="transformer", hidden_size=18, num_heads=4)
    with pytest.raises(ValueError, match=r"expected \(B, T, C, H, W\)"):
        make_net("gru")(torch.rand(2, 1, 16, 16))
