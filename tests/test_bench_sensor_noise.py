"""benchmarks/bench_sensor_noise.py's parts: the sensors are valid and noisier in order, its filter is the filter."""

from __future__ import annotations

import numpy as np
import pytest

from neurova.datasets import SyntheticFaces, SyntheticFacesConfig
from neurova.encodings import denoise_events
from neurova.events import slice_time
from neurova.recipes import SENSORS, sensor_options
from neurova.simulator import resolve_params
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_sensor_noise")
TINY = {"n_subjects": 3, "clips_per_subject": 1, "frames_per_clip": 8, "image_size": 16, "sensor_size": (48, 36),
        "emotion_clips": False}


def test_the_sensors_are_valid_and_each_noisier_than_the_last() -> None:
    params = [resolve_params(preset, **dict(extra)) for preset, extra in SENSORS.values()]
    assert next(iter(SENSORS)) == "clean" and params[0].shot_noise_rate_hz == 0 == params[0].leak_rate_hz
    rates = [(p.shot_noise_rate_hz, p.leak_rate_hz) for p in params]
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    for sensor in SENSORS:
        SyntheticFacesConfig(**sensor_options(sensor))  # accepted by the dataset
    with pytest.raises(ValueError, match="unknown sensor"):
        sensor_options("bright")


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
