"""save_pretrained / from_pretrained: round trips, Lightning .ckpt, named checkpoints, and every failure mode."""

from __future__ import annotations

import hashlib
import json

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader

from neurova.contract import InputContract
from neurova.errors import CheckpointError, InputContractError
from neurova.models import (
    R3D,
    KnownCheckpoint,
    ResNet,
    ResNetFusion,
    ResNetGRU,
    ResNetTransformer,
    VARegressionModule,
    VARegressionTask,
    ViT,
    create_model,
    from_pretrained,
)
from neurova.models import hub as hub_module
from neurova.nets import create_backbone
from tests.helpers.pickles import Payload

TINY = "test_resnet"
CONTRACT = InputContract(channels=1, clip_length=4, image_size=32)


def _outputs(model: VARegressionModule, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)


@pytest.mark.parametrize("build", [
    lambda: create_model("resnet18_fusion", backbone=TINY, fusion="concat", input_contract=CONTRACT.to_dict()),
    lambda: ViT(backbone="test_vit", img_size=32),
    lambda: ResNetGRU(backbone=TINY, hidden_size=16, causal=False),
    lambda: ResNetTransformer(backbone=TINY, hidden_size=16),
    lambda: R3D(in_chans=1),
], ids=["fusion", "vit", "gru", "transformer", "r3d"])
def test_round_trip_reproduces_outputs_exactly(tmp_path, build):
    torch.manual_seed(0)
    model = build()
    x = torch.randn(2, 4, 1, 32, 32)
    expected = _outputs(model, x)
    folder = model.save_pretrained(tmp_path / "saved", metrics={"val/ccc_mean": torch.tensor(0.5)},
                                   data_description="synthetic faces")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = type(model).from_pretrained(folder)
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.architecture == model.architecture
    assert torch.equal(_outputs(loaded, x), expected)
    generic = from_pretrained(folder)
    assert type(generic) is type(model) and torch.equal(_outputs(generic, x), expected)


def test_config_and_model_card(tmp_path):
    model = create_model("resnet18_fusion", backbone=TINY, input_contract=CONTRACT.to_dict())
    model.save_pretrained(tmp_path / "m", metrics={"val/ccc_mean": 0.42, "bad": float("nan")},
                          data_description="AFEW-VA, simulated events")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["architecture"] == "resnet18_fusion"
    assert config["class"] == "neurova.models.frame.ResNetFusion"
    assert config["init_args"]["backbone"] == TINY and config["init_args"]["num_frames"] == 4
    assert config["net"] == {"name": "resnet18_fusion", "args": {"backbone": TINY, "num_frames": 4,
                                                                 "fusion": "attention", "pretrained": None,
                                                                 "bounded": True, "dropout": 0.0}}
    assert config["input_contract"] == CONTRACT.to_dict()
    assert config["metrics"] == {"val/ccc_mean": 0.42, "bad": None}
    assert config["neurova_version"]
    card = (tmp_path / "m" / "README.md").read_text()
    assert "resnet18_fusion" in card and "AFEW-VA" in card and "0.4200" in card and "from_pretrained" in card
    assert "`bin_us` | `5000`" in card


def test_save_replaces_its_own_files_keeps_the_others_and_clears_backbone_file(tmp_path):
    weights = tmp_path / "backbone.safetensors"
    save_file(create_backbone(TINY, 1).state_dict(), str(weights))
    model = ResNet(backbone=TINY, pretrained=str(weights))
    model.save_pretrained(tmp_path / "m")
    first = json.loads((tmp_path / "m" / "config.json").read_text())["save_id"]
    (tmp_path / "m" / "notes.txt").write_text("mine")
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # a changed model: the save must replace the files
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "notes.txt").read_text() == "mine"  # never deleted: neurova did not write it
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["save_id"] != first
    assert config["init_args"]["pretrained"] is None  # loading never needs the backbone file again
    assert config["net"]["args"]["pretrained"] is None
    weights.unlink()
    ResNet.from_pretrained(tmp_path / "m")


def test_architecture_mismatch(tmp_path):
    ResNetFusion(backbone=TINY).save_pretrained(tmp_path / "fusion")
    with pytest.raises(CheckpointError, match=r"architecture mismatch.*ResNetFusion.*ResNet") as err:
        ResNet.from_pretrained(tmp_path / "fusion")
    assert str(tmp_path / "fusion") in str(err.value)


