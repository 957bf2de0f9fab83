"""benchmarks/bench_simulator.py: its two-thread ceiling runs every job once per way, and simulates any frame size."""

from __future__ import annotations

import numpy as np

from neurova.simulator import resolve_params
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_simulator")


def test_two_thread_speedup_runs_each_job_once_per_way_and_repeat() -> None:
    calls: list[int] = []
    ratio = bench.two_thread_speedup([lambda: calls.append(0), lambda: calls.append(1)], repeats=3)
    assert ratio > 0 and sorted(calls) == [0] * 6 + [1] * 6


def test_run_neurova_simulates_frames_of_any_size() -> None:
    frames = bench.texture_clip(4)[:, :40, :50].copy()
    events, seconds = bench.run_neurova(frames, np.arange(4) * 33_333, resolve_params("clean"), "cpu", size=(40, 50))
    assert len(events) > 0 and seconds > 0 and events["x"].max() < 50 and events["y"].max() < 40
