"""The box's emulated sensor: started at each window (as training samples are) or running on while a box holds
(as ``neurova.predict`` runs it), scored on the protocol's test subjects.

A model's input of a face box larger than ``image_size`` is the events a sensor with ``image_size`` pixels over
the box would have produced (``resize="events"``). A training sample is a window out of a clip, so its emulated
sensor starts at the window with dithered levels. ``neurova.predict`` keeps one emulated sensor running while
its face box holds (about 500 ms between detections), so consecutive windows share their frames and each event
is resized once. This benchmark measures what that changes for a model: the shipped tags on the protocol's
test clips, predicted at every frame from the first full window on (one prediction every 40 ms, as
``predict`` makes them), with the box held as ``predict``'s face track holds it (the true face box at each
detection, every ``DETECT_EVERY_US``), encoded

* ``window``: with the sensor started at each window (``ToModelInput(...)(events, t)``);
* ``held``: with the sensor running from the start of the box's hold (``since_us`` from
  :func:`neurova.transforms.box_sensor_starts`, what ``predict`` does);

and for reference ``true box``: the true box of each frame, the sensor started at each window (the protocol's
test samples, at stride 1). ``--scale 3`` renders the same test clips on a sensor 3x larger in each direction
(480x360, faces of 144 to 216 pixels: the size faces have on real sensors, where every output pixel integrates
5 to 11 source pixels per axis); at the protocol's 160x120 (faces of 48 to 72 pixels) only boxes above 64
pixels integrate, 1 or 2 source pixels per axis. Printed per row: CCC and RMSE per dimension, the input's
non-zero fraction, and the largest difference between the two encodings' predictions.

    .venv/bin/python benchmarks/bench_box_sensor.py [--scale 1 3] [--clips 40] [--cache-dir DIR] [--workers 2]

What differs from a real recording: the face track here is the true box (no detector error), held for exactly
500 ms; real sensors add noise (``bench_sensor_noise.py``), which the held sensor integrates too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from typing import Any

import numpy as np
import torch
from bench_sensor_noise import test_set

from neurova.datasets.cache import ClipRecord, EventCache, EventCacheDataset
from neurova.datasets.synthetic import _Job, _make_record
from neurova.domain import input_stats
from neurova.faces import DETECT_EVERY_US, pixel_box
from neurova.models import from_pretrained
from neurova.transforms import ToModelInput, box_sensor_starts
from neurova.zoo import predict as predict_frames
from neurova.zoo import score

MODELS = ("tiny_cnn_fusion.synthetic_faces", "tiny_cnn_fusion.synthetic_faces_noise")


def _scaled(job: tuple[_Job, int]) -> ClipRecord:
    return _make_record(*job)


def held_boxes(boxes: np.ndarray, ends: np.ndarray, every_us: int = DETECT_EVERY_US) -> np.ndarray:
    """``(N, 4)`` pixel boxes held as ``predict``'s face track holds them: the box at the last detection, one
    detection at the first end and whenever ``every_us`` or more have passed since the previous one."""
    held, last, current = [], None, None
    for box, t in zip(boxes, ends):
        if last is None or t - last >= every_us:
            last, current = int(t), pixel_box(box)
        held.append(current)
    return np.asarray(held, dtype=np.int64)


def encode_clips(events_of: Any, clips: dict[str, Any], contract: Any) -> dict[str, tuple[torch.Tensor, ...]]:
    """Frames of every prediction of every clip under the three encodings, and the labels."""
    history = ToModelInput(contract, (0, 0, 1, 1)).history_us
    rows: dict[str, list[np.ndarray]] = {"window": [], "held": [], "true box": []}
    labels = []
    for clip_id, meta in clips.items():
        ts = meta.frame_timestamps_us
        usable = np.flatnonzero(meta.valid & (ts - history >= ts[0]))
        if len(usable) == 0:
            continue
        ends = ts[usable]
        events = events_of(clip_id)
        held = held_boxes(meta.face_boxes[usable], ends)
        starts = box_sensor_starts(ends, held, history)
        for j, t in enumerate(ends):
            encoder = ToModelInput(contract, tuple(held[j]))
            rows["window"].append(encoder(events, int(t)))
            rows["held"].append(encoder(events, int(t), since_us=int(starts[j])))
            rows["true box"].append(ToModelInput(contract, tuple(meta.face_boxes[usable[j]]))(events, int(t)))
        labels.append(meta.va[usable])
    out = {name: torch.from_numpy(np.stack(frames)) for name, frames in rows.items()}
    out["labels"] = torch.from_numpy(np.concatenate(labels).astype(np.float32))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--scale", nargs="+", type=int, default=[1, 3], help="sensor sizes, times 160x120")
    parser.add_argument("--clips", type=int, default=40, help="test clips rendered again at each scale above 1")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering and simulating scaled clips")
    parser.add_argument("--cache-dir", default=None, help="event cache (default: neurova's)")
    args = parser.parse_args()
    models = {tag: from_pretrained(tag) for tag in args.models}
    contract = next(iter(models.values())).input_contract
    test = test_set("clean", contract, args.cache_dir)
    print("| sensor | encoding | predictions | model | CCC valence / arousal | RMSE valence / arousal | non-zero | "
          "max diff to window |")
    print("|---|---|---|---|---|---|---|---|")
    for scale in args.scale:
        start = time.perf_counter()
        if scale == 1:
            clips, events_of = test.clips, test.clip_events
        else:
            clip_ids = list(dict.fromkeys(test.clip_ids))[: args.clips]
            jobs, _ = test.config.jobs()
            cache = EventCache(test.cache.root.parent.parent, f"synthetic_faces_x{scale}",
                               {"x": scale, **test.config.cache_params()})
            todo = {c: (jobs[c], scale) for c in clip_ids}
            cache.build(todo, _scaled, num_workers=args.workers if len(todo) > 1 else 0, progress=False)
            scaled = EventCacheDataset(cache, clip_ids, contract)
            clips, events_of = scaled.clips, scaled.clip_events
        frames = encode_clips(events_of, clips, contract)
        sensor = f"{160 * scale}x{120 * scale}"
        seconds = time.perf_counter() - start
        for tag, model in models.items():
            preds = {name: predict_frames(model, frames[name]) for name in ("window", "held", "true box")}
            for name, pred in preds.items():
                s = score(pred, frames["labels"])
                diff = float((pred - preds["window"]).abs().max())
                nonzero = input_stats(frames[name].numpy()).nonzero_fraction
                print(f"| {sensor} | {name} | {len(pred)} | `{tag}` | {s['ccc_valence']:.3f} / {s['ccc_arousal']:.3f} | "
                      f"{s['rmse_valence']:.3f} / {s['rmse_arousal']:.3f} | {nonzero:.1%} | {diff:.3f} |", flush=True)
        print(f"<!-- {sensor}: {len(clips)} clips, encoded in {seconds:.0f} s -->", flush=True)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
