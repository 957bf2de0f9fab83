"""Flickering light: the frames a scene lit by a flickering lamp gives, sampled fast enough for a DVS.

Video frames average a lamp's flicker out (a 25 fps exposure spans several periods of 100 Hz); an event
camera does not. :func:`flickering_light` makes the frames such a camera would see, to test or train a model
under such light (and :mod:`neurova.encodings.flicker`'s filter): the clip is upsampled to
``samples_per_period`` frames per flicker period (linear in the lin-log domain between the given frames, as
:func:`~neurova.simulator.interpolate.interpolate_lin_log`) and every frame is multiplied by the lamp's gain

``g(t) = 1 - depth * (1 - cos(2 pi f t)) / 2``

(1 at the peaks, ``1 - depth`` in the troughs: ``depth`` 0.05-0.3 for fluorescent and incandescent lamps
on mains, up to 1 for LEDs driven by pulse-width modulation).
"""

from __future__ import annotations

import math

import numpy as np

from neurova.simulator.interpolate import iter_frames

__all__ = ["check_lamp", "flicker_gain", "flickering_light"]


def check_lamp(frequency_hz: float, depth: float) -> tuple[float, float]:
    """``(frequency_hz, depth)`` as floats.

    Raises:
        ValueError: ``frequency_hz`` not positive, or ``depth`` outside ``[0, 1]``.
    """
    frequency_hz, depth = float(frequency_hz), float(depth)
    if not frequency_hz > 0:
        raise ValueError(f"frequency_hz must be positive, got {frequency_hz!r}")
    if not 0 <= depth <= 1:
        raise ValueError(f"depth must be in [0, 1], got {depth!r}")
    return frequency_hz, depth


def flicker_gain(t_us: np.ndarray, frequency_hz: float, depth: float) -> np.ndarray:
    """``g(t)`` of the module docstring at times ``t_us`` (µs): float64 in ``[1 - depth, 1]``."""
    return 1.0 - depth * (1.0 - np.cos(2 * np.pi * frequency_hz * 1e-6 * np.asarray(t_us, dtype=np.float64))) / 2


def flickering_light(
    frames: np.ndarray,
    timestamps_us: np.ndarray,
    frequency_hz: float,
    depth: float,
    *,
    samples_per_period: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """The clip ``frames`` as lit by a lamp flickering at ``frequency_hz`` with modulation ``depth``.

    Args:
        frames: ``(T, H, W)`` grayscale frames, uint8 or float on the 0..255 scale, ``T >= 2``.
        timestamps_us: ``(T,)`` strictly increasing frame times in µs.
        frequency_hz: the flicker frequency (the light's, e.g. 100 Hz for a lamp on 50 Hz mains).
        depth: the modulation depth in ``[0, 1]``.
        samples_per_period: frames per flicker period (each interval is split into
            ``ceil(duration * frequency_hz * samples_per_period)`` steps).

    Returns:
        ``(frames (T', H, W), timestamps_us (T',) int64)``: the upsampled, modulated clip, frames of the input's
        dtype (uint8 rounded), ready for :func:`neurova.simulator.simulate` without further upsampling.

    Raises:
        ValueError: a bad frequency or depth (:func:`check_lamp`), sample count or clip.
    """
    frames = np.asarray(frames)
    timestamps_us = np.asarray(timestamps_us, dtype=np.int64)
    frequency_hz, depth = check_lamp(frequency_hz, depth)
    if int(samples_per_period) != samples_per_period or samples_per_period < 2:
        raise ValueError(f"samples_per_period must be an integer >= 2, got {samples_per_period!r}")
    if frames.ndim != 3 or len(frames) < 2 or timestamps_us.shape != (len(frames),):
        raise ValueError(f"need (T, H, W) frames with T >= 2 and (T,) timestamps, got {frames.shape} and "
                         f"{timestamps_us.shape}")
    intervals = np.diff(timestamps_us)
    if (intervals <= 0).any():
        raise ValueError("timestamps_us must be strictly increasing")
    factors = np.array([math.ceil(dt * 1e-6 * frequency_hz * samples_per_period) for dt in intervals])
    dtype = frames.dtype if frames.dtype == np.uint8 or np.issubdtype(frames.dtype, np.floating) else np.float32
    out = np.empty((1 + int(factors.sum()), *frames.shape[1:]), dtype=dtype)
    times = np.empty(len(out), dtype=np.int64)
    for i, (frame, t) in enumerate(iter_frames(frames.astype(np.float32), timestamps_us, factors)):
        lit = frame * np.float32(flicker_gain(np.array(t), frequency_hz, depth))
        out[i] = np.rint(np.clip(lit, 0, 255)) if dtype == np.uint8 else lit
        times[i] = t
    return out, times
