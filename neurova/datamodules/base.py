"""Shared plumbing of neurova's LightningDataModules: dataloaders and the input contract."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from neurova.augment import AugmentedDataset, RandomHorizontalFlip
from neurova.contract import InputContract

__all__ = ["EventDataModule"]


class EventDataModule(L.LightningDataModule):
    """Base of the dataset DataModules: builds dataloaders, exposes the input contract.

    Subclasses set ``self.train_set`` / ``self.val_set`` / ``self.test_set`` /
    ``self.predict_set`` in :meth:`setup` and implement :attr:`input_contract`,
    which must be known right after ``__init__`` (the CLI links
    :attr:`num_channels` to the model's ``in_chans`` before any data exists).

    Args:
        batch_size: samples per batch.
        num_workers: dataloader worker processes (0: load in the main process).
        pin_memory: pin host memory; None pins when CUDA is available.
        hflip: probability of flipping each training sample left-right (all its frames together, by
            :class:`neurova.augment.RandomHorizontalFlip`); a mirrored face has the same valence and
            arousal. 0 disables it; validation, test and prediction samples are never flipped.
    """

    def __init__(self, batch_size: int = 16, num_workers: int = 0, pin_memory: bool | None = None,
                 hflip: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= hflip <= 1.0:
            raise ValueError(f"hflip must be a probability in [0, 1], got {hflip}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.hflip = float(hflip)
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.predict_set: Dataset | None = None

    @property
    def input_contract(self) -> InputContract:
        """How this data's frames were made (saved with every model trained on it)."""
        raise NotImplementedError

    @property
    def num_channels(self) -> int:
        """C of the ``(T, C, H, W)`` frames (the model's ``in_chans``)."""
        return self.input_contract.channels

    @property
    def clip_length(self) -> int:
        """T of the ``(T, C, H, W)`` frames (the model's ``num_frames``)."""
        return self.input_contract.clip_length

    def _loader(self, dataset: Dataset | None, name: str, *, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"the {name} set is not set up; call setup() first")
        kwargs: dict[str, Any] = {}
        if self.num_workers > 0:
            kwargs["persistent_workers"] = True
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            drop_last=False,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        train_set = self.train_set
        if self.hflip > 0 and train_set is not None:
            train_set = AugmentedDataset(train_set, RandomHorizontalFlip(self.hflip))
        return self._loader(train_set, "train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, "validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, "test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_set if self.predict_set is not None else self.test_set, "predict",
                            shuffle=False)