def test_missing_and_corrupt_files(tmp_path):
    folder = ResNet(backbone=TINY).save_pretrained(tmp_path / "m")
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"missing model\.safetensors"):
        from_pretrained(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"missing config\.json"):
        from_pretrained(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        from_pretrained(folder)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        from_pretrained(tmp_path / "nowhere" / "model.ckpt")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match=r"Lightning \.ckpt"):
        from_pretrained(tmp_path / "weights.bin")


def test_shape_and_key_mismatches_are_listed(tmp_path):
    folder = ResNetGRU(backbone=TINY, hidden_size=16).save_pretrained(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["init_args"]["hidden_size"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"shape mismatch.*net\.proj\.weight: checkpoint \(16, 96\) vs model \(8, 96\)"):
        ResNetGRU.from_pretrained(folder)
    config["init_args"]["hidden_size"] = 16
    config["init_args"]["colour"] = "red"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"\['colour'\] are not accepted by ResNetGRU"):
        ResNetGRU.from_pretrained(folder)
    del config["init_args"]["colour"]
    (folder / "config.json").write_text(json.dumps(config))
    state = load_file(str(folder / "model.safetensors"))
    state["extra.weight"] = torch.zeros(1)
    del state["net.head.fc.bias"]
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing keys \(1\): \['net.head.fc.bias'\].*unexpected keys \(1\): "
                                              r"\['extra.weight'\]"):
        ResNetGRU.from_pretrained(folder)
    loose = ResNetGRU.from_pretrained(folder, strict=False)
    assert isinstance(loose, ResNetGRU)


def test_input_contract_checked_on_load(tmp_path):
    model = ResNetFusion(backbone=TINY, input_contract=CONTRACT.to_dict())
    folder = model.save_pretrained(tmp_path / "m")
    loaded = from_pretrained(folder, input_contract=CONTRACT)
    assert loaded.input_contract == CONTRACT
    two_channel = InputContract(channels=2, polarity="split", clip_length=4, image_size=32)
    with pytest.raises(InputContractError, match="takes 1-channel frames but the data has 2 channels"):
        from_pretrained(folder, input_contract=two_channel)


def _fit_with_checkpoint(model: VARegressionModule, tmp_path) -> str:
    g = torch.Generator().manual_seed(0)
    samples = [{"frames": torch.rand(4, 1, 32, 32, generator=g), "va": torch.rand(4, 2, generator=g) * 2 - 1}
               for _ in range(4)]
    loader = DataLoader(samples, batch_size=2)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/ccc_mean", mode="max")
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=2, limit_val_batches=2, logger=False,
                        callbacks=[checkpoint], enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0)
    trainer.fit(model, loader, loader)
    return checkpoint.best_model_path


def test_lightning_checkpoint_loads_with_weights_only(tmp_path):
    model = create_model("resnet18_fusion", backbone=TINY)
    path = _fit_with_checkpoint(model, tmp_path)
    assert path.endswith(".ckpt")
    x = torch.randn(2, 4, 1, 32, 32)
    expected = _outputs(model, x)
    loaded = from_pretrained(path)
    assert type(loaded) is ResNetFusion and loaded.architecture == "resnet18_fusion"
    assert torch.equal(_outputs(loaded, x), expected)
    assert torch.equal(_outputs(ResNetFusion.from_pretrained(path), x), expected)
    with pytest.raises(CheckpointError, match="architecture mismatch"):
        ResNet.from_pretrained(path)


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "x": Payload(str(marker))}, evil)
    with pytest.raises(CheckpointError, match="refused to load"):
        from_pretrained(evil)
    with pytest.raises(CheckpointError, match="refused to load"):
        ResNet.from_pretrained(evil)
    assert not marker.exists()
    # the payload is live: an unsafe load would have run it
    live_marker = tmp_path / "live"
    live = tmp_path / "live.ckpt"
    torch.save({"x": Payload(str(live_marker))}, live)
    torch.load(live, weights_only=False)
    assert live_marker.exists()


