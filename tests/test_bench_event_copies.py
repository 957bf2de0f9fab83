"""benchmarks/bench_event_copies.py: each pair of ways copies the same bytes."""

from __future__ import annotations

from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_event_copies")


def test_numpys_and_neurovas_copies_agree() -> None:
    events = bench.random_events(1000)
    for name, (numpy_way, neurova_way) in bench.cases(events).items():
        assert neurova_way().tobytes() == numpy_way().tobytes(), name
    seconds, out = bench.best(lambda: events[:3], repeats=2)
    assert seconds >= 0 and len(out) == 3
