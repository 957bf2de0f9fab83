"""Tests of neurova.simulator.interpolate: lin-log interpolation, motion estimates, upsampling, custom interpolators."""

from __future__ import annotations

import numpy as np
import pytest

from neurova.simulator import simulate
from neurova.simulator.interpolate import estimate_motion_px, interpolate_lin_log, iter_frames, upsample_factors
from tests.helpers.simulator import texture

cv2 = pytest.importorskip("cv2")


def test_lin_log_interpolation_is_linear_in_log_domain() -> None:
    a, b = np.full((1, 2), 50.0), np.full((1, 2), 200.0)
    middle = interpolate_lin_log(a, b, 3)
    expected = np.exp(np.log(50) + np.arange(1, 4)[:, None, None] / 4 * (np.log(200) - np.log(50)))
    np.testing.assert_allclose(middle, np.broadcast_to(expected, (3, 1, 2)), rtol=1e-5)


def test_motion_estimate_finds_translation() -> None:
    base = texture(48, 64)
    assert estimate_motion_px(base, base) == 0.0
    assert estimate_motion_px(base, np.roll(base, (3, -4), axis=(0, 1))) == pytest.approx(5.0)
    frames = np.stack([np.roll(base, 6 * i, axis=1) for i in range(3)])
    np.testing.assert_array_equal(upsample_factors(frames, max_step_px=2.0), [3, 3])
    np.testing.assert_array_equal(upsample_factors(frames, upsample=4), [4, 4])
    np.testing.assert_array_equal(upsample_factors(frames), [1, 1])
    with pytest.raises(ValueError, match="not both"):
        upsample_factors(frames, upsample=2, max_step_px=1.0)


@pytest.mark.parametrize("shape", [(48, 64), (2, 5)])
def test_upsample_factors_are_those_of_each_pairs_motion_estimate(shape) -> None:
    """The factors reuse each frame's spectrum across its two intervals: the same motions as pair by pair."""
    rng = np.random.default_rng(0)
    base = texture(48, 64)[: shape[0], : shape[1]]
    frames = np.stack([np.roll(base, (int(dy), int(dx)), axis=(0, 1)) + rng.normal(0, 2, shape)
                       for dy, dx in rng.integers(-5, 6, (12, 2))]).clip(0, 255).astype(np.uint8)
    motions = np.array([estimate_motion_px(frames[i], frames[i + 1]) for i in range(len(frames) - 1)])
    assert len(set(motions.tolist())) > 3  # varied shifts, not one repeated value
    for step in (0.7, 1.0, 2.5):
        np.testing.assert_array_equal(upsample_factors(frames, max_step_px=step),
                                      np.clip(np.ceil(motions / step), 1, 64).astype(np.int64))


def test_upsampling_adds_frames_and_spreads_events() -> None:
    frames = np.stack([np.full((2, 2), 30, np.uint8), np.full((2, 2), 200, np.uint8)])
    stream = list(iter_frames(frames, np.array([0, 40_000]), np.array([4])))
    assert [t for _, t in stream] == [0, 10_000, 20_000, 30_000, 40_000]
    plain = simulate(frames, [0, 40_000], preset="clean", sigma_thres=0.0, timestamp_mode="v2e")
    upsampled = simulate(frames, [0, 40_000], preset="clean", sigma_thres=0.0, timestamp_mode="v2e", upsample=4)
    assert len(plain) == len(upsampled) == 4 * 9
    # v2e's grid now runs per sub-interval, so every sub-interval end carries events
    assert {10_000, 20_000, 30_000} <= set(upsampled["t"].tolist())
    assert not {10_000, 20_000, 30_000} <= set(plain["t"].tolist())


def test_custom_interpolator_hook() -> None:
    calls = []

    def hold(frame_a: np.ndarray, frame_b: np.ndarray, n: int) -> np.ndarray:
        calls.append(n)
        return np.repeat(np.asarray(frame_a, np.float32)[None], n, axis=0)

    frames = np.stack([np.full((2, 2), 30, np.uint8), np.full((2, 2), 200, np.uint8)])
    events = simulate(frames, [0, 40_000], upsample=4, interpolator=hold, sigma_thres=0.0, timestamp_mode="v2e")
    assert calls == [3]
    assert events["t"].min() > 30_000  # held frames: everything happens in the last sub-interval
    with pytest.raises(ValueError, match="interpolator returned shape"):
        simulate(frames, [0, 40_000], upsample=3, interpolator=lambda a, b, n: np.zeros((1, 2, 2)))