def test_named_checkpoints_local_and_downloaded(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("NEUROVA_HOME", str(home))
    with pytest.raises(CheckpointError, match=r"put its config.json and model.safetensors .* in .*home/models/mine"):
        from_pretrained("mine")
    model = ResNet(backbone=TINY)
    model.save_pretrained(home / "models" / "mine")
    assert isinstance(from_pretrained("mine"), ResNet)
    model.save_pretrained(home / "models" / "resnet.synthetic_faces")  # tags are names with a dot
    assert isinstance(from_pretrained("resnet.synthetic_faces"), ResNet)
    for not_a_name in ("missing.ckpt", "missing.safetensors"):
        with pytest.raises(CheckpointError, match="no such checkpoint folder or file"):
            from_pretrained(not_a_name)

    source = model.save_pretrained(tmp_path / "published")
    digest = {n: hashlib.sha256((source / n).read_bytes()).hexdigest() for n in ("config.json", "model.safetensors")}
    known = KnownCheckpoint((source / "config.json").as_uri(), digest["config.json"],
                            (source / "model.safetensors").as_uri(), digest["model.safetensors"])
    monkeypatch.setitem(hub_module.KNOWN_CHECKPOINTS, "published", known)
    x = torch.randn(1, 1, 1, 32, 32)
    loaded = ResNet.from_pretrained("published")
    assert torch.equal(_outputs(loaded, x), _outputs(model, x))
    assert (home / "models" / "published" / "model.safetensors").is_file()

    bad = KnownCheckpoint(known.config_url, known.config_sha256, known.weights_url, "0" * 64)
    monkeypatch.setitem(hub_module.KNOWN_CHECKPOINTS, "tampered", bad)
    with pytest.raises(CheckpointError, match=r"checksum mismatch for model\.safetensors"):
        from_pretrained("tampered")
    assert not (home / "models" / "tampered").exists()


def test_save_refuses_a_foreign_non_empty_folder_unless_overwrite(tmp_path):
    folder = tmp_path / "my_experiment"
    folder.mkdir()
    (folder / "other.ckpt").write_bytes(b"someone's checkpoint")
    (folder / "README.md").write_text("my notes")
    model = ResNet(backbone=TINY)
    with pytest.raises(CheckpointError, match=r"not a neurova model folder.*overwrite=True") as err:
        model.save_pretrained(folder)
    assert str(folder) in str(err.value)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "other.ckpt"]
    model.save_pretrained(folder, overwrite=True)
    assert (folder / "other.ckpt").read_bytes() == b"someone's checkpoint"
    assert {"config.json", "model.safetensors", "README.md"} <= {p.name for p in folder.iterdir()}
    ResNet.from_pretrained(folder)
    with pytest.raises(CheckpointError, match="not a folder"):
        model.save_pretrained(folder / "other.ckpt")


def test_save_into_an_empty_folder_and_umask_permissions(tmp_path):
    import os

    (tmp_path / "empty").mkdir()
    old = os.umask(0o022)
    try:
        ResNet(backbone=TINY).save_pretrained(tmp_path / "empty")
        ResNet(backbone=TINY).save_pretrained(tmp_path / "new")
    finally:
        os.umask(old)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "new" / "config.json").stat().st_mode & 0o777 == 0o644
    ResNet.from_pretrained(tmp_path / "empty")


def test_config_and_weights_of_two_saves_are_not_loaded_together(tmp_path):
    ResNet(backbone=TINY).save_pretrained(tmp_path / "a")
    ResNet(backbone=TINY).save_pretrained(tmp_path / "b")
    (tmp_path / "a" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="two different saves"):
        from_pretrained(tmp_path / "a")


def test_saving_one_model_twice_writes_identical_bytes(tmp_path):
    model = ResNet(backbone=TINY, input_contract=CONTRACT.to_dict())
    for name in "abcd":  # safetensors orders a metadata map arbitrarily: several saves catch a second key
        model.save_pretrained(tmp_path / name)
    for file in ("config.json", "model.safetensors"):
        digests = {hashlib.sha256((tmp_path / name / file).read_bytes()).hexdigest() for name in "abcd"}
        assert len(digests) == 1, file
    other = ResNet(backbone=TINY, input_contract=CONTRACT.to_dict())
    other.save_pretrained(tmp_path / "other")
    assert json.loads((tmp_path / "other" / "config.json").read_text())["save_id"] != json.loads(
        (tmp_path / "a" / "config.json").read_text())["save_id"]


def test_huge_constructor_arguments_are_refused_before_allocation(tmp_path):
    import resource

    ResNet(backbone=TINY).save_pretrained(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    config["init_args"]["in_chans"] = 2_000_000  # a real build would allocate gigabytes for the stem
    path.write_text(json.dumps(config))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match="shape mismatch"):
        from_pretrained(tmp_path / "m")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB


