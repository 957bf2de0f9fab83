"""Prophesee event files: ``.raw`` (EVT 2.0, EVT 2.1 and EVT 3.0) and ``.dat`` (CD events).

Both start with a text header of lines beginning with ``%``. A ``.raw`` header names its
encoding (``% evt 3.0`` or ``% format EVT3;height=720;width=1280``) and usually the sensor
geometry (``% geometry 1280x720``); older recordings only name the camera plugin
(``% plugin_name hal_plugin_gen41_evk3``), from which the resolution is looked up.

* **EVT 3.0** is decoded by the optional `evt3 <https://pypi.org/project/evt3/>`_ package
  (``pip install "neurova-va[io]"``), streamed with its bounded-memory batch decoder.
* **EVT 2.0** is decoded here in numpy: little-endian 32-bit words, the type in bits 31..28.
  ``CD_OFF`` (0x0) / ``CD_ON`` (0x1) carry the 6 low timestamp bits (27..22), x (21..11)
  and y (10..0); ``EV_TIME_HIGH`` (0x8) carries the upper 28 timestamp bits (27..0).
  ``EXT_TRIGGER`` (0xA), ``OTHERS`` (0xE) and ``CONTINUED`` (0xF) are skipped; any other
  type means corrupt data. CD events before the first ``EV_TIME_HIGH`` are dropped (their
  time is unknown), as Prophesee's decoders do.
* **EVT 2.1** (64-bit words, vectorised) is decoded here too. Each word is two 32-bit halves: a *head*
  laid out as an EVT 2.0 word (type, 6 low time bits, x, y) and, for ``EVT_POS`` / ``EVT_NEG``, a
  *validity mask*: bit ``k`` set is an event at ``(x + k, y)``. Which half comes first is the header's
  ``endianness``: ``legacy`` (IMX636: the head first) or ``little`` (GenX320: the whole word little-endian,
  the mask first). When the header does not say, the layout is read from the data (the one whose word
  types are all known, whose time words never step back and whose pixels lie on the sensor; OpenEB's
  default, ``little``, on a tie).
* **.dat** files hold, after the header, one byte event type and one byte event size (8),
  then 8-byte events: uint32 ``t`` (µs) and uint32 with x (bits 0..13), y (14..27) and
  polarity (28..31). They are memory-mapped.

All timestamps are µs. Counter wrap-around (EVT 2.0's 34-bit time after 4.8 h, ``.dat``'s
32-bit time after 71.6 min) is unwrapped, but only where a wrap is plausible: from within 4.2 s of
the counter's end to its start. A single corrupt time word (inconsistent with both neighbours, which
agree with each other) is left out with a warning naming its byte offset; any other step back in
time is reported as corrupt data with its byte offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurova._optional import require
from neurova.errors import EventFormatError
from neurova.events import PathLike, SensorSize
from neurova.io._common import (
    BackwardStep,
    CounterUnwrapper,
    Recording,
    backward_error,
    check_file,
    check_grouping,
    header_sensor_size,
    merge_columns,
    read_percent_header,
    regroup,
    report_repairs,
    scan_sensor_size,
    sensor_size_or_inferred,
    to_events,
    whole_items,
)

__all__ = [
    "RawHeader",
    "dat_sensor_size",
    "iter_dat_events",
    "iter_raw_events",
    "raw_sensor_size",
    "read_dat",
    "read_raw",
    "read_raw_header",
]

_BATCH_BYTES = 1 << 22

# Resolution of Prophesee sensors, looked up from the plugin name or sensor generation when the
# header has no geometry line. Order matters: the first substring found wins.
_SIZE_BY_PLUGIN = (
    ("genx320", SensorSize(320, 320)),
    ("imx636", SensorSize(1280, 720)),
    ("gen4", SensorSize(1280, 720)),
    ("gen3", SensorSize(640, 480)),
)
_SIZE_BY_GENERATION = {
    "3.0": SensorSize(640, 480),
    "3.1": SensorSize(640, 480),
    "4.0": SensorSize(1280, 720),
    "4.1": SensorSize(1280, 720),
    "4.2": SensorSize(1280, 720),
}

_EVT_LINE = re.compile(r"^evt\s+(\S+)$", re.IGNORECASE)
_FORMAT_LINE = re.compile(r"^format\s+([^;\s]+)", re.IGNORECASE)
_FORMAT_NAMES = {"evt2": "2.0", "evt21": "2.1", "evt3": "3.0"}
_SUPPORTED_EVT = ("2.0", "2.1", "3.0")
_ENDIANNESS = re.compile(r"(?:^|;)\s*endianness\s*=\s*(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class RawHeader:
    """The text header of a Prophesee ``.raw`` file.

    Attributes:
        lines: header lines without the leading ``%``.
        data_offset: byte offset of the first event word.
        evt_version: ``"2.0"``, ``"2.1"`` or ``"3.0"``.
        sensor_size: resolution from a geometry/format line or the camera plugin; ``None`` if unknown.
        endianness: EVT 2.1's word layout as the header states it (``"legacy"`` or ``"little"``, from
            ``% format EVT21;...;endianness=legacy`` or an ``% endianness`` line); ``None`` if it does not.
    """

    lines: tuple[str, ...]
    data_offset: int
    evt_version: str
    sensor_size: SensorSize | None
    endianness: str | None = None


def _header_value(lines: tuple[str, ...], key: str) -> str | None:
    for line in lines:
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == key:
            return parts[1].strip()
    return None


def _known_sensor_size(lines: tuple[str, ...], path: Path) -> SensorSize | None:
    size = header_sensor_size(lines, path)
    if size is not None:
        return size
    generation = _header_value(lines, "sensor_generation")
    if generation is not None:
        key = generation if "." in generation else f"{generation}.0"
        if key in _SIZE_BY_GENERATION:
            return _SIZE_BY_GENERATION[key]
    plugin = (_header_value(lines, "plugin_name") or "").lower()
    for needle, size in _SIZE_BY_PLUGIN:
        if needle in plugin:
            return size
    return None


def read_raw_header(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> RawHeader:
    """Parse the header of a ``.raw`` file: EVT version, sensor size, start of the data.

    Args:
        path: the ``.raw`` file.
        sensor_size: use this resolution instead of the header's (which is then not read or checked).

    Raises:
        EventFormatError: no header, no EVT version line, an unsupported EVT version, or a declared
            sensor size that is zero or above :data:`neurova.events.MAX_SENSOR_SIDE`.
    """
    path = check_file(path)
    lines, offset = read_percent_header(path)
    lines_t = tuple(lines)
    if not lines_t:
        raise EventFormatError("not a Prophesee .raw file: it does not start with a '%' text header", path)
    version = None
    for line in lines_t:
        match = _EVT_LINE.match(line)
        if match:
            version = match.group(1)
            break
        match = _FORMAT_LINE.match(line)
        if match:
            name = match.group(1).lower()
            version = _FORMAT_NAMES.get(name, name)
            break
    if version is None:
        raise EventFormatError(
            "the .raw header names no event encoding (expected a '% evt 3.0' or '% format EVT3' line)", path
        )
    if version not in _SUPPORTED_EVT:
        raise EventFormatError(
            f"EVT {version} encoding is not supported (supported: {', '.join('EVT ' + v for v in _SUPPORTED_EVT)})",
            path,
        )
    size = SensorSize.of(sensor_size) if sensor_size is not None else _known_sensor_size(lines_t, path)
    return RawHeader(lines_t, offset, version, size, _header_endianness(lines_t, path) if version == "2.1" else None)


def _header_endianness(lines: tuple[str, ...], path: Path) -> str | None:
    """EVT 2.1's ``endianness`` from the ``format`` line or an ``endianness`` line; refuses what is not decoded."""
    stated = _header_value(lines, "endianness")
    for line in lines:
        if _FORMAT_LINE.match(line):
            match = _ENDIANNESS.search(line)
            if match:
                stated = match.group(1)
    if stated is None:
        return None
    if stated.lower() not in _EVT21_HEAD_COLUMN:
        raise EventFormatError(
            f"EVT 2.1 with endianness {stated!r} is not supported (supported: {', '.join(_EVT21_HEAD_COLUMN)})", path
        )
    return stated.lower()


