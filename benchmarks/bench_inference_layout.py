"""Offline inference with and without ``neurova.nets.layout.inference_layout``, in the same process.

``neurova.predict`` (offline: whole windows in batches) and ``ZeroShotEvaluator`` run a model whose trunk prefers
channels-last weights (``TinyConvNet``) with such weights and the trunk's batch norms folded into the convolutions;
other models as they are. This script times both with the layout and without it (``inference_layout`` patched to
leave the model as it is), interleaved, one torch thread, medians of ``--repeats``, and prints the ratio and the
largest output difference:

* ``predict(..., stream=False)`` on a simulated head-and-shoulders recording (346x260, noisy preset, ``--seconds``
  long, fixed face box), for the shipped ``tiny_cnn_fusion.synthetic_faces_cameras`` and an untrained
  ``resnet18_fusion`` at the same contract;
* ``ZeroShotEvaluator.predict_clips`` of the shipped tag over the synthetic emotion clips (the batches built once).

It also prints what folding each model's trunk costs (``fold_batch_norm``, median of 7 calls), once per call where a
trunk is folded.

    .venv/bin/python benchmarks/bench_inference_layout.py [--seconds 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np
import torch

import neurova
import neurova.nets.layout
from neurova.datamodules import SyntheticFacesDataModule
from neurova.datasets.render import sample_identity, sample_va_trajectory
from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
from neurova.events import SensorSize
from neurova.models import create_model, from_pretrained
from neurova.simulator import simulate
from neurova.zero_shot.evaluate import ZeroShotEvaluator

TAG = "tiny_cnn_fusion.synthetic_faces_cameras"
SENSOR = SensorSize(346, 260)


def head_recording(seconds: float, seed: int = 5) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Noisy events of a synthetic head-and-shoulders clip at 25 fps and its median face box."""
    n = round(seconds * 25)
    layout = sample_scene_layout(seed, SENSOR, face_fraction=(0.5, 0.5))
    frames, boxes = render_scene_clip(sample_identity(seed), layout, sample_va_trajectory(n, seed, fps=25), fps=25,
                                      rng=seed)
    events = simulate(np.rint(frames * 255).astype(np.uint8), np.arange(n) * 40_000, preset="noisy", seed=seed)
    return events, tuple(int(v) for v in np.rint(np.median(boxes, axis=0)))


def offline_models() -> dict[str, torch.nn.Module]:
    """The models timed offline, by name: the shipped :data:`TAG` and an untrained ``resnet18_fusion`` (seed 0) at its
    contract."""
    shipped = from_pretrained(TAG)
    torch.manual_seed(0)
    resnet = create_model("resnet18_fusion", input_contract=shipped.input_contract.to_dict()).eval()
    return {TAG: shipped, "resnet18_fusion (untrained)": resnet}


def offline_setup(seconds: float, repeats: int, reference: str = "") -> tuple[np.ndarray, tuple[int, int, int, int],
                                                                           dict[str, torch.nn.Module]]:
    """The offline benches' set-up (warnings off, one torch thread): :func:`head_recording` of ``seconds``, the
    :func:`offline_models`, and their header line (``reference``: what the ratios are against, if said)."""
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    events, box = head_recording(seconds)
    print(f"predict(stream=False): {len(events):,} events over {seconds:g} s on {SENSOR.width}x{SENSOR.height}, "
          f"face box {box}; one thread, medians of {repeats} interleaved runs" + (f"; reference: {reference}"
                                                                                   if reference else ""))
    return events, box, offline_models()


def without_layout() -> contextlib.AbstractContextManager[Any]:
    """``inference_layout`` patched to leave the model as it is (the code before it)."""
    return mock.patch.object(neurova.nets.layout, "inference_layout", lambda model, **_: contextlib.nullcontext())


def compare(run: Callable[[], np.ndarray], repeats: int) -> str:
    """Interleaved timings of ``run`` with and without the layout: medians, ratio, largest output difference."""
    seconds: dict[str, list[float]] = {"layout": [], "plain": []}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name in seconds:
            with without_layout() if name == "plain" else contextlib.nullcontext():
                start = time.perf_counter()
                outputs[name] = run()
                seconds[name].append(time.perf_counter() - start)
    new, old = statistics.median(seconds["layout"]), statistics.median(seconds["plain"])
    return (f"with {new:.3f} s, without {old:.3f} s, {old / new:.2f}x; max |diff| "
            f"{float(np.abs(outputs['layout'] - outputs['plain']).max()):.1e}")


def fold_ms(trunk: torch.nn.Module, repeats: int = 7) -> float:
    """Median milliseconds of folding ``trunk``'s batch norms (:func:`neurova.nets.layout.fold_batch_norm`)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        neurova.nets.layout.fold_batch_norm(trunk)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the simulated recording")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    events, box, models = offline_setup(args.seconds, args.repeats)
    shipped = models[TAG]
    for name, model in models.items():
        def run(model: Any = model) -> np.ndarray:
            return neurova.predict(model, events, sensor_size=SENSOR, face_box=box, stream=False).va

        print(f"  {name}: {compare(run, args.repeats)}; folding its trunk takes {fold_ms(model.net.trunk):.1f} ms")
    with tempfile.TemporaryDirectory() as cache:
        datamodule = SyntheticFacesDataModule(cache_dir=cache, batch_size=8, test_split="emotion",
                                              build_splits=["emotion"], contract=shipped.input_contract)
        datamodule.prepare_data()
        datamodule.setup("test")
        batches = list(datamodule.test_dataloader())
    evaluator = ZeroShotEvaluator(shipped)
    samples = sum(len(batch["frames"]) for batch in batches)
    print(f"ZeroShotEvaluator.predict_clips of {TAG}: {samples} samples of the synthetic emotion clips")
    print(f"  {compare(lambda: np.concatenate(evaluator.predict_clips(batches)[1]), args.repeats)}")


if __name__ == "__main__":
    main()
