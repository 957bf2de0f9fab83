"""neurova.io's dispatch on the suffix: every format round-trips, streams and fails the same way.

The Prophesee fixtures are written by the numpy encoders of :mod:`tests.helpers.events` (EVT 2.0, EVT 3.0 and
.dat), so the readers are tested without any third-party sample.
"""

from __future__ import annotations

import dataclasses
import functools
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurova.io as nio
from neurova.errors import EventFormatError, EventOrderError
from neurova.events import EVENT_DTYPE, SensorSize, make_events, slice_time
from neurova.io import hdf5, npz, prophesee
from tests.helpers.events import SIZE, raises_with_path, random_events, write_dat, write_metavision_hdf5, write_raw

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
    if kind == "metavision":
        return write_metavision_hdf5(tmp_path / "e.hdf5", events)
    return write_raw(tmp_path / f"{kind}.raw", events, evt={"evt2": "2.0", "evt21": "2.1", "evt3": "3.0"}[kind])


KINDS = ["h5", "v2e", "metavision", "npz", "npy", "dat", "evt2", "evt21", "evt3"]


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


# --------------------------------------------------------------------------------- one window, the span


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch", [None, 7])
def test_read_window_and_time_span(tmp_path: Path, kind: str, batch: int | None, monkeypatch: pytest.MonkeyPatch):
    """Every format, read in one batch or (formats read from the start) in batches of 7 events across the window."""
    from neurova.io import _common

    if kind == "evt3":
        pytest.importorskip("evt3")
    if batch is not None:
        monkeypatch.setattr(_common, "DEFAULT_CHUNK_EVENTS", batch)
    events = _gappy_events()
    path = _fixture_file(tmp_path, kind, events)
    t0, t1 = int(events["t"][0]), int(events["t"][-1])
    assert nio.get_time_span(path) == (t0, t1)
    spans = ((0, 10**9), (t0, t0 + 1), (t0 + 5_000, 40_000), (40_000, 90_000), (t1, t1 + 1), (t1 + 1, 10**9),
             (50_000, 50_000))
    for start, end in spans:
        np.testing.assert_array_equal(nio.read_window(path, start, end), slice_time(events, start, end))
    together = nio.read_windows(path, spans[::-1])  # in one pass, in the order given (not sorted)
    for (start, end), window in zip(spans[::-1], together, strict=True):
        np.testing.assert_array_equal(window, slice_time(events, start, end))
    assert nio.read_windows(path, []) == []
    with pytest.raises(ValueError, match="end at or after its start"):
        nio.read_windows(path, [(10, 5)])


def test_read_windows_decodes_a_file_once_up_to_its_last_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from neurova.io import _common, _registry

    monkeypatch.setattr(_common, "DEFAULT_CHUNK_EVENTS", 100)
    events = random_events(2000, t0=0, span_us=1_000_000)
    path = _fixture_file(tmp_path, "dat", events)
    batches = []
    reader = _registry._READERS[".dat"]

    def counted(*args, **kwargs):
        for batch in reader.iterate(*args, **kwargs):
            batches.append(len(batch))
            yield batch

    monkeypatch.setitem(_registry._READERS, ".dat", dataclasses.replace(reader, iterate=counted))
    spans = [(400_000, 450_000), (100_000, 120_000), (300_000, 500_000)]
    for (start, end), window in zip(spans, nio.read_windows(path, spans), strict=True):
        np.testing.assert_array_equal(window, slice_time(events, start, end))
    assert sum(batches) < len(events) and len(batches) == int(np.searchsorted(events["t"], 500_000)) // 100 + 1


def test_read_window_reads_only_the_window_of_an_h5_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = random_events(200_000, t0=0, span_us=10_000_000)
    path = nio.write_events(tmp_path / "long.h5", events, SIZE)
    read = []
    original = hdf5._Source.columns
    monkeypatch.setattr(hdf5._Source, "columns", lambda self, i, j: read.append(j - i) or original(self, i, j))
    window = nio.read_window(path, 5_000_000, 5_010_000)
    np.testing.assert_array_equal(window, slice_time(events, 5_000_000, 5_010_000))
    assert read == [len(window)]  # the window's rows, found by binary search
    empty = nio.write_events(tmp_path / "empty.h5", events[:0], SIZE)
    assert nio.get_time_span(empty) is None and len(nio.read_window(empty, 0, 10)) == 0


# ------------------------------------------------------------------------------ batches and conversion

STREAMED_KINDS = {"npy", "dat", "evt2", "evt21", "evt3"}  # formats without frames: copied batch by batch


