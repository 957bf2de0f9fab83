"""neurova.datamodules.nefer: frame batches of the miniature tree, the split by user."""

from __future__ import annotations

from pathlib import Path

from neurova.datamodules import NEFERDataModule
from tests.helpers.datamodules import check_batch, subjects_of


def test_nefer_datamodule(nefer_root: Path) -> None:
    dm = NEFERDataModule(nefer_root, label_set="reported", mode="frame", image_size=8, batch_size=16)
    dm.setup("fit")
    check_batch(next(iter(dm.train_dataloader())), dm.input_contract, va_known=False)
    dm.setup("test")
    assert dm.test_set is dm.val_set and len(dm.val_set) == 51
    assert subjects_of(dm.train_set) == {"user_01", "user_02"} and subjects_of(dm.val_set) == {"user_03"}
