"""Pieces shared by the event-file readers: the :class:`Recording` type, file checks,
Prophesee-style ``%`` text headers, regrouping of decoded batches into windows or chunks, and what the
binary decoders share (unwrapping timestamp counters, merging decoded columns, the sensor size)."""

from __future__ import annotations

import errno
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurova._numeric import cumsum
from neurova.errors import EventFormatError, EventOrderError
from neurova.events import (
    PathLike,
    SensorSize,
    as_events,
    checked_sensor_size,
    concat_events,
    empty_events,
    infer_sensor_size,
    search_times,
)

__all__ = ["DEFAULT_CHUNK_EVENTS", "Recording"]

DEFAULT_CHUNK_EVENTS = 1 << 20
"""Events per chunk yielded by ``iter_events`` when neither a window nor a chunk size is given."""

_MAX_HEADER_LINE = 1 << 16


@dataclass(frozen=True, eq=False)
class Recording:
    """An event recording read from one file.

    Attributes:
        events: event array of :data:`neurova.events.EVENT_DTYPE`, sorted by ``t`` (µs).
        sensor_size: sensor resolution ``(width, height)`` in pixels.
        frames: grayscale frames recorded beside the events (APS frames of a DAVIS,
            the source video of v2e), ``(N, H, W)`` uint8, or ``None``.
        frame_timestamps_us: timestamp of each frame, ``(N,)`` int64 µs on the events' clock, or ``None``.
        path: the file the recording was read from.
        attrs: extra metadata stored in the file (HDF5 attributes, npz ``attrs``, the EVT version
            of a ``.raw``); may be empty.

    Recordings compare by identity (they hold arrays); compare their fields to compare contents.
    """

    events: np.ndarray
    sensor_size: SensorSize
    frames: np.ndarray | None = None
    frame_timestamps_us: np.ndarray | None = None
    path: Path | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.frames is None) != (self.frame_timestamps_us is None):
            raise ValueError("frames and frame_timestamps_us must be given together")
        if self.frames is not None and len(self.frames) != len(self.frame_timestamps_us):
            raise ValueError(f"{len(self.frames)} frames but {len(self.frame_timestamps_us)} frame timestamps")

    def __len__(self) -> int:
        return len(self.events)


