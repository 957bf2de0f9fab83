"""AFEW-VA, simulated to events: parsing the authors' layout, face crops, the cached event dataset.

The layout as distributed by the authors (Kossaifi et al., "AFEW-VA database for
valence and arousal estimation in-the-wild", 2017)::

    <root>/001/00000.png, 00001.png, ...     RGB frames at 25 fps
    <root>/001/001.json                      {"actor": ..., "video_id": ...,
                                              "frames": {"00000": {"valence": -10..10,
                                                                   "arousal": -10..10,
                                                                   "landmarks": [[x, y] * 68]}, ...}}
    ...
    <root>/600/

Valence and arousal are integers in -10..10 and are divided by 10. Each clip is
converted to grayscale, cropped to a square box around the landmarks (smoothed
over time, so the crop does not jitter and create fake events), resized to
``image_size`` and simulated to events once; the events are cached in HDF5
(:mod:`neurova.datasets.cache`) and TBR-encoded at load time.
"""

from __future__ import annotations

import json
import os
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurova.contract import FACE_CLIP_RECIPE, Encoding, InputContract, resolve_contract
from neurova.datasets.cache import ClipRecord, EventCache, EventCacheDataset
from neurova.datasets.splits import load_split, save_split, subject_kfold
from neurova.errors import AnnotationError, DatasetNotFoundError
from neurova.events import SensorSize
from neurova.image import read_frames

__all__ = [
    "AFEWVA",
    "AFEW_VA_FPS",
    "AFEWVAClip",
    "AFEWVASimulation",
    "afew_va_cache",
    "afew_va_contract",
    "afew_va_split",
    "crop_clip",
    "prepare_afew_va",
    "read_afew_va_clip",
    "scan_afew_va",
]

AFEW_VA_FPS = 25.0
"""Frame rate of AFEW-VA clips."""

FRAME_INTERVAL_US = 40_000
N_LANDMARKS = 68
CACHE_VERSION = "afew_va-2"  # 2: face crops resized by neurova.image (torch area), not OpenCV
"""Changes whenever the way clips are cropped or simulated changes; part of the cache key."""

PathLike = str | os.PathLike[str]


@dataclass
class AFEWVAClip:
    """One AFEW-VA clip as found on disk.

    Attributes:
        clip_id: folder name (``"001"``).
        actor: the person in the clip (the unit of the subject-independent splits).
        video_id: source film id from the JSON.
        frame_paths: the clip's PNG frames in order.
        frame_indices: ``(T,)`` int64 frame numbers from the file names.
        va: ``(T, 2)`` float32 valence, arousal in [-1, 1]; NaN for unlabelled frames.
        landmarks: ``(T, 68, 2)`` float32 ``(x, y)`` pixels; NaN for unlabelled frames.
    """

    clip_id: str
    actor: str
    video_id: str
    frame_paths: list[Path]
    frame_indices: np.ndarray
    va: np.ndarray
    landmarks: np.ndarray

    @property
    def labelled(self) -> np.ndarray:
        """``(T,)`` bool, frames with valence, arousal and landmarks."""
        return np.isfinite(self.va).all(axis=1)

    @property
    def timestamps_us(self) -> np.ndarray:
        """``(T,)`` int64 frame times in µs (frame number / 25 fps)."""
        return self.frame_indices * FRAME_INTERVAL_US


@dataclass
class _Skipped:
    clips_without_annotations: list[str] = field(default_factory=list)
    clips_without_labels: list[str] = field(default_factory=list)
    frames_without_labels: int = 0
    labels_without_frames: int = 0

    def message(self, root: Path) -> str | None:
        parts = []
        if self.clips_without_annotations:
            parts.append(f"{len(self.clips_without_annotations)} clips without a JSON file "
                         f"({', '.join(self.clips_without_annotations[:5])})")
        if self.clips_without_labels:
            parts.append(f"{len(self.clips_without_labels)} clips without any labelled frame "
                         f"({', '.join(self.clips_without_labels[:5])})")
        if self.frames_without_labels:
            parts.append(f"{self.frames_without_labels} frames without labels (kept for simulation, never sampled)")
        if self.labels_without_frames:
            parts.append(f"{self.labels_without_frames} labels whose frame PNG is missing")
        return f"AFEW-VA at {root}: skipped " + "; ".join(parts) if parts else None