_EVT2_KNOWN_TYPES = np.array([0x0, 0x1, 0x8, 0xA, 0xE, 0xF], dtype=np.uint32)
_EVT2_MAX_STEP = 1 << 16  # EV_TIME_HIGH ticks of 64 µs: 4.2 s; a wrap is plausible only that close to 2**34 µs
_DAT_MAX_STEP = 1 << 22  # µs (4.2 s), for the .dat reader's 32-bit timestamps, which may jitter back as much
_LOOKAHEAD_WORDS = 1 << 12


class _Evt2Decoder:
    """Stateful EVT 2.0 decoder over consecutive batches of the memory-mapped 32-bit words.

    EVT 2.1 (:class:`_Evt21Decoder`) shares it: ``words`` are then the heads of its 64-bit words, laid out
    as EVT 2.0 words, and each head stands for ``word_bytes`` = 8 bytes of the file.
    """

    version = "2.0"
    word_bytes = 4

    def __init__(self, path: Path, words: np.ndarray, data_offset: int) -> None:
        self.path, self.words, self.data_offset = path, words, data_offset
        self.time_high = -1  # unwrapped upper timestamp bits of the last EV_TIME_HIGH, -1 before the first
        self.unwrap = CounterUnwrapper(28, _EVT2_MAX_STEP)
        self.repaired: list[int] = []  # byte offsets of EV_TIME_HIGH words left out as corrupt

    def _next_time_high(self, stop: int) -> int | None:
        """The 28-bit value of the first EV_TIME_HIGH word at or after word ``stop`` (None at the end)."""
        for start in range(stop, len(self.words), _LOOKAHEAD_WORDS):
            chunk = np.asarray(self.words[start : start + _LOOKAHEAD_WORDS])
            found = np.flatnonzero((chunk >> 28) == 0x8)
            if len(found):
                return int(chunk[found[0]] & 0x0FFFFFFF)
        return None

    def __call__(self, start: int, stop: int) -> dict[str, np.ndarray]:
        words = np.asarray(self.words[start:stop])
        size = self.word_bytes
        byte_offset = self.data_offset + size * start
        types = words >> 28
        bad = ~np.isin(types, _EVT2_KNOWN_TYPES)
        if bad.any():
            i = int(np.argmax(bad))
            raise EventFormatError(
                f"corrupt EVT {self.version} data: unknown word type 0x{int(types[i]):X} at byte "
                f"{byte_offset + size * i}",
                self.path,
            )
        high_index = np.flatnonzero(types == 0x8)
        values = (words[high_index] & 0x0FFFFFFF).astype(np.int64)
        try:
            unwrapped, outlier = self.unwrap(values, self._next_time_high(stop) if len(values) else None)
        except BackwardStep as exc:
            raise backward_error(
                self.path,
                "EV_TIME_HIGH word",
                byte_offset + size * int(high_index[exc.index]),
                exc.before << 6,
                exc.after << 6,
                _EVT2_MAX_STEP << 6,
            ) from None
        self.repaired.extend((byte_offset + size * high_index[outlier]).tolist())
        is_high = np.zeros(len(words), dtype=bool)
        is_high[high_index[~outlier]] = True
        high_at = np.full(len(words), -1, dtype=np.int64)
        high_at[is_high] = unwrapped
        last_high = np.maximum.accumulate(np.where(is_high, np.arange(len(words)), -1))
        high = np.where(last_high >= 0, high_at[np.maximum(last_high, 0)], self.time_high)
        if is_high.any():
            self.time_high = int(high[-1])
        cd = ((types <= 0x1) & (high >= 0)).nonzero()[0]
        return self._cd_events(words.take(cd), high.take(cd), start + cd)

    def _cd_events(self, w: np.ndarray, high: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
        """The events of the CD words ``w`` (heads), whose upper time bits are ``high``, at word ``index``."""
        return {
            "x": ((w >> 11) & 0x7FF).astype(np.int16),
            "y": (w & 0x7FF).astype(np.int16),
            "t": (high << 6) | ((w >> 22) & 0x3F).astype(np.int64),
            "p": (w >> 28) == 0x1,
        }


class _Evt21Decoder(_Evt2Decoder):
    """EVT 2.1: the 64-bit words' heads decoded as EVT 2.0 words, each CD word expanded by its validity mask."""

    version = "2.1"
    word_bytes = 8

    def __init__(self, path: Path, heads: np.ndarray, masks: np.ndarray, data_offset: int) -> None:
        super().__init__(path, heads, data_offset)
        self.masks = masks

    def _cd_events(self, w: np.ndarray, high: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
        if not len(index):
            return super()._cd_events(w, high, index)
        masks = np.asarray(self.masks[index[0] : index[-1] + 1]).take(index - index[0])
        # bit k of each mask, k = 0..31 (little-endian bytes, little-endian bits): event k of the word at x + k
        bits = np.unpackbits(masks.astype("<u4").view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
        word, k = bits.nonzero()  # word by word, k ascending: the decoders' order
        heads = super()._cd_events(w, high, index)
        events = {name: values.take(word) for name, values in heads.items()}
        events["x"] += k.astype(np.int16)
        return events


def _evt2_batches(path: Path, header: RawHeader, batch_bytes: int) -> Iterator[dict[str, np.ndarray]]:
    n_words = whole_items(path, header.data_offset, 4, "EVT 2.0")
    if n_words == 0:
        return
    words = np.memmap(path, dtype="<u4", mode="r", offset=header.data_offset, shape=(n_words,))
    yield from _decoded_batches(path, _Evt2Decoder(path, words, header.data_offset), n_words, max(1, batch_bytes // 4))


def _decoded_batches(path: Path, decode: _Evt2Decoder, n_words: int, step: int) -> Iterator[dict[str, np.ndarray]]:
    """``decode`` over the words ``step`` at a time; the repaired time words reported at the end."""
    try:
        for start in range(0, n_words, step):
            yield decode(start, min(n_words, start + step))
    finally:
        report_repairs(
            path,
            "EV_TIME_HIGH word(s)",
            decode.repaired,
            "the events after each keep the previous time base (off by at most 64 µs)",
        )


_EVT21_HEAD_COLUMN = {"legacy": 0, "little": 1}  # which 32-bit half of a 64-bit word holds its head
_EVT21_PROBE_WORDS = 1 << 16


def _evt21_plausible(heads: np.ndarray, size: SensorSize | None) -> tuple[bool, bool, bool]:
    """Checks of words ``heads`` read as EVT 2.1 heads: all types known, time words never stepping back (a
    counter wrap aside), CD pixels' vector bases on the sensor (True when its size is unknown)."""
    types = heads >> 28
    high = (heads[types == 0x8] & 0x0FFFFFFF).astype(np.int64)
    steps = np.diff(high)
    forward = bool(((steps >= 0) | (steps < -(1 << 27))).all())
    cd = heads[types <= 0x1]
    inside = size is None or bool((((cd >> 11) & 0x7FF) < size.width).all() and ((cd & 0x7FF) < size.height).all())
    return bool(np.isin(types, _EVT2_KNOWN_TYPES).all()), forward, inside


def _evt21_head_column(header: RawHeader, pairs: np.ndarray) -> int:
    """The half of each 64-bit word (``pairs``: ``(N, 2)`` little-endian 32-bit halves) that holds its head:
    as the header states, else that of the layout passing more of :func:`_evt21_plausible`'s checks on the
    first words (OpenEB's default, ``little``, on a tie)."""
    if header.endianness is not None:
        return _EVT21_HEAD_COLUMN[header.endianness]
    probe = np.asarray(pairs[:_EVT21_PROBE_WORDS])
    scores = {name: _evt21_plausible(probe[:, column], header.sensor_size)
              for name, column in _EVT21_HEAD_COLUMN.items()}  # fmt: skip
    best = max(scores, key=lambda name: (sum(scores[name]), name == "little"))
    return _EVT21_HEAD_COLUMN[best]


def _evt21_batches(path: Path, header: RawHeader, batch_bytes: int) -> Iterator[dict[str, np.ndarray]]:
    n_words = whole_items(path, header.data_offset, 8, "EVT 2.1")
    if n_words == 0:
        return
    pairs = np.memmap(path, dtype="<u4", mode="r", offset=header.data_offset, shape=(n_words, 2))
    head = _evt21_head_column(header, pairs)
    decode = _Evt21Decoder(path, pairs[:, head], pairs[:, 1 - head], header.data_offset)
    yield from _decoded_batches(path, decode, n_words, max(1, batch_bytes // 8))


def _evt3_batches(path: Path, header: RawHeader, batch_bytes: int) -> Iterator[dict[str, np.ndarray]]:
    if whole_items(path, header.data_offset, 2, "EVT 3.0") == 0:
        return
    evt3 = require("evt3", "io", "reading Prophesee EVT 3.0 files")
    try:
        for batch in evt3.decode_file_batches(str(path), batch_bytes=batch_bytes):
            yield {"x": batch.x, "y": batch.y, "t": batch.t.astype(np.int64), "p": batch.p}
    except OSError as exc:
        raise EventFormatError(f"corrupt or truncated EVT 3.0 data: {exc}", path) from exc


def _raw_batches(path: Path, header: RawHeader, batch_bytes: int) -> Iterator[dict[str, np.ndarray]]:
    batches = {"2.0": _evt2_batches, "2.1": _evt21_batches, "3.0": _evt3_batches}[header.evt_version]
    return batches(path, header, batch_bytes)


def read_raw(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read a whole Prophesee ``.raw`` file (EVT 2.0, 2.1 or 3.0).

    Args:
        path: the ``.raw`` file.
        sensor_size: overrides the header's resolution; when neither is known it is inferred from the events.

    Raises:
        EventFormatError: bad header, truncated or corrupt event data, events outside the sensor.
    """
    header = read_raw_header(path, sensor_size=sensor_size)
    path = Path(path)
    size = header.sensor_size
    events = to_events(merge_columns(list(_raw_batches(path, header, _BATCH_BYTES))), size, path)
    return Recording(
        events=events, sensor_size=sensor_size_or_inferred(events, size, path), path=path, attrs={"evt_version": header.evt_version}
    )


def raw_header_size(path: PathLike) -> SensorSize | None:
    """Resolution of a ``.raw`` file from its header (geometry, format or camera plugin); None without one."""
    return read_raw_header(path).sensor_size


def raw_sensor_size(path: PathLike) -> SensorSize:
    """Resolution of a ``.raw`` file from its header, else by scanning (not keeping) its events."""
    header = read_raw_header(path)
    if header.sensor_size is not None:
        return header.sensor_size
    return scan_sensor_size(_raw_batches(Path(path), header, _BATCH_BYTES), Path(path))


def iter_raw_events(
    path: PathLike,
    *,
    window_us: int | None = None,
    chunk_events: int | None = None,
    batch_bytes: int = _BATCH_BYTES,
) -> Iterator[np.ndarray]:
    """Stream a ``.raw`` file in time windows or event chunks, decoding ``batch_bytes`` of the file at a time.

    See :func:`neurova.io.iter_events` for ``window_us`` and ``chunk_events``.
    """
    check_grouping(window_us, chunk_events)
    header = read_raw_header(path)
    path = Path(path)
    batches = (to_events(b, header.sensor_size, path) for b in _raw_batches(path, header, batch_bytes))
    return regroup(batches, window_us=window_us, chunk_events=chunk_events, path=path)


# --------------------------------------------------------------------------------------------- .dat

_DAT_DTYPE = np.dtype([("t", "<u4"), ("data", "<u4")])
_DAT_EVENT_TYPES = (0x00, 0x0C)  # Event2d, EventCD


def _dat_layout(path: PathLike, sensor_size: Any = None) -> tuple[Path, int, int, SensorSize | None]:
    """``(path, data offset, number of events, sensor size)``; ``sensor_size`` replaces the header's."""
    path = check_file(path)
    lines, offset = read_percent_header(path)
    with open(path, "rb") as f:
        f.seek(offset)
        type_size = f.read(2)
    if len(type_size) < 2:
        raise EventFormatError("truncated .dat file: the event type and size bytes after the header are missing", path)
    event_type, event_size = type_size
    if event_size != _DAT_DTYPE.itemsize or event_type not in _DAT_EVENT_TYPES:
        raise EventFormatError(
            f"unsupported .dat event type {event_type} of size {event_size} bytes "
            f"(expected CD events: type 12 or 0, size {_DAT_DTYPE.itemsize})",
            path,
        )
    n_events = whole_items(path, offset + 2, _DAT_DTYPE.itemsize, ".dat")
    size = SensorSize.of(sensor_size) if sensor_size is not None else header_sensor_size(lines, path)
    return path, offset + 2, n_events, size


def _dat_batches(path: Path, offset: int, n_events: int, batch_bytes: int) -> Iterator[dict[str, np.ndarray]]:
    if n_events == 0:
        return
    records = np.memmap(path, dtype=_DAT_DTYPE, mode="r", offset=offset, shape=(n_events,))
    unwrap = CounterUnwrapper(32, _DAT_MAX_STEP, jitter=_DAT_MAX_STEP)
    step = max(1, batch_bytes // _DAT_DTYPE.itemsize)
    repaired: list[int] = []
    try:
        for start in range(0, n_events, step):
            stop = min(n_events, start + step)
            batch = np.asarray(records[start:stop])
            try:
                t, outlier = unwrap(batch["t"].astype(np.int64), int(records[stop]["t"]) if stop < n_events else None)
            except BackwardStep as exc:
                byte = offset + _DAT_DTYPE.itemsize * (start + exc.index)
                raise backward_error(path, "event", byte, exc.before, exc.after, _DAT_MAX_STEP) from None
            repaired.extend((offset + _DAT_DTYPE.itemsize * (start + np.flatnonzero(outlier))).tolist())
            data = batch["data"][~outlier]
            yield {
                "x": (data & 0x3FFF).astype(np.int16),
                "y": ((data >> 14) & 0x3FFF).astype(np.int16),
                "t": t,
                "p": (data >> 28).astype(np.int8),
            }
    finally:
        report_repairs(path, "event timestamp(s)", repaired, "those events are dropped")


def read_dat(path: PathLike, *, sensor_size: SensorSize | tuple[int, int] | None = None) -> Recording:
    """Read a whole Prophesee ``.dat`` CD file (memory-mapped).

    Args:
        path: the ``.dat`` file.
        sensor_size: overrides the header's ``Width``/``Height``; when neither is known it is inferred.

    Raises:
        EventFormatError: truncated file, unsupported event type, polarity other than 0/1,
            events outside the sensor.
    """
    path, offset, n_events, size = _dat_layout(path, sensor_size)
    events = to_events(merge_columns(list(_dat_batches(path, offset, n_events, _BATCH_BYTES))), size, path)
    return Recording(events=events, sensor_size=sensor_size_or_inferred(events, size, path), path=path)


def dat_header_size(path: PathLike) -> SensorSize | None:
    """Resolution of a ``.dat`` file from its header's ``Width``/``Height`` or camera; None without them."""
    return _dat_layout(path)[3]


def dat_sensor_size(path: PathLike) -> SensorSize:
    """Resolution of a ``.dat`` file from its header, else by scanning (not keeping) its events."""
    path, offset, n_events, header_size = _dat_layout(path)
    if header_size is not None:
        return header_size
    return scan_sensor_size(_dat_batches(path, offset, n_events, _BATCH_BYTES), path)


def iter_dat_events(
    path: PathLike,
    *,
    window_us: int | None = None,
    chunk_events: int | None = None,
    batch_bytes: int = _BATCH_BYTES,
) -> Iterator[np.ndarray]:
    """Stream a memory-mapped ``.dat`` file in time windows or event chunks (see :func:`neurova.io.iter_events`)."""
    check_grouping(window_us, chunk_events)
    path, offset, n_events, size = _dat_layout(path)
    batches = (to_events(b, size, path) for b in _dat_batches(path, offset, n_events, batch_bytes))
    return regroup(batches, window_us=window_us, chunk_events=chunk_events, path=path)
