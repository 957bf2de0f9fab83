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
  (:func:`neurova.nets.layout.to_channels_last`, as a fit on the CPU lays out trunks that prefer it),
  ``torch.autocast(device, dtype=torch.bfloat16)`` around ``training_step`` (what Lightning's
  ``precision="bf16-mixed"`` does), and both; with 1 and 2 torch threads on CPU, and on the GPU when CUDA is
  available;
* the ratio loader/model (target: at least 1 for every model, i.e. the loader is never the bottleneck);
* the largest difference of each variant's predictions from the fp32 ones (same weights, same batch,
  training mode) against a stated tolerance, and whether every timed loss was finite.

Timings: after ``--warmup`` steps per variant, ``--repeats`` rounds each timing ``--steps`` steps of every
variant in turn (interleaved, so a busy machine slows all of them alike); samples/s is the batch size over the
median step time. The load average is printed at the start and end.

Each thread count runs in its own process (this script started again with ``--threads N``): changing
``torch.set_num_threads`` inside a process that already trained under bf16 autocast made R3D-18's losses NaN
within two steps (torch 2.14.1, AMD EPYC with AVX512-BF16), even for a fresh copy of the model, while either
thread count alone trains normally; a training run never changes its thread count, so the benchmark does not.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from neurova._atomic import atomic_path
from neurova._memory import retain_freed_memory
from neurova.datamodules import SyntheticFacesDataModule
from neurova.models import VARegressionModule, create_model, list_models
from neurova.nets.layout import to_channels_last

DEFAULT_NAMES = "tiny_cnn,tiny_cnn_fusion,resnet18,resnet18_fusion,resnet18_gru,r3d_18"
#: Largest accepted |prediction - fp32 prediction| (predictions are valence/arousal in [-1, 1]), in training mode
#: (batch statistics). torch's channels-last batch norm computes the batch statistics less precisely on the CPU:
#: TinyConvNet's first batch norm (128 frames of 64x64) was 1.8e-4 off float64 against 1.2e-6 contiguous, for
#: outputs up to 4.2, and the fused model's predictions moved by 1-2.3e-4 (docs/benchmarks.md).
CHANNELS_LAST_ATOL = 1e-3
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
    setting: str  # "cpu, 1 thr", "cuda"
    samples_per_s: dict[str, float]
    max_diff: dict[str, float]
    finite: dict[str, bool]


def bench_model(name: str, batch: Mapping[str, Any], in_chans: int, settings: Sequence[tuple[str, torch.device]],
                args: argparse.Namespace) -> list[ModelResult]:
    """Interleaved timings of every variant of ``name`` on every ``(label, device)`` setting."""
    torch.manual_seed(0)
    model = create_model(name, in_chans=in_chans)
    runners = {(label, v.name): TrainStep(model, v, batch, device) for label, device in settings for v in VARIANTS}
    del model
    diffs: dict[tuple[str, str], float] = {}
    for label, _ in settings:
        reference = runners[label, "fp32"].predict()
        for v in VARIANTS:
            diffs[label, v.name] = (runners[label, v.name].predict() - reference).abs().max().item()
            runners[label, v.name].timed_steps(args.warmup)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
    for _ in range(args.repeats):
        for key, runner in runners.items():
            times[key] += runner.timed_steps(args.steps)
    return [ModelResult(name, label,
                        {v.name: args.batch_size / statistics.median(times[label, v.name]) for v in VARIANTS},
                        {v.name: diffs[label, v.name] for v in VARIANTS},
                        {v.name: all(math.isfinite(x) for x in runners[label, v.name].losses) for v in VARIANTS})
            for label, _ in settings]


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


def _load() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def measure(args: argparse.Namespace, names: Sequence[str], threads: int, cuda: bool) -> dict[str, Any]:
    """Everything measured with ``threads`` torch threads in this process: loader rates and model results."""
    torch.set_num_threads(threads)
    settings = [(f"cpu, {threads} thr", torch.device("cpu"))] + ([("cuda", torch.device("cuda"))] if cuda else [])
    dm = SyntheticFacesDataModule(args.cache_dir, image_size=args.image_size, clip_length=args.clip_length,
                                  batch_size=args.batch_size, cache_frames=True, in_memory=True)
    start = time.perf_counter()
    dm.prepare_data()
    print(f"[{threads} thr] event cache {dm.cache_root}: built in {time.perf_counter() - start:.1f} s "
          "(0 if it existed)", flush=True)
    dm.setup("fit")
    torch.manual_seed(0)
    batch = next(iter(dm.train_dataloader()))
    loader = {w: loader_throughput(dm, w, args.loader_warm_epochs, args.loader_batches, args.repeats)
              for w in args.workers}
    models: list[ModelResult] = []
    for name in names:
        models += bench_model(name, batch, dm.num_channels, settings, args)
        print(f"[{threads} thr] measured {name} (load {_load()})", flush=True)
    return {"threads": threads, "train_samples": len(dm.train_set), "batch_shape": list(batch["frames"].shape),
            "loader": {str(w): rates for w, rates in loader.items()}, "models": [asdict(m) for m in models]}


def _run_child(argv: Sequence[str], threads: int, cuda: bool, out: Path) -> dict[str, Any]:
    """:func:`measure` in a fresh process (one thread count per process: see the module notes)."""
    command = [sys.executable, __file__, *argv, "--threads", str(threads), "--results-json", str(out)]
    subprocess.run(command + ([] if cuda else ["--no-cuda"]), check=True)
    return json.loads(out.read_text())


