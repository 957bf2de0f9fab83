"""Face localisation and cropping, for RGB frames and for event recordings.

Boxes are ``(x0, y0, width, height)`` in pixels of the frame or sensor they come
from (``x`` to the right, ``y`` down), as float arrays so that smoothing keeps
sub-pixel precision; cropping rounds them to whole pixels.

* :func:`square_box_from_landmarks` and :func:`smooth_boxes` make the landmark
  crops of AFEW-VA (68 landmarks per frame), :func:`crop_and_resize` cuts them.
* Face localisation on event recordings, where the face fills only part of the
  sensor: :func:`get_face_detector` gives a :class:`FaceDetector` for a window of
  events. ``"learned"`` is the event-face detector shipped in ``neurova/weights/``
  (:class:`LearnedFaceDetector` over :func:`event_image`, trained on simulated
  events of synthetic head-and-shoulders scenes, see docs/face_detection.md);
  ``"haar"`` is OpenCV's Haar cascade (shipped with ``opencv-python-headless``, so
  it works offline) on accumulated event images (:class:`HaarEventDetector` over
  :func:`accumulate_events` and :func:`detect_face`); ``"auto"`` runs both and
  combines them (:func:`combine_detections`: the learned detector is the better on
  synthetic faces, the cascade on a real photographed face). :class:`BoxTracker` holds the box between
  detections and rejects jumps; :class:`FaceTrack` / :func:`track_face_boxes` follow
  the face over a recording (the rule of :func:`neurova.predict` and of NEFER's recordings).

numpy only at import time; torch is imported by the learned detector, OpenCV
(the ``faces`` extra) when a function needs it.
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np

from neurova import image
from neurova._optional import require
from neurova.encodings import filters
from neurova.errors import CheckpointError, MissingDependencyError
from neurova.events import SensorSize, search_times, slice_time, validate_events

__all__ = [
    "AGREE_IOU",
    "CONFIDENT_SCORE",
    "DETECTOR_INPUT_SIZE",
    "DETECT_EVERY_US",
    "DETECT_WINDOW_US",
    "NOISE_FLOOR_SD",
    "AutoFaceDetector",
    "BoxJitter",
    "BoxTracker",
    "DetectorFallbackWarning",
    "FaceDetection",
    "FaceDetector",
    "FaceTrack",
    "HaarEventDetector",
    "LearnedFaceDetector",
    "NoFaceWarning",
    "accumulate_events",
    "box_iou",
    "centre_square",
    "combine_detections",
    "crop_and_resize",
    "default_weights",
    "detect_face",
    "event_image",
    "get_face_detector",
    "letterbox",
    "pixel_box",
    "remove_noise_floor",
    "smooth_boxes",
    "square_box_from_landmarks",
    "track_face_boxes",
]

def centre_square(sensor_size: SensorSize | tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred square box of a sensor, ``(x0, y0, side, side)`` in pixels.

    The default face box when none is given or detected: face recordings are usually framed
    with the face in the middle.
    """
    width, height = SensorSize.of(sensor_size)
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side, side


HAAR_CASCADE = "haarcascade_frontalface_default.xml"
"""The OpenCV cascade used by :func:`detect_face` (frontal faces)."""


def _as_box(box: Any) -> np.ndarray:
    arr = np.asarray(box, dtype=np.float64).reshape(-1)
    if arr.shape != (4,):
        raise ValueError(f"a box is (x0, y0, width, height), got {np.asarray(box).shape} values")
    if not np.isfinite(arr).all():
        raise ValueError(f"box contains NaN or infinite values: {arr.tolist()}")
    if arr[2] <= 0 or arr[3] <= 0:
        raise ValueError(f"box width and height must be positive, got {arr[2]} x {arr[3]}")
    return arr


