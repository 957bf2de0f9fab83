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


def test_dataset_samples_are_the_inference_operator_on_the_last_face_box(tmp_path: Path) -> None:
    from neurova.contract import InputContract
    from neurova.datasets.cache import EventCacheDataset
    from neurova.events import slice_time
    from neurova.transforms import ToModelInput

    rng = np.random.default_rng(0)
    n, frames = 40_000, 6
    events = make_events(rng.integers(0, 96, n), rng.integers(0, 80, n), np.sort(rng.integers(0, 240_000, n)),
                         rng.random(n) < 0.5)
    record = _record("a", None, n=frames)
    record.events, record.sensor_size = events, SensorSize(96, 80)
    record.face_boxes = np.array([[10, 5, 40, 40]] * 5 + [[30.4, 20.6, 48, 48]], dtype=np.float32)
    plain = _record("b", None, n=frames)
    plain.events, plain.sensor_size = events, SensorSize(96, 80)
    cache = EventCache(tmp_path, "toy", {"v": 2})
    cache.build({"a": record, "b": plain}, lambda r: r, progress=False)
    contract = InputContract(n_bits=4, bin_us=10_000, image_size=16, clip_length=2, face_crop=None)
    dataset = EventCacheDataset(cache, ["a", "b"], contract)
    samples = {(s["meta"]["clip_id"], int(s["meta"]["timestamps_us"][-1])): s for s in dataset}
    assert len(samples) == 2 * 4  # frames 2..5 end a sample: the first window starts at the clip's first frame
    t_end = 200_000
    window = slice_time(events, t_end - 80_000, t_end)
    expected = ToModelInput(contract, (30, 21, 48, 48))(window, t_end)  # the last frame's box, rounded
    np.testing.assert_array_equal(samples[("a", t_end)]["frames"].numpy(), expected)
    whole = ToModelInput(contract, (0, 0, 96, 80))(window, t_end)
    np.testing.assert_array_equal(samples[("b", t_end)]["frames"].numpy(), whole)
    assert samples[("a", t_end)]["frames"].shape == (2, 1, 16, 16) and expected.any()
