"""Reading videos, frame folders and frame arrays as grayscale frames with timestamps.

Everything the simulator reads becomes ``(T, H, W)`` grayscale frames (uint8, or
float32 on a 0..255 scale) and ``(T,)`` int64 timestamps in µs. Colour is turned
into luma by :func:`neurova.image.to_gray` (ITU-R BT.601, bit-exact with OpenCV's
``cvtColor``, which v2e uses). PNG and JPEG frames are decoded by
:func:`neurova.image.read_frames` (torchvision, a core dependency); video files with
OpenCV (``pip install "neurova-va[faces]"``). Cropping and resizing is
:func:`neurova.image.crop_and_resize`.
Whole clips are held in memory, which suits face clips of a few hundred frames.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurova import image
from neurova._optional import require
from neurova.errors import VideoFormatError
from neurova.events import SensorSize
from neurova.image import _check_sizes

__all__ = [
    "DEFAULT_FPS",
    "FRAME_SUFFIXES",
    "list_frame_files",
    "load_frames",
    "read_video",
    "timestamps_from_fps",
]

DEFAULT_FPS = 25.0
"""Frame rate assumed for frame folders and arrays when none is given (AFEW-VA's 25 fps)."""

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")
"""Image suffixes (case-insensitive) read from frame folders."""

PathLike = str | os.PathLike[str]


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_frame_files(folder: PathLike) -> list[Path]:
    """PNG/JPEG files of a frame folder in natural name order (``2.png`` before ``10.png``).

    Raises:
        VideoFormatError: the folder does not exist or holds no frames.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoFormatError("not a folder of frames", folder)
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file()), key=_natural_key
    )
    if not files:
        raise VideoFormatError(f"the folder holds no frames ({', '.join(FRAME_SUFFIXES)} files)", folder)
    return files


def timestamps_from_fps(n_frames: int, fps: float) -> np.ndarray:
    """``(n_frames,)`` int64 µs timestamps ``round(i * 1e6 / fps)``."""
    if not fps > 0 or not np.isfinite(fps):
        raise ValueError(f"fps must be a positive number, got {fps}")
    return np.rint(np.arange(n_frames) * (1e6 / fps)).astype(np.int64)


def _read_file(path: Path) -> tuple[np.ndarray, float]:
    cv2 = require("cv2", "faces", "reading video files")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoFormatError("cannot open the video (unreadable file or unsupported format)", path)
        native_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image)
    finally:
        capture.release()
    if not frames:
        raise VideoFormatError("the video holds no frames (empty or undecodable)", path)
    _check_sizes([f.shape for f in frames], [f"frame {i}" for i in range(len(frames))], path)
    return np.stack(frames), native_fps


def read_video(source: PathLike, *, fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a video file or a folder of PNG/JPEG frames as grayscale frames.

    Args:
        source: a video file OpenCV can decode, or a folder of frames (natural name order).
        fps: frame rate; default: the file's own rate, :data:`DEFAULT_FPS` for folders
            (and for files that report none).

    Returns:
        ``frames`` ``(T, H, W)`` uint8 and ``timestamps_us`` ``(T,)`` int64, starting at 0.

    Raises:
        VideoFormatError: missing or unreadable input, no frames, or frames of changing size.
    """
    path = Path(source)
    if path.is_dir():
        frames, native = image.read_frames(list_frame_files(path), source=path), None
    elif path.is_file():
        frames, native = _read_file(path)
    else:
        raise VideoFormatError("no such video file or frame folder", path)
    rate = fps if fps is not None else (native if native and np.isfinite(native) and native > 0 else DEFAULT_FPS)
    return frames, timestamps_from_fps(len(frames), rate)


def _frames_from_array(source: Any) -> np.ndarray:
    if type(source).__module__.startswith("torch"):
        source = source.detach().cpu().numpy()
    if isinstance(source, list | tuple):
        if not source:
            raise VideoFormatError("empty video: the list of frames is empty")
        arrays = [np.asarray(f) for f in source]
        _check_sizes([a.shape for a in arrays], [f"frame {i}" for i in range(len(arrays))], None)
        source = np.stack(arrays)
    frames = np.asarray(source)
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    elif frames.ndim == 4 and frames.shape[-1] == 3:
        frames = image.to_gray(frames)
    if frames.ndim != 3:
        raise VideoFormatError(f"frames must be (T, H, W) or (T, H, W, 3), got shape {frames.shape}")
    if frames.shape[0] == 0:
        raise VideoFormatError("empty video: no frames")
    if frames.dtype == np.uint8:
        return frames
    if frames.dtype == bool or not (
        np.issubdtype(frames.dtype, np.floating) or np.issubdtype(frames.dtype, np.integer)
    ):
        raise VideoFormatError(f"frames must be uint8 or float intensities 0..255, got dtype {frames.dtype}")
    frames = frames.astype(np.float32)
    if not np.isfinite(frames).all() or frames.min() < 0:
        raise VideoFormatError("frame intensities must be finite and >= 0 (0..255 scale)")
    return frames


def load_frames(
    source: Any, timestamps_us: Sequence[int] | np.ndarray | None = None, *, fps: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Any simulator input as ``(frames (T, H, W), timestamps_us (T,) int64)``.

    ``source`` is a path (video file or frame folder, see :func:`read_video`), a
    ``(T, H, W)`` / ``(T, H, W, 3)`` RGB array or tensor, or a list of frames. Frames stay
    uint8 when given as uint8, else become float32 on the 0..255 scale.

    Raises:
        VideoFormatError: unreadable input, no frames, changing frame size, or timestamps
            that are not strictly increasing, negative or of the wrong length.
    """
    name: PathLike | None = None
    if isinstance(source, str | os.PathLike):
        name = source
        frames, default_times = read_video(source, fps=fps)
    else:
        frames = _frames_from_array(source)
        default_times = timestamps_from_fps(len(frames), DEFAULT_FPS if fps is None else fps)
    if timestamps_us is None:
        return frames, default_times
    times = np.asarray(timestamps_us)
    if times.shape != (len(frames),):
        raise VideoFormatError(f"expected {len(frames)} timestamps (one per frame), got shape {times.shape}", name)
    if np.issubdtype(times.dtype, np.floating):
        if not np.isfinite(times).all():
            raise VideoFormatError("timestamps must be finite", name)
        times = np.rint(times)
    elif not np.issubdtype(times.dtype, np.integer):
        raise VideoFormatError(f"timestamps must be numbers of µs, got dtype {times.dtype}", name)
    times = times.astype(np.int64)
    if len(times) and times[0] < 0:
        raise VideoFormatError(f"timestamps must be >= 0 µs, got {int(times[0])}", name)
    steps = np.diff(times)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0)) + 1
        raise VideoFormatError(
            f"timestamps must strictly increase: frame {i} at {int(times[i])} µs follows {int(times[i - 1])} µs", name
        )
    return frames, times


_MOVED = {"read_image": "neurova.image.read_image", "read_frames": "neurova.image.read_frames",
          "to_gray": "neurova.image.to_gray"}


def crop_and_resize(
    frames: np.ndarray,
    *,
    crop: tuple[int, int, int, int] | None = None,
    size: SensorSize | tuple[int, int] | str | None = None,
) -> np.ndarray:
    """Deprecated: ``neurova.image.crop_and_resize(frames, crop, size, interpolation="bilinear", pad=False)``."""
    warnings.warn("neurova.simulator.video.crop_and_resize is deprecated; use neurova.image.crop_and_resize(frames, "
                  "crop, size, interpolation='bilinear', pad=False)", DeprecationWarning, stacklevel=2)
    return image.crop_and_resize(frames, crop, size, interpolation="bilinear", pad=False)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(f"neurova.simulator.video.{name} moved to {_MOVED[name]}", DeprecationWarning, stacklevel=2)
        return getattr(image, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
