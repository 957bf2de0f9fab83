"""Tests of neurova.simulator.pipeline (simulate, simulate_batch): batches equal single runs, seeds, long intervals,
cropping and resizing, frame folders, the names moved from dvs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurova.image import crop_and_resize
from neurova.simulator import DVSSimulator, dvs, pipeline, simulate, simulate_batch
from tests.helpers.simulator import texture, texture_clip, write_folder


@pytest.mark.parametrize("mode", ["linear", "v2e"])
def test_intervals_longer_than_uint16_offsets(mode: str) -> None:
    # event offsets within an interval are sorted as uint16 up to 65535 µs, as int64 beyond: same events
    clip = texture_clip(4, 24, seed=3)
    short = simulate(clip, np.arange(4) * 40_000, preset="clean", seed=1, timestamp_mode=mode)
    long = simulate(clip, np.arange(4) * 400_000, preset="clean", seed=1, timestamp_mode=mode)
    assert len(short) > 100
    for events, dt in ((short, 40_000), (long, 400_000)):
        key = events["t"] * 24 * 24 + events["y"].astype(np.int64) * 24 + events["x"]  # ties by pixel index
        assert np.all(np.diff(key) >= 0) and events["t"].max() <= 3 * dt
    assert (np.sort(short[["x", "y", "p"]]) == np.sort(long[["x", "y", "p"]])).all()


@pytest.mark.parametrize("preset", ["clean", "noisy"])
def test_v2e_mode_single_clip_fast_order_equals_sorted_batch(preset: str) -> None:
    # one clip takes the pre-ordered path, a batch sorts by time: both must give the same arrays
    clips = [texture_clip(6, 24, seed=s) for s in range(2)]
    batched = simulate_batch(clips, preset=preset, seed=5, timestamp_mode="v2e")
    for i, clip in enumerate(clips):
        single = simulate(clip, preset=preset, seed=5 + i, timestamp_mode="v2e")
        assert len(single) > 600 and (batched[i] == single).all()


@pytest.mark.parametrize("mode", ["linear", "v2e"])
@pytest.mark.parametrize("refractory_period_s", [0.0, 0.03])
def test_batch_equals_single_runs_with_per_clip_seeds(mode: str, refractory_period_s: float) -> None:
    clips = [texture_clip(8, 10, seed=s) for s in range(3)] + [np.full((8, 10, 10), 90, np.uint8)]  # one static
    times = [np.arange(8) * 40_000, np.arange(8) * 33_000 + 5, np.arange(8) * 50_000, np.arange(8) * 40_000]
    params = {"preset": "noisy", "timestamp_mode": mode, "refractory_period_s": refractory_period_s}
    batched = simulate_batch(clips, times, seed=7, **params)
    for i, (clip, t) in enumerate(zip(clips, times)):
        single = simulate(clip, t, seed=7 + i, **params)
        assert len(single) > 0 and (batched[i] == single).all()


def test_batch_with_different_lengths_and_sizes() -> None:
    clips = [texture_clip(6, 8), texture_clip(9, 8, seed=1), texture_clip(6, 10, seed=2)]
    batched = simulate_batch(clips, seed=[3, 4, 5], batch_size=2)
    for clip, seed, events in zip(clips, [3, 4, 5], batched):
        assert (events == simulate(clip, seed=seed)).all()


def test_default_cpu_batches_hold_a_fixed_number_of_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    # small frames run together, large ones alone (numpy passes lose on big batches); an explicit batch_size wins
    sizes: list[tuple[int, int, int]] = []

    class Recording(DVSSimulator):
        def __init__(self, height: int, width: int, batch_size: int = 1, **kwargs: object) -> None:
            sizes.append((batch_size, height, width))
            super().__init__(height, width, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(pipeline, "DVSSimulator", Recording)
    monkeypatch.setattr(pipeline, "CPU_BATCH_PIXELS", 2 * 16 * 16)
    small = [texture_clip(3, 16, seed=s) for s in range(5)]
    large = [texture_clip(3, 40, seed=s) for s in range(2)]
    events = simulate_batch(small + large, seed=0)
    assert sizes == [(2, 16, 16), (2, 16, 16), (1, 16, 16), (1, 40, 40), (1, 40, 40)]
    assert all((e == simulate(c, seed=i)).all() for i, (c, e) in enumerate(zip(small + large, events)))
    sizes.clear()
    simulate_batch(small, seed=0, batch_size=5)
    assert sizes == [(5, 16, 16)]


def test_seeds_make_runs_reproducible() -> None:
    clip = texture_clip()
    a, b = simulate(clip, preset="noisy", seed=1), simulate(clip, preset="noisy", seed=1)
    c = simulate(clip, preset="noisy", seed=2)
    assert (a == b).all()
    assert len(a) != len(c) or not (a == c).all()
    sim = DVSSimulator(16, 16, preset="noisy", seed=1)
    first = [sim.step(f, i * 40_000)[0] for i, f in enumerate(clip)]
    sim.reset()
    again = [sim.step(f, i * 40_000)[0] for i, f in enumerate(clip)]
    assert all((x == y).all() for x, y in zip(first, again))


def test_pipeline_names_moved_from_dvs_with_a_deprecation_warning() -> None:
    from neurova.simulator import pipeline

    with pytest.warns(DeprecationWarning, match="pipeline"):
        assert dvs.simulate is pipeline.simulate is simulate
    with pytest.warns(DeprecationWarning, match="pipeline"):
        assert dvs.simulate_batch is pipeline.simulate_batch is simulate_batch
    with pytest.raises(AttributeError):
        dvs.no_such_name  # noqa: B018


def test_simulate_crops_and_resizes_through_neurova_image() -> None:
    frames = np.arange(2 * 8 * 10, dtype=np.uint8).reshape(2, 8, 10)
    events = simulate(frames, crop=(2, 1, 6, 4), size=(3, 2))
    assert len(events) == 0 or (events["x"].max() < 3 and events["y"].max() < 2)
    shifted = np.stack([np.roll(texture(), i, 1) for i in range(4)])
    expected = simulate(crop_and_resize(shifted, (2, 1, 20, 16), (10, 8), interpolation="bilinear"), seed=1)
    assert (simulate(shifted, crop=(2, 1, 20, 16), size=(10, 8), seed=1) == expected).all()
    with pytest.raises(ValueError, match="does not fit"):
        simulate(frames, crop=(5, 0, 6, 4))


def test_simulate_batch_from_folders(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    clips = [np.stack([np.roll(texture(seed=s), i, 1) for i in range(4)]) for s in range(2)]
    folders = [write_folder(tmp_path / f"c{i}", c) for i, c in enumerate(clips)]
    batched = simulate_batch(folders, fps=25, seed=4)
    for i, clip in enumerate(clips):
        assert (batched[i] == simulate(clip, fps=25, seed=4 + i)).all()
