"""iniVation's older ``.aedat`` files: AEDAT 2.0 (jAER, and v2e's ``--dvs_aedat2`` output) and AEDAT 3.1
(cAER and DV before AEDAT 4), their polarity events. Both are decoded here in numpy, memory-mapped.

Both begin with text lines starting with ``#``; the first names the version (``#!AER-DAT2.0``,
``#!AER-DAT3.1``). An ``.aedat`` file whose first line is ``#!AER-DAT4.0`` is read as AEDAT 4
(:mod:`neurova.io.aedat`).

* **AEDAT 2.0**: after the header, big-endian pairs of a uint32 address and a uint32 timestamp (µs; the
  counter wraps after 2**32 µs, 71.6 min, and is unwrapped as the ``.dat`` reader does). The DAVIS
  address layout (DAVIS240, DAVIS346; the layout v2e writes): bit 31 set is an APS or IMU sample and
  bit 10 set a special event, both skipped; a polarity event has y in bits 30..22, x in bits 21..12 and
  the polarity (1 = ON) in bit 11. jAER puts the origin at the lower left and mirrors x, so neurova
  reads ``x = width - 1 - x_address`` and ``y = height - 1 - y_address``: the upper-left origin of the
  camera image and of every other format (v2e flips its events the same way when it writes them, so
  they read back as simulated). The sensor: ``sensor_size=``, else the header's ``AEChip`` class
  (DAVIS240: 240x180, DAVIS346: 346x260), else a DAVIS346 (v2e's default; with an
  :class:`AedatSensorWarning` when the events would fit a DAVIS240 as well). jAER's DVS128 layout is not
  read.
* **AEDAT 3.1**: after the ``#!END-HEADER`` line, packets: a 28-byte little-endian header (int16 event
  type, int16 source, int32 event size, timestamp offset, timestamp overflow, capacity, number, valid)
  and ``capacity`` events of ``event size`` bytes. Polarity events (type 1, 8 bytes): a uint32 with
  validity (bit 0), polarity (bit 1, 1 = ON), y (bits 16..2) and x (bits 31..17), then an int32
  timestamp (µs; the packet's overflow counts 2**31 µs). Origin at the upper left. The first ``number``
  events of a packet are read and invalid ones dropped; other packet types (frames, IMU, special
  events) are skipped. The sensor: ``sensor_size=``, else the header's ``#Source`` camera (DAVIS240,
  DAVIS346, DVS128, DVXplorer), else inferred from the events.
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from neurova.errors import EventFormatError
from neurova.events import PathLike, SensorSize
from neurova.io import aedat
from neurova.io._common import (
    BackwardStep,
    CounterUnwrapper,
    Recording,
    backward_error,
    check_file,
    check_grouping,
    merge_columns,
    read_text_header,
    regroup,
    report_repairs,
    scan_sensor_size,
    sensor_size_or_inferred,
    to_events,
    whole_items,
)

__all__ = ["AedatSensorWarning", "aedat_sensor_size", "aedat_stream_attrs", "iter_aedat_events", "read_aedat"]


class AedatSensorWarning(UserWarning):
    """An AEDAT 2.0 file's sensor was assumed (a DAVIS346): its header names no camera."""


_BATCH_EVENTS = 1 << 19
_AEDAT2_DTYPE = np.dtype([("address", ">u4"), ("t", ">u4")])
_AEDAT2_MAX_STEP = 1 << 22  # µs (4.2 s): a wrap is plausible only this close to 2**32 µs (as for .dat)
_DAVIS_SIZES = (SensorSize(240, 180), SensorSize(346, 260))
_PACKET_HEADER = struct.Struct("<hhiiiiii")
_POLARITY_TYPE = 1
_AEDAT3_DTYPE = np.dtype([("data", "<u4"), ("t", "<i4")])
_CAMERAS = (  # (pattern in a jAER AEChip class or a cAER source name, its sensor)
    (re.compile(r"davis\s*_?346", re.IGNORECASE), SensorSize(346, 260)),
    (re.compile(r"davis\s*_?240", re.IGNORECASE), SensorSize(240, 180)),
    (re.compile(r"dvxplorer", re.IGNORECASE), SensorSize(640, 480)),
    (re.compile(r"dvs\s*_?128", re.IGNORECASE), SensorSize(128, 128)),
)


