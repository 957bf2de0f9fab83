"""neurova.datamodules.afew_va: batches of the simulated miniature tree, folds by actor."""

from __future__ import annotations

from pathlib import Path

from neurova.datamodules import AFEWVADataModule
from tests.helpers.datamodules import check_batch, subjects_of


def test_afew_va_datamodule(afew_root: Path, tmp_path: Path) -> None:
    dm = AFEWVADataModule(afew_root, tmp_path / "cache", image_size=16, n_folds=2, clip_length=2, batch_size=4)
    dm.prepare_data()
    dm.setup("fit")
    for batch in dm.train_dataloader():
        check_batch(batch, dm.input_contract)
    train, val = dm.train_set, dm.val_set
    dm.setup("test")
    dm.setup("fit")
    assert dm.test_set is dm.val_set is val and dm.train_set is train  # no separate test set; made once
    assert subjects_of(train) and subjects_of(val) and subjects_of(train).isdisjoint(subjects_of(val))  # by actor


def test_afew_va_train_phases(afew_root: Path, tmp_path: Path) -> None:
    dm = AFEWVADataModule(afew_root, tmp_path / "cache", image_size=16, n_folds=2, clip_length=2,
                          train_phases_us=(10_000, 30_000))
    dm.prepare_data()
    dm.setup("fit")
    assert dm.train_set.phases_us == (10_000, 30_000) and dm.val_set.phases_us == (0,)
    ends = [int(dm.train_set[i]["meta"]["timestamps_us"][-1]) % 40_000 for i in range(2)]
    assert ends == [30_000, 10_000]  # 10 and 30 ms before a frame at 25 fps
