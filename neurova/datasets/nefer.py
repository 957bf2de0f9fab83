"""NEFER (Berlincioni et al., "Neuromorphic Event-based Facial Expression Recognition", CVPRW 2023).

The published annotations are headerless CSVs with rows ``user, clip_id, frame_path, label``::

    annotations/expected_emotions/{train,validation}_{event,gopro}.csv
    annotations/reported_emotions/{train,validation}_{event,gopro}_subjective.csv

``expected`` labels are the 7 Ekman emotions each clip was meant to elicit;
``reported`` labels are what the user reported, and add ``None``. Every clip has
51 frames. Frame paths carry inconsistent prefixes (``../event_frame_NEW/…``,
``rgb_frames/…``, ``../gopro_frame/…``): neurova resolves them against a
user-given frames root by their stable tail ``user_XX/<clip_id>/frame_NN.png``.

Event frames are TBR PNGs (8-bit codes; divided by 255, i.e. ``normalize="max"``).
A clip may instead come as a recording ``<raw_dir>/user_XX/<clip_id>.raw`` (or
``.dat``, ``.aedat4``, ``.h5``, ``.npz``: any file :func:`neurova.io.read_recording`
reads), encoded on the fly exactly as :func:`neurova.predict` encodes recordings
(:class:`neurova.transforms.ToModelInput`), frame ``k`` ending ``(k + 1) * frame_interval_us``
µs after the first event, resized to ``image_size``. The crop is the largest centred
square of the sensor, or with ``detect_face`` the face found and tracked in the events
as :func:`neurova.predict` does (:func:`neurova.faces.track_face_boxes`): the track is
computed once per recording over the end times of its samples' last frames, and each
sample is cropped to the box at its last frame's end, as the training samples are cropped
to their true face box. PNG frames are encoded already and cannot be re-cropped.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from neurova import faces
from neurova._paths import join_inside
from neurova.contract import InputContract, Resize, as_contract, channels_for
from neurova.emotions import EKMAN7_NAMES
from neurova.encodings import rescale
from neurova.errors import AnnotationError, DatasetNotFoundError, InputContractError, NeurovaError, VideoFormatError
from neurova.events import SensorSize, search_times, slice_time
from neurova.image import crop_and_resize, read_image

__all__ = [
    "NEFER",
    "NEFER_CLASSES",
    "NEFER_FRAMES_PER_CLIP",
    "NEFERClip",
    "check_nefer_contract",
    "class_counts",
    "frame_tail",
    "nefer_csv_path",
    "read_nefer_csv",
]

NEFER_CLASSES: tuple[str, ...] = (*EKMAN7_NAMES, "None")
"""Label names by index: the 7 Ekman emotions of :data:`neurova.emotions.EKMAN7_NAMES`, then ``"None"`` = 7."""

NEFER_FRAMES_PER_CLIP = 51
"""Frames per NEFER clip, as published."""

RECORDING_SUFFIXES = (".raw", ".dat", ".aedat4", ".aedat", ".h5", ".hdf5", ".npz")
"""Suffixes of per-clip recordings looked up as ``<raw_dir>/user_XX/<clip_id><suffix>``, in this order."""

_CLASS_INDEX = {name: i for i, name in enumerate(NEFER_CLASSES)}
PathLike = str | os.PathLike[str]


@dataclass
class NEFERClip:
    """One clip of a NEFER annotation file.

    Attributes:
        user: ``"user_XX"`` (the unit of NEFER's subject-independent split).
        clip_id: the recording name (``user01_2022-06-08_12-20-03_cd`` or ``GOPR0762``).
        frame_tails: ``user_XX/<clip_id>/frame_NN.png`` of each frame, in file order.
        labels: ``(T,)`` int64 class index per frame (:data:`NEFER_CLASSES`).
    """

    user: str
    clip_id: str
    frame_tails: list[str]
    labels: np.ndarray

    @property
    def label(self) -> int:
        """The clip's class index (its last frame's)."""
        return int(self.labels[-1])

    @property
    def frame_indices(self) -> np.ndarray:
        """``(T,)`` int64 frame numbers from the ``frame_NN.png`` names."""
        return np.array([_frame_number(t) for t in self.frame_tails], dtype=np.int64)


def _frame_number(tail: str) -> int:
    stem = Path(tail).stem
    digits = stem.rsplit("_", 1)[-1]
    return int(digits) if digits.isdigit() else -1


def frame_tail(frame_path: str) -> str:
    """The stable tail ``user_XX/<clip_id>/frame_NN.png`` of a NEFER frame path, whatever its prefix."""
    parts = [p for p in frame_path.strip().replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if len(parts) < 3:
        raise ValueError(f"frame path {frame_path!r} has no user_XX/<clip_id>/<frame> tail")
    return "/".join(parts[-3:])


def nefer_csv_path(
    annotations_dir: PathLike,
    split: Literal["train", "validation"],
    label_set: Literal["expected", "reported"] = "expected",
    modality: Literal["event", "rgb"] = "event",
) -> Path:
    """Where NEFER publishes the annotations of ``split`` / ``label_set`` / ``modality``."""
    if split not in ("train", "validation"):
        raise ValueError(f"NEFER splits are 'train' and 'validation', got {split!r}")
    if label_set not in ("expected", "reported"):
        raise ValueError(f"label_set must be 'expected' or 'reported', got {label_set!r}")
    if modality not in ("event", "rgb"):
        raise ValueError(f"modality must be 'event' or 'rgb', got {modality!r}")
    kind = "event" if modality == "event" else "gopro"
    if label_set == "expected":
        return Path(annotations_dir) / "expected_emotions" / f"{split}_{kind}.csv"
    return Path(annotations_dir) / "reported_emotions" / f"{split}_{kind}_subjective.csv"


def read_nefer_csv(path: PathLike) -> list[NEFERClip]:
    """Parse a headerless NEFER annotation CSV into clips, in file order.

    Raises:
        DatasetNotFoundError: the file is missing.
        AnnotationError: a row without 4 fields, an unknown label or a bad frame path (naming file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError("NEFER annotation CSV not found", path)
    clips: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
    with path.open(newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != 4:
                raise AnnotationError(f"line {line}: expected 4 fields (user, clip_id, frame_path, label), got {row}", path)
            user, clip_id, frame_path, label = (c.strip() for c in row)
            if label not in _CLASS_INDEX:
                raise AnnotationError(f"line {line}: unknown label {label!r} (expected one of {NEFER_CLASSES})", path)
            try:
                tail = frame_tail(frame_path)
            except ValueError as exc:
                raise AnnotationError(f"line {line}: {exc}", path) from exc
            tails, labels = clips.setdefault((user, clip_id), ([], []))
            tails.append(tail)
            labels.append(_CLASS_INDEX[label])
    return [NEFERClip(u, c, t, np.asarray(lab, dtype=np.int64)) for (u, c), (t, lab) in clips.items()]


class NEFER(Dataset):
    """NEFER clips as TBR event frames (PNG or raw recordings) or RGB frames, with emotion labels.

    Sample dict: ``frames`` ``(T, C, H, W)`` float32 in [0, 1] (C = 1 for events, 3 for RGB),
    ``va`` ``(T, 2)`` NaN (NEFER has no valence/arousal), ``label`` int64 (last frame's class,
    :data:`NEFER_CLASSES`), ``meta`` with ``clip_id``, ``subject`` (the user), ``frame_indices``
    and ``timestamps_us`` (frame number x ``frame_interval_us``).

    Args:
        root: frames root holding ``user_XX/<clip_id>/frame_NN.png``.
        split: ``"train"`` or ``"validation"`` (``"val"`` is accepted), NEFER's published users.
        label_set: ``"expected"`` (7 classes) or ``"reported"`` (adds ``None`` = 7).
        modality: ``"event"`` (``*_event.csv``) or ``"rgb"`` (``*_gopro.csv``).
        mode: ``"frame"`` (one frame per sample) or ``"clip"``.
        clip_length: T in clip mode (None: the whole clip, 51 frames).
        stride: step between samples of a clip.
        image_size: frames are resized to ``image_size`` square (None: keep their size).
        annotations_dir: folder with ``expected_emotions/`` and ``reported_emotions/``
            (default ``<root>/annotations``).
        raw_dir: folder of ``user_XX/<clip_id>.raw`` (or ``.dat``, ``.aedat4``, ``.h5``, ``.npz``) recordings
            used for clips without PNG frames.
        n_bits, bin_us: TBR settings for raw recordings (PNG frames are already encoded).
        frame_interval_us: time between consecutive frames, for ``meta["timestamps_us"]``.
        contract: the input recipe (:class:`~neurova.contract.InputContract` or its dict, e.g. a model's
            ``model.input_contract``) instead of ``mode``, ``clip_length``, ``image_size``, ``n_bits``, ``bin_us`` and
            ``frame_interval_us`` (which must then keep their defaults); raw recordings also follow its ``resize``.
            Its encoding must be ``"tbr"`` with merged polarity and ``normalize="max"`` (``"rgb"`` for
            ``modality="rgb"``): what the published frames are.
        detect_face: crop recordings to the face found in their events instead of the centred square:
            ``True`` or ``"auto"``, ``"learned"``, ``"haar"`` (:func:`neurova.faces.get_face_detector`), or a
            callable ``detector(events, sensor_size) -> box | None``. Detections run as in
            :func:`neurova.predict` (every :data:`neurova.faces.DETECT_EVERY_US` on the last
            :data:`neurova.faces.DETECT_WINDOW_US`, tracked); sample ends without a face use the centred
            square, with one :class:`neurova.faces.NoFaceWarning` per recording. Needs ``image_size``.
        raise_threshold: a whole number ``k``: read each recording as the events of contrast thresholds ``k`` times
            its camera's (:func:`neurova.encodings.raise_threshold`, before the face is searched), as
            ``neurova.predict(raise_threshold=k)`` does; for a camera ``k`` times as sensitive as a model's
            training sensor.

    Raises:
        DatasetNotFoundError: no root, no annotation CSV, or no clip with its frames or recording.
        ValueError: ``raw_dir``, ``detect_face`` or ``raise_threshold`` with ``modality="rgb"``; ``detect_face``
            without ``image_size``; a ``raise_threshold`` that is not a whole number >= 1.
        InputContractError: ``contract`` with recipe keyword arguments, or a recipe NEFER's frames do not follow.
    """

    def __init__(
        self,
        root: PathLike,
        split: Literal["train", "validation", "val"] = "train",
        *,
        label_set: Literal["expected", "reported"] = "expected",
        modality: Literal["event", "rgb"] = "event",
        mode: Literal["frame", "clip"] = "clip",
        clip_length: int | None = None,
        stride: int = 1,
        image_size: int | None = 128,
        annotations_dir: PathLike | None = None,
        raw_dir: PathLike | None = None,
        n_bits: int = 8,
        bin_us: int = 5000,
        frame_interval_us: int = 40_000,
        detect_face: bool | str | faces.FaceDetector = False,
        contract: InputContract | Mapping[str, Any] | None = None,
        raise_threshold: int | None = None,
    ) -> None:
        self.resize: Resize = "events"
        if contract is not None:
            contract = _nefer_recipe(contract, modality, mode=mode, clip_length=clip_length, image_size=image_size,
                                     n_bits=n_bits, bin_us=bin_us, frame_interval_us=frame_interval_us)
            mode, clip_length, image_size = "clip", contract.clip_length, contract.image_size
            n_bits, bin_us, frame_interval_us = contract.n_bits, contract.bin_us, contract.frame_interval_us
            self.resize = contract.resize
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetNotFoundError("NEFER frames root not found", self.root)
        self.split = "validation" if split == "val" else split
        self.label_set, self.modality = label_set, modality
        self.annotations_dir = Path(annotations_dir) if annotations_dir is not None else self.root / "annotations"
        self.raw_dir = Path(raw_dir) if raw_dir is not None else None
        if modality == "rgb" and (raw_dir is not None or detect_face or raise_threshold is not None):
            raise ValueError("raw recordings hold events: raw_dir, detect_face and raise_threshold need "
                             "modality='event'")
        self.raise_threshold = None if raise_threshold is None else rescale.check_threshold_factor(raise_threshold)
        if detect_face and image_size is None:
            raise ValueError("detect_face needs image_size: the tracked face boxes differ in size")
        self.detect_face = detect_face
        self._detector = _detector(detect_face)
        self.csv_path = nefer_csv_path(self.annotations_dir, self.split, label_set, modality)
        self.image_size = image_size
        self.encoding: Literal["tbr", "rgb"] = "tbr" if modality == "event" else "rgb"
        self.channels = channels_for(self.encoding)
        self.n_bits, self.bin_us, self.frame_interval_us = n_bits, bin_us, frame_interval_us
        self.length = 1 if mode == "frame" else clip_length
        if self.length is not None and self.length < 1:
            raise ValueError(f"clip_length must be positive, got {clip_length}")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.clips, self.sources = self._resolve(read_nefer_csv(self.csv_path))
        self._recording_cache: tuple[Path, Any] | None = None
        self._boxes: dict[int, np.ndarray] = {}
        self._sized: tuple[tuple[int, int, tuple[int, ...]], np.ndarray] | None = None  # one box sensor's events
        self.index: list[tuple[int, int, int]] = []
        for c, clip in enumerate(self.clips):
            n = len(clip.frame_tails)
            length = n if self.length is None else self.length
            self.index.extend((c, s, s + length) for s in range(0, n - length + 1, stride))

    def _resolve(self, clips: list[NEFERClip]) -> tuple[list[NEFERClip], list[Path]]:
        kept, sources, missing = [], [], []
        for clip in clips:
            if all(join_inside(self.root, t, what="NEFER frame", source=self.csv_path).is_file()
                   for t in clip.frame_tails):
                kept.append(clip)
                sources.append(self.root / clip.frame_tails[0].rsplit("/", 1)[0])
                continue
            raw = self._recording(clip)
            if raw is not None:
                kept.append(clip)
                sources.append(raw)
            else:
                missing.append(clip.clip_id)
        if missing:
            warnings.warn(
                f"NEFER {self.split}/{self.label_set}/{self.modality}: {len(missing)} of {len(clips)} clips have "
                f"missing frames under {self.root} and are skipped (e.g. {', '.join(missing[:5])})",
                stacklevel=3,
            )
        if not kept:
            raise DatasetNotFoundError(f"no NEFER clip of {self.csv_path.name} has its frames here", self.root)
        return kept, sources

    def _recording(self, clip: NEFERClip) -> Path | None:
        if self.raw_dir is None:
            return None
        user_dir = join_inside(self.raw_dir, clip.user, what="NEFER user", source=self.csv_path)
        for suffix in RECORDING_SUFFIXES:
            path = join_inside(user_dir, f"{clip.clip_id}{suffix}", what="NEFER clip id", source=self.csv_path)
            if path.is_file():
                return path
        return None

    @property
    def input_contract(self) -> InputContract:
        """The recipe of this dataset's frames (TBR codes for events; ``encoding="rgb"`` images for RGB).

        With ``image_size=None`` the frames keep their size: the first sample's is read to tell it.
        """
        return self._contract(self.image_size or int(self[0]["frames"].shape[-1]))

    def _contract(self, image_size: int) -> InputContract:
        return InputContract(
            encoding=self.encoding, n_bits=self.n_bits, bin_us=self.bin_us, polarity="merge", normalize="max",
            image_size=image_size, clip_length=self.length or NEFER_FRAMES_PER_CLIP,
            frame_interval_us=self.frame_interval_us, face_crop="detector" if self._detector is not None else None,
            resize=self.resize,
        )

    def __len__(self) -> int:
        return len(self.index)

    def _load_pngs(self, clip: NEFERClip, start: int, stop: int) -> torch.Tensor:
        mode = "gray" if self.channels == 1 else "rgb"
        frames = [torch.from_numpy(np.atleast_3d(read_image(self.root / t, mode=mode)).transpose(2, 0, 1).copy())
                  for t in clip.frame_tails[start:stop]]
        shapes = {tuple(f.shape) for f in frames}
        if len(shapes) > 1:
            raise VideoFormatError(f"frames of clip {clip.clip_id} differ in size: {sorted(shapes)}",
                                   self.root / clip.frame_tails[start])
        return torch.stack(frames).float().div_(255.0)

    def _read_recording(self, path: Path) -> tuple[np.ndarray, SensorSize]:
        """The events (at the raised threshold, if any) and sensor size of a recording, cached (frame mode reads one
        recording 51 times)."""
        from neurova.io import read_recording

        if self._recording_cache is None or self._recording_cache[0] != path:
            recording = read_recording(path)
            events, sensor = recording.events, SensorSize.of(recording.sensor_size)
            if len(events) == 0:
                raise NeurovaError("the recording holds no events", path)
            if self.raise_threshold is not None:
                events = rescale.raise_threshold(events, sensor, self.raise_threshold)
            self._recording_cache = (path, (events, sensor))
        return self._recording_cache[1]

    def _first_stop(self, clip: NEFERClip) -> int:
        """``stop`` of a clip's first sample: its samples end at frames ``first_stop - 1 .. T - 1``."""
        return len(clip.frame_tails) if self.length is None else self.length

    def _face_boxes(self, c: int, path: Path, events: np.ndarray, sensor: SensorSize) -> np.ndarray:
        """``(T - first_stop + 1, 4)`` int64 face boxes of clip ``c`` at every possible sample end, tracked once
        (the centred square without ``detect_face``)."""
        if c not in self._boxes:
            clip = self.clips[c]
            ends = self._sample_ends(clip, events)
            if self._detector is None:
                self._boxes[c] = np.tile(np.asarray(faces.centre_square(sensor), dtype=np.int64), (len(ends), 1))
                return self._boxes[c]
            boxes, found = faces.track_face_boxes(events, sensor, ends, detector=self._detector)
            if not found.all():
                missed = np.flatnonzero(~found)
                warnings.warn(
                    f"{path}: no face found at {len(missed)} of {len(ends)} sample ends (the first at "
                    f"{int(ends[missed[0]])} µs); those samples use the fallback box {faces.centre_square(sensor)} "
                    f"(x0, y0, width, height: the largest centred square of the {sensor.width}x{sensor.height} "
                    "sensor)",
                    faces.NoFaceWarning, stacklevel=4,
                )
            self._boxes[c] = boxes
        return self._boxes[c]

    def _sample_ends(self, clip: NEFERClip, events: np.ndarray) -> np.ndarray:
        """``(T - first_stop + 1,)`` int64 µs: the end of every possible sample's last frame."""
        stops = np.arange(self._first_stop(clip), len(clip.frame_tails) + 1, dtype=np.int64)
        return int(events["t"][0]) + stops * self.frame_interval_us

    def sample_box(self, i: int) -> tuple[int, int, int, int] | None:
        """The crop ``(x0, y0, width, height)`` in sensor pixels of sample ``i``; ``None`` for PNG frames.

        The centred square of the sensor, or with ``detect_face`` the tracked face box at the end of the
        sample's last frame (the same box :func:`neurova.predict` uses at that time).
        """
        c, _, stop = self.index[i]
        path = self.sources[c]
        if path.is_dir():
            return None
        events, sensor = self._read_recording(path)
        box = self._face_boxes(c, path, events, sensor)[stop - self._first_stop(self.clips[c])]
        return tuple(int(v) for v in box)

    def _load_recording(self, i: int) -> torch.Tensor:
        """The frames of sample ``i`` from its clip's recording, encoded as :func:`neurova.predict` would: the box's
        sensor runs from the start :func:`~neurova.transforms.box_sensor_starts` gives over the samples' windows
        that hold events (``predict`` skips the others), and its events are resized once per clip and start."""
        from neurova.transforms import ToModelInput, box_sensor_starts

        c, start, stop = self.index[i]
        clip, path = self.clips[c], self.sources[c]
        events, sensor = self._read_recording(path)
        box = self.sample_box(i)
        assert box is not None
        encoder = ToModelInput(self._contract(self.image_size or box[2]), box, num_frames=stop - start)
        ends, boxes = self._sample_ends(clip, events), self._face_boxes(c, path, events, sensor)
        held = search_times(events["t"], ends) > search_times(events["t"], ends - encoder.history_us)
        since = np.where(held, 0, ends - encoder.history_us)
        since[held] = box_sensor_starts(ends[held], boxes[held], encoder.history_us)
        j = stop - self._first_stop(clip)
        key = (c, int(since[j]), box)
        if self._sized is None or self._sized[0] != key:
            last = int(ends[(since == since[j]) & (boxes == boxes[j]).all(axis=1)].max())
            self._sized = (key, encoder.resizer()(encoder.crop(slice_time(events, int(since[j]), last))))
        frames = encoder.encode_sized(self._sized[1], int(ends[j]))
        return torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))

    def __getitem__(self, i: int) -> dict[str, Any]:
        c, start, stop = self.index[i]
        clip, source = self.clips[c], self.sources[c]
        frames = self._load_pngs(clip, start, stop) if source.is_dir() else self._load_recording(i)
        indices = clip.frame_indices[start:stop]
        return {
            "frames": crop_and_resize(frames, size=self.image_size, interpolation="area").contiguous(),
            "va": torch.full((stop - start, 2), float("nan")),
            "label": torch.tensor(int(clip.labels[stop - 1]), dtype=torch.int64),
            "meta": {
                "clip_id": clip.clip_id,
                "subject": clip.user,
                "frame_indices": torch.from_numpy(indices.copy()),
                "timestamps_us": torch.from_numpy(indices * self.frame_interval_us),
            },
        }

    @property
    def users(self) -> list[str]:
        """The users of this split, sorted."""
        return sorted({c.user for c in self.clips})


