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
    assert list_models("*_fusion") == ["resnet18_fusion", "resnet34_fusion"]
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
