"""Benchmark behind ``neurova.streaming.AutoThreads``' two conditions, on this machine.

* **Waking torch's pool.** A 2-thread convolution (64 channels, 32x32, batch 1) back to back, and then run once after
  a pause of each length (``--pauses``, ms): median and largest time of the call after the pause, ``--repeats`` times.
  torch's pool threads spin for a while after their work and then sleep; a call that must wake one pays for it.
  ``AutoThreads`` gives more than one thread only to a pass that follows the previous one by less than ``spin_s``.
* **The other processes' CPUs.** What ``AutoThreads`` measures, the CPUs used by the other processes over 250 ms
  (the busy time of the CPUs this process may run on, from ``/proc/stat``, less this process's), beside 0, 1 and 2
  spinning processes, this process idle (Linux only).

    .venv/bin/python benchmarks/bench_thread_wake.py [--repeats 40] [--pauses 0.05 0.5 2 5 10 20 35]

``OMP_WAIT_POLICY=active`` in the environment keeps the pool spinning (for comparison: then no pause costs a wake-up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from neurova.streaming import _cpu_sample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_streaming import busy_processes


def wake_costs(pauses_ms: list[float], repeats: int) -> None:
    torch.set_num_threads(2)
    x, w = torch.randn(1, 64, 32, 32), torch.randn(64, 64, 3, 3)

    def conv_ms() -> float:
        start = time.perf_counter()
        F.conv2d(x, w, padding=1)
        return (time.perf_counter() - start) * 1e3

    for _ in range(50):
        conv_ms()
    print(f"2-thread convolution back to back: {statistics.median(conv_ms() for _ in range(200)):.3f} ms (median)")
    for pause in pauses_ms:
        after = []
        for _ in range(repeats):
            conv_ms()
            time.sleep(pause / 1e3)
            after.append(conv_ms())
        print(f"after a pause of {pause:6.2f} ms: median {statistics.median(after):7.3f} ms, largest {max(after):7.3f} ms")


def others_cpus(samples: int) -> None:
    cpus = os.sched_getaffinity(0)
    if _cpu_sample(cpus) is None:
        print("the other processes' CPUs: not measurable here (no /proc/stat)")
        return
    for busy in (0, 1, 2):
        with busy_processes(busy):
            time.sleep(0.3)
            seen = []
            for _ in range(samples):
                before = _cpu_sample(cpus)
                time.sleep(0.25)
                after = _cpu_sample(cpus)
                assert before is not None and after is not None
                seen.append(((after.machine_busy_s - before.machine_busy_s) - (after.own_s - before.own_s))
                            / (after.wall_s - before.wall_s))
        print(f"beside {busy} spinning process(es): the others used {min(seen):.2f} to {max(seen):.2f} CPUs "
              f"({samples} samples of 250 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=40, help="calls after each pause")
    parser.add_argument("--pauses", type=float, nargs="+", default=[0.05, 0.5, 2, 5, 10, 20, 35], help="ms")
    parser.add_argument("--samples", type=int, default=8, help="250 ms measurements beside each number of processes")
    args = parser.parse_args()
    wake_costs(args.pauses, args.repeats)
    others_cpus(args.samples)


if __name__ == "__main__":
    main()
