"""Benchmark: ``neurova.io.convert_events`` on files that state no sensor size, against two references.

A synthetic recording (``--events`` events on a 640x480 sensor over 10 s) is written as ``.npy`` and as an
RPG-style ``t x y p`` text file (µs), neither of which states its sensor. Each is converted to ``.h5`` three
ways, interleaved, in this process:

* ``convert``: :func:`neurova.io.convert_events` as shipped: one decoding pass, the sensor learnt while writing;
* ``scan + convert``: the sensor found first by :func:`neurova.io.get_sensor_size` (a scan of the whole file),
  then the copy: what ``convert_events`` did before, two decoding passes;
* ``read whole``: :func:`neurova.io.read_recording` and :func:`neurova.io.write_events` (all events in memory).

Prints the median seconds of ``--repeats`` and each reference's time over ``convert``'s, with the peak memory of
one ``convert`` (``tracemalloc``).

    .venv/bin/python benchmarks/bench_convert.py [--events 2000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

import neurova.io as nio
from neurova.events import make_events

SENSOR = (640, 480)


def recording(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 10_000_000, n))
    return make_events(rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n), t, rng.integers(0, 2, n))


def write_sources(folder: Path, events: np.ndarray) -> list[Path]:
    npy = folder / "events.npy"
    np.save(npy, events)
    txt = folder / "events.txt"
    columns = np.stack([events["t"], events["x"], events["y"], events["p"]], axis=1).astype(np.int64)
    np.savetxt(txt, columns, fmt="%d")
    return [npy, txt]


def convert(source: Path, target: Path) -> None:
    nio.convert_events(source, target)


def scan_then_convert(source: Path, target: Path) -> None:
    nio.convert_events(source, target, sensor_size=nio.get_sensor_size(source))


def read_whole(source: Path, target: Path) -> None:
    recording = nio.read_recording(source)
    nio.write_events(target, recording.events, recording.sensor_size)


WAYS: dict[str, Callable[[Path, Path], None]] = {"convert": convert, "scan": scan_then_convert, "whole": read_whole}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events = recording(args.events)
        print(f"{args.events:,} events, {SENSOR[0]}x{SENSOR[1]}; medians of {args.repeats}, seconds")
        print(f"{'source':<8} {'convert':>8} {'scan + convert':>15} {'read whole':>11}  peak MB (convert)")
        for source in write_sources(folder, events):
            target = folder / "out.h5"
            times: dict[str, list[float]] = {name: [] for name in WAYS}
            for _ in range(args.repeats):
                for name, way in WAYS.items():
                    start = time.perf_counter()
                    way(source, target)
                    times[name].append(time.perf_counter() - start)
            assert nio.get_sensor_size(target) == nio.get_sensor_size(source)
            tracemalloc.start()
            convert(source, target)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            median = {name: statistics.median(values) for name, values in times.items()}
            print(f"{source.suffix:<8} {median['convert']:8.2f} {median['scan']:8.2f} ({median['scan'] / median['convert']:.2f}x)"
                  f" {median['whole']:6.2f} ({median['whole'] / median['convert']:.2f}x)  {peak:.0f}")
        print("ratios: the reference's time over convert's (> 1: convert is faster)")


if __name__ == "__main__":
    main()
