"""The task over registered nets: every registered name trains a step; entry points; frames, streaming, fine-tuning.

Registered names are exercised at the smallest size that runs their code: 32x32 inputs, batch 2, clips of the
frames the net reads, and timm's test backbones standing in for full ResNets and ViTs (their defaults are
built on the meta device, which allocates nothing).
"""

from __future__ import annotations

import inspect
import itertools
import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from neurova.contract import InputContract
from neurova.errors import InputContractError
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
    VARegressionModule,
    VARegressionTask,
    ViT,
    create_model,
    list_models,
)
from neurova.nets import FrameFusionNet, SingleFrameNet, create_backbone, get_net_spec

TINY = "test_resnet"  # timm's tiny ResNet: fast stand-in for resnet18 in behavioural tests
TASK_ARGS = set(inspect.signature(VARegressionTask.__init__).parameters) - {"self"}


def small_args(name: str) -> dict:
    """Arguments that shrink the registered net ``name`` without changing its code path."""
    defaults = get_net_spec(name).defaults
    if "backbone" not in defaults:
        return {}
    return {"backbone": "test_vit", "img_size": 32} if "img_size" in defaults else {"backbone": TINY}


def make_samples(n: int = 4, t: int = 4, c: int = 1, size: int = 32, seed: int = 0) -> list[dict]:
    """Dict samples following the dataset contract; VA depends on the frames' brightness."""
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(n):
        frames = torch.rand(t, c, size, size, generator=g)
        level = frames.mean(dim=(1, 2, 3)) * 2 - 1
        va = torch.stack([level, -level], dim=-1).float()
        samples.append({"frames": frames, "va": va, "label": torch.tensor(-1),
                        "meta": {"clip_id": f"clip{i}", "frame_indices": torch.arange(t)}})
    return samples


def fit_one_step(model: VARegressionTask, samples: list[dict]) -> L.Trainer:
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=1, limit_val_batches=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0)
    loader = DataLoader(samples, batch_size=len(samples))
    trainer.fit(model, loader, loader)
    return trainer


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_runs_and_trains(name):
    with torch.device("meta"):  # the defaults build (full-size backbones), allocating nothing
        assert create_model(name, in_chans=2).architecture == name
    torch.manual_seed(0)
    model = create_model(name, in_chans=2, **small_args(name))
    assert isinstance(model, VARegressionTask) and model.architecture == name
    batch = torch.utils.data.default_collate(make_samples(n=2, t=model.frames_used or 2, c=2))
    preds = model.train()(batch["frames"])  # one training step, by hand: a Trainer per name costs seconds
    assert preds.shape == ((2, batch["frames"].shape[1], 2) if model.predicts_sequence else (2, 2))
    assert torch.isfinite(preds).all() and preds.abs().max() <= 1
    loss = model.loss_fn(preds, model._target(batch["va"]))
    loss.backward()
    trainable = dict(model.named_parameters())
    assert math.isfinite(loss.item()) and all(p.grad is not None for p in trainable.values()), "a parameter is unused"
    head = model.net.head.fc.weight.detach().clone()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(head, model.net.head.fc.weight)
    assert all(torch.isfinite(p).all() for p in trainable.values())


def test_a_fit_logs_every_metric():
    torch.manual_seed(0)
    model = create_model("tiny_cnn_fusion", in_chans=2, num_frames=2)
    trainer = fit_one_step(model, make_samples(n=2, t=2, c=2))
    logged = trainer.callback_metrics
    assert math.isfinite(float(logged["train/loss_epoch"]))
    assert {"val/ccc_mean", "val/ccc_valence", "val/rmse_arousal", "val/sagr_valence", "val/pcc_arousal",
            "train/ccc_mean"} <= set(logged)


