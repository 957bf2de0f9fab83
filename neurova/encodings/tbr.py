"""Temporal Binary Representation (TBR) of events.

A TBR frame packs ``N = n_bits`` binary event images into one integer image.
The frame that ends at ``t_end`` covers the window ``[t_end - N*Δt, t_end)``,
split into ``N`` bins of ``Δt = bin_us`` µs; bin ``i`` (0 = oldest, ``N-1`` =
newest) covers ``[t_end - (N-i)*Δt, t_end - (N-i-1)*Δt)`` and is 1 at every
pixel where at least one event fell in it. The frame is ``Σ_i 2**i * bin_i``,
so the newest bin is the most significant bit::

    t_end - N*Δt                                               t_end
        |  bin 0  |  bin 1  |   ...   | bin N-2 | bin N-1 |
        |  2**0   |  2**1   |         | 2**N-2  | 2**N-1  |   (end excluded)

``normalize="max"`` divides by ``2**N - 1`` (values in [0, 1]); ``None`` keeps
the integer codes (exact in float32 up to ``N = 16``).

Windows are either given by their end times (``ends_us``, e.g. the timestamps of
RGB frames; windows may overlap or leave gaps) or laid back to back: ``n_frames``
windows starting at ``start_us``, frame ``k`` ending at
``start_us + (k+1)*N*Δt``.

:func:`tbr` is the numpy encoder (one recording); :func:`tbr_torch` encodes
batches of clips on any torch device and gives the same values.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from neurova.errors import EventFormatError
from neurova.events import EVENT_DTYPE, SensorSize, as_events, search_times

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_MAX_BYTES", "check_output_size", "tbr", "tbr_torch", "window_ends"]

Normalize = Literal["max"] | None
Polarity = Literal["merge", "split"]
SensorSizeLike = SensorSize | tuple[int, ...] | str

MAX_BITS = 16

DEFAULT_MAX_BYTES = 1 << 30
"""Largest output an encoder allocates unless told otherwise (``max_bytes=``): 1 GiB, 290 full frames of a
1280x720 sensor. Two events days apart would otherwise ask for millions of frames."""

# x and y are adjacent int16 fields at offsets 0 and 2 of EVENT_DTYPE: on a little-endian machine one
# uint32 read gives both (x in the low half), which halves the strided reads of the hot loop.
_XY_WORD = np.dtype({"names": ["xy"], "formats": ["<u4"], "offsets": [0], "itemsize": EVENT_DTYPE.itemsize})
_XY_PACKED = sys.byteorder == "little" and EVENT_DTYPE.fields["x"][1] == 0 and EVENT_DTYPE.fields["y"][1] == 2


def _check_params(n_bits: int, bin_us: int, normalize: Any, polarity: Any) -> None:
    if isinstance(n_bits, bool) or not isinstance(n_bits, int | np.integer) or not 1 <= n_bits <= MAX_BITS:
        raise ValueError(f"n_bits must be an integer in 1..{MAX_BITS}, got {n_bits!r}")
    if isinstance(bin_us, bool) or not isinstance(bin_us, int | np.integer) or bin_us <= 0:
        raise ValueError(f"bin_us must be a positive integer (µs), got {bin_us!r}")
    if normalize not in ("max", None):
        raise ValueError(f"normalize must be 'max' or None, got {normalize!r}")
    if polarity not in ("merge", "split"):
        raise ValueError(f"polarity must be 'merge' or 'split', got {polarity!r}")


def _human_bytes(n: float) -> str:
    units = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n, i = n / 1024, i + 1
    return f"{n:.0f} bytes" if i == 0 else f"{n:.1f} {units[i]}"


def check_output_size(
    n_frames: int,
    frame_bytes: int,
    max_bytes: int | None,
    *,
    window_us: int,
    t_range: tuple[int, int] | None = None,
) -> None:
    """Refuse an encoder output of ``n_frames`` frames of ``frame_bytes`` each above ``max_bytes``.

    Raises:
        EventFormatError: naming the frames, the bytes, the events' span when it set the number of
            frames (``t_range``, µs), and how to encode less or raise the limit.
    """
    if max_bytes is None or n_frames * frame_bytes <= max_bytes:
        return
    span = ""
    if t_range is not None:
        duration = t_range[1] - t_range[0]
        span = (
            f" to cover events spanning {duration} µs ({duration / 86_400e6:.3g} days) with back-to-back "
            f"windows of {window_us} µs"
        )
    raise EventFormatError(
        f"the encoding would allocate {n_frames} frames ({_human_bytes(n_frames * frame_bytes)}){span}, above "
        f"max_bytes={max_bytes} ({_human_bytes(max_bytes)}). Encode a time range (n_frames/start_us, ends_us, "
        "neurova.events.slice_time) or stream it (neurova.io.iter_events(window_us=...)), or raise max_bytes "
        "(None: no limit)"
    )


def window_ends(
    window_us: int,
    *,
    t_range: tuple[int, int] | None,
    ends_us: Any = None,
    n_frames: int | None = None,
    start_us: int | None = None,
    frame_bytes: int = 0,
    max_bytes: int | None = None,
) -> np.ndarray:
    """End timestamps (µs, int64 ``(T,)``) of the encoding windows, shared by every encoder.

    Args:
        window_us: duration of one window (for TBR ``n_bits * bin_us``).
        t_range: ``(first, last)`` event timestamp, or ``None`` when there are no events.
        ends_us: explicit window ends; returned as they are (any order, overlaps allowed).
        n_frames: number of back-to-back windows; ``None`` = as many as needed to reach the last event.
        start_us: start of the first back-to-back window; defaults to the first event's timestamp.
        frame_bytes: bytes of one output frame, for the ``max_bytes`` check (0: no check).
        max_bytes: largest output allowed, checked before anything is allocated (see :func:`check_output_size`).

    Returns:
        ``ends_us`` as int64, or ``start_us + (k + 1) * window_us`` for ``k < T``; empty when nothing
        says how many windows there are (no events, no ``ends_us`` and no ``n_frames``).
    """
    if window_us <= 0:
        raise ValueError(f"the window length must be positive, got {window_us} µs")
    if ends_us is not None:
        if n_frames is not None or start_us is not None:
            raise ValueError("pass either ends_us, or n_frames/start_us for back-to-back windows, not both")
        ends = np.asarray(ends_us)
        if ends.ndim != 1:
            raise ValueError(f"ends_us must be one-dimensional, got shape {ends.shape}")
        if ends.size and not np.issubdtype(ends.dtype, np.integer):
            if not np.all(np.isfinite(ends)):
                raise ValueError("ends_us contains NaN or infinite values")
            if np.any(ends != np.round(ends)):
                raise ValueError("ends_us must be whole microseconds")
        check_output_size(len(ends), frame_bytes, max_bytes, window_us=window_us)
        return ends.astype(np.int64)
    if n_frames is not None and (isinstance(n_frames, bool) or int(n_frames) != n_frames or n_frames < 0):
        raise ValueError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    if start_us is None:
        start_us = 0 if t_range is None else t_range[0]
    implicit = n_frames is None
    if n_frames is None:
        n_frames = 0 if t_range is None or t_range[1] < start_us else (t_range[1] - start_us) // window_us + 1
    check_output_size(
        int(n_frames), frame_bytes, max_bytes, window_us=window_us, t_range=t_range if implicit else None
    )
    return int(start_us) + np.arange(1, int(n_frames) + 1, dtype=np.int64) * int(window_us)


def _bin_edges(ends: np.ndarray, n_bits: int, bin_us: int) -> np.ndarray:
    """``(T, n_bits + 1)`` bin edges of each window, oldest first."""
    return ends[:, None] - (n_bits - np.arange(n_bits + 1, dtype=np.int64)) * bin_us


def _pixel_index(events: np.ndarray, width: int, height: int, channel_stride: int | None) -> np.ndarray:
    """Flat index ``[p * H*W +] y*W + x`` (intp) of a slice of events, checking that they lie on the sensor."""
    if _XY_PACKED:
        xy = events.view(_XY_WORD)["xy"].copy()  # one strided read; the rest runs on a small contiguous array
        x = xy & 0xFFFF  # a negative int16 reads as >= 32768 and fails the bound below
        bad = int(x.max()) >= width or int(xy.max()) >> 16 >= height  # y is the high half: max(xy) gives max(y)
        xy >>= 16
        xy *= np.uint32(width)
        xy += x
        index = xy.astype(np.intp)
    else:
        x, y = events["x"], events["y"]
        bad = int(x.max()) >= width or int(y.max()) >= height or int(x.min()) < 0 or int(y.min()) < 0
        index = y.astype(np.intp) * width + x
    if bad:
        x, y = events["x"], events["y"]
        raise EventFormatError(
            f"events lie outside the {width}x{height} sensor: x in {int(x.min())}..{int(x.max())}, "
            f"y in {int(y.min())}..{int(y.max())}"
        )
    if channel_stride is not None:
        index += events["p"].view(np.uint8) * np.intp(channel_stride)
    return index


def tbr(
    events: Any,
    sensor_size: SensorSizeLike,
    *,
    n_bits: int = 8,
    bin_us: int = 5000,
    ends_us: Any = None,
    n_frames: int | None = None,
    start_us: int | None = None,
    normalize: Normalize = "max",
    polarity: Polarity = "merge",
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> np.ndarray:
    """Encode events as TBR frames (numpy).

    Args:
        events: an event array of :data:`~neurova.events.EVENT_DTYPE` sorted by ``t`` (as every neurova reader
            and :func:`~neurova.events.as_events` return it; not re-checked here, for speed), or anything
            :func:`~neurova.events.as_events` accepts (validated and checked against the sensor).
        sensor_size: ``(width, height)`` in pixels (a :class:`~neurova.events.SensorSize`, tuple or ``"WxH"``).
        n_bits: N, bins per frame (1..16).
        bin_us: Δt, duration of one bin in µs; a frame covers ``n_bits * bin_us``.
        ends_us: ``(T,)`` end timestamps of the frames in µs (excluded from their window); windows may
            overlap or leave gaps. Exclusive with ``n_frames`` / ``start_us``.
        n_frames: number of back-to-back frames; ``None`` = as many as needed to cover every event.
        start_us: start of the first back-to-back frame (default: the first event's timestamp).
        normalize: ``"max"`` scales to [0, 1] by ``2**n_bits - 1``; ``None`` keeps integer codes.
        polarity: ``"merge"`` (C = 1, events of both polarities) or ``"split"`` (C = 2: channel 0 = OFF,
            channel 1 = ON, tonic's ``ToFrame`` order).
        max_bytes: largest output allowed (default 1 GiB), checked before allocating; ``None``: no limit.

    Returns:
        float32 ``(T, C, H, W)``; ``T = 0`` when there are no events and neither ``ends_us`` nor ``n_frames``
        is given.

    Raises:
        EventFormatError: an event inside a window lies outside the sensor (events that fall in no window
            are not read), or the output would exceed ``max_bytes`` (e.g. events days apart).
    """
    _check_params(n_bits, bin_us, normalize, polarity)
    size = SensorSize.of(sensor_size)
    if not (isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE):
        events = as_events(events, sensor_size=size)
    t = events["t"]
    channels = 2 if polarity == "split" else 1
    ends = window_ends(
        n_bits * bin_us,
        t_range=(int(t[0]), int(t[-1])) if len(t) else None,
        ends_us=ends_us,
        n_frames=n_frames,
        start_us=start_us,
        frame_bytes=4 * channels * size.width * size.height,
        max_bytes=max_bytes,
    )
    height, width = size.shape
    n_pixels = height * width
    out = np.zeros((len(ends), channels, height, width), dtype=np.float32)
    if len(t) == 0 or len(ends) == 0:
        return out
    bounds = search_times(t, _bin_edges(ends, n_bits, bin_us))
    codes = np.zeros(channels * n_pixels, dtype=np.uint8 if n_bits <= 8 else np.uint16)
    bits = [codes.dtype.type(1 << i) for i in range(n_bits)]
    scale = np.float32(2**n_bits - 1 if normalize == "max" else 1)
    flat = out.reshape(len(ends), -1)
    for k, row in enumerate(bounds):
        first, last = int(row[0]), int(row[-1])
        if first == last:
            continue
        index = _pixel_index(events[first:last], width, height, n_pixels if channels == 2 else None)
        codes.fill(0)
        for i in range(n_bits):
            # fancy ``|=`` with repeated indices writes the same value for each repeat: exact for one bit
            codes[index[row[i] - first : row[i + 1] - first]] |= bits[i]
        np.divide(codes, scale, out=flat[k])
    return out


def tbr_torch(
    x: Any,
    y: Any,
    t: Any,
    p: Any,
    sensor_size: SensorSizeLike,
    *,
    n_bits: int = 8,
    bin_us: int = 5000,
    ends_us: Any = None,
    n_frames: int | None = None,
    start_us: Any = None,
    normalize: Normalize = "max",
    polarity: Polarity = "merge",
    batch: Any = None,
    batch_size: int | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> torch.Tensor:
    """Encode events as TBR frames with torch, on the events' device, optionally for a batch of clips.

    Same windows and values as :func:`tbr`. Events need not be sorted.

    Args:
        x, y: ``(N,)`` integer pixel coordinates (tensors or arrays).
        t: ``(N,)`` int64 timestamps in µs.
        p: ``(N,)`` polarity, bool or anything where ``> 0`` means ON.
        sensor_size: ``(width, height)``.
        n_bits, bin_us, normalize, polarity: as in :func:`tbr`.
        ends_us: window ends, ``(T,)`` shared by every clip or ``(B, T)`` per clip.
        n_frames: back-to-back frames per clip; ``None`` = enough to cover the longest clip.
        start_us: start of the first back-to-back frame: an int, a ``(B,)`` tensor, or ``None`` for the
            first (smallest) timestamp of each clip.
        batch: ``(N,)`` int64 clip index of each event, or ``None`` for a single clip.
        batch_size: B, number of clips (default ``batch.max() + 1``); clips without events give zeros.
        max_bytes: largest working memory allowed (output and the ``n_bits`` bit planes), checked before
            allocating; ``None``: no limit.

    Returns:
        float32 ``(T, C, H, W)``, or ``(B, T, C, H, W)`` when ``batch`` is given.
    """
    import torch

    _check_params(n_bits, bin_us, normalize, polarity)
    size = SensorSize.of(sensor_size)
    height, width = size.shape
    t = _tensor(t, None).to(torch.int64)
    device = t.device
    x = _tensor(x, device).to(torch.int64)
    y = _tensor(y, device).to(torch.int64)
    p = _tensor(p, device) > 0
    if not (len(x) == len(y) == len(t) == len(p)):
        raise EventFormatError(f"x, y, t, p must have equal lengths, got {len(x)}, {len(y)}, {len(t)}, {len(p)}")
    if len(t) and (x.min() < 0 or y.min() < 0 or x.max() >= width or y.max() >= height):
        raise EventFormatError(
            f"events lie outside the {size} sensor: x in {int(x.min())}..{int(x.max())}, "
            f"y in {int(y.min())}..{int(y.max())}"
        )
    if batch is None:
        clip = torch.zeros_like(t)
        n_clips = 1
    else:
        clip = _tensor(batch, device).to(torch.int64)
        if len(clip) != len(t):
            raise ValueError(f"batch has {len(clip)} entries for {len(t)} events")
        n_clips = int(batch_size) if batch_size is not None else (int(clip.max()) + 1 if len(clip) else 0)
        if len(clip) and (clip.min() < 0 or clip.max() >= n_clips):
            raise ValueError(f"batch indices must lie in 0..{n_clips - 1}")

    window = n_bits * bin_us
    channels = 2 if polarity == "split" else 1
    n_pixels = height * width
    budget = (max_bytes, n_clips * channels * n_pixels * (4 + n_bits))  # float32 frames + one bool per bit
    ends = _torch_window_ends(t, clip, n_clips, window, ends_us, n_frames, start_us, budget)
    n_windows = ends.shape[1]
    plane_size = channels * n_bits * n_pixels  # one window of one clip: (C, N, H*W)
    total = n_clips * n_windows * plane_size
    occupied = torch.zeros(total + 1, dtype=torch.bool, device=device)  # the last slot takes events in no window
    if len(t) and n_windows:
        order = torch.argsort(ends, dim=1, stable=True)
        sorted_ends = torch.gather(ends, 1, order)
        static = clip * (n_windows * plane_size) + y * width + x  # the parts of the index that no window changes
        if channels == 2:
            static += p.to(torch.int64) * (n_bits * n_pixels)
        for group in _non_overlapping_groups(sorted_ends, window):
            window_id, bin_id, keep = _locate(t, clip, sorted_ends[:, group], n_bits, bin_us)
            original = torch.gather(order, 1, group.expand(n_clips, -1)).reshape(-1)  # output slot of each window
            frame = original[clip * len(group) + window_id]
            flat = static + frame * plane_size + bin_id * n_pixels
            occupied[torch.where(keep, flat, total)] = True
    occupied = occupied[:total]
    occupied = occupied.view(n_clips, n_windows, channels, n_bits, height, width)
    frames = torch.zeros((n_clips, n_windows, channels, height, width), dtype=torch.float32, device=device)
    for i in range(n_bits):
        frames.add_(occupied[:, :, :, i], alpha=1 << i)  # sums of distinct powers of 2 < 2**24: exact in float32
    if normalize == "max":
        frames /= 2**n_bits - 1
    return frames if batch is not None else frames[0]


def _tensor(value: Any, device: torch.device | None, *, flat: bool = True) -> torch.Tensor:
    """A tensor on ``device`` from a tensor, a (possibly strided) numpy array or a sequence."""
    import torch

    if not isinstance(value, torch.Tensor):
        value = torch.from_numpy(np.ascontiguousarray(value))
    value = value.to(device) if device is not None else value
    return value.reshape(-1) if flat else value


def _torch_window_ends(
    t: torch.Tensor,
    clip: torch.Tensor,
    n_clips: int,
    window: int,
    ends_us: Any,
    n_frames: int | None,
    start_us: Any,
    budget: tuple[int | None, int],
) -> torch.Tensor:
    """``(B, T)`` int64 window ends per clip; ``budget`` is ``(max_bytes, bytes per window of all clips)``."""
    import torch

    device = t.device
    if ends_us is not None:
        if n_frames is not None or start_us is not None:
            raise ValueError("pass either ends_us, or n_frames/start_us for back-to-back windows, not both")
        ends = _tensor(ends_us, device, flat=False).to(torch.int64)
        if ends.ndim == 1:
            ends = ends.expand(n_clips, -1)
        if ends.ndim != 2 or ends.shape[0] != n_clips:
            raise ValueError(f"ends_us must have shape (T,) or ({n_clips}, T), got {tuple(ends.shape)}")
        check_output_size(ends.shape[1], budget[1], budget[0], window_us=window)
        return ends.contiguous()
    if n_frames is not None and (isinstance(n_frames, bool) or int(n_frames) != n_frames or n_frames < 0):
        raise ValueError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    big = torch.iinfo(torch.int64).max
    first = torch.full((n_clips,), big, dtype=torch.int64, device=device).scatter_reduce(0, clip, t, "amin")
    last = torch.full((n_clips,), -1, dtype=torch.int64, device=device).scatter_reduce(0, clip, t, "amax")
    has_events = last >= 0
    if start_us is None:
        start = torch.where(has_events, first, torch.zeros_like(first))
    else:
        start = torch.as_tensor(start_us, device=device).to(torch.int64).expand(n_clips)
    span = None
    if n_frames is None:
        needed = torch.where(has_events & (last >= start), (last - start) // window + 1, torch.zeros_like(last))
        n_frames = int(needed.max()) if n_clips else 0
        if n_frames:
            widest = int(torch.argmax(needed))
            span = (int(start[widest]), int(last[widest]))
    check_output_size(int(n_frames), budget[1], budget[0], window_us=window, t_range=span)
    steps = torch.arange(1, int(n_frames) + 1, dtype=torch.int64, device=device) * window
    return start[:, None] + steps[None, :]


def _non_overlapping_groups(sorted_ends: torch.Tensor, window: int) -> list[torch.Tensor]:
    """Split the (sorted) window positions into strided groups ``g, g+G, ...`` whose windows never overlap."""
    import torch

    n_windows = sorted_ends.shape[1]
    stride = 1
    while stride < n_windows and bool((sorted_ends[:, stride:] - sorted_ends[:, :-stride] < window).any()):
        stride += 1
    device = sorted_ends.device
    return [torch.arange(g, n_windows, stride, device=device) for g in range(min(stride, n_windows))]


def _locate(
    t: torch.Tensor, clip: torch.Tensor, ends: torch.Tensor, n_bits: int, bin_us: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Window (column of ``ends``), bin and in-window mask of each event, for non-overlapping sorted windows.

    The bin edges of all clips are laid on one sorted axis by giving every clip its own span of keys, so
    a single ``searchsorted`` finds each event's interval.
    """
    import torch

    n_clips, n_windows = ends.shape
    edges = ends[:, :, None] - (n_bits - torch.arange(n_bits + 1, device=t.device)) * bin_us  # (B, Tg, N+1)
    edges = edges.reshape(n_clips, -1)
    base = edges[:, 0]
    span = int((edges[:, -1] - base).max()) + 1
    stride = span + 2
    offset = torch.arange(n_clips, device=t.device, dtype=torch.int64)[:, None] * stride
    keys = (edges - base[:, None] + 1 + offset).reshape(-1)
    event_keys = (t - base[clip]).clamp(-1, span) + 1 + clip * stride
    position = torch.searchsorted(keys, event_keys, right=True) - 1
    per_clip = edges.shape[1]
    local = position - clip * per_clip
    window_id = local.div(n_bits + 1, rounding_mode="floor")
    bin_id = local.remainder(n_bits + 1)
    keep = (local >= 0) & (local < per_clip) & (bin_id < n_bits)
    return window_id.clamp(0, n_windows - 1), bin_id, keep
