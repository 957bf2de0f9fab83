"""HDF5 event files in three layouts: neurova's own, v2e's and Prophesee Metavision's.

**neurova layout** (written by default): a group (the file's root, or any group of a cache
file holding many clips) with attributes ``format="neurova-events"``, ``version=1``,
``width``, ``height``, ``time_unit="us"`` and four 1-D chunked, gzip-compressed datasets
``x`` int16, ``y`` int16, ``t`` int64 µs (sorted), ``p`` uint8 (1 = ON); a file may add
``frames`` ``(N, H, W)`` uint8 and ``frame_timestamps_us`` ``(N,)`` int64.

**v2e layout** (what v2e's ``--dvs_h5`` writes): a dataset ``events`` ``(N, 4)`` uint32 with
columns ``[t_us, x, y, p]``, p in {0, 1}; optional ``frame`` ``(N, H, W)`` uint8 and
``frame_ts`` (float seconds or integer µs, detected). v2e stores no resolution: it is read
from ``width``/``height`` attributes when present (neurova writes them) and otherwise
inferred from the events (``max + 1``).

**Metavision layout** (what the Metavision SDK records or converts to, "HDF5 event files"): a group
``CD`` with a compound dataset ``events`` (``x`` uint16, ``y`` uint16, ``p`` int16, ``t`` int64 µs,
sorted), and the resolution as a root attribute ``geometry="1280x720"``; ``EXT_TRIGGER`` and the
``indexes`` datasets are not read. The SDK compresses ``CD/events`` with Prophesee's ECF codec (HDF5
filter 0x8ECF): HDF5 decodes it only with Prophesee's ``hdf5_ecf`` plugin on ``HDF5_PLUGIN_PATH``;
without it, reading raises :class:`~neurova.errors.MissingDependencyError` saying so (before any event
is read). Read-only.

Time windows are read by binary search on the ``t`` dataset with partial reads, so a long
recording is never loaded whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurova._atomic import atomic_path
from neurova.errors import EventFormatError, MissingDependencyError
from neurova.events import (
    EVENT_DTYPE,
    PathLike,
    SensorSize,
    as_events,
    checked_sensor_size,
    copy_events,
    empty_events,
    infer_sensor_size,
    take_events,
    validate_events,
)
from neurova.io._common import (
    Recording,
    SensorExtent,
    check_file,
    check_frames,
    check_grouping,
    in_time_order,
    no_events_to_size,
    regroup,
    sensor_size_or_inferred,
    to_events,
)

__all__ = [
    "NEUROVA_FORMAT",
    "NEUROVA_VERSION",
    "group_time_slice",
    "hdf5_sensor_size",
    "hdf5_time_span",
    "hdf5_time_window",
    "iter_hdf5_events",
    "read_events_from_group",
    "read_hdf5",
    "write_events_to_group",
    "write_hdf5",
]

NEUROVA_FORMAT = "neurova-events"
"""Value of the ``format`` attribute of a group in the neurova layout."""
NEUROVA_VERSION = 1
"""Version of the neurova layout written by this release."""

_FIELDS = {"x": np.int16, "y": np.int16, "t": np.int64, "p": np.uint8}
_RESERVED_ATTRS = frozenset({"format", "version", "width", "height", "time_unit"})
_CHUNK = 1 << 16
_BLOCK_ROWS = 1 << 20  # rows decoded at once by a whole-file read or scan
_T_BLOCK = 1 << 12  # timestamps read at once by the window search
# gzip level 1: writing a clip's events took 0.60 s against 0.82 s at level 4, for 3-10 % more bytes (docs/io.md)
_COMPRESSION = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
_LAYOUTS = ("neurova", "v2e")
_METAVISION_FIELDS = ("x", "y", "p", "t")
_ECF_FILTER = 0x8ECF  # Prophesee's ECF codec, an HDF5 filter plugin (github.com/prophesee-ai/hdf5_ecf)


# ----------------------------------------------------------------------------------------- groups


def _group_path(group: h5py.Group, path: PathLike | None) -> str:
    return str(path) if path is not None else f"{group.file.filename}:{group.name}"


def _group_sensor_size(group: h5py.Group, path: PathLike) -> SensorSize | None:
    if "width" in group.attrs and "height" in group.attrs:
        width, height = group.attrs["width"], group.attrs["height"]
        return checked_sensor_size(width, height, path, source=f"group '{group.name}' (width, height attributes)")
    return None


def _check_neurova_group(group: h5py.Group, path: str) -> None:
    missing = [name for name in _FIELDS if name not in group]
    if missing:
        found = sorted(group.keys())
        raise EventFormatError(
            f"missing dataset(s) {', '.join(repr(m) for m in missing)} of the neurova layout in group "
            f"'{group.name}' (found: {', '.join(found) or 'nothing'})",
            path,
        )
    unreadable = [name for name in _FIELDS if not isinstance(group.get(name), h5py.Dataset)]
    if unreadable:  # a group under a dataset's name, or an object whose header is corrupt (h5py's get gives None)
        raise EventFormatError(
            f"{', '.join(repr(m) for m in unreadable)} in group '{group.name}' cannot be read as a dataset "
            "(not a dataset, or a corrupt object header)",
            path,
        )
    fmt = group.attrs.get("format")
    if fmt is not None and fmt != NEUROVA_FORMAT:
        raise EventFormatError(f"group '{group.name}' has format {fmt!r}, expected {NEUROVA_FORMAT!r}", path)
    version = int(group.attrs.get("version", NEUROVA_VERSION))
    if version > NEUROVA_VERSION:
        raise EventFormatError(
            f"group '{group.name}' uses layout version {version}; this neurova reads up to {NEUROVA_VERSION}", path
        )
    unit = group.attrs.get("time_unit", "us")
    if unit != "us":
        raise EventFormatError(f"group '{group.name}' has time_unit {unit!r}; only 'us' is supported", path)
    lengths = {name: group[name].shape for name in _FIELDS}
    if len(set(lengths.values())) != 1 or len(next(iter(lengths.values()))) != 1:
        raise EventFormatError(f"datasets x, y, t, p must be 1-D of equal length, got shapes {lengths}", path)


def write_events_to_group(
    group: h5py.Group, events: Any, sensor_size: SensorSize | tuple[int, ...] | str, **attrs: Any
) -> None:
    """Write events into ``group`` in the neurova layout.

    Args:
        group: an empty HDF5 group (or a file's root) opened for writing.
        events: events of :data:`~neurova.events.EVENT_DTYPE` or anything :func:`~neurova.events.as_events` accepts.
        sensor_size: ``(width, height)``; events are checked to lie inside it.
        **attrs: extra attributes stored on the group (strings, numbers, arrays);
            ``format``, ``version``, ``width``, ``height``, ``time_unit`` are reserved.

    Raises:
        EventFormatError: invalid events.
        ValueError: a reserved attribute name, or the group already holds events.
    """
    size = SensorSize.of(sensor_size)
    path = _group_path(group, None)
    events = _valid_events(events, size, path)
    _write_group(group, [events], size, attrs, path, chunk=min(len(events), _CHUNK))


def _valid_events(events: Any, size: SensorSize | None, path: PathLike) -> np.ndarray:
    """``events`` checked (against the sensor, where given): an event array as it is (no copy), anything else
    through :func:`~neurova.events.as_events`."""
    if isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE:
        validate_events(events, sensor_size=size, path=path)
        return events
    return as_events(events, sensor_size=size, path=path)


def _write_group(group: h5py.Group, batches: Iterable[np.ndarray], size: SensorSize | None,
                 attrs: Mapping[str, Any], path: PathLike, *, chunk: int = _CHUNK) -> None:
    """:func:`write_events_to_group` of batches of events already checked (:func:`_valid_events`), appended in
    turn; a ``size`` of None stores the smallest sensor holding them all.

    Raises:
        EventOrderError: a batch starts before the end of the batch before it.
        EventFormatError: no ``size`` and no events.
    """
    clash = sorted(_RESERVED_ATTRS & attrs.keys())
    if clash:
        raise ValueError(f"attribute names {clash} are reserved by the neurova layout")
    present = [name for name in _FIELDS if name in group]
    if present:
        raise ValueError(f"group '{group.name}' already holds event datasets {present}")
    written, extent = 0, SensorExtent()
    for batch in in_time_order(batches, path):
        if not len(batch):
            continue
        if size is None:
            extent.add(batch)
        for name, dtype in _FIELDS.items():
            # no Dataset object is kept: closing one writes its cached chunks, so each column's data follows its
            # metadata in the file, as when a whole array is written at once
            if written:
                column = group[name]
                column.resize((written + len(batch),))
                column[written:] = batch[name].astype(dtype, copy=False)
            else:
                group.create_dataset(name, data=batch[name].astype(dtype), chunks=(max(chunk, 1),), maxshape=(None,),
                                     **_COMPRESSION)
        written += len(batch)
    if size is None:
        size = extent.size
        if size is None:
            raise no_events_to_size(path)
    if not written:
        for name, dtype in _FIELDS.items():
            group.create_dataset(name, shape=(0,), dtype=dtype, chunks=(1,), maxshape=(None,), **_COMPRESSION)
    group.attrs.update(
        {"format": NEUROVA_FORMAT, "version": NEUROVA_VERSION, "width": size.width, "height": size.height}
    )
    group.attrs["time_unit"] = "us"
    group.attrs.update(attrs)


def _read_columns(datasets: Mapping[str, h5py.Dataset], start: int, stop: int) -> dict[str, np.ndarray]:
    return {name: datasets[name][start:stop] for name in _FIELDS}


def read_events_from_group(group: h5py.Group, *, path: PathLike | None = None) -> np.ndarray:
    """Read all events of a group in the neurova layout.

    Args:
        group: the group written by :func:`write_events_to_group`.
        path: the file named in errors (default: the group's file and name).

    Raises:
        EventFormatError: missing datasets, an unknown layout version, corrupt data.
    """
    where = _group_path(group, path)
    _check_neurova_group(group, where)
    return to_events(_read_columns(group, 0, len(group["t"])), _group_sensor_size(group, where), where)


def _search(t_at: Callable[[int], int], value: int, lo: int, hi: int, *, gallop: bool = True) -> int:
    """First index ``i`` in ``[lo, hi]`` with ``t[i] >= value`` (``hi`` if none), on sorted ``t``.

    With ``gallop``, probes ``lo + 1, lo + 2, lo + 4, ...`` first, so finding ``i`` costs
    ``O(log(i - lo))`` reads: cheap for consecutive windows. Otherwise a plain binary search.
    """
    if gallop:
        if lo >= hi or t_at(lo) >= value:
            return lo
        step = 1
        while lo + step < hi and t_at(lo + step) < value:
            lo += step
            step *= 2
        hi = min(hi, lo + step)
        lo += 1
    while lo < hi:
        mid = (lo + hi) // 2
        if t_at(mid) < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def group_time_slice(group: h5py.Group, start_us: int | None, end_us: int | None) -> np.ndarray:
    """Events with ``start_us <= t < end_us`` of a neurova-layout group, read by binary search.

    Only the matching slice of each dataset (and ``O(log N)`` single timestamps) is read.
    ``None`` leaves that side open.
    """
    where = _group_path(group, None)
    _check_neurova_group(group, where)
    t = group["t"]
    n = len(t)

    def t_at(i: int) -> int:
        return int(t[i])

    i = 0 if start_us is None else _search(t_at, start_us, 0, n, gallop=False)
    j = n if end_us is None else _search(t_at, end_us, i, n)
    return to_events(_read_columns(group, i, j), _group_sensor_size(group, where), where)


# ------------------------------------------------------------------------------------------ files


@contextlib.contextmanager
def _open(path: Path) -> Iterator[h5py.File]:
    """Open an HDF5 file for reading; HDF5's OSErrors (truncated, corrupt) become EventFormatError."""
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise EventFormatError(f"cannot open as HDF5 (truncated or corrupt file?): {exc}", path) from exc
    try:
        with f:
            yield f
    except (OSError, KeyError) as exc:  # h5py raises KeyError for an object whose header is corrupt
        raise EventFormatError(f"corrupt HDF5 data: {exc}", path) from exc


def _metavision_events(f: h5py.File, path: Path) -> h5py.Dataset | None:
    """``CD/events`` of a Metavision HDF5 event file (None in another layout), checked to be decodable here."""
    group = f.get("CD")
    table = group.get("events") if isinstance(group, h5py.Group) else None
    if not isinstance(table, h5py.Dataset):
        return None
    names = table.dtype.names or ()
    if table.ndim != 1 or not set(_METAVISION_FIELDS) <= set(names):
        raise EventFormatError(
            f"Metavision dataset 'CD/events' must be 1-D with fields {', '.join(_METAVISION_FIELDS)}; "
            f"got shape {table.shape} and fields {', '.join(names) or 'none'}",
            path,
        )
    plist = table.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if _ECF_FILTER in filters and not h5py.h5z.filter_avail(_ECF_FILTER):
        raise MissingDependencyError(
            "a Metavision HDF5 event file compressed with Prophesee's ECF codec (HDF5 filter 0x8ECF), which this "
            "HDF5 cannot decode: build Prophesee's hdf5_ecf plugin (github.com/prophesee-ai/hdf5_ecf) and point "
            "HDF5_PLUGIN_PATH to it, or save the recording as .raw with the Metavision SDK",
            path,
        )
    return table


def _geometry(f: h5py.File, path: Path) -> SensorSize | None:
    """The Metavision root attribute ``geometry`` (``"1280x720"``) as a sensor size; None when absent."""
    if "geometry" not in f.attrs:
        return None
    value = f.attrs["geometry"]
    text = value.decode() if isinstance(value, bytes) else str(value)
    width, _, height = text.strip().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise EventFormatError(f"invalid sensor size: root attribute geometry={text!r} is not 'WIDTHxHEIGHT'", path)
    return checked_sensor_size(int(width), int(height), path, source="root attribute 'geometry'")


class _Source:
    """Uniform partial-read access to the events of any layout in an open file."""

    def __init__(self, f: h5py.File, path: Path, sensor_size: SensorSize | tuple[int, int] | None = None) -> None:
        self.path = path
        metavision = _metavision_events(f, path)
        stored_size: SensorSize | None = None
        if metavision is not None:
            self.layout = "metavision"
            self.table = metavision
            self.n = len(metavision)
            stored_size = _geometry(f, path)
        elif "events" in f and not any(name in f for name in _FIELDS):
            self.layout = "v2e"
            self.table = f["events"]
            if not isinstance(self.table, h5py.Dataset) or self.table.ndim != 2 or self.table.shape[1] != 4:
                shape = getattr(self.table, "shape", None)
                raise EventFormatError(f"v2e dataset 'events' must have shape (N, 4), got {shape}", path)
            self.n = self.table.shape[0]
        elif not any(name in f for name in _FIELDS):
            raise EventFormatError(
                "no event datasets: expected 'x', 'y', 't', 'p' (neurova layout), 'events' (v2e layout) or "
                f"'CD/events' (Metavision layout); found: {', '.join(sorted(f.keys())) or 'nothing'}",
                path,
            )
        else:
            self.layout = "neurova"
            _check_neurova_group(f, str(path))
            self.datasets = {name: f[name] for name in _FIELDS}  # kept open: HDF5 caches chunks per open dataset
            self.table = self.datasets["t"]
            self.n = len(self.table)
        # a given size replaces the stored one, which is then not read (nor checked)
        if sensor_size is not None:
            self.sensor_size: SensorSize | None = SensorSize.of(sensor_size)
        else:
            self.sensor_size = stored_size if self.layout == "metavision" else _group_sensor_size(f, path)
        self._block_start = 0
        self._block = np.zeros(0, dtype=np.int64)

    def t_at(self, i: int) -> int:
        """Timestamp of event ``i``, read through a cache of one aligned block of ``_T_BLOCK`` timestamps."""
        offset = i - self._block_start
        if not 0 <= offset < len(self._block):
            self._block_start = i - i % _T_BLOCK
            stop = min(self.n, self._block_start + _T_BLOCK)
            if self.layout == "metavision":
                self._block = self.table.fields("t")[self._block_start : stop]
            else:
                rows = self.table[self._block_start : stop]
                self._block = rows[:, 0] if self.layout == "v2e" else rows
            offset = i - self._block_start
        return int(self._block[offset])

    def columns(self, start: int, stop: int) -> dict[str, np.ndarray]:
        if self.layout == "neurova":
            return _read_columns(self.datasets, start, stop)
        rows = self.table[start:stop]
        if self.layout == "metavision":
            return {"t": rows["t"], "x": rows["x"], "y": rows["y"], "p": rows["p"] > 0}
        return {"t": rows[:, 0], "x": rows[:, 1], "y": rows[:, 2], "p": rows[:, 3]}

    def read(self, start: int, stop: int, *, sort: bool = True) -> np.ndarray:
        """Rows ``[start, stop)`` as events: sorted by ``t`` (``sort``), else refused when out of order.

        Sorted reads of more than :data:`_BLOCK_ROWS` rows (a whole large file) are decoded that many at a time
        into the one array they end in, so the file's columns are never all in memory beside it: 1.84x faster on
        29.8 M events (median of six runs; half the fresh memory to fault in), the same events. A worker thread
        decodes the next block while this one is checked and copied (h5py leaves the interpreter to other threads
        while it decompresses).
        """
        if not sort:
            return as_events(self.columns(start, stop), sensor_size=self.sensor_size, path=self.path)
        if stop - start <= _BLOCK_ROWS:
            return to_events(self.columns(start, stop), self.sensor_size, self.path)
        events = np.empty(stop - start, dtype=EVENT_DTYPE)
        ordered, last = True, None
        with ThreadPoolExecutor(1) as decoder:
            following = decoder.submit(self.columns, start, min(stop, start + _BLOCK_ROWS))
            for first in range(start, stop, _BLOCK_ROWS):
                columns = following.result()
                if first + _BLOCK_ROWS < stop:
                    following = decoder.submit(self.columns, first + _BLOCK_ROWS, min(stop, first + 2 * _BLOCK_ROWS))
                part = to_events(columns, self.sensor_size, self.path)
                if len(part):
                    ordered = ordered and (last is None or int(part["t"][0]) >= last)
                    last = int(part["t"][-1])
                copy_events(part, out=events[first - start : first - start + len(part)])
        # each part sorted stably, then the whole stably: the order of one stable sort of all the rows
        return events if ordered else take_events(events, np.argsort(events["t"], kind="stable"))

    def scan_size(self) -> SensorSize:
        """Resolution: from attributes, else the maximum coordinates (read in bounded blocks)."""
        if self.sensor_size is not None:
            return self.sensor_size
        if self.n == 0:
            raise EventFormatError("the file stores no sensor size and holds no events to infer it from", self.path)
        width = height = 0
        for start in range(0, self.n, _BLOCK_ROWS):
            columns = self.columns(start, min(self.n, start + _BLOCK_ROWS))
            width, height = max(width, int(columns["x"].max()) + 1), max(height, int(columns["y"].max()) + 1)
        return SensorSize(width, height)


def _frame_ts_to_us(stamps: np.ndarray, events: np.ndarray) -> np.ndarray:
    """v2e ``frame_ts`` in µs: integers are µs; floats are seconds unless µs fit the events' times better."""
    stamps = np.asarray(stamps)
    if np.issubdtype(stamps.dtype, np.integer) or not len(stamps) or not np.all(np.isfinite(stamps)):
        return stamps  # check_frames converts integers and rejects NaN / inf
    as_seconds = stamps.astype(np.float64) * 1e6
    if len(events):
        mid = float(np.median(events["t"]))
        if abs(float(np.median(stamps)) - mid) < abs(float(np.median(as_seconds)) - mid):
            return stamps
    return as_seconds


def _frames(f: h5py.File, layout: str, events: np.ndarray, path: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    if layout == "metavision":
        return None, None
    frames_key, stamps_key = ("frames", "frame_timestamps_us") if layout == "neurova" else ("frame", "frame_ts")
    if frames_key not in f and stamps_key not in f:
        return None, None
    if frames_key not in f or stamps_key not in f:
        raise EventFormatError(f"datasets '{frames_key}' and '{stamps_key}' must be stored together", path)
    stamps = f[stamps_key][()]
    if layout == "v2e":
        stamps = _frame_ts_to_us(stamps, events)
    return check_frames(f[frames_key][()], stamps, path)


def _attrs(f: h5py.File) -> dict[str, Any]:
    return {
        key: value.item() if isinstance(value, np.generic) else value
        for key, value in f.attrs.items()
        if key not in _RESERVED_ATTRS
    }


def read_hdf5(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read an HDF5 event file in the neurova, v2e or Metavision layout (detected from its datasets).

    Args:
        path: ``.h5`` / ``.hdf5`` file.
        sensor_size: overrides the stored resolution (needed only for a v2e file without attributes
            whose events do not reach the sensor's border).

    Raises:
        EventFormatError: not HDF5, truncated or corrupt, missing datasets, invalid events.
        MissingDependencyError: a Metavision file compressed with the ECF codec, without its HDF5 plugin.
    """
    path = check_file(path)
    with _open(path) as f:
        source = _Source(f, path, sensor_size)
        events = source.read(0, source.n)
        frames, stamps = _frames(f, source.layout, events, path)
        size = source.sensor_size or (infer_sensor_size(events) if len(events) else source.scan_size())
        attrs = _attrs(f)
    return Recording(events=events, sensor_size=size, frames=frames, frame_timestamps_us=stamps, path=path, attrs=attrs)


def hdf5_sensor_size(path: PathLike) -> SensorSize:
    """Resolution of an HDF5 event file from its attributes, else from its events (read in blocks)."""
    path = check_file(path)
    with _open(path) as f:
        return _Source(f, path).scan_size()


def hdf5_time_window(path: PathLike, start_us: int, end_us: int) -> np.ndarray:
    """Events with ``start_us <= t < end_us`` of an HDF5 event file of any layout, found by binary search on ``t``
    and read as one slice: ``O(log N)`` timestamps and the window's events, whatever the file's length."""
    path = check_file(path)
    with _open(path) as f:
        source = _Source(f, path)
        i = _search(source.t_at, int(start_us), 0, source.n, gallop=False)
        j = _search(source.t_at, int(end_us), i, source.n)
        return source.read(i, j, sort=False) if j > i else empty_events()


def hdf5_time_span(path: PathLike) -> tuple[int, int] | None:
    """``(first, last)`` event timestamps (µs) of an HDF5 event file, two reads; None when it holds no events."""
    path = check_file(path)
    with _open(path) as f:
        source = _Source(f, path)
        return (source.t_at(0), source.t_at(source.n - 1)) if source.n else None


def iter_hdf5_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Stream an HDF5 event file by partial reads (see :func:`neurova.io.iter_events`).

    Chunks are read as slices; windows are found by galloping binary search on ``t``,
    so memory stays bounded by one window or chunk whatever the file's length.
    """
    window_us, chunk_events = check_grouping(window_us, chunk_events)
    return _iter_hdf5(check_file(path), window_us, chunk_events)


def _iter_hdf5(path: Path, window_us: int | None, chunk_events: int | None) -> Iterator[np.ndarray]:
    with _open(path) as f:
        source = _Source(f, path)
        if chunk_events is not None:
            slices = (
                source.read(i, min(source.n, i + chunk_events), sort=False) for i in range(0, source.n, chunk_events)
            )
            yield from regroup(slices, window_us=None, chunk_events=chunk_events, path=path)
            return
        yield from regroup(_windows(source, window_us), window_us=window_us, chunk_events=None, path=path)


def _windows(source: _Source, window_us: int) -> Iterator[np.ndarray]:
    """Consecutive windows of a sorted file, each found by galloping search and read as one slice."""
    if source.n == 0:
        return
    start, end = 0, source.t_at(0) + window_us
    while start < source.n:
        stop = _search(source.t_at, end, start, source.n)
        yield source.read(start, stop, sort=False) if stop > start else empty_events()
        start, end = stop, end + window_us


def write_hdf5(
    path: PathLike,
    events: Any,
    sensor_size: SensorSize | tuple[int, ...] | str | None = None,
    *,
    layout: str = "neurova",
    frames: np.ndarray | None = None,
    frame_timestamps_us: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write an HDF5 event file atomically in the ``"neurova"`` or ``"v2e"`` layout.

    Args:
        path: target ``.h5`` / ``.hdf5`` file; replaced only once the new file is complete.
        events: events (anything :func:`~neurova.events.as_events` accepts), or an iterator of event arrays
            following each other in time (``iter_events(...)``), appended one by one with bounded memory
            (``"neurova"`` layout).
        sensor_size: ``(width, height)``, stored as ``width``/``height`` attributes in both layouts; None: the
            smallest sensor holding every event (``max + 1``), learnt while writing batches.
        layout: ``"neurova"`` or ``"v2e"`` (``events`` ``(N, 4)`` uint32 ``[t, x, y, p]``; t must fit in 32 bits).
        frames: optional ``(N, H, W)`` uint8 frames.
        frame_timestamps_us: their ``(N,)`` timestamps in µs (v2e layout stores them as float seconds).
        attrs: extra root attributes.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        EventFormatError: invalid events or frames, or neither a ``sensor_size`` nor events;
            :class:`~neurova.errors.EventOrderError` when a batch of ``events`` starts before the one before it
            ends. Nothing is left at ``path`` then.
        ValueError: an unknown layout, or batches of events in the ``"v2e"`` layout.
    """
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {_LAYOUTS}, got {layout!r}")
    path = Path(path)
    size = SensorSize.of(sensor_size) if sensor_size is not None else None
    if isinstance(events, Iterator):
        if layout != "neurova":
            raise ValueError(f"batches of events are written in the 'neurova' layout only, not {layout!r}")
        batches: Iterable[np.ndarray] = (_valid_events(batch, size, path) for batch in events)
        chunk = _CHUNK
    else:
        events = _valid_events(events, size, path)
        if layout != "neurova":  # the neurova layout learns a missing size while writing
            size = sensor_size_or_inferred(events, size, path, missing=no_events_to_size)
        batches, chunk = [events], min(len(events), _CHUNK)
    frames, stamps = check_frames(frames, frame_timestamps_us, path)
    attrs = dict(attrs or {})
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        if layout == "neurova":
            _write_group(f, batches, size, attrs, path, chunk=chunk)
            if frames is not None:
                f.create_dataset("frames", data=frames, **_frame_options(frames))
                f.create_dataset("frame_timestamps_us", data=stamps)
        else:
            _write_v2e(f, events, size, attrs, path)
            if frames is not None:
                f.create_dataset("frame", data=frames, **_frame_options(frames))
                f.create_dataset("frame_ts", data=stamps.astype(np.float64) / 1e6)
    return path


def _frame_options(frames: np.ndarray) -> dict[str, Any]:
    """One chunk per frame, compressed (HDF5 cannot chunk a dataset with a zero-sized dimension)."""
    if not frames.size:
        return {}
    return {"chunks": (1, *frames.shape[1:]), "compression": "gzip", "compression_opts": 4}


def _write_v2e(f: h5py.File, events: np.ndarray, size: SensorSize, attrs: dict[str, Any], path: Path) -> None:
    clash = sorted(_RESERVED_ATTRS & attrs.keys())
    if clash:
        raise ValueError(f"attribute names {clash} are reserved")
    if len(events) and events["t"][-1] > np.iinfo(np.uint32).max:
        raise EventFormatError(
            f"the v2e layout stores t as uint32 µs; {int(events['t'][-1])} µs does not fit (use layout='neurova')",
            path,
        )
    table = np.stack([events["t"], events["x"], events["y"], events["p"]], axis=1).astype(np.uint32)
    chunk = (min(max(len(events), 1), _CHUNK), 4)
    f.create_dataset("events", data=table.reshape(-1, 4), chunks=chunk, maxshape=(None, 4), **_COMPRESSION)
    f.attrs.update({"width": size.width, "height": size.height, **attrs})
