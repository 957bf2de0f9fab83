"""Training throughput of the model zoo: model vs data loader, channels-last and bfloat16 autocast.

    .venv/bin/python benchmarks/bench_training.py                                 # the default selection
    .venv/bin/python benchmarks/bench_training.py --names "tiny_cnn*,resnet18" --threads 1 --repeats 7
    .venv/bin/python benchmarks/bench_training.py --names "*"                     # every registered model

At the demo's input contract (synthetic faces, TBR, 1 channel, T = 4 frames of 64x64, batch 16), in one process:

* the data loader: samples/s of the real ``SyntheticFacesDataModule`` train loader (events in RAM,
  ``cache_frames=True``) with ``num_workers`` 0 and 2, on the first epoch (cropping and encoding every
  sample) and once the frames are cached (after ``--loader-warm-epochs`` epochs);
* each model (``create_model(name)`` with its defaults): training samples/s of ``training_step`` (forward
  and loss, as Lightning runs it), backward and an AdamW step on one real batch of the loader, for four
  variants of the same initial weights: fp32 contiguous (the reference), ``channels_last`` weights
  (:func:`to_channels_last`), ``torch.autocast(device, dtype=torch.bfloat16)`` around ``training_step``
  (what Lightning's ``precision="bf16-mixed"`` does), and both; with 1 and 2 torch threads on CPU, and on
  the GPU when CUDA is available;
* the ratio loader/model (target: at least 1 for every model, i.e. the loader is never the bottleneck);
* the largest difference of each variant's predictions from the fp32 ones (same weights, same batch,
  training mode) against a stated tolerance, and whether every timed loss was finite.

Timings: after ``--warmup`` steps per (variant, threads), ``--repeats`` rounds each timing ``--steps``
steps of every (threads, variant) in turn (interleaved, so a busy machine slows all of them alike);
samples/s is the batch size over the median step time. The load average is printed at the start and end.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import math
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from neurova.datamodules import SyntheticFacesDataModule
from neurova.models import VARegressionModule, create_model, list_models

DEFAULT_NAMES = "tiny_cnn,tiny_cnn_fusion,resnet18,resnet18_fusion,resnet18_gru,r3d_18"
#: Largest accepted |prediction - fp32 prediction| (predictions are valence/arousal in [-1, 1]).
CHANNELS_LAST_ATOL = 1e-4
BF16_ATOL = 5e-2


@dataclass(frozen=True)
class Variant:
    """One way of running the same model: weights' memory format and autocast precision."""

    name: str
    channels_last: bool
    bf16: bool

    @property
    def atol(self) -> float:
        """Tolerance of this variant's predictions against the fp32 contiguous ones."""
        return BF16_ATOL if self.bf16 else CHANNELS_LAST_ATOL


VARIANTS = (
    Variant("fp32", channels_last=False, bf16=False),
    Variant("channels_last", channels_last=True, bf16=False),
    Variant("bf16", channels_last=False, bf16=True),
    Variant("channels_last+bf16", channels_last=True, bf16=True),
)


