"""Text event files (``.txt``, ``.csv``) in the layouts in use: RPG, v2e's ``--dvs_text``, rpg_e2vid, CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurova.io as nio
from neurova.events import SensorSize
from neurova.io import text
from tests.helpers.events import SIZE, raises_with_path, random_events


def lines(events: np.ndarray, order: str = "txyp", seconds: bool = True, sep: str = " ", signed: bool = False) -> str:
    """One line per event, columns in ``order``; times in seconds with 9 decimals (RPG) or integer µs."""
    columns = {"t": [f"{t / 1e6:.9f}" if seconds else str(t) for t in events["t"].tolist()],
               "x": events["x"].astype(str).tolist(), "y": events["y"].astype(str).tolist(),
               "p": (np.where(events["p"], 1, -1) if signed else events["p"].astype(int)).astype(str).tolist()}
    return "".join(sep.join(row) + "\n" for row in zip(*(columns[c] for c in order), strict=True))


def assert_same_events(read: np.ndarray, events: np.ndarray) -> None:
    for name in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(read[name], events[name], err_msg=name)


@pytest.fixture
def events() -> np.ndarray:
    return random_events(2_000, SIZE, t0=1_468_939_993_000_000)  # an RPG recording's clock: seconds since 1970


def test_rpg_events_txt_seconds(tmp_path: Path, events: np.ndarray) -> None:
    path = tmp_path / "events.txt"
    path.write_text(lines(events))
    recording = nio.read_recording(path)
    assert_same_events(recording.events, events)
    assert recording.sensor_size == SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    assert nio.read_recording(path, sensor_size=(346, 260)).sensor_size == SensorSize(346, 260)


def test_v2e_text_with_comments_and_e2vid_sensor_line(tmp_path: Path, events: np.ndarray) -> None:
    v2e = tmp_path / "v2e-dvs-events.txt"
    v2e.write_text("#!events.txt\n# This is a text DVS created by v2e\n# Format is time (float s), x, y, polarity\n"
                   + lines(events))
    assert_same_events(nio.read_events(v2e), events)
    e2vid = tmp_path / "e2vid.txt"
    e2vid.write_text(f"{SIZE.width} {SIZE.height}\n" + lines(events, signed=True))
    assert nio.get_sensor_size(e2vid) == SIZE
    assert_same_events(nio.read_events(e2vid), events)


def test_csv_with_named_columns_in_any_order_and_integer_microseconds(tmp_path: Path, events: np.ndarray) -> None:
    path = tmp_path / "prophesee.csv"
    path.write_text("x,y,p,t\n" + lines(events, "xypt", seconds=False, sep=","))
    assert_same_events(nio.read_events(path), events)
    path.write_text("timestamp,x,y,polarity\n" + lines(events, seconds=False, sep=","))
    assert_same_events(nio.read_events(path), events)


def test_streaming_reads_blocks_of_lines(tmp_path: Path, events: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_BLOCK_LINES", 300)
    path = tmp_path / "events.txt"
    path.write_text(lines(events))
    windows = list(nio.iter_events(path, window_us=5_000))
    assert len(windows) == 10
    assert_same_events(np.concatenate(windows), events)


def test_bad_text_files_name_the_file_and_the_line(tmp_path: Path, events: np.ndarray) -> None:
    path = tmp_path / "short.txt"
    path.write_text(lines(events[:3]) + "0.5 1 2\n")
    raises_with_path(path, "in lines 1-4")
    path.write_text("0.1 1 2\n")
    raises_with_path(path, "line 1 has 3 values, expected 4")
    path.write_text("# only comments\n\n")
    raises_with_path(path, "holds no event lines")
    path.write_text(lines(events[:3]).replace(" 1\n", " 5\n").replace(" 0\n", " 5\n"))
    raises_with_path(path, "polarity must be")
    path.write_text("x,y,p\n1,2,1\n")
    raises_with_path(path, "no time column")
    path.write_text("t x y p\n0.1 1 2 on\n")
    raises_with_path(path, "line 2 is neither an event")