_RECIPE_DEFAULTS = {"mode": "clip", "clip_length": None, "image_size": 128, "n_bits": 8, "bin_us": 5000,
                    "frame_interval_us": 40_000}


def _nefer_recipe(contract: InputContract | Mapping[str, Any], modality: str, **recipe: Any) -> InputContract:
    """``contract`` checked against NEFER's frames; ``recipe`` (the keyword arguments) must keep its defaults."""
    changed = sorted(k for k, v in recipe.items() if v != _RECIPE_DEFAULTS[k])
    if changed:
        raise InputContractError(f"NEFER: give the input recipe either as contract=... or as keyword arguments, not "
                                 f"both (got contract and {', '.join(changed)})")
    return check_nefer_contract(contract, modality)


def check_nefer_contract(contract: InputContract | Mapping[str, Any],
                         modality: Literal["event", "rgb"] = "event") -> InputContract:
    """``contract`` if NEFER can make its frames: TBR, merged polarity, ``normalize="max"`` for events (what the
    published PNGs are), ``"rgb"`` for the GoPro frames.

    Raises:
        InputContractError: naming each key NEFER's frames cannot follow.
    """
    contract = as_contract(contract)
    expected = {"encoding": "tbr" if modality == "event" else "rgb", "polarity": "merge", "normalize": "max"}
    wrong = {k: getattr(contract, k) for k, v in expected.items() if getattr(contract, k) != v}
    if wrong:
        detail = ", ".join(f"{k}={v!r} (NEFER's {modality} frames have {expected[k]!r})" for k, v in wrong.items())
        raise InputContractError(f"NEFER cannot make frames with {detail}")
    return contract


def _detector(detect_face: bool | str | faces.FaceDetector | None) -> faces.FaceDetector | None:
    """The detector ``NEFER(detect_face=...)`` asks for (``True`` = ``"auto"``), or None."""
    if detect_face is None or detect_face is False:
        return None
    if detect_face is True or isinstance(detect_face, str):
        return faces.get_face_detector("auto" if detect_face is True else detect_face)
    if callable(detect_face):
        return detect_face
    raise TypeError(f"detect_face must be a bool, a detector name or a callable detector, got {detect_face!r}")


def class_counts(clips: Sequence[NEFERClip], *, per: Literal["clip", "frame"] = "clip") -> dict[str, int]:
    """``{class name: count}`` of clips (or frames) per class, in :data:`NEFER_CLASSES` order, zeros omitted."""
    counts = np.zeros(len(NEFER_CLASSES), dtype=np.int64)
    for clip in clips:
        if per == "clip":
            counts[clip.label] += 1
        else:
            counts += np.bincount(clip.labels, minlength=len(NEFER_CLASSES))
    return {name: int(n) for name, n in zip(NEFER_CLASSES, counts) if n}
