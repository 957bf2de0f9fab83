"""Tests of neurova.nets.video3d: Video3DNet's per-frame outputs (whatever T), that it is not causal (as its docstring
says: every prediction sees the whole clip), its parameter counts, its C-channel stem, local torchvision weights and
its checks.

A full-size 3-D network takes ~0.7 s to build: one R(2+1)D-18 is shared by the module (its weights stand in for
torchvision's), the parameter counts are read on the meta device (no memory, no initialisation), and only the
weights test builds two more.
"""

from __future__ import annotations

import pytest
import torch

from neurova.errors import CheckpointError
from neurova.nets import Video3DNet


@pytest.fixture(scope="module")
def r2plus1d() -> Video3DNet:
    torch.manual_seed(0)
    return Video3DNet("r2plus1d_18", in_chans=2).eval()


@pytest.mark.parametrize("t", [1, 3, 8])
def test_every_frame_gets_a_bounded_prediction_whatever_the_clip_length(r2plus1d: Video3DNet, t: int) -> None:
    with torch.no_grad():
        out = r2plus1d(torch.rand(2, t, 2, 16, 16))  # T = 3 is no multiple of the body's temporal stride 8
    assert out.shape == (2, t, 2) and out.abs().max() < 1


def test_every_prediction_sees_the_whole_clip(r2plus1d: Video3DNet) -> None:
    x = torch.rand(1, 8, 2, 16, 16)
    later = x.clone()
    later[:, -1] = 1.0  # only the last frame changes
    with torch.no_grad():
        a, b = r2plus1d(x), r2plus1d(later)
    assert not torch.allclose(a[:, 0], b[:, 0])  # the first frame's prediction moves too: not causal


def test_bad_inputs_and_arguments_are_refused(r2plus1d: Video3DNet) -> None:
    with pytest.raises(ValueError, match=r"expected \(B, T, C, H, W\)"):
        r2plus1d(torch.rand(2, 2, 16, 16))
    with pytest.raises(ValueError, match=r"unknown video architecture 'r2plus1d_50'.*\['r2plus1d_18', 'r3d_18'\]"):
        Video3DNet("r2plus1d_50")  # type: ignore[arg-type]


@pytest.mark.parametrize(("arch", "params"), [("r2plus1d_18", 31_296_741), ("r3d_18", 33_148_482)])
def test_parameter_counts_and_the_c_channel_stem(arch: str, params: int) -> None:
    with torch.device("meta"):
        one, three = Video3DNet(arch, in_chans=1), Video3DNet(arch, in_chans=3)
    assert sum(p.numel() for p in one.parameters()) == params
    assert f"{params / 1e6:.1f} M" in Video3DNet.__doc__  # the documented size
    stem = one.trunk[0][0]
    assert stem.in_channels == 1 and three.trunk[0][0].in_channels == 3
    # only the stem depends on C: the torchvision network with its 3-channel stem and without its classifier
    extra = stem.weight[0, 0].numel() * stem.out_channels * 2
    assert sum(p.numel() for p in three.parameters()) == params + extra
    assert three.trunk.num_features == 512 and three.head.fc.in_features == 512


def test_local_torchvision_weights_adapt_the_stem_and_drop_the_classifier(r2plus1d: Video3DNet, tmp_path) -> None:
    # the module's net in torchvision's layout (stem, layer1..4), with a Kinetics-400 classifier to be dropped
    names = ["stem", "layer1", "layer2", "layer3", "layer4"]
    state = {f"{names[int(k.split('.')[1])]}.{k.split('.', 2)[2]}": v
             for k, v in r2plus1d.state_dict().items() if k.startswith("trunk.")}
    state |= {"fc.weight": torch.zeros(400, 512), "fc.bias": torch.zeros(400)}
    torch.save(state, tmp_path / "r2plus1d.pth")
    net = Video3DNet("r2plus1d_18", in_chans=1, pretrained=tmp_path / "r2plus1d.pth")
    torch.testing.assert_close(net.trunk[0][0].weight, state["stem.0.weight"].sum(dim=1, keepdim=True))
    torch.testing.assert_close(net.trunk[4][1].conv2[0][3].weight, state["layer4.1.conv2.0.3.weight"])
    torch.save({"stem.0.weight": state["stem.0.weight"]}, tmp_path / "stem_only.pth")
    with pytest.raises(CheckpointError, match=r"weights do not fit r2plus1d_18: missing keys \['stem.1.weight'"):
        Video3DNet("r2plus1d_18", in_chans=1, pretrained=tmp_path / "stem_only.pth")
