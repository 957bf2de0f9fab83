"""benchmarks/bench_box_sensor.py's parts: boxes held as predict's face track holds them."""

from __future__ import annotations

import numpy as np

from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_box_sensor")


def test_boxes_are_held_between_detections() -> None:
    ends = np.arange(30, dtype=np.int64) * 40_000
    boxes = np.stack([np.arange(30) + 0.4, np.zeros(30), np.full(30, 70.0), np.full(30, 70.0)], axis=1)
    held = bench.held_boxes(boxes, ends, every_us=500_000)
    # detections at 0, 520 and 1040 ms (the first end at least 500 ms after the previous detection)
    assert held.dtype == np.int64 and held.shape == (30, 4)
    np.testing.assert_array_equal(np.unique(held[:, 0]), [0, 13, 26])
    assert (held[:13, 0] == 0).all() and (held[13:26, 0] == 13).all() and (held[26:, 0] == 26).all()
    assert (held[:, 2:] == 70).all()
