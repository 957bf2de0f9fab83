"""AEDAT 4 files (iniVation DV, DAVIS and DVXplorer cameras), read with the optional
`aedat <https://pypi.org/project/aedat/>`_ package (``pip install "neurova-va[io]"``).

The first ``events`` stream gives the events and the resolution; the first ``frame``
stream, when present, gives the APS frames (colour frames are converted to grayscale,
ITU-R BT.601 weights) with their timestamps (the frame's ``t``, µs, on the events' clock).
IMU and trigger streams are skipped. Timestamps are kept as recorded (µs since the epoch).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from neurova._optional import require
from neurova.errors import EventFormatError
from neurova.events import PathLike, SensorSize, checked_sensor_size
from neurova.io._common import Recording, check_file, check_frames, check_grouping, regroup, to_events

__all__ = ["aedat4_sensor_size", "iter_aedat4_events", "read_aedat4"]

_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114])


class _Streams:
    """An opened AEDAT4 decoder with the ids of its first event and frame streams."""

    def __init__(self, path: Path, sensor_size: SensorSize | tuple[int, int] | None = None) -> None:
        aedat = require("aedat", "io", "reading .aedat4 files")
        self.path = path
        try:
            self.decoder = aedat.Decoder(str(path))
            streams = self.decoder.id_to_stream()
        except RuntimeError as exc:
            raise EventFormatError(f"not a readable AEDAT4 file: {exc}", path) from exc
        events = sorted(i for i, s in streams.items() if s.get("type") == "events")
        frames = sorted(i for i, s in streams.items() if s.get("type") == "frame")
        if not events:
            kinds = sorted({str(s.get("type")) for s in streams.values()})
            raise EventFormatError(f"the AEDAT4 file has no event stream (streams: {', '.join(kinds)})", path)
        self.events_id = events[0]
        self.frames_id = frames[0] if frames else None
        info = streams[self.events_id]
        self.sensor_size = (
            SensorSize.of(sensor_size)
            if sensor_size is not None
            else checked_sensor_size(info.get("width"), info.get("height"), path, source="the event stream's size")
        )

    def packets(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self.decoder
        except RuntimeError as exc:
            raise EventFormatError(f"corrupt or truncated AEDAT4 data: {exc}", self.path) from exc

    def raw_events(self, packet: dict[str, Any]) -> np.ndarray | None:
        """The packet's events as decoded (fields ``t, x, y, on``), or ``None`` for other streams."""
        if packet["stream_id"] != self.events_id or "events" not in packet:
            return None
        return packet["events"]


def _to_events(raw: list[np.ndarray], size: SensorSize, path: Path) -> np.ndarray:
    columns = {name: np.concatenate([r[name] for r in raw]) if raw else np.zeros(0) for name in ("x", "y", "t", "on")}
    return to_events(columns, size, path)


def _gray(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        return pixels
    gray = pixels[..., :3].astype(np.float64) @ _GRAY_WEIGHTS
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def read_aedat4(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read the events and APS frames of an ``.aedat4`` file.

    Args:
        path: the ``.aedat4`` file.
        sensor_size: overrides the event stream's resolution.

    Raises:
        EventFormatError: not AEDAT4, truncated or corrupt (LZ4) packets, no event stream,
            frames of different sizes.
    """
    streams = _Streams(check_file(path), sensor_size)
    size = streams.sensor_size
    parts: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    stamps: list[int] = []
    for packet in streams.packets():
        events = streams.raw_events(packet)
        if events is not None:
            parts.append(events)
        elif packet["stream_id"] == streams.frames_id and "frame" in packet:
            frames.append(_gray(np.asarray(packet["frame"]["pixels"])))
            stamps.append(int(packet["frame"]["t"]))
    events = _to_events(parts, size, streams.path)
    frame_array = stamp_array = None
    if frames:
        if len({f.shape for f in frames}) != 1:
            raise EventFormatError(f"APS frames differ in size: {sorted({f.shape for f in frames})}", streams.path)
        frame_array, stamp_array = check_frames(np.stack(frames), np.array(stamps, dtype=np.int64), streams.path)
    return Recording(
        events=events, sensor_size=size, frames=frame_array, frame_timestamps_us=stamp_array, path=streams.path
    )


def aedat4_sensor_size(path: PathLike) -> SensorSize:
    """Resolution of the first event stream, from the file's header (no packet is decoded)."""
    return _Streams(check_file(path)).sensor_size


def iter_aedat4_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Stream an ``.aedat4`` file packet by packet in time windows or event chunks.

    See :func:`neurova.io.iter_events`.
    """
    check_grouping(window_us, chunk_events)
    streams = _Streams(check_file(path))
    raw = (streams.raw_events(packet) for packet in streams.packets())
    batches = (_to_events([events], streams.sensor_size, streams.path) for events in raw if events is not None)
    return regroup(batches, window_us=window_us, chunk_events=chunk_events, path=streams.path)
