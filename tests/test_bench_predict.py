"""benchmarks/bench_predict.py's live mode: the recording streamed at a camera's pace, once per detection lag."""

from __future__ import annotations

import re

from neurova.events import SensorSize
from neurova.models import from_pretrained
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_predict")


def test_live_reports_each_lag_with_the_slowest_prediction_after_the_first(tmp_path, capsys) -> None:
    sensor = SensorSize(160, 120)
    path = tmp_path / "recording.h5"
    n_events, boxes = bench.make_recording(path, 0.6, sensor, "clean")
    assert n_events > 0 and len(boxes) == 15
    bench.live(from_pretrained("tiny_cnn_fusion.synthetic_faces"), path, sensor, [0.0, 80.0], every_ms=120.0)
    lines = capsys.readouterr().out.splitlines()
    assert [re.search(r"detect_lag (\d+) ms", line).group(1) for line in lines] == ["0", "80"]
    for line in lines:
        predictions = int(re.search(r"(\d+) predictions", line).group(1))
        assert 8 <= predictions <= 11  # 0.6 s: the first after 160 ms, then every 40 ms
        assert re.search(r"slowest after it [\d.]+ ms", line) and "detect_every 120 ms" in line
        moved = re.search(r"the (\d+) where the box moved: median ([\d.na]+) ms, max ([\d.na]+) ms", line)
        assert moved and (moved.group(2) == "nan") == (moved.group(1) == "0")