def test_write_events_takes_batches_that_follow_each_other_in_time(tmp_path: Path) -> None:
    events = random_events(1000)
    for suffix in (".h5", ".npz"):
        target = nio.write_events(tmp_path / f"b{suffix}", iter([*np.array_split(events, 7), events[:0]]), SIZE)
        np.testing.assert_array_equal(nio.read_events(target), events)
        assert nio.get_sensor_size(target) == SIZE
    old = nio.read_events(tmp_path / "b.h5")
    for suffix in (".h5", ".npz"):
        backwards = iter([events[500:], events[:500]])
        with pytest.raises(EventOrderError, match="not time-ordered across batches") as info:
            nio.write_events(tmp_path / f"b{suffix}", backwards, SIZE)
        assert str(tmp_path / f"b{suffix}") in str(info.value)
    np.testing.assert_array_equal(nio.read_events(tmp_path / "b.h5"), old)  # the old file is kept whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.h5", "b.npz"]  # no temporary left behind
    with pytest.raises(ValueError, match="'neurova' layout only"):
        nio.write_events(tmp_path / "v.h5", iter([events]), SIZE, layout="v2e")
    with pytest.raises(EventFormatError, match="outside"):
        nio.write_events(tmp_path / "small.h5", iter([events]), (4, 4))


