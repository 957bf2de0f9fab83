"""neurova.cli.data: `neurova simulate` (events from frame folders), `neurova convert` (event files) and
`neurova encode` (TBR frames)."""

from __future__ import annotations

import numpy as np

from neurova.cli import main
from neurova.io import write_events
from tests.helpers.events import random_events


def test_encode_writes_tbr_frames(tmp_path):
    events = random_events(5000, (40, 30), t0=0, span_us=200_000)
    source = write_events(tmp_path / "rec.h5", events, (40, 30))
    assert main(["encode", str(source), "-o", str(tmp_path / "frames.npz"), "--n-bits", "4"]) == 0
    frames = np.load(tmp_path / "frames.npz")["frames"]
    assert frames.shape[1:] == (1, 30, 40) and frames.max() <= 1 and frames.max() > 0


def test_convert_writes_any_readable_event_file_as_h5(tmp_path, capsys):
    from neurova.events import SensorSize
    from neurova.io import read_recording
    from tests.helpers.events import write_aedat2

    events = random_events(3000, (346, 260), t0=0, span_us=200_000)
    source = write_aedat2(tmp_path / "v2e-dvs-events.aedat", events, SensorSize(346, 260))
    assert main(["convert", str(source), "-o", str(tmp_path / "rec.h5")]) == 0
    assert "wrote 3,000 events (346x260)" in capsys.readouterr().out
    converted = read_recording(tmp_path / "rec.h5")
    assert converted.sensor_size == (346, 260) and converted.attrs["converted_from"] == "v2e-dvs-events.aedat"
    np.testing.assert_array_equal(converted.events, events)
    assert main(["convert", str(source), "-o", str(tmp_path / "rec.npz"), "--sensor-size", "400x300"]) == 0
    assert read_recording(tmp_path / "rec.npz").sensor_size == (400, 300)


def test_simulate_writes_events_of_a_frame_folder(tmp_path):
    import torch
    from torchvision.io import write_png

    from neurova.io import read_recording

    (tmp_path / "clip").mkdir()
    for i in range(6):
        frame = torch.full((1, 24, 32), 30, dtype=torch.uint8)
        frame[0, 6:18, 4 + 3 * i : 12 + 3 * i] = 200  # a bright square moving right
        write_png(frame, str(tmp_path / "clip" / f"{i:05d}.png"))
    out = tmp_path / "clip.h5"
    assert main(["simulate", str(tmp_path / "clip"), "-o", str(out), "--fps", "25", "--quiet"]) == 0
    recording = read_recording(out)
    assert tuple(recording.sensor_size) == (32, 24)
    assert len(recording.events) > 0 and recording.events["p"].any() and (~recording.events["p"]).any()
    assert recording.events["t"].max() <= 5 * 40_000