def square_box_from_landmarks(landmarks: np.ndarray, margin: float = 0.25) -> np.ndarray:
    """Square box around facial landmarks.

    The box is centred on the landmarks' bounding box; its side is the larger
    extent of that bounding box enlarged by ``margin`` of it on *each* side,
    ``side = max(w, h) * (1 + 2 * margin)`` (68-point landmarks stop at the
    eyebrows, the margin brings in the forehead and chin).

    Args:
        landmarks: ``(N, 2)`` array of ``(x, y)`` pixel coordinates (68 points for AFEW-VA).
        margin: fraction of the larger extent added on each side (``>= 0``).

    Returns:
        float64 array ``[x0, y0, side, side]``; it may extend outside the image
        (:func:`crop_and_resize` pads with zeros).

    Raises:
        ValueError: wrong shape, NaN coordinates, negative margin.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError(f"landmarks must have shape (N, 2), got {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("landmarks contain NaN or infinite coordinates")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    side = max(float((hi - lo).max()), 1.0) * (1 + 2 * margin)
    return np.array([centre[0] - side / 2, centre[1] - side / 2, side, side])


def smooth_boxes(boxes: np.ndarray, window: int = 9) -> np.ndarray:
    """Centred moving average of a box track, to steady a crop over time.

    Frame ``t`` averages frames ``[t - (window - 1) // 2, t + window // 2]``
    clipped to the track, so the ends use fewer frames and a constant track is
    returned unchanged. Rows with NaN (frames without a box) are left out of
    the averages; such a frame gets the average of its neighbours, or stays NaN
    when the whole window is NaN.

    Args:
        boxes: ``(T, 4)`` boxes ``(x0, y0, width, height)``.
        window: number of frames averaged (``>= 1``; 1 returns a copy).

    Returns:
        ``(T, 4)`` float64 smoothed boxes.
    """
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must have shape (T, 4), got {arr.shape}")
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive integer, got {window}")
    window = int(window)
    valid = np.isfinite(arr).all(axis=1)
    values = np.where(valid[:, None], arr, 0.0)
    csum = np.concatenate([np.zeros((1, 4)), np.cumsum(values, axis=0)])
    ccount = np.concatenate([[0], np.cumsum(valid)])
    idx = np.arange(len(arr))
    lo = np.clip(idx - (window - 1) // 2, 0, len(arr))
    hi = np.clip(idx + window // 2 + 1, 0, len(arr))
    count = (ccount[hi] - ccount[lo]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (csum[hi] - csum[lo]) / count[:, None]
    out[count == 0] = np.nan
    return out


def crop_and_resize(frame: np.ndarray, box: Any, size: int) -> np.ndarray:
    """Cut ``box`` out of ``frame`` and resize it to ``size x size``: :func:`neurova.image.crop_and_resize`.

    The box is rounded to whole pixels; parts outside the frame are zero. A box larger than ``size``
    is shrunk with ``interpolation="area"`` (the mean of the pixels each output pixel covers), a smaller
    one enlarged with ``"bilinear"``, the choice OpenCV's ``INTER_AREA`` makes; a non-square box is
    stretched to the square output.

    Args:
        frame: ``(H, W)`` (or ``(H, W, C)``) image, uint8 or floating point.
        box: ``(x0, y0, width, height)`` in pixels.
        size: side of the output in pixels.

    Returns:
        ``(size, size)`` (or ``(size, size, C)``) array of ``frame``'s dtype.
    """
    img = np.asarray(frame)
    if img.ndim not in (2, 3):
        raise ValueError(f"frame must have shape (H, W) or (H, W, C), got {img.shape}")
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size}")
    x0, y0, w, h = _as_box(box)
    shrink = math.floor(w + 0.5) >= size and math.floor(h + 0.5) >= size
    planes = img if img.ndim == 2 else np.moveaxis(img, -1, 0)
    out = image.crop_and_resize(planes, (x0, y0, w, h), int(size), interpolation="area" if shrink else "bilinear")
    return out if img.ndim == 2 else np.moveaxis(out, 0, -1)


def accumulate_events(
    events: np.ndarray,
    sensor_size: SensorSize | tuple[int, ...],
    *,
    clip_percentile: float = 99.0,
    blur_sigma: float = 1.0,
    invert: bool = True,
) -> np.ndarray:
    """Grey image of event activity, for face detection on event recordings.

    Counts the events of each pixel (both polarities), clips the counts at the
    ``clip_percentile`` of the active pixels so that a few hot pixels do not
    darken everything else, scales to ``[0, 255]`` and optionally blurs with a
    Gaussian of ``blur_sigma`` pixels. With ``invert`` (the default) active
    pixels are dark on white, like a pencil sketch: a moving face's eyes, brows
    and mouth fire the most events, and the Haar cascade expects them darker
    than the cheeks and forehead, so :func:`detect_face` finds faces on the
    inverted image and misses them on the plain one.

    Args:
        events: event array (:data:`neurova.events.EVENT_DTYPE`).
        sensor_size: ``(width, height)`` of the sensor.
        clip_percentile: percentile of non-zero counts mapped to 255.
        blur_sigma: Gaussian blur in pixels; 0 disables it (and the OpenCV import).
        invert: dark activity on a white background (``255 - image``).

    Returns:
        ``(height, width)`` uint8 image; blank (all 255 with ``invert``, else 0) for zero events.
    """
    size = SensorSize.of(sensor_size)
    validate_events(events, sensor_size=size)
    image = _activity_image(_pixel_counts(events, size), clip_percentile, blur_sigma)
    return 255 - image if invert else image


def _pixel_counts(events: np.ndarray, size: SensorSize) -> np.ndarray:
    """``(H, W)`` int64 events per pixel, both polarities."""
    return filters._pixel_counts(events, size).reshape(size.shape)


NOISE_FLOOR_SD = 2.0
"""The learned detector's default ``noise_floor_sd``: a window's noise floor is its median pixel count plus two
Poisson standard deviations (:func:`remove_noise_floor`; docs/face_detection.md measures 0 to 4)."""


def remove_noise_floor(counts: np.ndarray, sd: float = NOISE_FLOOR_SD) -> np.ndarray:
    """Per-pixel event counts of a window less its noise floor, the level a sensor's background activity gives.

    A sensor's noise fires every pixel at a similar, Poisson rate, while a face moving in front of a still camera
    covers a minority of the pixels, so the median count ``m`` of each channel is the noise per pixel, and
    ``m + sd·√m`` is subtracted from every pixel, clipped at 0. The floor is taken only when the pixels at or
    below the median spread no more than Poisson counts do (variance at most their mean), as noise does; a
    moving textured scene (the whole camera moving) fires its pixels far more unevenly, and its counts come back
    unchanged, as do clean events and a still background (median 0). At a real DAVIS346's dark-pixel noise
    (28 Hz per pixel) the learned detector finds 76 % of the synthetic test faces with it, 28 % without
    (docs/face_detection.md).

    Args:
        counts: ``(H, W)`` or ``(C, H, W)`` counts (each channel has its own floor).
        sd: Poisson standard deviations above the median to subtract; 0 subtracts the median alone.

    Returns:
        float32 counts of the same shape (the input itself when no channel has a floor).
    """
    if not sd >= 0:
        raise ValueError(f"sd must be a number >= 0, got {sd!r}")
    counts = np.asarray(counts)
    channels = counts.reshape(-1, counts.shape[-2] * counts.shape[-1]) if counts.ndim == 3 else counts.reshape(1, -1)
    floor = np.zeros(len(channels), np.float32)
    for c, values in enumerate(channels):
        median = float(np.median(values))
        quiet = values[values <= median]
        if median > 0 and quiet.var() <= quiet.mean():  # Poisson-like: noise, not a scene's structure
            floor[c] = median + sd * math.sqrt(median)
    if not floor.any():
        return counts
    return np.maximum(counts - (floor[:, None, None] if counts.ndim == 3 else floor[0]), 0, dtype=np.float32)


def _activity_image(counts: np.ndarray, clip_percentile: float, blur_sigma: float) -> np.ndarray:
    """:func:`accumulate_events`'s image (not inverted) of the per-pixel ``counts`` (non-negative integers).

    The clip level comes from the counts' histogram and each pixel's grey level from a table over the counts:
    the same image as the percentile of the active pixels and float maths per pixel, about 3x faster on a
    1280x720 window.
    """
    histogram = np.bincount(counts.reshape(-1))
    if not histogram[1:].any():
        return np.zeros(counts.shape, dtype=np.uint8)
    top = max(_percentile_of_positive(histogram, clip_percentile), 1.0)
    levels = np.rint(np.clip(np.arange(len(histogram)) / top, 0.0, 1.0) * 255).astype(np.uint8)
    image = levels.take(counts)
    if blur_sigma > 0:
        cv2 = require("cv2", "faces", "blurring event images")
        image = cv2.GaussianBlur(image, (0, 0), blur_sigma)
    return image


def _percentile_of_positive(histogram: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of the positive integers whose ``histogram`` is given
    (``histogram[v]``: how many equal ``v``; at least one positive), without sorting them: numpy's arithmetic on
    the two order statistics it interpolates, found on the cumulative histogram."""
    cumulative = np.cumsum(histogram[1:])
    n = int(cumulative[-1])
    rank = (n - 1) * (q / 100)
    below = math.floor(rank)
    low, high = (np.searchsorted(cumulative, [below + 1, min(below + 1, n - 1) + 1]) + 1).tolist()
    weight, step = rank - below, high - low
    return float(high - step * (1 - weight)) if weight >= 0.5 else float(low + step * weight)


@cache
def _cascade() -> Any:
    cv2 = require("cv2", "faces", "detecting faces")
    cascade_path = cv2.data.haarcascades + HAAR_CASCADE
    cascade = cv2.CascadeClassifier(cascade_path)
    if cascade.empty():
        raise FileNotFoundError(
            f"OpenCV could not load its Haar cascade {cascade_path}; install opencv-python-headless<5 "
            "(version 5 ships no Haar cascades)"
        )
    return cascade


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    img = np.asarray(frame)
    if img.ndim != 2:
        raise ValueError(f"detect_face expects a (H, W) grey image, got shape {img.shape}")
    if img.dtype == np.uint8:
        return img
    img = img.astype(np.float64)
    if not np.isfinite(img).all():
        raise ValueError("detect_face got an image with NaN or infinite values")
    lo, hi = float(img.min()), float(img.max())
    if hi <= lo:
        return np.zeros(img.shape, dtype=np.uint8)
    return np.rint((img - lo) / (hi - lo) * 255).astype(np.uint8)


def detect_face(
    frame: np.ndarray,
    *,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    min_size: int | None = None,
) -> np.ndarray | None:
    """Find the largest frontal face in a grey image with OpenCV's Haar cascade.

    Args:
        frame: ``(H, W)`` image: a uint8 frame, or an accumulated event image
            (:func:`accumulate_events`); other dtypes are rescaled to ``[0, 255]``.
        scale_factor: cascade image-pyramid step.
        min_neighbors: cascade detections needed to keep a box (higher: fewer false positives).
        min_size: smallest face side in pixels (default: a tenth of the shorter image side, at least 20).

    Returns:
        float64 ``[x0, y0, width, height]`` of the largest detection, or ``None``.
    """
    img = _to_uint8(frame)
    if min_size is None:
        min_size = max(20, min(img.shape) // 10)
    faces = _cascade().detectMultiScale(
        img, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(int(min_size), int(min_size))
    )
    return _largest(faces)


def _largest(faces: Any) -> np.ndarray | None:
    boxes = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return None
    return boxes[int(np.argmax(boxes[:, 2] * boxes[:, 3]))]


# --- event images for the learned detector ------------------------------------------------------------


DETECTOR_INPUT_SIZE = SensorSize(128, 96)
"""Default ``(width, height)`` of the learned detector's input: any sensor is letterboxed into it."""


def letterbox(sensor_size: SensorSize | tuple[int, ...], input_size: SensorSize | tuple[int, ...]) -> tuple[float, float, float]:
    """Scale and padding that fit a sensor inside a fixed input, keeping its aspect ratio.

    Sensor pixel ``(x, y)`` lands on input pixel ``(x * scale + pad_x, y * scale + pad_y)``; the
    sensor is centred and the rest of the input is empty (zero).

    Returns:
        ``(scale, pad_x, pad_y)``: input pixels per sensor pixel and the offsets in input pixels.
    """
    sensor, size = SensorSize.of(sensor_size), SensorSize.of(input_size)
    scale = min(size.width / sensor.width, size.height / sensor.height)
    return scale, (size.width - sensor.width * scale) / 2, (size.height - sensor.height * scale) / 2


def event_image(
    events: np.ndarray,
    sensor_size: SensorSize | tuple[int, ...],
    input_size: SensorSize | tuple[int, ...] = DETECTOR_INPUT_SIZE,
    *,
    clip_percentile: float = 99.0,
    noise_floor_sd: float | None = None,
) -> np.ndarray:
    """ON and OFF event counts of a window, letterboxed into a fixed input (the learned detector's input).

    Each event is binned to the input pixel its sensor pixel falls on (:func:`letterbox`), so a
    1280x720 sensor pools about 10x10 sensor pixels per input pixel and a 320x240 one about 2.5x2.5.
    Counts are divided by the ``clip_percentile`` of the non-zero counts (both channels together)
    and clipped to 1, which makes the image independent of the window length, the event rate and
    the sensor size, and keeps a few hot pixels from darkening everything else.

    Args:
        events: event array (:data:`neurova.events.EVENT_DTYPE`), the window to look at.
        sensor_size: ``(width, height)`` of the sensor.
        input_size: ``(width, height)`` of the output image.
        clip_percentile: percentile of the non-zero counts mapped to 1.
        noise_floor_sd: first subtract each channel's noise floor over the sensor's part of the image
            (:func:`remove_noise_floor`, the letterbox's padding left out); None keeps the counts (the
            detector's training images).

    Returns:
        ``(2, height, width)`` float32 image in ``[0, 1]``: channel 0 ON, channel 1 OFF events; all
        zero for zero events.
    """
    sensor, size = SensorSize.of(sensor_size), SensorSize.of(input_size)
    validate_events(events, sensor_size=sensor)
    scale, pad_x, pad_y = letterbox(sensor, size)
    # the input pixel of every sensor column and row, then one lookup per event (not five float passes)
    column = np.clip(np.floor(np.arange(sensor.width) * scale + pad_x), 0, size.width - 1).astype(np.int64)
    row = np.clip(np.floor(np.arange(sensor.height) * scale + pad_y), 0, size.height - 1).astype(np.int64)
    pixel = (row * size.width).take(events["y"])
    pixel += column.take(events["x"])
    off_channel = np.array([size.height * size.width, 0])  # OFF events in the second channel
    pixel += off_channel.take(events["p"].view(np.uint8))  # a lookup: 3x faster than np.where on the field
    counts = np.bincount(pixel, minlength=2 * size.height * size.width)
    image = counts.reshape(2, size.height, size.width).astype(np.float32)
    if noise_floor_sd is not None:
        y0, x0 = math.ceil(pad_y), math.ceil(pad_x)
        y1, x1 = math.floor(pad_y + sensor.height * scale), math.floor(pad_x + sensor.width * scale)
        image[:, y0:y1, x0:x1] = remove_noise_floor(image[:, y0:y1, x0:x1], noise_floor_sd)
    active = image[image > 0]
    if len(active):
        image /= max(float(np.percentile(active, clip_percentile)), 1.0)
        np.clip(image, 0.0, 1.0, out=image)
    return image


# --- detectors -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceDetection:
    """What a detector saw in one window.

    Attributes:
        box: float64 ``[x0, y0, width, height]`` in sensor pixels of the best candidate, following
            :func:`neurova.datasets.scenes.face_box`'s definition; ``None`` when there is no candidate.
        score: confidence in ``[0, 1]`` that ``box`` holds a face.
        found: ``score`` reached the detector's threshold.
        source: the backend that produced ``box`` (``"learned"``, ``"haar"`` or ``"none"``).
    """

    box: np.ndarray | None
    score: float
    found: bool
    source: str


class FaceDetector(Protocol):
    """Anything that finds a face in a window of events.

    ``detector(events, sensor_size)`` returns the face box ``[x0, y0, width, height]`` (float64,
    sensor pixels) or ``None`` when it finds no face. neurova's detectors also have
    ``detect(events, sensor_size) -> FaceDetection`` with the score.
    """

    def __call__(self, events: np.ndarray, sensor_size: SensorSize) -> np.ndarray | None: ...


def default_weights() -> Path:
    """Path of the event-face detector weights shipped inside the package (``neurova/weights/``)."""
    return Path(str(resources.files("neurova") / "weights" / "event_face_detector.safetensors"))


class LearnedFaceDetector:
    """The shipped event-face detector (:class:`neurova.nets.EventFaceNet`) on a window of events.

    The events are rendered with :func:`event_image` (settings read from the JSON file beside the
    weights), the net's best heat-map cell gives the box and its score. Trained on simulated events
    of synthetic head-and-shoulders scenes (``neurova train-face-detector``, docs/face_detection.md);
    it expects windows of about 50-300 ms (200 ms recommended).

    Args:
        weights: a ``.safetensors`` file with a ``.json`` of settings beside it (same stem); default
            :func:`default_weights`.
        threshold: score needed to report a face; default the one stored in the settings.
        noise_floor_sd: each window's noise floor is subtracted before the net sees it
            (:func:`remove_noise_floor`: no change where the median pixel has no event); None turns it off.
            ``"auto"`` (default): the ``noise_floor_sd`` the weights were trained with
            (``neurova train-face-detector --noise-floor-sd``, the settings' ``recipe``), else
            :data:`NOISE_FLOOR_SD` (the shipped weights, trained on unfloored windows, detect best with it).
        device: torch device.

    Raises:
        CheckpointError: missing or unreadable weights or settings.
    """

    def __init__(self, weights: str | os.PathLike[str] | None = None, *, threshold: float | None = None,
                 noise_floor_sd: float | Literal["auto"] | None = "auto", device: str = "cpu") -> None:
        import torch

        from neurova.nets.backbone import load_weights_file
        from neurova.nets.face_detector import EventFaceNet

        path = Path(weights) if weights is not None else default_weights()
        settings_path = path.with_suffix(".json")
        if not settings_path.is_file():
            raise CheckpointError(f"settings file {settings_path.name} missing beside the detector weights", path=path)
        try:
            settings = json.loads(settings_path.read_text())
            self.input_size = SensorSize.of(tuple(settings["input_size"]))
            widths = tuple(int(w) for w in settings["widths"])
            self.clip_percentile = float(settings["clip_percentile"])
            default_threshold = float(settings["threshold"])
            trained_sd = dict(settings.get("recipe", {})).get("noise_floor_sd")
            trained_sd = None if trained_sd is None else float(trained_sd)
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"bad detector settings ({type(err).__name__}: {err})", path=settings_path) from err
        self.threshold = default_threshold if threshold is None else float(threshold)
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        if noise_floor_sd == "auto":
            noise_floor_sd = NOISE_FLOOR_SD if trained_sd is None else trained_sd
        if noise_floor_sd is not None and not (isinstance(noise_floor_sd, numbers.Real) and noise_floor_sd >= 0):
            raise ValueError(f"noise_floor_sd must be 'auto', None or a number >= 0, got {noise_floor_sd!r}")
        self.noise_floor_sd = None if noise_floor_sd is None else float(noise_floor_sd)
        self.settings = settings
        self.device = torch.device(device)
        self.net = EventFaceNet(in_chans=2, widths=widths)  # type: ignore[arg-type]
        try:
            self.net.load_state_dict(load_weights_file(path), strict=True)
        except RuntimeError as err:
            raise CheckpointError(f"weights do not fit EventFaceNet{widths}: {err}", path=path) from err
        self.net.to(self.device).eval()

    def detect_images(self, images: np.ndarray, sensor_sizes: Sequence[SensorSize | tuple[int, ...]]) -> list[FaceDetection]:
        """Detect on a batch of :func:`event_image` outputs ``(B, 2, H, W)`` of the given sensors."""
        import torch

        with torch.inference_mode():
            maps = self.net(torch.as_tensor(images, device=self.device))
            boxes, scores = self.net.decode(maps)
        out = []
        for box, score, sensor in zip(boxes.cpu().numpy().astype(np.float64), scores.cpu().numpy(), sensor_sizes):
            scale, pad_x, pad_y = letterbox(sensor, self.input_size)
            sensor_box = np.array([(box[0] - pad_x) / scale, (box[1] - pad_y) / scale, box[2] / scale, box[3] / scale])
            out.append(FaceDetection(sensor_box, float(score), bool(score >= self.threshold), "learned"))
        return out

    def detect(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> FaceDetection:
        """The best box of one window and its score."""
        image = event_image(events, sensor_size, self.input_size, clip_percentile=self.clip_percentile,
                            noise_floor_sd=self.noise_floor_sd)
        return self.detect_images(image[None], [SensorSize.of(sensor_size)])[0]

    def __call__(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> np.ndarray | None:
        detection = self.detect(events, sensor_size)
        return detection.box if detection.found else None


class HaarEventDetector:
    """The classic fallback: OpenCV's frontal-face Haar cascade on accumulated event images.

    The cascade runs on both renderings of :func:`accumulate_events` (active pixels dark on white,
    and white on dark) of the whole window and of its last half and quarter (``fractions``); the
    largest face of the first rendering that finds one is kept. ``score`` is the fraction of the
    renderings whose face overlaps it (IoU >= 0.3), and a face is reported when at least
    ``min_votes`` renderings agree. The cascade's box (brows to mouth) is mapped to the
    :func:`neurova.datasets.scenes.face_box` definition by ``box_scale`` (side) and ``box_shift``
    (centre, in units of the cascade box's side, positive = down); the defaults are the medians over the
    validation windows of the detector recipe (``haar_mapping`` in ``event_face_detector.json``).

    Images of large sensors are shrunk before the cascade, by the whole factor ``k = shorter side //
    cascade_side`` (``k``x``k`` pixel blocks averaged, boxes scaled back): 640x480 runs at 320x240, 1280x720 at
    426x240, 320x240 .. 640x360 unshrunk. The smallest face the cascade looks for is a tenth of the shorter
    side either way; the cascade's time falls with the image's area (a 1280x720 window: 0.71 s, was 2.7 s).

    Args:
        fractions: trailing fractions of the window's duration to render.
        min_votes: renderings that must agree to report a face.
        box_scale: true side / cascade side.
        box_shift: vertical centre shift in cascade sides.
        cascade_side: shorter side (pixels) below which images are not shrunk; ``None`` never shrinks.

    The cascade sees the counts as they are, without :func:`remove_noise_floor`: on a real photographed face under
    a real DAVIS346's dark-pixel noise it finds the face as often without it, and less often with it when the
    whole camera moves (docs/face_detection.md).
    """

    def __init__(self, fractions: Sequence[float] = (1.0, 0.5, 0.25), *, min_votes: int = 1, box_scale: float = 1.29,
                 box_shift: float = -0.013, cascade_side: int | None = 240) -> None:
        if not fractions or not all(0 < f <= 1 for f in fractions):
            raise ValueError(f"fractions must be a non-empty sequence in (0, 1], got {fractions}")
        if min_votes < 1 or box_scale <= 0:
            raise ValueError(f"min_votes must be >= 1 and box_scale > 0, got {min_votes}, {box_scale}")
        if cascade_side is not None and cascade_side < 24:
            raise ValueError(f"cascade_side must be >= 24 (the cascade's window) or None, got {cascade_side}")
        self.fractions = tuple(float(f) for f in fractions)
        self.min_votes = int(min_votes)
        self.box_scale = float(box_scale)
        self.box_shift = float(box_shift)
        self.cascade_side = cascade_side

    def detect(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> FaceDetection:
        """The cascade's face in one window, mapped to the face-box definition, and its vote share."""
        found = list(self._cascade_boxes(events, sensor_size))
        if not found:
            return FaceDetection(None, 0.0, False, "none")
        first = found[0]
        votes = sum(box_iou(first, other) >= 0.3 for other in found)
        return FaceDetection(self._mapped(first), votes / (2 * len(self.fractions)), votes >= self.min_votes, "haar")

    def _cascade_boxes(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> Iterator[np.ndarray]:
        """The cascade's face in each rendering that has one, in order (sensor pixels, cascade definition), lazily."""
        sensor = SensorSize.of(sensor_size)
        validate_events(events, sensor_size=sensor)
        shrink = 1 if self.cascade_side is None else max(1, min(sensor.shape) // self.cascade_side)
        for part_counts in self._trailing_counts(events, sensor):
            if part_counts is None:
                continue
            image = _activity_image(part_counts, 99.0, 1.0)  # accumulate_events' defaults
            if shrink > 1:
                cv2 = require("cv2", "faces", "detecting faces with the Haar cascade")
                image = cv2.resize(image, (sensor.width // shrink, sensor.height // shrink), interpolation=cv2.INTER_AREA)
            for rendering in (255 - image, image):  # active pixels dark on white, then white on dark
                box = detect_face(rendering)
                if box is not None:
                    yield box * shrink

    def _mapped(self, cascade_box: np.ndarray) -> np.ndarray:
        """A cascade box mapped to the face-box definition (``box_scale``, ``box_shift``)."""
        centre = cascade_box[:2] + cascade_box[2:] / 2 + np.array([0.0, self.box_shift * cascade_box[3]])
        side = self.box_scale * cascade_box[2:]
        return np.concatenate([centre - side / 2, side])

    def _trailing_counts(self, events: np.ndarray, sensor: SensorSize) -> list[np.ndarray | None]:
        """Per-pixel counts of the trailing part of the window for each of :attr:`fractions` (None: no event).

        Counted once, from the shortest part to the longest, each adding the events before the previous one:
        the same counts as counting each part on its own, in one pass over the window.
        """
        if not len(events):
            return []
        t0, t1 = int(events["t"][0]), int(events["t"][-1]) + 1
        starts = [search_times(events["t"], t1 - fraction * (t1 - t0)) for fraction in self.fractions]
        counts: list[np.ndarray | None] = [None] * len(starts)
        total, end = np.zeros(sensor.shape, np.int64), len(events)
        for k in sorted(range(len(starts)), key=lambda k: -starts[k]):
            if starts[k] < end:
                total = total + _pixel_counts(events[starts[k] : end], sensor)
                end = starts[k]
            counts[k] = total if end < len(events) else None
        return counts

    def __call__(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> np.ndarray | None:
        """:meth:`detect`'s box when found, else None. With ``min_votes=1`` the first rendering that finds a face
        decides, so the cascade stops there (up to 6x less work on a window with a clear face)."""
        if self.min_votes == 1:
            first = next(self._cascade_boxes(events, sensor_size), None)
            return None if first is None else self._mapped(first)
        detection = self.detect(events, sensor_size)
        return detection.box if detection.found else None


AGREE_IOU = 0.3
"""IoU above which :func:`combine_detections` takes the two detectors' boxes for the same face."""
CONFIDENT_SCORE = 0.5
"""Learned-detector score from which :func:`combine_detections` takes its box without the cascade's agreement."""


def combine_detections(learned_box: np.ndarray, learned_score: np.ndarray, learned_found: np.ndarray,
                       haar_box: np.ndarray, *, agree_iou: float = AGREE_IOU,
                       confident_score: float = CONFIDENT_SCORE) -> np.ndarray:
    """The ``"auto"`` rule over the learned detector's and the Haar cascade's answers for ``N`` windows.

    * the cascade finds a face, and the learned detector agrees (boxes overlapping, IoU >= ``agree_iou``) or is not
      confident (score below ``confident_score``): the cascade's box, the tighter one (median IoU with the true
      box 0.87 against 0.83 on the synthetic test windows, 0.80 against 0.55 on a real photographed face);
    * otherwise the learned box when its score is at least ``confident_score``;
    * otherwise no face (a tracker then holds the previous box).

    So the learned detector's box counts without the cascade's agreement only when it is confident. On synthetic
    faces it scores 0.68 or more on three quarters of the test faces and is right on 98 % of them; on two real
    photographed faces (docs/face_detection.md) it scored low (0.08-0.43 on the first, 10th-90th percentile)
    and its box drifted to a cap, a starred flag or the shoulders, while the cascade, trained on real faces,
    was right whenever it answered.

    Args:
        learned_box: ``(N, 4)`` the learned detector's best box (NaN rows when it has none).
        learned_score: ``(N,)`` its score; ``learned_found``: ``(N,)`` whether it reached its threshold.
        haar_box: ``(N, 4)`` the cascade's box, NaN rows where it found no face.

    Returns:
        ``(N, 4)`` float64 boxes, NaN rows where neither found a face.
    """
    learned_box, haar_box = np.asarray(learned_box, np.float64), np.asarray(haar_box, np.float64)
    confident = np.asarray(learned_found, bool) & (np.asarray(learned_score) >= confident_score)
    haar_found = np.isfinite(haar_box).all(axis=1)
    agree = np.zeros(len(haar_box), bool)
    for i in np.flatnonzero(confident & haar_found):
        agree[i] = box_iou(learned_box[i], haar_box[i]) >= agree_iou
    take_haar = haar_found & (~confident | agree)
    return np.where(take_haar[:, None], haar_box, np.where(confident[:, None], learned_box, np.nan))


class AutoFaceDetector:
    """Both detectors on every window, their answers combined by :func:`combine_detections`.

    The learned detector was trained on synthetic faces only and is the better on them; the cascade was trained
    on real faces and is the better on a real photographed face (docs/face_detection.md). Without OpenCV the
    learned detector answers alone; without the learned weights, the cascade.

    Args:
        learned: a :class:`LearnedFaceDetector`, or ``None`` when its weights cannot be loaded.
        haar: a :class:`HaarEventDetector`, or ``None`` when OpenCV is not installed.
        agree_iou, confident_score: the rule's settings (:func:`combine_detections`).
    """

    def __init__(self, learned: LearnedFaceDetector | None, haar: HaarEventDetector | None, *,
                 agree_iou: float = AGREE_IOU, confident_score: float = CONFIDENT_SCORE) -> None:
        if learned is None and haar is None:
            raise ValueError("AutoFaceDetector needs at least one backend")
        self.learned = learned
        self.haar = haar
        self.agree_iou, self.confident_score = float(agree_iou), float(confident_score)

    def detect(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> FaceDetection:
        """The detection :func:`combine_detections` picks; when it picks none, the learned one's, marked not found."""
        first = self.learned.detect(events, sensor_size) if self.learned is not None else None
        second = self.haar.detect(events, sensor_size) if self.haar is not None else None
        if first is None or second is None:
            answer = first if second is None else second
            assert answer is not None
            return answer
        haar_box = second.box if second.found else None
        box = self._combine(first, haar_box)
        if box is None:
            return first if not first.found else FaceDetection(first.box, first.score, False, first.source)
        return second if haar_box is not None and np.array_equal(box, haar_box) else first

    def _combine(self, learned: FaceDetection, haar_box: np.ndarray | None) -> np.ndarray | None:
        """:func:`combine_detections` of one window's learned detection and cascade box (None: no face)."""
        nan = np.full(4, np.nan)
        box = combine_detections((nan if learned.box is None else learned.box)[None], np.array([learned.score]),
                                 np.array([learned.found]), (nan if haar_box is None else np.asarray(haar_box))[None],
                                 agree_iou=self.agree_iou, confident_score=self.confident_score)[0]
        return box if np.isfinite(box).all() else None

    def __call__(self, events: np.ndarray, sensor_size: SensorSize | tuple[int, ...]) -> np.ndarray | None:
        """:meth:`detect`'s box when it is found, else None; the cascade answers through its own call (which
        stops at its first face), since the rule needs only its box."""
        if self.learned is None or self.haar is None:
            backend = self.learned if self.learned is not None else self.haar
            assert backend is not None
            return backend(events, sensor_size)
        return self._combine(self.learned.detect(events, sensor_size), self.haar(events, sensor_size))


def get_face_detector(name: str = "auto", **kwargs: Any) -> FaceDetector:
    """A face detector for windows of events by name.

    Args:
        name: ``"learned"`` (:class:`LearnedFaceDetector`), ``"haar"`` (:class:`HaarEventDetector`, needs
            the ``faces`` extra) or ``"auto"`` (:class:`AutoFaceDetector`: both, combined by
            :func:`combine_detections`; the learned one alone, with a :class:`DetectorFallbackWarning`, when
            OpenCV is not installed).
        **kwargs: passed to the backend (``"auto"``: to the learned one).

    Returns:
        A callable ``detector(events, sensor_size) -> box | None`` with a ``detect`` method that also
        gives the score (:class:`FaceDetection`).
    """
    if name == "learned":
        return LearnedFaceDetector(**kwargs)
    if name == "haar":
        require("cv2", "faces", "detecting faces with the Haar cascade")
        return HaarEventDetector(**kwargs)
    if name == "auto":
        try:
            require("cv2", "faces", "detecting faces with the Haar cascade")
            haar: HaarEventDetector | None = HaarEventDetector()
        except MissingDependencyError:
            warnings.warn("OpenCV is not installed (pip install \"neurova-va[faces]\"), so the face detector 'auto' "
                          "runs without the Haar cascade: the learned detector alone, trained on synthetic faces, found "
                          "photographed real faces in 8-46 % of the windows where 'auto' with the cascade and the "
                          "tracker found them in 83-100 % (docs/face_detection.md)", DetectorFallbackWarning,
                          stacklevel=2)
            haar = None
        return AutoFaceDetector(LearnedFaceDetector(**kwargs), haar)
    raise ValueError(f"unknown face detector {name!r}; choose 'auto', 'learned' or 'haar'")


def box_iou(a: Any, b: Any) -> float:
    """Intersection over union of two boxes ``(x0, y0, width, height)``."""
    a, b = _as_box(a), _as_box(b)
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


@dataclass(frozen=True)
class BoxJitter:
    """A face detector's box error, drawn at random: what a model meets at inference instead of the true box.

    On the synthetic test faces the learned detector's centre is off by 4 % of the side (sd, each axis) and its
    side by 9 % (sd of the ratio); a model trained on true crops loses 0.09 CCC of valence on its boxes. One error
    is ``dx, dy ~ N(0, shift)`` (the centre's move, in box sides) and ``ratio = exp(N(0, scale))`` (the sides'
    factor). Datasets of events apply it to each training sample's box before the crop
    (:class:`neurova.datasets.cache.EventCacheDataset`'s ``box_jitter``), which gives exactly the input of a
    detector's box; :class:`neurova.augment.RandomBoxJitter` resamples encoded frames with it instead.

    Args:
        shift: sd of the centre's error along each axis, in box sides (>= 0).
        scale: sd of the log of the side ratio (>= 0).
    """

    shift: float = 0.04
    scale: float = 0.09

    def __post_init__(self) -> None:
        if not (self.shift >= 0 and self.scale >= 0):
            raise ValueError(f"shift and scale must be >= 0, got {self.shift!r}, {self.scale!r}")

    @classmethod
    def of(cls, pair: Any, name: str = "box_jitter") -> BoxJitter:
        """The jitter of a ``(shift, scale)`` pair given as argument ``name``.

        Raises:
            ValueError: not two numbers, or a negative one (the message names ``name``).
        """
        try:
            shift, scale = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be (shift, scale), two numbers >= 0, got {pair!r}") from None
        return cls(shift, scale)

    def draw(self, generator: Any = None) -> tuple[float, float, float]:
        """One error ``(dx, dy, ratio)`` from ``torch``'s global generator or an explicit ``torch.Generator``."""
        import torch

        dx, dy, log_ratio = torch.randn(3, generator=generator).tolist()
        return self.shift * dx, self.shift * dy, math.exp(self.scale * log_ratio)

    def jitter_box(self, box: Any, generator: Any = None) -> tuple[float, float, float, float]:
        """``box`` ``(x0, y0, width, height)`` with one drawn error (:meth:`draw`): its centre moved by ``dx``
        widths and ``dy`` heights, its sides times ``ratio``."""
        x0, y0, width, height = (float(v) for v in _as_box(box))
        dx, dy, ratio = self.draw(generator)
        cx, cy = x0 + width * (0.5 + dx), y0 + height * (0.5 + dy)
        width, height = width * ratio, height * ratio
        return cx - width / 2, cy - height / 2, width, height


# --- tracking ------------------------------------------------------------------------------------------


class BoxTracker:
    """Hold a face box over time: smoothing, bounded steps, jump rejection, holding across misses.

    Each accepted detection moves the box towards it by ``alpha`` of the difference (centre and
    size), the centre by at most ``max_jump`` times the current side. A detection whose centre lies
    more than ``reject_jump`` sides away, or whose side differs by more than a factor
    ``reject_scale``, is rejected as a jump (the box stays), unless ``reacquire`` consecutive rejected
    detections agree with each other (each within ``reject_jump`` of the previous one): then the
    face really moved and the track restarts there. A missed detection (``None``) keeps the box;
    after ``max_misses`` consecutive updates without an accepted detection the track is lost and
    :meth:`update` returns ``None`` (``max_misses=None`` holds the box forever). The first detection
    is taken as is.

    Args:
        alpha: smoothing factor in ``(0, 1]``; 1 follows the detections exactly.
        max_jump: largest centre movement per accepted update, in units of the box side (``> 0``).
        reject_jump: centre distance, in box sides, beyond which a detection is a jump (``> 0``).
        reject_scale: side ratio beyond which a detection is a jump (``> 1``).
        reacquire: consecutive agreeing jumps that restart the track (``>= 1``).
        max_misses: updates without an accepted detection before the track is lost (``None``: never).
    """

    def __init__(self, alpha: float = 0.5, max_jump: float = 0.25, *, reject_jump: float = 1.0,
                 reject_scale: float = 2.0, reacquire: int = 3, max_misses: int | None = None) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
        if max_jump <= 0 or reject_jump <= 0:
            raise ValueError(f"max_jump and reject_jump must be positive, got {max_jump}, {reject_jump}")
        if reject_scale <= 1:
            raise ValueError(f"reject_scale must be > 1, got {reject_scale}")
        if reacquire < 1 or (max_misses is not None and max_misses < 1):
            raise ValueError(f"reacquire and max_misses must be >= 1, got {reacquire}, {max_misses}")
        self.alpha = float(alpha)
        self.max_jump = float(max_jump)
        self.reject_jump = float(reject_jump)
        self.reject_scale = float(reject_scale)
        self.reacquire = int(reacquire)
        self.max_misses = max_misses
        self.reset()

    @property
    def box(self) -> np.ndarray | None:
        """The current box ``[x0, y0, width, height]``, or ``None`` before the first detection or once lost."""
        if self._centre is None or self._size is None:
            return None
        return np.concatenate([self._centre - self._size / 2, self._size])

    @property
    def misses(self) -> int:
        """Consecutive updates without an accepted detection."""
        return self._misses

    def reset(self) -> None:
        """Forget the track."""
        self._centre: np.ndarray | None = None
        self._size: np.ndarray | None = None
        self._misses = 0
        self._jumps: list[np.ndarray] = []

    def _is_jump(self, box: np.ndarray, reference: np.ndarray) -> bool:
        distance = float(np.hypot(*(box[:2] + box[2:] / 2 - reference[:2] - reference[2:] / 2)))
        ratio = float(np.sqrt(box[2] * box[3] / (reference[2] * reference[3])))
        side = float(reference[2:].max())
        return distance > self.reject_jump * side or not 1 / self.reject_scale <= ratio <= self.reject_scale

    def _miss(self) -> np.ndarray | None:
        self._misses += 1
        if self.max_misses is not None and self._misses > self.max_misses:
            self._centre = self._size = None
        return self.box

    def update(self, detection: Any | None) -> np.ndarray | None:
        """Fold in one detection (or ``None`` for a miss) and return the held box (``None`` when there is none)."""
        if detection is None:
            return self._miss()
        det = _as_box(detection)
        current = self.box
        if current is not None and self._is_jump(det, current):
            if self._jumps and self._is_jump(det, self._jumps[-1]):
                self._jumps = []
            self._jumps.append(det)
            if len(self._jumps) < self.reacquire:
                return self._miss()
            current = None
        self._jumps = []
        self._misses = 0
        centre, size = det[:2] + det[2:] / 2, det[2:]
        if current is None or self._centre is None or self._size is None:
            self._centre, self._size = centre, size
            return self.box
        step = self.alpha * (centre - self._centre)
        limit = self.max_jump * float(self._size.max())
        norm = float(np.hypot(*step))
        if norm > limit:
            step *= limit / norm
        self._centre = self._centre + step
        self._size = self._size + self.alpha * (size - self._size)
        return self.box


# --- face tracks over recordings --------------------------------------------------------------------------


class DetectorFallbackWarning(UserWarning):
    """The face detector ``"auto"`` runs without the Haar cascade, OpenCV not being installed."""


class NoFaceWarning(UserWarning):
    """No face was given or found for some events, which are cropped to a fallback box instead.

    :func:`neurova.predict` warns once per run, :class:`neurova.datasets.NEFER` once per recording; the message
    names the source and the fallback box.
    """


DETECT_WINDOW_US = 200_000
"""Default µs of events a detection looks at (``window_us`` of :class:`FaceTrack`, ``detect_window_us`` of predict)."""

DETECT_EVERY_US = 250_000
"""Default µs between two detections (``every_us`` of :class:`FaceTrack`, ``detect_every_us`` of predict).

250 ms since 30 Nov (500 ms before): on two photographed faces animated into 12 recordings it held a box within IoU
0.5 of the face as often or more often on every one, and a tighter one (median IoU +0.01 to +0.11 on 11 of 12), for
1.75x the detections (docs/face_detection.md, "Tracking")."""


def pixel_box(box: Any) -> tuple[int, int, int, int]:
    """``(x0, y0, width, height)`` rounded to whole pixels (halves up; sides at least 1), as crops take it."""
    x0, y0, w, h = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    return math.floor(x0 + 0.5), math.floor(y0 + 0.5), max(1, math.floor(w + 0.5)), max(1, math.floor(h + 0.5))


class FaceTrack:
    """The face box of one recording over time: the one rule :func:`neurova.predict` and the datasets follow.

    Asked for the box at a time ``t`` (non-decreasing from call to call), the track runs the detector on the
    events of ``[t - window_us, t)`` at the first call and whenever ``every_us`` or more have passed since the
    last detection; a detection, enlarged by ``margin`` of its side on each side, goes to a
    :class:`BoxTracker`, whose held box is the answer (``None`` while it holds none: before the first
    detection, or when ``initial_box`` was not given and nothing was found).

    With ``lag_us > 0`` a detection's answer is used from the first call at least ``lag_us`` after its window's
    end (or at the next detection, if that comes first); while the track holds no box, at once. The boxes then
    depend only on the times, not on how long a detection takes, so ``background=True`` can run each detection
    in a worker thread beside the caller's work (a live camera's predictions) and give the same boxes as running
    it in line: the caller waits only if the answer is due before the detection has finished. Where the events of a
    later detection are there already (a whole recording), :meth:`prefetch` starts it in the worker thread early,
    with the same answer.

    Args:
        detector: ``detector(events, sensor_size) -> box | None`` (:func:`get_face_detector`).
        sensor_size: ``(width, height)`` of the sensor the events come from.
        window_us: µs of events each detection sees (``> 0``).
        every_us: µs between detections (``>= 0``; 0 detects at every call).
        margin: fraction of a detection's side added on each side (0: the detectors' box definition,
            :func:`neurova.datasets.scenes.face_box`, which the training crops use).
        initial_box: a box ``(x0, y0, width, height)`` held until the first detection (default: none).
        lag_us: µs after its window's end from which a detection's answer is used (``>= 0``; 0: at once).
        background: with ``lag_us > 0``, detect in a worker thread (:meth:`close` stops it; the track is also a
            context manager). The window's events must not change until the answer is used.
        prepare: with ``lag_us > 0``, ``prepare(box, events, t_us)``, called after a detection (in the worker
            thread with ``background``) whose answer will move the box: ``box`` is the pixel box the track will
            hold once the answer is used, ``events`` the detection's window and ``t_us`` its time. What it returns
            is :meth:`next_prepared` until the answer is used, then :attr:`prepared`: a live predictor starts the
            new box's emulated sensor there (:meth:`neurova.streaming.BoxStream.starting`), beside its predictions.
    """

    def __init__(self, detector: FaceDetector, sensor_size: SensorSize | tuple[int, ...], *,
                 window_us: int = DETECT_WINDOW_US, every_us: int = DETECT_EVERY_US, margin: float = 0.0,
                 initial_box: Any | None = None, lag_us: int = 0, background: bool = False,
                 prepare: Callable[[tuple[int, int, int, int], np.ndarray, int], Any] | None = None) -> None:
        if int(window_us) <= 0 or int(every_us) < 0 or int(lag_us) < 0:
            raise ValueError(f"window_us must be positive, every_us and lag_us non-negative, got {window_us}, "
                             f"{every_us}, {lag_us}")
        self.detector = detector
        self.sensor_size = SensorSize.of(sensor_size)
        self.window_us = int(window_us)
        self.every_us = int(every_us)
        self.margin = float(margin)
        self.lag_us = int(lag_us)
        self.background = bool(background)
        self.prepare = prepare
        self.prepared: Any = None
        """What ``prepare`` returned for the detection whose answer the track used last (None: none)."""
        self.tracker = BoxTracker()
        if initial_box is not None:
            self.tracker.update(initial_box)
        self.last_detection_us: int | None = None
        self._waiting: tuple[int, _Answer | Future[_Answer]] | None = None  # (used from µs, the answer)
        self._prefetched: tuple[int, Future[np.ndarray | None]] | None = None  # (detection time µs, its box)
        self._executor: ThreadPoolExecutor | None = None

    def due(self, t_us: int) -> bool:
        """Whether :meth:`box_at` at ``t_us`` runs the detector (the first call, or ``every_us`` since the last)."""
        return self.last_detection_us is None or int(t_us) - self.last_detection_us >= self.every_us

    def box_at(self, events: np.ndarray, t_us: int) -> tuple[int, int, int, int] | None:
        """The pixel box (:func:`pixel_box`) held at ``t_us``, detecting first when due (:meth:`due`).

        Args:
            events: time-ordered events holding at least ``[t_us - window_us, t_us)`` (more is fine); read only
                when a detection is due.
            t_us: the time, µs; not earlier than the previous call's.
        """
        t_us = int(t_us)
        if self.last_detection_us is not None and t_us < self.last_detection_us:
            raise ValueError(f"face track times must not decrease: {t_us} µs after {self.last_detection_us} µs")
        if self._waiting is not None and t_us >= self._waiting[0]:
            self._use_waiting()
        if self.due(t_us):
            self.last_detection_us = t_us
            recent = slice_time(events, t_us - self.window_us, t_us)
            self._use_waiting()  # an earlier answer still waiting comes first
            if self.lag_us == 0 or self.tracker.box is None:
                self.tracker.update(self._detect_at(recent, t_us))
                self.prepared = None
            elif self.background:
                job = self._worker().submit(self._answer, recent, t_us, copy.deepcopy(self.tracker))
                self._waiting = (t_us + self.lag_us, job)
            else:
                self._waiting = (t_us + self.lag_us, self._answer(recent, t_us, self.tracker))
        box = self.tracker.box
        return None if box is None else pixel_box(box)

    def _detect(self, recent: np.ndarray) -> np.ndarray | None:
        """The detector's box on the window ``recent``, grown by ``margin`` (None: no face, or no events)."""
        found = self.detector(recent, self.sensor_size) if len(recent) else None
        if found is not None and self.margin:
            found = np.asarray(found, dtype=np.float64)
            grow = found[2:] * self.margin
            found = np.concatenate([found[:2] - grow, found[2:] + 2 * grow])
        return found

    def prefetch(self, t_us: int, events: np.ndarray) -> None:
        """Start now, in the worker thread, the detection a later :meth:`box_at` call at ``t_us`` will run, so that
        the caller's work until then runs beside it (an offline predictor's, whose recording is all there). The
        answer is the same; a call at another time discards it. Not with ``background`` (whose worker runs the
        lagged detections).

        Args:
            t_us: the time of the call that will detect (:meth:`due` then), µs.
            events: time-ordered events holding at least ``[t_us - window_us, t_us)``; must not change until then.
        """
        if self.background:
            raise ValueError("FaceTrack.prefetch is for tracks without background detection")
        self._take_prefetched(None)  # one detection ahead at most
        recent = slice_time(events, int(t_us) - self.window_us, int(t_us))
        self._prefetched = (int(t_us), self._worker().submit(self._detect, recent))

    def _take_prefetched(self, t_us: int | None) -> tuple[bool, np.ndarray | None]:
        """``(True, box)`` when the detection prefetched is the one at ``t_us``, else ``(False, None)``; either way
        the prefetched one has finished (no two detections run at once). Its error is raised only when it is used,
        as the same detection in line would."""
        if self._prefetched is None:
            return False, None
        when, job = self._prefetched
        self._prefetched = None
        if when != t_us:
            job.exception()  # waits for it; a detection not used fails nobody
            return False, None
        return True, job.result()

    def _detect_at(self, recent: np.ndarray, t_us: int) -> np.ndarray | None:
        """:meth:`_detect` of the window ending at ``t_us``, prefetched or run now."""
        prefetched, found = self._take_prefetched(t_us)
        return found if prefetched else self._detect(recent)

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="neurova-face-track")
        return self._executor

    def _answer(self, recent: np.ndarray, t_us: int, tracker: BoxTracker) -> _Answer:
        """A lagged detection's answer, and what :attr:`prepare` makes of it when it will move the box (``tracker``:
        the track's tracker as it is until the answer is used; read only)."""
        found = self._detect(recent) if self.background else self._detect_at(recent, t_us)
        if self.prepare is None:
            return _Answer(found, None)
        before = tracker.box
        after = copy.deepcopy(tracker).update(found)
        if after is None or (before is not None and pixel_box(after) == pixel_box(before)):
            return _Answer(found, None)
        return _Answer(found, self.prepare(pixel_box(after), recent, t_us))

    def next_prepared(self) -> Any:
        """What ``prepare`` returned for the answer still waiting, once its detection has finished (else None; also
        when it failed, whose error :meth:`box_at` raises where the answer is due)."""
        if self._waiting is None:
            return None
        answer = self._waiting[1]
        if isinstance(answer, Future):
            if not answer.done() or answer.exception() is not None:
                return None
            answer = answer.result()
        return answer.prepared

    def _use_waiting(self) -> None:
        """Give the tracker the answer that waits (waiting for its detection to finish, in the background)."""
        if self._waiting is None:
            return
        answer = self._waiting[1]
        self._waiting = None
        if isinstance(answer, Future):
            answer = answer.result()
        self.tracker.update(answer.found)
        self.prepared = answer.prepared

    def close(self) -> None:
        """Stop the worker thread of ``background`` detection (a detection running is finished first)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> FaceTrack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Answer(NamedTuple):
    """A lagged detection's answer: the detector's box (None: no face) and what ``prepare`` made of it."""

    found: np.ndarray | None
    prepared: Any


def track_face_boxes(
    events: np.ndarray,
    sensor_size: SensorSize | tuple[int, ...],
    ends_us: Sequence[int] | np.ndarray,
    *,
    detector: FaceDetector | str = "auto",
    window_us: int = DETECT_WINDOW_US,
    every_us: int = DETECT_EVERY_US,
    margin: float = 0.0,
    initial_box: Any | None = None,
    fallback: Any | None = None,
    lag_us: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The face box of a recording at each of ``ends_us``, as :func:`neurova.predict` finds it.

    One :class:`FaceTrack` visits ``ends_us`` in order: the predictor visits its prediction times, the
    datasets the ends of their samples' last frames, so both crop the same events with the same boxes.

    Args:
        events: the recording's time-ordered events (tonic's dtype, ``t`` in µs).
        sensor_size: ``(width, height)`` of the sensor.
        ends_us: ``(K,)`` non-decreasing times, µs.
        detector: a detector callable or a :func:`get_face_detector` name.
        window_us, every_us, margin, initial_box, lag_us: as :class:`FaceTrack`.
        fallback: box of the times without a tracked face (default: :func:`centre_square` of the sensor).

    Returns:
        ``boxes``: ``(K, 4)`` int64 ``(x0, y0, width, height)`` pixel boxes; ``found``: ``(K,)`` bool, False
        where the box is ``fallback``.
    """
    ends = np.asarray(ends_us, dtype=np.int64).reshape(-1)
    if (np.diff(ends) < 0).any():
        raise ValueError("ends_us must be non-decreasing")
    track = FaceTrack(get_face_detector(detector) if isinstance(detector, str) else detector, sensor_size,
                      window_us=window_us, every_us=every_us, margin=margin, initial_box=initial_box, lag_us=lag_us)
    default = pixel_box(fallback) if fallback is not None else centre_square(track.sensor_size)
    boxes = np.empty((len(ends), 4), dtype=np.int64)
    found = np.zeros(len(ends), dtype=bool)
    for k, t_us in enumerate(ends):
        box = track.box_at(events, int(t_us))
        found[k] = box is not None
        boxes[k] = box if box is not None else default
    return boxes, found
