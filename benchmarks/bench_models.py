"""Model benchmark on CPU: parameters, training throughput, single-frame latency, streaming vs window recompute.

    python benchmarks/bench_models.py                       # every registered model, 112x112
    python benchmarks/bench_models.py --models "resnet18*" --runs 50

For each model: parameters; training samples/s (AdamW steps on random batches of ``--batch``
clips); inference latency of one sample (batch 1: one frame for frame models, the last
``num_frames`` frames for fusion, a ``--clip``-frame clip for video models; median of ``--runs``).
For the causal ResNet+temporal models, the latency of :meth:`step` on one new frame (reusing
earlier per-frame features) is compared with recomputing the whole ``--window``-frame window,
and the ratio printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from neurova.models import VARegressionModule, create_model, list_models


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def clip_length(model: VARegressionModule, clip: int) -> int:
    return model.frames_used or clip


def train_throughput(model: VARegressionModule, batch: int, clip: int, size: int, steps: int) -> float:
    model.train()
    t = clip_length(model, clip)
    frames = torch.randn(batch, t, model.hparams["in_chans"], size, size)
    target = torch.rand(batch, t, 2) * 2 - 1
    target = target if model.predicts_sequence else target[:, -1]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        loss = model.loss_fn(model(frames), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return batch / median_seconds(step, steps, warmup=1)


@torch.no_grad()
def inference_latency(model: VARegressionModule, clip: int, size: int, runs: int) -> float:
    model.eval()
    x = torch.randn(1, clip_length(model, clip), model.hparams["in_chans"], size, size)
    return median_seconds(lambda: model(x), runs)


@torch.no_grad()
def streaming_ratio(model: VARegressionModule, window: int, size: int, runs: int) -> tuple[float, float]:
    """(seconds per frame with step(), seconds per frame recomputing the window)."""
    model.eval()
    frames = torch.randn(1, window, model.hparams["in_chans"], size, size)
    state = None
    for t in range(window):  # fill the state
        _, state = model.step(frames[:, t], state)
    new = torch.randn(1, model.hparams["in_chans"], size, size)
    streaming = median_seconds(lambda: model.step(new, state), runs)
    recompute = median_seconds(lambda: model(frames), max(3, runs // 4))
    return streaming, recompute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="*", help="fnmatch pattern over neurova.models.list_models()")
    parser.add_argument("--size", type=int, default=112, help="frame side in pixels")
    parser.add_argument("--in-chans", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8, help="training batch size")
    parser.add_argument("--clip", type=int, default=8, help="frames per clip for video models")
    parser.add_argument("--window", type=int, default=16, help="streaming window in frames")
    parser.add_argument("--runs", type=int, default=20, help="timed inference runs (median reported)")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size}x{args.size}, "
          f"C={args.in_chans}, train batch {args.batch}, video clip {args.clip}")
    header = f"{'model':<22}{'params (M)':>11}{'train samples/s':>17}{'latency (ms)':>14}{'frames':>8}"
    print(header)
    print("-" * len(header))
    streaming_rows = []
    for name in list_models(args.models):
        model = create_model(name, in_chans=args.in_chans)
        params = model.num_parameters() / 1e6
        throughput = train_throughput(model, args.batch, args.clip, args.size, args.train_steps)
        latency = inference_latency(model, args.clip, args.size, args.runs)
        print(f"{name:<22}{params:>11.2f}{throughput:>17.1f}{latency * 1e3:>14.1f}"
              f"{clip_length(model, args.clip):>8}", flush=True)
        if hasattr(model, "step"):
            streaming_rows.append((name, *streaming_ratio(model, args.window, args.size, args.runs)))
    if streaming_rows:
        print(f"\nstreaming ({args.window}-frame window): one new frame with step() vs recomputing the window")
        header = f"{'model':<22}{'step (ms)':>11}{'recompute (ms)':>16}{'speed-up':>10}"
        print(header)
        print("-" * len(header))
        for name, streaming, recompute in streaming_rows:
            print(f"{name:<22}{streaming * 1e3:>11.1f}{recompute * 1e3:>16.1f}{recompute / streaming:>9.1f}x")


if __name__ == "__main__":
    main()
