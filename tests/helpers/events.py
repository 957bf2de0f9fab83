"""The one random event generator of the tests, and numpy writers of Prophesee and older iniVation files.

The writers encode EVT 2.0 / EVT 3.0 ``.raw``, CD ``.dat`` and AEDAT 2.0 / 3.1 ``.aedat`` files word by word,
so the readers of :mod:`neurova.io` are tested without any third-party sample or package.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

import neurova.io as nio
from neurova.errors import EventFormatError
from neurova.events import SensorSize, make_events

SIZE = SensorSize(64, 48)
"""The sensor of the generated files: 64 x 48 pixels."""

Polarity = Literal["random", "on", "off"] | float


def random_events(n: int, size: SensorSize | tuple[int, int] = SIZE, *, seed: int | np.random.Generator = 0,
                  t0: int = 1_000, span_us: int = 50_000, polarity: Polarity = "random") -> np.ndarray:
    """``n`` events uniform over the ``size = (width, height)`` sensor and over ``[t0, t0 + span_us)`` µs.

    Args:
        seed: seeds a :func:`numpy.random.default_rng`; a ``Generator`` is drawn from (and advanced) instead.
        polarity: ``"random"`` (ON or OFF with probability 1/2), ``"on"`` or ``"off"`` (every event), or the
            probability in [0, 1] of an ON event.

    Returns:
        a structured array of :data:`neurova.events.EVENT_DTYPE`, sorted by ``t``; the same for the same arguments.
    """
    width, height = size
    if not (polarity in ("random", "on", "off") or (isinstance(polarity, float) and 0.0 <= polarity <= 1.0)):
        raise ValueError(f"polarity must be 'random', 'on', 'off' or a probability in [0, 1], got {polarity!r}")
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(t0, t0 + span_us, n))
    x, y = rng.integers(0, width, n), rng.integers(0, height, n)
    if polarity == "random":
        p = rng.integers(0, 2, n)
    elif isinstance(polarity, float):
        p = rng.random(n) < polarity
    else:
        p = np.full(n, polarity == "on")
    return make_events(x, y, t, p)


def header(*lines: str) -> bytes:
    """A Prophesee ``%`` header: one ``% line`` per line."""
    return "".join(f"% {line}\n" for line in lines).encode()


def encode_evt2(events: np.ndarray) -> bytes:
    """EVT 2.0 words: an EV_TIME_HIGH before every CD event, then CD_ON/CD_OFF with 6 low time bits."""
    t = events["t"].astype(np.uint32)
    high = (np.uint32(0x8) << 28) | (t >> 6)
    cd = (
        (events["p"].astype(np.uint32) << 28)
        | ((t & 0x3F) << 22)
        | (events["x"].astype(np.uint32) << 11)
        | events["y"].astype(np.uint32)
    )
    return np.stack([high, cd], axis=1).astype("<u4").tobytes()


def encode_evt21(events: np.ndarray, endianness: Literal["legacy", "little"] = "legacy") -> bytes:
    """EVT 2.1 64-bit words as a camera vectorises them: runs of events with the same time, row and polarity and
    increasing x within one 32-pixel-aligned group share a CD word (the group's base x, a mask bit per event),
    each after an EV_TIME_HIGH. ``legacy`` (IMX636): each word's head half first; ``little``: the whole word
    little-endian (the mask half first)."""
    t, x, y, p = (events[name].astype(np.int64) for name in ("t", "x", "y", "p"))
    new = np.ones(len(events), dtype=bool)
    new[1:] = (t[1:] != t[:-1]) | (y[1:] != y[:-1]) | (p[1:] != p[:-1]) | (x[1:] >> 5 != x[:-1] >> 5) | (x[1:] <= x[:-1])
    starts = np.flatnonzero(new)
    mask = np.bitwise_or.reduceat(np.left_shift(1, x & 31), starts) if len(starts) else np.zeros(0, np.int64)
    t, x, y, p = t[starts], x[starts] & ~31, y[starts], p[starts]
    heads = np.stack([(0x8 << 28) | (t >> 6), (p << 28) | ((t & 0x3F) << 22) | (x << 11) | y], axis=1)
    masks = np.stack([np.zeros_like(mask), mask], axis=1)
    halves = (heads, masks) if endianness == "legacy" else (masks, heads)
    return np.stack(halves, axis=-1).astype("<u4").tobytes()


def encode_evt3(events: np.ndarray) -> bytes:
    """EVT 3.0 16-bit words per event: TIME_HIGH, TIME_LOW, ADDR_Y, ADDR_X (with polarity); t < 2**24."""
    t = events["t"].astype(np.uint32)
    words = np.stack(
        [
            (0x8 << 12) | ((t >> 12) & 0xFFF),
            (0x6 << 12) | (t & 0xFFF),
            events["y"].astype(np.uint32),
            (0x2 << 12) | (events["p"].astype(np.uint32) << 11) | events["x"].astype(np.uint32),
        ],
        axis=1,
    )
    return words.astype("<u2").tobytes()


def write_raw(path: Path, events: np.ndarray, *, evt: str = "2.0", lines: tuple[str, ...] | None = None) -> Path:
    """A Prophesee ``.raw`` file of ``events`` in EVT ``evt`` ("2.0", "2.1" (the IMX636's legacy layout) or "3.0");
    the header holds ``lines`` (default: the format and the :data:`SIZE` geometry)."""
    if lines is None:
        lines = (f"evt {evt}", f"geometry {SIZE.width}x{SIZE.height}")
    body = {"2.0": encode_evt2, "2.1": encode_evt21, "3.0": encode_evt3}[evt](events)
    path.write_bytes(header(*lines, "end") + body)
    return path


def write_dat(path: Path, events: np.ndarray, size: SensorSize | None = SIZE) -> Path:
    """A Prophesee CD .dat file: '%' header, event type 12 and size 8, then (uint32 t, uint32 x|y<<14|p<<28)."""
    lines = ["Version 2"] + ([f"Width {size.width}", f"Height {size.height}"] if size else [])
    records = np.empty(len(events), dtype=[("t", "<u4"), ("data", "<u4")])
    records["t"] = events["t"]
    records["data"] = (
        events["x"].astype(np.uint32) | (events["y"].astype(np.uint32) << 14) | (events["p"].astype(np.uint32) << 28)
    )
    path.write_bytes(header(*lines) + bytes([12, 8]) + records.tobytes())
    return path


def write_aedat2(path: Path, events: np.ndarray, size: SensorSize, *, chip: str | None = None,
                 extra: np.ndarray | None = None) -> Path:
    """An AEDAT 2.0 file as v2e's ``--dvs_aedat2`` writes one (jAER's DAVIS layout, x and y mirrored, CRLF header).

    ``chip`` adds jAER's ``# AEChip:`` header line; ``extra`` are raw ``(address, timestamp)`` records (APS samples,
    special events) appended after the events.
    """
    lines = ["#!AER-DAT2.0", "# This is a raw AE data file", "# Data format is int32 address, int32 timestamp",
             "# Timestamps tick is 1 µs"]  # jAER's settings in the header are UTF-8
    lines += [f"# AEChip: {chip}"] if chip else []
    x = (size.width - 1 - events["x"].astype(np.uint32))
    y = (size.height - 1 - events["y"].astype(np.uint32))
    records = np.empty(len(events), dtype=[("address", ">u4"), ("t", ">u4")])
    records["address"] = (y << 22) | (x << 12) | (events["p"].astype(np.uint32) << 11)
    records["t"] = events["t"] % (1 << 32)
    if extra is not None:
        records = np.concatenate([records, extra]).astype(records.dtype)  # concatenate gives native byte order
    path.write_bytes("".join(line + "\r\n" for line in lines).encode("utf-8") + records.tobytes())
    return path


def aedat3_packet(kind: int, events: np.ndarray | None = None, *, overflow: int = 0, body: bytes = b"",
                  size: int = 8) -> bytes:
    """One AEDAT 3.1 packet: the 28-byte header and its events (``events`` as polarity events, else ``body``)."""
    if events is not None:
        records = np.empty(len(events), dtype=[("data", "<u4"), ("t", "<i4")])
        records["data"] = (1 | (events["p"].astype(np.uint32) << 1) | (events["y"].astype(np.uint32) << 2)
                           | (events["x"].astype(np.uint32) << 17))
        records["t"] = events["t"] - (overflow << 31)
        body = records.tobytes()
    count = len(body) // size
    return struct.pack("<hhiiiiii", kind, 1, size, 4, overflow, count, count, count) + body


def write_aedat3(path: Path, packets: list[bytes], *, source: str | None = "DAVIS346B") -> Path:
    """An AEDAT 3.1 file: the header (with ``#Source 1: source`` when given) and ``packets``."""
    lines = ["#!AER-DAT3.1", "#Format: RAW"] + ([f"#Source 1: {source}"] if source else []) + [
        "#Start-Time: 2026-11-30 08:00:00 (TZ+0000)", "#!END-HEADER"]
    path.write_bytes("".join(line + "\r\n" for line in lines).encode() + b"".join(packets))
    return path


def write_metavision_hdf5(path: Path, events: np.ndarray, size: SensorSize | None = SIZE, *, ecf: bool = False) -> Path:
    """A Metavision SDK "HDF5 event file": ``CD/events`` compound (x u2, y u2, p i2, t i8), root ``geometry``.

    The SDK compresses with Prophesee's ECF codec; ``ecf=True`` declares that filter (0x8ECF, optional, so HDF5
    writes the chunks unfiltered here, where the plugin is absent), else gzip is used.
    """
    import h5py

    records = np.empty(len(events), dtype=[("x", "<u2"), ("y", "<u2"), ("p", "<i2"), ("t", "<i8")])
    for name in ("x", "y", "p", "t"):
        records[name] = events[name]
    compression = {"compression": 0x8ECF, "allow_unknown_filter": True} if ecf else {"compression": "gzip"}
    with h5py.File(path, "w") as f:
        if size is not None:
            f.attrs["geometry"] = f"{size.width}x{size.height}"
        f.attrs["camera_integrator_name"] = "Prophesee"
        group = f.create_group("CD")
        group.create_dataset("events", data=records, chunks=(max(1, min(len(records), 64)),), **compression)
        group.create_dataset("indexes", data=np.zeros(0, dtype=[("id", "<u8"), ("ts", "<i8")]))
        f.create_group("EXT_TRIGGER").create_dataset("events", data=np.zeros(0, dtype=[("p", "<i2"), ("t", "<i8")]))
    return path


def raises_with_path(path: Path, match: str, reader: Callable[[Path], object] = nio.read_events) -> EventFormatError:
    """Assert that ``reader(path)`` raises an :class:`EventFormatError` matching ``match`` that names ``path``."""
    with pytest.raises(EventFormatError, match=match) as info:
        reader(path)
    assert str(path) in str(info.value)
    assert info.value.path == os.fspath(path)
    return info.value