class _LayoutSeen(L.Callback):
    """Records the strides of every 4-D parameter at each training batch."""

    def __init__(self) -> None:
        self.strides: list[dict[str, tuple[int, ...]]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.strides.append({n: p.stride() for n, p in pl_module.named_parameters() if p.ndim == 4})


@pytest.mark.parametrize(("name", "allowed", "laid_out"), [("tiny_cnn_fusion", True, True),
                                                       ("tiny_cnn_fusion", False, False),
                                                       ("resnet18_fusion", True, False)])
def test_a_cpu_fit_lays_out_channels_last_the_trunks_that_prefer_it_and_restores_the_layout(name, allowed, laid_out):
    torch.manual_seed(0)
    model = create_model(name, **small_args(name))
    model.fit_channels_last = allowed
    before = {n: (p, p.stride()) for n, p in model.named_parameters() if p.ndim == 4}
    seen = _LayoutSeen()
    L.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=2, limit_val_batches=1, logger=False,
              enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[seen],
              ).fit(model, DataLoader(make_samples(n=4), batch_size=2), DataLoader(make_samples(n=2), batch_size=2))
    channels_last = {n: torch.empty_like(p, device="meta", memory_format=torch.channels_last).stride()
                     for n, (p, _) in before.items()}
    assert len(seen.strides) == 2
    for strides in seen.strides:
        assert (strides == channels_last) is laid_out  # the 1-input-channel stem too: its output follows its strides
    after = dict(model.named_parameters())
    assert all(after[n] is p and p.stride() == stride for n, (p, stride) in before.items())  # same tensors, layout back
    assert model._fit_layout_changed == []


def test_the_task_builds_any_registered_net_by_name():
    task = VARegressionTask("resnet18_fusion", {"backbone": TINY, "num_frames": 3}, in_chans=2, lr=5e-4)
    entry = ResNetFusion(in_chans=2, backbone=TINY, num_frames=3, lr=5e-4)
    assert VARegressionModule is VARegressionTask and isinstance(entry, VARegressionTask)
    assert type(task.net) is type(entry.net) is FrameFusionNet
    assert {k: v.shape for k, v in task.state_dict().items()} == {k: v.shape for k, v in entry.state_dict().items()}
    assert task.frames_used == entry.frames_used == 3 and not task.predicts_sequence
    assert set(task.hparams) == TASK_ARGS and task.hparams["net"] == "resnet18_fusion"
    assert task.hparams["net_args"] == task.net_args == entry.net_args == {
        "backbone": TINY, "num_frames": 3, "fusion": "attention", "pretrained": None, "bounded": True, "dropout": 0.0}
    with pytest.raises(TypeError, match=r"takes no argument\(s\) \['colour'\]"):
        VARegressionTask("tiny_cnn", {"colour": "red"})
    with pytest.raises(ValueError, match="did you mean 'tiny_cnn_fusion'"):
        VARegressionTask("tiny_cnn_fusio")


@pytest.mark.parametrize(("cls", "kwargs"), [
    (ResNet, {"backbone": TINY}), (ResNetFusion, {"backbone": TINY}), (ViT, {"backbone": "test_vit", "img_size": 32}),
    (ResNetLSTM, {"backbone": TINY}), (ResNetGRU, {"backbone": TINY}), (ResNetTransformer, {"backbone": TINY}),
    (TinyCNN, {}), (TinyCNNFusion, {}), (R3D, {}),
])
def test_entry_point_hparams_are_its_constructor_arguments(cls, kwargs):
    """An entry point's hyper-parameters are its own arguments and the task's (what LightningCLI and loading use)."""
    with torch.device("meta"):
        model = cls(**kwargs)
    own = set(inspect.signature(cls.__init__).parameters) - {"self", "task_kwargs"}
    assert set(model.hparams) == own | (TASK_ARGS - {"net", "net_args"})
    assert model.architecture == cls.variants[0]


def test_entry_point_pairs_differ_by_their_net_only():
    assert ResNetLSTM.__init__ is ResNetGRU.__init__ and R3D.__init__ is R2Plus1D.__init__
    with torch.device("meta"):
        assert type(ResNet(backbone=TINY).net) is type(ViT(backbone="test_vit").net) is SingleFrameNet
        gru, lstm = ResNetGRU(backbone=TINY), ResNetLSTM(backbone=TINY)
    assert (gru.net.temporal, lstm.net.temporal) == ("gru", "lstm")


