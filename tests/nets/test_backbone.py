"""Tests of neurova.nets.backbone: headless timm trunks with C input channels, the width of their features, the stem
adaptation rule and the offline, pickle-free loading of local weights files.

timm's test models (``test_resnet``, ``test_vit``) stand in for full-size backbones: the code paths are the same.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from neurova.errors import CheckpointError
from neurova.nets import adapt_stem_weight, create_backbone, load_weights_file
from neurova.nets.backbone import feature_width
from tests.helpers.pickles import Payload

TINY = "test_resnet"


def test_a_headless_trunk_maps_c_channels_to_its_feature_width() -> None:
    trunk = create_backbone(TINY, in_chans=2).eval()
    with torch.no_grad():
        features = trunk(torch.rand(3, 2, 32, 32))
    assert features.shape == (3, feature_width(trunk)) == (3, trunk.num_features)
    assert trunk.conv1[0].in_channels == 2
    with pytest.raises(ValueError, match="unknown timm backbone 'resnet_nonexistent'"):
        create_backbone("resnet_nonexistent")


def test_feature_width_prefers_a_hidden_head_layer() -> None:
    mobile = create_backbone("mobilenetv3_small_050", in_chans=1).eval()
    assert mobile.head_hidden_size != mobile.num_features  # the pooled features pass a hidden layer
    with torch.no_grad():
        assert mobile(torch.rand(1, 1, 32, 32)).shape == (1, feature_width(mobile))
    trunk = nn.Identity()
    trunk.num_features = 7
    assert feature_width(trunk) == 7
    with pytest.raises(ValueError, match="Linear sets neither head_hidden_size nor num_features"):
        feature_width(nn.Linear(2, 3))


def test_backbone_local_pretrained_weights_are_adapted(tmp_path) -> None:
    source = create_backbone(TINY, 3)
    state = dict(source.state_dict())
    state["fc.weight"] = torch.zeros(10, source.num_features)  # a classifier that must be dropped
    state["fc.bias"] = torch.zeros(10)
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pth")
    torch.save({"state_dict": state}, tmp_path / "wrapped.pt")  # as Lightning and many training scripts save
    for name in ("w.safetensors", "w.pth", "wrapped.pt"):
        one = create_backbone(TINY, 1, tmp_path / name)
        torch.testing.assert_close(one.conv1[0].weight, state["conv1.0.weight"].sum(dim=1, keepdim=True))
        torch.testing.assert_close(one.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    with pytest.raises(CheckpointError, match="not found"):
        create_backbone(TINY, 1, tmp_path / "missing.safetensors")
    save_file(create_backbone("test_vit", 3).state_dict(), str(tmp_path / "vit.safetensors"))
    with pytest.raises(CheckpointError, match="weights do not fit backbone 'test_resnet'"):
        create_backbone(TINY, 1, tmp_path / "vit.safetensors")
    torch.save({"x": Payload(str(tmp_path / "pwned"))}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="cannot read weights safely"):
        create_backbone(TINY, 1, tmp_path / "evil.pth")
    assert not (tmp_path / "pwned").exists()


def test_weights_files_are_read_by_suffix_and_name_the_file(tmp_path) -> None:
    state = {"a": torch.arange(3.0), "b": torch.ones(2, 2)}
    save_file(state, str(tmp_path / "w.safetensors"))
    loaded = load_weights_file(tmp_path / "w.safetensors")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    (tmp_path / "w.npz").write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match=r"unsupported weights suffix '\.npz'") as err:
        load_weights_file(tmp_path / "w.npz")
    assert str(tmp_path / "w.npz") in str(err.value)
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="cannot read weights safely"):
        load_weights_file(tmp_path / "broken.safetensors")


def test_stem_adaptation_follows_timm_rule_in_2d_and_3d() -> None:
    w = torch.randn(8, 3, 7, 7)
    torch.testing.assert_close(adapt_stem_weight(w, 1), w.sum(dim=1, keepdim=True))  # one channel sums them
    # more channels repeat the source ones, rescaled so the activations keep their scale
    torch.testing.assert_close(adapt_stem_weight(w, 2), w[:, :2] * 3 / 2)
    torch.testing.assert_close(adapt_stem_weight(w, 5), torch.cat([w, w[:, :2]], dim=1) * 3 / 5)
    w3 = torch.randn(8, 3, 3, 7, 7)
    torch.testing.assert_close(adapt_stem_weight(w3, 1), w3.sum(dim=1, keepdim=True))
    assert adapt_stem_weight(w3, 2).shape == (8, 2, 3, 7, 7)
    assert adapt_stem_weight(w3, 3) is w3