@pytest.mark.parametrize(("suffix", "layout"), [(".h5", "neurova"), (".hdf5", "v2e"), (".npz", "neurova")])
def test_write_events_without_a_sensor_size_stores_the_smallest_holding_the_events(
    tmp_path: Path, suffix: str, layout: str
) -> None:
    events = random_events(500)
    events = events[(events["x"] < 40) & (events["y"] < 30)]
    extent = (int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    given = [events] + ([iter([events[:0], *np.array_split(events, 5)])] if layout == "neurova" else [])
    for each in given:
        target = nio.write_events(tmp_path / f"a{suffix}", each, layout=layout)
        assert nio.get_sensor_size(target) == extent
        np.testing.assert_array_equal(nio.read_events(target), events)
    nothing = [events[:0]] + ([iter([events[:0]]), iter([])] if layout == "neurova" else [])
    for each in nothing:
        with pytest.raises(EventFormatError, match="no sensor size was given and there are no events") as info:
            nio.write_events(tmp_path / f"b{suffix}", each, layout=layout)
        assert str(tmp_path / f"b{suffix}") in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == [f"a{suffix}"]  # nothing half-written


def _text_file(path: Path, events: np.ndarray) -> Path:
    """An RPG-style ``t x y p`` text file (µs), which states no sensor size."""
    path.write_text("".join(f"{t} {x} {y} {int(p)}\n" for t, x, y, p in events[["t", "x", "y", "p"]].tolist()))
    return path


@pytest.mark.parametrize("kind", ["npy", "txt"])
def test_convert_events_decodes_a_file_without_a_stated_size_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The sensor of a file that states none is learnt while copying, not by a scan before it."""
    from neurova.io import _registry

    events = random_events(300)
    source = _text_file(tmp_path / "e.txt", events) if kind == "txt" else _fixture_file(tmp_path, kind, events)
    expected = nio.get_sensor_size(source)
    reader = _registry._READERS[source.suffix]
    decoded: list[str] = []

    def iterate(*args, **kwargs):
        decoded.append("iterate")
        return reader.iterate(*args, **kwargs)

    def scan(path):
        decoded.append("scan")
        return reader.sensor_size(path)

    monkeypatch.setitem(_registry._READERS, source.suffix, dataclasses.replace(reader, iterate=iterate, sensor_size=scan))
    for target in (tmp_path / "out.h5", tmp_path / "out.npz"):
        decoded.clear()
        done = nio.convert_events(source, target)
        assert decoded == ["iterate"] and done.streamed
        assert done.sensor_size == expected == nio.get_sensor_size(target)
        np.testing.assert_array_equal(nio.read_events(target), events)
    empty = tmp_path / f"empty{source.suffix}"
    if kind == "txt":
        empty.write_text("# t x y p\n")
    else:
        np.save(empty, events[:0])
    with pytest.raises(EventFormatError, match="holds no event lines" if kind == "txt" else "states no sensor size") as info:
        nio.convert_events(empty, tmp_path / "nothing.h5")
    assert str(empty) in str(info.value)  # the source is named, not the target
    assert not (tmp_path / "nothing.h5").exists()


@pytest.mark.parametrize("kind", ["aedat2", "aedat3", "aedat3 without camera", "txt with size line"])
def test_convert_events_copies_the_legacy_and_text_formats(tmp_path: Path, kind: str) -> None:
    """AEDAT 2.0 and 3.1 and text files convert batch by batch to the events and sensor ``read_recording`` gives."""
    from tests.helpers.events import aedat3_packet, write_aedat2, write_aedat3

    events = random_events(300, (200, 150))
    if kind == "aedat2":
        source = write_aedat2(tmp_path / "e.aedat", events, SensorSize(346, 260))
    elif kind.startswith("aedat3"):
        source = write_aedat3(tmp_path / "e.aedat", [aedat3_packet(1, events)],
                              source=None if "without" in kind else "DAVIS346B")
    else:
        source = _text_file(tmp_path / "e.txt", events)
        source.write_text("320 240\n" + source.read_text())
    expected = nio.read_recording(source)
    done = nio.convert_events(source, tmp_path / "out.h5")
    converted = nio.read_recording(done.path)
    assert done.streamed and done.n_events == len(events) and done.sensor_size == expected.sensor_size
    assert converted.sensor_size == expected.sensor_size
    np.testing.assert_array_equal(converted.events, expected.events)


@pytest.mark.parametrize("kind", KINDS)
def test_convert_events_copies_every_format(tmp_path: Path, kind: str) -> None:
    if kind == "evt3":
        pytest.importorskip("evt3")
    events = _gappy_events()
    source = _fixture_file(tmp_path, kind, events)
    for target in (tmp_path / "out.h5", tmp_path / "out.npz"):
        done = nio.convert_events(source, target)
        assert done.streamed == (kind in STREAMED_KINDS) and done.n_events == len(events) and done.n_frames == 0
        converted = nio.read_recording(target)
        np.testing.assert_array_equal(converted.events, events)
        assert converted.sensor_size == done.sensor_size == nio.read_recording(source).sensor_size
        assert converted.attrs["converted_from"] == source.name
        if kind.startswith("evt"):
            assert converted.attrs["evt_version"] == {"evt2": "2.0", "evt21": "2.1", "evt3": "3.0"}[kind]
    bigger = nio.convert_events(source, tmp_path / "big.h5", sensor_size=(500, 400))
    assert nio.get_sensor_size(bigger.path) == (500, 400) == bigger.sensor_size
    with pytest.raises(EventFormatError, match="outside"):
        nio.convert_events(source, tmp_path / "small.h5", sensor_size=(4, 4))
    assert not (tmp_path / "small.h5").exists()


def test_convert_events_keeps_frames(tmp_path: Path) -> None:
    events = random_events(300)
    frames = np.random.default_rng(0).integers(0, 255, (3, SIZE.height, SIZE.width), dtype=np.uint8)
    source = nio.write_events(tmp_path / "s.h5", events, SIZE, frames=frames, frame_timestamps_us=np.arange(3) * 1000)
    done = nio.convert_events(source, tmp_path / "t.npz")
    assert not done.streamed and done.n_frames == 3
    np.testing.assert_array_equal(nio.read_recording(done.path).frames, frames)


def test_convert_events_reads_whole_a_file_that_goes_back_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from neurova.io import _registry

    events = random_events(40)
    source = write_dat(tmp_path / "back.dat", np.concatenate([events[20:], events[:20]]))
    small_batches = functools.partial(prophesee.iter_dat_events, batch_bytes=80)
    monkeypatch.setitem(_registry._READERS, ".dat", dataclasses.replace(_registry._READERS[".dat"],
                                                                        iterate=small_batches))
    done = nio.convert_events(source, tmp_path / "sorted.h5")
    assert not done.streamed and done.n_events == 40
    np.testing.assert_array_equal(nio.read_events(done.path), events)  # sorted, as read_events sorts


def test_convert_events_memory_does_not_grow_with_the_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A recording converts batch by batch: three times the events take about the same peak memory (batches of
    65 536 events here, 1 048 576 by default)."""
    from neurova.io import _common

    monkeypatch.setattr(npz, "_BATCH_EVENTS", 1 << 16)
    monkeypatch.setattr(_common, "DEFAULT_CHUNK_EVENTS", 1 << 16)
    peaks = []
    for n in (400_000, 1_200_000):
        source = tmp_path / f"e{n}.npy"
        np.save(source, random_events(n, (640, 480), t0=0, span_us=10_000_000))
        tracemalloc.start()
        try:
            done = nio.convert_events(source, tmp_path / f"e{n}.h5")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert done.streamed and done.n_events == n
    assert peaks[1] < 1.25 * peaks[0], peaks
    assert peaks[1] < 0.25 * 1_200_000 * EVENT_DTYPE.itemsize, peaks  # far less than the events themselves


# -------------------------------------------------------------------------------- malformed inputs


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.raw"):
        nio.read_events(tmp_path / "missing.raw")
    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        nio.get_sensor_size(tmp_path / "missing.h5")
    (tmp_path / "x.evt").write_text("t,x,y,p\n")
    err = raises_with_path(tmp_path / "x.evt", "unknown event file suffix '.evt'")
    for suffix in nio.supported_suffixes():
        assert suffix in str(err)
    assert set(nio.supported_suffixes()) == {".h5", ".hdf5", ".raw", ".dat", ".aedat4", ".aedat", ".npz", ".npy", ".txt", ".csv"}
    assert nio.supported_suffixes(window=True) == (".h5", ".hdf5")  # read_window reads these without decoding


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".raw", ".dat", ".aedat4", ".aedat", ".npz", ".npy", ".txt", ".csv"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    raises_with_path(path, "empty")


