"""Benchmark: event statistics of the synthetic faces next to a real recording's.

Builds a small synthetic-faces cache exactly as the dataset does (head-and-shoulders
scenes on the sensor, simulated at the sensor's resolution, true face boxes), then prints:

* events per sensor pixel per 5 ms bin, over the whole sensor and inside the face box;
* for the model input (TBR, N = 8 bins of 5 ms, merged polarity, the face box cropped and
  brought to 64 x 64 by :class:`neurova.transforms.ToModelInput`, ``resize="events"`` as the
  dataset does and ``resize="area"`` as older contracts do): the fraction of non-zero pixels
  and the median non-zero value;

next to the numbers measured on a real DVXplorer recording (320 x 240, a seated person,
hand-drawn 110-pixel face box) and on the 64 x 64 face-only clips used before the scenes
(quoted from the issue; not re-measured here). It also prints the render and simulation
time per clip, and with ``--speed`` the scene renderer's time per frame at several sensor
sizes and supersampling factors.

    .venv/bin/python benchmarks/bench_synthetic_stats.py [--sensor 160x120] [--subjects 12] [--frames 50]
        [--preset clean] [--speed]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from neurova.contract import InputContract
from neurova.datasets.render import sample_identity, sample_va_trajectory
from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
from neurova.datasets.synthetic import FRAME_INTERVAL_US, SyntheticFaces, SyntheticFacesConfig, prepare_synthetic_faces
from neurova.events import slice_time
from neurova.transforms import ToModelInput

BIN_US = 5000
N_BITS = 8
REFERENCE = {  # from the issue: (events/px/bin sensor centre, in the face box, TBR non-zero fraction, median)
    "real DVXplorer 320x240 (box 110 px)": ("0.016 (centre square)", "0.034", "0.47", "n/a"),
    "face-only 64x64 clips (before)": ("0.016", "0.016", "0.065", "0.25"),
}


def measure(ds: SyntheticFaces, image_size: int) -> dict[str, float]:
    """Pooled statistics over every frame (after the first TBR window) of every clip of ``ds``."""
    window = N_BITS * BIN_US
    sensor_rate, face_rate = [], []
    nonzero: dict[str, list[float]] = {"events": [], "area": []}
    values: dict[str, list[np.ndarray]] = {"events": [], "area": []}
    contracts = {
        resize: InputContract(n_bits=N_BITS, bin_us=BIN_US, polarity="merge", image_size=image_size, clip_length=1,
                              frame_interval_us=FRAME_INTERVAL_US, face_crop=None, resize=resize)
        for resize in ("events", "area")
    }
    for clip_id, meta in ds.clips.items():
        events = ds.clip_events(clip_id)
        w, h = meta.sensor_size
        for k, t_end in enumerate(meta.frame_timestamps_us):
            if t_end < window:
                continue
            chunk = slice_time(events, int(t_end) - window, int(t_end))
            sensor_rate.append(len(chunk) / (w * h * N_BITS))
            x0, y0, bw, bh = meta.face_boxes[k]
            inside = (chunk["x"] >= x0) & (chunk["x"] < x0 + bw) & (chunk["y"] >= y0) & (chunk["y"] < y0 + bh)
            face_rate.append(float(inside.sum()) / (bw * bh * N_BITS))
            for resize, contract in contracts.items():
                frame = ToModelInput(contract, tuple(meta.face_boxes[k]))(chunk, int(t_end))
                nonzero[resize].append(float((frame > 0).mean()))
                values[resize].append(frame[frame > 0])
    stats = {"sensor": float(np.mean(sensor_rate)), "face": float(np.mean(face_rate))}
    for resize in contracts:
        stats[f"nonzero_{resize}"] = float(np.mean(nonzero[resize]))
        pooled = np.concatenate(values[resize])
        stats[f"median_{resize}"] = float(np.median(pooled)) if len(pooled) else float("nan")
    return stats


def render_speed() -> None:
    """Print the scene renderer's time per frame (median over 3 layouts) per sensor size and supersampling."""
    for sensor in ((128, 96), (160, 120), (320, 240), (1280, 720)):
        for supersample in (1, 2):
            n = 10 if sensor[0] <= 320 else 3
            per_frame = []
            for seed in range(3):
                rng = np.random.default_rng(seed)
                identity, layout = sample_identity(rng), sample_scene_layout(rng, sensor)
                va = sample_va_trajectory(n, rng)
                start = time.perf_counter()
                render_scene_clip(identity, layout, va, rng=seed, supersample=supersample)
                per_frame.append((time.perf_counter() - start) / n)
            print(f"| {sensor[0]} x {sensor[1]} | {supersample} | {np.median(per_frame) * 1000:.0f} ms |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sensor", default="160x120", help="WxH of the synthetic sensor")
    parser.add_argument("--subjects", type=int, default=12)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="clean", help="simulator preset (clean: no sensor noise; noisy)")
    parser.add_argument("--speed", action="store_true", help="print only the renderer's time per frame")
    args = parser.parse_args()
    if args.speed:
        print("| sensor | supersample | time per frame |\n|---|---|---|")
        render_speed()
        return
    width, height = (int(v) for v in args.sensor.lower().split("x"))
    config = SyntheticFacesConfig(n_subjects=args.subjects, clips_per_subject=1, frames_per_clip=args.frames,
                                  image_size=args.image_size, sensor_size=(width, height),
                                  emotion_clips_per_emotion=0, seed=args.seed, preset=args.preset)
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        prepare_synthetic_faces(root, config, progress=False)
        seconds = (time.perf_counter() - start) / args.subjects
        ds = SyntheticFaces(root, "all", n_subjects=args.subjects, clips_per_subject=1, frames_per_clip=args.frames,
                            image_size=args.image_size, sensor_size=(width, height), emotion_clips=False,
                            seed=args.seed, preset=args.preset, build=False, mode="frame")
        stats = measure(ds, args.image_size)
    print(f"{args.subjects} clips x {args.frames} frames on a {width}x{height} sensor: "
          f"{seconds * 1000:.0f} ms per clip to render and simulate (one process)\n")
    header = ("data", "events/px/bin, sensor", "events/px/bin, face box", "TBR non-zero", "TBR median non-zero")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, row in REFERENCE.items():
        print(f"| {name} | " + " | ".join(row) + " |")
    for resize in ("events", "area"):
        print(f"| synthetic scenes {width}x{height}, {args.preset}, resize={resize} | {stats['sensor']:.3f} | {stats['face']:.3f} | "
              f"{stats[f'nonzero_{resize}']:.3f} | {stats[f'median_{resize}']:.3f} |")


if __name__ == "__main__":
    main()