def _frame_label(entry: Any, key: str, path: Path) -> tuple[tuple[float, float], np.ndarray] | None:
    """``((valence, arousal), landmarks (68, 2))`` of a JSON frame entry, None if it has no label."""
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise AnnotationError(f"frame {key!r}: expected an object with valence, arousal, landmarks", path)
    missing = [k for k in ("valence", "arousal", "landmarks") if k not in entry]
    if missing:
        raise AnnotationError(f"frame {key!r}: missing key(s) {missing} (null values mark an unlabelled frame)", path)
    if any(entry[k] is None for k in ("valence", "arousal", "landmarks")):
        return None
    try:
        va = (float(entry["valence"]) / 10.0, float(entry["arousal"]) / 10.0)
        lm = np.asarray(entry["landmarks"], dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise AnnotationError(f"frame {key!r}: malformed valence/arousal/landmarks ({exc})", path) from exc
    if lm.shape != (N_LANDMARKS, 2):
        raise AnnotationError(f"frame {key!r}: expected {N_LANDMARKS} landmarks of (x, y), got shape {lm.shape}",
                              path)
    if not all(np.isfinite(va)) or not np.isfinite(lm).all():
        raise AnnotationError(f"frame {key!r}: valence, arousal and landmarks must be finite numbers (NaN found)",
                              path)
    if not all(-1.0 <= v <= 1.0 for v in va):
        raise AnnotationError(f"frame {key!r}: valence/arousal {tuple(10 * v for v in va)} outside -10..10", path)
    return va, lm


def read_afew_va_clip(clip_dir: PathLike, _skipped: _Skipped | None = None) -> AFEWVAClip | None:
    """Parse one clip folder ``<root>/NNN`` (frames ``NNNNN.png`` and ``NNN.json``).

    Returns None (and counts why in ``_skipped``) for a clip without JSON or without
    any labelled frame. Frames without labels are kept (NaN) so the simulation sees
    the whole video; labels without a PNG are dropped.

    Raises:
        AnnotationError: malformed JSON (missing keys, NaN or out-of-range labels), naming the file.
    """
    clip_dir = Path(clip_dir)
    skipped = _Skipped() if _skipped is None else _skipped
    clip_id = clip_dir.name
    json_path = clip_dir / f"{clip_id}.json"
    if not json_path.is_file():
        skipped.clips_without_annotations.append(clip_id)
        return None
    try:
        data = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"malformed AFEW-VA annotation JSON: {exc}", json_path) from exc
    if not isinstance(data, dict) or not isinstance(data.get("frames"), dict):
        raise AnnotationError("malformed AFEW-VA annotation JSON: expected an object with a 'frames' object", json_path)
    pngs = sorted((p for p in clip_dir.glob("*.png") if p.stem.isdigit()), key=lambda p: int(p.stem))
    present = {int(p.stem) for p in pngs}
    labels: dict[int, tuple[tuple[float, float], np.ndarray]] = {}
    for key, entry in data["frames"].items():
        if not str(key).isdigit():
            raise AnnotationError(f"frame key {key!r} is not a frame number", json_path)
        label = _frame_label(entry, key, json_path)
        if label is None:
            continue
        if int(key) not in present:
            skipped.labels_without_frames += 1
            continue
        labels[int(key)] = label
    indices = np.array([int(p.stem) for p in pngs], dtype=np.int64)
    va = np.full((len(pngs), 2), np.nan, dtype=np.float32)
    landmarks = np.full((len(pngs), N_LANDMARKS, 2), np.nan, dtype=np.float32)
    for i, idx in enumerate(indices):
        if int(idx) in labels:
            va[i], landmarks[i] = labels[int(idx)]
    skipped.frames_without_labels += len(pngs) - len(labels)
    if not labels:
        skipped.clips_without_labels.append(clip_id)
        return None
    return AFEWVAClip(
        clip_id=clip_id,
        actor=str(data.get("actor", clip_id)),
        video_id=str(data.get("video_id", "")),
        frame_paths=pngs,
        frame_indices=indices,
        va=va,
        landmarks=landmarks,
    )


def scan_afew_va(root: PathLike) -> list[AFEWVAClip]:
    """Every usable clip under ``root`` (folders of digits), in folder order.

    Issues ONE warning that counts the clips and frames skipped for missing labels or frames.

    Raises:
        DatasetNotFoundError: ``root`` is missing or holds no usable clip.
        AnnotationError: a malformed JSON file (named in the message).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError("AFEW-VA root folder not found", root)
    skipped = _Skipped()
    clips = []
    for clip_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        clip = read_afew_va_clip(clip_dir, skipped)
        if clip is not None:
            clips.append(clip)
    message = skipped.message(root)
    if message:
        warnings.warn(message, stacklevel=2)
    if not clips:
        raise DatasetNotFoundError("no AFEW-VA clip folders (001/00000.png + 001/001.json) found", root)
    return clips


def _landmarks_off_frame(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(T,)`` bool: labelled frames with a landmark farther than half the frame outside it (corrupt labels)."""
    x, y = landmarks[..., 0], landmarks[..., 1]
    with np.errstate(invalid="ignore"):
        off = (x < -width / 2) | (x > 1.5 * width) | (y < -height / 2) | (y > 1.5 * height)
    return off.any(axis=1)