def select_models(spec: str) -> list[str]:
    """Registered names matching a comma-separated list of shell patterns, in the order given, without repeats.

    Raises:
        ValueError: a pattern matches no registered model.
    """
    names: list[str] = []
    registered = list_models()
    for pattern in (p.strip() for p in spec.split(",")):
        if not pattern:
            continue
        matched = [n for n in registered if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise ValueError(f"--names: {pattern!r} matches no registered model (registered: {', '.join(registered)})")
        names += [n for n in matched if n not in names]
    if not names:
        raise ValueError("--names selects no model")
    return names


def to_channels_last(module: nn.Module) -> nn.Module:
    """Store every 4-D parameter and buffer of ``module`` as ``torch.channels_last`` and every 5-D one as
    ``torch.channels_last_3d``, in place; returns ``module``.

    ``module.to(memory_format=torch.channels_last)`` does the 4-D half but raises on the 5-D weights of 3D
    convolutions (R3D, R(2+1)D); convolutions then compute in the weights' layout whatever the input's.
    """
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for tensor in [*module.parameters(), *module.buffers()]:
        memory_format = formats.get(tensor.ndim)
        if memory_format is not None:
            tensor.data = tensor.data.contiguous(memory_format=memory_format)
    return module


def _autocast(device: torch.device, bf16: bool) -> AbstractContextManager[Any]:
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


class TrainStep:
    """One model copy, its AdamW optimiser and a fixed batch on ``device``, run as Lightning would run it.

    ``step()`` runs ``training_step`` (under bf16 autocast for a bf16 variant), ``backward`` and
    ``optimizer.step()``, and returns the loss.
    """

    def __init__(self, model: VARegressionModule, variant: Variant, batch: Mapping[str, Any],
                 device: torch.device) -> None:
        self.variant = variant
        self.device = device
        self.model = copy.deepcopy(model).to(device).train()
        if variant.channels_last:
            to_channels_last(self.model)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.batch = {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}
        self.losses: list[float] = []

    def step(self) -> Tensor:
        with _autocast(self.device, self.variant.bf16):
            loss = self.model.training_step(self.batch, 0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    @torch.no_grad()
    def predict(self) -> Tensor:
        """Predictions on the batch in training mode (batch statistics), without a step; float32 on the CPU."""
        torch.manual_seed(0)  # same dropout masks in every variant
        with _autocast(self.device, self.variant.bf16):
            return self.model(self.batch["frames"]).float().cpu()

    def timed_steps(self, n: int) -> list[float]:
        """Seconds of each of ``n`` steps (the device synchronised); the losses are kept in :attr:`losses`."""
        times = []
        for _ in range(n):
            _sync(self.device)
            start = time.perf_counter()
            loss = self.step()
            _sync(self.device)
            times.append(time.perf_counter() - start)
            self.losses.append(loss.item())
        return times


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class ModelResult:
    name: str
    setting: str  # "cpu, 1 thread", "cuda"
    samples_per_s: dict[str, float]
    max_diff: dict[str, float]
    finite: dict[str, bool]


def _settings(threads: Sequence[int], cuda: bool) -> list[tuple[torch.device, int | None]]:
    return [(torch.device("cpu"), t) for t in threads] + ([(torch.device("cuda"), None)] if cuda else [])


def _setting_label(device: torch.device, threads: int | None) -> str:
    return f"cpu, {threads} thr" if threads is not None else device.type


def _enter(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)


def bench_model(name: str, batch: Mapping[str, Any], in_chans: int, settings: list[tuple[torch.device, int | None]],
                args: argparse.Namespace) -> list[ModelResult]:
    """Interleaved timings of every variant of ``name`` in every (device, threads) setting.

    One copy of the model per (device, variant), shared by the thread counts of that device.
    """
    torch.manual_seed(0)
    model = create_model(name, in_chans=in_chans)
    devices = list(dict.fromkeys(device for device, _ in settings))
    runners = {(d, v.name): TrainStep(model, v, batch, d) for d in devices for v in VARIANTS}
    del model
    diffs: dict[tuple[torch.device, str], float] = {}
    for device in devices:
        reference = runners[device, "fp32"].predict()
        for v in VARIANTS:
            diffs[device, v.name] = (runners[device, v.name].predict() - reference).abs().max().item()
    for device, threads in settings:
        _enter(threads)
        for v in VARIANTS:
            runners[device, v.name].timed_steps(args.warmup)
    times: dict[tuple[int, str], list[float]] = {(s, v.name): [] for s in range(len(settings)) for v in VARIANTS}
    for _ in range(args.repeats):
        for s, (device, threads) in enumerate(settings):
            _enter(threads)
            for v in VARIANTS:
                times[s, v.name] += runners[device, v.name].timed_steps(args.steps)
    return [ModelResult(name, _setting_label(device, threads),
                        {v.name: args.batch_size / statistics.median(times[s, v.name]) for v in VARIANTS},
                        {v.name: diffs[device, v.name] for v in VARIANTS},
                        {v.name: all(math.isfinite(x) for x in runners[device, v.name].losses) for v in VARIANTS})
            for s, (device, threads) in enumerate(settings)]


def _cycle(loader: DataLoader) -> Iterator[Mapping[str, Any]]:
    while True:
        yield from loader


def loader_throughput(dm: SyntheticFacesDataModule, workers: int, warm_epochs: int, batches: int,
                      repeats: int) -> tuple[float, float]:
    """(samples/s of the first epoch, median samples/s over ``repeats`` runs of ``batches`` batches once cached)."""
    dm.num_workers = workers
    dm.train_set = None
    dm.setup("fit")
    loader = dm.train_dataloader()
    start, count = time.perf_counter(), 0
    for batch in loader:  # the first epoch: every sample cropped, resized and encoded
        count += len(batch["frames"])
    cold = count / (time.perf_counter() - start)
    for _ in range(warm_epochs - 1):
        for _ in loader:
            pass
    it = _cycle(loader)
    rates = []
    for _ in range(repeats):
        start, count = time.perf_counter(), 0
        for _ in range(batches):
            count += len(next(it)["frames"])
        rates.append(count / (time.perf_counter() - start))
    del it, loader  # ends the persistent workers
    return cold, statistics.median(rates)


def _print_table(header: Sequence[str], rows: list[Sequence[str]], widths: Sequence[int]) -> None:
    line = "".join(f"{h:>{w}}" if i else f"{h:<{w}}" for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(row, widths, strict=True))),
              flush=True)