def test_learning_rate_defaults_come_from_the_registry():
    with torch.device("meta"):
        assert TinyCNN().hparams["lr"] == create_model("tiny_cnn_fusion").hparams["lr"] == 3e-3
        assert ResNet(backbone=TINY).hparams["lr"] == 1e-3
        assert TinyCNN(lr=1e-2).hparams["lr"] == 1e-2


def test_training_lowers_the_loss_on_one_batch():
    torch.manual_seed(0)
    model = ResNet(backbone=TINY, lr=3e-3, loss="mse")
    batch = torch.utils.data.default_collate(make_samples(n=6, t=1, size=16))
    opt = torch.optim.AdamW(model._parameter_groups())
    losses = []
    for _ in range(10):
        loss = model.loss_fn(model(batch["frames"]), model._target(batch["va"]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_frame_models_read_the_last_frames_only():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 1, 32, 32)
    changed_old = x.clone()
    changed_old[:, 0] += 1.0
    for model in (ResNet(backbone=TINY).eval(), ResNetFusion(backbone=TINY, num_frames=3).eval()):
        with torch.no_grad():
            assert torch.equal(model(x), model(changed_old))  # frame 0 is outside the last K = 1 or 3
            changed_new = x.clone()
            changed_new[:, -1] += 1.0
            assert not torch.equal(model(x), model(changed_new))
    single = ResNet(backbone=TINY).eval()
    with torch.no_grad():
        assert torch.equal(single(x), single(x[:, -1]))


def test_fusion_needs_k_frames_and_modes():
    model = ResNetFusion(backbone=TINY, num_frames=4)
    with pytest.raises(ValueError, match="num_frames=4"):
        model(torch.randn(1, 2, 1, 32, 32))
    trunk = create_backbone(TINY, 1)
    x = torch.randn(2, 3, 1, 32, 32)
    for fusion in ("attention", "mean", "concat"):
        net = FrameFusionNet(trunk, num_frames=3, fusion=fusion).eval()
        with torch.no_grad():
            out, flipped = net(x), net(x.flip(1))
        assert out.shape == (2, 2)
        if fusion == "concat":
            assert not torch.allclose(out, flipped)
        else:  # set pooling is order-invariant
            torch.testing.assert_close(out, flipped)
    with pytest.raises(ValueError, match="unknown fusion"):
        FrameFusionNet(trunk, fusion="max")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [ResNetLSTM, ResNetGRU, ResNetTransformer])
def test_streaming_step_matches_the_full_forward(cls):
    torch.manual_seed(0)
    model = cls(backbone=TINY, hidden_size=32, window=3).eval()
    assert model.supports_step
    x = torch.randn(2, 6, 1, 32, 32)
    with torch.no_grad():
        full = model(x)
    state, outs = None, []
    for t in range(6):
        out, state = model.step(x[:, t], state)
        outs.append(out)
    assert state.frames_seen == 6
    if model.net.recurrent_streaming:
        torch.testing.assert_close(torch.stack(outs, 1), full, atol=1e-5, rtol=1e-4)
    else:  # the transformer keeps a window of 3 frames of features
        with torch.no_grad():
            torch.testing.assert_close(outs[-1], model(x[:, -3:])[:, -1], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(outs[1], full[:, 1], atol=1e-5, rtol=1e-4)


def test_fusion_models_stream_too_and_the_others_say_they_cannot():
    torch.manual_seed(0)
    model = create_model("tiny_cnn_fusion", num_frames=3).eval()
    assert model.supports_step
    x = torch.rand(2, 5, 1, 32, 32)
    state = None
    for t in range(5):
        out, state = model.step(x[:, t], state)
    with torch.no_grad():
        torch.testing.assert_close(out, model(x), atol=1e-5, rtol=1e-4)  # the window of the last 3 frames
    single = create_model("tiny_cnn")
    assert not single.supports_step
    with pytest.raises(TypeError, match=r"tiny_cnn .*has no streaming step"):
        single.step(x[:, 0])


def test_freeze_backbone_trains_the_head_only():
    torch.manual_seed(0)
    model = ResNet(backbone=TINY, freeze_backbone=True)
    backbone_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.net.head.fc.weight.clone()
    fit_one_step(model, make_samples(n=4))
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, backbone_before[k]), k  # includes BatchNorm running statistics
    assert not torch.equal(model.net.head.fc.weight, head_before)
    model.train()
    assert not model.backbone.training and model.net.head.training


