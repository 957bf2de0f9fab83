"""LightningDataModule of AFEW-VA simulated to events."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from neurova.contract import Encoding, InputContract
from neurova.datamodules.base import EventDataModule
from neurova.datasets.afew_va import AFEWVA, AFEWVASimulation, afew_va_contract, prepare_afew_va

__all__ = ["AFEWVADataModule"]


class AFEWVADataModule(EventDataModule):
    """AFEW-VA: landmark face crops simulated to events once (cached), TBR-encoded at load time.

    ``prepare_data`` simulates every clip missing from the cache (resumable, ``build_workers``
    processes); ``setup`` makes fold ``fold`` of a subject k-fold by actor (or reads
    ``split_file``), saved beside the cache. The test loader serves the validation fold
    (AFEW-VA has no separate test set).

    The input recipe is given either as ``contract`` (an :class:`~neurova.contract.InputContract` or its dict,
    e.g. a model's ``model.input_contract``) or as the keyword arguments ``image_size``, ``mode``,
    ``clip_length``, ``encoding``, ``n_bits``, ``bin_us``, ``polarity`` (None: the default in brackets), never both.

    Args:
        root: AFEW-VA folder holding ``001`` ... ``600``.
        cache_dir: cache folder (default ``$NEUROVA_CACHE`` or ``~/.cache/neurova``).
        contract: the input recipe of every split; the face crops are simulated at its ``image_size``.
        image_size: side of the square face crop in pixels, simulated and given to the model [128].
        margin: landmark box margin on each side, as a fraction of the landmarks' extent.
        smooth_window: frames over which the crop box is averaged.
        preset: simulator preset (``"clean"`` or ``"noisy"``).
        dvs_params: pixel-model parameters over the preset (e.g. ``{"shot_noise_rate_hz": 20.0}``; see
            :class:`~neurova.datasets.AFEWVASimulation`).
        upsample: temporal upsampling factor (None: the simulator decides).
        max_step_px: largest motion between interpolated frames in pixels.
        seed: simulator noise seed.
        mode: ``"frame"`` (T = 1) or ``"clip"`` (T = ``clip_length``) [``"clip"``].
        clip_length: consecutive frames per sample in clip mode [4].
        stride: step in frames between samples of a clip.
        encoding: ``"tbr"`` [default], ``"frame"``, ``"voxel"`` or ``"time_surface"`` (ablations).
        n_bits: TBR bits N [8].
        bin_us: TBR bin duration Δt in µs [5000].
        polarity: ``"merge"`` or ``"split"`` [``"merge"``].
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
        box_jitter: ``(shift, scale)`` of the face-box jitter of training samples (see :class:`EventDataModule`).
        train_phases_us: the training samples' windows end these many µs before their frames, the samples' in
            turn (see :class:`EventDataModule`).
    """

    dataset_class: ClassVar[type[AFEWVA]] = AFEWVA
    test_split = "val"  # AFEW-VA has no separate test set

    def __init__(
        self,
        root: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        contract: InputContract | dict[str, Any] | None = None,
        image_size: int | None = None,
        margin: float = 0.25,
        smooth_window: int = 9,
        preset: str = "clean",
        dvs_params: dict[str, float] | None = None,
        upsample: int | None = None,
        max_step_px: float | None = 1.0,
        seed: int = 0,
        mode: Literal["frame", "clip"] | None = None,
        clip_length: int | None = None,
        stride: int = 1,
        encoding: Encoding | None = None,
        n_bits: int | None = None,
        bin_us: int | None = None,
        polarity: Literal["merge", "split"] | None = None,
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
        box_jitter: tuple[float, float] | None = None,
        train_phases_us: tuple[int, ...] = (),
    ) -> None:
        resolved = afew_va_contract(contract, owner=type(self).__name__, image_size=image_size, mode=mode,
                                    clip_length=clip_length, encoding=encoding, n_bits=n_bits, bin_us=bin_us,
                                    polarity=polarity)
        super().__init__(resolved, batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                         hflip=hflip, box_jitter=box_jitter, train_phases_us=train_phases_us)
        self.save_hyperparameters()
        self._save_contract()
        self.root, self.cache_dir = root, cache_dir
        self.sim = AFEWVASimulation(image_size=resolved.image_size, margin=margin, smooth_window=smooth_window,
                                    preset=preset, dvs_params=dvs_params, upsample=upsample,
                                    max_step_px=max_step_px, seed=seed)
        self.build_workers = build_workers

    def prepare_data(self) -> None:
        """Simulate every clip missing from the cache (once, on one process per node)."""
        prepare_afew_va(self.root, self.cache_dir, self.sim, num_workers=self.build_workers, rank=0, world_size=1)

    def dataset_options(self) -> dict[str, Any]:
        hp = self.hparams
        return {"root": self.root, "cache_dir": self.cache_dir, "sim": self.sim, "stride": hp.stride,
                "n_folds": hp.n_folds, "fold": hp.fold, "split_seed": hp.split_seed, "split_file": hp.split_file,
                "build": False, "in_memory": hp.in_memory}
