"""Text event files, ``.txt`` and ``.csv``: one event per line.

The layouts in use: the RPG Event Camera Dataset's ``events.txt`` (``t x y p``, ``t`` in seconds), v2e's
``--dvs_text`` output (the same, after ``#`` comment lines), rpg_e2vid's (a first line ``width height``,
then ``t x y p``), and CSV exports (comma separated, often a first line naming the columns).

* Lines starting with ``#`` are comments; blank lines are skipped.
* A first line of two integers is the sensor's ``width height`` (rpg_e2vid); without it the size comes
  from ``sensor_size=`` or is inferred from the events.
* A first line of names (``t,x,y,p``, ``timestamp,x,y,polarity``, ``x,y,p,t`` ...:
  :data:`neurova.events.FIELD_ALIASES`) gives the column order; otherwise it is ``t x y p``.
* Columns are separated by whitespace or by commas (a comma in the first data line).
* Timestamps written with a decimal point or an exponent are seconds, scaled to µs and rounded; integer
  timestamps are µs. Polarity is 0/1 or -1/+1.

Files are parsed in blocks of lines (:func:`numpy.loadtxt`), so :func:`neurova.io.iter_events` streams
them with bounded memory. A malformed line is an :class:`~neurova.errors.EventFormatError` naming the
file and the line.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurova.errors import EventFormatError
from neurova.events import FIELD_ALIASES, PathLike, SensorSize, checked_sensor_size
from neurova.io._common import (
    Recording,
    check_file,
    check_grouping,
    merge_columns,
    regroup,
    scan_sensor_size,
    sensor_size_or_inferred,
    to_events,
)

__all__ = ["iter_text_events", "read_text", "text_sensor_size"]

_BLOCK_LINES = 1 << 18
_SECONDS = re.compile(r"[.eE]")
_NAME = re.compile(r"[A-Za-z_]")


@dataclass(frozen=True)
class _Layout:
    """Where a text file's events begin (line number, 1-based), their columns, separator and time unit."""

    first_line: int
    columns: tuple[str, ...]
    delimiter: str | None
    time_scale: float
    sensor_size: SensorSize | None


def _fields(line: str) -> list[str]:
    return [f for f in re.split(r"[,\s]+", line.strip()) if f]


def _layout(path: Path) -> _Layout:
    """Read the comments, an optional ``width height`` line and an optional line of column names."""
    size: SensorSize | None = None
    columns: tuple[str, ...] = ("t", "x", "y", "p")
    named = False  # a line of column names was read
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            fields = _fields(line)
            if not fields or line.lstrip().startswith("#"):
                continue
            if len(fields) == 2 and size is None and all(v.isdigit() for v in fields):
                size = checked_sensor_size(fields[0], fields[1], path, source="the first line's width and height")
                continue
            if any(_NAME.match(v) for v in fields):
                if named or not all(_NAME.match(v) for v in fields):
                    raise EventFormatError(f"line {number} is neither an event (numbers) nor a first line of column "
                                           f"names: {line.strip()[:80]!r}", path)
                columns, named = tuple(v.lower() for v in fields), True
                continue
            if len(fields) != len(columns):
                raise EventFormatError(f"line {number} has {len(fields)} values, expected {len(columns)} "
                                       f"({', '.join(columns)})", path)
            times = [i for i, c in enumerate(columns) if c in FIELD_ALIASES["t"]]
            if not times:
                raise EventFormatError(f"no time column among {', '.join(columns)}", path)
            seconds = _SECONDS.search(fields[times[0]]) is not None
            return _Layout(number, columns, "," if "," in line else None, 1e6 if seconds else 1.0, size)
    raise EventFormatError("the text file holds no event lines", path)


def _blocks(path: Path, layout: _Layout) -> Iterator[dict[str, np.ndarray]]:
    """The events as columns, :data:`_BLOCK_LINES` lines at a time."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = itertools.islice(f, layout.first_line - 1, None)
        number = layout.first_line
        while block := list(itertools.islice(lines, _BLOCK_LINES)):
            try:
                values = np.loadtxt(block, delimiter=layout.delimiter, comments="#", ndmin=2, dtype=np.float64)
            except ValueError as exc:
                raise EventFormatError(f"in lines {number}-{number + len(block) - 1}: {exc}", path) from None
            if values.size and values.shape[1] != len(layout.columns):
                raise EventFormatError(f"in lines {number}-{number + len(block) - 1}: {values.shape[1]} values per "
                                       f"line, expected {len(layout.columns)}", path)
            number += len(block)
            if len(values):
                yield {name: values[:, i] for i, name in enumerate(layout.columns)}


def read_text(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read a ``.txt`` / ``.csv`` event file whole (see the module doc for the layouts).

    Args:
        path: the text file.
        sensor_size: the sensor's ``(width, height)``, in place of a ``width height`` first line.

    Raises:
        EventFormatError: no event line, a malformed line, polarities other than 0/1/-1, events outside the sensor.
    """
    path = check_file(path)
    layout = _layout(path)
    size = SensorSize.of(sensor_size) if sensor_size is not None else layout.sensor_size
    events = to_events(merge_columns(list(_blocks(path, layout))), size, path, time_scale=layout.time_scale)
    return Recording(events=events, sensor_size=sensor_size_or_inferred(events, size, path), path=path)


def text_header_size(path: PathLike) -> SensorSize | None:
    """Resolution of a text event file from its ``width height`` first line; None without one."""
    return _layout(check_file(path)).sensor_size


def text_sensor_size(path: PathLike) -> SensorSize:
    """Resolution of a text event file: its ``width height`` first line, else from its events."""
    path = check_file(path)
    layout = _layout(path)
    if layout.sensor_size is not None:
        return layout.sensor_size
    return scan_sensor_size(_blocks(path, layout), path)


def iter_text_events(
    path: PathLike, *, window_us: int | None = None, chunk_events: int | None = None
) -> Iterator[np.ndarray]:
    """Stream a text event file block by block (see :func:`neurova.io.iter_events`)."""
    check_grouping(window_us, chunk_events)
    path = check_file(path)
    layout = _layout(path)
    batches = (to_events(b, layout.sensor_size, path, time_scale=layout.time_scale) for b in _blocks(path, layout))
    return regroup(batches, window_us=window_us, chunk_events=chunk_events, path=path)
