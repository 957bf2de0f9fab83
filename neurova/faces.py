"""Face localisation and cropping, for RGB frames and for event recordings.

Boxes are ``(x0, y0, width, height)`` in pixels of the frame or sensor they come
from (``x`` to the right, ``y`` down), as float arrays so that smoothing keeps
sub-pixel precision; cropping rounds them to whole pixels.

* :func:`square_box_from_landmarks` and :func:`smooth_boxes` make the landmark
  crops of AFEW-VA (68 landmarks per frame), :func:`crop_and_resize` cuts them.
* :func:`accumulate_events`, :func:`detect_face` and :class:`BoxTracker` find a
  face on a real event recording, where it fills only part of the sensor:
  events are accumulated into a grey image, OpenCV's Haar cascade (shipped with
  ``opencv-python-headless``, so it works offline) finds the face, and the
  tracker smooths the box over time.

numpy only at import time; OpenCV (the ``faces`` extra) is imported when a
function needs it.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

from neurova._optional import require
from neurova.events import SensorSize, validate_events

__all__ = [
    "BoxTracker",
    "accumulate_events",
    "centre_square",
    "crop_and_resize",
    "detect_face",
    "smooth_boxes",
    "square_box_from_landmarks",
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
    """Cut ``box`` out of ``frame`` and resize it to ``size x size``.

    The box is rounded to whole pixels; parts outside the frame are zero.
    Resizing uses OpenCV's area interpolation (the right filter when shrinking);
    a non-square box is stretched to the square output.

    Args:
        frame: ``(H, W)`` (or ``(H, W, C)``) image, typically uint8.
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
    x0, y0 = math.floor(x0 + 0.5), math.floor(y0 + 0.5)
    w, h = max(1, math.floor(w + 0.5)), max(1, math.floor(h + 0.5))
    height, width = img.shape[:2]
    crop = np.zeros((h, w, *img.shape[2:]), dtype=img.dtype)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + w, width), min(y0 + h, height)
    if sx1 > sx0 and sy1 > sy0:
        crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
    if (h, w) == (size, size):
        return crop
    cv2 = require("cv2", "faces", "resizing face crops")
    return cv2.resize(crop, (int(size), int(size)), interpolation=cv2.INTER_AREA)


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
    counts = np.bincount(
        events["y"].astype(np.int64) * size.width + events["x"].astype(np.int64), minlength=size.width * size.height
    ).reshape(size.shape)
    image = np.zeros(size.shape, dtype=np.uint8)
    active = counts[counts > 0]
    if len(active):
        top = max(float(np.percentile(active, clip_percentile)), 1.0)
        image = np.rint(np.clip(counts / top, 0.0, 1.0) * 255).astype(np.uint8)
        if blur_sigma > 0:
            cv2 = require("cv2", "faces", "blurring event images")
            image = cv2.GaussianBlur(image, (0, 0), blur_sigma)
    return 255 - image if invert else image


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


class BoxTracker:
    """Smooth a face box over time: exponential smoothing with a bounded step.

    Each :meth:`update` moves the box towards the new detection by ``alpha`` of
    the difference (centre and size), then limits the centre's movement to
    ``max_jump`` times the current side, so that a spurious detection elsewhere
    in the image moves the crop only a little. A missed detection (``None``)
    keeps the last box. The first detection is taken as is.

    Args:
        alpha: smoothing factor in ``(0, 1]``; 1 follows the detections exactly.
        max_jump: largest centre movement per update, in units of the box side (``> 0``).
    """

    def __init__(self, alpha: float = 0.5, max_jump: float = 0.25) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
        if max_jump <= 0:
            raise ValueError(f"max_jump must be positive, got {max_jump}")
        self.alpha = float(alpha)
        self.max_jump = float(max_jump)
        self._centre: np.ndarray | None = None
        self._size: np.ndarray | None = None

    @property
    def box(self) -> np.ndarray | None:
        """The current box ``[x0, y0, width, height]``, or ``None`` before the first detection."""
        if self._centre is None or self._size is None:
            return None
        return np.concatenate([self._centre - self._size / 2, self._size])

    def reset(self) -> None:
        """Forget the track."""
        self._centre = self._size = None

    def update(self, detection: Any | None) -> np.ndarray | None:
        """Fold in one detection (or ``None`` for a miss) and return the smoothed box."""
        if detection is None:
            return self.box
        det = _as_box(detection)
        centre, size = det[:2] + det[2:] / 2, det[2:]
        if self._centre is None or self._size is None:
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
