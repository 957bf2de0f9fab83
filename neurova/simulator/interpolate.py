"""Temporal upsampling of frame sequences before simulation.

Large motion between two frames makes a DVS emulator fire all of a pixel's
events in one interval, in an unrealistic burst; v2e therefore interpolates
frames (with SuperSloMo). neurova offers a cheap, documented approximation:

* ``upsample=k`` inserts ``k - 1`` frames in every interval;
* ``max_step_px=s`` chooses each interval's factor as ``ceil(motion / s)``, with the
  motion estimated by phase correlation (:func:`estimate_motion_px`);
* intermediate frames are a linear blend in the lin-log domain
  (:func:`interpolate_lin_log`): brightness changes are spread evenly over the
  interval, but moving edges cross-fade instead of moving. Pass a learned frame
  interpolator as ``interpolator(frame_a, frame_b, n) -> (n, H, W)`` for real motion.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator

import numpy as np
import torch

from neurova.simulator.dvs import inverse_lin_log, lin_log

__all__ = ["Interpolator", "estimate_motion_px", "interpolate_lin_log", "iter_frames", "upsample_factors"]

Interpolator = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
"""``(frame_a (H, W), frame_b (H, W), n) -> (n, H, W)`` frames strictly between a and b, evenly spaced in time."""


def interpolate_lin_log(frame_a: np.ndarray, frame_b: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames between ``frame_a`` and ``frame_b`` (0..255 scale), linear in the lin-log domain.

    Frame ``m`` (1-based) is ``inverse_lin_log((1 - a) * lin_log(A) + a * lin_log(B))`` with
    ``a = m / (n + 1)``. Returns ``(n, H, W)`` float32.
    """
    level_a = lin_log(torch.from_numpy(np.asarray(frame_a, dtype=np.float32)))
    level_b = lin_log(torch.from_numpy(np.asarray(frame_b, dtype=np.float32)))
    weights = torch.arange(1, n + 1, dtype=torch.float32).view(-1, 1, 1) / (n + 1)
    return inverse_lin_log(level_a + weights * (level_b - level_a)).numpy()


def estimate_motion_px(frame_a: np.ndarray, frame_b: np.ndarray) -> float:
    """Approximate motion in pixels between two frames: the dominant shift found by phase correlation.

    Exact for a global translation of textured content; local motion of a small region
    (against a static background) and rotation or zoom are underestimated.
    """
    a = np.asarray(frame_a)
    return _phase_shift_px(_spectrum(a), _spectrum(frame_b), a.shape)


def _spectrum(frame: np.ndarray) -> np.ndarray:
    """The real FFT of ``frame`` less its mean, under a Hann window (float64): one side of a phase correlation."""
    a = np.asarray(frame, dtype=np.float64)
    return np.fft.rfft2((a - a.mean()) * _hann_window(a.shape))


@functools.lru_cache(maxsize=8)
def _hann_window(shape: tuple[int, ...]) -> np.ndarray | float:
    """The 2-D Hann window of ``shape`` (read-only), or 1.0 for frames of 2 pixels or fewer on a side."""
    if min(shape) <= 2:
        return 1.0
    window = np.outer(np.hanning(shape[0]), np.hanning(shape[1]))
    window.flags.writeable = False
    return window


def _phase_shift_px(spectrum_a: np.ndarray, spectrum_b: np.ndarray, shape: tuple[int, ...]) -> float:
    """Length in pixels of the shift at the peak of the phase correlation of two spectra (:func:`_spectrum`) of
    frames of ``shape``."""
    cross = spectrum_a * np.conj(spectrum_b)
    magnitude = np.abs(cross)
    if magnitude.max() == 0:
        return 0.0
    corr = np.fft.irfft2(cross / np.maximum(magnitude, 1e-12 * magnitude.max()), s=shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    dy = dy - shape[0] if dy > shape[0] // 2 else dy
    dx = dx - shape[1] if dx > shape[1] // 2 else dx
    return float(math.hypot(dx, dy))


def upsample_factors(
    frames: np.ndarray,
    *,
    upsample: int | None = None,
    max_step_px: float | None = None,
    max_factor: int = 64,
) -> np.ndarray:
    """Upsampling factor of each of the ``T - 1`` intervals of ``(T, H, W)`` frames (1 = none).

    Args:
        frames: the clip.
        upsample: one integer factor for every interval.
        max_step_px: choose ``ceil(estimate_motion_px / max_step_px)`` per interval.
        max_factor: upper bound of an automatic factor.
    """
    n = max(len(frames) - 1, 0)
    if upsample is not None and max_step_px is not None:
        raise ValueError("give upsample or max_step_px, not both")
    if upsample is not None:
        if int(upsample) != upsample or upsample < 1:
            raise ValueError(f"upsample must be a positive integer, got {upsample}")
        return np.full(n, int(upsample), dtype=np.int64)
    if max_step_px is None:
        return np.ones(n, dtype=np.int64)
    if not max_step_px > 0:
        raise ValueError(f"max_step_px must be > 0, got {max_step_px}")
    # each frame's spectrum once (:func:`estimate_motion_px` on every pair would take each twice): 1.5x, the same values
    spectra = [_spectrum(frame) for frame in frames]
    motion = np.array([_phase_shift_px(spectra[i], spectra[i + 1], np.shape(frames[i])) for i in range(n)])
    return np.clip(np.ceil(motion / max_step_px), 1, max_factor).astype(np.int64)


def iter_frames(
    frames: np.ndarray,
    timestamps_us: np.ndarray,
    factors: np.ndarray,
    interpolator: Interpolator | None = None,
) -> Iterator[tuple[np.ndarray, int]]:
    """Yield ``(frame, t_us)`` of the upsampled clip, interpolating lazily interval by interval.

    Interval ``i`` with factor ``k`` yields ``k - 1`` interpolated frames at
    ``t_i + round(m * (t_{i+1} - t_i) / k)``, ``m = 1 .. k - 1``, then frame ``i + 1``.

    Raises:
        ValueError: an interval shorter than its factor in µs, or an interpolator returning
            the wrong shape.
    """
    interpolate = interpolator or interpolate_lin_log
    yield frames[0], int(timestamps_us[0])
    for i, factor in enumerate(np.asarray(factors, dtype=np.int64)):
        t_a, t_b = int(timestamps_us[i]), int(timestamps_us[i + 1])
        if factor > 1:
            if t_b - t_a < factor:
                raise ValueError(f"interval {i} lasts {t_b - t_a} µs, too short to upsample {factor}x")
            middle = np.asarray(interpolate(frames[i], frames[i + 1], int(factor) - 1))
            if middle.shape != (factor - 1, *frames.shape[1:]):
                raise ValueError(
                    f"interpolator returned shape {middle.shape}, expected {(int(factor) - 1, *frames.shape[1:])}"
                )
            for m, frame in enumerate(middle, start=1):
                yield frame, t_a + round(m * (t_b - t_a) / factor)
        yield frames[i + 1], t_b
