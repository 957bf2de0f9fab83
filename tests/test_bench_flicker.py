"""benchmarks/bench_flicker.py's parts: its lamps parse, its spectral peak sees flicker and its removal."""

from __future__ import annotations

import pytest

from neurova.encodings import deflicker_events
from neurova.simulator import flickering_light, simulate
from tests.helpers.benchmarks import load_benchmark
from tests.helpers.scenes import moving_square

bench = load_benchmark("bench_flicker")


def test_lights_parse() -> None:
    assert bench.parse_light("100:0.25") == (100.0, 0.25)
    with pytest.raises(ValueError):
        bench.parse_light("100")


def test_the_rate_spectrum_peak_falls_when_the_flicker_is_combed_out() -> None:
    frames, times = moving_square((40, 30))
    steady = simulate(frames, times, preset="clean", max_step_px=1.0)
    lit = simulate(*flickering_light(frames, times, 100.0, 0.4), preset="clean")
    before, after = bench.flicker_peak(lit, 100.0), bench.flicker_peak(deflicker_events(lit, (40, 30)), 100.0)
    assert before > 20 and after < before / 4
    assert bench.flicker_peak(steady, 100.0) < before / 4