def test_optimizer_groups_and_schedule():
    model = ResNet(backbone=TINY, lr=1e-3, backbone_lr=1e-4, weight_decay=0.05, warmup_steps=2)
    groups = {g["name"]: g for g in model._parameter_groups()}
    assert set(groups) == {"backbone", "backbone_no_decay", "head", "head_no_decay"}
    assert groups["backbone"]["lr"] == 1e-4 and groups["head"]["lr"] == 1e-3
    assert groups["head"]["weight_decay"] == 0.05 and groups["head_no_decay"]["weight_decay"] == 0.0
    assert all(p.ndim <= 1 for p in groups["backbone_no_decay"]["params"])
    n = sum(len(g["params"]) for g in groups.values())
    assert n == len(list(model.parameters()))
    factors = [model._lr_factor(s, total=12) for s in range(12)]
    assert factors[:2] == [0.5, 1.0] and factors[2] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(factors[2:])) and factors[-1] < 0.05
    assert model._lr_factor(50, total=math.inf) == 1.0


class _DataModule(L.LightningDataModule):
    def __init__(self, contract: InputContract) -> None:
        super().__init__()
        self.input_contract = contract

    def train_dataloader(self) -> DataLoader:
        return DataLoader(make_samples(n=2, c=self.input_contract.channels), batch_size=2)


def test_input_contract_is_taken_from_the_datamodule_and_checked():
    contract = InputContract(channels=1, clip_length=4, image_size=32)
    model = ResNetFusion(backbone=TINY, num_frames=4)
    trainer = L.Trainer(accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=_DataModule(contract))
    assert model.input_contract == contract and model.hparams["input_contract"] == contract.to_dict()
    with pytest.raises(InputContractError, match="2 channels"):
        model.check_input(InputContract(channels=2, polarity="split", clip_length=4))
    with pytest.raises(InputContractError, match="last 4 frames"):
        model.check_input(InputContract(channels=1, clip_length=2))
    with pytest.raises(InputContractError, match="bin_us"):
        model.check_input(InputContract(channels=1, clip_length=4, bin_us=1000))
    two = ResNet(backbone=TINY, in_chans=1)
    with pytest.raises(InputContractError, match="2 channels"):
        L.Trainer(accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
                  enable_progress_bar=False, enable_model_summary=False).fit(
            two, datamodule=_DataModule(InputContract(channels=2, polarity="split")))


def test_batches_with_wrong_channels_or_no_labels():
    model = ResNet(backbone=TINY)
    batch = torch.utils.data.default_collate(make_samples(n=2, c=2))
    with pytest.raises(InputContractError, match="1-channel"):
        model._shared_step(batch, "val")
    unlabelled = torch.utils.data.default_collate(make_samples(n=2))
    unlabelled["va"][:] = float("nan")  # e.g. NEFER: emotion labels only
    loss = model.loss_fn(model(unlabelled["frames"]), model._target(unlabelled["va"]))
    assert loss.item() == 0.0 and loss.requires_grad
    out = model.predict_step(unlabelled, 0)
    assert out["va"].shape == (2, 2) and out["meta"]["clip_id"] == ["clip0", "clip1"]
    assert model.predict_step(unlabelled["frames"])["meta"] is None


def test_unbounded_head_and_vit_sizes():
    model = ViT(backbone="test_vit", img_size=32, bounded=False).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, 48, 48) * 50)  # another size than img_size: dynamic position embeddings
    assert out.shape == (1, 2)
    video = R3D(in_chans=1).eval()
    with torch.no_grad():
        assert video(torch.randn(1, 3, 1, 32, 32)).shape == (1, 3, 2)  # T not a multiple of the stride