def _load() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default=DEFAULT_NAMES,
                        help="comma-separated shell patterns over neurova.models.list_models() (default: %(default)s)")
    parser.add_argument("--threads", default="1,2", help="torch CPU thread counts, comma-separated")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--clip-length", type=int, default=4, help="frames T per sample (video models use all)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant and setting")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per variant in each round")
    parser.add_argument("--workers", default="0,2", help="loader num_workers values, comma-separated")
    parser.add_argument("--loader-warm-epochs", type=int, default=3,
                        help="epochs before the cached loader is timed (each worker caches what it served)")
    parser.add_argument("--loader-batches", type=int, default=40, help="batches per timed loader run")
    parser.add_argument("--cache-dir", type=Path, default=None, help="reuse an event cache (default: a temp folder)")
    parser.add_argument("--no-cuda", action="store_true", help="skip the GPU even when CUDA is available")
    args = parser.parse_args(argv)
    names = select_models(args.names)
    threads = [int(t) for t in args.threads.split(",") if t]
    workers = [int(w) for w in args.workers.split(",") if w]
    settings = _settings(threads, torch.cuda.is_available() and not args.no_cuda)
    warnings.filterwarnings("ignore", message=r".*self\.log\(\).*")  # training_step outside a Trainer
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {_load()}; settings: "
          f"{', '.join(_setting_label(*s) for s in settings)}")

    with tempfile.TemporaryDirectory() as tmp:
        dm = SyntheticFacesDataModule(args.cache_dir or Path(tmp), image_size=args.image_size,
                                      clip_length=args.clip_length, batch_size=args.batch_size,
                                      cache_frames=True, in_memory=True)
        start = time.perf_counter()
        dm.prepare_data()
        print(f"event cache: {dm.cache_root}, built in {time.perf_counter() - start:.1f} s (0 if it existed)")
        dm.setup("fit")
        torch.manual_seed(0)
        batch = next(iter(dm.train_dataloader()))
        print(f"batch: frames {tuple(batch['frames'].shape)}, train set {len(dm.train_set)} samples\n")

        loader_rows, loader_rates = [], {}
        _enter(threads[0])
        for w in workers:
            cold, cached = loader_throughput(dm, w, args.loader_warm_epochs, args.loader_batches, args.repeats)
            loader_rates[w] = cached
            loader_rows.append((str(w), f"{cold:.0f}", f"{cached:.0f}"))
        print(f"data loader (SyntheticFacesDataModule, cache_frames=True, {threads[0]} torch thread(s) in the "
              "main process), samples/s:")
        _print_table(("num_workers", "first epoch", "cached"), loader_rows, (12, 13, 10))

        results: list[ModelResult] = []
        for name in names:
            results += bench_model(name, batch, dm.num_channels, settings, args)
            print(f"  measured {name} (load {_load()})", flush=True)

    print(f"\ntraining samples/s (training_step + backward + AdamW, batch {args.batch_size}, "
          f"{args.clip_length}x{args.image_size}x{args.image_size}); variants as ratios to fp32 in the same run:")
    rows = []
    for r in results:
        fp32 = r.samples_per_s["fp32"]
        rows.append((r.name, r.setting, f"{fp32:.1f}",
                     *(f"{r.samples_per_s[v.name] / fp32:.2f}x" for v in VARIANTS[1:]),
                     *(f"{loader_rates[w] / fp32:.0f}x" for w in workers)))
    _print_table(("model", "setting", "fp32", *(v.name for v in VARIANTS[1:]), *(f"loader w{w}" for w in workers)),
                 rows, (18, 12, 8, 15, 8, 20, *(11 for _ in workers)))

    print(f"\nmax |prediction - fp32 prediction| (tolerance {CHANNELS_LAST_ATOL:g} channels-last, {BF16_ATOL:g} "
          "bf16) and finite losses:")
    rows, failures = [], []
    for r in results:
        cells = []
        for v in VARIANTS[1:]:
            ok = r.max_diff[v.name] <= v.atol and r.finite[v.name]
            cells.append(f"{r.max_diff[v.name]:.1e}{'' if ok else ' FAIL'}")
            if not ok:
                failures.append(f"{r.name} ({r.setting}) {v.name}")
        rows.append((r.name, r.setting, *cells, "yes" if all(r.finite.values()) else "NO"))
    _print_table(("model", "setting", *(v.name for v in VARIANTS[1:]), "losses finite"), rows,
                 (18, 12, 15, 10, 20, 15))
    bottlenecks = [f"{r.name} ({r.setting}, w{w})" for r in results for w in workers
                   if loader_rates[w] < r.samples_per_s["fp32"]]
    print(f"\nloader slower than the model (ratio < 1): {', '.join(bottlenecks) or 'none'}")
    print(f"outside tolerance or non-finite: {', '.join(failures) or 'none'}")
    print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
