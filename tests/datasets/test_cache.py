"""Resolution-consistent model input: face boxes in the event cache, the event-domain resize, acceptance."""

from __future__ import annotations

import fcntl
from pathlib import Path

import numpy as np
import pytest

from neurova.datasets.cache import ClipRecord, EventCache
from neurova.errors import NeurovaError
from neurova.events import SensorSize, make_events
from tests.helpers.events import random_events


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


def test_a_cache_file_another_process_is_writing_is_reported_as_busy_not_damaged(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """HDF5 locks a file while a process writes it (flock, as this test does): a reader in another job must be told
    to wait or use its own cache folder, not to delete a good cache."""
    monkeypatch.delenv("HDF5_USE_FILE_LOCKING", raising=False)
    cache = EventCache(tmp_path, "toy", {"v": 1})
    cache.build({"a": _record("a", None)}, lambda r: r, progress=False)
    with open(cache.part_path(), "rb") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for action in (cache.complete_clips, lambda: cache.build({"b": _record("b", None)}, lambda r: r,
                                                                  progress=False)):
            with pytest.raises(NeurovaError, match=r"events\.h5: the event cache is being written by another "
                                                   r"process .*cache_dir") as caught:
                action()
            assert "delete" not in str(caught.value)
    assert set(cache.complete_clips()) == {"a"}  # untouched, readable again once the writer is done


def test_a_clip_a_killed_build_left_unreadable_is_incomplete_and_rebuilt(tmp_path: Path) -> None:
    """h5py gives ``None`` for a member it cannot open (here a dangling link; a build killed while writing a clip
    can leave one): listing skips it, and the next build deletes it and writes the clip again."""
    import h5py

    cache = EventCache(tmp_path, "toy", {"v": 1})
    records = {"a": _record("a", None), "b": _record("b", None)}
    cache.build({"a": records["a"]}, lambda r: r, progress=False)
    with h5py.File(cache.part_path(), "a") as f:
        f["clips"]["b"] = h5py.SoftLink("/nowhere")
        assert dict(f["clips"].items())["b"] is None
    assert set(cache.complete_clips()) == {"a"}
    assert cache.build(records, lambda r: r, progress=False) == ["b"]
    assert set(cache.complete_clips()) == {"a", "b"}


def test_an_incomplete_clip_hdf5_cannot_delete_is_dropped_by_copying_the_complete_ones(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    """A build killed while HDF5 wrote its metadata can leave a link it cannot delete ("addr overflow", seen in
    tests/reliability): the next build copies the complete clips into a fresh file and goes on from there."""
    import h5py

    cache = EventCache(tmp_path, "toy", {"v": 1})
    records = {name: _record(name, None) for name in "abc"}
    cache.build({"a": records["a"], "b": records["b"]}, lambda r: r, progress=False)
    with h5py.File(cache.part_path(), "a") as f:
        del f["clips"]["b"].attrs["complete"]  # "b" as a killed build leaves it
        stored = f["clips"]["a"]["events"]["t"][()]

    def damaged(self, name):
        raise KeyError("Couldn't delete link (addr overflow, addr = 432841, size = 408, eoa = 364494)")

    with monkeypatch.context() as patch:
        patch.setattr(h5py.Group, "__delitem__", damaged)
        with pytest.warns(RuntimeWarning, match=r"events\.h5: a killed build left metadata HDF5 cannot delete "
                                                r"\(.*addr overflow.*\); copying its complete clips"):
            assert cache.build(records, lambda r: r, progress=False) == ["b", "c"]
    assert set(cache.complete_clips()) == {"a", "b", "c"}
    assert not list(tmp_path.rglob("*.tmp*")) and len(list(tmp_path.rglob("*.h5"))) == 1
    with h5py.File(cache.part_path()) as f:
        np.testing.assert_array_equal(f["clips"]["a"]["events"]["t"][()], stored)
        copied = f["clips"]["a"]
        assert set(copied.attrs) == set(f["clips"]["c"].attrs) and copied.attrs["complete"]
        assert set(copied) == set(f["clips"]["c"])  # every dataset of the clip came along


def test_a_cache_file_too_damaged_to_copy_is_reported_and_left_as_it_was(tmp_path: Path, monkeypatch) -> None:
    import h5py

    cache = EventCache(tmp_path, "toy", {"v": 1})
    cache.build({"a": _record("a", None), "b": _record("b", None)}, lambda r: r, progress=False)
    with h5py.File(cache.part_path(), "a") as f:
        del f["clips"]["b"].attrs["complete"]
    before = cache.part_path().read_bytes()

    def damaged(*args, **kwargs):
        raise OSError("Can't read data (wrong B-tree signature)")

    monkeypatch.setattr(h5py.Group, "__delitem__", damaged)
    monkeypatch.setattr(h5py.Group, "copy", damaged)
    with pytest.warns(RuntimeWarning), pytest.raises(NeurovaError, match=r"events\.h5: the event cache is damaged "
                                                                         r"beyond .*B-tree.*delete it to rebuild"):
        cache.build({"b": _record("b", None)}, lambda r: r, progress=False)
    assert cache.part_path().read_bytes() == before and not list(tmp_path.rglob("*.tmp*"))


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

    n, frames = 40_000, 6
    events = random_events(n, (96, 80), t0=0, span_us=240_000)
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


# ------------------------------------------------------------------------------ acceptance: one face, two sensors


def _scene_events(scale: int, n_frames: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events, frame times and true face boxes of one head-and-shoulders clip on a (48 x 36) * scale sensor.

    The layout's positions and sizes are fractions of the sensor, so the same random stream gives the same
    scene at any scale; the background's grain is scaled by hand.
    """
    import dataclasses

    from neurova.datasets.render import sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.simulator import simulate

    identity = sample_identity(np.random.default_rng(7))
    va = sample_va_trajectory(n_frames, np.random.default_rng(8), fps=25.0)
    layout = sample_scene_layout(np.random.default_rng(9), (48 * scale, 36 * scale), face_fraction=(0.6, 0.7),
                                 hands_probability=0.0, moving_background_probability=0.0)
    layout = dataclasses.replace(layout, background_cell=layout.background_cell * scale)
    frames, boxes = render_scene_clip(identity, layout, va, fps=25.0, rng=10, supersample=1)
    stamps = np.arange(n_frames, dtype=np.int64) * 40_000
    events = simulate(np.rint(frames * 255).astype(np.uint8), stamps, preset="clean", max_step_px=1.0, seed=11)
    return events, stamps, boxes


@pytest.fixture(scope="module")
def two_sensors() -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return {1: _scene_events(1), 4: _scene_events(4)}


def _input_stats(clip: tuple[np.ndarray, np.ndarray, np.ndarray], resize: str, size: int) -> tuple[float, float]:
    from neurova.contract import InputContract
    from neurova.events import slice_time
    from neurova.transforms import ToModelInput

    events, stamps, boxes = clip
    contract = InputContract(image_size=size, clip_length=1, resize=resize)  # type: ignore[arg-type]
    frames = []
    for t_end, box in zip(stamps[1:], boxes[1:]):
        op = ToModelInput(contract, box)
        frames.append(op(slice_time(events, int(t_end) - op.history_us, int(t_end)), int(t_end)))
    stacked = np.concatenate(frames)
    return float((stacked > 0).mean()), float(stacked.mean())


def test_a_face_gives_the_same_input_statistics_at_4x_the_resolution(two_sensors) -> None:
    size = round(float(np.mean(two_sensors[1][2][:, 2])))  # the small face box's side: no resize on that side
    nonzero_1, mean_1 = _input_stats(two_sensors[1], "events", size)
    nonzero_4, mean_4 = _input_stats(two_sensors[4], "events", size)
    assert nonzero_1 > 0.01 and mean_1 > 0
    assert 0.75 <= nonzero_4 / nonzero_1 <= 1 / 0.75, (nonzero_1, nonzero_4)
    assert 0.75 <= mean_4 / mean_1 <= 1 / 0.75, (mean_1, mean_4)
    # the old operator (encode at the box's resolution, then average) turns the 4x face into a faint haze
    nonzero_area, _ = _input_stats(two_sensors[4], "area", size)
    assert nonzero_area / nonzero_1 > 1.5
