"""LightningDataModule of AFEW-VA simulated to events."""

from __future__ import annotations

import os
from typing import Literal

from neurova.contract import Encoding, InputContract
from neurova.datamodules.base import EventDataModule
from neurova.datasets.afew_va import AFEWVA, FRAME_INTERVAL_US, AFEWVASimulation, prepare_afew_va
from neurova.datasets.cache import event_contract

__all__ = ["AFEWVADataModule"]


class AFEWVADataModule(EventDataModule):
    """AFEW-VA: landmark face crops simulated to events once (cached), TBR-encoded at load time.

    ``prepare_data`` simulates every clip missing from the cache (resumable, ``build_workers``
    processes); ``setup`` makes fold ``fold`` of a subject k-fold by actor (or reads
    ``split_file``), saved beside the cache. The test loader serves the validation fold
    (AFEW-VA has no separate test set).

    Args:
        root: AFEW-VA folder holding ``001`` ... ``600``.
        cache_dir: cache folder (default ``$NEUROVA_CACHE`` or ``~/.cache/neurova``).
        image_size: side of the square face crop in pixels.
        margin: landmark box margin on each side, as a fraction of the landmarks' extent.
        smooth_window: frames over which the crop box is averaged.
        preset: simulator preset (``"clean"`` or ``"noisy"``).
        upsample: temporal upsampling factor (None: the simulator decides).
        max_step_px: largest motion between interpolated frames in pixels.
        seed: simulator noise seed.
        mode: ``"frame"`` (T = 1) or ``"clip"`` (T = ``clip_length``).
        clip_length: consecutive frames per sample in clip mode.
        stride: step in frames between samples of a clip.
        encoding: ``"tbr"`` (default), ``"frame"``, ``"voxel"`` or ``"time_surface"`` (ablations).
        n_bits: TBR bits N.
        bin_us: TBR bin duration Δt in µs.
        polarity: ``"merge"`` or ``"split"``.
        n_folds: subject folds.
        fold: validation fold index.
        split_seed: seed of the subject shuffle.
        split_file: JSON of explicit ``{"train": [...], "val": [...]}`` clip ids instead of the k-fold.
        batch_size: samples per batch.
        num_workers: dataloader worker processes.
        build_workers: simulation processes in ``prepare_data``.
        in_memory: keep the events of each split in RAM.
        pin_memory: pin host memory (None: when CUDA is available).
        hflip: probability of flipping a training sample left-right (see :class:`EventDataModule`).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        image_size: int = 128,
        margin: float = 0.25,
        smooth_window: int = 9,
        preset: str = "clean",
        upsample: int | None = None,
        max_step_px: float | None = 1.0,
        seed: int = 0,
        mode: Literal["frame", "clip"] = "clip",
        clip_length: int = 4,
        stride: int = 1,
        encoding: Encoding = "tbr",
        n_bits: int = 8,
        bin_us: int = 5000,
        polarity: Literal["merge", "split"] = "merge",
        n_folds: int = 5,
        fold: int = 0,
        split_seed: int = 0,
        split_file: str | os.PathLike[str] | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        build_workers: int = 2,
        in_memory: bool = False,
        pin_memory: bool | None = None,
        hflip: float = 0.0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory, hflip=hflip)
        self.save_hyperparameters()
        self.root, self.cache_dir = root, cache_dir
        self.sim = AFEWVASimulation(image_size=image_size, margin=margin, smooth_window=smooth_window, preset=preset,
                                    upsample=upsample, max_step_px=max_step_px, seed=seed)
        self.build_workers = build_workers
        self._contract = event_contract(encoding=encoding, n_bits=n_bits, bin_us=bin_us, polarity=polarity,
                                        image_size=image_size, mode=mode, clip_length=clip_length,
                                        frame_interval_us=FRAME_INTERVAL_US, face_crop="landmarks")

    @property
    def input_contract(self) -> InputContract:
        return self._contract

    def prepare_data(self) -> None:
        """Simulate every clip missing from the cache (once, on one process per node)."""
        prepare_afew_va(self.root, self.cache_dir, self.sim, num_workers=self.build_workers, rank=0, world_size=1)

    def _dataset(self, split: str) -> AFEWVA:
        hp = self.hparams
        return AFEWVA(
            self.root, split, cache_dir=self.cache_dir, sim=self.sim, mode=hp.mode, clip_length=hp.clip_length,
            stride=hp.stride, encoding=hp.encoding, n_bits=hp.n_bits, bin_us=hp.bin_us, polarity=hp.polarity, n_folds=hp.n_folds,
            fold=hp.fold, split_seed=hp.split_seed, split_file=hp.split_file, build=False, in_memory=hp.in_memory,
        )

    def setup(self, stage: str | None = None) -> None:
        """Make the splits needed by ``stage``."""
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._dataset("train")
        if stage in (None, "fit", "validate", "test", "predict") and self.val_set is None:
            self.val_set = self._dataset("val")
        if stage in (None, "test", "predict"):
            self.test_set = self.val_set
