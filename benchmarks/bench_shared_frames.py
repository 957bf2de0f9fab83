"""Offline prediction with each shared frame encoded and run through the trunk once, against every window whole.

Consecutive predictions one frame interval apart share K-1 of their K frames. Offline ``neurova.predict`` encodes
only each window's new frames (``neurova.streaming.IncrementalModelInput``) and runs each batch's frames through
the model's trunk once (``FrameStepper.windows``). The reference, in the same process, is the path before it: every
window encoded whole and the model run on every window's K frames (``IncrementalModelInput.new_frames`` patched to
answer K, so that no two windows share a frame id). Both run interleaved, one torch thread, medians of ``--repeats``,
on a simulated head-and-shoulders recording (346x260, noisy preset, ``--seconds`` long, fixed face box), for the
shipped ``tiny_cnn_fusion.synthetic_faces_cameras`` and an untrained ``resnet18_fusion`` at the same contract;
printed with the ratio, the frames encoded and the largest output difference::

    .venv/bin/python benchmarks/bench_shared_frames.py [--seconds 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

import neurova
from neurova.streaming import IncrementalModelInput

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_inference_layout import SENSOR, offline_setup


def every_window_whole() -> contextlib.AbstractContextManager[Any]:
    """Every window encoded whole, with fresh frame ids: the trunk runs on every window's frames (the path before)."""
    return mock.patch.object(IncrementalModelInput, "new_frames", lambda self, *args: self.num_frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="length of the simulated recording")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    events, box, models = offline_setup(args.seconds, args.repeats, reference="every window whole")
    for name, model in models.items():
        seconds: dict[str, list[float]] = {"shared": [], "whole": []}
        results: dict[str, Any] = {}
        for _ in range(args.repeats):
            for way in seconds:
                with every_window_whole() if way == "whole" else contextlib.nullcontext():
                    start = time.perf_counter()
                    results[way] = neurova.predict(model, events, sensor_size=SENSOR, face_box=box, stream=False)
                    seconds[way].append(time.perf_counter() - start)
        new, old = statistics.median(seconds["shared"]), statistics.median(seconds["whole"])
        encoded = {way: result.settings["frames_encoded"] for way, result in results.items()}
        diff = float(np.abs(results["shared"].va - results["whole"].va).max())
        print(f"  {name}: {len(results['shared'])} predictions; shared frames {new:.3f} s ({encoded['shared']} frames "
              f"encoded), every window whole {old:.3f} s ({encoded['whole']}), {old / new:.2f}x; max |diff| {diff:.1e}")


if __name__ == "__main__":
    main()
