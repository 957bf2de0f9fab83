"""Benchmark: training steps with glibc's malloc as it is against freed memory kept (``retain_freed_memory``).

Each model runs float32 training steps of ``create_model(NAME, in_chans=1, num_frames=4)`` as
``benchmarks/bench_training.py`` does (its ``TrainStep``: ``training_step``, backward, AdamW) on a fixed random batch
of ``--batch-size`` windows (4 frames of 64x64), ``--warmup`` untimed steps then ``--steps`` timed ones, in a fresh
process per run: glibc's thresholds are process-wide and cannot be set back, so the two settings cannot share a
process. Runs alternate between the settings, ``--repeats`` times each; printed: the median
step, the kernel (system) time and the page faults per step of each setting, and the ratio glibc / retained of the
medians (above 1: keeping freed memory is faster).

    .venv/bin/python benchmarks/bench_memory.py [--models tiny_cnn_fusion resnet18_fusion] [--threads 2 1]
        [--batch-size 32] [--steps 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import warnings
from typing import Any


def measure_steps(name: str, threads: int, batch_size: int, warmup: int, steps: int, retain: bool) -> dict[str, Any]:
    """Time ``steps`` float32 training steps of ``name`` in this process (``bench_training.TrainStep``: the model's
    ``training_step``, backward and AdamW), after ``retain_freed_memory()`` when ``retain``.

    Returns the step times (s), and the kernel time (s) and minor page faults per timed step.
    """
    from neurova._memory import retain_freed_memory

    retained = retain and retain_freed_memory()  # before torch allocates anything
    import torch
    from bench_training import VARIANTS, TrainStep

    from neurova.models import create_model

    warnings.filterwarnings("ignore", message=r".*self\.log\(\).*")  # training_step outside a Trainer
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    frames = (torch.rand(batch_size, 4, 1, 64, 64) < 0.3).float() * torch.rand(batch_size, 4, 1, 64, 64)
    batch = {"frames": frames, "va": torch.rand(batch_size, 4, 2) * 2 - 1}  # (B, T, 2), each frame's label
    runner = TrainStep(create_model(name, in_chans=1, num_frames=4), VARIANTS[0], batch, torch.device("cpu"))
    runner.timed_steps(warmup)
    before = resource.getrusage(resource.RUSAGE_SELF)
    times = runner.timed_steps(steps)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"retained": retained, "step_s": times, "sys_s": (after.ru_stime - before.ru_stime) / steps,
            "faults": (after.ru_minflt - before.ru_minflt) / steps}


def _child(args: argparse.Namespace, name: str, threads: int, retain: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", name, str(threads), str(int(retain)),
               "--batch-size", str(args.batch_size), "--warmup", str(args.warmup), "--steps", str(args.steps)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tiny_cnn_fusion", "resnet18_fusion"])
    parser.add_argument("--threads", nargs="+", type=int, default=[2, 1])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="processes per setting, alternated")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "THREADS", "RETAIN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, threads, retain = args.child
        print(json.dumps(measure_steps(name, int(threads), args.batch_size, args.warmup, args.steps, retain == "1")))
        return
    print(f"batch {args.batch_size} windows of 4 frames of 64x64; {args.steps} timed steps per process, "
          f"{args.repeats} processes per setting, alternated; medians over all timed steps")
    print(f"{'model':18} {'threads':>7} {'glibc ms':>9} {'sys ms':>7} {'faults':>8} {'retained ms':>12} {'sys ms':>7} "
          f"{'faults':>8} {'glibc/retained':>15}")
    for name in args.models:
        for threads in args.threads:
            runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
            for _ in range(args.repeats):
                for retain in (False, True):
                    runs[retain].append(_child(args, name, threads, retain))
            if not all(run["retained"] for run in runs[True]):
                print(f"{name}: freed memory could not be retained here (not glibc, or MALLOC_* set)")
            cells = {}
            for retain, parts in runs.items():
                cells[retain] = (statistics.median(t for run in parts for t in run["step_s"]) * 1e3,
                                 statistics.median(run["sys_s"] for run in parts) * 1e3,
                                 statistics.median(run["faults"] for run in parts))
            (g, g_sys, g_faults), (r, r_sys, r_faults) = cells[False], cells[True]
            print(f"{name:18} {threads:>7} {g:>9.1f} {g_sys:>7.1f} {g_faults:>8.0f} {r:>12.1f} {r_sys:>7.1f} "
                  f"{r_faults:>8.0f} {g / r:>14.2f}x", flush=True)


if __name__ == "__main__":
    main()
