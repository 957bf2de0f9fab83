"""LightningDataModules: typed arguments, contract before data, prepare/setup, loaders (also with workers)."""

from __future__ import annotations

import inspect
import runpy
from pathlib import Path

import lightning as L
import pytest
import torch

from neurova.datamodules import AFEWVADataModule, NEFERDataModule, SyntheticFacesDataModule
from neurova.emotions import EKMAN7_NAMES

DATA = Path(__file__).parent / "data"
TINY = {"n_subjects": 3, "clips_per_subject": 1, "frames_per_clip": 8, "image_size": 16,
        "emotion_clips_per_emotion": 1}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticFacesDataModule:
    dm = SyntheticFacesDataModule(tmp_path_factory.mktemp("cache"), clip_length=3, batch_size=4, **TINY)
    dm.prepare_data()
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("cls", [SyntheticFacesDataModule, AFEWVADataModule, NEFERDataModule])
def test_typed_arguments(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert all(p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params)
    assert all(p.annotation is not inspect.Parameter.empty for p in params), cls
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_class_arguments(cls, "data")
    assert "--data.batch_size" in parser.format_help()


def test_contract_is_known_before_any_data(tmp_path: Path) -> None:
    dm = SyntheticFacesDataModule(tmp_path, polarity="split", clip_length=5, n_bits=4, bin_us=10_000)
    assert dm.num_channels == 2 and dm.clip_length == 5
    assert dm.input_contract.n_bits == 4 and dm.input_contract.bin_us == 10_000 and dm.input_contract.image_size == 64
    assert not any(tmp_path.iterdir())  # nothing simulated yet
    assert SyntheticFacesDataModule(tmp_path, mode="frame").clip_length == 1
    assert SyntheticFacesDataModule(tmp_path, encoding="voxel", n_bits=5).num_channels == 5
    assert AFEWVADataModule(tmp_path / "afew", image_size=96).input_contract.face_crop == "landmarks"
    nefer = NEFERDataModule(tmp_path / "nefer", modality="rgb", clip_length=8, image_size=32)
    assert nefer.num_channels == 3 and nefer.clip_length == 8 and nefer.label_set == "expected"


def test_synthetic_batches(synthetic: SyntheticFacesDataModule) -> None:
    batch = next(iter(synthetic.train_dataloader()))
    assert batch["frames"].shape == (4, 3, 1, 16, 16) and batch["va"].shape == (4, 3, 2)
    assert batch["label"].shape == (4,) and len(batch["meta"]["clip_id"]) == 4
    assert batch["meta"]["timestamps_us"].shape == (4, 3)
    train_subjects = {m.subject for m in synthetic.train_set.clips.values()}
    val_subjects = {m.subject for m in synthetic.val_set.clips.values()}
    assert train_subjects and val_subjects and not train_subjects & val_subjects
    emotion = next(iter(synthetic.emotion_dataloader()))
    assert set(emotion["label"].tolist()) <= set(range(len(EKMAN7_NAMES)))


def test_loader_with_worker_processes_matches(synthetic: SyntheticFacesDataModule) -> None:
    reference = list(synthetic.val_dataloader())
    with_workers = SyntheticFacesDataModule(synthetic.cache_dir, clip_length=3, batch_size=4, num_workers=2,
                                            in_memory=False, **TINY)
    with_workers.setup("validate")
    batches = list(with_workers.val_dataloader())
    assert len(batches) == len(reference)
    for a, b in zip(batches, reference):
        torch.testing.assert_close(a["frames"], b["frames"])
        assert a["meta"]["clip_id"] == b["meta"]["clip_id"]


def test_test_split_choice(synthetic: SyntheticFacesDataModule) -> None:
    dm = SyntheticFacesDataModule(synthetic.cache_dir, test_split="emotion", **TINY)
    dm.setup("test")
    assert set(dm.test_set.clip_ids) == {f"e00-{n.lower()}" for n in EKMAN7_NAMES}
    dm = SyntheticFacesDataModule(synthetic.cache_dir, **TINY)
    dm.setup("test")
    assert all(c.startswith("s") for c in dm.test_set.clip_ids)
    with pytest.raises(ValueError, match="emotion"):
        SyntheticFacesDataModule(synthetic.cache_dir, test_split="emotion", emotion_clips=False)


class _Tiny(L.LightningModule):
    def __init__(self, in_chans: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Conv2d(in_chans, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                       torch.nn.Flatten(), torch.nn.Linear(4, 2))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        frames = batch["frames"][:, -1]  # last frame (B, C, H, W)
        return torch.nn.functional.mse_loss(self.net(frames), batch["va"][:, -1])

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.log("val/loss", self.training_step(batch, batch_idx))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_trainer_runs_prepare_setup_and_fit(tmp_path: Path) -> None:
    dm = SyntheticFacesDataModule(tmp_path, clip_length=2, batch_size=8, **TINY)
    trainer = L.Trainer(fast_dev_run=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(_Tiny(dm.num_channels), datamodule=dm)
    assert dm.train_set is not None and (tmp_path / "synthetic_faces").is_dir()


def test_afew_va_datamodule(tmp_path: Path) -> None:
    root = runpy.run_path(str(DATA / "afew_va" / "data.py"))["make_afew_va"](tmp_path / "AFEW-VA", n_frames=8)
    dm = AFEWVADataModule(root, tmp_path / "cache", image_size=16, n_folds=2, clip_length=2, batch_size=4)
    dm.prepare_data()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["frames"].shape[1:] == (2, 1, 16, 16) and torch.isfinite(batch["va"]).all()
    dm.setup("test")
    assert dm.test_set is dm.val_set
    assert {m.subject for m in dm.train_set.clips.values()}.isdisjoint(m.subject for m in dm.val_set.clips.values())


def test_nefer_datamodule(tmp_path: Path) -> None:
    root = runpy.run_path(str(DATA / "nefer" / "data.py"))["make_nefer"](tmp_path / "NEFER", clips_per_user=1)
    dm = NEFERDataModule(root, label_set="reported", mode="frame", image_size=8, batch_size=16)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["frames"].shape == (16, 1, 1, 8, 8) and torch.isnan(batch["va"]).all()
    dm.setup("test")
    assert dm.test_set is dm.val_set and len(dm.val_set) == 51


def test_hflip_flips_training_samples_only() -> None:
    from neurova.datamodules.base import EventDataModule

    frames = torch.arange(6 * 3 * 1 * 2 * 4, dtype=torch.float32).reshape(6, 3, 1, 2, 4)
    samples = [{"frames": f, "va": torch.zeros(3, 2)} for f in frames]
    dm = EventDataModule(batch_size=6, hflip=1.0)
    dm.train_set = dm.val_set = samples
    assert torch.equal(next(iter(dm.train_dataloader()))["frames"].sort(0).values, frames.flip(-1).sort(0).values)
    assert torch.equal(next(iter(dm.val_dataloader()))["frames"], frames)  # never flipped
    half = EventDataModule(batch_size=64, hflip=0.5)
    half.train_set = [samples[0]] * 64
    torch.manual_seed(0)
    out = next(iter(half.train_dataloader()))["frames"]
    same = (out == frames[0]).flatten(1).all(1)
    mirrored = (out == frames[0].flip(-1)).flatten(1).all(1)
    assert bool((same ^ mirrored).all()) and 0 < int(mirrored.sum()) < 64  # whole samples, some of each
    with pytest.raises(ValueError, match="hflip"):
        EventDataModule(hflip=1.5)
