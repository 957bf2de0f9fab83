"""LightningDataModule of the synthetic faces (the embedded default; powers ``neurova demo``)."""

from __future__ import annotations

import os
from typing import Literal

from torch.utils.data import DataLoader

from neurova.contract import Encoding, InputContract
from neurova.datamodules.base import EventDataModule
from neurova.datasets.cache import event_contract
from neurova.datasets.synthetic import FRAME_INTERVAL_US, SyntheticFaces, SyntheticFacesConfig, synthetic_cache
from neurova.datasets.synthetic import prepare_synthetic_faces as _prepare

__all__ = ["SyntheticFacesDataModule"]


class SyntheticFacesDataModule(EventDataModule):
    """Procedural faces with known valence and arousal, simulated to events, TBR-encoded.

    ``prepare_data`` renders and simulates every clip into the cache once (seconds at the
    defaults); ``setup`` splits the regular clips by subject into train / val / test;
    the emotion clips (held at each Ekman emotion's point, labelled) are served by
    :meth:`emotion_dataloader`, and by the test loader when ``test_split="emotion"``.

    Args:
        cache_dir: cache folder (default ``$NEUROVA_CACHE`` or ``~/.cache/neurova``).
        n_subjects: identities of the regular clips.
        clips_per_subject: regular clips per identity.
        frames_per_clip: frames per clip at 25 fps.
        image_size: side S of the model input in pixels (H = W): each sample is the clip's face box
            brought to S x S by the contract's resize (the operator :func:`neurova.predict` uses).
        sensor_size: ``(W, H)`` of the rendered head-and-shoulders scene and its events, pixels.
        face_fraction: range of the face box side over the sensor height.
        supersample: renderer supersampling per direction.
        emotion_clips: also make the emotion-labelled clips.
        emotion_clips_per_emotion: emotion clips per emotion, each of another held-out identity.
        seed: seed of everything random (identities, trajectories, motion, sensor noise).
        preset: simulator preset (``"clean"`` or ``"noisy"``).
        upsample: temporal upsampling factor of the simulator (None: the simulator decides).
        max_step_px: largest motion between interpolated frames in pixels.
        mode: ``"frame"`` (T = 1) or ``"clip"`` (T = ``clip_length``).
        clip_length: consecutive frames per sample in clip mode.
        stride: step in frames between samples of a clip.
        encoding: ``"tbr"`` (default), ``"frame"``, ``"voxel"`` or ``"time_surface"`` (ablations).
        n_bits: TBR bits N (bins per frame).
        bin_us: TBR bin duration Δt in µs.
        polarity: ``"merge"`` (1 channel) or ``"split"`` (ON and OFF channels).
        val_fraction: share of subjects held out for validation.
        test_fraction: share of subjects held out for test.
        test_split: what the test loader serves: the held-out ``"test"`` subjects or the ``"emotion"`` clips.
        batch_size: samples per batch.
        num_workers: dataloader worker processes.
        build_workers: processes that render and simulate in ``prepare_data`` (0: in this process).
        in_memory: keep the events of each split in RAM (a few MB at the defaults).
        cache_frames: keep every sample's encoded frames in RAM after the first epoch (64 KiB per sample at
            4 frames of 64x64): later epochs skip cropping and encoding.
        pin_memory: pin host memory (None: when CUDA is available).
        hflip: probability of flipping a training sample left-right (see :class:`EventDataModule`).
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        n_subjects: int = 12,
        clips_per_subject: int = 4,
        frames_per_clip: int = 50,
        image_size: int = 64,
        sensor_size: tuple[int, int] = (160, 120),
        face_fraction: tuple[float, float] = (0.4, 0.6),
        supersample: int = 1,
        emotion_clips: bool = True,
        emotion_clips_per_emotion: int = 2,
        seed: int = 0,
        preset: str = "clean",
        upsample: int | None = None,
        max_step_px: float | None = 1.0,
        mode: Literal["frame", "clip"] = "clip",
        clip_length: int = 4,
        stride: int = 1,
        encoding: Encoding = "tbr",
        n_bits: int = 8,
        bin_us: int = 5000,
        polarity: Literal["merge", "split"] = "merge",
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        test_split: Literal["test", "emotion"] = "test",
        batch_size: int = 16,
        num_workers: int = 0,
        build_workers: int = 2,
        in_memory: bool = True,
        cache_frames: bool = False,
        pin_memory: bool | None = None,
        hflip: float = 0.0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory, hflip=hflip)
        self.save_hyperparameters()
        if test_split == "emotion" and not (emotion_clips and emotion_clips_per_emotion > 0):
            raise ValueError("test_split='emotion' needs emotion_clips=True and emotion_clips_per_emotion > 0")
        self.cache_dir = cache_dir
        self.config = SyntheticFacesConfig(
            n_subjects=n_subjects, clips_per_subject=clips_per_subject, frames_per_clip=frames_per_clip,
            image_size=image_size, sensor_size=sensor_size, face_fraction=face_fraction, supersample=supersample,
            emotion_clips_per_emotion=emotion_clips_per_emotion if emotion_clips else 0,
            seed=seed, preset=preset, upsample=upsample, max_step_px=max_step_px,
        )
        self.test_split = test_split
        self.build_workers = build_workers
        self._contract = event_contract(encoding=encoding, n_bits=n_bits, bin_us=bin_us, polarity=polarity,
                                        image_size=image_size, mode=mode, clip_length=clip_length,
                                        frame_interval_us=FRAME_INTERVAL_US, face_crop="box")
        self.emotion_set: SyntheticFaces | None = None

    @property
    def input_contract(self) -> InputContract:
        return self._contract

    @property
    def cache_root(self) -> str:
        """The cache folder of this configuration (``<cache_dir>/synthetic_faces/<key>``)."""
        return str(synthetic_cache(self.cache_dir, self.config).root)

    def prepare_data(self) -> None:
        """Render and simulate every clip missing from the cache (once, on one process per node)."""
        _prepare(self.cache_dir, self.config, num_workers=self.build_workers, rank=0, world_size=1)

    def _dataset(self, split: Literal["train", "val", "test", "emotion"]) -> SyntheticFaces:
        hp, c = self.hparams, self.config
        return SyntheticFaces(
            self.cache_dir, split, n_subjects=c.n_subjects, clips_per_subject=c.clips_per_subject,
            frames_per_clip=c.frames_per_clip, image_size=c.image_size, sensor_size=c.sensor_size,
            face_fraction=c.face_fraction, supersample=c.supersample, emotion_clips=c.emotion_clips_per_emotion > 0,
            emotion_clips_per_emotion=c.emotion_clips_per_emotion, seed=c.seed, preset=c.preset,
            upsample=c.upsample, max_step_px=c.max_step_px, mode=hp.mode, clip_length=hp.clip_length,
            stride=hp.stride, encoding=hp.encoding, n_bits=hp.n_bits, bin_us=hp.bin_us, polarity=hp.polarity,
            val_fraction=hp.val_fraction, test_fraction=hp.test_fraction, build=False, in_memory=hp.in_memory,
            cache_frames=hp.cache_frames,
        )

    def setup(self, stage: str | None = None) -> None:
        """Make the splits needed by ``stage`` (``"fit"``, ``"validate"``, ``"test"``, ``"predict"`` or all)."""
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._dataset("train")
        if stage in (None, "fit", "validate") and self.val_set is None:
            self.val_set = self._dataset("val")
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self._dataset(self.test_split)

    def emotion_dataloader(self) -> DataLoader:
        """Loader of the emotion-labelled clips (labels index :data:`neurova.emotions.EKMAN7_NAMES`)."""
        if self.config.emotion_clips_per_emotion == 0:
            raise RuntimeError("this datamodule was made with emotion_clips=False")
        if self.emotion_set is None:
            self.emotion_set = self._dataset("emotion")
        return self._loader(self.emotion_set, "emotion", shuffle=False)
