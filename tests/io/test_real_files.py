"""neurova.io on real third-party recordings in ``../shared/data/events`` (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurova.io as nio
from neurova.errors import EventFormatError
from neurova.events import EVENT_DTYPE, SensorSize
from tests.helpers.paths import SHARED_DATA

DATA = SHARED_DATA / "events"
EVT3 = DATA / "prophesee_evt3_sample.raw"
EVT3_REFERENCE = DATA / "prophesee_evt3_sample.reference.npy"
EVT2 = DATA / "prophesee_evt2_sample.raw"
AEDAT4 = DATA / "davis346_with_frames.aedat4"


def sample(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path.name} not available")
    return path


def test_evt3_sample_matches_reference() -> None:
    pytest.importorskip("evt3")
    recording = nio.read_recording(sample(EVT3))
    events = recording.events
    assert len(events) == 219_596
    assert recording.sensor_size == SensorSize(1280, 720) == nio.get_sensor_size(EVT3)
    assert recording.attrs["evt_version"] == "3.0"
    assert events.dtype == EVENT_DTYPE and np.all(np.diff(events["t"]) >= 0)
    reference = np.load(sample(EVT3_REFERENCE))
    # the reference's timestamps come from a decoder with known timestamp bugs: compare x, y, p only
    np.testing.assert_array_equal(events["x"], reference["x"])
    np.testing.assert_array_equal(events["y"], reference["y"])
    np.testing.assert_array_equal(events["p"], reference["p"].astype(bool))


@pytest.mark.parametrize("kwargs", [{"window_us": 1_000}, {"chunk_events": 50_000}])
def test_evt3_streaming_equals_whole(kwargs: dict[str, int]) -> None:
    pytest.importorskip("evt3")
    whole = nio.read_events(sample(EVT3))
    parts = list(nio.iter_events(EVT3, **kwargs))
    assert len(parts) > 1
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_evt3_streaming_across_small_decoder_batches() -> None:
    pytest.importorskip("evt3")
    from neurova.io.prophesee import iter_raw_events

    whole = nio.read_events(sample(EVT3))
    parts = list(iter_raw_events(EVT3, window_us=500, batch_bytes=4_096))
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    t0 = int(whole["t"][0])
    assert all(np.all((p["t"] - t0) // 500 == k) for k, p in enumerate(parts))


def test_evt2_sample_decodes() -> None:
    recording = nio.read_recording(sample(EVT2))
    events = recording.events
    assert recording.sensor_size == SensorSize(640, 480) == nio.get_sensor_size(EVT2)
    assert recording.attrs["evt_version"] == "2.0"
    assert len(events) == 539_481
    assert np.all(np.diff(events["t"]) >= 0)
    duration = int(events["t"][-1] - events["t"][0])
    assert 10_000 < duration < 10_000_000  # tens of ms of driving, not garbage
    assert events["x"].max() < 640 and events["y"].max() < 480
    assert 0.1 < events["p"].mean() < 0.9
    parts = list(nio.iter_events(EVT2, window_us=5_000))
    np.testing.assert_array_equal(np.concatenate(parts), events)


def test_aedat4_sample_events_and_frames() -> None:
    pytest.importorskip("aedat")
    recording = nio.read_recording(sample(AEDAT4))
    assert len(recording.events) == 117_667
    assert recording.sensor_size == SensorSize(346, 260) == nio.get_sensor_size(AEDAT4)
    assert recording.frames.shape == (3, 260, 346) and recording.frames.dtype == np.uint8
    stamps = recording.frame_timestamps_us
    assert stamps.dtype == np.int64 and np.all(np.diff(stamps) > 30_000) and np.all(np.diff(stamps) < 50_000)
    events = recording.events
    assert abs(int(stamps[0]) - int(events["t"][0])) < 1_000_000  # frames and events share one clock
    parts = list(nio.iter_events(AEDAT4, chunk_events=10_000))
    np.testing.assert_array_equal(np.concatenate(parts), events)


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_corrupt_aedat4(tmp_path: Path, damage: str) -> None:
    pytest.importorskip("aedat")
    data = bytearray(sample(AEDAT4).read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[5_000:9_000] = np.random.default_rng(0).integers(0, 256, 4_000, dtype=np.uint8).tobytes()
    path = tmp_path / "bad.aedat4"
    path.write_bytes(bytes(data))
    with pytest.raises(EventFormatError, match="AEDAT4") as info:
        nio.read_events(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["prophesee_evt3_sample.raw", "prophesee_evt2_sample.raw"])
def test_truncated_real_raw(tmp_path: Path, name: str) -> None:
    if "evt3" in name:
        pytest.importorskip("evt3")
    data = sample(DATA / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2 + 1])
    with pytest.raises(EventFormatError, match="truncated") as info:
        nio.read_events(path)
    assert str(path) in str(info.value)


def test_real_recording_round_trips_through_hdf5(tmp_path: Path) -> None:
    pytest.importorskip("aedat")
    recording = nio.read_recording(sample(AEDAT4))
    path = nio.write_events(
        tmp_path / "davis.h5",
        recording.events,
        recording.sensor_size,
        frames=recording.frames,
        frame_timestamps_us=recording.frame_timestamps_us,
    )
    again = nio.read_recording(path)
    np.testing.assert_array_equal(again.events, recording.events)
    np.testing.assert_array_equal(again.frames, recording.frames)
    np.testing.assert_array_equal(again.frame_timestamps_us, recording.frame_timestamps_us)


@pytest.mark.parametrize(("name", "streamed"), [(EVT2.name, True), (EVT3.name, True), (AEDAT4.name, False)])
def test_real_recordings_convert_to_h5(tmp_path: Path, name: str, streamed: bool) -> None:
    """Prophesee recordings are copied batch by batch; the DAVIS346 file, which holds APS frames, whole, frames kept."""
    source = sample(DATA / name)
    if source.suffix == ".raw" and name == EVT3.name:
        pytest.importorskip("evt3")
    if source.suffix == ".aedat4":
        pytest.importorskip("aedat")
    done = nio.convert_events(source, tmp_path / "out.h5")
    original, converted = nio.read_recording(source), nio.read_recording(done.path)
    assert done.streamed == streamed and done.n_events == len(original.events) > 0
    np.testing.assert_array_equal(converted.events, original.events)
    assert converted.sensor_size == original.sensor_size == done.sensor_size
    assert done.n_frames == (0 if original.frames is None else len(original.frames))
    if original.frames is not None:
        np.testing.assert_array_equal(converted.frames, original.frames)
    assert converted.attrs["converted_from"] == name
