"""The event array type.

neurova holds events as a numpy structured array with the fields ``x``, ``y``
(int16 pixel coordinates), ``t`` (int64 timestamp in microseconds) and ``p``
(bool, ``True`` = ON / brightness increase). This is exactly tonic's
``events_struct`` dtype, so arrays pass straight into tonic transforms.

:func:`as_events` turns whatever a user brings (other structured dtypes, v2e's
``(N, 4)`` arrays, dicts of arrays, torch tensors) into that type, matching
fields by *name*, never by position, and validates the result.

Nothing in this module imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from neurova.errors import EventFormatError

__all__ = [
    "EVENT_DTYPE",
    "FIELD_ALIASES",
    "MAX_SENSOR_SIDE",
    "EventBuffer",
    "SensorSize",
    "as_events",
    "checked_sensor_size",
    "concat_events",
    "copy_events",
    "empty_events",
    "infer_sensor_size",
    "make_events",
    "search_times",
    "slice_time",
    "take_events",
    "time_window_indices",
    "validate_events",
]

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
"""tonic's ``events_struct``: ``x, y`` int16; ``t`` int64 µs; ``p`` bool (True = ON)."""

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "x": ("x",),
    "y": ("y",),
    "t": ("t", "ts", "timestamp", "timestamps", "time", "t_us"),
    "p": ("p", "pol", "polarity", "on", "polarities"),
}
"""The source names :func:`as_events` (and every reader: archive fields, text column names) accepts for each
field, matched case-insensitively."""

_COLUMN_LAYOUTS = ("txyp", "xytp", "xypt", "tpxy")

MAX_SENSOR_SIDE = 8192
"""Largest sensor side (pixels) accepted from a file's metadata: above every event camera and a 4K video
simulated to events. A larger declared size is refused (pass ``sensor_size=`` to a reader to override it)."""

_T_MAX = int(np.iinfo(np.int64).max)

PathLike = str | os.PathLike[str]


class SensorSize(NamedTuple):
    """Sensor resolution in pixels. ``shape`` gives the array shape ``(height, width)``."""

    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, the shape of a frame of this sensor."""
        return (self.height, self.width)

    def to_tonic(self) -> tuple[int, int, int]:
        """tonic's ``sensor_size`` tuple ``(width, height, 2)``."""
        return (self.width, self.height, 2)

    @classmethod
    def of(cls, value: SensorSize | tuple[int, ...] | str) -> SensorSize:
        """Coerce ``(width, height)``, tonic's ``(width, height, 2)`` or ``"346x260"``."""
        if isinstance(value, SensorSize):
            return value
        if isinstance(value, str):
            parts = value.lower().replace("*", "x").split("x")
            if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
                raise ValueError(f"sensor size must look like '346x260', got {value!r}")
            value = (int(parts[0]), int(parts[1]))
        if len(value) not in (2, 3):
            raise ValueError(f"sensor size must be (width, height), got {value!r}")
        width, height = int(value[0]), int(value[1])
        if width <= 0 or height <= 0:
            raise ValueError(f"sensor size must be positive, got {width}x{height}")
        return cls(width, height)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def checked_sensor_size(width: Any, height: Any, path: PathLike | None, *, source: str) -> SensorSize:
    """A sensor size declared by a file's metadata (``source`` says where, e.g. ``"the header's geometry line"``).

    Raises:
        EventFormatError: not two positive integers, or a side above :data:`MAX_SENSOR_SIDE` (a corrupt or
            hostile header must not drive allocations); the message names the file and the override.
    """
    try:
        size = SensorSize.of((int(width), int(height)))
    except (TypeError, ValueError, OverflowError) as exc:
        raise EventFormatError(f"{source} gives an invalid sensor size {width!r}x{height!r}: {exc}", path) from exc
    if max(size) > MAX_SENSOR_SIDE:
        raise EventFormatError(
            f"{source} declares a {size} sensor, larger than any event camera (at most {MAX_SENSOR_SIDE} pixels a "
            "side): the metadata is corrupt; pass sensor_size=(width, height) to read the file anyway",
            path,
        )
    return size


