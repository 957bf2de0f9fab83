"""Images: decoding, colour to luma, and the one crop-and-resize of neurova.

* :func:`read_image` / :func:`read_frames` decode PNG and JPEG files with torchvision (a core dependency; no
  OpenCV needed); :func:`to_gray` turns colour into luma with ITU-R BT.601 weights, bit-exact with OpenCV's
  ``cvtColor`` (which v2e uses).
* :func:`crop_and_resize` cuts a box out of images and resizes them, for RGB face crops (AFEW-VA), video frames
  before simulation, encoded frames of a model input and NEFER's frames alike. Its ``interpolation`` argument
  says how pixels are combined (see :data:`INTERPOLATIONS`).

Images are ``(..., H, W)`` arrays, channels first as in torch (``(H, W)``, ``(T, H, W)``, ``(T, C, H, W)``);
sizes are ``(width, height)`` as :class:`neurova.events.SensorSize`, boxes ``(x0, y0, width, height)`` in pixels.
numpy only at import time; torch is imported when a function needs it.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from neurova.errors import VideoFormatError
from neurova.events import SensorSize

__all__ = ["INTERPOLATIONS", "Interpolation", "crop_and_resize", "read_frames", "read_image", "to_gray"]

Interpolation = Literal["area", "bilinear"]

INTERPOLATIONS: dict[str, str] = {
    "area": "each output pixel is the mean of the input pixels its cell covers: torch's "
    "``interpolate(mode='area')`` (adaptive average pooling; cells of whole pixels, so for integer factors the "
    "exact block mean). The filter for shrinking; when enlarging it repeats pixels (nearest neighbour).",
    "bilinear": "bilinear with antialiasing (torch's ``interpolate(mode='bilinear', antialias=True, "
    "align_corners=False)``): a triangle filter as wide as the scale factor when shrinking, plain bilinear "
    "when enlarging.",
}
"""The ``interpolation`` values of :func:`crop_and_resize` and what each computes."""

# OpenCV's fixed-point BT.601 luma (cvtColor RGB2GRAY for 8-bit input): 0.299 R + 0.587 G + 0.114 B
_R2Y, _G2Y, _B2Y, _SHIFT = 4899, 9617, 1868, 14
_CHUNK = 64  # images resized per torch call: bounded memory for long clips

PathLike = str | os.PathLike[str]
ImagesT = TypeVar("ImagesT")


def to_gray(frames: np.ndarray, *, channels: str = "rgb") -> np.ndarray:
    """Luma of colour images ``(..., 3)`` with BT.601 weights ``0.299 R + 0.587 G + 0.114 B``.

    uint8 input gives uint8 output identical to OpenCV's ``cvtColor(..., COLOR_RGB2GRAY)``
    (fixed-point, rounded); float input gives float32. ``channels="bgr"`` for OpenCV's order.

    Raises:
        VideoFormatError: the last axis does not hold 3 channels.
    """
    frames = np.asarray(frames)
    if frames.ndim < 3 or frames.shape[-1] != 3:
        raise VideoFormatError(f"colour frames must end in 3 channels, got shape {frames.shape}")
    if channels not in ("rgb", "bgr"):
        raise ValueError(f"channels must be 'rgb' or 'bgr', got {channels!r}")
    r, g, b = (frames[..., i] for i in ((0, 1, 2) if channels == "rgb" else (2, 1, 0)))
    if frames.dtype == np.uint8:
        luma = r.astype(np.int32) * _R2Y + g.astype(np.int32) * _G2Y + b.astype(np.int32) * _B2Y
        return ((luma + (1 << (_SHIFT - 1))) >> _SHIFT).astype(np.uint8)
    return (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)


def read_image(path: PathLike, *, mode: Literal["gray", "rgb"] = "gray") -> np.ndarray:
    """Decode a PNG or JPEG image: ``(H, W)`` uint8 luma (``"gray"``) or ``(H, W, 3)`` uint8 RGB.

    Luma uses :func:`to_gray` (BT.601, as OpenCV and v2e), also for images stored in colour.

    Raises:
        VideoFormatError: the file is missing or not a decodable image (naming the file).
    """
    if mode not in ("gray", "rgb"):
        raise ValueError(f"mode must be 'gray' or 'rgb', got {mode!r}")
    from torchvision.io import ImageReadMode, decode_image, read_file

    with warnings.catch_warnings():
        # torchvision >= 0.29 flags its image codecs as deprecated in favour of torchcodec; they still work
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            rgb = decode_image(read_file(str(path)), mode=ImageReadMode.RGB).permute(1, 2, 0).numpy()
        except (RuntimeError, OSError, ValueError) as exc:
            raise VideoFormatError(f"unreadable image ({exc})", path) from exc
    return to_gray(rgb) if mode == "gray" else rgb


def read_frames(paths: Sequence[PathLike], *, source: PathLike | None = None) -> np.ndarray:
    """Decode image files to grayscale ``(T, H, W)`` uint8 (``(0, 0, 0)`` for no paths).

    Raises:
        VideoFormatError: an image cannot be decoded, or the frames differ in size (naming the files and
            ``source``, by default the folder of the first frame).
    """
    frames = [read_image(path) for path in paths]
    folder = source if source is not None else (Path(paths[0]).parent if paths else None)
    _check_sizes([f.shape for f in frames], [Path(p).name for p in paths], folder)
    return np.stack(frames) if frames else np.zeros((0, 0, 0), dtype=np.uint8)


def _check_sizes(shapes: Sequence[tuple[int, ...]], names: Sequence[str], source: PathLike | None) -> None:
    """Raise :class:`VideoFormatError` naming the first of ``names`` whose ``(H, W, ...)`` shape differs."""
    for shape, name in zip(shapes, names):
        if shape != shapes[0]:
            raise VideoFormatError(
                f"frame size changes: {names[0]} is {shapes[0][1]}x{shapes[0][0]} but {name} is {shape[1]}x{shape[0]}",
                source,
            )


def _pixel_box(box: Any) -> tuple[int, int, int, int]:
    """``box`` rounded to whole pixels (half up), the size at least 1."""
    values = np.asarray(box, dtype=np.float64).reshape(-1)
    if values.shape != (4,) or not np.isfinite(values).all():
        raise ValueError(f"box must be 4 finite numbers (x0, y0, width, height), got {box!r}")
    if values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"box must have a positive width and height, got {tuple(values.tolist())}")
    x0, y0, w, h = (math.floor(v + 0.5) for v in values)
    return x0, y0, max(1, w), max(1, h)


def _crop(images: Any, box: tuple[int, int, int, int], pad: bool) -> Any:
    """The ``box`` of ``(..., H, W)`` images; parts outside them are zeros (a view when the box fits)."""
    x0, y0, w, h = box
    height, width = images.shape[-2:]
    if x0 >= 0 and y0 >= 0 and x0 + w <= width and y0 + h <= height:
        return images[..., y0 : y0 + h, x0 : x0 + w]
    if not pad:
        raise ValueError(f"crop box (x0, y0, w, h) = {box} does not fit in images of {width}x{height}")
    if isinstance(images, np.ndarray):
        out = np.zeros((*images.shape[:-2], h, w), dtype=images.dtype)
    else:
        out = images.new_zeros((*images.shape[:-2], h, w))
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
    if sx1 > sx0 and sy1 > sy0:
        out[..., sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = images[..., sy0:sy1, sx0:sx1]
    return out


def _target(size: int | SensorSize | tuple[int, int] | str) -> tuple[int, int]:
    """``(height, width)`` of ``size`` (an int: a square side)."""
    if isinstance(size, int | np.integer) and not isinstance(size, bool):
        if size < 1:
            raise ValueError(f"size must be a positive integer, got {size}")
        return int(size), int(size)
    return SensorSize.of(size).shape


def _resize(images: Any, shape: tuple[int, int], interpolation: str) -> Any:
    """``(..., H, W)`` numpy or torch images resized to ``shape = (height, width)``; dtype kept."""
    import torch
    from torch.nn import functional as F

    is_numpy = isinstance(images, np.ndarray)
    tensor = torch.from_numpy(np.ascontiguousarray(images)) if is_numpy else images
    dtype = tensor.dtype
    if dtype != torch.uint8 and not dtype.is_floating_point:
        raise ValueError(f"images must be uint8 or floating point, got {dtype}")
    lead = tensor.shape[:-2]
    flat = tensor.reshape(-1, 1, *tensor.shape[-2:])
    work = torch.float32 if dtype in (torch.uint8, torch.float16, torch.bfloat16) else dtype
    kwargs: dict[str, Any] = {"mode": "area"} if interpolation == "area" else {
        "mode": "bilinear", "antialias": True, "align_corners": False}
    out = torch.empty((flat.shape[0], 1, *shape), dtype=dtype, device=tensor.device)
    for start in range(0, flat.shape[0], _CHUNK):
        resized = F.interpolate(flat[start : start + _CHUNK].to(work), size=shape, **kwargs)
        if dtype == torch.uint8:
            resized = resized.clamp(0, 255).round()
        out[start : start + _CHUNK] = resized.to(dtype)
    out = out.reshape(*lead, *shape)
    return out.numpy() if is_numpy else out


def crop_and_resize(
    images: ImagesT,
    box: Any = None,
    size: int | SensorSize | tuple[int, int] | str | None = None,
    *,
    interpolation: Interpolation = "area",
    pad: bool = True,
) -> ImagesT:
    """Cut ``box`` out of ``(..., H, W)`` images, then resize them to ``size``.

    Args:
        images: numpy array or torch tensor ``(..., H, W)`` (``(H, W)``, ``(T, H, W)``, ``(T, C, H, W)``), uint8
            or floating point; every leading index is one image.
        box: ``(x0, y0, width, height)`` in pixels, rounded to whole pixels (half up); parts outside the
            images are zeros (``pad=False``: an error). None: the whole image.
        size: output ``(width, height)`` (a :class:`~neurova.events.SensorSize`, a tuple or ``"WxH"``), or an
            int for a square side. None: no resizing. A box of another aspect ratio is stretched.
        interpolation: ``"area"`` or ``"bilinear"``, as :data:`INTERPOLATIONS` describes.
        pad: fill the parts of ``box`` outside the images with zeros; False refuses such a box.

    Returns:
        The images' type and dtype, ``(..., height, width)``: uint8 rounded to the nearest integer (and
        clipped to 0..255), floating point as computed. Images already at ``size`` are returned as cut.

    Raises:
        ValueError: a box that is not 4 finite numbers with a positive size (or, with ``pad=False``, does not
            fit in the images), a bad size or interpolation,
            images of fewer than 2 axes or of another dtype.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}")
    if not isinstance(images, np.ndarray) and not type(images).__module__.startswith("torch"):
        images = np.asarray(images)  # type: ignore[assignment]
    if len(images.shape) < 2:  # type: ignore[attr-defined]
        raise ValueError(f"images must have shape (..., H, W), got {tuple(images.shape)}")  # type: ignore[attr-defined]
    out: Any = images if box is None else _crop(images, _pixel_box(box), pad)
    if size is None:
        return out
    shape = _target(size)
    if tuple(out.shape[-2:]) == shape:
        return out
    return _resize(out, shape, interpolation)
