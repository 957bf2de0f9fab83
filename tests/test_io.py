"""Tests of neurova.io on fixtures generated here: writers round-trip, streaming, atomic writes, corrupt files.

The Prophesee fixtures are made by small numpy encoders below (EVT 2.0, EVT 3.0 and .dat
writers), so the readers are tested without any third-party sample.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurova.io as nio
from neurova.errors import EventFormatError, MissingDependencyError
from neurova.events import EVENT_DTYPE, SensorSize, make_events, slice_time
from neurova.io import hdf5, npz, prophesee
from neurova.io._common import regroup

SIZE = SensorSize(64, 48)


def random_events(
    n: int, size: SensorSize = SIZE, *, seed: int = 0, t0: int = 1_000, span_us: int = 50_000
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(t0, t0 + span_us, n))
    return make_events(rng.integers(0, size.width, n), rng.integers(0, size.height, n), t, rng.integers(0, 2, n))


# ------------------------------------------------------------------------------ fixture encoders


def header(*lines: str) -> bytes:
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
    if lines is None:
        lines = (f"evt {evt}", f"geometry {SIZE.width}x{SIZE.height}")
    body = encode_evt2(events) if evt == "2.0" else encode_evt3(events)
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


# ------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(("suffix", "layout"), [(".h5", "neurova"), (".hdf5", "v2e"), (".npz", "neurova")])
@pytest.mark.parametrize("n", [0, 1, 257])
def test_round_trip(tmp_path: Path, suffix: str, layout: str, n: int) -> None:
    events = random_events(n)
    path = nio.write_events(tmp_path / f"ev{suffix}", events, SIZE, layout=layout, attrs={"subject": "s01", "fps": 25})
    assert path == tmp_path / f"ev{suffix}"
    recording = nio.read_recording(path)
    assert recording.events.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(recording.events, events)
    assert recording.sensor_size == SIZE
    assert recording.frames is None and recording.frame_timestamps_us is None
    assert recording.path == path
    assert recording.attrs == {"subject": "s01", "fps": 25}
    assert nio.get_sensor_size(path) == SIZE
    np.testing.assert_array_equal(nio.read_events(path), events)


@pytest.mark.parametrize(("suffix", "layout"), [(".h5", "neurova"), (".h5", "v2e"), (".npz", "neurova")])
@pytest.mark.parametrize("n_frames", [0, 3])
def test_round_trip_frames(tmp_path: Path, suffix: str, layout: str, n_frames: int) -> None:
    events = random_events(100)
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (n_frames, SIZE.height, SIZE.width), dtype=np.uint8)
    stamps = np.arange(n_frames, dtype=np.int64) * 40_000 + 1_234
    path = nio.write_events(
        tmp_path / f"f{suffix}", events, SIZE, layout=layout, frames=frames, frame_timestamps_us=stamps
    )
    recording = nio.read_recording(path)
    np.testing.assert_array_equal(recording.frames, frames)
    assert recording.frames.dtype == np.uint8
    np.testing.assert_array_equal(recording.frame_timestamps_us, stamps)
    assert recording.frame_timestamps_us.dtype == np.int64


def test_v2e_layout_on_disk(tmp_path: Path) -> None:
    events = random_events(10)
    path = nio.write_events(tmp_path / "v.h5", events, SIZE, layout="v2e")
    with h5py.File(path) as f:
        table = f["events"][()]
    assert table.dtype == np.uint32 and table.shape == (10, 4)
    np.testing.assert_array_equal(table[:, 0], events["t"])
    np.testing.assert_array_equal(table[:, 3], events["p"])


def test_neurova_layout_on_disk(tmp_path: Path) -> None:
    path = nio.write_events(tmp_path / "n.h5", random_events(10), SIZE)
    with h5py.File(path) as f:
        assert f.attrs["format"] == "neurova-events" and f.attrs["version"] == 1
        assert (f.attrs["width"], f.attrs["height"], f.attrs["time_unit"]) == (64, 48, "us")
        assert {name: f[name].dtype for name in "xytp"} == {"x": np.int16, "y": np.int16, "t": np.int64, "p": np.uint8}
        assert f["t"].compression == "gzip" and f["t"].chunks is not None


@pytest.mark.parametrize(("stored", "unit"), [("seconds", np.float64), ("us", np.int64), ("us", np.float64)])
def test_v2e_frame_ts_units_are_detected(tmp_path: Path, stored: str, unit: type) -> None:
    events = random_events(50, t0=2_000_000)
    stamps_us = np.array([2_000_000, 2_040_000], dtype=np.int64)
    path = tmp_path / "v2e.h5"
    with h5py.File(path, "w") as f:
        table = np.stack([events["t"], events["x"], events["y"], events["p"]], axis=1).astype(np.uint32)
        f.create_dataset("events", data=table)
        f.create_dataset("frame", data=np.zeros((2, SIZE.height, SIZE.width), np.uint8))
        f.create_dataset("frame_ts", data=(stamps_us / 1e6 if stored == "seconds" else stamps_us).astype(unit))
    recording = nio.read_recording(path)
    np.testing.assert_array_equal(recording.frame_timestamps_us, stamps_us)
    # no width/height attributes: the size is inferred from the events
    assert recording.sensor_size == SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    assert nio.get_sensor_size(path) == recording.sensor_size
    assert nio.read_recording(path, sensor_size=SIZE).sensor_size == SIZE


def test_npy_structured_and_columns(tmp_path: Path) -> None:
    events = random_events(30)
    np.save(tmp_path / "s.npy", events)
    table = np.stack([events["t"], events["x"], events["y"], events["p"]], axis=1)
    np.save(tmp_path / "c.npy", table)
    for name in ("s.npy", "c.npy"):
        np.testing.assert_array_equal(nio.read_events(tmp_path / name), events)
        assert nio.get_sensor_size(tmp_path / name).width <= SIZE.width
        np.testing.assert_array_equal(np.concatenate(list(nio.iter_events(tmp_path / name, chunk_events=7))), events)


def test_npz_from_elsewhere_with_aliases(tmp_path: Path) -> None:
    events = random_events(20)
    np.savez(tmp_path / "a.npz", x=events["x"], y=events["y"], timestamp=events["t"], polarity=events["p"].astype(int))
    np.testing.assert_array_equal(nio.read_events(tmp_path / "a.npz", sensor_size=SIZE), events)


def test_write_rejects_bad_input(tmp_path: Path) -> None:
    events = random_events(10)
    with pytest.raises(EventFormatError, match=r"outside the 8x8 sensor"):
        nio.write_events(tmp_path / "a.h5", events, (8, 8))
    with pytest.raises(EventFormatError, match=r"\.h5, \.hdf5, \.npz"):
        nio.write_events(tmp_path / "a.raw", events, SIZE)
    with pytest.raises(ValueError, match="HDF5 files only"):
        nio.write_events(tmp_path / "a.npz", events, SIZE, layout="v2e")
    with pytest.raises(ValueError, match="layout must be one of"):
        nio.write_events(tmp_path / "a.h5", events, SIZE, layout="tonic")
    with pytest.raises(ValueError, match="together"):
        nio.write_events(tmp_path / "a.h5", events, SIZE, frames=np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(EventFormatError, match="uint8"):
        nio.write_events(tmp_path / "a.h5", events, SIZE, frames=np.zeros((1, 4, 4)), frame_timestamps_us=[0])
    late = make_events([1], [1], [2**32], [1])
    with pytest.raises(EventFormatError, match="uint32"):
        nio.write_events(tmp_path / "a.h5", late, SIZE, layout="v2e")
    with pytest.raises(ValueError, match="reserved"):
        nio.write_events(tmp_path / "a.h5", events, SIZE, attrs={"width": 3})
    assert list(tmp_path.iterdir()) == []


def test_recording_checks_frames() -> None:
    with pytest.raises(ValueError, match="together"):
        nio.Recording(random_events(2), SIZE, frames=np.zeros((1, 2, 2), np.uint8))
    recording = nio.Recording(random_events(5), SIZE)
    assert len(recording) == 5 and recording.attrs == {}


# --------------------------------------------------------------------------------------- HDF5 groups


def test_many_clips_in_one_file(tmp_path: Path) -> None:
    clips = {f"clip{i}": random_events(40 + i, seed=i) for i in range(3)}
    path = tmp_path / "cache.h5"
    with h5py.File(path, "w") as f:
        for name, events in clips.items():
            nio.write_events_to_group(f.create_group(name), events, SIZE, subject=name)
    with h5py.File(path) as f:
        for name, events in clips.items():
            group = f[name]
            np.testing.assert_array_equal(nio.read_events_from_group(group), events)
            assert group.attrs["subject"] == name
            for start, end in [(None, None), (0, 1), (5_000, 30_000), (int(events["t"][3]), int(events["t"][9]))]:
                np.testing.assert_array_equal(nio.group_time_slice(group, start, end), slice_time(events, start, end))


def test_group_writer_refuses_reserved_attrs_and_overwrite(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "g.h5", "w") as f:
        with pytest.raises(ValueError, match="reserved"):
            nio.write_events_to_group(f, random_events(3), SIZE, version=2)
        nio.write_events_to_group(f, random_events(3), SIZE)
        with pytest.raises(ValueError, match="already holds"):
            nio.write_events_to_group(f, random_events(3), SIZE)


def test_group_reader_rejects_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        nio.write_events_to_group(f, random_events(3), SIZE)
        f.attrs["version"] = 99
    with pytest.raises(EventFormatError, match="version 99") as info:
        nio.read_events(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------------------------------------ streaming


def _gappy_events() -> np.ndarray:
    """Events with a long silent gap, so that some windows are empty."""
    a, b = random_events(120, seed=3, t0=10_000, span_us=20_000), random_events(80, seed=4, t0=95_000, span_us=20_000)
    return np.concatenate([a, b])


def _fixture_file(tmp_path: Path, kind: str, events: np.ndarray) -> Path:
    if kind in ("h5", "v2e"):
        return nio.write_events(tmp_path / f"{kind}.h5", events, SIZE, layout="neurova" if kind == "h5" else "v2e")
    if kind == "npz":
        return nio.write_events(tmp_path / "e.npz", events, SIZE)
    if kind == "npy":
        np.save(tmp_path / "e.npy", events)
        return tmp_path / "e.npy"
    if kind == "dat":
        return write_dat(tmp_path / "e.dat", events)
    return write_raw(tmp_path / f"{kind}.raw", events, evt="2.0" if kind == "evt2" else "3.0")


KINDS = ["h5", "v2e", "npz", "npy", "dat", "evt2", "evt3"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("window_us", [37, 7_000, 10**9])
def test_iter_windows(tmp_path: Path, kind: str, window_us: int) -> None:
    if kind == "evt3":
        pytest.importorskip("evt3")
    events = _gappy_events()
    path = _fixture_file(tmp_path, kind, events)
    np.testing.assert_array_equal(nio.read_events(path), events)
    windows = list(nio.iter_events(path, window_us=window_us))
    t0, t_last = int(events["t"][0]), int(events["t"][-1])
    assert len(windows) == (t_last - t0) // window_us + 1
    for k, window in enumerate(windows):
        assert window.dtype == EVENT_DTYPE
        assert np.all(window["t"] >= t0 + k * window_us) and np.all(window["t"] < t0 + (k + 1) * window_us)
    np.testing.assert_array_equal(np.concatenate(windows), events)
    if window_us == 7_000:
        assert any(len(w) == 0 for w in windows)


@pytest.mark.parametrize("kind", KINDS)
def test_iter_chunks(tmp_path: Path, kind: str) -> None:
    if kind == "evt3":
        pytest.importorskip("evt3")
    events = _gappy_events()
    path = _fixture_file(tmp_path, kind, events)
    chunks = list(nio.iter_events(path, chunk_events=33))
    assert [len(c) for c in chunks] == [33] * 6 + [2]
    np.testing.assert_array_equal(np.concatenate(chunks), events)
    (whole,) = nio.iter_events(path)
    np.testing.assert_array_equal(whole, events)


@pytest.mark.parametrize("kind", ["dat", "evt2", "evt3"])
def test_streaming_across_small_decoding_batches(tmp_path: Path, kind: str) -> None:
    """Decoder state (EVT time high, window remainders) must carry over between tiny batches."""
    if kind == "evt3":
        pytest.importorskip("evt3")
    events = _gappy_events()
    path = _fixture_file(tmp_path, kind, events)
    stream = prophesee.iter_dat_events if kind == "dat" else prophesee.iter_raw_events
    for kwargs in ({"window_us": 3_000}, {"chunk_events": 17}):
        parts = list(stream(path, batch_bytes=24, **kwargs))
        np.testing.assert_array_equal(np.concatenate(parts), events)
    t0 = int(events["t"][0])
    windows = list(stream(path, batch_bytes=24, window_us=3_000))
    assert all(np.all((w["t"] - t0) // 3_000 == k) for k, w in enumerate(windows))


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(0, 500), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=6),
    window_us=st.integers(1, 120),
    chunk_events=st.integers(1, 25),
)
def test_regroup_is_independent_of_batching(
    times: list[int], cuts: list[int], window_us: int, chunk_events: int
) -> None:
    t = np.sort(np.array(times, dtype=np.int64))
    events = make_events(np.zeros_like(t), np.zeros_like(t), t, np.ones_like(t))
    batches = np.split(events, sorted({min(c, len(t)) for c in cuts}))
    windows = list(regroup(batches, window_us=window_us, chunk_events=None, path="p.raw"))
    chunks = list(regroup(batches, window_us=None, chunk_events=chunk_events, path="p.raw"))
    if not len(t):
        assert windows == [] and chunks == []
        return
    assert len(windows) == (t[-1] - t[0]) // window_us + 1
    for k, window in enumerate(windows):
        assert np.all((window["t"] - t[0]) // window_us == k)
    np.testing.assert_array_equal(np.concatenate(windows), events)
    assert [len(c) for c in chunks[:-1]] == [chunk_events] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) <= chunk_events
    np.testing.assert_array_equal(np.concatenate(chunks), events)


def test_iter_empty_file_yields_nothing(tmp_path: Path) -> None:
    path = nio.write_events(tmp_path / "e.h5", random_events(0), SIZE)
    assert list(nio.iter_events(path, window_us=10)) == []
    assert list(nio.iter_events(path, chunk_events=10)) == []


def test_iter_arguments(tmp_path: Path) -> None:
    path = nio.write_events(tmp_path / "e.h5", random_events(5), SIZE)
    with pytest.raises(ValueError, match="either"):
        nio.iter_events(path, window_us=5, chunk_events=5)
    for bad in ({"window_us": 0}, {"chunk_events": -1}, {"window_us": 2.5}):
        with pytest.raises(ValueError, match="positive integer"):
            nio.iter_events(path, **bad)
    with pytest.raises(FileNotFoundError):
        nio.iter_events(tmp_path / "missing.h5", window_us=5)


def test_iter_rejects_time_going_back_across_batches(tmp_path: Path) -> None:
    events = random_events(40)
    swapped = np.concatenate([events[20:], events[:20]])
    path = tmp_path / "back.dat"
    write_dat(path, swapped)
    np.testing.assert_array_equal(nio.read_events(path), events)  # read_events sorts the whole recording
    with pytest.raises(EventFormatError, match="not time-ordered") as info:
        list(prophesee.iter_dat_events(path, chunk_events=5, batch_bytes=80))
    assert str(path) in str(info.value)


def test_hdf5_streaming_reads_bounded_slices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """iter_events and group_time_slice on HDF5 read slices, never a whole dataset."""
    n, block = 5_000, 64
    events = random_events(n, span_us=1_000_000)
    sizes: list[int] = []
    original = h5py.Dataset.__getitem__

    def spy(self: h5py.Dataset, key: object, *args: object) -> object:
        out = original(self, key, *args)
        sizes.append(int(np.shape(out)[0]) if np.ndim(out) else 1)
        return out

    monkeypatch.setattr(hdf5, "_T_BLOCK", block)
    for layout in ("neurova", "v2e"):
        path = nio.write_events(tmp_path / f"{layout}.h5", events, SIZE, layout=layout)
        monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
        sizes.clear()
        windows = list(nio.iter_events(path, window_us=20_000))
        largest = max(len(w) for w in windows)
        assert largest < n // 10
        assert max(sizes) <= max(largest, block)
        sizes.clear()
        chunks = list(nio.iter_events(path, chunk_events=100))
        assert len(chunks) == n // 100 and max(sizes) <= 100
        monkeypatch.setattr(h5py.Dataset, "__getitem__", original)
        np.testing.assert_array_equal(np.concatenate(windows), events)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    sizes.clear()
    with h5py.File(tmp_path / "neurova.h5") as f:
        part = nio.group_time_slice(f, 500_000, 510_000)
    assert 0 < len(part) == max(sizes)
    assert len(sizes) <= 13 + 2 * 7 + 4  # bisection over 5000, galloping over ~50 events, then x, y, t, p


# ------------------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("suffix", [".h5", ".npz"])
def test_failed_write_leaves_no_file_and_keeps_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str):
    target = tmp_path / f"clip{suffix}"
    old = random_events(5)
    nio.write_events(target, old, SIZE)
    before = target.read_bytes()

    class Boom(RuntimeError):
        pass

    if suffix == ".h5":
        original = h5py.Group.create_dataset

        def create_dataset(self: h5py.Group, name: str, *args: object, **kwargs: object) -> object:
            if name == "p":
                raise Boom("disk full")
            return original(self, name, *args, **kwargs)

        monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    else:
        original_savez = np.savez_compressed

        def savez(file: object, **arrays: object) -> None:
            original_savez(file, x=arrays["x"])
            raise Boom("disk full")

        monkeypatch.setattr(npz.np, "savez_compressed", savez)
    with pytest.raises(Boom):
        nio.write_events(target, random_events(50), SIZE)
    assert target.read_bytes() == before
    with pytest.raises(Boom):
        nio.write_events(tmp_path / f"new{suffix}", random_events(50), SIZE)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    monkeypatch.undo()
    np.testing.assert_array_equal(nio.read_events(target), old)


# -------------------------------------------------------------------------------- malformed inputs


def _raises_with_path(path: Path, match: str, reader=nio.read_events) -> EventFormatError:
    with pytest.raises(EventFormatError, match=match) as info:
        reader(path)
    assert str(path) in str(info.value)
    assert info.value.path == os.fspath(path)
    return info.value


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.raw"):
        nio.read_events(tmp_path / "missing.raw")
    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        nio.get_sensor_size(tmp_path / "missing.h5")
    (tmp_path / "x.csv").write_text("t,x,y,p\n")
    err = _raises_with_path(tmp_path / "x.csv", "unknown event file suffix '.csv'")
    for suffix in nio.supported_suffixes():
        assert suffix in str(err)
    assert set(nio.supported_suffixes()) == {".h5", ".hdf5", ".raw", ".dat", ".aedat4", ".npz", ".npy"}


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".raw", ".dat", ".aedat4", ".npz", ".npy"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    _raises_with_path(path, "empty")


@pytest.mark.parametrize("damage", ["truncate", "garble"])
@pytest.mark.parametrize("layout", ["neurova", "v2e"])
def test_corrupt_hdf5(tmp_path: Path, damage: str, layout: str) -> None:
    path = nio.write_events(tmp_path / "c.h5", random_events(20_000), SIZE, layout=layout)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2 : len(data) // 2 + 2_000] = bytes(range(256)) * 7 + bytes(208)
        data[:8] = b"GARBAGE!"
    path.write_bytes(bytes(data))
    _raises_with_path(path, "HDF5")
    with pytest.raises(EventFormatError):
        list(nio.iter_events(path, window_us=1000))


def test_hdf5_missing_datasets(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3, np.int16))
        f.create_dataset("t", data=np.zeros(3, np.int64))
    _raises_with_path(path, "missing dataset.*'y'.*'p'")
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=np.zeros((1, 2, 2), np.uint8))
    _raises_with_path(path, "no event datasets.*'events' \\(v2e layout\\).*found: frames")
    with h5py.File(path, "w") as f:
        f.create_dataset("events", data=np.zeros((3, 3), np.uint32))
    _raises_with_path(path, r"shape \(N, 4\)")


def test_raw_header_errors(tmp_path: Path) -> None:
    events = random_events(10)
    path = tmp_path / "h.raw"
    path.write_bytes(encode_evt2(events))
    _raises_with_path(path, "does not start with a '%' text header")
    write_raw(path, events, lines=("date today", "geometry 64x48"))
    _raises_with_path(path, "names no event encoding")
    write_raw(path, events, lines=("format EVT21;height=48;width=64",))
    _raises_with_path(path, "EVT 2.1 encoding is not supported")
    path.write_bytes(b"% evt 2.0\n% geometry 64x4")
    _raises_with_path(path, "not terminated")


@pytest.mark.parametrize("evt", ["2.0", "3.0"])
def test_truncated_raw(tmp_path: Path, evt: str) -> None:
    path = write_raw(tmp_path / "t.raw", random_events(50), evt=evt)
    path.write_bytes(path.read_bytes()[:-1])
    _raises_with_path(path, f"truncated EVT {evt} data")


def test_corrupt_evt2_word_type(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "c.raw", random_events(50))
    data = bytearray(path.read_bytes())
    data[-1] = 0x3F  # top nibble 0x3: not an EVT 2.0 type
    path.write_bytes(bytes(data))
    _raises_with_path(path, "unknown word type 0x3")


def test_corrupt_evt3_coordinates(tmp_path: Path) -> None:
    pytest.importorskip("evt3")
    events = random_events(50)
    path = write_raw(tmp_path / "c.raw", events, evt="3.0")
    data = bytearray(path.read_bytes())
    words = np.frombuffer(bytes(data[-200:]), "<u2").copy()
    words[words >> 12 == 0x2] |= 0x7FF  # every x = 2047
    data[-200:] = words.tobytes()
    path.write_bytes(bytes(data))
    _raises_with_path(path, "outside the 64x48 sensor")


def test_missing_evt3_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_raw(tmp_path / "e.raw", random_events(5), evt="3.0")
    monkeypatch.setitem(sys.modules, "evt3", None)
    with pytest.raises(MissingDependencyError, match=r"neurova-va\[io\]"):
        nio.read_events(path)
    assert nio.get_sensor_size(path) == SIZE  # from the header, nothing decoded


def test_raw_sensor_size_from_header(tmp_path: Path) -> None:
    events = random_events(20)
    path = tmp_path / "s.raw"
    cases = {
        ("evt 2.0", "geometry 640x480"): SensorSize(640, 480),
        ("format EVT2;height=720;width=1280",): SensorSize(1280, 720),
        ("evt 2.0", "plugin_name hal_plugin_gen41_evk3"): SensorSize(1280, 720),
        ("evt 2.0", "plugin_name hal_plugin_gen3_fx3"): SensorSize(640, 480),
        ("evt 2.0", "sensor_generation 4.1"): SensorSize(1280, 720),
    }
    for lines, size in cases.items():
        write_raw(path, events, lines=lines)
        assert nio.get_sensor_size(path) == size
        assert nio.read_recording(path).sensor_size == size
        header = nio.read_raw_header(path)
        assert header.evt_version == "2.0" and header.sensor_size == size
    write_raw(path, events, lines=("evt 2.0", "plugin_name unknown_camera"))
    inferred = SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    assert nio.get_sensor_size(path) == inferred
    assert nio.read_recording(path).sensor_size == inferred
    assert nio.read_recording(path, sensor_size=(100, 100)).sensor_size == SensorSize(100, 100)


def test_sensor_size_comes_from_header_without_decoding(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "g.raw", random_events(20))
    path.write_bytes(path.read_bytes() + np.array([0x5 << 28], "<u4").tobytes())  # a word of unknown type 0x5
    assert nio.get_sensor_size(path) == SIZE
    _raises_with_path(path, "unknown word type 0x5 at byte")


def test_evt2_decoder_details(tmp_path: Path) -> None:
    """CD words before the first EV_TIME_HIGH are dropped, triggers skipped, the 34-bit time unwrapped."""
    events = random_events(6)
    body = np.frombuffer(encode_evt2(events), "<u4")
    orphan = body[1]  # a CD word with no time high before it
    trigger = np.uint32((0xA << 28) | 1)
    wrap_high = np.uint32((0x8 << 28) | 5)  # time high goes from the top of its 28-bit range back to 5
    late_cd = np.uint32((0x1 << 28) | (3 << 22) | (7 << 11) | 9)
    top = np.uint32((0x8 << 28) | 0x0FFFFFFF)
    words = np.concatenate([[orphan], body, [trigger, top, wrap_high, late_cd]]).astype("<u4")
    path = tmp_path / "d.raw"
    path.write_bytes(header("evt 2.0", "geometry 64x48") + words.tobytes())
    decoded = nio.read_events(path)
    np.testing.assert_array_equal(decoded[:-1], events)
    assert decoded[-1]["t"] == ((1 << 28) + 5) << 6 | 3
    assert (decoded[-1]["x"], decoded[-1]["y"], decoded[-1]["p"]) == (7, 9, True)


def test_dat_reader(tmp_path: Path) -> None:
    events = random_events(100)
    path = write_dat(tmp_path / "a.dat", events)
    recording = nio.read_recording(path)
    np.testing.assert_array_equal(recording.events, events)
    assert recording.sensor_size == SIZE == nio.get_sensor_size(path)
    write_dat(path, events, size=None)
    inferred = SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    assert nio.get_sensor_size(path) == inferred == nio.read_recording(path).sensor_size


def test_dat_timestamp_wrap(tmp_path: Path) -> None:
    events = make_events([1, 2, 3], [1, 1, 1], [2**32 - 10, 2**32 - 1, 2**32 + 4], [1, 0, 1])
    path = write_dat(tmp_path / "w.dat", events)  # the writer keeps the low 32 bits, as a camera does
    np.testing.assert_array_equal(nio.read_events(path)["t"], events["t"])


def test_corrupt_dat(tmp_path: Path) -> None:
    path = write_dat(tmp_path / "c.dat", random_events(30))
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    _raises_with_path(path, "truncated .dat data")
    start = data.index(bytes([12, 8]))
    path.write_bytes(data[:start])
    _raises_with_path(path, "event type and size bytes")
    path.write_bytes(data[:start] + bytes([12, 16]) + data[start + 2 :])
    _raises_with_path(path, "unsupported .dat event type 12 of size 16")
    garbled = bytearray(data)
    garbled[start + 2 + 7] = 0x70  # polarity nibble 7 in the first event
    path.write_bytes(bytes(garbled))
    _raises_with_path(path, "polarity")


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_corrupt_numpy_files(tmp_path: Path, suffix: str) -> None:
    events = random_events(2_000)
    path = tmp_path / f"c{suffix}"
    if suffix == ".npz":
        nio.write_events(path, events, SIZE)
    else:
        np.save(path, events)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    _raises_with_path(path, "truncated or corrupt")
    np.save(tmp_path / "bad.npy", np.zeros((3, 3)))
    _raises_with_path(tmp_path / "bad.npy", r"\(N, 4\)")


def test_aedat4_wrong_magic(tmp_path: Path) -> None:
    pytest.importorskip("aedat")
    path = tmp_path / "n.aedat4"
    path.write_bytes(b"#!AER-DAT2.0\r\n" + bytes(100))
    _raises_with_path(path, "AEDAT4")
    with pytest.raises(EventFormatError, match="AEDAT4"):
        nio.get_sensor_size(path)


def test_binary_data_starting_with_percent_is_not_header(tmp_path: Path) -> None:
    events = make_events([5, 6], [0x25, 0x25], [100, 101], [1, 1])
    words = np.frombuffer(encode_evt2(events), "<u4")
    data = words[1:2].tobytes() + words.tobytes()  # an orphan CD word whose first byte (y = 0x25) is '%'
    head = header("evt 2.0", "geometry 64x48")
    path = tmp_path / "p.raw"
    path.write_bytes(head + data)
    assert data[0] == ord("%")
    assert nio.read_raw_header(path).data_offset == len(head)
    np.testing.assert_array_equal(nio.read_events(path), events)


def test_v2e_nan_frame_ts_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nan.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("events", data=np.array([[10, 1, 1, 1]], np.uint32))
        f.create_dataset("frame", data=np.zeros((1, 2, 2), np.uint8))
        f.create_dataset("frame_ts", data=np.array([np.nan]))
    _raises_with_path(path, "finite", reader=nio.read_recording)
