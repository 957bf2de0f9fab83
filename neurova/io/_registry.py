"""Suffix dispatch: the public ``read_events`` / ``read_recording`` / ``iter_events`` /
``get_sensor_size`` / ``write_events`` over the format modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurova.errors import EventFormatError, EventOrderError
from neurova.events import PathLike, SensorSize, concat_events, slice_time
from neurova.io import aedat, aedat_legacy, hdf5, npz, prophesee, text
from neurova.io._common import Recording, check_file, check_grouping, no_size_error

__all__ = [
    "Conversion",
    "convert_events",
    "get_sensor_size",
    "get_time_span",
    "iter_events",
    "read_events",
    "read_recording",
    "read_window",
    "supported_suffixes",
    "write_events",
]


def _no_attrs(path: PathLike, sensor_size: Any = None) -> dict[str, Any]:
    return {}


def _no_header_size(path: PathLike) -> None:
    return None


def _raw_attrs(path: PathLike, sensor_size: Any = None) -> dict[str, Any]:
    return {"evt_version": prophesee.read_raw_header(path).evt_version}


@dataclass(frozen=True)
class _Reader:
    name: str
    read: Callable[..., Recording]
    sensor_size: Callable[[PathLike], SensorSize]
    iterate: Callable[..., Iterator[np.ndarray]]
    # (path, sensor_size) -> the attrs `read` gives, from the header alone, where `iterate` gives the events `read`
    # does with that sensor_size; None there (or as the field) where it may not: files that may hold frames
    stream_attrs: Callable[[PathLike, Any], dict[str, Any] | None] | None = None
    # path -> the sensor `read` gives, where known before the events are decoded; None: the events decide it
    # (set with `stream_attrs`)
    header_size: Callable[[PathLike], SensorSize | None] | None = None
    # (path, start_us, end_us) -> one window and path -> (first, last) timestamps without decoding from the start;
    # None: read_window and get_time_span decode the file from its start through `iterate`
    window: Callable[[PathLike, int, int], np.ndarray] | None = None
    span: Callable[[PathLike], tuple[int, int] | None] | None = None


_READERS: dict[str, _Reader] = {}
for _suffixes, _reader in (
    ((".h5", ".hdf5"), _Reader("HDF5", hdf5.read_hdf5, hdf5.hdf5_sensor_size, hdf5.iter_hdf5_events,
                               window=hdf5.hdf5_time_window, span=hdf5.hdf5_time_span)),
    ((".raw",), _Reader("Prophesee RAW", prophesee.read_raw, prophesee.raw_sensor_size, prophesee.iter_raw_events,
                        _raw_attrs, prophesee.raw_header_size)),
    ((".dat",), _Reader("Prophesee DAT", prophesee.read_dat, prophesee.dat_sensor_size, prophesee.iter_dat_events,
                        _no_attrs, prophesee.dat_header_size)),
    ((".aedat4",), _Reader("AEDAT4", aedat.read_aedat4, aedat.aedat4_sensor_size, aedat.iter_aedat4_events)),
    ((".aedat",), _Reader("AEDAT", aedat_legacy.read_aedat, aedat_legacy.aedat_sensor_size,
                          aedat_legacy.iter_aedat_events, aedat_legacy.aedat_stream_attrs,
                          aedat_legacy.aedat_header_size)),
    ((".npz",), _Reader("NumPy archive", npz.read_npz, npz.npz_sensor_size, npz.iter_npz_events)),
    ((".npy",), _Reader("NumPy array", npz.read_npy, npz.npy_sensor_size, npz.iter_npy_events, _no_attrs,
                        _no_header_size)),
    ((".txt", ".csv"), _Reader("text", text.read_text, text.text_sensor_size, text.iter_text_events, _no_attrs,
                               text.text_header_size)),
):
    _READERS.update(dict.fromkeys(_suffixes, _reader))

_WRITERS: dict[str, Callable[..., Path]] = {".h5": hdf5.write_hdf5, ".hdf5": hdf5.write_hdf5, ".npz": npz.write_npz}


def supported_suffixes(*, write: bool = False, window: bool = False) -> tuple[str, ...]:
    """File suffixes :func:`read_events` (or, with ``write=True``, :func:`write_events`) accepts; with
    ``window=True`` those of which :func:`read_window` reads a window without decoding the file from its start."""
    if write:
        return tuple(_WRITERS)
    return tuple(suffix for suffix, reader in _READERS.items() if reader.window is not None or not window)


def _reader(path: PathLike) -> tuple[Path, _Reader]:
    path = check_file(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise EventFormatError(
            f"unknown event file suffix {path.suffix!r}; supported: {', '.join(supported_suffixes())}", path
        )
    return path, reader


def read_recording(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read an event file whole: events, sensor size and, where the format has them, frames.

    Args:
        path: ``.h5``/``.hdf5`` (neurova, v2e or Metavision layout), ``.raw`` (EVT 2.0/2.1/3.0), ``.dat``,
            ``.aedat4``, ``.aedat`` (AEDAT 2.0 of jAER and v2e, 3.1 of cAER), ``.npz``, ``.npy``, or ``.txt`` /
            ``.csv`` (one event per line: RPG, v2e and rpg_e2vid text, CSV); the format is chosen by suffix.
        sensor_size: overrides the resolution stored in the file; events are checked against it.

    Returns:
        A :class:`Recording`; its events are of :data:`~neurova.events.EVENT_DTYPE`, sorted by ``t`` (µs).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        EventFormatError: unknown suffix, empty, truncated or corrupt file, invalid events.
        MissingDependencyError: ``.raw`` EVT 3.0 / ``.aedat4`` without ``neurova-va[io]`` installed.
    """
    path, reader = _reader(path)
    return reader.read(path, sensor_size=sensor_size)


