"""benchmarks/bench_face_detector.py's parts: box IoU per window against the true box of the window's end."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from neurova.faces import FaceDetection
from neurova.simulator import simulate
from tests.helpers.benchmarks import load_benchmark
from tests.helpers.scenes import moving_square

bench = load_benchmark("bench_face_detector")


class LastFrameBox:
    """Answers ``[k, 0, 10, 10]`` for the frame ``k`` whose interval holds the window's last event (no face when
    told)."""

    def __init__(self, stamps: np.ndarray, found: bool = True) -> None:
        self.stamps, self.found = stamps, found

    def detect(self, events: np.ndarray, sensor_size: tuple[int, int]) -> FaceDetection:
        frame = int(np.searchsorted(self.stamps, events["t"][-1]))
        return FaceDetection(box=np.array([frame, 0.0, 10.0, 10.0]), score=1.0, found=self.found, source="test")


def test_box_ious_compare_with_the_frame_at_each_window_end() -> None:
    frames, stamps = moving_square((40, 30), n_frames=20)
    events = simulate(frames, stamps, preset="clean")
    boxes = np.array([[k, 0, 10, 10] for k in range(len(stamps))], dtype=float)  # what LastFrameBox answers there
    meta = SimpleNamespace(face_boxes=boxes, frame_timestamps_us=stamps)
    dataset = SimpleNamespace(clips={"clip": meta}, clip_events=lambda clip_id: events, sensor_size=(40, 30))
    ends = (int(stamps[5]) + 1, int(stamps[12]) + 1)  # windows ending just after frames 5 and 12
    ious = bench.box_ious(LastFrameBox(stamps), dataset, 200_000, ends)
    np.testing.assert_allclose(ious, 1.0)
    shifted = bench.box_ious(LastFrameBox(stamps - 40_000), dataset, 200_000, ends)  # a frame late: overlap 9/11
    np.testing.assert_allclose(shifted, 9 / 11)
    np.testing.assert_array_equal(bench.box_ious(LastFrameBox(stamps, found=False), dataset, 200_000, ends), 0.0)
