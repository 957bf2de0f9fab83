"""LightningDataModule of the synthetic faces (the embedded default; powers ``neurova demo``)."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from torch.utils.data import DataLoader

from neurova.contract import Encoding, InputContract
from neurova.datamodules.base import EventDataModule
from neurova.datasets.synthetic import (
    SyntheticFaces,
    SyntheticFacesConfig,
    check_splits,
    synthetic_cache,
    synthetic_contract,
)
from neurova.datasets.synthetic import prepare_synthetic_faces as _prepare

__all__ = ["SyntheticFacesDataModule"]


class SyntheticFacesDataModule(EventDataModule):
    """Procedural faces with known valence and arousal, simulated to events, TBR-encoded.

    ``prepare_data`` renders and simulates every clip into the cache once (seconds at the
    defaults), or only those of ``build_splits``; ``setup`` splits the regular clips by subject
    into train / val / test; the emotion clips (held at each Ekman emotion's point, labelled) are served by
    :meth:`emotion_dataloader`, and by the test loader when ``test_split="emotion"``.

    The input recipe is given either as ``contract`` (an :class:`~neurova.contract.InputContract` or its dict;
    ``SyntheticFacesDataModule(contract=model.input_contract)`` feeds a trained model exactly) or as the keyword
    arguments ``image_size``, ``mode``, ``clip_length``, ``encoding``, ``n_bits``, ``bin_us``, ``polarity``
    (None: the default in brackets), never both.

    Args:
        cache_dir: cache folder (default ``$NEUROVA_CACHE`` or ``~/.cache/neurova``).
        contract: the input recipe of every split; its ``frame_interval_us`` must be the clips' 40,000 µs.
        n_subjects: identities of the regular clips.
        clips_per_subject: regular clips per identity.
        frames_per_clip: frames per clip at 25 fps.
        image_size: side S of the model input in pixels (H = W) [64]: each sample is the clip's face box
            brought to S x S by the contract's resize (the operator :func:`neurova.predict` uses).
        sensor_size: ``(W, H)`` of the rendered head-and-shoulders scene and its events, pixels.
        face_fraction: range of the face box side over the sensor height.
        supersample: renderer supersampling per direction.
        emotion_clips: also make the emotion-labelled clips.
        emotion_clips_per_emotion: emotion clips per emotion, each of another held-out identity.
        seed: seed of everything random (identities, trajectories, motion, sensor noise).
        preset: simulator preset (``"clean"`` or ``"noisy"``).
        dvs_params: pixel-model parameters over the preset (e.g. ``{"shot_noise_rate_hz": 20.0}``; see
            :class:`~neurova.datasets.SyntheticFacesConfig`).
        upsample: temporal upsampling factor of the simulator (None: the simulator decides).
        max_step_px: largest motion between interpolated frames in pixels.
        mode: ``"frame"`` (T = 1) or ``"clip"`` (T = ``clip_length``) [``"clip"``].
        clip_length: consecutive frames per sample in clip mode [4].
        stride: step in frames between samples of a clip.
        encoding: ``"tbr"`` [default], ``"frame"``, ``"voxel"`` or ``"time_surface"`` (ablations).
        n_bits: TBR bits N (bins per frame) [8].
        bin_us: TBR bin duration Δt in µs [5000].
        polarity: ``"merge"`` (1 channel) or ``"split"`` (ON and OFF channels) [``"merge"``].
        val_fraction: share of subjects held out for validation.
        test_fraction: share of subjects held out for test.
        test_split: what the test loader serves: the held-out ``"test"`` subjects or the ``"emotion"`` clips.
        batch_size: samples per batch.
        num_workers: dataloader worker processes.
        build_workers: processes that render and simulate in ``prepare_data`` (0: in this process).
        build_splits: the splits whose clips ``prepare_data`` builds (None: every clip), e.g. ``["emotion"]``
            with ``test_split="emotion"`` to test a model zero-shot without the training clips (14 of the default
            62 clips; what ``neurova zero-shot --data synthetic`` does). A clip's events do not depend on what
            is built with it, so a later ``prepare_data`` with every split adds only the missing clips.
        in_memory: keep the events of each split in RAM (a few MB at the defaults).
        cache_frames: keep every sample's encoded frames in RAM after the first epoch (64 KiB per sample at
            4 frames of 64x64): later epochs skip cropping and encoding.
        pin_memory: pin host memory (None: when CUDA is available).
        hflip: probability of flipping a training sample left-right (see :class:`EventDataModule`).
        box_jitter: ``(shift, scale)`` of the face-box jitter of training samples (see :class:`EventDataModule`).
        train_phases_us: the training samples' windows end these many µs before their frames, the samples' in
            turn (see :class:`EventDataModule`).
    """

    dataset_class: ClassVar[type[SyntheticFaces]] = SyntheticFaces

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        contract: InputContract | dict[str, Any] | None = None,
        n_subjects: int = 12,
        clips_per_subject: int = 4,
        frames_per_clip: int = 50,
        image_size: int | None = None,
        sensor_size: tuple[int, int] = (160, 120),
        face_fraction: tuple[float, float] = (0.4, 0.6),
        supersample: int = 1,
        emotion_clips: bool = True,
        emotion_clips_per_emotion: int = 2,
        seed: int = 0,
        preset: str = "clean",
        dvs_params: dict[str, float] | None = None,
        upsample: int | None = None,
        max_step_px: float | None = 1.0,
        mode: Literal["frame", "clip"] | None = None,
        clip_length: int | None = None,
        stride: int = 1,
        encoding: Encoding | None = None,
        n_bits: int | None = None,
        bin_us: int | None = None,
        polarity: Literal["merge", "split"] | None = None,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        test_split: Literal["test", "emotion"] = "test",
        batch_size: int = 16,
        num_workers: int = 0,
        build_workers: int = 2,
        build_splits: list[str] | None = None,
        in_memory: bool = True,
        cache_frames: bool = False,
        pin_memory: bool | None = None,
        hflip: float = 0.0,
        box_jitter: tuple[float, float] | None = None,
        train_phases_us: tuple[int, ...] = (),
    ) -> None:
        if test_split == "emotion" and not (emotion_clips and emotion_clips_per_emotion > 0):
            raise ValueError("test_split='emotion' needs emotion_clips=True and emotion_clips_per_emotion > 0")
        build_splits = check_splits(build_splits, "build_splits")
        resolved = synthetic_contract(contract, owner=type(self).__name__, image_size=image_size, mode=mode,
                                      clip_length=clip_length, encoding=encoding, n_bits=n_bits, bin_us=bin_us,
                                      polarity=polarity)
        super().__init__(resolved, batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                         hflip=hflip, box_jitter=box_jitter, train_phases_us=train_phases_us)
        self.save_hyperparameters()
        self._save_contract()
        self.cache_dir = cache_dir
        self.config = SyntheticFacesConfig(
            n_subjects=n_subjects, clips_per_subject=clips_per_subject, frames_per_clip=frames_per_clip,
            image_size=resolved.image_size, sensor_size=sensor_size, face_fraction=face_fraction,
            supersample=supersample, emotion_clips_per_emotion=emotion_clips_per_emotion if emotion_clips else 0,
            seed=seed, preset=preset, dvs_params=dvs_params, upsample=upsample, max_step_px=max_step_px,
        )
        self.test_split = test_split
        self.build_workers = build_workers
        self.build_splits = build_splits
        self.emotion_set: SyntheticFaces | None = None

    @property
    def cache_root(self) -> str:
        """The cache folder of this configuration (``<cache_dir>/synthetic_faces/<key>``)."""
        return str(synthetic_cache(self.cache_dir, self.config).root)

    def prepare_data(self) -> None:
        """Render and simulate the clips of :attr:`build_splits` (None: every clip) missing from the cache (once,
        on one process per node)."""
        _prepare(self.cache_dir, self.config, splits=self.build_splits, val_fraction=self.hparams.val_fraction,
                 test_fraction=self.hparams.test_fraction, num_workers=self.build_workers, rank=0, world_size=1)

    def dataset_options(self) -> dict[str, Any]:
        hp = self.hparams
        return {"root": self.cache_dir, "config": self.config, "stride": hp.stride, "val_fraction": hp.val_fraction,
                "test_fraction": hp.test_fraction, "build": False, "in_memory": hp.in_memory,
                "cache_frames": hp.cache_frames}

    def emotion_dataloader(self) -> DataLoader:
        """Loader of the emotion-labelled clips (labels index :data:`neurova.emotions.EKMAN7_NAMES`)."""
        if self.config.emotion_clips_per_emotion == 0:
            raise RuntimeError("this datamodule was made with emotion_clips=False")
        if self.emotion_set is None:
            self.emotion_set = self.make_dataset("emotion")
        return self._loader(self.emotion_set, "emotion", shuffle=False)
