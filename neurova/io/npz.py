"""NumPy event files: ``.npz`` archives (read and written) and ``.npy`` arrays (read).

neurova's ``.npz`` holds the arrays ``x``, ``y``, ``t`` (µs), ``p`` and the scalars
``width``, ``height``, ``format="neurova-events"``, ``version``; optionally ``frames``
``(N, H, W)`` uint8, ``frame_timestamps_us`` ``(N,)`` int64 and ``attrs`` (a JSON string).
Archives from elsewhere are read too when they hold ``x, y, t, p`` (or aliases such as
``timestamp``/``polarity``) or a single ``events`` array.

A ``.npy`` file holds one array: structured with fields named like tonic's (``x, y, t, p``
or aliases), or ``(N, 4)`` with columns ``[t, x, y, p]`` (v2e's order). It stores no
resolution: the sensor size is inferred from the events unless given. ``.npy`` files are
memory-mapped when streamed; ``.npz`` archives are loaded whole.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurova._atomic import atomic_path
from neurova.errors import EventFormatError
from neurova.events import PathLike, SensorSize, as_events, checked_sensor_size, concat_events
from neurova.io._common import (
    Recording,
    check_file,
    check_frames,
    check_grouping,
    in_time_order,
    no_events_to_size,
    regroup,
    scan_sensor_size,
    sensor_size_or_inferred,
)

__all__ = [
    "iter_npy_events",
    "iter_npz_events",
    "npy_sensor_size",
    "npz_sensor_size",
    "read_npy",
    "read_npz",
    "write_npz",
]

_FORMAT = "neurova-events"
_VERSION = 1
_META_KEYS = frozenset({"width", "height", "format", "version", "frames", "frame_timestamps_us", "attrs"})
_BATCH_EVENTS = 1 << 20
_LOAD_ERRORS = (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise EventFormatError("not an .npz archive (a single .npy array saved under an .npz name?)", path)
            return {key: archive[key] for key in archive.files}
    except EventFormatError:
        raise
    except _LOAD_ERRORS as exc:
        raise EventFormatError(f"not a readable .npz archive (truncated or corrupt?): {exc}", path) from exc


def _archive_events(arrays: Mapping[str, np.ndarray], sensor_size: SensorSize | None, path: Path) -> np.ndarray:
    fields = {k: v for k, v in arrays.items() if k not in _META_KEYS}
    if "events" in fields and len(fields) == 1:
        return as_events(fields["events"], sensor_size=sensor_size, sort=True, path=path)
    if not fields:
        raise EventFormatError(f"the archive holds no event arrays (keys: {', '.join(sorted(arrays))})", path)
    return as_events(fields, sensor_size=sensor_size, sort=True, path=path)


def _archive_size(arrays: Mapping[str, np.ndarray], path: Path) -> SensorSize | None:
    if "width" in arrays and "height" in arrays:
        return checked_sensor_size(arrays["width"], arrays["height"], path, source="the width and height arrays")
    return None


def read_npz(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read an ``.npz`` event archive (neurova's layout or any archive of ``x, y, t, p`` arrays).

    Raises:
        EventFormatError: not a zip archive, truncated, pickled objects, missing or invalid fields.
    """
    path = check_file(path)
    arrays = _load_npz(path)
    size = SensorSize.of(sensor_size) if sensor_size is not None else _archive_size(arrays, path)
    events = _archive_events(arrays, size, path)
    frames, stamps = check_frames(arrays.get("frames"), arrays.get("frame_timestamps_us"), path)
    attrs: dict[str, Any] = {}
    if "attrs" in arrays:
        try:
            attrs = json.loads(str(arrays["attrs"]))
        except json.JSONDecodeError as exc:
            raise EventFormatError(f"'attrs' is not valid JSON: {exc}", path) from exc
    return Recording(
        events=events,
        sensor_size=sensor_size_or_inferred(events, size, path),
        frames=frames,
        frame_timestamps_us=stamps,
        path=path,
        attrs=attrs,
    )


