"""Other event encodings, for ablations against TBR: count frames, voxel grids, time surfaces.

Every encoder takes the same windows as :func:`neurova.encodings.tbr`: a frame ending at ``t_end`` covers
``[t_end - window_us, t_end)``; windows come from ``ends_us`` (any order, may overlap) or are laid back to
back (``n_frames`` windows from ``start_us``, default the first event). Outputs are float32
``(T, C, H, W)``, also for zero events.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from neurova.encodings.tbr import DEFAULT_MAX_BYTES, SensorSizeLike, window_ends
from neurova.errors import EventFormatError
from neurova.events import EVENT_DTYPE, SensorSize, as_events, search_times

__all__ = ["event_frames", "time_surface", "voxel_grid"]


def _prepare(
    events: Any,
    sensor_size: SensorSizeLike,
    window_us: int,
    ends_us: Any,
    n_frames: int | None,
    start_us: int | None,
    channels: int,
    max_bytes: int | None,
) -> tuple[np.ndarray, SensorSize, np.ndarray, np.ndarray]:
    """Coerced events, sensor size, window ends ``(T,)`` and event index bounds ``(T, 2)`` of each window.

    The output, ``(T, channels, H, W)`` float32, is checked against ``max_bytes`` before anything is allocated.
    """
    if isinstance(window_us, bool) or not isinstance(window_us, int | np.integer) or window_us <= 0:
        raise ValueError(f"window_us must be a positive integer (µs), got {window_us!r}")
    size = SensorSize.of(sensor_size)
    if not (isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE):
        events = as_events(events, sensor_size=size)
    t = events["t"]
    ends = window_ends(
        window_us,
        t_range=(int(t[0]), int(t[-1])) if len(t) else None,
        ends_us=ends_us,
        n_frames=n_frames,
        start_us=start_us,
        frame_bytes=4 * channels * size.width * size.height,
        max_bytes=max_bytes,
    )
    bounds = search_times(t, np.stack([ends - window_us, ends], axis=1))
    return events, size, ends, bounds


def _pixels(events: np.ndarray, size: SensorSize) -> np.ndarray:
    """Flat pixel index ``y*W + x`` (intp) of events, checking that they lie on the sensor."""
    x, y = events["x"], events["y"]
    if len(x) and (int(x.min()) < 0 or int(y.min()) < 0 or int(x.max()) >= size.width or int(y.max()) >= size.height):
        raise EventFormatError(
            f"events lie outside the {size} sensor: x in {int(x.min())}..{int(x.max())}, "
            f"y in {int(y.min())}..{int(y.max())}"
        )
    return y.astype(np.intp) * size.width + x


def event_frames(
    events: Any,
    sensor_size: SensorSizeLike,
    *,
    window_us: int = 40_000,
    ends_us: Any = None,
    n_frames: int | None = None,
    start_us: int | None = None,
    polarity: Literal["merge", "split"] = "split",
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> np.ndarray:
    """Event count frames (tonic's ``ToFrame``): number of events per pixel in each window.

    Args:
        events: event array sorted by ``t`` (or anything :func:`~neurova.events.as_events` accepts).
        sensor_size: ``(width, height)``.
        window_us: frame duration in µs.
        ends_us, n_frames, start_us: the windows, as in :func:`~neurova.encodings.tbr`.
        polarity: ``"split"`` (C = 2, channel 0 = OFF, 1 = ON) or ``"merge"`` (C = 1).
        max_bytes: largest output allowed (default 1 GiB; ``None``: no limit), checked before allocating.

    Returns:
        float32 ``(T, C, H, W)`` counts.

    Raises:
        EventFormatError: events outside the sensor, or an output above ``max_bytes``.
    """
    if polarity not in ("merge", "split"):
        raise ValueError(f"polarity must be 'merge' or 'split', got {polarity!r}")
    channels = 2 if polarity == "split" else 1
    events, size, ends, bounds = _prepare(events, sensor_size, window_us, ends_us, n_frames, start_us, channels,
                                          max_bytes)
    n_pixels = size.width * size.height
    out = np.zeros((len(ends), channels, size.height, size.width), dtype=np.float32)
    for k, (first, last) in enumerate(bounds):
        if first == last:
            continue
        chunk = events[first:last]
        index = _pixels(chunk, size)
        if channels == 2:
            index += chunk["p"].view(np.uint8) * np.intp(n_pixels)
        out[k] = np.bincount(index, minlength=channels * n_pixels).reshape(channels, size.height, size.width)
    return out


def voxel_grid(
    events: Any,
    sensor_size: SensorSizeLike,
    *,
    n_bins: int = 5,
    window_us: int = 40_000,
    ends_us: Any = None,
    n_frames: int | None = None,
    start_us: int | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> np.ndarray:
    """Voxel grid (E2VID, tonic's ``ToVoxelGrid``): polarity ±1 spread bilinearly over ``n_bins`` time bins.

    An event at time ``t`` in the window ``[s, s + window_us)`` has the normalised time
    ``τ = (n_bins - 1) * (t - s) / window_us`` and adds ``±(1 - (τ - ⌊τ⌋))`` to bin ``⌊τ⌋`` and
    ``±(τ - ⌊τ⌋)`` to bin ``⌊τ⌋ + 1``. Unlike tonic, time is normalised by the window, not by the first and
    last event in it, so equal times give equal bins in every frame.

    ``max_bytes`` bounds the output as in :func:`event_frames`.

    Returns:
        float32 ``(T, n_bins, H, W)``.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    events, size, ends, bounds = _prepare(events, sensor_size, window_us, ends_us, n_frames, start_us, n_bins,
                                          max_bytes)
    n_pixels = size.width * size.height
    out = np.zeros((len(ends), n_bins, size.height, size.width), dtype=np.float32)
    for k, (first, last) in enumerate(bounds):
        if first == last:
            continue
        chunk = events[first:last]
        index = _pixels(chunk, size)
        tau = (n_bins - 1) * (chunk["t"] - (ends[k] - window_us)) / window_us
        left = np.floor(tau).astype(np.intp)
        right_weight = tau - left
        sign = np.where(chunk["p"], 1.0, -1.0)
        grid = np.bincount(left * n_pixels + index, weights=sign * (1 - right_weight), minlength=n_bins * n_pixels)
        upper = left + 1 < n_bins
        grid += np.bincount(
            (left[upper] + 1) * n_pixels + index[upper],
            weights=(sign * right_weight)[upper],
            minlength=n_bins * n_pixels,
        )
        out[k] = grid.reshape(n_bins, size.height, size.width)
    return out


def time_surface(
    events: Any,
    sensor_size: SensorSizeLike,
    *,
    tau_us: float = 50_000,
    window_us: int = 40_000,
    ends_us: Any = None,
    n_frames: int | None = None,
    start_us: int | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> np.ndarray:
    """Exponentially decaying time surface per pixel and polarity at the end of each window.

    The value at a pixel is ``exp(-(t_end - t_last) / tau_us)``, where ``t_last`` is the time of the
    pixel's most recent event of that polarity inside the window; 0 where the window holds none.
    ``max_bytes`` bounds the output as in :func:`event_frames`.

    Returns:
        float32 ``(T, 2, H, W)``: channel 0 = OFF, 1 = ON.
    """
    if not tau_us > 0:
        raise ValueError(f"tau_us must be positive, got {tau_us!r}")
    events, size, ends, bounds = _prepare(events, sensor_size, window_us, ends_us, n_frames, start_us, 2, max_bytes)
    n_pixels = size.width * size.height
    out = np.zeros((len(ends), 2, size.height, size.width), dtype=np.float32)
    for k, (first, last) in enumerate(bounds):
        if first == last:
            continue
        chunk = events[first:last]
        index = _pixels(chunk, size) + chunk["p"].view(np.uint8) * np.intp(n_pixels)
        # events are sorted by t: the last occurrence of each index is its latest event
        latest, position = np.unique(index[::-1], return_index=True)
        t_last = chunk["t"][::-1][position]
        surface = out[k].reshape(-1)
        surface[latest] = np.exp(-(ends[k] - t_last) / tau_us)
    return out