def crop_clip(
    frames: np.ndarray,
    landmarks: np.ndarray,
    *,
    image_size: int,
    margin: float = 0.25,
    smooth_window: int = 9,
    source: PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Square, temporally smoothed landmark crops of a clip.

    Args:
        frames: ``(T, H, W)`` uint8 grayscale frames.
        landmarks: ``(T, 68, 2)`` landmarks in pixels; NaN rows (unlabelled frames) borrow their neighbours'
            boxes, and so do frames with a landmark more than half the frame outside it (corrupt labels,
            which would ask for a crop of any size), with one warning counting them.
        image_size: output side in pixels.
        margin: fraction of the landmarks' extent added on each side.
        smooth_window: frames averaged by :func:`neurova.faces.smooth_boxes`.
        source: the annotation file, named in the warning and errors.

    Returns:
        ``(T, image_size, image_size)`` uint8 crops and the ``(T, 4)`` float32 boxes ``[x0, y0, w, h]``.

    Raises:
        AnnotationError: no frame has usable landmarks.
    """
    from neurova.faces import crop_and_resize, smooth_boxes, square_box_from_landmarks

    height, width = frames.shape[1:3]
    off = _landmarks_off_frame(landmarks, height, width)
    if off.any():
        first = int(np.argmax(off))
        point = landmarks[first][_landmarks_off_frame(landmarks[first][:, None], height, width)][0]
        warnings.warn(
            f"{source or 'AFEW-VA clip'}: {int(off.sum())} frame(s) have landmarks outside the {width}x{height} "
            f"frame (e.g. frame {first}: ({point[0]:g}, {point[1]:g})); they are cropped with their neighbours' box",
            stacklevel=2,
        )
    boxes = np.full((len(frames), 4), np.nan)
    for i, lm in enumerate(landmarks):
        if np.isfinite(lm).all() and not off[i]:
            boxes[i] = square_box_from_landmarks(lm, margin=margin)
    boxes = smooth_boxes(boxes, window=smooth_window)
    known = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    if len(known) == 0:
        raise AnnotationError("cannot crop a clip without any usable landmarks", source)
    # frames farther than the smoothing window from any landmark: linear interpolation between known boxes
    t = np.arange(len(boxes))
    boxes = np.stack([np.interp(t, known, boxes[known, k]) for k in range(4)], axis=1)
    crops = np.stack([crop_and_resize(f, b, image_size) for f, b in zip(frames, boxes)])
    return crops.astype(np.uint8, copy=False), boxes.astype(np.float32)


@dataclass(frozen=True)
class AFEWVASimulation:
    """Everything that changes AFEW-VA's simulated events (hashed into the cache key).

    Attributes:
        image_size: side of the square face crop in pixels.
        margin: landmark box margin on each side, as a fraction of the landmarks' extent.
        smooth_window: frames over which the crop box is averaged.
        preset: simulator preset (``"clean"``, ...).
        dvs_params: pixel-model parameters over the preset (:class:`neurova.simulator.DVSParams` fields, e.g. a
            camera's ``{"shot_noise_rate_hz": 20.0}``); None or empty: the preset's.
        upsample: temporal upsampling factor passed to the simulator (None: the simulator decides).
        max_step_px: largest motion between interpolated frames, in pixels (ignored when ``upsample``
            is given; None with ``upsample=None``: no upsampling).
        seed: simulator noise seed (each clip's seed is derived from it and the clip id).
    """

    image_size: int = 128
    margin: float = 0.25
    smooth_window: int = 9
    preset: str = "clean"
    dvs_params: Mapping[str, float] | None = None
    upsample: int | None = None
    max_step_px: float | None = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        from neurova.simulator import checked_overrides

        object.__setattr__(self, "dvs_params", checked_overrides(self.preset, self.dvs_params))

    def cache_params(self) -> dict[str, Any]:
        from neurova.simulator import simulation_key

        params = {k: v for k, v in self.__dict__.items() if k not in ("preset", "dvs_params")}
        return {"version": CACHE_VERSION, "crop": "landmarks", **params,
                **simulation_key(self.preset, self.dvs_params)}

    def simulate(self, frames: np.ndarray, timestamps_us: np.ndarray, clip_id: str) -> np.ndarray:
        """Events of ``frames`` ``(T, H, W)`` uint8 at ``timestamps_us`` ``(T,)``."""
        from neurova.simulator import simulate

        seed = (self.seed * 1_000_003 + zlib.crc32(clip_id.encode())) % 2**31
        return simulate(frames, timestamps_us, preset=self.preset, upsample=self.upsample,
                        max_step_px=None if self.upsample is not None else self.max_step_px, seed=seed,
                        **(self.dvs_params or {}))


@dataclass(frozen=True)
class _Job:
    clip: AFEWVAClip
    sim: AFEWVASimulation


def _make_record(job: _Job) -> ClipRecord:
    clip, sim = job.clip, job.sim
    frames = read_frames(clip.frame_paths)
    crops, boxes = crop_clip(frames, clip.landmarks, image_size=sim.image_size, margin=sim.margin,
                             smooth_window=sim.smooth_window,
                             source=clip.frame_paths[0].parent / f"{clip.clip_id}.json")
    timestamps = clip.timestamps_us
    return ClipRecord(
        clip_id=clip.clip_id,
        subject=clip.actor,
        events=sim.simulate(crops, timestamps, clip.clip_id),
        sensor_size=SensorSize(sim.image_size, sim.image_size),
        frame_timestamps_us=timestamps,
        va=clip.va,
        labels=np.full(len(timestamps), -1, dtype=np.int64),
        frame_indices=clip.frame_indices,
        valid=clip.labelled,
        boxes=boxes,
    )


def afew_va_cache(cache_dir: PathLike | None, sim: AFEWVASimulation) -> EventCache:
    """The :class:`EventCache` of AFEW-VA under simulation settings ``sim``."""
    return EventCache(cache_dir, "afew_va", sim.cache_params())


def prepare_afew_va(
    root: PathLike,
    cache_dir: PathLike | None = None,
    sim: AFEWVASimulation | None = None,
    *,
    num_workers: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
    progress: bool = True,
) -> dict[str, str]:
    """Simulate every AFEW-VA clip under ``root`` into the cache (resumable). Returns ``{clip_id: actor}``."""
    sim = sim or AFEWVASimulation()
    cache = afew_va_cache(cache_dir, sim)

    def plan() -> tuple[dict[str, _Job], dict[str, str]]:
        clips = scan_afew_va(root)
        return {c.clip_id: _Job(c, sim) for c in clips}, {c.clip_id: c.actor for c in clips}

    return cache.ensure(plan, _make_record, num_workers=num_workers, rank=rank, world_size=world_size,
                        progress=progress)


class AFEWVA(EventCacheDataset):
    """AFEW-VA simulated to events, TBR-encoded at load time.

    Builds the cache on first use (``build=True``) unless it is complete.
    Each TBR frame ends at a labelled RGB frame's timestamp and carries that frame's
    valence and arousal; ``label`` is -1 (AFEW-VA has no emotion classes).

    Args:
        root: folder holding ``001`` ... ``600``.
        split: ``"train"``, ``"val"`` (fold ``fold`` of a subject k-fold by actor), ``"all"``,
            or any split name of ``split_file``.
        cache_dir: cache root (default :func:`neurova.datasets.cache.default_cache_dir`).
        sim: crop and simulator settings (:class:`AFEWVASimulation`).
        contract: the input recipe (:class:`~neurova.contract.InputContract` or its dict, e.g. a model's
            ``model.input_contract``), instead of the keyword arguments ``mode`` ... ``polarity`` (never both);
            its ``frame_interval_us`` must be AFEW-VA's 40,000 µs.
        mode: ``"frame"`` (one frame per sample) or ``"clip"`` (``clip_length`` frames; the default).
        clip_length: T in clip mode (default 4).
        image_size: side S of the model input (default ``sim.image_size``: the crops' own resolution; another
            size resizes the events as the contract's ``resize`` says).
        encoding: ``"tbr"`` (default) or another encoding of :func:`neurova.transforms.encoder_from_contract`.
        n_bits, bin_us, polarity: TBR settings (default 8, 5000 µs, ``"merge"``); a frame spans ``n_bits * bin_us``.
        stride: step between samples of a clip.
        n_folds, fold, split_seed: the subject k-fold; the split is saved beside the cache.
        split_file: JSON of explicit clip-id lists (:func:`neurova.datasets.splits.save_split` format).
        build: simulate missing clips now (else raise :class:`DatasetNotFoundError`).
        num_workers: processes used to simulate while building.
        in_memory: keep all events of the split in RAM.
        phase_us: µs between each sample's last frame and the end of its window (0: on the frame), or several
            taken by the samples in turn (see :class:`~neurova.datasets.cache.EventCacheDataset`).
        box_jitter, jitter_seed: the face box's error, a new one at every call or fixed per sample (see
            :class:`~neurova.datasets.cache.EventCacheDataset`).
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "train",
        *,
        cache_dir: PathLike | None = None,
        sim: AFEWVASimulation | None = None,
        contract: InputContract | Mapping[str, Any] | None = None,
        mode: Literal["frame", "clip"] | None = None,
        clip_length: int | None = None,
        image_size: int | None = None,
        encoding: Encoding | None = None,
        n_bits: int | None = None,
        bin_us: int | None = None,
        polarity: Literal["merge", "split"] | None = None,
        stride: int = 1,
        n_folds: int = 5,
        fold: int = 0,
        split_seed: int = 0,
        split_file: PathLike | None = None,
        build: bool = True,
        num_workers: int = 0,
        progress: bool = True,
        in_memory: bool = False,
        phase_us: int | Sequence[int] = 0,
        box_jitter: tuple[float, float] | None = None,
        jitter_seed: int | None = None,
    ) -> None:
        self.root = Path(root).expanduser()
        self.sim = sim or AFEWVASimulation()
        contract = afew_va_contract(contract, default_image_size=self.sim.image_size, mode=mode,
                                    clip_length=clip_length, image_size=image_size, encoding=encoding, n_bits=n_bits,
                                    bin_us=bin_us, polarity=polarity)
        cache = afew_va_cache(cache_dir, self.sim)
        if build:
            subjects = prepare_afew_va(self.root, cache_dir, self.sim, num_workers=num_workers, rank=0,
                                       world_size=1, progress=progress)
        else:
            subjects = cache.read_index() or {}
            if not subjects or not cache.has(list(subjects)):
                raise DatasetNotFoundError("the AFEW-VA event cache is not built; call prepare_data()", cache.root)
        self.split_path: Path | None = None
        if split == "all":
            clip_ids = sorted(subjects)
        else:
            self.split_path, splits = afew_va_split(cache, subjects, n_folds=n_folds, fold=fold, seed=split_seed,
                                                    split_file=split_file)
            if split not in splits:
                raise ValueError(f"unknown split {split!r}; choose 'all' or one of {sorted(splits)}")
            clip_ids = splits[split]
        super().__init__(cache, clip_ids, contract, stride=stride, in_memory=in_memory, phase_us=phase_us,
                         box_jitter=box_jitter, jitter_seed=jitter_seed)
        self.split = split


def afew_va_contract(contract: InputContract | Mapping[str, Any] | None = None, *, owner: str = "AFEWVA",
                     default_image_size: int = AFEWVASimulation.image_size,
                     mode: Literal["frame", "clip"] | None = None, **options: Any) -> InputContract:
    """The input contract of AFEW-VA samples: ``contract``, or the keyword ``options`` (None: not given) over the
    defaults (TBR, N = 8, Δt = 5 ms, merged polarity, 4 frames of ``default_image_size``), 40 ms apart, cropped
    around the landmarks (``face_crop="landmarks"``). See :func:`neurova.contract.resolve_contract`."""
    defaults = {**FACE_CLIP_RECIPE, "image_size": default_image_size}
    return resolve_contract(contract, owner=owner, defaults=defaults, mode=mode,
                            fixed={"frame_interval_us": FRAME_INTERVAL_US}, data={"face_crop": "landmarks"}, **options)


def afew_va_split(
    cache: EventCache,
    subjects: Mapping[str, str],
    *,
    n_folds: int = 5,
    fold: int = 0,
    seed: int = 0,
    split_file: PathLike | None = None,
) -> tuple[Path, dict[str, list[str]]]:
    """The split in use and where it is saved: ``split_file`` if given, else the subject k-fold saved
    beside the cache as ``split-kfold<k>-fold<f>-seed<s>.json`` (reused if present)."""
    if split_file is not None:
        return Path(split_file), load_split(split_file)
    path = cache.split_path(f"kfold{n_folds}-fold{fold}-seed{seed}")
    if path.is_file():
        return path, load_split(path)
    ids = sorted(subjects)
    split = subject_kfold(ids, [subjects[c] for c in ids], n_folds=n_folds, fold=fold, seed=seed)
    save_split(path, split, n_folds=n_folds, fold=fold, seed=seed, by="actor")
    return path, split