def empty_events() -> np.ndarray:
    """A zero-length event array."""
    return np.zeros(0, dtype=EVENT_DTYPE)


_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))
"""An event as its raw bytes. numpy copies elements of the packed :data:`EVENT_DTYPE` field by field when it indexes
with a mask or an index array, copies a slice or concatenates: 3.7-5.8x slower than copying whole records, as
``ndarray.take`` and views of this dtype do (5 M events, numpy 2.4; ``benchmarks/bench_event_copies.py``)."""


def take_events(events: np.ndarray, where: Any) -> np.ndarray:
    """``events[where]`` as a new array, ``where`` a boolean mask or integer indices, copied record by record."""
    where = np.asarray(where)
    return events.take(where.nonzero()[0] if where.dtype == bool else where)


def concat_events(parts: Sequence[np.ndarray]) -> np.ndarray:
    """``parts`` joined into one event array, copied record by record; the part itself when there is one, empty
    events when there is none."""
    if not parts:
        return empty_events()
    if len(parts) == 1:
        return parts[0]
    if any(part.dtype != EVENT_DTYPE for part in parts):
        return np.concatenate(parts)
    return np.concatenate([part.view(_RECORD) for part in parts]).view(EVENT_DTYPE)


def copy_events(events: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``events``, record by record; into ``out`` (an event array or slice of one, of the same length) when
    given, which is returned."""
    if out is None:
        return events.view(_RECORD).copy().view(EVENT_DTYPE) if events.dtype == EVENT_DTYPE else events.copy()
    if out.dtype != EVENT_DTYPE or events.dtype != EVENT_DTYPE or out.shape != events.shape:
        raise ValueError(f"copy_events copies {EVENT_DTYPE} events into an array of the same shape, got "
                         f"{events.dtype} {events.shape} into {out.dtype} {out.shape}")
    out.view(_RECORD)[...] = events.view(_RECORD)
    return out


def make_events(x: Any, y: Any, t: Any, p: Any) -> np.ndarray:
    """Build an event array from four equally long sequences (no validation beyond what the cast needs).

    ``p`` may be bool, 0/1 or -1/+1; anything positive is ON.

    Raises:
        EventFormatError: unequal lengths, or values that ``x, y`` (int16) or ``t`` (int64 µs) cannot
            represent (checked before casting, so an overflow is never reported as a negative value).
    """
    x, y, t, p = (np.asarray(a).reshape(-1) for a in (x, y, t, p))
    if not (len(x) == len(y) == len(t) == len(p)):
        raise EventFormatError(f"x, y, t, p must have equal lengths, got {len(x)}, {len(y)}, {len(t)}, {len(p)}")
    for name, values in (("x", x), ("y", y), ("t", t)):
        _check_representable(values, name, None)
    return _build_events(x, y, t, p)


def _build_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The event array of four checked, equally long columns."""
    events = np.empty(len(t), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"] = x, y, t
    events["p"] = p > 0
    return events


def _field_map(names: tuple[str, ...], *, allow_extra: bool, path: PathLike | None) -> dict[str, str]:
    lower = {name.lower(): name for name in names}
    mapping: dict[str, str] = {}
    for field, aliases in FIELD_ALIASES.items():
        found = [lower[a] for a in aliases if a in lower]
        if not found:
            raise EventFormatError(f"events have no '{field}' field (fields: {', '.join(names)})", path)
        if len(found) > 1:
            raise EventFormatError(f"events have several fields for '{field}': {', '.join(found)}", path)
        mapping[field] = found[0]
    extra = sorted(set(names) - set(mapping.values()))
    if extra and not allow_extra:
        raise EventFormatError(
            f"unknown event fields {extra} (expected x, y, t, p or their aliases; pass allow_extra=True to drop them)",
            path,
        )
    return mapping


def _polarity(p: np.ndarray, path: PathLike | None) -> np.ndarray:
    if p.dtype == bool:
        return p
    if np.issubdtype(p.dtype, np.floating) and np.isnan(p).any():
        raise EventFormatError("polarity contains NaN", path)
    # integers between -1 and 1 are -1, 0 and 1: two reductions (np.unique hashes every value: 0.2 s for 30 M)
    valid = len(p) == 0 or (np.issubdtype(p.dtype, np.integer) and p.min() >= -1 and p.max() <= 1)
    if not valid:
        values = np.unique(p)
        if not set(values.tolist()) <= {-1, 0, 1}:
            raise EventFormatError(f"polarity must be bool, 0/1 or -1/+1, found values {values[:8].tolist()}", path)
    return p > 0


def _check_representable(values: np.ndarray, name: str, path: PathLike | None) -> None:
    """Refuse values the field's dtype (x, y int16; t int64 µs) cannot hold, before any cast wraps them."""
    target = EVENT_DTYPE[name]
    if not values.size or values.dtype == bool or np.can_cast(values.dtype, target, "safe"):
        return
    if not np.issubdtype(values.dtype, np.number):
        raise EventFormatError(f"'{name}' must be numeric, got dtype {values.dtype}", path)
    lo, hi = values.min(), values.max()
    if np.issubdtype(values.dtype, np.floating) and not (np.isfinite(lo) and np.isfinite(hi)):
        raise EventFormatError(f"'{name}' contains NaN or infinite values", path)
    info = np.iinfo(target)
    # exact comparisons: numpy compares integer scalars with Python ints by value; float(2**63 - 1) rounds
    # up to 2**63, so a float must stay below max + 1
    above = hi >= float(info.max) + 1 if np.issubdtype(values.dtype, np.floating) else hi > info.max
    if lo >= info.min and not above:
        return
    if name == "t":
        bad = hi if above else lo
        raise EventFormatError(
            f"timestamp {_number(bad)} µs does not fit in int64 µs (|t| at most {info.max} µs, about 292,000 "
            "years): the time column is corrupt, or in another unit (see as_events' time_scale)",
            path,
        )
    raise EventFormatError(f"'{name}' coordinates must lie in [0, 32767], found {_number(lo)}..{_number(hi)}", path)


def _number(value: Any) -> str:
    """An integer-valued number as an exact integer string (a float like 9.3e18 keeps its float form)."""
    return str(int(value)) if np.issubdtype(type(value), np.integer) else repr(float(value))


def _integer_column(values: np.ndarray, name: str, scale: float | None, path: PathLike | None) -> np.ndarray:
    if np.issubdtype(values.dtype, np.floating) or (scale is not None and scale != 1):
        values = values.astype(np.float64)
        if np.isnan(values).any():
            raise EventFormatError(f"'{name}' contains NaN", path)
        if not np.isfinite(values).all():
            raise EventFormatError(f"'{name}' contains infinite values", path)
        if scale is None and name == "t":
            _check_whole_microseconds(values, path)
        if scale is not None:
            values = values * scale
        values = np.rint(values)
    elif not np.issubdtype(values.dtype, np.integer) and values.dtype != bool:
        raise EventFormatError(f"'{name}' must be numeric, got dtype {values.dtype}", path)
    _check_representable(values, name, path)
    return values


def _check_whole_microseconds(t: np.ndarray, path: PathLike | None) -> None:
    """Float timestamps read as µs must be whole: fractions mean another unit (v2e writes float seconds)."""
    fractional = t != np.rint(t)
    if not fractional.any():
        return
    example = float(t[int(np.argmax(fractional))])
    span = float(t.max() - t.min())
    where = (
        "" if path is None else
        " to neurova.events.as_events on the loaded array (and neurova.io.write_events the result to an .h5 file "
        "for the readers and the CLI)"
    )  # fmt: skip
    raise EventFormatError(
        f"timestamps are floats with fractions (e.g. {example!r}), spanning {span:g}: read as µs that is "
        f"{span / 1e3:g} ms. If they are seconds (as v2e's (N, 4) arrays and text files are) pass time_scale=1e6 "
        f"(milliseconds: 1e3; to round µs to whole µs: time_scale=1.0){where}",
        path,
    )


def as_events(
    obj: Any,
    *,
    sensor_size: SensorSize | tuple[int, ...] | None = None,
    columns: str = "txyp",
    time_scale: float | None = None,
    sort: bool = False,
    allow_extra: bool = False,
    validate: bool = True,
    path: PathLike | None = None,
) -> np.ndarray:
    """Normalise events from any common source into neurova's dtype (:data:`EVENT_DTYPE`).

    Args:
        obj: a structured array (fields matched by name: ``t``/``timestamp``,
            ``p``/``polarity``/``on`` ...), a dict of arrays, a plain ``(N, 4)``
            array or torch tensor whose columns are given by ``columns``
            (v2e's layout ``[t, x, y, p]`` by default), or an event array already.
        sensor_size: ``(width, height)``; when given, coordinates are checked against it.
        columns: column order of a plain ``(N, 4)`` input, one of ``txyp`` (v2e),
            ``xytp``, ``xypt``, ``tpxy``.
        time_scale: factor that turns the source's time unit into µs (``1e6`` for seconds); scaled
            timestamps are rounded to the nearest µs. ``None`` (default): the source is in µs, and float
            timestamps with fractions are refused (they are likely seconds) rather than silently rounded.
        sort: sort events by time (stable) instead of rejecting non-monotonic timestamps.
        allow_extra: drop fields that are not x, y, t, p instead of raising.
        validate: run :func:`validate_events` on the result.
        path: the file the events came from, named in error messages.

    Returns:
        A new event array of dtype :data:`EVENT_DTYPE`, sorted by ``t``.

    Raises:
        EventFormatError: missing, unknown or duplicate fields, NaN, negative,
            non-monotonic or out-of-int64 timestamps, fractional float timestamps without
            ``time_scale``, or coordinates outside the sensor.
    """
    if type(obj).__module__.startswith("torch"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, Mapping):
        names = tuple(obj.keys())
        mapping = _field_map(names, allow_extra=allow_extra, path=path)
        cols = {field: np.asarray(obj[src]).reshape(-1) for field, src in mapping.items()}
    else:
        array = np.asarray(obj)
        if array.dtype.names:
            mapping = _field_map(array.dtype.names, allow_extra=allow_extra, path=path)
            cols = {field: array[src].reshape(-1) for field, src in mapping.items()}
        elif array.ndim == 2 and array.shape[1] == 4:
            if columns not in _COLUMN_LAYOUTS:
                raise ValueError(f"columns must be one of {_COLUMN_LAYOUTS}, got {columns!r}")
            cols = {name: array[:, i] for i, name in enumerate(columns)}
        elif array.size == 0:
            return empty_events()
        else:
            raise EventFormatError(
                f"cannot read events from an array of shape {array.shape} and dtype {array.dtype}: "
                "expected a structured array, a dict of arrays or an (N, 4) array",
                path,
            )
    lengths = {len(v) for v in cols.values()}
    if len(lengths) != 1:
        raise EventFormatError(f"event fields have different lengths: { {k: len(v) for k, v in cols.items()} }", path)
    x = _integer_column(cols["x"], "x", 1.0, path)
    y = _integer_column(cols["y"], "y", 1.0, path)
    t = _integer_column(cols["t"], "t", time_scale, path)
    for name, values in (("x", x), ("y", y)):
        if len(values) and (values.min() < 0 or values.max() > np.iinfo(np.int16).max):
            lo, hi = _number(values.min()), _number(values.max())
            raise EventFormatError(f"'{name}' coordinates must lie in [0, 32767], found {lo}..{hi}", path)
    p = _polarity(np.asarray(cols["p"]), path)
    events = _build_events(x, y, t, p)  # every column checked above: no second pass
    if sort and len(t) and np.any(t[1:] < t[:-1]):
        events = events.take(np.argsort(t, kind="stable"))
        x, y, t = events["x"], events["y"], events["t"]
    if validate:  # on the columns where they are contiguous, several times faster than the packed fields
        _check_events(x, y, t, sensor_size, path)
    return events


def validate_events(
    events: np.ndarray,
    *,
    sensor_size: SensorSize | tuple[int, ...] | None = None,
    path: PathLike | None = None,
) -> None:
    """Check an event array of :data:`EVENT_DTYPE`; raise :class:`EventFormatError` naming what is wrong."""
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        dtype = getattr(events, "dtype", type(events).__name__)
        raise EventFormatError(f"expected an event array of dtype {EVENT_DTYPE}, got {dtype}; use as_events()", path)
    _check_events(events["x"], events["y"], events["t"], sensor_size, path)


def _check_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, sensor_size: SensorSize | tuple[int, ...] | None,
                  path: PathLike | None) -> None:
    """:func:`validate_events` of the columns of an event array (its fields, or the arrays it was built from)."""
    if len(t) == 0:
        return
    decreasing = t[1:] < t[:-1]  # one bool per step: no int64 copy of the steps (240 MB for 30 M events)
    unsorted = bool(decreasing.any())
    lowest = int(t.min()) if unsorted else int(t[0])
    if lowest < 0:
        raise EventFormatError(f"timestamps must be non-negative, found {lowest} µs", path)
    if unsorted:
        first = int(np.argmax(decreasing)) + 1
        raise EventFormatError(
            f"timestamps are not sorted: event {first} at {int(t[first])} µs comes after {int(t[first - 1])} µs "
            "(pass sort=True to sort them)",
            path,
        )
    size = None if sensor_size is None else SensorSize.of(sensor_size)
    if not (_within(x, None if size is None else size.width) and _within(y, None if size is None else size.height)):
        if x.min() < 0 or y.min() < 0:
            raise EventFormatError(f"coordinates must be non-negative, found x >= {int(x.min())}, y >= {int(y.min())}",
                                   path)
        raise EventFormatError(f"events lie outside the {size} sensor: x up to {int(x.max())}, y up to {int(y.max())}",
                               path)


def _within(values: np.ndarray, bound: int | None) -> bool:
    """Whether integer coordinates are all ``>= 0`` and, given ``bound``, ``< bound``: one pass over them (their
    maximum read as unsigned, where a negative value exceeds every bound), where a minimum and a maximum take two."""
    if values.dtype.kind not in "iu":
        return bool(values.min() >= 0 and (bound is None or values.max() < bound))
    if values.dtype.kind == "u":
        return bound is None or int(values.max()) < bound
    half = 1 << (8 * values.itemsize - 1)  # the non-negative values of the signed type lie below it
    unsigned = values.view(values.dtype.str.replace("i", "u"))  # the same bytes, the same byte order
    return int(unsigned.max()) < (half if bound is None else min(bound, half))


def infer_sensor_size(events: np.ndarray) -> SensorSize:
    """The smallest sensor that holds every event (``max + 1`` in each axis)."""
    if len(events) == 0:
        raise EventFormatError("cannot infer the sensor size of zero events; pass sensor_size")
    return SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)