def _print_table(header: Sequence[str], rows: list[Sequence[str]], widths: Sequence[int]) -> None:
    def line(cells: Sequence[str]) -> str:
        return "".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    print(line(header))
    print("-" * sum(widths))
    for row in rows:
        print(line(row))


def report(parts: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    """Print the loader table, the throughput table, the tolerance table and the verdicts."""
    workers = args.workers
    first = parts[0]
    print(f"\nbatch: frames {tuple(first['batch_shape'])}, train set {first['train_samples']} samples")
    print("\ndata loader (SyntheticFacesDataModule train loader, cache_frames=True), samples/s:")
    _print_table(("torch threads", "num_workers", "first epoch", "cached"),
                 [(str(p["threads"]), str(w), f"{p['loader'][str(w)][0]:.0f}", f"{p['loader'][str(w)][1]:.0f}")
                  for p in parts for w in workers], (14, 12, 13, 10))
    print(f"\ntraining samples/s (training_step + backward + AdamW, batch {args.batch_size}, T={args.clip_length}, "
          f"{args.image_size}x{args.image_size}); variants as ratios to fp32 in the same process; loader = cached "
          "loader samples/s / fp32 model samples/s:")
    rows, bottlenecks, failures = [], [], []
    tolerance_rows = []
    for p in parts:
        for m in p["models"]:
            fp32 = m["samples_per_s"]["fp32"]
            loader = {w: p["loader"][str(w)][1] / fp32 for w in workers}
            rows.append((m["name"], m["setting"], f"{fp32:.1f}",
                         *(f"{m['samples_per_s'][v.name] / fp32:.2f}x" for v in VARIANTS[1:]),
                         *(f"{loader[w]:.0f}x" for w in workers)))
            bottlenecks += [f"{m['name']} ({m['setting']}, w{w})" for w in workers if loader[w] < 1]
            cells = []
            for v in VARIANTS[1:]:
                ok = m["max_diff"][v.name] <= v.atol and m["finite"][v.name]
                cells.append(f"{m['max_diff'][v.name]:.1e}" + ("" if ok else " FAIL"))
                failures += [] if ok else [f"{m['name']} ({m['setting']}) {v.name}"]
            finite = [v.name for v in VARIANTS if not m["finite"][v.name]]
            tolerance_rows.append((m["name"], m["setting"], *cells, "all" if not finite else "NOT " + ",".join(finite)))
    _print_table(("model", "setting", "fp32", *(v.name for v in VARIANTS[1:]), *(f"loader w{w}" for w in workers)),
                 rows, (18, 12, 9, 15, 8, 20, *(11 for _ in workers)))
    print(f"\nmax |prediction - fp32 prediction| before training (tolerance {CHANNELS_LAST_ATOL:g} channels-last, "
          f"{BF16_ATOL:g} bf16) and finite losses over every timed step:")
    _print_table(("model", "setting", *(v.name for v in VARIANTS[1:]), "losses finite"), tolerance_rows,
                 (18, 12, 15, 13, 20, 16))
    print(f"\nloader slower than the model (ratio < 1): {', '.join(bottlenecks) or 'none'}")
    print(f"outside tolerance or non-finite: {', '.join(failures) or 'none'}")


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default=DEFAULT_NAMES,
                        help="comma-separated shell patterns over neurova.models.list_models() (default: %(default)s)")
    parser.add_argument("--threads", type=_int_list, default=[1, 2],
                        help="torch CPU thread counts, comma-separated; one process each")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--clip-length", type=int, default=4, help="frames T per sample (video models use all)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per variant and device")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per variant in each round")
    parser.add_argument("--workers", type=_int_list, default=[0, 2], help="loader num_workers values, comma-separated")
    parser.add_argument("--loader-warm-epochs", type=int, default=3,
                        help="epochs before the cached loader is timed (each worker caches what it served)")
    parser.add_argument("--loader-batches", type=int, default=40, help="batches per timed loader run")
    parser.add_argument("--cache-dir", type=Path, default=None, help="reuse an event cache (default: a temp folder)")
    parser.add_argument("--no-cuda", action="store_true", help="skip the GPU even when CUDA is available")
    parser.add_argument("--glibc-malloc-default", action="store_true",
                        help="keep glibc's malloc thresholds (by default they are raised, as the neurova command does)")
    parser.add_argument("--results-json", type=Path, default=None, help=argparse.SUPPRESS)  # a child's output
    args = parser.parse_args(argv)
    retained = not args.glibc_malloc_default and retain_freed_memory()
    names = select_models(args.names)
    cuda = torch.cuda.is_available() and not args.no_cuda
    warnings.filterwarnings("ignore", message=r".*self\.log\(\).*")  # training_step outside a Trainer
    if args.results_json is not None:  # a child: one thread count
        with atomic_path(args.results_json) as tmp:
            Path(tmp).write_text(json.dumps(measure(args, names, args.threads[0], cuda)))
        return
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {_load()}; models: {', '.join(names)}; "
          f"torch threads {args.threads}{' and CUDA' if cuda else ''}; freed memory retained (neurova._memory): "
          f"{'yes' if retained else 'no'}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.cache_dir is None:  # the children share one event cache
            argv += ["--cache-dir", tmp]
        parts = [_run_child(argv, t, cuda and i == 0, Path(tmp) / f"results_{t}.json")
                 for i, t in enumerate(args.threads)]
    report(parts, args)
    print(f"\nload average at the end: {_load()}")


if __name__ == "__main__":
    main()
