"""Benchmark: ``simulate_dataset`` on 1 and on N worker processes, the way a dataset is simulated.

A clip's frames are simulated one after another (each depends on the pixel state the last one left), so
cores help by simulating several clips at once: ``workers=N`` starts N processes, one clip each at a time.
This script writes ``--clips`` clips of ``--frames`` PNG frames (346x260, the contents of
``bench_simulator.py``, in turn), simulates them with ``workers=1`` and ``workers=N`` (one torch thread per
process, medians of ``--repeats`` interleaved runs; whole calls: reading PNGs, spawning the workers and
writing HDF5 included) and prints clips/s and the ratio against ``workers=1`` in the same process. It also
checks that both wrote the same events, and measures what starting the workers costs per call (a spawned
process imports torch, a forked one does not): ``workers=N`` against ``workers=1`` on N clips of 2 frames; the last line takes that
start-up out of the ratio, which is what a dataset of hundreds of clips sees.

    .venv/bin/python benchmarks/bench_simulate_dataset.py [--clips 8] [--frames 150] [--workers 2]
        [--repeats 3] [--preset clean]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torchvision.io import write_png

from neurova.io import read_events
from neurova.simulator import simulate_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulator import CONTENTS


def write_clips(root: Path, n_clips: int, n_frames: int) -> None:
    """``n_clips`` folders of ``n_frames`` grayscale PNGs, cycling through the benchmark contents."""
    names = sorted(CONTENTS)
    for i in range(n_clips):
        make = CONTENTS[names[i % len(names)]][0]
        folder = root / f"clip{i:02d}"
        folder.mkdir(parents=True)
        for j, frame in enumerate(make(n_frames)):
            write_png(torch.from_numpy(np.ascontiguousarray(frame))[None], str(folder / f"{j:05d}.png"))


def run(inputs: Path, output: Path, workers: int, preset: str) -> float:
    """Seconds of one ``simulate_dataset`` call into an empty ``output`` (an earlier run's files are removed:
    the call would skip clips already simulated with the same settings)."""
    shutil.rmtree(output, ignore_errors=True)
    start = time.perf_counter()
    simulate_dataset(inputs, output, preset=preset, fps=30.0, workers=workers, threads=1, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    parser.add_argument("--preset", default="clean", choices=("clean", "noisy"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_clips(root / "frames", args.clips, args.frames)
        seconds: dict[int, list[float]] = {1: [], args.workers: []}
        for _ in range(args.repeats):
            for workers in seconds:
                seconds[workers].append(run(root / "frames", root / f"events{workers}", workers, args.preset))
        write_clips(root / "tiny", args.workers, 2)
        start_up = statistics.median(
            run(root / "tiny", root / "tiny_events", args.workers, args.preset)
            - run(root / "tiny", root / "tiny_events", 1, args.preset)
            for _ in range(args.repeats)
        )
        same = all(
            (read_events(a) == read_events(root / f"events{args.workers}" / a.name)).all()
            for a in sorted((root / "events1").glob("*.h5"))
        )
    one, many = (statistics.median(seconds[w]) for w in seconds)
    print(f"{args.clips} clips of {args.frames} frames 346x260, preset {args.preset}, one torch thread per process, "
          f"medians of {args.repeats} interleaved runs")  # fmt: skip
    print(f"workers=1: {one:6.2f} s ({args.clips / one:5.2f} clips/s)")
    print(f"workers={args.workers}: {many:6.2f} s ({args.clips / many:5.2f} clips/s), {one / many:.2f}x workers=1; "
          f"identical events: {same}")  # fmt: skip
    print(f"start-up of {args.workers} workers: {start_up:.2f} s per call; without it workers={args.workers} runs at "
          f"{one / (many - start_up):.2f}x workers=1")  # fmt: skip


if __name__ == "__main__":
    main()
