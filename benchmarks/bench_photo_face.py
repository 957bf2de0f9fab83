"""The face path on a real photograph: a portrait animated into event recordings, then detected and predicted.

The synthetic faces neurova trains on are procedural. This benchmark is the closest thing to a real face
that this machine holds: matplotlib's sample portrait of Grace Hopper (``grace_hopper.jpg``, a real
photograph, public domain) with glasses, a cap, wrinkles and a starred flag behind her. It is animated
with the synthetic renderer's head-motion statistics, simulated by neurova's DVS emulator on three
sensors, and each 200 ms window (every 80 ms) is given to the face detectors, whose boxes are scored
against the true box moved with the photo. Then ``neurova.predict`` runs on one recording with
``detect_face="auto"``, and its model inputs are compared with the model's training inputs; the same recording
is streamed in 40 ms chunks to measure each prediction's latency (``--only-stream``). Last, the
head-motion recording at 346x260 under a flickering lamp (``--flicker 100:0.35``), predicted without and with
``deflicker=True``.

Two kinds of motion:

* ``head``: only the head moves (a feathered ellipse around it is warped, the rest of the photo stays put),
  as for a person sitting still in front of a fixed camera; the flag and the body fire almost no events;
* ``camera``: the whole photo moves (a hand-held camera, or the person swaying with the background), so
  the flag's stars fire as much as the face.

What differs from a real recording: the face is rigid (no expression, no blink, no talking, no 3-D
turn: a photo can only shift, roll and scale), its lighting is the photo's, and the events come from
the emulator rather than a sensor. Real sensors add their own noise and bias settings.

The true box follows :func:`neurova.datasets.scenes.face_box`'s definition: OpenCV's frontal Haar cascade on
the photo (intensity, not events), mapped to a box of side 1.29 cascade sides centred 0.013 sides above the
cascade's centre, the mapping :class:`neurova.faces.HaarEventDetector` fitted to that definition.

    .venv/bin/python benchmarks/bench_photo_face.py [--photo PORTRAIT.jpg] [--seconds 4] [--model TAG_OR_FOLDER]
    .venv/bin/python benchmarks/bench_photo_face.py --only-detection --sensors davis346_dark --sizes 346x260 \
        [--noise-floor-sd none]    # the detectors under a real DAVIS346's dark-pixel noise
    .venv/bin/python benchmarks/bench_photo_face.py --only-tracking [--detect-every 500 250 200]  # predict's face track

``--sensors`` names the simulated sensors of the detection part (``neurova.recipes.SENSORS``; default the clean
pixel and v2e's ``noisy`` preset), ``--sizes`` its sensor sizes, and ``--noise-floor-sd`` the learned detector's
``noise_floor_sd`` (``none``: off).

``--photo`` takes any portrait photograph with one frontal face (the cascade must find it in the photo); e.g.
scikit-image's ``astronaut.png`` (Eileen Collins, public domain): ``python -c "import skimage.data, imageio;
imageio.imwrite('astronaut.png', skimage.data.astronaut())"`` where scikit-image is installed, or unzip
``skimage/data/astronaut.png`` from its wheel (``pip download scikit-image --no-deps``).

Needs the ``plot`` and ``faces`` extras (matplotlib for the default photo, OpenCV for the cascade).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch

import neurova
from neurova.cli.arguments import sensor_name, sensor_size
from neurova.domain import compare_stats
from neurova.events import SensorSize, slice_time
from neurova.faces import (
    DETECT_EVERY_US,
    NOISE_FLOOR_SD,
    BoxTracker,
    HaarEventDetector,
    box_iou,
    combine_detections,
    get_face_detector,
    track_face_boxes,
)
from neurova.io import write_events
from neurova.recipes import sensor_options
from neurova.simulator import flickering_light, simulate
from neurova.streaming import replay

FPS = 25.0
WINDOW_US, HOP_US = 200_000, 80_000
SENSORS = ((346, 260), (640, 480), (1280, 720))
FACE_FRACTION = 0.45  # face-box side / sensor height: inside the detector's training range (0.2 .. 0.6)


def load_portrait(path: Path | None = None) -> np.ndarray:
    """The photo at ``path`` (default: matplotlib's ``grace_hopper.jpg``, ``(600, 512)``) as uint8 grayscale."""
    import cv2

    if path is not None:
        photo = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if photo is None:
            raise FileNotFoundError(f"{path}: not an image OpenCV can read")
        return photo
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        data = np.frombuffer(file.read(), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def true_face_box(photo: np.ndarray) -> np.ndarray:
    """``[x0, y0, w, h]`` of the face in the photo: the largest Haar face, mapped to the face-box definition."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = cascade.detectMultiScale(photo, scaleFactor=1.1, minNeighbors=5)
    if not len(found):
        raise RuntimeError("the Haar cascade found no face in the photo")
    x, y, w, h = (float(v) for v in max(found, key=lambda box: box[2] * box[3]))
    mapping = HaarEventDetector()
    side = mapping.box_scale * w
    cx, cy = x + w / 2, y + h / 2 + mapping.box_shift * h
    return np.array([cx - side / 2, cy - side / 2, side, side])


def _smooth(rng: np.random.Generator, n: int, speed: float = 1.4) -> np.ndarray:
    """``(n,)`` a sum of 4 sinusoids of 0.25-0.9 Hz (times ``speed``) with unit RMS, as the renderer's head motion."""
    t = np.arange(n) / FPS * speed
    freqs, phases = rng.uniform(0.25, 0.9, 4), rng.uniform(0, 2 * np.pi, 4)
    weights = rng.dirichlet(np.ones(4))
    waves = (weights * np.sin(2 * np.pi * freqs * t[:, None] + phases)).sum(axis=1)
    return waves / math.sqrt(float((weights**2).sum()) / 2)


def animate(photo: np.ndarray, box: np.ndarray, sensor: tuple[int, int], n: int, motion: str,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(n, H, W)`` uint8 of the photo on the sensor with a moving head, and the true boxes ``(n, 4)``.

    The photo is scaled so that the face box spans :data:`FACE_FRACTION` of the sensor height, centred a
    little above the sensor's centre. The head shifts (RMS 6 % / 4 % of the box side across / down), rolls
    (RMS 0.07 rad) and scales (RMS 3 %) about the box centre, the amplitudes of the synthetic renderer's head.
    """
    import cv2

    width, height = sensor
    side = box[2]
    base_scale = FACE_FRACTION * height / side
    centre = box[:2] + box[2:] / 2
    target = np.array([width / 2, 0.45 * height])
    base = np.array([[base_scale, 0, target[0] - base_scale * centre[0]],
                     [0, base_scale, target[1] - base_scale * centre[1]]])  # fmt: skip
    still = cv2.warpAffine(photo, base, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask_photo = np.zeros(photo.shape, np.float32)
    axes = (int(0.62 * side), int(0.8 * side))  # the head with its cap and hair, not the shoulders
    cv2.ellipse(mask_photo, (int(centre[0]), int(centre[1] - 0.05 * side)), axes, 0, 0, 360, 1.0, -1)
    mask_photo = cv2.GaussianBlur(mask_photo, (0, 0), 0.08 * side)
    dx, dy = 0.06 * side * _smooth(rng, n), 0.04 * side * _smooth(rng, n)
    roll, zoom = 0.07 * _smooth(rng, n), 1 + 0.03 * _smooth(rng, n)
    frames = np.empty((n, height, width), np.uint8)
    boxes = np.empty((n, 4))
    for i in range(n):
        # about the face centre in the photo: scale and roll, then place it on the sensor, moved by (dx, dy)
        c, s = math.cos(roll[i]) * zoom[i], math.sin(roll[i]) * zoom[i]
        a = base_scale * np.array([[c, -s], [s, c]])
        moved = target + np.array([dx[i], dy[i]]) * base_scale
        warp = np.hstack([a, (moved - a @ centre)[:, None]])
        frame = cv2.warpAffine(photo, warp, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if motion == "head":
            alpha = cv2.warpAffine(mask_photo, warp, (width, height), flags=cv2.INTER_LINEAR)
            frame = np.rint(alpha * frame + (1 - alpha) * still).astype(np.uint8)
        frames[i] = frame
        box_side = side * base_scale * zoom[i]
        boxes[i] = [moved[0] - box_side / 2, moved[1] - box_side / 2, box_side, box_side]
    return frames, boxes


def score(events: np.ndarray, sensor: SensorSize, boxes: np.ndarray,
          noise_floor_sd: float | None = NOISE_FLOOR_SD) -> dict[str, list[float]]:
    """IoU with the true box of each 200 ms window's detection (NaN: no face reported), per method.

    ``auto`` is :func:`neurova.faces.combine_detections` of the two detections, as ``get_face_detector("auto")``
    answers; ``+ tracker`` follows the answers with :class:`neurova.faces.BoxTracker`, as ``neurova.predict`` does.
    """
    learned = get_face_detector("learned", noise_floor_sd=noise_floor_sd)  # as "auto" builds its two backends
    haar = get_face_detector("haar")
    trackers = {"learned + tracker": BoxTracker(), "auto + tracker": BoxTracker()}
    result: dict[str, list[float]] = {"learned": [], "haar": [], "auto": [], "learned + tracker": [], "auto + tracker": []}
    for end in range(WINDOW_US, int(events["t"][-1]) + 1, HOP_US):
        window = slice_time(events, end - WINDOW_US, end)
        truth = boxes[min(len(boxes) - 1, end // int(1e6 / FPS))]  # the head where the window ends
        first, second = learned.detect(window, sensor), haar.detect(window, sensor)
        nan = np.full(4, np.nan)
        found = {
            "learned": first.box if first.found else None,
            "haar": second.box if second.found else None,
        }
        auto = combine_detections((nan if first.box is None else first.box)[None], np.array([first.score]),
                                  np.array([first.found]), (second.box if second.found else nan)[None])[0]
        found["auto"] = auto if np.isfinite(auto).all() else None
        found["learned + tracker"] = trackers["learned + tracker"].update(found["learned"])
        found["auto + tracker"] = trackers["auto + tracker"].update(found["auto"])
        for method, box in found.items():
            result[method].append(math.nan if box is None else box_iou(box, truth))
    return result


def summary(ious: list[float]) -> str:
    values = np.asarray(ious)
    answered = np.isfinite(values)
    good = (values[answered] >= 0.5).mean() if answered.any() else math.nan
    median = float(np.median(values[answered])) if answered.any() else math.nan
    return (f"{100 * answered.mean():5.1f} % {100 * good:6.1f} % {100 * (np.nan_to_num(values) >= 0.5).mean():6.1f} % "
            f"{median:6.2f}")  # fmt: skip


def detection(photo: np.ndarray, box: np.ndarray, seconds: float, seed: int,
              sensors: tuple[str, ...] = ("clean", "noisy"), sizes: tuple[tuple[int, int], ...] = SENSORS,
              noise_floor_sd: float | None = NOISE_FLOOR_SD) -> None:
    n = round(seconds * FPS)
    times = (np.arange(n) * 1e6 / FPS).astype(np.int64)
    print(f"{'motion':7} {'sensor':9} {'preset':13} {'events':>10} {'method':18} answered IoU>=.5/ans IoU>=.5/all median")
    pooled: dict[str, list[float]] = {}
    for motion in ("head", "camera"):
        for width, height in sizes:
            rng = np.random.default_rng(seed)
            frames, boxes = animate(photo, box, (width, height), n, motion, rng)
            for name in sensors:
                options = sensor_options(name)
                events = simulate(frames, times, preset=options["preset"], seed=seed, **(options["dvs_params"] or {}))
                result = score(events, SensorSize(width, height), boxes, noise_floor_sd)
                for method, ious in result.items():
                    pooled.setdefault(f"{motion} {method}", []).extend(ious)
                    print(f"{motion:7} {width}x{height:<4} {name:13} {len(events):10,} {method:18} {summary(ious)}")
    print("\npooled over sensors and presets:")
    for key, ious in pooled.items():
        print(f"  {key:26} {summary(ious)}")


class _Counted:
    """A detector that counts its calls."""

    def __init__(self, detector: Any) -> None:
        self.detector, self.calls = detector, 0

    def __call__(self, window: np.ndarray, sensor: Any) -> Any:
        self.calls += 1
        return self.detector(window, sensor)


def tracking(photo: np.ndarray, box: np.ndarray, seconds: float, seed: int, sizes: tuple[tuple[int, int], ...],
             intervals_ms: tuple[float, ...]) -> None:
    """The face track ``neurova.predict(detect_face="auto")`` follows (:func:`neurova.faces.track_face_boxes`) at a
    prediction every 40 ms, with a detection every ``intervals_ms``: per recording (head and camera motion, each size,
    noisy), the median IoU of the held boxes with the true box, the share within IoU 0.5 (no box counts as 0) and
    the detections run."""
    n = round(seconds * FPS)
    times = (np.arange(n) * 1e6 / FPS).astype(np.int64)
    ends = np.arange(4 * 40_000, int(times[-1]) + 1, 40_000)  # predict's first end at the demo contract, then hops
    detector = get_face_detector("auto")
    print("\nface track, detect_face='auto', a prediction every 40 ms, noisy: median IoU / share >= 0.5 / detections")
    print(f"{'motion':7} {'sensor':9} " + " ".join(f"{f'every {ms:g} ms':>24}" for ms in intervals_ms))
    for motion in ("head", "camera"):
        for width, height in sizes:
            frames, boxes = animate(photo, box, (width, height), n, motion, np.random.default_rng(seed))
            events = simulate(frames, times, preset="noisy", seed=seed)
            truth = boxes[np.minimum(n - 1, np.rint(ends * FPS / 1e6).astype(int))]
            cells = []
            for ms in intervals_ms:
                counted = _Counted(detector)
                held, found = track_face_boxes(events, (width, height), ends, detector=counted, every_us=round(ms * 1000))
                ious = np.array([box_iou(b, t) if f else 0.0 for b, t, f in zip(held, truth, found)])
                cells.append(f"{np.median(ious):.2f} / {100 * np.mean(ious >= 0.5):5.1f} % / {counted.calls:3d}")
            print(f"{motion:7} {width}x{height:<4} " + " ".join(f"{cell:>24}" for cell in cells))


def prediction(photo: np.ndarray, box: np.ndarray, seconds: float, seed: int, model_name: str) -> None:
    """``neurova.predict`` with ``detect_face="auto"`` on the head-motion recording at 640x480, noisy."""
    n = round(seconds * FPS)
    sensor = (640, 480)
    frames, boxes = animate(photo, box, sensor, n, "head", np.random.default_rng(seed))
    events = simulate(frames, (np.arange(n) * 1e6 / FPS).astype(np.int64), preset="noisy", seed=seed)
    model = neurova.models.from_pretrained(model_name)
    with tempfile.TemporaryDirectory() as folder:
        path = write_events(Path(folder) / "portrait.h5", events, sensor)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = neurova.predict(model, path, detect_face="auto")
        elapsed = time.perf_counter() - start
    truth = boxes[np.minimum(len(boxes) - 1, result.timestamps_us // int(1e6 / FPS))]
    ious = [box_iou(b, t) for b, t in zip(result.boxes, truth)]
    print(f"\nneurova.predict({model_name!r}, 640x480 head-motion recording, noisy, detect_face='auto'): "
          f"{len(result)} predictions in {elapsed:.1f} s")  # fmt: skip
    print(f"  face box IoU with the true box: median {statistics.median(ious):.2f}, minimum {min(ious):.2f}, "
          f">= 0.5 for {100 * np.mean(np.asarray(ious) >= 0.5):.0f} %")
    print(f"  valence {np.median(result.valence):+.2f} (median; {result.valence.min():+.2f} .. "
          f"{result.valence.max():+.2f}), arousal {np.median(result.arousal):+.2f} ({result.arousal.min():+.2f} .. "
          f"{result.arousal.max():+.2f})")
    emotions, counts = np.unique(result.emotion, return_counts=True)
    print("  emotions: " + ", ".join(f"{e} {c}" for e, c in sorted(zip(emotions, counts), key=lambda x: -x[1])))
    print("  warnings: " + ("; ".join(str(w.message)[:160] for w in caught) or "none"))
    assert result.input_stats is not None and model.input_stats is not None
    print("  model inputs against the training inputs:\n" + compare_stats(result.input_stats, model.input_stats).table())


def streaming(photo: np.ndarray, box: np.ndarray, seconds: float, seed: int, model_name: str,
              lags_ms: tuple[float, ...] = (0.0,), paced: bool = False, sensor_at_move: bool = False) -> None:
    """Live-camera latency: ``neurova.predict`` fed the 640x480 head-motion recording (noisy) in chunks of one
    hop (40 ms), one torch thread, with each detector and each ``detect_lag_us`` (``lags_ms``; above 0 the
    detections run in a worker thread): per-prediction latency (``Prediction.latency_ms``: face box, detection
    or waiting for one, encoding, model), the latency of the predictions a detection falls on, the share of
    frames encoded, and the process CPU time per prediction (which also counts taking in the chunks). ``paced``:
    each chunk is handed over when a camera would deliver it (its end, in wall time from the start), not as soon
    as the previous prediction is done. ``sensor_at_move``: each lagged run is followed by one that starts a moved
    box's sensor at the prediction that moves to it, as before 30 Nov, 16:00 UTC, not beside the predictions."""
    n = round(seconds * FPS)
    sensor = (640, 480)
    frames, _ = animate(photo, box, sensor, n, "head", np.random.default_rng(seed))
    events = simulate(frames, (np.arange(n) * 1e6 / FPS).astype(np.int64), preset="noisy", seed=seed)
    model = neurova.models.from_pretrained(model_name)
    hop = model.input_contract.frame_interval_us

    print(f"\nstreaming neurova.predict({model_name!r}, 640x480 head-motion recording, noisy, "
          f"{len(events) / seconds / 1e6:.1f} M events/s, chunks of {hop // 1000} ms"
          f"{', paced as a camera delivers them' if paced else ''}, 1 thread):")
    runs = [(detector, lag_ms, late) for detector in ("learned", "auto") for lag_ms in lags_ms
            for late in ((False, True) if sensor_at_move and lag_ms else (False,))]
    for detector, lag_ms, late in runs:
        with warnings.catch_warnings(), contextlib.ExitStack() as stack:
            warnings.simplefilter("ignore")
            if late:  # no sensor started beside: the prediction that moves to a box starts it
                stack.enter_context(mock.patch.object(neurova.inference._Predictor, "_start_box_sensor",
                                                      lambda self, box, recent, t_us: None))
            cpu = time.process_time()
            result = neurova.predict(model, replay(events, hop, realtime=paced), sensor_size=sensor,
                                     detect_face=detector, threads=1, detect_lag_us=round(lag_ms * 1000))
            cpu = time.process_time() - cpu
        ms = np.asarray(result.latency_ms)
        detected, last = [], None  # the predictions a detection falls on (FaceTrack's rule)
        for t in result.timestamps_us:
            detected.append(last is None or t - last >= DETECT_EVERY_US)
            last = t if detected[-1] else last
        between = ms[~np.asarray(detected)]
        moved = np.flatnonzero(np.diff(result.box_start_us)) + 1  # a new sensor: the box moved
        encoded = result.settings["frames_encoded"] / (len(result) * model.input_contract.clip_length)
        print(f"  detect_face={detector!r:9} detect_lag {lag_ms:g} ms{' (sensor at the move)' if late else ''}, "
              f"{len(result)} predictions: median "
              f"{np.median(ms):6.2f} ms, p90 {np.percentile(ms, 90):6.2f}, max {ms.max():6.2f}; without a detection "
              f"{np.median(between):5.2f} ms median, {between.max():5.2f} max; with a detection "
              f"{np.round(ms[np.asarray(detected)], 1).tolist()} ms; where the box moved ({len(moved)}) "
              f"{np.median(ms[moved]) if len(moved) else np.nan:5.2f} ms median, {ms[moved].max() if len(moved) else np.nan:5.2f} "
              f"max; {encoded:.0%} of the frames encoded; "
              f"process CPU {1e3 * cpu / len(result):.1f} ms per prediction (chunk intake included)")


def flicker(photo: np.ndarray, box: np.ndarray, seconds: float, seed: int, model_name: str,
            light: tuple[float, float]) -> None:
    """``neurova.predict`` (``detect_face="auto"``) on the head-motion recording at 346x260 (a DAVIS346) under
    steady light and under a flickering lamp, without and with ``deflicker=True``: the face box against the true
    box, and the predictions against the steady recording's (a photo has no labels). The clean preset: the noisy
    one's 30 Hz photoreceptor cutoff would filter the flicker out, which a real pixel in bright light does not."""
    n = round(seconds * FPS)
    sensor = (346, 260)
    frames, boxes = animate(photo, box, sensor, n, "head", np.random.default_rng(seed))
    times = (np.arange(n) * 1e6 / FPS).astype(np.int64)
    recordings = {"steady": simulate(frames, times, preset="clean", seed=seed),
                  "flickering": simulate(*flickering_light(frames, times, *light), preset="clean", seed=seed)}
    model = neurova.models.from_pretrained(model_name)
    print(f"\nneurova.predict({model_name!r}, 346x260 head-motion recording, clean sensor, detect_face='auto'), "
          f"steady light and a {light[0]:g} Hz lamp of depth {light[1]:g}:")
    steady = None
    for name, deflicker in (("steady", False), ("flickering", False), ("flickering", True)):
        events = recordings[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            result = neurova.predict(model, events, sensor_size=sensor, detect_face="auto", deflicker=deflicker)
            elapsed = time.perf_counter() - start
        truth = boxes[np.minimum(len(boxes) - 1, result.timestamps_us // int(1e6 / FPS))]
        ious = np.array([box_iou(b, t) for b, t in zip(result.boxes, truth)])
        line = (f"  {name:10} {'deflicker' if deflicker else '–':9} {len(events):>11,} events  box IoU >= 0.5: "
                f"{100 * np.mean(ious >= 0.5):3.0f} %  non-zero inputs {result.input_stats.nonzero_fraction:6.1%}  "
                f"{elapsed:5.1f} s")
        if steady is None:
            steady = result
        else:
            # the steady recording's predictions at these times (the runs' first events differ)
            ref = np.stack([np.interp(result.timestamps_us, steady.timestamps_us, v)
                            for v in (steady.valence, steady.arousal)], 1)
            va = np.stack([result.valence, result.arousal], 1)
            corr = [np.corrcoef(va[:, k], ref[:, k])[0, 1] for k in (0, 1)]
            line += (f"  vs steady: mean |difference| {np.abs(va - ref).mean(0).round(3).tolist()}, "
                     f"correlation {np.round(corr, 2).tolist()}")
        kinds = sorted({type(w.message).__name__ for w in caught if "Warning" in type(w.message).__name__})
        print(line + (f"  warnings: {', '.join(kinds)}" if kinds else ""))


def _noise_floor_sd(text: str) -> float | None:
    """An argparse type: ``none`` or a number of standard deviations >= 0."""
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'none', got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'none', got {text!r}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=None, help="a portrait (default: matplotlib's grace_hopper.jpg)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each recording")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="tiny_cnn_fusion.synthetic_faces", help="a tag or a model folder")
    parser.add_argument("--flicker", default="100:0.35", metavar="HZ:DEPTH",
                        help="the flickering lamp of the last run (default 100:0.35)")
    parser.add_argument("--only-flicker", action="store_true", help="run only the flickering-lamp part")
    parser.add_argument("--only-stream", action="store_true", help="run only the live-camera latency part")
    parser.add_argument("--only-detection", action="store_true", help="run only the detectors' part")
    parser.add_argument("--detect-lag", nargs="+", type=float, default=[0.0, 80.0], metavar="MS",
                        help="detect_lag_us of the live-camera part, ms (default 0 80)")
    parser.add_argument("--sensor-at-move", action="store_true",
                        help="live-camera part: also run each lagged case with a moved box's sensor started at the "
                             "move, as before 30 Nov, 16:00 UTC")
    parser.add_argument("--paced", action="store_true",
                        help="live-camera part: hand each chunk over when a camera would deliver it")
    parser.add_argument("--only-tracking", action="store_true",
                        help="run only the face track at each --detect-every (predict's rule)")
    parser.add_argument("--detect-every", nargs="+", type=float, default=[500.0, 250.0, 200.0], metavar="MS",
                        help="ms between detections of the tracking part (default 500 250 200)")
    parser.add_argument("--sensors", nargs="+", type=sensor_name, default=["clean", "noisy"], metavar="SENSOR",
                        help="simulated sensors of the detectors' part (default clean noisy)")
    parser.add_argument("--sizes", nargs="+", type=sensor_size, default=list(SENSORS), metavar="WxH",
                        help="sensor sizes of the detectors' part (default 346x260 640x480 1280x720)")
    parser.add_argument("--noise-floor-sd", type=_noise_floor_sd, default=NOISE_FLOOR_SD, metavar="SD",
                        help=f"the learned detector's noise_floor_sd in the detectors' part (default {NOISE_FLOOR_SD:g}; "
                             "none: off)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    photo = load_portrait(args.photo)
    box = true_face_box(photo)
    print(f"photo {photo.shape[1]}x{photo.shape[0]}, true face box {np.round(box).astype(int).tolist()}\n")
    if args.only_stream:
        streaming(photo, box, args.seconds, args.seed, args.model, tuple(args.detect_lag), args.paced,
                  args.sensor_at_move)
        return
    if args.only_tracking:
        tracking(photo, box, args.seconds, args.seed, tuple(args.sizes), tuple(args.detect_every))
        return
    if not args.only_flicker:
        detection(photo, box, args.seconds, args.seed, tuple(args.sensors), tuple(args.sizes), args.noise_floor_sd)
        if args.only_detection:
            return
        prediction(photo, box, args.seconds, args.seed, args.model)
        streaming(photo, box, args.seconds, args.seed, args.model, tuple(args.detect_lag), args.paced,
                  args.sensor_at_move)
    frequency, _, depth = args.flicker.partition(":")
    flicker(photo, box, args.seconds, args.seed, args.model, (float(frequency), float(depth)))


if __name__ == "__main__":
    main()