def check_file(path: PathLike) -> Path:
    """``path`` as a :class:`Path`; ``FileNotFoundError`` if it is missing, ``EventFormatError`` if it is empty."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such event file", os.fspath(path))
    if path.is_dir():
        raise EventFormatError("is a directory, not an event file", path)
    if path.stat().st_size == 0:
        raise EventFormatError("file is empty (0 bytes)", path)
    return path


def read_percent_header(path: Path) -> tuple[list[str], int]:
    """Read the ``%`` text header of a Prophesee ``.raw`` or ``.dat`` file (:func:`read_text_header`, ending at
    ``% end``)."""
    return read_text_header(path, b"%", "end")


def read_text_header(path: Path, marker: bytes, end: str, *, utf8: bool = False) -> tuple[list[str], int]:
    """Read a text header of lines beginning with ``marker`` (``b"%"`` Prophesee, ``b"#"`` AEDAT).

    Returns:
        The header lines without their leading marker (stripped), and the byte offset where the binary
        data begins. The header ends after a line reading ``end`` (any case), or before the first line
        that does not start with ``marker`` or is not printable ASCII (binary data whose first byte happens
        to be the marker); with ``utf8``, bytes above 127 count as printable too (jAER writes its settings,
        units such as µs included, into the header).
    """
    lines: list[str] = []
    with open(path, "rb") as f:
        while f.peek(1)[:1] == marker:
            start = f.tell()
            raw = f.readline(_MAX_HEADER_LINE)
            body = raw.rstrip(b"\r\n")
            if not all(0x20 <= byte < 0x7F or byte == 0x09 or (utf8 and byte >= 0x80) for byte in body):
                f.seek(start)
                break
            if not raw.endswith(b"\n"):
                raise EventFormatError("header line is not terminated by a newline (corrupt or truncated header)", path)
            text = body[1:].decode("utf-8", errors="replace").strip()
            lines.append(text)
            if text.lower() == end.lower():
                break
        return lines, f.tell()


_GEOMETRY = re.compile(r"^geometry\s+(\d+)\s*x\s*(\d+)$", re.IGNORECASE)
_KEY_VALUE = re.compile(r"(\w+)\s*=\s*(\d+)")
_WIDTH_HEIGHT = re.compile(r"^(width|height)\s+(\d+)$", re.IGNORECASE)


def header_sensor_size(lines: Iterable[str], path: PathLike) -> SensorSize | None:
    """Sensor size from ``geometry 1280x720``, ``format EVT3;height=720;width=1280`` or ``Width``/``Height`` lines.

    Raises:
        EventFormatError: a declared size that is zero or above :data:`neurova.events.MAX_SENSOR_SIDE`.
    """
    found: dict[str, int] = {}
    for line in lines:
        match = _GEOMETRY.match(line)
        if match:
            return checked_sensor_size(match.group(1), match.group(2), path, source="the header's geometry line")
        if line.lower().startswith("format"):
            found.update({k.lower(): int(v) for k, v in _KEY_VALUE.findall(line) if k.lower() in ("width", "height")})
        match = _WIDTH_HEIGHT.match(line)
        if match:
            found[match.group(1).lower()] = int(match.group(2))
    if "width" in found and "height" in found:
        return checked_sensor_size(found["width"], found["height"], path, source="the header's width and height")
    return None


def to_events(
    columns: Mapping[str, np.ndarray], sensor_size: SensorSize | None, path: PathLike, *, time_scale: float = 1.0
) -> np.ndarray:
    """Decoded columns ``x, y, t, p`` as a validated, time-sorted event array."""
    return as_events(dict(columns), sensor_size=sensor_size, sort=True, time_scale=time_scale, path=path)


def in_time_order(batches: Iterable[np.ndarray], path: PathLike) -> Iterator[np.ndarray]:
    """``batches`` (each sorted by ``t``) as they come, checked to follow each other in time.

    Raises:
        EventOrderError: a batch starts before the batch before it ends, naming ``path``.
    """
    last_t: int | None = None
    for batch in batches:
        if len(batch):
            if last_t is not None and batch["t"][0] < last_t:
                raise EventOrderError(
                    f"events are not time-ordered across batches: {int(batch['t'][0])} µs comes after {last_t} µs; "
                    "read_events() sorts a whole recording",
                    path,
                )
            last_t = int(batch["t"][-1])
        yield batch


def regroup(
    batches: Iterable[np.ndarray],
    *,
    window_us: int | None,
    chunk_events: int | None,
    path: PathLike,
) -> Iterator[np.ndarray]:
    """Regroup time-sorted batches of events into fixed time windows or fixed-size chunks.

    Args:
        batches: event arrays of :data:`EVENT_DTYPE`, each sorted by ``t``, in file order.
        window_us: yield every window ``[t0 + k*window_us, t0 + (k+1)*window_us)``, ``t0`` the first
            event's time, empty windows included.
        chunk_events: otherwise, yield consecutive chunks of this many events (the last may be shorter).
        path: the file, named in errors.

    Raises:
        EventOrderError: an event is older than an event of an earlier batch (the file is not
            time-ordered across batches; ``read_events`` sorts the whole recording instead).
    """
    window_us, chunk_events = check_grouping(window_us, chunk_events)
    batches = in_time_order(batches, path)
    parts: list[np.ndarray] = []
    if chunk_events is not None:
        count = 0
        for batch in batches:
            parts.append(batch)
            count += len(batch)
            if count >= chunk_events:
                merged = concat_events(parts)
                stop = len(merged) - len(merged) % chunk_events
                for i in range(0, stop, chunk_events):
                    yield merged[i : i + chunk_events]
                parts, count = [merged[stop:]], len(merged) - stop
        if count:
            yield concat_events(parts)
        return

    end: int | None = None
    for batch in batches:
        if not len(batch):
            continue
        if end is None:
            end = int(batch["t"][0]) + window_us
        while batch["t"][-1] >= end:
            i = search_times(batch["t"], end)
            parts.append(batch[:i])
            yield concat_events(parts)
            parts, batch, end = [], batch[i:], end + window_us
        parts.append(batch)
    if end is not None:
        yield concat_events(parts)


def check_grouping(window_us: int | None, chunk_events: int | None) -> tuple[int | None, int | None]:
    """Validate ``iter_events``'s ``window_us`` / ``chunk_events``; neither given means default chunks."""
    if window_us is not None and chunk_events is not None:
        raise ValueError("pass either window_us or chunk_events, not both")
    if window_us is not None:
        if int(window_us) != window_us or window_us <= 0:
            raise ValueError(f"window_us must be a positive integer, got {window_us!r}")
        return int(window_us), None
    if chunk_events is None:
        return None, DEFAULT_CHUNK_EVENTS
    if int(chunk_events) != chunk_events or chunk_events <= 0:
        raise ValueError(f"chunk_events must be a positive integer, got {chunk_events!r}")
    return None, int(chunk_events)


