"""neurova.io.prophesee: EVT 2.0 / 3.0 .raw and CD .dat files written by tests.helpers.events, and damaged ones."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import neurova.io as nio
from neurova.errors import MissingDependencyError
from neurova.events import SensorSize, make_events
from neurova.io.prophesee import iter_raw_events
from tests.helpers.events import (
    SIZE,
    encode_evt2,
    encode_evt21,
    header,
    raises_with_path,
    random_events,
    write_dat,
    write_raw,
)


def test_raw_header_errors(tmp_path: Path) -> None:
    events = random_events(10)
    path = tmp_path / "h.raw"
    path.write_bytes(encode_evt2(events))
    raises_with_path(path, "does not start with a '%' text header")
    write_raw(path, events, lines=("date today", "geometry 64x48"))
    raises_with_path(path, "names no event encoding")
    write_raw(path, events, lines=("format EVT4;height=48;width=64",))
    raises_with_path(path, "EVT evt4 encoding is not supported")
    path.write_bytes(b"% evt 2.0\n% geometry 64x4")
    raises_with_path(path, "not terminated")


@pytest.mark.parametrize("evt", ["2.0", "2.1", "3.0"])
def test_truncated_raw(tmp_path: Path, evt: str) -> None:
    path = write_raw(tmp_path / "t.raw", random_events(50), evt=evt)
    path.write_bytes(path.read_bytes()[:-1])
    raises_with_path(path, f"truncated EVT {evt} data")


def test_corrupt_evt2_word_type(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "c.raw", random_events(50))
    data = bytearray(path.read_bytes())
    data[-1] = 0x3F  # top nibble 0x3: not an EVT 2.0 type
    path.write_bytes(bytes(data))
    raises_with_path(path, "unknown word type 0x3")


def test_corrupt_evt3_coordinates(tmp_path: Path) -> None:
    pytest.importorskip("evt3")
    events = random_events(50)
    path = write_raw(tmp_path / "c.raw", events, evt="3.0")
    data = bytearray(path.read_bytes())
    words = np.frombuffer(bytes(data[-200:]), "<u2").copy()
    words[words >> 12 == 0x2] |= 0x7FF  # every x = 2047
    data[-200:] = words.tobytes()
    path.write_bytes(bytes(data))
    raises_with_path(path, "outside the 64x48 sensor")


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
    raises_with_path(path, "unknown word type 0x5 at byte")


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


def _clustered_events(n: int, seed: int = 0) -> np.ndarray:
    """Events as a sensor emits them: bursts of neighbouring pixels of one row at one µs, so EVT 2.1 vectorises."""
    rng = np.random.default_rng(seed)
    bursts = [(t, int(rng.integers(0, SIZE.height)), bool(rng.integers(0, 2)),
               np.unique(rng.integers(0, SIZE.width, int(rng.integers(1, 12)))))
              for t in np.sort(rng.integers(1_000, 9_000_000, n))]  # fmt: skip
    return make_events(np.concatenate([b[3] for b in bursts]), np.concatenate([np.full(len(b[3]), b[1]) for b in bursts]),
                       np.concatenate([np.full(len(b[3]), b[0]) for b in bursts]),
                       np.concatenate([np.full(len(b[3]), b[2]) for b in bursts]))  # fmt: skip


@pytest.mark.parametrize("endianness", ["legacy", "little"])
@pytest.mark.parametrize("stated", [True, False], ids=["stated", "detected"])
def test_evt21_reads_both_word_layouts(tmp_path: Path, endianness: str, stated: bool) -> None:
    """IMX636 ("legacy": each word's head half first) and GenX320 ("little") layouts, from the header or the data."""
    events = _clustered_events(300)
    lines = ("format EVT21;height=48;width=64" + (f";endianness={endianness}" if stated else ""),)
    path = tmp_path / "v.raw"
    path.write_bytes(header(*lines, "end") + encode_evt21(events, endianness))  # type: ignore[arg-type]
    assert len(path.read_bytes()) < len(header(*lines, "end")) + 8 * len(events)  # vectorised: fewer words than events
    np.testing.assert_array_equal(nio.read_events(path), events)
    recording = nio.read_recording(path)
    assert recording.sensor_size == SIZE and recording.attrs["evt_version"] == "2.1"
    assert nio.read_raw_header(path).endianness == (endianness if stated else None)
    chunks = list(nio.iter_events(path, chunk_events=97))
    np.testing.assert_array_equal(np.concatenate(chunks), events)
    decoded_in_batches = iter_raw_events(path, chunk_events=50, batch_bytes=40)  # 5 words at a time
    np.testing.assert_array_equal(np.concatenate(list(decoded_in_batches)), events)


def test_evt21_decoder_details(tmp_path: Path) -> None:
    """A CD word's mask bit k is an event at x + k (ascending k); words before the first time word are dropped;
    triggers and OTHERS are skipped; the header's endianness line is read; errors give 8-byte word offsets."""
    def word(head: int, mask: int = 0) -> list[int]:
        return [head, mask]  # the legacy layout: head half first

    orphan = word((1 << 28) | (5 << 11) | 3, 0b1)
    high = word((0x8 << 28) | 7)
    cd = word((1 << 28) | (3 << 22) | (32 << 11) | 9, 0b101 | (1 << 31))
    off = word((0 << 28) | (4 << 22) | (0 << 11) | 2, 0b1)
    trigger, others = word((0xA << 28) | 1), word((0xE << 28) | 1, 0xFFFFFFFF)
    body = np.array([orphan, high, cd, trigger, others, off], dtype="<u4").tobytes()
    path = tmp_path / "d.raw"
    path.write_bytes(header("evt 2.1", "endianness legacy", "geometry 64x48", "end") + body)
    decoded = nio.read_events(path)
    t = (7 << 6) | 3
    assert decoded[["x", "y", "t", "p"]].tolist() == [(32, 9, t, True), (34, 9, t, True), (63, 9, t, True),
                                                       (0, 2, (7 << 6) | 4, False)]  # fmt: skip
    data_offset = len(header("evt 2.1", "endianness legacy", "geometry 64x48", "end"))
    bad = bytearray(path.read_bytes())
    bad[data_offset + 8 * 3 + 3] = 0x30  # the trigger's head: type 0x3
    path.write_bytes(bytes(bad))
    raises_with_path(path, f"corrupt EVT 2.1 data: unknown word type 0x3 at byte {data_offset + 24}")
    path.write_bytes(header("format EVT21;height=48;width=64;endianness=big", "end") + body)
    raises_with_path(path, "EVT 2.1 with endianness 'big' is not supported", nio.read_raw_header)


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
    raises_with_path(path, "truncated .dat data")
    start = data.index(bytes([12, 8]))
    path.write_bytes(data[:start])
    raises_with_path(path, "event type and size bytes")
    path.write_bytes(data[:start] + bytes([12, 16]) + data[start + 2 :])
    raises_with_path(path, "unsupported .dat event type 12 of size 16")
    garbled = bytearray(data)
    garbled[start + 2 + 7] = 0x70  # polarity nibble 7 in the first event
    path.write_bytes(bytes(garbled))
    raises_with_path(path, "polarity")


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
