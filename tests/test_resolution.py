"""Resolution-consistent model input: face boxes in the event cache, the event-domain resize, acceptance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurova.datasets.cache import ClipRecord, EventCache
from neurova.events import SensorSize, make_events


def _record(clip_id: str, face_boxes: np.ndarray | None, n: int = 4) -> ClipRecord:
    events = make_events(x=[1, 2, 3], y=[1, 2, 3], t=[0, 10, 20], p=[1, 0, 1])
    return ClipRecord(
        clip_id=clip_id, subject="s", events=events, sensor_size=SensorSize(16, 16),
        frame_timestamps_us=np.arange(n, dtype=np.int64) * 40_000, va=np.zeros((n, 2), np.float32),
        labels=np.zeros(n, np.int64), frame_indices=np.arange(n, dtype=np.int64), face_boxes=face_boxes,
    )


def test_face_boxes_round_trip_through_the_cache(tmp_path: Path) -> None:
    cache = EventCache(tmp_path, "toy", {"v": 1})
    boxes = np.array([[1, 2, 8, 8], [1.5, 2, 8, 8], [2, 2, 9, 9], [2, 3, 9, 9]], dtype=np.float32)
    records = {"a": _record("a", boxes), "b": _record("b", None)}
    cache.build(records, lambda r: r, progress=False)
    metas = cache.read_meta(["a", "b"])
    np.testing.assert_array_equal(metas["a"].face_boxes, boxes)
    assert metas["a"].face_boxes.dtype == np.float32
    assert metas["b"].face_boxes is None


@pytest.mark.parametrize("bad", [np.zeros((3, 4)), np.array([[0, 0, 0, 4]] * 4), np.full((4, 4), np.nan)])
def test_bad_face_boxes_are_refused_naming_the_clip(tmp_path: Path, bad: np.ndarray) -> None:
    cache = EventCache(tmp_path, "toy", {"v": 1})
    with pytest.raises(ValueError, match="clip c: face_boxes"):
        cache.build({"c": _record("c", bad)}, lambda r: r, progress=False)
