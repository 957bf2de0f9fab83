"""Benchmark: ``neurova.predict`` over a whole HD recording, the face found by the event-face detector.

The recording is a synthetic head-and-shoulders scene (:mod:`neurova.datasets.scenes`, seeded) on a
``--sensor`` sensor, ``--seconds`` long at 25 fps, simulated with ``--preset`` (the noisy preset with a moving
background gives about 7 M events/s at 1280x720, a busy real scene's rate). It is written to an HDF5 file and
predicted from that file with the shipped ``tiny_cnn_fusion.synthetic_faces`` model, ``detect_face="auto"``,
one torch thread. Printed: events, wall time of ``predict`` (reading the file included, imports not), the
real-time factor (recording seconds per second of work; above 1 is faster than real time), and how far the
detected boxes lie from the true face box (IoU).

    .venv/bin/python benchmarks/bench_predict.py [--seconds 4] [--sensor 1280x720] [--preset noisy] [--repeats 3]
    .venv/bin/python benchmarks/bench_predict.py --live 0 80 160    # as a live camera, per detect_lag_us (ms)
    .venv/bin/python benchmarks/bench_predict.py --live 240 --detect-every 500

``--live`` instead feeds the recording to ``predict`` in 40 ms chunks, each handed over when a camera would deliver
it, once per ``detect_lag_us`` given (ms; above 0 the detections run beside the predictions), and prints the
per-prediction latency: median, p90, the slowest after the first (which also runs the first detection), and those of
the predictions where the face box moved (a new box's sensor; ``--detect-every``: ms between detections).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import neurova
from neurova.datasets.render import sample_identity
from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
from neurova.events import SensorSize
from neurova.faces import DETECT_EVERY_US
from neurova.io import read_events, write_events
from neurova.models import from_pretrained
from neurova.simulator import simulate
from neurova.streaming import replay

FPS = 25.0


def make_recording(path: Path, seconds: float, sensor: SensorSize, preset: str) -> tuple[int, np.ndarray]:
    """Write the scene's events to ``path``; returns their number and the true face box of every frame."""
    n = round(seconds * FPS)
    va = np.stack([np.linspace(-0.6, 0.7, n), np.full(n, 0.5)], axis=1)
    layout = sample_scene_layout(7, tuple(sensor), face_fraction=(0.35, 0.45))
    frames, boxes = render_scene_clip(sample_identity(7), layout, va, fps=FPS, rng=7, supersample=1)
    events = simulate((frames * 255).astype(np.uint8), fps=FPS, preset=preset, seed=0)
    write_events(path, events, sensor)
    return len(events), boxes


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``(N, 4)`` ``[x0, y0, w, h]`` boxes."""
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1, y1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]), np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def live(model: torch.nn.Module, path: Path, sensor: SensorSize, lags_ms: list[float], every_ms: float) -> None:
    """``predict`` on the recording as a live camera delivers it (40 ms chunks at their wall time), per lag."""
    events = read_events(path)
    for lag_ms in lags_ms:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = neurova.predict(model, replay(events, 40_000, realtime=True), sensor_size=sensor,
                                     detect_face="auto", threads=1, detect_every_us=round(every_ms * 1000),
                                     detect_lag_us=round(lag_ms * 1000))
        ms = np.asarray(result.latency_ms)
        moved = np.flatnonzero(np.diff(result.box_start_us)) + 1  # a new sensor: the box moved
        print(f"live, detect_face='auto', detect_every {every_ms:g} ms, detect_lag {lag_ms:g} ms: {len(ms)} "
              f"predictions, median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, first {ms[0]:.1f} "
              f"ms, slowest after it {ms[1:].max():.1f} ms; the {len(moved)} where the box moved: median "
              f"{np.median(ms[moved]) if len(moved) else np.nan:.1f} ms, max {ms[moved].max() if len(moved) else np.nan:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--sensor", default="1280x720")
    parser.add_argument("--preset", default="noisy", choices=("clean", "noisy"))
    parser.add_argument("--repeats", type=int, default=3, help="predict runs; the median is reported")
    parser.add_argument("--live", nargs="+", type=float, metavar="LAG_MS",
                        help="stream the recording at a camera's pace instead, once per detect_lag_us (ms)")
    parser.add_argument("--detect-every", type=float, default=DETECT_EVERY_US / 1000, metavar="MS",
                        help="with --live: detect_every_us in ms (default: predict's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sensor = SensorSize.of(args.sensor)
    model = from_pretrained("tiny_cnn_fusion.synthetic_faces")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.h5"
        n_events, true_boxes = make_recording(path, args.seconds, sensor, args.preset)
        if args.live:
            live(model, path, sensor, args.live, args.detect_every)
            return
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            prediction = neurova.predict(model, path, detect_face="auto")
            seconds.append(time.perf_counter() - start)
    wall = statistics.median(seconds)
    frame = np.clip(np.rint(prediction.timestamps_us * FPS / 1e6).astype(int), 0, len(true_boxes) - 1)
    overlap = iou(np.asarray(prediction.boxes, dtype=np.float64), true_boxes[frame])
    print(f"{args.seconds:g} s at {sensor.width}x{sensor.height}, preset {args.preset}: {n_events:,} events "
          f"({n_events / args.seconds / 1e6:.1f} M/s), {len(prediction.timestamps_us)} predictions")  # fmt: skip
    print(f"predict: {wall:.2f} s (median of {args.repeats}), {n_events / wall / 1e6:.2f} M events/s, "
          f"real-time factor {args.seconds / wall:.2f}")  # fmt: skip
    print(f"face box IoU with the true box: median {np.median(overlap):.2f}, min {overlap.min():.2f}")


if __name__ == "__main__":
    main()
