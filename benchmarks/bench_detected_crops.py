"""Models scored the way they run on a real recording: the face found by a detector, not given.

The protocol's test scores crop every sample to the true face box. On a real recording ``neurova.predict`` finds
the face with a detector (``detect_face``) and holds its box between detections, and a detector's box is not the
true box: on the synthetic test faces the learned detector's centre is off by about 4 % of the side and its side
by about 9 % (sd). This benchmark runs ``neurova.predict`` over each of the protocol's 36 test clips (2 s at
160x120, the clean sensor) with each detector and the true box (the clip's median true box, fixed, as a user's
``face_box=`` would be), and scores every prediction against the label of its frame (CCC and RMSE per dimension).

    .venv/bin/python benchmarks/bench_detected_crops.py [--models TAG_OR_FOLDER ...] [--detectors learned auto]
                                                        [--every-ms 500] [--cache-dir DIR]
    .venv/bin/python benchmarks/bench_detected_crops.py --train-jitter 0.04,0.09 [--seed 0]   # 10 min here
    .venv/bin/python benchmarks/bench_detected_crops.py --sensors clean threshold_0.1 threshold_0.4 noisy

``--sensors`` simulates the test clips by other sensors (``bench_sensor_noise.py``'s names: noise, or
``threshold_ON[_OFF]`` for other contrast thresholds), so the detectors and the models meet them together, as on
a real camera. ``--phase-ms 0 10 20 30`` starts the prediction windows that many ms after the clip's first video
frame (its events before are dropped, and one event at the sensor's corner pixel, outside every face box, marks the
start): the events were simulated from 25 fps video and the training windows end on its frames, but a real camera
has no frame clock. Without it the windows start at the clip's first event (2–17 ms after the first frame).

``--train-jitter SHIFT,SCALE`` first trains the noise tag's recipe (``tiny_cnn_fusion`` on
``neurova.recipes.SYNTHETIC_FACES_NOISE``) with :class:`neurova.augment.RandomBoxJitter` of that size, prints its
protocol test score (the true box of every sample) and scores it with the other models.

What differs from a real recording: the faces are the synthetic ones the models and the learned detector were
trained on (the cascade finds few of them at this size: ``auto`` then answers with the learned box), and the
sensor is noise-free.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
import warnings
from typing import Any

import numpy as np
import torch
from bench_sensor_noise import sensor_name, test_set

import neurova
from neurova.faces import DETECT_EVERY_US
from neurova.models import from_pretrained
from neurova.recipes import SYNTHETIC_FACES_NOISE, recipe_for
from neurova.zoo import load_splits, score, train
from neurova.zoo import predict as predict_frames

MODELS = ("tiny_cnn_fusion.synthetic_faces", "tiny_cnn_fusion.synthetic_faces_noise")


def from_phase(events: np.ndarray, start_us: int) -> np.ndarray:
    """``events`` from ``start_us`` on, after one event at ``start_us`` on pixel (0, 0): ``neurova.predict``'s
    windows then start exactly there (they start at the first event)."""
    marker = events[:1].copy()
    marker["t"], marker["x"], marker["y"] = start_us, 0, 0
    return np.concatenate([marker, events[events["t"] >= start_us]])


def predict_clips(model: Any, dataset: Any, detector: str | None, every_us: int,
                  phase_us: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(predictions (N, 2), labels (N, 2))`` of ``neurova.predict`` over every clip of ``dataset``, each prediction
    paired with the label of the frame at its time (predictions more than half a frame from a labelled frame are
    left out); with ``phase_us``, the windows start that long after the clip's first frame (:func:`from_phase`)."""
    preds, labels = [], []
    for clip_id, meta in dataset.clips.items():
        events = dataset.clip_events(clip_id)
        if phase_us is not None:
            events = from_phase(events, int(meta.frame_timestamps_us[0]) + phase_us)
        options: dict[str, Any] = {"face_box": tuple(np.median(meta.face_boxes, axis=0))} if detector is None else {
            "detect_face": detector, "detect_every_us": every_us}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = neurova.predict(model, events, sensor_size=dataset.sensor_size, **options)
        stamps = meta.frame_timestamps_us
        frame = np.abs(stamps[None, :] - result.timestamps_us[:, None]).argmin(axis=1)
        ok = meta.valid[frame] & (np.abs(stamps[frame] - result.timestamps_us) <= 20_000)
        preds.append(result.va[ok])
        labels.append(meta.va[frame[ok]])
    return np.concatenate(preds), np.concatenate(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="tags or model folders")
    parser.add_argument("--detectors", nargs="*", default=["learned", "auto"], choices=["learned", "haar", "auto"])
    parser.add_argument("--every-ms", type=int, default=DETECT_EVERY_US // 1000, help="time between detections")
    parser.add_argument("--cache-dir", default=None, help="event cache (default: neurova's)")
    parser.add_argument("--train-jitter", default=None, metavar="SHIFT,SCALE",
                        help="also train the noise tag's recipe with this box jitter and score it")
    parser.add_argument("--seed", type=int, default=0, help="training seed of --train-jitter")
    parser.add_argument("--sensors", nargs="+", type=sensor_name, default=["clean"],
                        help="sensors of the test clips (default clean; noise presets or threshold_ON[_OFF])")
    parser.add_argument("--phase-ms", nargs="+", type=float, default=None,
                        help="start the windows this long after each clip's first video frame (default: at its "
                             "first event)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    models: dict[str, Any] = {name: from_pretrained(name) for name in args.models}
    if args.train_jitter:
        jitter = tuple(float(v) for v in args.train_jitter.split(","))
        recipe = dataclasses.replace(recipe_for("tiny_cnn_fusion"), box_jitter=jitter)
        splits, contract = load_splits(SYNTHETIC_FACES_NOISE, cache_dir=args.cache_dir)
        trained = train("tiny_cnn_fusion", recipe, SYNTHETIC_FACES_NOISE, splits, contract, args.seed)
        s = score(predict_frames(trained, splits["test"].frames), splits["test"].va[:, -1])
        name = f"tiny_cnn_fusion, noise protocol, box jitter {jitter}, seed {args.seed}"
        print(f"{name}: protocol test CCC {s['ccc_valence']:.3f} / {s['ccc_arousal']:.3f}", flush=True)
        models[name] = trained
    print("| model | sensor | windows start | face box | CCC valence / arousal | RMSE valence / arousal | predictions "
          "| CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    phases = [None] if args.phase_ms is None else [round(ms * 1000) for ms in args.phase_ms]
    for name, model in models.items():
        for sensor in args.sensors:
            dataset = test_set(sensor, model.input_contract, args.cache_dir)
            for phase, detector in itertools.product(phases, [None, *args.detectors]):
                start = time.process_time()
                pred, true = predict_clips(model, dataset, detector, args.every_ms * 1000, phase)
                s = score(pred, true)
                box = "true (median of the clip)" if detector is None else f"`{detector}` every {args.every_ms} ms"
                when = "first event" if phase is None else f"frame + {phase / 1000:g} ms"
                print(f"| `{name}` | {sensor} | {when} | {box} | {s['ccc_valence']:.3f} / {s['ccc_arousal']:.3f} | "
                      f"{s['rmse_valence']:.3f} / {s['rmse_arousal']:.3f} | {len(pred)} | "
                      f"{time.process_time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