class _Layout:
    """Where an ``.aedat`` file's data begin, its version and the sensor its header names."""

    def __init__(self, path: PathLike) -> None:
        self.path = check_file(path)
        lines, self.offset = read_text_header(self.path, b"#", "!END-HEADER", utf8=True)
        match = re.fullmatch(r"!AER-DAT(\d+\.\d+)", lines[0]) if lines else None
        if match is None:
            raise EventFormatError("not an AEDAT file: the first line is not '#!AER-DAT<version>'", self.path)
        self.version = match.group(1)
        if self.version not in ("2.0", "3.1", "4.0"):
            raise EventFormatError(f"AEDAT {self.version} is not supported (2.0, 3.1 and 4.0 are)", self.path)
        self.camera = self._camera(lines)

    def _camera(self, lines: list[str]) -> SensorSize | None:
        key = "aechip" if self.version == "2.0" else "source"
        for line in lines:
            name, _, value = line.partition(":")
            if not name.strip().lower().startswith(key):
                continue
            for pattern, size in _CAMERAS:
                if pattern.search(value):
                    if self.version == "2.0" and size not in _DAVIS_SIZES:
                        raise EventFormatError(f"jAER's {value.strip()} address layout is not supported "
                                               "(AEDAT 2.0 files of DAVIS cameras are)", self.path)
                    return size
        return None


def _aedat2_records(layout: _Layout) -> np.ndarray:
    n = whole_items(layout.path, layout.offset, _AEDAT2_DTYPE.itemsize, "AEDAT 2.0")
    if n == 0:
        return np.zeros(0, _AEDAT2_DTYPE)
    return np.memmap(layout.path, dtype=_AEDAT2_DTYPE, mode="r", offset=layout.offset, shape=(n,))


def _is_polarity(address: np.ndarray) -> np.ndarray:
    return (address >> 31 == 0) & ((address >> 10) & 1 == 0)


def _address_extent(records: np.ndarray) -> tuple[int, int]:
    """``(width, height)`` the polarity events' address coordinates reach (``max + 1``), by one scan of the file."""
    width = height = 0
    for start in range(0, len(records), _BATCH_EVENTS):
        address = np.asarray(records["address"][start:start + _BATCH_EVENTS]).astype(np.uint32)
        address = address[_is_polarity(address)]
        if len(address):
            width = max(width, int(((address >> 12) & 0x3FF).max()) + 1)
            height = max(height, int(((address >> 22) & 0x1FF).max()) + 1)
    return width, height


def _aedat2_size(layout: _Layout, sensor_size: Any, extent: Callable[[], tuple[int, int]]) -> SensorSize:
    """``sensor_size``, the header's camera, else a DAVIS346 (v2e's default) or, when the events' ``extent``
    reaches beyond it, no DAVIS: an error. A DAVIS346 is assumed with a warning when the events would fit a DAVIS240
    too. ``extent`` is called only when neither names the sensor."""
    if sensor_size is not None:
        return SensorSize.of(sensor_size)
    if layout.camera is not None:
        return layout.camera
    width, height = extent()
    small, large = _DAVIS_SIZES
    if width > large.width or height > large.height:
        raise EventFormatError(f"events reach x = {width - 1}, y = {height - 1}, beyond the DAVIS sensors AEDAT 2.0 "
                               "files come from (240x180, 346x260), and the header names no camera; pass "
                               "sensor_size=", layout.path)
    if width <= small.width and height <= small.height:
        warnings.warn(f"{layout.path}: the AEDAT 2.0 header names no camera (no '# AEChip:' line, as in v2e's "
                      f"output) and the events fit a DAVIS240 as well as a DAVIS346; reading it as a DAVIS346 "
                      "(346x260, v2e's default). jAER's coordinates are mirrored, so the sensor matters: pass "
                      "sensor_size=(240, 180) for a DAVIS240", AedatSensorWarning, stacklevel=3)
    return large


