"""LightningDataModule of NEFER (emotion labels; zero-shot evaluation of valence-arousal models)."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from neurova.contract import InputContract, resolve_contract
from neurova.datamodules.base import EventDataModule
from neurova.datasets.nefer import NEFER, NEFER_FRAMES_PER_CLIP, check_nefer_contract

__all__ = ["NEFERDataModule"]


class NEFERDataModule(EventDataModule):
    """NEFER's published train and validation users; the test loader serves the validation users.

    The input recipe is given either as ``contract`` (an :class:`~neurova.contract.InputContract` or its dict;
    ``NEFERDataModule(root, contract=model.input_contract)`` feeds a trained model exactly) or as the keyword
    arguments ``mode``, ``clip_length``, ``image_size``, ``n_bits``, ``bin_us``, ``frame_interval_us`` (None: the
    default in brackets), never both.

    Args:
        root: frames root holding ``user_XX/<clip_id>/frame_NN.png``.
        contract: the input recipe; TBR with merged polarity for ``modality="event"``, ``"rgb"`` for RGB
            (what the published frames are); raw recordings follow its ``resize`` too.
        annotations_dir: folder with ``expected_emotions/`` and ``reported_emotions/`` (default ``<root>/annotations``).
        raw_dir: folder of ``user_XX/<clip_id>.raw`` recordings, for clips without PNG frames.
        label_set: ``"expected"`` (7 Ekman classes) or ``"reported"`` (adds ``None`` = 7).
        modality: ``"event"`` (TBR frames) or ``"rgb"`` (GoPro frames).
        mode: ``"frame"`` (T = 1) or ``"clip"`` [``"clip"``].
        clip_length: T in clip mode [51: the whole clip].
        stride: step in frames between samples of a clip.
        image_size: frames are resized to this square side [128].
        n_bits: TBR bits N of raw recordings (and of the published PNGs) [8].
        bin_us: TBR bin duration Δt in µs [5000].
        frame_interval_us: time between consecutive frames, for the metadata (and the frame ends of recordings)
            [40,000].
        detect_face: crop recordings to the face found in their events (``True`` or ``"auto"``, ``"learned"``,
            ``"haar"``) as :func:`neurova.predict` does, instead of the centred square; PNG frames are unchanged.
        raise_threshold: read recordings at contrast thresholds this many times their camera's
            (:func:`neurova.encodings.raise_threshold`), as ``neurova.predict(raise_threshold=...)`` does.
        batch_size: samples per batch.
        num_workers: dataloader worker processes.
        pin_memory: pin host memory (None: when CUDA is available).
    """

    dataset_class: ClassVar[type[NEFER]] = NEFER
    val_split: ClassVar[str] = "validation"
    test_split = "validation"  # NEFER publishes train and validation users only

    def __init__(
        self,
        root: str | os.PathLike[str],
        annotations_dir: str | os.PathLike[str] | None = None,
        raw_dir: str | os.PathLike[str] | None = None,
        contract: InputContract | dict[str, Any] | None = None,
        label_set: Literal["expected", "reported"] = "expected",
        modality: Literal["event", "rgb"] = "event",
        mode: Literal["frame", "clip"] | None = None,
        clip_length: int | None = None,
        stride: int = 1,
        image_size: int | None = None,
        n_bits: int | None = None,
        bin_us: int | None = None,
        frame_interval_us: int | None = None,
        detect_face: bool | str = False,
        raise_threshold: int | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool | None = None,
    ) -> None:
        defaults = {"encoding": "tbr" if modality == "event" else "rgb", "polarity": "merge", "image_size": 128,
                    "clip_length": NEFER_FRAMES_PER_CLIP, "n_bits": 8, "bin_us": 5000, "frame_interval_us": 40_000}
        resolved = resolve_contract(contract, owner=type(self).__name__, defaults=defaults, mode=mode,
                                    clip_length=clip_length, image_size=image_size, n_bits=n_bits, bin_us=bin_us,
                                    frame_interval_us=frame_interval_us,
                                    data={"face_crop": "detector" if detect_face else None})
        super().__init__(check_nefer_contract(resolved, modality), batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory)
        self.save_hyperparameters()
        self._save_contract()
        self.label_set = label_set

    def dataset_options(self) -> dict[str, Any]:
        hp = self.hparams
        return {"root": hp.root, "label_set": hp.label_set, "modality": hp.modality, "stride": hp.stride,
                "annotations_dir": hp.annotations_dir, "raw_dir": hp.raw_dir, "detect_face": hp.detect_face,
                "raise_threshold": hp.raise_threshold}
