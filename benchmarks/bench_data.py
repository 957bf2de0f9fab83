"""Benchmark: data loading against the model that consumes it.

Builds the default synthetic-faces cache (render + simulate, timed), then measures in the
same run:

* the loader: frames/s delivered by ``SyntheticFacesDataModule.train_dataloader()``, with
  events read from the HDF5 cache by binary search per sample (``in_memory=False``) and
  from RAM (``in_memory=True``, the datamodule's default), TBR-encoded per sample;
* the consumer: frames/s of a ResNet-18 training step (forward, MSE loss, backward, SGD
  step) on inputs of the same size ``(B * T, C, H, W)``.

It prints both and their ratio; the target is a ratio of at least 5, so training is never
data-bound.

    .venv/bin/python benchmarks/bench_data.py [--image-size 64] [--clip-length 4] [--num-workers 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torchvision

from neurova.datamodules import SyntheticFacesDataModule


def loader_throughput(dm: SyntheticFacesDataModule, n_batches: int) -> tuple[float, int]:
    """Frames/s over ``n_batches`` batches (after one warm-up batch) and the frames per batch."""
    loader = dm.train_dataloader()
    it = iter(loader)
    batch = next(it)
    frames_per_batch = batch["frames"].shape[0] * batch["frames"].shape[1]
    count, start = 0, time.perf_counter()
    for _ in range(n_batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        count += batch["frames"].shape[0] * batch["frames"].shape[1]
    return count / (time.perf_counter() - start), frames_per_batch


def resnet_throughput(channels: int, size: int, frames_per_batch: int, n_steps: int) -> float:
    """Frames/s of ResNet-18 training steps on ``(frames_per_batch, channels, size, size)`` inputs."""
    model = torchvision.models.resnet18(num_classes=2)
    model.conv1 = torch.nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(frames_per_batch, channels, size, size)
    y = torch.rand(frames_per_batch, 2)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    return n_steps * frames_per_batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="reuse a cache folder (default: a temp folder)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--clip-length", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--num-workers", type=int, default=0, help="dataloader workers")
    parser.add_argument("--build-workers", type=int, default=2, help="simulation processes for the cache build")
    parser.add_argument("--batches", type=int, default=30, help="loader batches timed")
    parser.add_argument("--steps", type=int, default=5, help="ResNet-18 training steps timed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or Path(tmp)
        dm = SyntheticFacesDataModule(cache_dir, image_size=args.image_size, clip_length=args.clip_length,
                                      batch_size=args.batch_size, num_workers=args.num_workers,
                                      build_workers=args.build_workers, in_memory=False)
        start = time.perf_counter()
        dm.prepare_data()
        build_s = time.perf_counter() - start
        dm.setup("fit")
        clips = len(dm.train_set.clips) + len(dm.val_set.clips)
        print(f"cache: {dm.cache_root} ({clips} clips in train+val), build {build_s:.1f} s "
              f"(0 s if it was already built)")
        print(f"torch threads: {torch.get_num_threads()}, dataloader workers: {args.num_workers}")
        results = {}
        for in_memory in (False, True):
            dm.hparams.in_memory = in_memory
            dm.train_set = None
            dm.setup("fit")
            results[in_memory], per_batch = loader_throughput(dm, args.batches)
            label = "in RAM (in_memory=True)" if in_memory else "HDF5 slices (in_memory=False)"
            print(f"loader, {label:30s} {results[in_memory]:8.0f} frames/s  "
                  f"(batches of {args.batch_size} x T={args.clip_length})")
        shape = (per_batch, dm.num_channels, args.image_size, args.image_size)
        model_fps = resnet_throughput(dm.num_channels, args.image_size, per_batch, args.steps)
        print(f"ResNet-18 training step on {shape}: {model_fps:8.0f} frames/s")
        for in_memory, fps in results.items():
            ratio = fps / model_fps
            print(f"ratio loader/model, in_memory={in_memory!s:5}: {ratio:6.1f} x  "
                  f"(target >= 5: {'met' if ratio >= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
