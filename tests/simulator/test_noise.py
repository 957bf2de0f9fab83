"""Tests of the simulator's noise (neurova.simulator.noise: shot noise; leak jitter): v2e's statistics per polarity
and per pixel, and against v2e's reference loop (the random numbers cannot be v2e's: its event shuffle consumes them)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurova.simulator import DVSSimulator, dvs, resolve_params
from neurova.simulator.noise import ShotNoise
from tests.helpers.simulator import block_clip, load_v2e_loop, run_v2e_mode

v2e_loop = load_v2e_loop()


def expected_shot_noise(sim: DVSSimulator, frame: np.ndarray, dt_s: float, rate_hz: float) -> tuple[float, float]:
    """v2e's expected shot-noise ON and OFF events per interval of a static ``frame``: sum of f * pre over pixels."""
    on, off = sim.thresholds
    f = (rate_hz / 2) * dt_s * ((0.25 - 1) * (frame.astype(np.float64) + 20) / 275 + 1)
    pos_pre, neg_pre = (0.2 / t[0].double().numpy() for t in (on, off))
    return float(np.minimum(f * pos_pre, 1).sum()), float(np.minimum(f * neg_pre, 1).sum())


@pytest.mark.parametrize(("fps", "frame_dtype"), [(30, np.uint8), (240, np.uint8), (30, np.float32), (2, np.uint8)])
def test_shot_noise_matches_v2e_rates_per_polarity(fps: int, frame_dtype: type) -> None:
    # a static textured scene with threshold mismatch: no signal events, only shot noise; 2 fps (q > 1) takes
    # v2e's own rule for every pixel
    frame = block_clip(1, 40)[0].astype(frame_dtype)
    n_frames, rate = 120, 5.0
    sim = DVSSimulator(40, 40, preset="clean", sigma_thres=0.05, shot_noise_rate_hz=rate, timestamp_mode="v2e", seed=4)
    dt = 1 / fps
    events = np.concatenate([sim.step(frame, round(i * 1e6 / fps))[0] for i in range(n_frames + 1)])
    exp_on, exp_off = (n_frames * e for e in expected_shot_noise(sim, frame, dt, rate))
    n_on, n_off = int(events["p"].sum()), int((~events["p"]).sum())
    assert abs(n_on - exp_on) < 5 * math.sqrt(exp_on) and abs(n_off - exp_off) < 5 * math.sqrt(exp_off)
    per_interval = np.bincount(events["y"].astype(np.int64) * 40 + events["x"] + 1600 * events["p"], minlength=3200)
    assert per_interval.max() <= n_frames  # at most one event per pixel, polarity and interval
    # the per-pixel rate follows the intensity: dark pixels fire more than bright ones
    dark = frame.reshape(-1) < np.median(frame)
    counts = np.bincount(events["y"].astype(np.int64) * 40 + events["x"], minlength=1600)
    assert counts[dark].mean() > counts[~dark].mean()
    if fps >= 30:  # and the polarity split follows each pixel's thresholds: low ON thresholds fire more ON noise
        pos_pre = 0.2 / sim.thresholds[0][0].double().numpy().reshape(-1)
        on_counts = np.bincount(events["y"][events["p"]].astype(np.int64) * 40 + events["x"][events["p"]], minlength=1600)
        low, high = np.quantile(pos_pre, [0.25, 0.75])
        assert on_counts[pos_pre > high].mean() > 1.2 * on_counts[pos_pre < low].mean()


def test_noise_statistics_agree_with_the_reference_loop() -> None:
    # the noisy preset on a static scene (no signal events): shot noise and leak against v2e's transcription
    frame = block_clip(1, 32)[0]
    clip, times = np.repeat(frame[None], 61, axis=0), np.arange(61) * 33_333
    params = resolve_params("noisy", shot_noise_rate_hz=10.0, leak_rate_hz=2.0)
    ours, _ = run_v2e_mode(clip, times, 2, **params.to_dict())
    ref = v2e_loop.run_reference(clip, times, params, seed=2)
    for polarity in (True, False):
        n_ours, n_ref = int((ours["p"] == polarity).sum()), int(((ref[:, 3] > 0) == polarity).sum())
        assert n_ref > 1000 and abs(n_ours - n_ref) < 5 * math.sqrt(n_ref)


def test_leak_jitter_has_v2e_distribution_at_block_ends() -> None:
    # M after one jitter block: mean drop a * sum(dt), spread a * fraction * sqrt(sum(dt**2)), a = rate * r * thres
    size, block = 64, dvs.LEAK_JITTER_BLOCK
    sim = DVSSimulator(size, size, preset="clean", leak_rate_hz=0.5, leak_jitter_fraction=0.3, seed=1)
    frame = np.full((size, size), 100, np.uint8)
    sim.step(frame, 0)
    start, amp = sim._base.clone(), sim._leak_amp
    dts = np.array([0.01, 0.03] * (block // 2))
    for t in np.cumsum(dts) * 1e6:
        sim.step(frame, round(t))
    drop = ((start - sim._base) / amp).double().numpy().reshape(-1)  # per unit of a
    assert abs(drop.mean() - dts.sum()) < 4 * 0.3 * math.sqrt((dts**2).sum() / drop.size) + 1e-6
    assert drop.std() == pytest.approx(0.3 * math.sqrt((dts**2).sum()), rel=0.06)


def test_shot_noise_merges_v2e_rule_pixels_in_pixel_order_with_their_rates() -> None:
    # every 50th pixel has tiny thresholds (pre 25, bound q > 1): v2e's own rule, where ON and OFF can both fire;
    # the others take the two-stage sampler; events come out by pixel, ON before OFF, at v2e's rates
    n, rate, dt, frames = 2000, 5.0, 1 / 60, 400
    pre = np.ones(n)
    pre[::50] = 25.0
    sampler = ShotNoise(pre, pre.copy(), rate, np.random.default_rng(0))
    intensity = np.full(n, 60, np.uint8)
    f = float(sampler.factor(intensity[:1], dt)[0])
    assert 25 * f * 2 > 1  # both polarities at once are possible there
    on_counts, off_counts, both = np.zeros(n), np.zeros(n), 0
    for _ in range(frames):
        pix, on = sampler.sample(dt, intensity.take)
        assert (np.diff(pix) >= 0).all()
        twice = np.flatnonzero(np.diff(pix) == 0)
        assert (pix[twice] % 50 == 0).all() and on[twice].all() and not on[twice + 1].any()
        both += len(twice)
        np.add.at(on_counts, pix[on], 1)
        np.add.at(off_counts, pix[~on], 1)
    for counts in (on_counts, off_counts):
        for group, p in ((pre == 25.0, min(25 * f, 1.0)), (pre == 1.0, f)):
            expected = frames * group.sum() * p
            assert abs(counts[group].sum() - expected) < 5 * math.sqrt(expected * (1 - p))
    p_both = 2 * min(25 * f, 1.0) - 1  # v2e's V > 1 - a and V < b: both where V lies in (1 - a, b)
    expected = frames * (n // 50) * p_both
    assert abs(both - expected) < 5 * math.sqrt(expected)