def check_frames(
    frames: Any, frame_timestamps_us: Any, path: PathLike | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validate frames ``(N, H, W)`` uint8 and their ``(N,)`` int64 µs timestamps (both or neither)."""
    if frames is None and frame_timestamps_us is None:
        return None, None
    if frames is None or frame_timestamps_us is None:
        raise ValueError("frames and frame_timestamps_us must be given together")
    frames = np.asarray(frames)
    stamps = np.asarray(frame_timestamps_us)
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise EventFormatError(f"frames must be an (N, H, W) uint8 array, got {frames.shape} {frames.dtype}", path)
    if stamps.shape != (len(frames),):
        raise EventFormatError(f"{len(frames)} frames need ({len(frames)},) timestamps, got shape {stamps.shape}", path)
    if not np.issubdtype(stamps.dtype, np.integer):
        if not np.all(np.isfinite(stamps)):
            raise EventFormatError("frame timestamps must be finite", path)
        stamps = np.rint(stamps)
    return frames, stamps.astype(np.int64)


# -- shared by the binary decoders -------------------------------------------------------------------------------


class BackwardStep(Exception):
    """A counter value steps back without a plausible wrap (raised by :class:`CounterUnwrapper`)."""

    def __init__(self, index: int, before: int, after: int) -> None:
        super().__init__(index, before, after)
        self.index, self.before, self.after = index, before, after


class CounterUnwrapper:
    """Unwrap a counter that wraps at ``2**bits``, across consecutive batches, telling wraps from corruption.

    A value is *consistent* with the one before it when it lies at most ``max_step`` ahead of it (across
    the wrap too) or at most ``jitter`` behind it. So a wrap is plausible only from a value within
    ``max_step`` of the counter's end to one near its start. A value whose two neighbours are consistent
    with each other but not both with it is an *outlier* (one corrupt word): it is reported and left out.
    A forward jump beyond ``max_step`` that the next value confirms is a gap in the data, kept. Any other
    backward step is corruption: :class:`BackwardStep` names its index.
    """

    def __init__(self, bits: int, max_step: int, jitter: int = 0) -> None:
        self.period = 1 << bits
        self.max_step, self.jitter = max_step, jitter
        self.prev_raw: int | None = None  # the raw value before the next batch (the outlier test's neighbour)
        self.last: int | None = None  # the last accepted raw value
        self.offset = 0  # wraps so far x period

    def _consistent(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        step = (b - a) % self.period
        return (step <= self.max_step) | (step >= self.period - self.jitter)

    def __call__(self, values: np.ndarray, next_raw: int | None) -> tuple[np.ndarray, np.ndarray]:
        """``(unwrapped accepted values, outlier mask over values)``; ``next_raw`` is the value after the batch.

        Raises:
            BackwardStep: an accepted value steps back without a plausible wrap.
        """
        n = len(values)
        if not n:
            return values, np.zeros(0, dtype=bool)
        before = np.concatenate([[values[0] if self.prev_raw is None else self.prev_raw], values[:-1]])
        after = np.concatenate([values[1:], [values[-1] if next_raw is None else next_raw]])
        outlier = self._consistent(before, after) & ~(
            self._consistent(before, values) & self._consistent(values, after)
        )
        if self.prev_raw is None:
            outlier[0] = False
        if next_raw is None:
            outlier[-1] = False
        self.prev_raw = int(values[-1])
        kept = values[~outlier]
        if not len(kept):
            return kept, outlier
        previous = np.concatenate([[kept[0] if self.last is None else self.last], kept[:-1]])
        step = (kept - previous) % self.period
        forward_wrap = (kept < previous) & (step <= self.max_step)
        backward_wrap = (kept > previous) & (step >= self.period - self.jitter) if self.jitter else np.zeros(1, bool)
        broken = (kept < previous) & ~forward_wrap & (previous - kept > self.jitter)
        if broken.any():
            i = int(np.argmax(broken))
            raise BackwardStep(int(np.flatnonzero(~outlier)[i]), int(previous[i]), int(kept[i]))
        wraps = cumsum(forward_wrap.astype(np.int64) - backward_wrap)
        out = kept + self.offset + wraps * self.period
        self.offset += int(wraps[-1]) * self.period
        self.last = int(kept[-1])
        return out, outlier


def report_repairs(path: Path, what: str, offsets: list[int], consequence: str) -> None:
    if offsets:
        shown = ", ".join(str(o) for o in offsets[:5]) + (", ..." if len(offsets) > 5 else "")
        warnings.warn(
            f"{path}: repaired corrupt data: ignored {len(offsets)} {what} inconsistent with their neighbours "
            f"(at byte {shown}); {consequence}",
            stacklevel=3,
        )


def backward_error(
    path: Path, what: str, byte: int, before_us: int, after_us: int, max_step_us: int
) -> EventFormatError:
    return EventFormatError(
        f"corrupt data: the {what} at byte {byte} moves time back from {before_us} µs to {after_us} µs; "
        f"a counter wrap is plausible only within {max_step_us / 1e6:g} s of the counter's end",
        path,
    )


def whole_items(path: Path, offset: int, item: int, what: str) -> int:
    size = path.stat().st_size - offset
    if size % item:
        raise EventFormatError(
            f"truncated {what} data: {size} bytes after the header is not a whole number of {item}-byte words", path
        )
    return size // item


def merge_columns(batches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not batches:
        return {name: empty_events()[name] for name in ("x", "y", "t", "p")}
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


def no_size_error(path: PathLike) -> EventFormatError:
    """The error of a reader whose file states no sensor size and holds no events."""
    return EventFormatError("the file states no sensor size and holds no events to infer it from", path)


class SensorExtent:
    """The smallest sensor holding every event seen so far (``max + 1`` in each axis), batch by batch."""

    def __init__(self) -> None:
        self.width = self.height = 0

    def add(self, batch: Mapping[str, np.ndarray] | np.ndarray) -> None:
        """Take in a batch: an event array or decoded ``x``/``y`` columns."""
        if len(batch["x"]):
            self.width = max(self.width, int(batch["x"].max()) + 1)
            self.height = max(self.height, int(batch["y"].max()) + 1)

    @property
    def size(self) -> SensorSize | None:
        """The sensor, or None before any event."""
        return SensorSize(self.width, self.height) if self.width else None


def scan_sensor_size(batches: Iterable[Mapping[str, np.ndarray] | np.ndarray], path: Path) -> SensorSize:
    """The sensor that :class:`SensorExtent` finds over every batch of a file; an error naming ``path`` without
    events."""
    extent = SensorExtent()
    for batch in batches:
        extent.add(batch)
    if extent.size is None:
        raise no_size_error(path)
    return extent.size


def no_events_to_size(path: PathLike) -> EventFormatError:
    """The error of a writer given no sensor size and no events to infer it from."""
    return EventFormatError("no sensor size was given and there are no events to infer it from", path)


def sensor_size_or_inferred(events: np.ndarray, size: SensorSize | None, path: PathLike, *,
                            missing: Callable[[PathLike], EventFormatError] = no_size_error) -> SensorSize:
    """``size``, else the smallest sensor holding ``events``; ``missing(path)`` is raised without either (a
    reader's error by default, :func:`no_events_to_size` for a writer)."""
    if size is not None:
        return size
    if not len(events):
        raise missing(path)
    return infer_sensor_size(events)
