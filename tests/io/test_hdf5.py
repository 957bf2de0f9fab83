"""neurova.io.hdf5: the neurova, v2e and Metavision layouts on disk, clips in groups, bounded streaming, damaged files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import neurova.io as nio
from neurova.errors import EventFormatError, MissingDependencyError
from neurova.events import SensorSize, slice_time
from neurova.io import hdf5
from tests.helpers.events import SIZE, raises_with_path, random_events, write_metavision_hdf5


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


def test_metavision_layout_reads_like_any_event_file(tmp_path: Path) -> None:
    """A Metavision SDK HDF5 event file: CD/events records, the size from the root 'geometry' attribute."""
    events = random_events(300)
    path = write_metavision_hdf5(tmp_path / "mv.hdf5", events)
    recording = nio.read_recording(path)
    np.testing.assert_array_equal(recording.events, events)
    assert recording.sensor_size == SIZE and recording.frames is None
    assert recording.attrs["camera_integrator_name"] == "Prophesee"
    assert nio.get_sensor_size(path) == SIZE
    windows = list(nio.iter_events(path, window_us=5_000))  # binary search on the t field
    np.testing.assert_array_equal(np.concatenate(windows), events)
    write_metavision_hdf5(path, events, size=None)  # no geometry: inferred from the events
    assert nio.read_recording(path).sensor_size == SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)


def test_metavision_layout_errors(tmp_path: Path) -> None:
    events = random_events(20)
    path = write_metavision_hdf5(tmp_path / "ecf.hdf5", events, ecf=True)
    with pytest.raises(MissingDependencyError, match=r"ECF codec .*hdf5_ecf plugin .*HDF5_PLUGIN_PATH") as caught:
        nio.read_events(path)
    assert str(path) in str(caught.value)
    with pytest.raises(MissingDependencyError, match="ECF"):
        list(nio.iter_events(path, window_us=1000))
    path = write_metavision_hdf5(tmp_path / "geometry.hdf5", events)
    with h5py.File(path, "r+") as f:
        f.attrs["geometry"] = "wide"
    raises_with_path(path, "geometry='wide' is not 'WIDTHxHEIGHT'")
    with h5py.File(path, "r+") as f:
        del f["CD/events"]
        f["CD"].create_dataset("events", data=np.zeros((3, 4), np.uint32))
    raises_with_path(path, "'CD/events' must be 1-D with fields x, y, p, t")


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


@pytest.mark.parametrize("layout", ["neurova", "v2e", "metavision"])
def test_a_whole_file_is_read_in_parts_into_one_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      layout: str) -> None:
    """Parts of 7 rows give what one read gives: the events in order, and a file out of order (across parts and
    within them, with equal times) sorted as one stable sort of all its rows would sort it."""
    monkeypatch.setattr(hdf5, "_BLOCK_ROWS", 7)
    events = random_events(100, t0=0, span_us=5_000)
    shuffled = events[np.random.default_rng(1).permutation(100)]
    shuffled["t"] //= 100  # many equal times, whose file order the stable sort keeps
    for name, rows in (("sorted", events), ("shuffled", shuffled)):
        path = tmp_path / f"{name}.h5"
        if layout == "metavision":
            write_metavision_hdf5(path, rows)
        elif name == "sorted":
            nio.write_events(path, rows, SIZE, layout=layout)
        else:  # neurova writes sorted files only: write the rows out of order by hand
            with h5py.File(path, "w") as f:
                if layout == "v2e":
                    f["events"] = np.stack([rows["t"], rows["x"], rows["y"], rows["p"]], axis=1).astype(np.int64)
                else:
                    f.attrs.update(format="neurova-events", version=1, width=SIZE.width, height=SIZE.height, time_unit="us")
                    for field in "xytp":
                        f[field] = rows[field].astype(hdf5._FIELDS[field])
        np.testing.assert_array_equal(nio.read_events(path), rows[np.argsort(rows["t"], kind="stable")])



def test_a_bad_part_of_a_whole_file_read_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts are decoded a part ahead in a worker thread: an event outside the sensor in a later part, and a part
    that cannot be decoded, still raise from the read, naming the file."""
    monkeypatch.setattr(hdf5, "_BLOCK_ROWS", 7)
    rows = random_events(40, t0=0, span_us=5_000)
    rows["x"][30] = SIZE.width  # in the fifth part
    path = tmp_path / "outside.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update(format="neurova-events", version=1, width=SIZE.width, height=SIZE.height, time_unit="us")
        for field in "xytp":
            f[field] = rows[field].astype(hdf5._FIELDS[field])
    with pytest.raises(EventFormatError, match="outside") as info:
        nio.read_events(path)
    assert str(path) in str(info.value)
    nio.write_events(path, random_events(40, t0=0, span_us=5_000), SIZE)
    calls = []
    columns = hdf5._read_columns

    def failing(datasets, start, stop):  # the worker's fourth decode fails
        calls.append(start)
        if len(calls) == 4:
            raise OSError("can't decompress the chunk")
        return columns(datasets, start, stop)

    monkeypatch.setattr(hdf5, "_read_columns", failing)
    with pytest.raises(EventFormatError, match="corrupt HDF5 data: can't decompress") as info:
        nio.read_events(path)
    assert str(path) in str(info.value) and len(calls) == 4

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
    raises_with_path(path, "HDF5")
    with pytest.raises(EventFormatError):
        list(nio.iter_events(path, window_us=1000))


def test_hdf5_missing_datasets(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3, np.int16))
        f.create_dataset("t", data=np.zeros(3, np.int64))
    raises_with_path(path, "missing dataset.*'y'.*'p'")
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=np.zeros((1, 2, 2), np.uint8))
    raises_with_path(path, "no event datasets.*'events' \\(v2e layout\\).*found: frames")
    with h5py.File(path, "w") as f:
        f.create_dataset("events", data=np.zeros((3, 3), np.uint32))
    raises_with_path(path, r"shape \(N, 4\)")


def test_v2e_nan_frame_ts_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nan.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("events", data=np.array([[10, 1, 1, 1]], np.uint32))
        f.create_dataset("frame", data=np.zeros((1, 2, 2), np.uint8))
        f.create_dataset("frame_ts", data=np.array([np.nan]))
    raises_with_path(path, "finite", reader=nio.read_recording)
