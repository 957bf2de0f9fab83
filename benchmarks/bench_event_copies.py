"""Benchmark: copying event arrays record by record (``neurova.events``) against numpy's structured copies.

numpy copies the elements of the packed :data:`~neurova.events.EVENT_DTYPE` (13 bytes: x, y int16, t int64,
p bool) field by field when it indexes with a mask or an index array, copies a slice or concatenates.
``take_events``, ``concat_events`` and ``copy_events`` copy whole records instead (``ndarray.take``, views of
13-byte void records). This script times both on ``--events`` random events (one process, interleaved, best of
``--repeats``), checks that the bytes are equal, and times ``as_events`` building an event array from four
columns, as every file reader does.

    .venv/bin/python benchmarks/bench_event_copies.py [--events 5000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from neurova.events import EVENT_DTYPE, as_events, concat_events, copy_events, make_events, take_events


def random_events(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return make_events(rng.integers(0, 1280, n), rng.integers(0, 720, n), np.arange(n), rng.integers(0, 2, n))


def best(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """The fastest of ``repeats`` runs (seconds) and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), out


def cases(events: np.ndarray) -> dict[str, tuple[Callable[[], np.ndarray], Callable[[], np.ndarray]]]:
    """Name -> (numpy's way, neurova's way) of the same copy."""
    n = len(events)
    rng = np.random.default_rng(1)
    half = rng.random(n) < 0.5
    index = np.sort(rng.choice(n, n // 2, replace=False))
    parts = np.array_split(events, 8)
    return {
        "mask (half kept)": (lambda: events[half], lambda: take_events(events, half)),
        "index array": (lambda: events[index], lambda: take_events(events, index)),
        "concatenate 8 parts": (lambda: np.concatenate(parts), lambda: concat_events(parts)),
        "copy of a slice": (lambda: events[1:].copy(), lambda: copy_events(events[1:])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    events = random_events(args.events)
    print(f"{args.events:,} events of {EVENT_DTYPE.itemsize} bytes; best of {args.repeats}, ms")
    print(f"{'copy':<22} {'numpy':>8} {'neurova':>8}  speed-up")
    for name, (numpy_way, neurova_way) in cases(events).items():
        slow, expected = best(numpy_way, args.repeats)
        fast, got = best(neurova_way, args.repeats)
        assert got.dtype == EVENT_DTYPE and got.tobytes() == expected.tobytes(), name
        print(f"{name:<22} {1e3 * slow:8.1f} {1e3 * fast:8.1f}  {slow / fast:.1f}x")
    columns = {name: np.ascontiguousarray(events[name]) for name in ("x", "y", "t")}
    columns["p"] = events["p"].astype(np.uint8)  # as HDF5 files store it
    built, _ = best(lambda: as_events(columns), args.repeats)
    print(f"as_events of four columns (sorted, validated): {1e3 * built:.1f} ms")


if __name__ == "__main__":
    main()
