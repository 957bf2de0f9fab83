"""Benchmark of the TBR encoder against copying its input.

Encodes random events on a DAVIS346 sensor (346x260) into back-to-back TBR frames of N = 8 bins, one frame
per 33 ms (Δt = 4125 µs), and compares the time with one copy of the events' x, y and t fields, measured in
the same run. Target: encode / copy <= 2.5. Also reports the rate of the torch path (CPU, or CUDA when
present).

    python benchmarks/bench_tbr.py                   # 10 M events over 10 s
    python benchmarks/bench_tbr.py --events 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from neurova.encodings import tbr, tbr_torch
from neurova.events import EVENT_DTYPE, SensorSize

TARGET_RATIO = 2.5


def median_seconds(*fns: Callable[[], object], repeats: int) -> list[float]:
    """Median wall time of each function over ``repeats`` rounds, after one warm-up call each.

    The functions run in turn within every round, so that load from other processes hits them alike.
    """
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record in zip(fns, times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def random_events(n: int, size: SensorSize, duration_us: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    events = np.empty(n, dtype=EVENT_DTYPE)
    events["x"] = rng.integers(0, size.width, n)
    events["y"] = rng.integers(0, size.height, n)
    events["t"] = np.sort(rng.integers(0, duration_us, n))
    events["p"] = rng.random(n) < 0.5
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="number of events")
    parser.add_argument("--duration-us", type=int, default=10_000_000, help="time span of the events (µs)")
    parser.add_argument("--n-bits", type=int, default=8, help="TBR bins per frame N")
    parser.add_argument("--frame-us", type=int, default=33_000, help="frame duration N*Δt (µs)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (the median is reported)")
    parser.add_argument("--torch-events", type=int, default=2_000_000, help="events for the torch path")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: single process, stable)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    args = parser.parse_args()

    size = SensorSize(346, 260)
    bin_us = args.frame_us // args.n_bits
    events = random_events(args.events, size, args.duration_us)

    copy_s, encode_s, split_s = median_seconds(
        lambda: (events["x"].copy(), events["y"].copy(), events["t"].copy()),
        lambda: tbr(events, size, n_bits=args.n_bits, bin_us=bin_us),
        lambda: tbr(events, size, n_bits=args.n_bits, bin_us=bin_us, polarity="split"),
        repeats=args.repeats,
    )
    frames = tbr(events, size, n_bits=args.n_bits, bin_us=bin_us)
    ratio = encode_s / copy_s
    print(f"events: {args.events:,} on {size}, N={args.n_bits}, Δt={bin_us} µs, {len(frames)} frames {frames.shape}")
    print(f"copy x, y, t:     {copy_s * 1e3:8.1f} ms")
    print(f"tbr (numpy):      {encode_s * 1e3:8.1f} ms   {args.events / encode_s / 1e6:6.1f} M events/s")
    print(
        f"ratio tbr / copy: {ratio:8.2f}      target <= {TARGET_RATIO} -> {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}"
    )

    print(f"tbr split (C=2):  {split_s * 1e3:8.1f} ms   ratio {split_s / copy_s:.2f}")

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sub = events[: args.torch_events]
    x, y, t, p = (torch.from_numpy(np.ascontiguousarray(sub[f])).to(device) for f in ("x", "y", "t", "p"))

    def run_torch() -> torch.Tensor:
        out = tbr_torch(x, y, t, p, size, n_bits=args.n_bits, bin_us=bin_us)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out

    (torch_s,) = median_seconds(run_torch, repeats=args.repeats)
    same = np.array_equal(run_torch().cpu().numpy(), tbr(sub, size, n_bits=args.n_bits, bin_us=bin_us))
    print(
        f"tbr_torch ({device.type}):  {torch_s * 1e3:8.1f} ms   {len(sub) / torch_s / 1e6:6.1f} M events/s "
        f"({len(sub):,} events, equal to numpy: {same})"
    )


if __name__ == "__main__":
    main()
