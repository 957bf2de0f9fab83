"""LightningDataModule of NEFER (emotion labels; zero-shot evaluation of valence-arousal models)."""

from __future__ import annotations

import os
from typing import Literal

from neurova.contract import InputContract
from neurova.datamodules.base import EventDataModule
from neurova.datasets.nefer import NEFER

__all__ = ["NEFERDataModule"]


class NEFERDataModule(EventDataModule):
    """NEFER's published train and validation users; the test loader serves the validation users.

    Args:
        root: frames root holding ``user_XX/<clip_id>/frame_NN.png``.
        annotations_dir: folder with ``expected_emotions/`` and ``reported_emotions/`` (default ``<root>/annotations``).
        raw_dir: folder of ``user_XX/<clip_id>.raw`` recordings, for clips without PNG frames.
        label_set: ``"expected"`` (7 Ekman classes) or ``"reported"`` (adds ``None`` = 7).
        modality: ``"event"`` (TBR frames) or ``"rgb"`` (GoPro frames).
        mode: ``"frame"`` (T = 1) or ``"clip"``.
        clip_length: T in clip mode (None: all 51 frames).
        stride: step in frames between samples of a clip.
        image_size: frames are resized to this square side (None: keep).
        n_bits: TBR bits N of raw recordings (and of the published PNGs).
        bin_us: TBR bin duration Δt in µs.
        frame_interval_us: time between consecutive frames, for the metadata (and the frame ends of recordings).
        detect_face: crop recordings to the face found in their events (``True`` or ``"auto"``, ``"learned"``,
            ``"haar"``) as :func:`neurova.predict` does, instead of the centred square; PNG frames are unchanged.
        batch_size: samples per batch.
        num_workers: dataloader worker processes.
        pin_memory: pin host memory (None: when CUDA is available).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        annotations_dir: str | os.PathLike[str] | None = None,
        raw_dir: str | os.PathLike[str] | None = None,
        label_set: Literal["expected", "reported"] = "expected",
        modality: Literal["event", "rgb"] = "event",
        mode: Literal["frame", "clip"] = "clip",
        clip_length: int | None = None,
        stride: int = 1,
        image_size: int | None = 128,
        n_bits: int = 8,
        bin_us: int = 5000,
        frame_interval_us: int = 40_000,
        detect_face: bool | str = False,
        batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory)
        self.save_hyperparameters()
        self.label_set = label_set

    def _dataset(self, split: Literal["train", "validation"]) -> NEFER:
        hp = self.hparams
        return NEFER(
            hp.root, split, label_set=hp.label_set, modality=hp.modality, mode=hp.mode, clip_length=hp.clip_length,
            stride=hp.stride, image_size=hp.image_size, annotations_dir=hp.annotations_dir, raw_dir=hp.raw_dir,
            n_bits=hp.n_bits, bin_us=hp.bin_us, frame_interval_us=hp.frame_interval_us, detect_face=hp.detect_face,
        )

    @property
    def input_contract(self) -> InputContract:
        hp = self.hparams
        return InputContract(
            encoding="tbr" if hp.modality == "event" else "frame", n_bits=hp.n_bits, bin_us=hp.bin_us,
            polarity="merge", normalize="max", channels=1 if hp.modality == "event" else 3,
            image_size=hp.image_size or 0,
            clip_length=1 if hp.mode == "frame" else (hp.clip_length or 51),
            frame_interval_us=hp.frame_interval_us, face_crop="detector" if hp.detect_face else None,
        )

    def setup(self, stage: str | None = None) -> None:
        """Make the splits needed by ``stage``."""
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._dataset("train")
        if stage in (None, "fit", "validate", "test", "predict") and self.val_set is None:
            self.val_set = self._dataset("validation")
        if stage in (None, "test", "predict"):
            self.test_set = self.val_set
