"""AEDAT 2.0 (jAER, v2e) and 3.1 (cAER) ``.aedat`` files, written word by word by tests/helpers/events.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import neurova.io as nio
from neurova.events import SensorSize
from tests.helpers.events import aedat3_packet, raises_with_path, random_events, write_aedat2, write_aedat3

DAVIS346, DAVIS240 = SensorSize(346, 260), SensorSize(240, 180)
REAL_AEDAT4 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "events" / "davis346_with_frames.aedat4"


def assert_same_events(read: np.ndarray, events: np.ndarray) -> None:
    for name in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(read[name], events[name], err_msg=name)


def test_v2e_aedat2_reads_back_as_simulated(tmp_path: Path) -> None:
    """v2e mirrors x and y into jAER's convention when it writes; reading turns them back (upper-left origin)."""
    events = random_events(5_000, DAVIS346, span_us=200_000)
    path = write_aedat2(tmp_path / "v2e-dvs-events.aedat", events, DAVIS346)
    recording = nio.read_recording(path)
    assert recording.sensor_size == DAVIS346 and recording.attrs["aedat_version"] == "2.0"
    assert_same_events(recording.events, events)
    assert nio.get_sensor_size(path) == DAVIS346
    assert_same_events(np.concatenate(list(nio.iter_events(path, window_us=40_000))), events)


def test_the_header_names_the_camera(tmp_path: Path) -> None:
    events = random_events(2_000, DAVIS240)
    path = write_aedat2(tmp_path / "jaer.aedat", events, DAVIS240, chip="eu.seebetter.ini.chips.davis.DAVIS240C")
    assert nio.get_sensor_size(path) == DAVIS240
    assert_same_events(nio.read_events(path), events)
    dvs128 = write_aedat2(tmp_path / "dvs128.aedat", events, DAVIS240, chip="ch.unizh.ini.jaer.chip.retina.DVS128")
    raises_with_path(dvs128, "DVS128 address layout is not supported")


def test_an_unnamed_small_sensor_is_a_davis346_with_a_warning_unless_given(tmp_path: Path) -> None:
    events = random_events(500, DAVIS240)
    path = write_aedat2(tmp_path / "small.aedat", events, DAVIS240)
    with pytest.warns(nio.AedatSensorWarning, match="sensor_size=\\(240, 180\\)"):
        assert nio.read_recording(path).sensor_size == DAVIS346
    assert_same_events(nio.read_events(path, sensor_size=(240, 180)), events)


def test_aps_imu_and_special_events_are_skipped_and_the_clock_unwrapped(tmp_path: Path) -> None:
    events = random_events(1_000, DAVIS346, t0=(1 << 32) - 30_000, span_us=60_000)  # across the 32-bit wrap
    extra = np.zeros(3, dtype=[("address", ">u4"), ("t", ">u4")])
    extra["address"] = [1 << 31, (1 << 31) | (5 << 22), 1 << 10]  # APS sample, IMU sample, special event
    extra["t"] = (int(events["t"][-1]) + 10) % (1 << 32)
    path = write_aedat2(tmp_path / "wrap.aedat", events, DAVIS346, chip="DAVIS346B", extra=extra)
    read = nio.read_events(path)
    assert_same_events(read, events)
    assert read["t"][-1] > 1 << 32


def test_bad_aedat_files_name_the_file_and_the_fault(tmp_path: Path) -> None:
    events = random_events(100, DAVIS346)
    path = write_aedat2(tmp_path / "cut.aedat", events, DAVIS346, chip="DAVIS346")
    path.write_bytes(path.read_bytes()[:-3])
    raises_with_path(path, "not a whole number of 8-byte words")
    (tmp_path / "old.aedat").write_bytes(b"#!AER-DAT1.0\r\n" + bytes(8))
    raises_with_path(tmp_path / "old.aedat", "AEDAT 1.0 is not supported")
    (tmp_path / "text.aedat").write_bytes(b"hello\n")
    raises_with_path(tmp_path / "text.aedat", "not an AEDAT file")
    far = write_aedat2(tmp_path / "far.aedat", random_events(10, (400, 300)), SensorSize(400, 300))
    raises_with_path(far, "pass sensor_size=")


def test_aedat3_polarity_packets_across_the_overflow(tmp_path: Path) -> None:
    events = random_events(3_000, DAVIS346, t0=(1 << 31) - 20_000, span_us=40_000)
    first, second = events[events["t"] < 1 << 31], events[events["t"] >= 1 << 31]
    invalid = aedat3_packet(1, first[:1])
    invalid = invalid[:28] + bytes([invalid[28] & 0xFE]) + invalid[29:]  # the validity bit cleared: dropped
    packets = [aedat3_packet(1, first), aedat3_packet(2, body=bytes(40), size=20),  # a frame packet: skipped
               invalid, aedat3_packet(1, second, overflow=1)]
    path = write_aedat3(tmp_path / "caer.aedat", packets)
    recording = nio.read_recording(path)
    assert recording.sensor_size == DAVIS346 and recording.attrs["aedat_version"] == "3.1"
    assert_same_events(recording.events, events)
    assert_same_events(np.concatenate(list(nio.iter_events(path, chunk_events=700))), events)
    unnamed = write_aedat3(tmp_path / "unnamed.aedat", packets, source=None)
    assert nio.get_sensor_size(unnamed) == SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    cut = write_aedat3(tmp_path / "cut.aedat", [aedat3_packet(1, first)[:-5]])
    raises_with_path(cut, "corrupt or truncated AEDAT 3.1 packet at byte")


@pytest.mark.skipif(not REAL_AEDAT4.is_file(), reason="../shared/data is absent")
def test_an_aedat4_file_named_aedat_is_read_as_aedat4(tmp_path: Path) -> None:
    pytest.importorskip("aedat")
    path = shutil.copy(REAL_AEDAT4, tmp_path / "davis.aedat")
    assert_same_events(nio.read_events(path), nio.read_events(REAL_AEDAT4))
    assert nio.get_sensor_size(path) == DAVIS346