def test_integer_or_nan_weights_are_refused(tmp_path):
    model = ResNet(backbone=TINY)
    model.save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    key = next(k for k, v in state.items() if v.is_floating_point())
    save_file({**state, key: state[key].to(torch.int64)}, str(weights))
    with pytest.raises(CheckpointError, match=f"dtype mismatch.*{key}.*checkpoint int vs model float"):
        from_pretrained(tmp_path / "m")
    save_file({**state, key: torch.full_like(state[key], float("nan"))}, str(weights))
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        from_pretrained(tmp_path / "m")
    save_file({**state, key: state[key].half()}, str(weights))  # another float width is cast
    assert from_pretrained(tmp_path / "m").state_dict()[key].dtype == torch.float32


# -- the formats of earlier neurova versions -------------------------------------------------------------------------

OLD_RESNET_FUSION_ARGS = {  # ResNetFusion's constructor arguments, as the models of neurova 0.x saved them
    "in_chans": 1, "backbone": TINY, "num_frames": 2, "fusion": "attention", "pretrained": None, "bounded": True,
    "dropout": 0.0, "loss": "mse+ccc", "loss_weights": [1.0, 1.0], "lr": 0.001, "backbone_lr": None,
    "weight_decay": 0.0001, "warmup_steps": 0, "scheduler": "cosine", "freeze_backbone": False,
    "input_contract": None}


def _old_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """A ResNetFusion state dict under the key names of 0.x (``net.trunk.*``, ``net.pool.*``, ``net.head.*``)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        state = ResNetFusion(backbone=TINY, num_frames=2).state_dict()
    assert {k.split(".")[1] for k in state} == {"trunk", "pool", "head"}
    return {k: v.contiguous() for k, v in state.items()}


def test_a_folder_of_the_old_format_loads(tmp_path):
    """config.json as neurova 0.x wrote it: a class path and its constructor arguments, no net record."""
    folder = tmp_path / "old"
    folder.mkdir()
    state = _old_weights()
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt", "neurova_save_id": "0" * 32})
    (folder / "config.json").write_text(json.dumps({
        "architecture": "resnet34_fusion", "class": "neurova.models.frame.ResNetFusion",
        "init_args": OLD_RESNET_FUSION_ARGS, "input_contract": CONTRACT.to_dict() | {"clip_length": 2},
        "input_stats": None, "neurova_version": "0.4.0", "metrics": {"val/ccc_mean": 0.5}, "data": None,
        "save_id": "0" * 32}))
    for loaded in (from_pretrained(folder), ResNetFusion.from_pretrained(folder)):
        assert type(loaded) is ResNetFusion and loaded.architecture == "resnet34_fusion"
        assert loaded.net_args["backbone"] == TINY and loaded.frames_used == 2
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())
    resaved = json.loads((loaded.save_pretrained(tmp_path / "new") / "config.json").read_text())
    assert resaved["net"] == {"name": "resnet34_fusion", "args": {k: OLD_RESNET_FUSION_ARGS[k] for k in (
        "backbone", "num_frames", "fusion", "pretrained", "bounded", "dropout")}}


def test_an_old_lightning_checkpoint_loads(tmp_path):
    """A .ckpt of 0.x: hyper-parameters are the class's constructor arguments, ``neurova`` names class and name."""
    state = _old_weights(1)
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": state, "hyper_parameters": dict(OLD_RESNET_FUSION_ARGS),
                "neurova": {"class": "neurova.models.frame.ResNetFusion", "architecture": "resnet18_fusion"},
                "epoch": 3, "global_step": 40}, path)
    loaded = from_pretrained(path)
    assert type(loaded) is ResNetFusion and loaded.architecture == "resnet18_fusion"
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())


