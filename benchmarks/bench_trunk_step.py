"""One streaming step's trunk on one frame: ways to run it, against torch's eager path in the same process.

Streaming runs a frame-fusion model's trunk on each new frame alone (``FrameFusionNet.step``), with
channels-last weights (``neurova.nets.layout.channels_last``) and its batch norms folded into the convolutions
(``neurova.nets.layout.fold_batch_norm``), its module calls inlined. This script times that trunk on one
``(1, C, S, S)`` frame, at one thread, in ways torch offers, as CPU time of the calling thread
(``time.thread_time``: less disturbed by other processes than wall time), medians of interleaved repeats;
each row's ratio is against eager contiguous weights, and its ``max |diff|`` against that path's output::

    .venv/bin/python benchmarks/bench_trunk_step.py --model resnet18_fusion [--threads 2] [--compile]

Rows: eager (contiguous weights; the reference), eager with channels-last weights, the same with batch norm
folded, the same with its module calls inlined (``neurova.nets.layout.inline_module_calls``: what streaming does),
TorchScript traced, frozen and ``optimize_for_inference`` (batch norm folded into the convolutions),
bfloat16 weights, bfloat16 autocast, and with ``--compile`` ``torch.compile`` (inductor; needs a C++
compiler, tens of seconds to compile).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch

from neurova.models import create_model
from neurova.nets.layout import fold_batch_norm, inline_module_calls


def variants(trunk: torch.nn.Module, frame: torch.Tensor, compile_too: bool) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The ways to run ``trunk`` on ``frame``, by name (the first is the reference)."""
    channels_last = copy.deepcopy(trunk).to(memory_format=torch.channels_last)
    folded = fold_batch_norm(channels_last)
    inlined = inline_module_calls(folded)
    scripted = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(copy.deepcopy(trunk), frame)))
    bf16 = copy.deepcopy(trunk).to(dtype=torch.bfloat16, memory_format=torch.channels_last)

    def autocast(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return channels_last(x).float()

    ways = {"eager": trunk, "eager, channels-last": channels_last,
            "eager, channels-last, batch norm folded": folded,
            "the same, module calls inlined (streaming)": inlined, "TorchScript frozen, optimize_for_inference": scripted,
            "bf16 weights": lambda x: bf16(x.to(torch.bfloat16)).float(), "bf16 autocast": autocast}
    if compile_too:
        ways["torch.compile"] = torch.compile(copy.deepcopy(trunk))
    return ways


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18_fusion", help="a registered frame-fusion model")
    parser.add_argument("--size", type=int, default=64, help="frame side S in pixels (the model's image_size)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20, help="calls per repeat")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (above 1 the wall time is measured: the calling thread's CPU "
                             "time leaves the others out)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    trunk = create_model(args.model).net.trunk.eval()
    first = next(m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d))
    frame = torch.rand(1, first.in_channels, args.size, args.size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ways = variants(trunk, frame, args.compile)
        reference = trunk(frame)
        diffs = {name: float((run(frame).float() - reference).abs().max()) for name, run in ways.items()}  # warm-up too
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, run in ways.items():
                start = clock()
                for _ in range(args.calls):
                    run(frame)
                times[name].append((clock() - start) / args.calls * 1e3)
    base = statistics.median(times["eager"])
    measure = "CPU ms of the calling thread" if args.threads == 1 else "wall ms"
    print(f"{args.model} trunk on one (1, {first.in_channels}, {args.size}, {args.size}) frame, {args.threads} "
          f"thread(s), {measure} (median of {args.repeats} x {args.calls} calls)\n")
    print("| way | ms | speed against eager | max abs diff |\n|---|---|---|---|")
    for name, values in times.items():
        ms = statistics.median(values)
        print(f"| {name} | {ms:.2f} | {base / ms:.2f}x | {diffs[name]:.1e} |")


if __name__ == "__main__":
    main()
