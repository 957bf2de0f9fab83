"""The timm-style model registry."""

from __future__ import annotations

import pytest

from neurova.models import (
    R3D,
    R2Plus1D,
    ResNet,
    ResNetFusion,
    ResNetGRU,
    ResNetLSTM,
    ResNetTransformer,
    ViT,
    create_model,
    is_model,
    list_models,
    model_entrypoint,
    register_model,
)
from neurova.models import registry as registry_module

EXPECTED = {
    "resnet18": ResNet, "resnet34": ResNet, "resnet50": ResNet, "resnet18_fusion": ResNetFusion,
    "resnet34_fusion": ResNetFusion, "vit_tiny": ViT, "vit_small": ViT, "resnet18_lstm": ResNetLSTM,
    "resnet18_gru": ResNetGRU, "resnet18_transformer": ResNetTransformer, "r2plus1d_18": R2Plus1D, "r3d_18": R3D,
}


def test_list_models_is_sorted_and_filters():
    names = list_models()
    assert names == sorted(names) and set(EXPECTED) <= set(names)
    assert list_models("resnet*_fusion") == ["resnet18_fusion", "resnet34_fusion"]
    assert "tiny_cnn_fusion" in list_models("*_fusion")
    assert list_models("vit*") == ["vit_small", "vit_tiny"]
    assert list_models("nothing*") == []
    assert is_model("resnet18_gru") and not is_model("resnet19")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_entrypoints_build_the_documented_class(name):
    # entrypoints are checked without building the (large) default backbones: build with a tiny one
    overrides = {"backbone": "test_vit", "img_size": 32} if EXPECTED[name] is ViT else (
        {} if EXPECTED[name] in (R2Plus1D, R3D) else {"backbone": "test_resnet"})
    model = create_model(name, **overrides)
    assert type(model) is EXPECTED[name]
    assert model.architecture == name


def test_factory_defaults_and_overrides():
    fn = model_entrypoint("resnet34_fusion")
    model = fn(backbone="test_resnet", num_frames=2, fusion="mean", in_chans=3)
    assert model.hparams["num_frames"] == 2 and model.hparams["fusion"] == "mean" and model.hparams["in_chans"] == 3
    assert model.architecture == "ResNetFusion"  # only create_model records the registry name
    default = create_model("resnet18_fusion", backbone="test_resnet")
    assert default.hparams["num_frames"] == 4 and default.hparams["fusion"] == "attention"


def test_unknown_model_suggests_close_names():
    with pytest.raises(ValueError, match="did you mean 'resnet18_gru'"):
        create_model("resnet18_gr")
    with pytest.raises(ValueError, match="unknown timm backbone"):
        create_model("resnet18", backbone="no_such_net")


def test_register_model(monkeypatch):
    monkeypatch.setattr(registry_module, "_ENTRYPOINTS", dict(registry_module._ENTRYPOINTS))

    @register_model
    def tiny_resnet(**kwargs):
        return ResNet(**{"backbone": "test_resnet", **kwargs})

    assert "tiny_resnet" in list_models("tiny*")
    assert create_model("tiny_resnet", in_chans=2).hparams["in_chans"] == 2
    register_model(tiny_resnet)  # re-registering the same function is harmless

    def other(**kwargs):
        return ResNet(**kwargs)

    other.__name__ = "tiny_resnet"
    with pytest.raises(ValueError, match="already registered"):
        register_model(other)


@pytest.mark.parametrize("pretrained", [False, None])
def test_create_model_takes_timm_style_pretrained_false(pretrained):
    model = create_model("resnet18", pretrained=pretrained, backbone="test_resnet")
    assert model.architecture == "resnet18"


def test_create_model_pretrained_loads_a_whole_model_checkpoint(tmp_path, monkeypatch):
    import torch

    from neurova.errors import CheckpointError

    saved = create_model("resnet18", backbone="test_resnet", in_chans=2)
    saved.save_pretrained(tmp_path / "models" / "resnet18")
    loaded = create_model("resnet18", pretrained=tmp_path / "models" / "resnet18", in_chans=2)
    for a, b in zip(saved.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    monkeypatch.setenv("NEUROVA_HOME", str(tmp_path))
    assert create_model("resnet18", pretrained=True).hparams["in_chans"] == 2  # $NEUROVA_HOME/models/resnet18
    with pytest.raises(CheckpointError, match="holds a 'resnet18' model, not 'resnet18_fusion'"):
        create_model("resnet18_fusion", pretrained=tmp_path / "models" / "resnet18")
    with pytest.raises(CheckpointError, match=r"in_chans=1 \(checkpoint: 2\)"):
        create_model("resnet18", pretrained=tmp_path / "models" / "resnet18", in_chans=1)
    with pytest.raises(CheckpointError, match="no local checkpoint named 'resnet34'"):
        create_model("resnet34", pretrained=True)


def test_create_model_pretrained_backbone_weights_file(tmp_path):
    import timm
    import torch
    from safetensors.torch import save_file

    weights = tmp_path / "trunk.safetensors"
    source = timm.create_model("resnet10t", num_classes=0).state_dict()  # a 3-channel stem
    save_file(source, str(weights))
    model = create_model("resnet18", pretrained=weights, backbone="resnet10t", in_chans=1)
    trunk = model.backbone.state_dict()
    assert torch.allclose(trunk["conv1.0.weight"], source["conv1.0.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(trunk["conv1.1.weight"], source["conv1.1.weight"])


@pytest.mark.parametrize("backbone", ["mobilenetv3_small_050", "ghostnet_050", "efficientnet_b0", "convnext_atto",
                                      "regnetx_002", "resnet10t"])
def test_timm_backbone_families_build_and_run(backbone):
    """Any timm backbone works, also those whose pooled features are wider than num_features (mobilenetv3)."""
    import torch

    for name in ("resnet18", "resnet18_fusion"):
        model = create_model(name, backbone=backbone, in_chans=2).eval()
        frames = model.hparams.get("num_frames", 1)
        with torch.no_grad():
            out = model(torch.rand(2, frames, 2, 32, 32))
        assert out.shape == (2, 2) and torch.isfinite(out).all()
