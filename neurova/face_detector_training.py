"""The recipe of the shipped event-face detector: data generation, training, evaluation.

Everything is deterministic from :attr:`FaceDetectorRecipe.seed` (on CPU):

1. **Data.** Each clip draws a sensor size (320x240 .. 1280x720), a subject
   (:func:`neurova.datasets.render.sample_identity`), a head-and-shoulders scene
   (:func:`neurova.datasets.scenes.sample_scene_layout`: clothing with printed patterns, hands,
   hair, a textured and sometimes moving background, the face anywhere plausible at several
   sizes) and a valence-arousal trajectory, renders it
   (:func:`neurova.datasets.scenes.render_scene_clip`, which also gives the true face box of every
   frame, :func:`neurova.datasets.scenes.face_box`), and simulates its events with the ``clean`` or
   the ``noisy`` DVS preset. Windows of random length (``window_ms``) are cut from the events and
   rendered with :func:`neurova.faces.event_image`; the target is the mean true box of the frames
   inside the window. A share of the clips has the face moved out of the sensor (the body stays
   in view, partly, or the whole person leaves): negatives, whose target is "no face". The train, validation and test clips come from
   disjoint random streams (different subjects and scenes).
2. **Training.** :class:`neurova.nets.EventFaceNet` with CenterNet's focal loss on a Gaussian heat
   map of the box centre and L1 losses on the centre offset and the log size, AdamW, one-cycle
   schedule, horizontal flips and polarity swaps as augmentation.
3. **Threshold.** The score threshold is the one that keeps ``target_recall`` of the validation
   faces; the test split is used only for the reported numbers.
4. **Evaluation** (:func:`evaluate_boxes`): IoU with the true box on the held-out test clips, with
   and without :class:`neurova.faces.BoxTracker`, for the learned detector, the Haar cascade, ``auto`` and
   the centred square; the false-positive rate on the test negatives.

``neurova train-face-detector`` runs it (:func:`train_face_detector`); generated data is cached
under ``$NEUROVA_CACHE/face_detector`` so a second run only trains.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neurova._atomic import atomic_path
from neurova.events import SensorSize, slice_time
from neurova.faces import BoxTracker, box_iou, centre_square, combine_detections, event_image, letterbox
from neurova.recipes import sensor_options

__all__ = [
    "FaceDetectorRecipe",
    "WindowSet",
    "evaluate_boxes",
    "generate_windows",
    "heatmap_targets",
    "train_face_detector",
    "train_net",
]

SPLITS = {"train": 0, "val": 1, "test": 2}
_SOURCES = ("datasets/scenes.py", "datasets/render.py", "simulator/dvs.py", "simulator/noise.py", "simulator/pipeline.py",
            "simulator/presets.py")


def data_sources() -> dict[str, str]:
    """Short SHA-256 of the modules that draw and simulate the data (the renderer and the simulator).

    The data, hence the trained weights, depend on them: the hashes are part of the cache key and
    are stored with the weights, so a rerun of the recipe can tell whether it used the same code.
    """
    return {name: _source_hash(name) for name in _SOURCES}


def _source_hash(name: str) -> str:
    """Short SHA-256 of the module ``name`` (relative to the package); the Haar boxes of the validation and test
    splits also depend on ``faces.py``, so their cache keys include its hash."""
    return hashlib.sha256((Path(__file__).parent / name).read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class FaceDetectorRecipe:
    """Every setting of the shipped detector's data and training (the defaults made the shipped weights).

    Attributes:
        seed: seed of everything.
        clips: number of clips per split (``train``, ``val``, ``test``).
        frames: frames per train/validation clip (at ``fps``).
        test_frames: frames per test clip.
        supersample: anti-aliasing supersampling of the scene renderer (1: edges are still
            anti-aliased analytically; 2 costs four times as much).
        fps: frame rate of the rendered clips.
        windows_per_clip: windows cut from each train/val clip (test clips: every ``test_hop_ms``).
        window_ms: range of window lengths (ms), drawn uniformly.
        test_window_ms: window length of the test windows (the recommended detection window).
        test_hop_ms: hop between consecutive test windows (tracking is evaluated over them).
        sensor_sizes: sensors drawn uniformly per clip.
        noisy_fraction: share of clips simulated by a noisy sensor (else the ``clean`` preset).
        noisy_sensors: the noisy sensors (:func:`neurova.recipes.sensor_options` names), one drawn per noisy clip;
            the default is v2e's ``noisy`` preset (5 Hz of shot noise). Stronger ones (``dim``, ``dark``,
            ``davis346_dark``: 20-50 Hz) teach the detector the noise of dark pixels.
        negative_fraction: share of clips with the face moved out of the sensor.
        input_size: ``(width, height)`` of the net's input (:func:`neurova.faces.event_image`).
        clip_percentile: normalisation percentile of :func:`neurova.faces.event_image`.
        noise_floor_sd: each window's noise floor is removed before it is rendered
            (:func:`neurova.faces.remove_noise_floor`, as :class:`neurova.faces.LearnedFaceDetector` does when it
            detects); None (the shipped weights' recipe) renders the counts as they are.
        widths: channels of :class:`neurova.nets.EventFaceNet`'s stages.
        epochs, batch_size, lr, weight_decay: optimisation.
        target_recall: share of validation faces the threshold keeps.
    """

    seed: int = 0
    clips: dict[str, int] = field(default_factory=lambda: {"train": 700, "val": 60, "test": 40})
    frames: int = 9
    test_frames: int = 20
    supersample: int = 1
    fps: float = 25.0
    windows_per_clip: int = 4
    window_ms: tuple[float, float] = (50.0, 300.0)
    test_window_ms: float = 200.0
    test_hop_ms: float = 40.0
    sensor_sizes: tuple[tuple[int, int], ...] = ((320, 240), (346, 260), (640, 480), (640, 360), (1280, 720))
    noisy_fraction: float = 0.5
    noisy_sensors: tuple[str, ...] = ("noisy",)
    negative_fraction: float = 0.25
    input_size: tuple[int, int] = (128, 96)
    clip_percentile: float = 99.0
    noise_floor_sd: float | None = None
    widths: tuple[int, int, int] = (16, 32, 48)
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    target_recall: float = 0.97

    def __post_init__(self) -> None:
        if not self.noisy_sensors:
            raise ValueError("noisy_sensors must name at least one sensor")
        for name in self.noisy_sensors:
            sensor_options(name)  # an unknown name fails here, before any data is made

    def data_key(self, split: str) -> str:
        """A short hash of the settings and the source files that shape a split's data (the cache key)."""
        keys = ("seed", "frames", "test_frames", "supersample", "fps", "windows_per_clip", "window_ms", "test_window_ms", "test_hop_ms",
                "sensor_sizes", "noisy_fraction", "negative_fraction", "input_size", "clip_percentile")
        # added later, counted only when set: the default keeps the keys of the shipped weights' data
        keys += tuple(k for k, default in (("noisy_sensors", ("noisy",)), ("noise_floor_sd", None))
                      if getattr(self, k) != default)
        sources = data_sources() | ({"haar": _source_hash("faces.py")} if split in ("val", "test") else {})
        blob = json.dumps({k: getattr(self, k) for k in keys} | {"split": split, "clips": self.clips[split],
                                                                 "sources": sources}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """The recipe as JSON-able values."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass
class WindowSet:
    """Rendered windows of one split.

    Attributes:
        images: ``(N, 2, H, W)`` uint8 event images (:func:`neurova.faces.event_image` x 255).
        boxes: ``(N, 4)`` float64 true boxes ``[x0, y0, w, h]`` in sensor pixels (NaN for negatives).
        sensors: ``(N, 2)`` int64 sensor ``(width, height)``.
        clip: ``(N,)`` int64 clip index (consecutive windows of a test clip are in time order).
        noisy: ``(N,)`` bool, the ``noisy`` preset was used.
        haar: ``(N, 5)`` float64 Haar cascade ``[x0, y0, w, h, score]`` (NaN box when none; test split only).
    """

    images: np.ndarray
    boxes: np.ndarray
    sensors: np.ndarray
    clip: np.ndarray
    noisy: np.ndarray
    haar: np.ndarray

    @property
    def positive(self) -> np.ndarray:
        """``(N,)`` bool: the window holds a face."""
        return np.isfinite(self.boxes).all(axis=1)

    def save(self, path: Path) -> None:
        """Write the set as one ``.npz`` (atomically)."""
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **dataclasses.asdict(self))

    @classmethod
    def load(cls, path: Path) -> WindowSet:
        """Read a set written by :meth:`save`."""
        with np.load(path) as data:
            return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def _move_face_out(layout: Any, rng: np.random.Generator) -> Any:
    """The layout with the face moved out of the sensor.

    Half of the time the whole person leaves (background only: texture, pan, a crossing object,
    flicker); otherwise the face goes above the sensor (neck, shoulders and the patterned torso stay
    in view) or beside it (part of the body stays at the edge).
    """
    width, height = layout.sensor_size
    cx, _ = layout.face_centre
    side = layout.face_size
    if rng.random() < 0.5:
        centre = (-10.0 * width, -10.0 * height)
    elif rng.random() < 0.5:
        centre = (cx, -0.9 * side)
    else:
        centre = (-0.9 * side, 0.5 * side) if rng.random() < 0.5 else (width + 0.9 * side, 0.5 * side)
    return dataclasses.replace(layout, face_centre=centre)


def _render_clip(recipe: FaceDetectorRecipe, split: str, index: int, n_frames: int
                 ) -> tuple[np.ndarray, np.ndarray, SensorSize, bool, bool]:
    """Events, per-frame boxes (NaN rows for negatives), sensor, noisy, negative of one clip."""
    from neurova.datasets.render import sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.simulator import simulate

    rng = np.random.default_rng([recipe.seed, SPLITS[split], index])
    sensor = SensorSize.of(recipe.sensor_sizes[int(rng.integers(len(recipe.sensor_sizes)))])
    identity = sample_identity(rng)
    layout = sample_scene_layout(rng, tuple(sensor))
    negative = bool(rng.random() < recipe.negative_fraction)
    if negative:
        layout = _move_face_out(layout, rng)
    va = sample_va_trajectory(n_frames, rng, fps=recipe.fps)
    frames, boxes = render_scene_clip(identity, layout, va, fps=recipe.fps, rng=rng, supersample=recipe.supersample)
    noisy = bool(rng.random() < recipe.noisy_fraction)
    sensor_name = "clean"
    if noisy:  # one sensor: no draw, so the default recipe's clips are those the shipped weights were trained on
        many = len(recipe.noisy_sensors) > 1
        sensor_name = recipe.noisy_sensors[int(rng.integers(len(recipe.noisy_sensors))) if many else 0]
    options = sensor_options(sensor_name)
    timestamps = np.round(np.arange(n_frames) * 1e6 / recipe.fps).astype(np.int64)
    events = simulate(np.asarray(frames, np.float32) * 255.0, timestamps, preset=options["preset"],
                      seed=int(rng.integers(2**31)), **(options["dvs_params"] or {}))
    boxes = np.asarray(boxes, np.float64)
    if negative:
        boxes = np.full_like(boxes, np.nan)
    return events, boxes, sensor, noisy, negative


def _window_box(boxes: np.ndarray, fps: float, t0: float, t1: float) -> np.ndarray:
    """Mean true box of the frames whose time lies in ``[t0, t1)`` µs (the last frame before ``t1`` if none)."""
    times = np.arange(len(boxes)) * 1e6 / fps
    inside = (times >= t0) & (times < t1)
    if not inside.any():
        inside = times == times[times < t1].max()
    return boxes[inside].mean(axis=0)


def _clip_windows(recipe: FaceDetectorRecipe, split: str, index: int, haar: bool) -> dict[str, list[Any]]:
    """The windows of one clip (a separate function so that clips can be made in worker processes)."""
    from neurova.faces import HaarEventDetector

    test = split == "test"
    n_frames = recipe.test_frames if test else recipe.frames
    duration = n_frames * 1e6 / recipe.fps
    frame_us = 1e6 / recipe.fps
    events, boxes, sensor, noisy, _ = _render_clip(recipe, split, index, n_frames)
    rng = np.random.default_rng([recipe.seed, SPLITS[split], index, 1])
    if test:
        length = recipe.test_window_ms * 1e3
        ends = np.arange(length, duration - frame_us + 1, recipe.test_hop_ms * 1e3)
        lengths = np.full(len(ends), length)
    else:
        lengths = np.minimum(rng.uniform(*recipe.window_ms, size=recipe.windows_per_clip) * 1e3, duration - frame_us)
        ends = rng.uniform(lengths + frame_us, duration)
    cascade = HaarEventDetector(box_scale=1.0, box_shift=0.0) if haar else None
    rows: dict[str, list[Any]] = {k: [] for k in ("images", "boxes", "sensors", "clip", "noisy", "haar")}
    for length, end in zip(lengths, ends):
        window = slice_time(events, int(end - length), int(end))
        image = event_image(window, sensor, recipe.input_size, clip_percentile=recipe.clip_percentile,
                            noise_floor_sd=recipe.noise_floor_sd)
        rows["images"].append(np.rint(image * 255).astype(np.uint8))
        rows["boxes"].append(_window_box(boxes, recipe.fps, end - length, end))
        rows["sensors"].append(tuple(sensor))
        rows["clip"].append(index)
        rows["noisy"].append(noisy)
        found = cascade.detect(window, sensor) if cascade is not None else None
        rows["haar"].append(np.full(5, np.nan) if found is None or not found.found or found.box is None
                            else np.append(found.box, found.score))
    return rows


def generate_windows(recipe: FaceDetectorRecipe, split: str, *, haar: bool = False, workers: int = 1,
                     progress: bool = False) -> WindowSet:
    """Render, simulate and cut the windows of one split (see the module doc).

    Train and validation clips give ``windows_per_clip`` windows of random length; test clips
    give consecutive windows of ``test_window_ms`` every ``test_hop_ms`` (for tracking). With
    ``haar`` the raw Haar cascade (:class:`neurova.faces.HaarEventDetector` with ``box_scale=1``)
    also runs on every window. Each clip draws from its own random stream, so the result does not
    depend on ``workers`` (processes rendering clips in parallel).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    n = recipe.clips[split]
    rows: dict[str, list[Any]] = {k: [] for k in ("images", "boxes", "sensors", "clip", "noisy", "haar")}
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                           initializer=torch.set_num_threads, initargs=(1,)))
            clips = pool.map(_clip_windows, [recipe] * n, [split] * n, range(n), [haar] * n)
        else:
            clips = (_clip_windows(recipe, split, index, haar) for index in range(n))
        for index, clip in enumerate(clips):
            for key, values in clip.items():
                rows[key].extend(values)
            if progress and ((index + 1) % 10 == 0 or index + 1 == n):
                print(f"  {split}: clip {index + 1}/{n} ({len(rows['images'])} windows)", flush=True)
    return WindowSet(
        images=np.stack(rows["images"]),
        boxes=np.stack(rows["boxes"]),
        sensors=np.asarray(rows["sensors"], np.int64),
        clip=np.asarray(rows["clip"], np.int64),
        noisy=np.asarray(rows["noisy"], bool),
        haar=np.stack(rows["haar"]),
    )


