"""benchmarks/bench_sensor_noise.py's parts: the sensors are valid and noisier in order, its filter is the filter."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from neurova.datasets import SyntheticFaces, SyntheticFacesConfig
from neurova.encodings import denoise_events, raise_threshold
from neurova.events import slice_time
from neurova.recipes import SENSORS, sensor_options
from neurova.simulator import resolve_params
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_sensor_noise")
TINY = {"n_subjects": 3, "clips_per_subject": 1, "frames_per_clip": 8, "image_size": 16, "sensor_size": (48, 36),
        "emotion_clips": False}


def test_the_sensors_are_valid_and_each_noisier_than_the_last() -> None:
    params = {name: resolve_params(preset, **dict(extra)) for name, (preset, extra) in SENSORS.items()}
    assert next(iter(SENSORS)) == "clean" and params["clean"].shot_noise_rate_hz == 0 == params["clean"].leak_rate_hz
    rates = [(params[n].shot_noise_rate_hz, params[n].leak_rate_hz) for n in ("clean", "noisy", "dim", "dark")]
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    dark, lit = params["davis346_dark"], params["davis346_lit"]  # one measured camera, its dark and lit pixels
    assert (dark.pos_thres, dark.neg_thres) == (lit.pos_thres, lit.neg_thres) == (0.22, 0.22)
    assert dark.shot_noise_rate_hz > 30 * lit.shot_noise_rate_hz
    for sensor in SENSORS:
        SyntheticFacesConfig(**sensor_options(sensor))  # accepted by the dataset
    with pytest.raises(ValueError, match="unknown sensor"):
        sensor_options("bright")


def test_threshold_sensors_are_the_clean_pixel_with_other_thresholds() -> None:
    assert sensor_options("threshold_0.1") == {"preset": "clean", "dvs_params": {"pos_thres": 0.1, "neg_thres": 0.1}}
    options = sensor_options("threshold_0.3_0.15")
    params = resolve_params(options["preset"], **options["dvs_params"])
    clean = resolve_params("clean")
    assert (params.pos_thres, params.neg_thres) == (0.3, 0.15)
    assert (params.shot_noise_rate_hz, params.leak_rate_hz, params.sigma_thres) == (
        clean.shot_noise_rate_hz, clean.leak_rate_hz, clean.sigma_thres)
    for bad in ("threshold_0", "threshold_", "threshold_x", "threshold_0.1_0.2_0.3"):
        with pytest.raises(ValueError, match="threshold_ON"):
            sensor_options(bad)
    assert bench.sensor_name("threshold_0.25") == "threshold_0.25"
    with pytest.raises(argparse.ArgumentTypeError, match="unknown sensor"):
        bench.sensor_name("threshold_-1")


def test_thinned_reads_each_clip_at_a_raised_threshold(tmp_path) -> None:
    dataset = SyntheticFaces(tmp_path, "all", progress=False, **sensor_options("threshold_0.1"), **TINY)
    clip_id = dataset.clip_ids[0]
    whole = dataset.clip_events(clip_id)
    expected = raise_threshold(whole, dataset.sensor_size, 2)
    assert 0.3 * len(whole) < len(expected) < 0.7 * len(whole)
    np.testing.assert_array_equal(bench.thinned(dataset, 2).clip_events(clip_id), expected)


def test_denoised_reads_each_clip_through_the_background_activity_filter(tmp_path) -> None:
    dataset = SyntheticFaces(tmp_path, "all", progress=False, preset="noisy", **TINY)
    clip_id = dataset.clip_ids[0]
    whole = dataset.clip_events(clip_id)
    expected = denoise_events(whole, dataset.sensor_size, 5000)
    assert 0 < len(expected) < len(whole)
    filtered = bench.denoised(dataset, 5000)
    assert np.array_equal(filtered.clip_events(clip_id), expected)
    t = whole["t"]
    start, end = int(t[len(t) // 3]), int(t[2 * len(t) // 3])
    assert np.array_equal(filtered.clip_events(clip_id, start, end), slice_time(expected, start, end))
    assert filtered[0]["frames"].shape == (4, 1, 16, 16)