def search_times(t: np.ndarray, values: Any, side: Literal["left", "right"] = "left") -> Any:
    """``np.searchsorted(t, values, side)`` of sorted timestamps without copying them.

    ``t`` is typically ``events["t"]``, a strided field of the event array; numpy copies a strided array
    before each search, a full pass over the timestamps (23 ms for 30 M events), where this binary search
    reads about ``log2(len(t))`` of them per value. Scalars give an int, arrays an intp array of their shape.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if t.flags.c_contiguous:
        found = np.searchsorted(t, values, side=side)
        return int(found) if np.ndim(found) == 0 else found
    if np.ndim(values) == 0:  # a scalar: a plain binary search, a few µs
        value, lo, hi = values, 0, len(t)
        while lo < hi:
            mid = (lo + hi) // 2
            if t[mid] < value or (side == "right" and t[mid] == value):
                lo = mid + 1
            else:
                hi = mid
        return lo
    wanted = np.asarray(values)
    lo, hi = np.zeros(wanted.shape, dtype=np.intp), np.full(wanted.shape, len(t), dtype=np.intp)
    while True:  # every value's binary search at once: log2(len(t)) rounds
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        probe = t[np.minimum(mid, len(t) - 1)]
        right = (probe < wanted if side == "left" else probe <= wanted) & open_
        lo = np.where(right, mid + 1, lo)
        hi = np.where(open_ & ~right, mid, hi)


def time_window_indices(events: np.ndarray, start_us: int | None, end_us: int | None) -> tuple[int, int]:
    """Index range ``[i, j)`` of events with ``start_us <= t < end_us`` (binary search; events sorted by t)."""
    t = events["t"]
    i = 0 if start_us is None else search_times(t, start_us)
    j = len(t) if end_us is None else search_times(t, end_us)
    return i, max(i, j)


def slice_time(events: np.ndarray, start_us: int | None = None, end_us: int | None = None) -> np.ndarray:
    """Events with ``start_us <= t < end_us`` as a view (binary search; events must be sorted by t)."""
    i, j = time_window_indices(events, start_us, end_us)
    return events[i:j]


class EventBuffer:
    """The latest events of a stream, held as the chunks they came in: appending copies nothing.

    A live camera delivers a chunk every few ms, and a predictor needs the last few hundred ms of events
    (the history of a prediction, or a face detector's window). Concatenating each chunk onto one array
    copies that whole history every time: 26 MB per 40 ms chunk at 10 M events/s over 200 ms. The buffer
    keeps the chunks instead and copies only the events a caller asks for (:meth:`between`).

    Chunks must be sorted by ``t`` and come in time order (the caller checks); empty ones are skipped. Over
    :data:`MAX_CHUNKS` small chunks are joined into one.
    """

    MAX_CHUNKS = 64

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(chunk) for chunk in self._chunks)

    def append(self, chunk: np.ndarray) -> None:
        """Hold ``chunk`` (events sorted by ``t``, none earlier than the held ones) without copying it."""
        if len(chunk):
            self._chunks.append(chunk)
        if len(self._chunks) > self.MAX_CHUNKS:
            self._chunks = [concat_events(self._chunks)]

    def next_time(self, t_us: int) -> int | None:
        """The time of the first held event at or after ``t_us`` (µs), or None."""
        for chunk in self._chunks:
            if int(chunk["t"][-1]) >= t_us:
                return int(chunk["t"][search_times(chunk["t"], t_us)])
        return None

    def between(self, start_us: int, end_us: int) -> np.ndarray:
        """The held events with ``start_us <= t < end_us``: a view when one chunk holds them, else a copy."""
        parts = [slice_time(chunk, start_us, end_us) for chunk in self._chunks
                 if int(chunk["t"][-1]) >= start_us and int(chunk["t"][0]) < end_us]
        return concat_events(parts)

    def drop_before(self, t_us: int) -> None:
        """Forget the events before ``t_us``."""
        kept = [chunk for chunk in self._chunks if int(chunk["t"][-1]) >= t_us]
        if kept and int(kept[0]["t"][0]) < t_us:
            kept[0] = slice_time(kept[0], t_us, None)
        self._chunks = kept