def npz_sensor_size(path: PathLike) -> SensorSize:
    """Resolution stored in an ``.npz`` archive (only ``width``/``height`` are read), else inferred from its events."""
    path = check_file(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = isinstance(archive, np.lib.npyio.NpzFile) and {"width", "height"} <= set(archive.files)
            size = {"width": archive["width"], "height": archive["height"]} if stored else {}
    except _LOAD_ERRORS as exc:
        raise EventFormatError(f"not a readable .npz archive (truncated or corrupt?): {exc}", path) from exc
    return _archive_size(size, path) or read_npz(path).sensor_size


def iter_npz_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Split an ``.npz`` archive (loaded whole) into time windows or chunks (see :func:`neurova.io.iter_events`)."""
    check_grouping(window_us, chunk_events)
    recording = read_npz(path)
    return regroup([recording.events], window_us=window_us, chunk_events=chunk_events, path=recording.path)


def _load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except _LOAD_ERRORS as exc:
        raise EventFormatError(f"not a readable .npy array (truncated or corrupt?): {exc}", path) from exc
    if not isinstance(array, np.ndarray):
        raise EventFormatError("expected a single array, found an archive", path)
    if not array.dtype.names and not (array.ndim == 2 and array.shape[1] == 4):
        raise EventFormatError(
            f"expected a structured array or an (N, 4) [t, x, y, p] array, got shape {array.shape} {array.dtype}", path
        )
    return array


def read_npy(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read a ``.npy`` event array; the sensor size is inferred from the events unless given."""
    path = check_file(path)
    size = SensorSize.of(sensor_size) if sensor_size is not None else None
    events = as_events(np.asarray(_load_npy(path)), sensor_size=size, sort=True, allow_extra=True, path=path)
    return Recording(events=events, sensor_size=sensor_size_or_inferred(events, size, path), path=path)


def npy_sensor_size(path: PathLike) -> SensorSize:
    """Resolution inferred from a ``.npy`` event array (``max + 1``, read in memory-mapped blocks)."""
    path = check_file(path)
    return scan_sensor_size(_npy_batches(path, _load_npy(path), _BATCH_EVENTS), path)


def _npy_batches(path: Path, array: np.ndarray, batch_events: int) -> Iterator[np.ndarray]:
    for start in range(0, len(array), batch_events):
        yield as_events(np.asarray(array[start : start + batch_events]), allow_extra=True, path=path)


def iter_npy_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Stream a memory-mapped ``.npy`` event array in time windows or chunks (see :func:`neurova.io.iter_events`)."""
    check_grouping(window_us, chunk_events)
    path = check_file(path)
    batches = _npy_batches(path, _load_npy(path), _BATCH_EVENTS)
    return regroup(batches, window_us=window_us, chunk_events=chunk_events, path=path)


def write_npz(
    path: PathLike,
    events: Any,
    sensor_size: SensorSize | tuple[int, ...] | str | None = None,
    *,
    frames: np.ndarray | None = None,
    frame_timestamps_us: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write events (and optional frames) to a compressed ``.npz`` archive, atomically.

    Args:
        path: target ``.npz`` file.
        events: events (anything :func:`~neurova.events.as_events` accepts), checked against ``sensor_size``,
            or an iterator of event arrays following each other in time (joined in memory: an archive is written
            whole).
        sensor_size: ``(width, height)``; None: the smallest sensor holding every event (``max + 1``).
        frames: optional ``(N, H, W)`` uint8 frames, with ``frame_timestamps_us`` ``(N,)`` µs.
        attrs: extra metadata, stored as JSON (must be JSON-serialisable).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        EventFormatError: invalid events or frames, or neither a ``sensor_size`` nor events; nothing is left at
            ``path`` then.
    """
    path = Path(path)
    size = SensorSize.of(sensor_size) if sensor_size is not None else None
    if isinstance(events, Iterator):
        events = concat_events(list(in_time_order(events, path)))
    events = as_events(events, sensor_size=size, path=path)
    size = sensor_size_or_inferred(events, size, path, missing=no_events_to_size)
    frames, stamps = check_frames(frames, frame_timestamps_us, path)
    arrays: dict[str, np.ndarray] = {name: events[name] for name in ("x", "y", "t", "p")}
    arrays.update(
        width=np.int64(size.width), height=np.int64(size.height), format=np.str_(_FORMAT), version=np.int64(_VERSION)
    )
    if frames is not None:
        arrays.update(frames=frames, frame_timestamps_us=stamps)
    if attrs:
        arrays["attrs"] = np.str_(json.dumps(dict(attrs)))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path
