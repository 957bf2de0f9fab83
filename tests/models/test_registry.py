"""The registries: nets by name (neurova.nets), and the timm-style model factory over them (neurova.models)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neurova.models import (
    R3D,
    R2Plus1D,
    ResNet,
    ResNetFusion,
    ResNetGRU,
    ResNetLSTM,
    ResNetTransformer,
    TinyCNN,
    TinyCNNFusion,
    VARegressionTask,
    ViT,
    create_model,
    from_pretrained,
    is_model,
    list_models,
    model_entrypoint,
    register_model,
)
from neurova.models import registry as registry_module
from neurova.nets import SingleFrameNet, create_net, get_net_spec, list_nets, register_net
from neurova.nets import registry as nets_registry

EXPECTED = {
    "resnet18": ResNet, "resnet34": ResNet, "resnet50": ResNet, "resnet18_fusion": ResNetFusion,
    "resnet34_fusion": ResNetFusion, "vit_tiny": ViT, "vit_small": ViT, "resnet18_lstm": ResNetLSTM,
    "resnet18_gru": ResNetGRU, "resnet18_transformer": ResNetTransformer, "r2plus1d_18": R2Plus1D, "r3d_18": R3D,
    "tiny_cnn": TinyCNN, "tiny_cnn_fusion": TinyCNNFusion,
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
    with torch.device("meta"):  # the default (large) backbones, built without allocating
        model = create_model(name)
    assert type(model) is EXPECTED[name] and model.architecture == name
    assert model.net_args == get_net_spec(name).defaults  # the registered defaults, whatever the class's


def test_factory_defaults_and_overrides():
    fn = model_entrypoint("resnet34_fusion")
    model = fn(backbone="test_resnet", num_frames=2, fusion="mean", in_chans=3)
    assert model.hparams["num_frames"] == 2 and model.hparams["fusion"] == "mean" and model.hparams["in_chans"] == 3
    assert model.architecture == "resnet34_fusion" and type(model) is ResNetFusion
    default = create_model("resnet18_fusion", backbone="test_resnet")
    assert default.hparams["num_frames"] == 4 and default.hparams["fusion"] == "attention"
    with pytest.raises(TypeError, match="colour"):
        create_model("tiny_cnn", colour="red")


def test_unknown_model_suggests_close_names():
    with pytest.raises(ValueError, match="did you mean 'resnet18_gru'"):
        create_model("resnet18_gr")
    with pytest.raises(ValueError, match="unknown timm backbone"):
        create_model("resnet18", backbone="no_such_net")


def test_register_net_makes_a_model_with_the_task(monkeypatch, tmp_path):
    """The 10 lines of docs/models.md: a registered net is a model, trained, saved and loaded by name."""
    monkeypatch.setattr(nets_registry, "_NETS", dict(nets_registry._NETS))

    @register_net(frames=1, lr=3e-3, contract={"image_size": 32})
    def my_cnn(in_chans: int = 1, width: int = 8, dropout: float = 0.0) -> nn.Module:
        trunk = nn.Sequential(nn.Conv2d(in_chans, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten())
        trunk.num_features = width
        return SingleFrameNet(trunk, dropout=dropout)

    assert "my_cnn" in list_models("my*") and is_model("my_cnn") and list_nets("my*") == ["my_cnn"]
    assert isinstance(create_net("my_cnn", in_chans=2, width=4), SingleFrameNet)
    assert get_net_spec("my_cnn").default_contract() == {"clip_length": 1, "image_size": 32}
    model = create_model("my_cnn", in_chans=2, width=4, lr=1e-2)
    assert type(model) is VARegressionTask and model.architecture == "my_cnn" and model.hparams["lr"] == 1e-2
    assert model.hparams["net_args"] == {"width": 4, "dropout": 0.0} and model.frames_used == 1
    assert model(torch.rand(3, 2, 2, 16, 16)).shape == (3, 2)
    loaded = from_pretrained(model.save_pretrained(tmp_path / "mine"))
    assert type(loaded) is VARegressionTask and loaded.net_args == model.net_args
    register_net(my_cnn, frames=1)  # re-registering the same factory is harmless

    def other(in_chans: int = 1) -> nn.Module:
        return my_cnn(in_chans)

    with pytest.raises(ValueError, match="already registered"):
        register_net(other, name="my_cnn")
    with pytest.raises(ValueError, match="must take an in_chans"):
        register_net(lambda width=2: nn.Identity(), name="no_chans")
    with pytest.raises(ValueError, match=r"\['width'\] need defaults"):
        register_net(lambda in_chans=1, *, width: nn.Identity(), name="no_default")
    with pytest.raises(ValueError, match="in_chans must be >= 1"):
        create_net("my_cnn", in_chans=0)
    with pytest.raises(ValueError, match=r"legacy_args \['depth'\] are not arguments"):
        register_net(lambda in_chans=1, width=2: nn.Identity(), name="bad_legacy", legacy_args={"depth": 1})
    spec = get_net_spec("resnet18_transformer")  # stored arguments without final_norm predate it
    assert spec.stored_args({"hidden_size": 8}) == {"final_norm": False, "hidden_size": 8}
    assert spec.stored_args({"final_norm": True})["final_norm"] is True
    assert spec.resolve_args({"hidden_size": 8})["final_norm"] is True  # new nets get the default


def test_register_model_keeps_plain_factories(monkeypatch):
    monkeypatch.setattr(registry_module, "_FACTORIES", dict(registry_module._FACTORIES))

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
    other.__name__ = "resnet18"  # a registered net's name
    with pytest.raises(ValueError, match="already registered"):
        register_model(other)


@pytest.mark.parametrize("pretrained", [False, None])
def test_create_model_takes_timm_style_pretrained_false(pretrained):
    model = create_model("resnet18", pretrained=pretrained, backbone="test_resnet")
    assert model.architecture == "resnet18"


def test_create_model_pretrained_loads_a_whole_model_checkpoint(tmp_path, monkeypatch):
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
    from safetensors.torch import save_file

    weights = tmp_path / "trunk.safetensors"
    source = timm.create_model("resnet10t", num_classes=0).state_dict()  # a 3-channel stem
    save_file(source, str(weights))
    model = create_model("resnet18", pretrained=weights, backbone="resnet10t", in_chans=1)
    trunk = model.backbone.state_dict()
    assert torch.allclose(trunk["conv1.0.weight"], source["conv1.0.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(trunk["conv1.1.weight"], source["conv1.1.weight"])


@pytest.mark.parametrize("backbone", ["mobilenetv3_small_100", "ghostnet_100", "efficientnet_b0", "convnext_atto",
                                      "regnetx_002", "resnet10t"])
def test_timm_backbone_families_build_and_run(backbone):
    """Any timm backbone works, also those whose pooled features are wider than num_features (mobilenetv3)."""
    for name, in_chans in (("resnet18", 1), ("resnet18_fusion", 2)):
        model = create_model(name, backbone=backbone, in_chans=in_chans).eval()
        with torch.no_grad():
            out = model(torch.rand(2, model.frames_used, in_chans, 32, 32))
        assert out.shape == (2, 2) and torch.isfinite(out).all()