def _aedat2_batches(layout: _Layout, records: np.ndarray) -> Iterator[dict[str, np.ndarray]]:
    """The polarity events in batches, ``x`` and ``y`` as their addresses hold them (mirrored: :func:`_upright`)."""
    unwrap = CounterUnwrapper(32, _AEDAT2_MAX_STEP, jitter=_AEDAT2_MAX_STEP)
    repaired: list[int] = []
    n = len(records)
    try:
        for start in range(0, n, _BATCH_EVENTS):
            stop = min(n, start + _BATCH_EVENTS)
            batch = np.asarray(records[start:stop]).astype([("address", "<u4"), ("t", "<u4")])
            polarity = np.flatnonzero(_is_polarity(batch["address"]))
            batch = batch[polarity]
            following = records["address"][stop:stop + 1024]
            later = np.asarray(records["t"][stop:stop + 1024])[_is_polarity(np.asarray(following))]
            try:
                t, outlier = unwrap(batch["t"].astype(np.int64), int(later[0]) if len(later) else None)
            except BackwardStep as exc:
                byte = layout.offset + _AEDAT2_DTYPE.itemsize * (start + int(polarity[exc.index]))
                raise backward_error(layout.path, "event", byte, exc.before, exc.after, _AEDAT2_MAX_STEP) from None
            repaired.extend((layout.offset + _AEDAT2_DTYPE.itemsize * (start + polarity[outlier])).tolist())
            address = batch["address"][~outlier]
            yield {
                "x": ((address >> 12) & 0x3FF).astype(np.int32),
                "y": ((address >> 22) & 0x1FF).astype(np.int32),
                "t": t,
                "p": ((address >> 11) & 1).astype(np.int8),
            }
    finally:
        report_repairs(layout.path, "event timestamp(s)", repaired, "those events are dropped")


def _upright(columns: dict[str, np.ndarray], size: SensorSize) -> dict[str, np.ndarray]:
    """jAER's mirrored, lower-left address coordinates turned to the upper-left origin of ``size``."""
    return columns | {"x": size.width - 1 - columns["x"], "y": size.height - 1 - columns["y"]}


def _aedat3_batches(layout: _Layout) -> Iterator[dict[str, np.ndarray]]:
    data = np.memmap(layout.path, dtype=np.uint8, mode="r")
    offset, end = layout.offset, len(data)
    while offset < end:
        if end - offset < _PACKET_HEADER.size:
            raise EventFormatError(f"truncated AEDAT 3.1 packet header at byte {offset}", layout.path)
        header = data[offset:offset + _PACKET_HEADER.size]
        kind, _, size, _, overflow, capacity, number, _ = _PACKET_HEADER.unpack(header)
        body = offset + _PACKET_HEADER.size
        if size <= 0 or capacity < 0 or not 0 <= number <= capacity or body + size * capacity > end:
            raise EventFormatError(f"corrupt or truncated AEDAT 3.1 packet at byte {offset} (event size {size}, "
                                   f"capacity {capacity}, number {number})", layout.path)
        if kind == _POLARITY_TYPE:
            if size != _AEDAT3_DTYPE.itemsize:
                raise EventFormatError(f"AEDAT 3.1 polarity packet at byte {offset} has {size}-byte events, "
                                       f"not {_AEDAT3_DTYPE.itemsize}", layout.path)
            events = np.frombuffer(data, _AEDAT3_DTYPE, number, body)
            events = events[(events["data"] & 1) == 1]
            word = events["data"]
            yield {"x": (word >> 17).astype(np.int16), "y": ((word >> 2) & 0x7FFF).astype(np.int16),
                   "t": (np.int64(overflow) << 31) | events["t"].astype(np.int64),
                   "p": ((word >> 1) & 1).astype(np.int8)}
        offset = body + size * capacity


