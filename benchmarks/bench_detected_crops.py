"""Models scored the way they run on a real recording: the face found by a detector, not given.

The protocol's test scores crop every sample to the true face box. On a real recording ``neurova.predict`` finds
the face with a detector (``detect_face``) and holds its box between detections, and a detector's box is not the
true box: on the synthetic test faces the learned detector's centre is off by about 4 % of the side and its side
by about 9 % (sd). This benchmark runs ``neurova.predict`` over each of the protocol's 36 test clips (2 s at
160x120, the clean sensor) with each detector and the true box (the clip's median true box, fixed, as a user's
``face_box=`` would be), and scores every prediction against the label of its frame (CCC and RMSE per dimension).

    .venv/bin/python benchmarks/bench_detected_crops.py [--models TAG_OR_FOLDER ...] [--detectors learned auto]
                                                        [--every-ms 500] [--cache-dir DIR]

What differs from a real recording: the faces are the synthetic ones the models and the learned detector were
trained on (the cascade finds few of them at this size: ``auto`` then answers with the learned box), and the
sensor is noise-free.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import torch
from bench_sensor_noise import test_set

import neurova
from neurova.faces import DETECT_EVERY_US
from neurova.models import from_pretrained
from neurova.zoo import score

MODELS = ("tiny_cnn_fusion.synthetic_faces", "tiny_cnn_fusion.synthetic_faces_noise")


def predict_clips(model: Any, dataset: Any, detector: str | None, every_us: int) -> tuple[np.ndarray, np.ndarray]:
    """``(predictions (N, 2), labels (N, 2))`` of ``neurova.predict`` over every clip of ``dataset``, each prediction
    paired with the label of the frame at its time (predictions more than half a frame from a labelled frame are
    left out)."""
    preds, labels = [], []
    for clip_id, meta in dataset.clips.items():
        events = dataset.clip_events(clip_id)
        options: dict[str, Any] = {"face_box": tuple(np.median(meta.face_boxes, axis=0))} if detector is None else {
            "detect_face": detector, "detect_every_us": every_us}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = neurova.predict(model, events, sensor_size=dataset.sensor_size, **options)
        stamps = meta.frame_timestamps_us
        frame = np.abs(stamps[None, :] - result.timestamps_us[:, None]).argmin(axis=1)
        ok = meta.valid[frame] & (np.abs(stamps[frame] - result.timestamps_us) < 20_000)
        preds.append(result.va[ok])
        labels.append(meta.va[frame[ok]])
    return np.concatenate(preds), np.concatenate(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="tags or model folders")
    parser.add_argument("--detectors", nargs="+", default=["learned", "auto"], choices=["learned", "haar", "auto"])
    parser.add_argument("--every-ms", type=int, default=DETECT_EVERY_US // 1000, help="time between detections")
    parser.add_argument("--cache-dir", default=None, help="event cache (default: neurova's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| model | face box | CCC valence / arousal | RMSE valence / arousal | predictions | CPU s |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        model = from_pretrained(name)
        dataset = test_set("clean", model.input_contract, args.cache_dir)
        for detector in [None, *args.detectors]:
            start = time.process_time()
            pred, true = predict_clips(model, dataset, detector, args.every_ms * 1000)
            s = score(pred, true)
            box = "true (median of the clip)" if detector is None else f"`{detector}` every {args.every_ms} ms"
            print(f"| `{name}` | {box} | {s['ccc_valence']:.3f} / {s['ccc_arousal']:.3f} | {s['rmse_valence']:.3f} / "
                  f"{s['rmse_arousal']:.3f} | {len(pred)} | {time.process_time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
