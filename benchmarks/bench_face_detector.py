"""The event-face detector: IoU on held-out simulated scenes, speed per call, false positives on real files.

Run from the repository root (1 CPU thread; the test split is generated on first use and cached
under ``$NEUROVA_CACHE/face_detector``, a few minutes):

    .venv/bin/python benchmarks/bench_face_detector.py [--weights W.safetensors] [--plot docs/images/face_detector.png]
    .venv/bin/python benchmarks/bench_face_detector.py --sensors clean noisy dim dark davis346_dark [--cache-dir D]

Prints, on the test split of the recipe stored with the weights (subjects and scenes never seen in
training, sensors 320x240 .. 1280x720, clean and noisy simulation, 200 ms windows every 40 ms):
the share of windows whose box has IoU >= 0.5 with the true box and the median IoU, for the learned
detector (without and with :class:`neurova.faces.BoxTracker`), the Haar fallback, ``auto`` and the
centred square; then the time per call on 1 core; then, on the real event files of
``../shared/data/events`` (no faces in them, 9 to 130 ms long), the share of 50 ms windows where a face
is reported.

``--sensors`` instead scores the learned detector and ``auto`` on the zoo protocol's 36 test subjects (160x120,
as ``bench_sensor_noise.py`` simulates them) under named simulated sensors (:data:`neurova.recipes.SENSORS`,
``threshold_ON[_OFF]``): windows of the recommended length ending 0.5, 1 and 1.5 s into each clip, IoU with the
true box of the frame nearest the window's end (no box counts as IoU 0). It shows how a camera's noise, which
the detector's training may not have had, moves the boxes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurova.cli.arguments import sensor_name
from neurova.face_detector_training import FaceDetectorRecipe, WindowSet, _cached_windows, evaluate_detector
from neurova.faces import HaarEventDetector, LearnedFaceDetector, default_weights, event_image, letterbox
from neurova.simulator import simulate

REAL_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "events"


def _recipe(detector: LearnedFaceDetector) -> FaceDetectorRecipe:
    stored = dict(detector.settings["recipe"])
    stored["window_ms"] = tuple(stored["window_ms"])
    stored["sensor_sizes"] = tuple(tuple(s) for s in stored["sensor_sizes"])
    stored["input_size"] = tuple(stored["input_size"])
    stored["widths"] = tuple(stored["widths"])
    if "noisy_sensors" in stored:  # weights trained before the field existed used v2e's noisy preset, the default
        stored["noisy_sensors"] = tuple(stored["noisy_sensors"])
    return FaceDetectorRecipe(**stored)


def plot_examples(detector: LearnedFaceDetector, test: WindowSet, path: Path, n: int = 12) -> None:
    """Event images of test windows (ON red, OFF blue) with the true box (green) and the detection (black)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(test.images), size=n, replace=False))
    found = detector.detect_images(test.images[rows].astype(np.float32) / 255, [tuple(s) for s in test.sensors[rows]])
    fig, axes = plt.subplots(3, n // 3, figsize=(3.2 * n // 3, 7.5))
    for ax, row, det in zip(axes.flat, rows, found):
        image = test.images[row].astype(np.float32) / 255
        ax.imshow(image[0] - image[1], cmap="bwr_r", vmin=-1, vmax=1)
        scale, pad_x, pad_y = letterbox(tuple(test.sensors[row]), detector.input_size)
        for box, colour, style in ((test.boxes[row], "green", "-"), (det.box, "black", "-" if det.found else ":")):
            if box is not None and np.isfinite(box).all():
                ax.add_patch(plt.Rectangle((box[0] * scale + pad_x, box[1] * scale + pad_y), box[2] * scale,
                                           box[3] * scale, fill=False, color=colour, linestyle=style, linewidth=1.5))
        ax.set_title(f"{test.sensors[row][0]}x{test.sensors[row][1]} {'noisy' if test.noisy[row] else 'clean'} "
                     f"score {det.score:.2f}", fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    print(f"figure -> {path}")


def accuracy(detector: LearnedFaceDetector, cache: Path | None, plot: Path | None) -> None:
    recipe = _recipe(detector)
    test = _cached_windows(recipe, "test", cache, progress=True)
    mapping = detector.settings["haar_mapping"]
    metrics = evaluate_detector(detector.net, test, recipe, detector.threshold,
                                (mapping["box_scale"], mapping["box_shift"]))
    if plot is not None:
        plot_examples(detector, test, plot)
    print(f"\nheld-out test split: {metrics['learned']['n']} face windows of {len(set(test.clip.tolist()))} clips, "
          f"{metrics['n_negative_windows']} windows without a face; threshold {detector.threshold:.3f}")
    print(f"{'method':<22}{'answered':>10}{'IoU>=0.5 (answered)':>22}{'IoU>=0.5 (all)':>16}{'median IoU':>12}")
    for name in ("learned", "learned_tracked", "learned_best_box", "haar", "haar_tracked", "auto", "auto_tracked",
                 "centre_square"):
        m = metrics[name]
        print(f"{name:<22}{m['answered']:>10.1%}{m['hit_rate']:>22.1%}{m['hit_rate_all']:>16.1%}{m['median_iou']:>12.2f}")
    print(f"false positives on face-less windows: learned {metrics['false_positive_rate']:.1%}, "
          f"haar {metrics['haar_false_positive_rate']:.1%}, auto {metrics['auto_false_positive_rate']:.1%}")
    print("learned, per sensor:")
    for sensor, m in metrics["learned_per_sensor"].items():
        print(f"  {sensor:<10} n={m['n']:<5} answered {m['answered']:.1%}  IoU>=0.5 {m['hit_rate']:.1%}  "
              f"median IoU {m['median_iou']:.2f}")


def _moving_texture(width: int, height: int, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.random((height // 4 + 8, width // 4 + 8)).astype(np.float32)
    big = np.kron(base, np.ones((4, 4), np.float32))
    frames = np.stack([big[k : k + height, k : k + width] for k in range(n)]) * 255
    return frames, np.arange(n) * 40_000


def speed(detector: LearnedFaceDetector) -> None:
    haar = HaarEventDetector()
    print("\ntime per call, 1 thread, 200 ms window of a textured scene moving 1 px per frame:")
    for sensor in ((320, 240), (1280, 720)):
        frames, ts = _moving_texture(*sensor)
        events = simulate(frames, ts, preset="noisy", seed=0)
        timings = {}
        for name, fn in (("event_image", lambda e, s=sensor: event_image(e, s, detector.input_size)),
                         ("learned", lambda e, s=sensor: detector.detect(e, s)),
                         ("haar", lambda e, s=sensor: haar.detect(e, s))):
            fn(events)
            repeats = 5
            start = time.perf_counter()
            for _ in range(repeats):
                fn(events)
            timings[name] = (time.perf_counter() - start) / repeats * 1e3
        print(f"  {sensor[0]}x{sensor[1]}, {len(events)} events: " + ", ".join(f"{k} {v:.1f} ms"
                                                                           for k, v in timings.items()))


def real_files(detector: LearnedFaceDetector, length_us: int = 50_000, hop_us: int = 25_000) -> None:
    from neurova.io import get_sensor_size, read_events

    if not REAL_DATA.is_dir():
        print(f"\nreal files: {REAL_DATA} absent, skipped")
        return
    haar = HaarEventDetector()
    print(f"\nreal event files without faces ({length_us // 1000} ms windows every {hop_us // 1000} ms, the whole file "
          "when shorter): windows reported as a face")
    for path in sorted(REAL_DATA.glob("*")):
        if path.suffix not in (".raw", ".aedat4"):
            continue
        events = read_events(path)
        sensor = get_sensor_size(path)
        t = events["t"]
        ends = np.arange(t[0] + length_us, t[-1] + 2, hop_us) if t[-1] - t[0] >= length_us else [t[-1] + 1]
        learned, classic, scores = 0, 0, []
        for end in ends:
            window = events[np.searchsorted(t, end - length_us) : np.searchsorted(t, end)]
            found = detector.detect(window, sensor)
            learned += found.found
            scores.append(found.score)
            classic += haar.detect(window, sensor).found
        print(f"  {path.name} ({sensor[0]}x{sensor[1]}, {len(events)} events over {(t[-1] - t[0]) / 1e3:.0f} ms, "
              f"{len(ends)} windows): learned {learned}/{len(ends)} (max score {max(scores):.2f}), "
              f"haar {classic}/{len(ends)}")


def box_ious(detector: Any, dataset: Any, window_us: int,
             ends_us: tuple[int, ...] = (500_000, 1_000_000, 1_500_000)) -> np.ndarray:
    """IoU of ``detector``'s box (0 where it finds none) with the true box of the frame nearest each window's end,
    for windows of ``window_us`` ending at ``ends_us`` in every clip of ``dataset`` (a synthetic faces split)."""
    import warnings

    from neurova.events import slice_time
    from neurova.faces import box_iou

    ious = []
    for clip_id, meta in dataset.clips.items():
        events = dataset.clip_events(clip_id)
        for end in ends_us:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = detector.detect(slice_time(events, end - window_us, end), dataset.sensor_size)
            frame = int(np.abs(meta.frame_timestamps_us - end).argmin())
            ious.append(box_iou(np.asarray(found.box, float), meta.face_boxes[frame]) if found.found else 0.0)
    return np.asarray(ious)


def under_sensors(weights: str, sensors: list[str], cache_dir: str | None) -> None:
    """IoU of the learned detector and ``auto`` on the protocol's test faces as each of ``sensors`` records them."""
    from bench_sensor_noise import test_set

    from neurova.faces import get_face_detector
    from neurova.models import from_pretrained

    contract = from_pretrained("tiny_cnn_fusion.synthetic_faces_cameras").input_contract  # the events ignore it
    detectors = {name: get_face_detector(name, weights=weights) for name in ("learned", "auto")}
    window = int(detectors["learned"].settings["recommended_window_us"])
    print("| sensor | detector | windows | IoU >= 0.5 | median IoU |\n|---|---|---|---|---|")
    for sensor in sensors:
        dataset = test_set(sensor, contract, cache_dir)
        for name, detector in detectors.items():
            ious = box_ious(detector, dataset, window)
            print(f"| {sensor} | {name} | {len(ious)} | {np.mean(ious >= 0.5):.1%} | {np.median(ious):.2f} |",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(default_weights()))
    parser.add_argument("--cache", default=None, help="cache folder (default $NEUROVA_CACHE/face_detector)")
    parser.add_argument("--plot", default=None, help="also save a figure of test windows with their boxes (PNG)")
    parser.add_argument("--sensors", nargs="+", type=sensor_name, default=None,
                        help="instead: IoU on the zoo's synthetic test faces under these simulated sensors")
    parser.add_argument("--cache-dir", default=None, help="event cache of the synthetic faces (with --sensors)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.sensors:
        under_sensors(args.weights, args.sensors, args.cache_dir)
        return
    from neurova.datasets.cache import default_cache_dir

    detector = LearnedFaceDetector(args.weights)
    weights = Path(args.weights)
    print(f"weights {weights.name}: {weights.stat().st_size / 1e6:.2f} MB, "
          f"{sum(p.numel() for p in detector.net.parameters())} parameters")
    print(json.dumps({k: detector.settings[k] for k in ("input_size", "threshold", "recommended_window_us")}))
    accuracy(detector, Path(args.cache) if args.cache else default_cache_dir() / "face_detector",
             Path(args.plot) if args.plot else None)
    speed(detector)
    real_files(detector)


if __name__ == "__main__":
    main()