def read_events(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> np.ndarray:
    """Read all events of a file as an array of :data:`~neurova.events.EVENT_DTYPE`, sorted by ``t`` (µs).

    See :func:`read_recording` for formats, arguments and errors.
    """
    return read_recording(path, sensor_size=sensor_size).events


def get_sensor_size(path: PathLike) -> SensorSize:
    """Sensor resolution of an event file, from its metadata where the format stores it.

    HDF5 attributes, ``.raw`` headers (geometry, format or camera plugin), ``.dat`` headers,
    AEDAT4 stream info and neurova ``.npz`` scalars are read without decoding events; otherwise
    (v2e files without attributes, ``.npy``, headers without geometry) the events are scanned
    in bounded batches and the size is ``max + 1`` of their coordinates.
    """
    path, reader = _reader(path)
    return reader.sensor_size(path)


def iter_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Read a long recording piece by piece with bounded memory.

    Args:
        path: any file :func:`read_events` reads.
        window_us: yield the events of every window ``[t0 + k*window_us, t0 + (k+1)*window_us)``,
            ``t0`` the first event's timestamp, for k = 0, 1, ... up to the window holding the last
            event; windows without events are yielded as empty arrays, so window k always starts at
            ``t0 + k*window_us``.
        chunk_events: otherwise, yield consecutive chunks of this many events (the last may be
            shorter). With neither argument, chunks of 1,048,576 events.

    Yields:
        Event arrays of :data:`~neurova.events.EVENT_DTYPE`; concatenated, they equal
        :func:`read_events` for a time-ordered file.

    Raises:
        ValueError: both or non-positive ``window_us`` and ``chunk_events``.
        EventFormatError: as :func:`read_events`, and when events go back in time across the
            file's decoding batches (only :func:`read_events` sorts a whole recording).
    """
    check_grouping(window_us, chunk_events)
    path, reader = _reader(path)
    return reader.iterate(path, window_us=window_us, chunk_events=chunk_events)


def read_window(path: PathLike, start_us: int, end_us: int) -> np.ndarray:
    """The events with ``start_us <= t < end_us`` of an event file (µs on the file's own clock).

    HDF5 files (every layout; ``supported_suffixes(window=True)``) are searched on ``t`` and only the window is
    read, whatever the file's length; other formats are decoded from their start up to the window, in bounded
    batches (:func:`iter_events`): convert long recordings you read many windows from with :func:`convert_events`
    first, or read them together with :func:`read_windows`.

    Raises:
        As :func:`iter_events`.
    """
    return read_windows(path, [(start_us, end_us)])[0]


def read_windows(path: PathLike, spans: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """The events of each ``[start_us, end_us)`` of ``spans`` (µs on the file's own clock), in the order given.

    HDF5 files are searched on ``t`` once per span; other formats are decoded once, from their start up to the
    last span's end, in bounded batches: one pass for all the spans, where :func:`read_window` per span would
    decode the file's start again each time.

    Raises:
        ValueError: a span whose end is before its start.
        EventFormatError: as :func:`iter_events`.
    """
    spans = [(int(start), int(end)) for start, end in spans]
    if any(end < start for start, end in spans):
        raise ValueError(f"every span must end at or after its start, got {spans}")
    path, reader = _reader(path)
    if reader.window is not None:
        return [reader.window(path, start, end) for start, end in spans]
    parts: list[list[np.ndarray]] = [[] for _ in spans]
    last_end = max((end for _, end in spans), default=0)
    for batch in reader.iterate(path, window_us=None, chunk_events=None) if spans else ():
        for part, (start, end) in zip(parts, spans):
            part.append(slice_time(batch, start, end))
        if len(batch) and batch["t"][-1] >= last_end:
            break
    return [concat_events(part) for part in parts]


def get_time_span(path: PathLike) -> tuple[int, int] | None:
    """``(first, last)`` event timestamps (µs, the file's own clock) of an event file; None when it holds no events.

    HDF5 files read two timestamps; other formats are scanned in bounded batches (:func:`iter_events`).
    """
    path, reader = _reader(path)
    if reader.span is not None:
        return reader.span(path)
    first = last = None
    for batch in reader.iterate(path, window_us=None, chunk_events=None):
        if len(batch):
            first = int(batch["t"][0]) if first is None else first
            last = int(batch["t"][-1])
    return None if first is None or last is None else (first, last)


def write_events(
    path: PathLike,
    events: Any,
    sensor_size: SensorSize | tuple[int, ...] | str | None = None,
    *,
    layout: str = "neurova",
    frames: np.ndarray | None = None,
    frame_timestamps_us: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write events (and optional frames) to ``.h5``/``.hdf5`` or ``.npz``, atomically.

    The file appears under ``path`` only once complete; an existing file is replaced only then.

    Args:
        path: target file; the suffix picks the format.
        events: events of :data:`~neurova.events.EVENT_DTYPE` or anything :func:`~neurova.events.as_events` accepts;
            or an iterator of event arrays that follow each other in time (:func:`iter_events`), which ``.h5`` files
            (``"neurova"`` layout) take one by one in bounded memory and ``.npz`` files join first.
        sensor_size: ``(width, height)``; events must lie inside it. None: the smallest sensor holding every event
            (``max + 1`` in each axis, as :func:`read_events` infers it for files that state none), learnt while
            writing batches to ``.h5``.
        layout: HDF5 layout, ``"neurova"`` (default) or ``"v2e"``; ``.npz`` has only ``"neurova"``.
        frames: optional ``(N, H, W)`` uint8 frames.
        frame_timestamps_us: their ``(N,)`` timestamps in µs.
        attrs: extra metadata (HDF5 attributes; JSON in ``.npz``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        EventFormatError: unsupported suffix, invalid events or frames, no ``sensor_size`` and no events;
            :class:`~neurova.errors.EventOrderError`: batches that go back in time.
        ValueError: unknown layout, or a layout the format does not have.
    """
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise EventFormatError(
            f"cannot write events to suffix {path.suffix!r}; supported: {', '.join(supported_suffixes(write=True))}",
            path,
        )
    kwargs: dict[str, Any] = {"frames": frames, "frame_timestamps_us": frame_timestamps_us, "attrs": attrs}
    if writer is hdf5.write_hdf5:
        kwargs["layout"] = layout
    elif layout != "neurova":
        raise ValueError(f"layout {layout!r} applies to HDF5 files only; {path.suffix} files use 'neurova'")
    return writer(path, events, sensor_size, **kwargs)


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert_events` wrote.

    Attributes:
        path: the file written.
        n_events: number of events.
        sensor_size: the sensor ``(width, height)`` stored.
        n_frames: number of frames (APS frames of the source), 0 without.
        streamed: True when the events were copied batch by batch (bounded memory), False when read whole.
    """

    path: Path
    n_events: int
    sensor_size: SensorSize
    n_frames: int
    streamed: bool


def convert_events(
    source: PathLike, target: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None
) -> Conversion:
    """Copy an event file that :func:`read_events` reads into a ``.h5`` (neurova layout) or ``.npz`` file.

    Files of formats that hold no frames (``.raw``, ``.dat``, ``.aedat`` 2.0 and 3.1, ``.npy``, ``.txt``,
    ``.csv``) are copied batch by batch: a recording larger than memory converts into ``.h5``. HDF5, AEDAT4 and
    ``.npz`` files, which may hold frames, are read whole and keep their frames; so is a file whose events go back
    in time from one decoding batch to the next (:func:`read_events` sorts a whole recording), and an AEDAT 2.0
    file given a ``sensor_size`` (it decides how jAER's coordinates are turned). A file copied batch by batch is
    decoded once: where its header states no sensor, the smallest holding every event is learnt while writing. The
    target's attributes are the source's (``attrs`` of :func:`read_recording`) and ``converted_from``, the source's
    name.

    Args:
        source: the event file.
        target: ``.h5``/``.hdf5`` or ``.npz``; written atomically (:func:`write_events`).
        sensor_size: the sensor, in place of what the file says or its events imply.

    Returns:
        A :class:`Conversion`.

    Raises:
        As :func:`read_recording` and :func:`write_events`.
    """
    path, reader = _reader(source)
    target = Path(target)
    attrs = reader.stream_attrs(path, sensor_size) if reader.stream_attrs is not None else None
    if attrs is not None:
        assert reader.header_size is not None
        # a size the header does not give is learnt while writing: the file is decoded once
        size = SensorSize.of(sensor_size) if sensor_size is not None else reader.header_size(path)
        count = 0

        def counted(batches: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
            nonlocal count
            for batch in batches:
                count += len(batch)
                yield batch
            if not count and size is None:
                raise no_size_error(path)  # named after the source, not the target

        try:
            write_events(target, counted(reader.iterate(path, window_us=None, chunk_events=None)), size,
                         attrs={"converted_from": path.name, **attrs})
            return Conversion(target, count, size or get_sensor_size(target), 0, streamed=True)
        except EventOrderError:
            pass  # read whole below: read_recording sorts it
    recording = reader.read(path, sensor_size=sensor_size)
    write_events(target, recording.events, recording.sensor_size, frames=recording.frames,
                 frame_timestamps_us=recording.frame_timestamps_us,
                 attrs={"converted_from": path.name, **recording.attrs})
    frames = 0 if recording.frames is None else len(recording.frames)
    return Conversion(target, len(recording.events), recording.sensor_size, frames, streamed=False)