def read_aedat(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read the polarity events of an AEDAT 2.0 or 3.1 ``.aedat`` file (4.0: :func:`neurova.io.aedat.read_aedat4`).

    Args:
        path: the ``.aedat`` file.
        sensor_size: the sensor's ``(width, height)``, in place of the header's camera (AEDAT 2.0 needs it to turn
            jAER's mirrored coordinates, when the header names no camera and the events fit no DAVIS).

    Raises:
        EventFormatError: not AEDAT, another version, a layout not read, truncated or corrupt data, events outside
            the sensor.
    """
    layout = _Layout(path)
    if layout.version == "4.0":
        return aedat.read_aedat4(layout.path, sensor_size=sensor_size)
    if layout.version == "2.0":
        columns = merge_columns(list(_aedat2_batches(layout, _aedat2_records(layout))))
        size = _aedat2_size(layout, sensor_size, lambda: (int(columns["x"].max(initial=-1)) + 1,
                                                          int(columns["y"].max(initial=-1)) + 1))
        columns = _upright(columns, size)
    else:
        size = SensorSize.of(sensor_size) if sensor_size is not None else layout.camera
        columns = merge_columns(list(_aedat3_batches(layout)))
    events = to_events(columns, size, layout.path)
    return Recording(events=events, sensor_size=sensor_size_or_inferred(events, size, layout.path), path=layout.path,
                     attrs={"aedat_version": layout.version})


def aedat_stream_attrs(path: PathLike, sensor_size: SensorSize | tuple[int, int] | None = None) -> dict[str, Any] | None:
    """The ``attrs`` of :func:`read_aedat` from the header alone, where :func:`iter_aedat_events` gives the events
    ``read_aedat(path, sensor_size=sensor_size)`` does; None where it may not: AEDAT 4.0 (its files may hold APS
    frames) and AEDAT 2.0 with a ``sensor_size`` (which decides how jAER's coordinates are turned upright)."""
    layout = _Layout(path)
    if layout.version == "4.0" or (layout.version == "2.0" and sensor_size is not None):
        return None
    return {"aedat_version": layout.version}


def aedat_header_size(path: PathLike) -> SensorSize | None:
    """Resolution of an ``.aedat`` file before its events are copied: AEDAT 3.1's header camera (None without
    one); for AEDAT 2.0 and 4.0 :func:`aedat_sensor_size` (2.0's coordinates are turned by the sensor, which its
    addresses decide)."""
    layout = _Layout(path)
    return layout.camera if layout.version == "3.1" else aedat_sensor_size(layout.path)


def aedat_sensor_size(path: PathLike) -> SensorSize:
    """Resolution of an ``.aedat`` file: its header's camera, else from its events (see the module doc)."""
    layout = _Layout(path)
    if layout.version == "4.0":
        return aedat.aedat4_sensor_size(layout.path)
    if layout.version == "2.0":
        records = _aedat2_records(layout)
        return _aedat2_size(layout, None, lambda: _address_extent(records))
    return layout.camera or scan_sensor_size(_aedat3_batches(layout), layout.path)


def iter_aedat_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Stream an ``.aedat`` file in time windows or event chunks (see :func:`neurova.io.iter_events`)."""
    check_grouping(window_us, chunk_events)
    layout = _Layout(path)
    if layout.version == "4.0":
        return aedat.iter_aedat4_events(layout.path, window_us=window_us, chunk_events=chunk_events)
    if layout.version == "2.0":
        records = _aedat2_records(layout)
        size: SensorSize | None = _aedat2_size(layout, None, lambda: _address_extent(records))
        batches = (_upright(b, size) for b in _aedat2_batches(layout, records))
    else:
        size = layout.camera
        batches = _aedat3_batches(layout)
    return regroup((to_events(b, size, layout.path) for b in batches), window_us=window_us, chunk_events=chunk_events,
                   path=layout.path)
