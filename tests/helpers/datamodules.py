"""Constants and checks the datamodule tests share: a tiny synthetic dataset, a contract, a quiet trainer."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from neurova.contract import InputContract

TINY: dict[str, Any] = {"n_subjects": 3, "clips_per_subject": 1, "frames_per_clip": 8, "sensor_size": (48, 36),
                        "emotion_clips_per_emotion": 1}
"""Arguments of a tiny :class:`~neurova.datamodules.SyntheticFacesDataModule`: 3 subjects, 8 frames a clip."""
CONTRACT = InputContract(image_size=16, clip_length=3, face_crop="box")
"""Clips of 3 TBR frames of 16 x 16, cropped to the true face box."""


def quiet_trainer(**kwargs: Any) -> L.Trainer:
    """A CPU ``Trainer`` without logger, progress bar, model summary or checkpoints."""
    return L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                     enable_checkpointing=False, **kwargs)


def check_batch(batch: dict[str, Any], contract: InputContract, *, va_known: bool = True) -> None:
    """A batch holds ``(B, *contract.shape)`` float32 frames in [0, 1] with events, VA and labels per sample."""
    frames = batch["frames"]
    b, t = frames.shape[0], contract.clip_length
    assert frames.shape == (b, *contract.shape) and frames.dtype == torch.float32
    assert float(frames.min()) >= 0.0 and float(frames.max()) <= 1.0 and float(frames.max()) > 0.0
    assert batch["va"].shape == (b, t, 2) and batch["va"].dtype == torch.float32
    if va_known:
        assert torch.isfinite(batch["va"]).all() and float(batch["va"].abs().max()) <= 1.0
    else:
        assert torch.isnan(batch["va"]).all()
    assert batch["label"].shape == (b,) and batch["label"].dtype == torch.int64
    assert batch["meta"]["timestamps_us"].shape == (b, t) and len(batch["meta"]["subject"]) == b


def subjects_of(dataset: Any) -> set[str]:
    """The subjects of every sample of ``dataset``."""
    return {dataset[i]["meta"]["subject"] for i in range(len(dataset))}