def _cached_windows(recipe: FaceDetectorRecipe, split: str, cache_dir: Path | None, *, workers: int = 1,
                    progress: bool = False) -> WindowSet:
    """:func:`generate_windows` (with the Haar cascade on validation and test), cached as ``.npz`` in ``cache_dir``."""
    haar = split in ("val", "test")
    if cache_dir is None:
        return generate_windows(recipe, split, haar=haar, workers=workers, progress=progress)
    path = cache_dir / f"{split}-{recipe.data_key(split)}.npz"
    if path.is_file():
        return WindowSet.load(path)
    windows = generate_windows(recipe, split, haar=haar, workers=workers, progress=progress)
    windows.save(path)
    return windows


# --- training ------------------------------------------------------------------------------------------


def _input_boxes(windows: WindowSet, input_size: tuple[int, int]) -> np.ndarray:
    """True boxes in input pixels (letterboxed), NaN for negatives."""
    out = np.empty_like(windows.boxes)
    for i, (box, sensor) in enumerate(zip(windows.boxes, windows.sensors)):
        scale, pad_x, pad_y = letterbox(tuple(sensor), input_size)
        out[i] = [box[0] * scale + pad_x, box[1] * scale + pad_y, box[2] * scale, box[3] * scale]
    return out


def heatmap_targets(boxes: Tensor, shape: tuple[int, int], stride: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """CenterNet targets for one box per image.

    Args:
        boxes: ``(B, 4)`` ``[x0, y0, w, h]`` in input pixels; rows of NaN mean "no face".
        shape: ``(h, w)`` of the output maps.
        stride: input pixels per output cell.

    Returns:
        ``heat`` ``(B, h, w)`` Gaussian around the centre cell (exactly 1 there, all 0 for negatives),
        ``index`` ``(B,)`` flat index of the centre cell, ``regression`` ``(B, 4)`` targets (offset in
        the cell in ``[0, 1)``, log of the size in strides) and ``positive`` ``(B,)`` bool.
    """
    h, w = shape
    positive = torch.isfinite(boxes).all(dim=1)
    safe = torch.where(positive[:, None], boxes, torch.ones_like(boxes))
    cx = (safe[:, 0] + safe[:, 2] / 2) / stride
    cy = (safe[:, 1] + safe[:, 3] / 2) / stride
    ix = cx.floor().clamp(0, w - 1)
    iy = cy.floor().clamp(0, h - 1)
    sigma = (torch.sqrt(safe[:, 2] * safe[:, 3]) / stride * 0.15).clamp(min=0.6)
    gx = torch.arange(w, dtype=boxes.dtype)[None, None, :]
    gy = torch.arange(h, dtype=boxes.dtype)[None, :, None]
    heat = torch.exp(-((gx - ix[:, None, None]) ** 2 + (gy - iy[:, None, None]) ** 2) / (2 * sigma[:, None, None] ** 2))
    heat = heat * positive[:, None, None]
    offset = torch.stack([(cx - ix).clamp(0, 0.999), (cy - iy).clamp(0, 0.999)], dim=1)
    log_size = torch.log(safe[:, 2:] / stride)
    return heat, (iy * w + ix).long(), torch.cat([offset, log_size], dim=1), positive


def _loss(maps: Tensor, boxes: Tensor, stride: int) -> Tensor:
    b, _, h, w = maps.shape
    heat, index, target, positive = heatmap_targets(boxes, (h, w), stride)
    prob = torch.sigmoid(maps[:, 0]).clamp(1e-4, 1 - 1e-4)
    peak = heat == 1
    focal_pos = -(torch.log(prob) * (1 - prob) ** 2)[peak].sum()
    focal_neg = -(torch.log(1 - prob) * prob**2 * (1 - heat) ** 4)[~peak].sum()
    focal = (focal_pos + focal_neg) / positive.sum().clamp(min=1)
    if not positive.any():
        return focal
    cells = maps[:, 1:].reshape(b, 4, h * w)[torch.arange(b), :, index][positive]
    predicted = torch.cat([torch.sigmoid(cells[:, :2]), cells[:, 2:]], dim=1)
    return focal + nn.functional.l1_loss(predicted, target[positive])


def _augment(images: Tensor, boxes: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random horizontal flips and ON/OFF swaps (a face moving the other way)."""
    n, _, _, width = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    swap = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(3), images)
    images = torch.where(swap[:, None, None, None], images.flip(1), images)
    boxes = boxes.clone()
    boxes[flip, 0] = width - boxes[flip, 0] - boxes[flip, 2]
    return images, boxes


def train_net(recipe: FaceDetectorRecipe, train: WindowSet, *, log: Callable[[str], None] = print) -> nn.Module:
    """Train :class:`neurova.nets.EventFaceNet` on the train windows (deterministic from the recipe's seed)."""
    from neurova.nets.face_detector import EventFaceNet

    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    net = EventFaceNet(in_chans=2, widths=recipe.widths)
    images = torch.from_numpy(train.images)
    boxes = torch.from_numpy(_input_boxes(train, recipe.input_size)).float()
    steps = recipe.epochs * math.ceil(len(images) / recipe.batch_size)
    optimiser = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=recipe.lr, total_steps=steps, pct_start=0.1)
    net.train()
    for epoch in range(recipe.epochs):
        order = torch.randperm(len(images), generator=generator)
        total, start = 0.0, time.perf_counter()
        for first in range(0, len(order), recipe.batch_size):
            batch = order[first : first + recipe.batch_size]
            x, y = _augment(images[batch].float() / 255.0, boxes[batch], generator)
            loss = _loss(net(x), y, net.stride)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        log(f"  epoch {epoch + 1}/{recipe.epochs}: loss {total / len(images):.4f} ({time.perf_counter() - start:.1f} s)")
    return net.eval()


def _predict(net: nn.Module, windows: WindowSet, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Best box (sensor pixels) and score of every window."""
    boxes, scores = [], []
    with torch.inference_mode():
        for first in range(0, len(windows.images), 256):
            maps = net(torch.from_numpy(windows.images[first : first + 256]).float() / 255.0)
            b, s = net.decode(maps)
            boxes.append(b.double().numpy())
            scores.append(s.double().numpy())
    box, score = np.concatenate(boxes), np.concatenate(scores)
    for i, sensor in enumerate(windows.sensors):
        scale, pad_x, pad_y = letterbox(tuple(sensor), input_size)
        box[i] = [(box[i, 0] - pad_x) / scale, (box[i, 1] - pad_y) / scale, box[i, 2] / scale, box[i, 3] / scale]
    return box, score


def _tracked(boxes: np.ndarray, found: np.ndarray, clips: np.ndarray) -> np.ndarray:
    """Boxes held by a fresh :class:`neurova.faces.BoxTracker` per clip (NaN before the first detection)."""
    out = np.full_like(boxes, np.nan)
    tracker = BoxTracker()
    for i in range(len(boxes)):
        if i == 0 or clips[i] != clips[i - 1]:
            tracker.reset()
        held = tracker.update(boxes[i] if found[i] else None)
        if held is not None:
            out[i] = held
    return out


def evaluate_boxes(predicted: np.ndarray, truth: np.ndarray, *, min_iou: float = 0.5) -> dict[str, float]:
    """IoU statistics of predicted boxes (NaN rows: no prediction) against true boxes.

    Returns:
        ``n``, ``answered`` (share of windows with a box), ``median_iou`` and ``hit_rate`` (share with IoU
        >= ``min_iou``) over the answered windows, and ``hit_rate_all`` over all windows (a missing box
        counts as a miss).
    """
    answered = np.isfinite(predicted).all(axis=1)
    ious = np.array([box_iou(p, t) for p, t in zip(predicted[answered], truth[answered])])
    n = len(truth)
    return {
        "n": int(n),
        "answered": float(answered.mean()) if n else 0.0,
        "median_iou": float(np.median(ious)) if len(ious) else 0.0,
        "hit_rate": float((ious >= min_iou).mean()) if len(ious) else 0.0,
        "hit_rate_all": float((ious >= min_iou).sum() / n) if n else 0.0,
    }


def fit_haar_mapping(windows: WindowSet) -> tuple[float, float]:
    """``(box_scale, box_shift)`` of :class:`neurova.faces.HaarEventDetector` that map the raw cascade boxes
    of ``windows`` (face windows where the cascade found something) onto the true boxes: median side ratio
    and median vertical centre offset in cascade sides."""
    rows = windows.positive & np.isfinite(windows.haar[:, :4]).all(axis=1)
    if not rows.any():
        return 1.0, 0.0
    raw, truth = windows.haar[rows, :4], windows.boxes[rows]
    close = np.hypot(*((raw[:, :2] + raw[:, 2:] / 2) - (truth[:, :2] + truth[:, 2:] / 2)).T) < truth[:, 2]
    if not close.any():
        return 1.0, 0.0
    raw, truth = raw[close], truth[close]
    scale = float(np.median(truth[:, 2] / raw[:, 2]))
    shift = float(np.median(((truth[:, 1] + truth[:, 3] / 2) - (raw[:, 1] + raw[:, 3] / 2)) / raw[:, 3]))
    return scale, shift


def _mapped_haar(haar: np.ndarray, scale: float, shift: float) -> np.ndarray:
    centre = haar[:, :2] + haar[:, 2:4] / 2 + np.stack([np.zeros(len(haar)), shift * haar[:, 3]], axis=1)
    side = scale * haar[:, 2:4]
    return np.concatenate([centre - side / 2, side], axis=1)


def evaluate_detector(net: nn.Module, test: WindowSet, recipe: FaceDetectorRecipe, threshold: float,
                      haar_mapping: tuple[float, float] = (1.0, 0.0)) -> dict[str, Any]:
    """IoU on the test windows for the learned detector, the Haar cascade, ``auto`` (:func:`neurova.faces.combine_detections`) and the centred square.

    ``haar_mapping`` is ``(box_scale, box_shift)`` applied to the raw cascade boxes (:func:`fit_haar_mapping`).
    """
    box, score = _predict(net, test, recipe.input_size)
    found = score >= threshold
    pos = test.positive
    learned = np.where(found[:, None], box, np.nan)
    haar = _mapped_haar(test.haar, *haar_mapping)
    haar_found = np.isfinite(haar).all(axis=1)
    auto = combine_detections(box, score, found, haar)
    auto_found = np.isfinite(auto).all(axis=1)
    centre = np.array([centre_square(tuple(s)) for s in test.sensors], np.float64)
    results: dict[str, Any] = {
        "learned_best_box": evaluate_boxes(box[pos], test.boxes[pos]),
        "learned": evaluate_boxes(learned[pos], test.boxes[pos]),
        "learned_tracked": evaluate_boxes(_tracked(box, found, test.clip)[pos], test.boxes[pos]),
        "haar": evaluate_boxes(haar[pos], test.boxes[pos]),
        "haar_tracked": evaluate_boxes(_tracked(haar, haar_found, test.clip)[pos], test.boxes[pos]),
        "auto": evaluate_boxes(auto[pos], test.boxes[pos]),
        "auto_tracked": evaluate_boxes(_tracked(auto, auto_found, test.clip)[pos], test.boxes[pos]),
        "centre_square": evaluate_boxes(centre[pos], test.boxes[pos]),
        "false_positive_rate": float(found[~pos].mean()) if (~pos).any() else float("nan"),
        "haar_false_positive_rate": float(haar_found[~pos].mean()) if (~pos).any() else float("nan"),
        "auto_false_positive_rate": float(auto_found[~pos].mean()) if (~pos).any() else float("nan"),
        "n_negative_windows": int((~pos).sum()),
    }
    per_sensor = {}
    for sensor in sorted({tuple(s) for s in test.sensors.tolist()}):
        rows = pos & (test.sensors == sensor).all(axis=1)
        per_sensor[f"{sensor[0]}x{sensor[1]}"] = evaluate_boxes(learned[rows], test.boxes[rows])
    results["learned_per_sensor"] = per_sensor
    return results


def _threshold(net: nn.Module, val: WindowSet, recipe: FaceDetectorRecipe) -> float:
    """The score that keeps ``target_recall`` of the validation faces."""
    _, score = _predict(net, val, recipe.input_size)
    return float(np.quantile(score[val.positive], 1 - recipe.target_recall))


def train_face_detector(
    out_dir: str | Path,
    recipe: FaceDetectorRecipe | None = None,
    *,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate the data, train, pick the threshold, evaluate, and write the weights and settings.

    Writes ``event_face_detector.safetensors`` and ``event_face_detector.json`` (input settings,
    threshold, recipe, test metrics, timings, and the cache keys of the data: a rerun whose keys are the
    same trained on the same windows) into ``out_dir``.

    Args:
        out_dir: output folder (``neurova/weights`` for the shipped detector).
        recipe: the settings; default :class:`FaceDetectorRecipe` ().
        cache_dir: where generated windows are cached (default ``$NEUROVA_CACHE/face_detector``).
        workers: processes rendering clips in parallel (the data do not depend on it).
        progress: print progress.

    Returns:
        The settings written to the JSON file.
    """
    from neurova.datasets.cache import default_cache_dir

    recipe = recipe or FaceDetectorRecipe()
    torch.use_deterministic_algorithms(True)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "face_detector"
    log = print if progress else (lambda _: None)
    sources = data_sources()
    keys = {split: recipe.data_key(split) for split in SPLITS}
    timings = {}
    data = {}
    for split in ("train", "val", "test"):
        start = time.perf_counter()
        log(f"windows of the {split} split (cache {cache})")
        data[split] = _cached_windows(recipe, split, cache, workers=workers, progress=progress)
        timings[f"data_{split}_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # float sums in another order on another thread count: one thread everywhere
    try:
        net = train_net(recipe, data["train"], log=log)
    finally:
        torch.set_num_threads(threads)
    timings["train_s"] = round(time.perf_counter() - start, 1)
    settings = finish_detector(out_dir, net, recipe, data["val"], data["test"], log=log)
    settings["data_sources"] = sources
    settings["data_keys"] = keys
    settings["n_windows"] = {split: len(w.images) for split, w in data.items()}
    settings["timings"] = timings
    _write_settings(Path(out_dir), settings)
    return settings


def _write_settings(out: Path, settings: dict[str, Any]) -> None:
    with atomic_path(out / "event_face_detector.json") as tmp:
        tmp.write_text(json.dumps(settings, indent=2) + "\n")


def finish_detector(out_dir: str | Path, net: nn.Module, recipe: FaceDetectorRecipe, val: WindowSet, test: WindowSet,
                    *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Pick the threshold and the Haar mapping on ``val``, evaluate on ``test``, write weights and settings."""
    from safetensors.torch import save_file

    threshold = _threshold(net, val, recipe)
    haar_mapping = fit_haar_mapping(val)
    metrics = evaluate_detector(net, test, recipe, threshold, haar_mapping)
    settings = {
        "input_size": list(recipe.input_size),
        "widths": list(recipe.widths),
        "clip_percentile": recipe.clip_percentile,
        "threshold": round(threshold, 4),
        "recommended_window_us": int(recipe.test_window_ms * 1000),
        "haar_mapping": {"box_scale": round(haar_mapping[0], 4), "box_shift": round(haar_mapping[1], 4)},
        "recipe": recipe.to_dict(),
        "test_metrics": metrics,
    }
    out = Path(out_dir)
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    with atomic_path(out / "event_face_detector.safetensors") as tmp:
        save_file(state, str(tmp))
    _write_settings(out, settings)
    log(json.dumps({"threshold": settings["threshold"], **{k: metrics[k] for k in ("learned", "learned_tracked",
                    "haar", "centre_square", "false_positive_rate")}}, indent=2))
    return settings


def recipe_from_args(seed: int, clips: Sequence[int] | None, epochs: int | None,
                     noisy_sensors: Sequence[str] | None = None,
                     noise_floor_sd: float | None = None) -> FaceDetectorRecipe:
    """The default recipe with the command line's overrides (``clips`` = train, val, test)."""
    recipe = FaceDetectorRecipe(seed=seed, noise_floor_sd=noise_floor_sd)
    if noisy_sensors:
        recipe = dataclasses.replace(recipe, noisy_sensors=tuple(noisy_sensors))
    if clips is not None:
        recipe = dataclasses.replace(recipe, clips=dict(zip(("train", "val", "test"), (int(c) for c in clips))))
    if epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=int(epochs))
    return recipe