@pytest.mark.parametrize("entry_point", [True, False], ids=["ResNetTransformer", "VARegressionTask"])
def test_a_checkpoint_saved_before_a_net_argument_existed_loads_with_its_legacy_value(tmp_path, entry_point):
    """``resnet18_transformer`` gained ``final_norm`` (default True, an extra LayerNorm): a checkpoint whose stored
    arguments lack it was saved without the norm, so it is rebuilt with ``final_norm=False`` and loads strictly."""
    torch.manual_seed(0)
    args = {"backbone": TINY, "hidden_size": 16, "final_norm": False}
    old = ResNetTransformer(**args) if entry_point else VARegressionTask("resnet18_transformer", args)
    folder = old.save_pretrained(tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    for record in (config["net"]["args"], config["init_args"] if entry_point else config["init_args"]["net_args"]):
        del record["final_norm"]  # as written before the argument existed
    (folder / "config.json").write_text(json.dumps(config))
    loaded = from_pretrained(folder)
    assert loaded.net_args["final_norm"] is False and loaded.net.encoder.norm is None
    x = torch.rand(1, 3, 1, 32, 32)
    assert torch.equal(_outputs(loaded, x), _outputs(old, x))
    assert create_model("resnet18_transformer", backbone=TINY).net.encoder.norm is not None  # new nets have it


@pytest.mark.parametrize("entry_point", [True, False], ids=["ResNetTransformer", "VARegressionTask"])
def test_lightning_loads_and_resumes_a_checkpoint_saved_before_a_net_argument_existed(tmp_path, entry_point):
    """Lightning's own paths (``load_from_checkpoint``, ``fit(ckpt_path=...)``) build the model from the stored
    hyper-parameters or from the caller's; ``on_load_checkpoint`` rebuilds the net with the legacy value first."""
    torch.manual_seed(0)
    args = {"backbone": TINY, "hidden_size": 16, "final_norm": False}
    old = ResNetTransformer(**args) if entry_point else VARegressionTask("resnet18_transformer", args)
    path = _fit_with_checkpoint(old, tmp_path)
    checkpoint = torch.load(path, weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    del (hparams if entry_point else hparams["net_args"])["final_norm"]  # as written before the argument existed
    del checkpoint["neurova"]["net"]["args"]["final_norm"]
    torch.save(checkpoint, path)
    klass = ResNetTransformer if entry_point else VARegressionTask
    loaded = klass.load_from_checkpoint(path)
    assert loaded.net_args["final_norm"] is False and loaded.net.encoder.norm is None
    x = torch.rand(1, 3, 1, 32, 32)
    assert torch.equal(_outputs(loaded, x), _outputs(old, x))
    resumed = ResNetTransformer(**{**args, "final_norm": True}) if entry_point else VARegressionTask(
        "resnet18_transformer", {**args, "final_norm": True})  # as a config of today builds it
    loader = DataLoader([{"frames": torch.rand(4, 1, 32, 32), "va": torch.rand(4, 2) * 2 - 1}] * 2, batch_size=2)
    trainer = L.Trainer(accelerator="cpu", max_epochs=2, limit_train_batches=2, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(resumed, loader, ckpt_path=path)
    assert trainer.current_epoch == 2 and resumed.net.encoder.norm is None
    saved = resumed.hparams if entry_point else resumed.hparams["net_args"]
    assert saved["final_norm"] is False  # what the next checkpoint records


def test_the_task_and_its_net_record_round_trip(tmp_path):
    torch.manual_seed(0)
    model = VARegressionTask("resnet18_gru", {"backbone": TINY, "hidden_size": 8}, lr=2e-4,
                             input_contract=CONTRACT.to_dict())
    folder = model.save_pretrained(tmp_path / "task")
    config = json.loads((folder / "config.json").read_text())
    assert config["class"] == "neurova.models.task.VARegressionTask" and config["architecture"] == "resnet18_gru"
    assert config["net"] == {"name": "resnet18_gru", "args": config["init_args"]["net_args"]}
    assert config["net"]["args"]["hidden_size"] == 8 and config["init_args"]["lr"] == 2e-4
    assert "`resnet18_gru`" in (folder / "README.md").read_text()
    x = torch.randn(1, 3, 1, 32, 32)
    loaded = VARegressionTask.from_pretrained(folder)
    assert type(loaded) is VARegressionTask and torch.equal(_outputs(loaded, x), _outputs(model, x))
    with pytest.raises(CheckpointError, match="architecture mismatch"):
        ResNetGRU.from_pretrained(folder)
    path = _fit_with_checkpoint(model, tmp_path)  # the .ckpt records the net too
    assert torch.load(path, weights_only=True)["neurova"]["net"]["name"] == "resnet18_gru"
    assert type(from_pretrained(path)) is VARegressionTask
    config["net"]["name"] = "no_such_net"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unknown net 'no_such_net'"):
        from_pretrained(folder)


def test_hub_load_pretrained_is_a_deprecated_alias(tmp_path):
    folder = ResNet(backbone=TINY).save_pretrained(tmp_path / "m")
    with pytest.warns(DeprecationWarning, match="neurova.models.from_pretrained"):
        assert type(hub_module.load_pretrained(folder)) is ResNet
    with pytest.warns(DeprecationWarning), pytest.raises(CheckpointError, match="architecture mismatch"):
        hub_module.load_pretrained(folder, cls=ResNetFusion)
