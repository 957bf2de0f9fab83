"""Sensor noise and thresholds: a model trained on clean simulated events, scored on the same faces seen by other sensors.

The synthetic faces are simulated with the ``clean`` preset (no background activity), and every tag is trained
on them. A real camera adds leak events and shot noise, more in dim light. This benchmark renders the
protocol's test subjects once and simulates them under the first four sensors of :data:`neurova.recipes.SENSORS`
(the same frames, motion and labels):

* ``clean``: the training data's own preset;
* ``noisy``: v2e's ``noisy`` preset (threshold spread 0.05, photoreceptor cutoff 30 Hz, leak 0.1 Hz, shot
  noise 5 Hz at black);
* ``dim``: ``noisy`` with 20 Hz of shot noise and 0.5 Hz of leak;
* ``dark``: ``noisy`` with 50 Hz of shot noise and 1 Hz of leak;

and, with ``--sensors``, the two fitted to a real DAVIS346 (``davis346_dark``, ``davis346_lit``:
``bench_real_threshold.py``) or any ``threshold_ON[_OFF]`` sensor (:func:`neurova.recipes.sensor_options`: the clean
pixel with other contrast thresholds; the training data's are 0.2 log units, real cameras' biases set them from
about 0.1 to 0.5).

For each it scores the model (CCC and RMSE per dimension, on the test subjects, the last frame of each sample),
measures its inputs (:func:`neurova.domain.input_stats`: non-zero pixels, median non-zero value) and says
whether ``neurova.predict``'s domain check would warn. ``--denoise-us`` adds rows with
:func:`neurova.encodings.denoise_events` (the background-activity filter) applied to each clip's events before
they are encoded, and ``--raise-threshold 2`` rows with :func:`neurova.encodings.raise_threshold` (the events of
thresholds twice the sensor's: ``neurova.predict(raise_threshold=2)``). ``--train noisy`` (or any of the sensors, several for a mix) also trains the model's recipe,
seed 0, on the training subjects simulated with those sensors (each subject once per sensor, the same epochs)
and scores it the same way. The training mean scores CCC 0 on
every sensor (RMSE 0.43 / 0.42 on the test subjects).

    .venv/bin/python benchmarks/bench_sensor_noise.py [--model TAG] [--denoise-us 5000 10000] [--train noisy [dim ...]]
    .venv/bin/python benchmarks/bench_sensor_noise.py --sensors clean threshold_0.1 threshold_0.4 --raise-threshold 2

What differs from a real camera: the noise is v2e's model (Poisson shot noise, leak at a per-pixel rate), not
a particular sensor's; no hot pixels (``neurova predict --drop-hot-pixels`` removes those); the threshold sensors
keep v2e's threshold mismatch (sd 0.03) at every threshold, where a real sensor's mismatch grows with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from neurova.cli.arguments import sensor_name
from neurova.datasets import SyntheticFaces
from neurova.domain import compare_stats, input_stats
from neurova.encodings import denoise_events, raise_threshold
from neurova.events import slice_time
from neurova.models import from_pretrained
from neurova.recipes import SENSORS, SYNTHETIC_FACES, recipe_for, sensor_options
from neurova.zoo import load_splits, score, train
from neurova.zoo import predict as predict_frames


def test_set(sensor: str, contract: Any, cache_dir: str | None) -> SyntheticFaces:
    """The protocol's test subjects simulated by ``sensor``."""
    p = SYNTHETIC_FACES
    return SyntheticFaces(cache_dir, "test", n_subjects=p.n_subjects, clips_per_subject=p.clips_per_subject,
                          frames_per_clip=p.frames_per_clip, emotion_clips_per_emotion=p.emotion_clips_per_emotion,
                          seed=p.data_seed, contract=contract, stride=p.stride, val_fraction=p.val_fraction,
                          test_fraction=p.test_fraction, progress=False, **sensor_options(sensor))


def filtered(dataset: SyntheticFaces, event_filter: Callable[[np.ndarray], np.ndarray]) -> SyntheticFaces:
    """``dataset`` whose clips' events pass ``event_filter`` (over the whole clip) before they are encoded."""
    clips: dict[str, np.ndarray] = {}
    read = dataset.clip_events

    def clip_events(clip_id: str, start_us: int | None = None, end_us: int | None = None) -> np.ndarray:
        if clip_id not in clips:
            clips[clip_id] = event_filter(read(clip_id))
        return slice_time(clips[clip_id], start_us, end_us)

    dataset.clip_events = clip_events  # type: ignore[method-assign]
    return dataset


def denoised(dataset: SyntheticFaces, filter_us: int) -> SyntheticFaces:
    """``dataset`` whose clips' events pass the background-activity filter (over the whole clip) first."""
    return filtered(dataset, lambda events: denoise_events(events, dataset.sensor_size, filter_us))


def thinned(dataset: SyntheticFaces, factor: int) -> SyntheticFaces:
    """``dataset`` whose clips' events are those of thresholds ``factor`` times the sensor's (over the whole clip)."""
    return filtered(dataset, lambda events: raise_threshold(events, dataset.sensor_size, factor))


def evaluate(model: Any, dataset: SyntheticFaces) -> dict[str, Any]:
    samples = [dataset[i] for i in range(len(dataset))]
    frames = torch.stack([s["frames"] for s in samples]).float()
    true = torch.stack([s["va"][-1] for s in samples]).float()
    metrics = score(predict_frames(model, frames), true)
    stats = input_stats(frames.numpy())
    comparison = compare_stats(stats, model.input_stats) if model.input_stats is not None else None
    return {**metrics, "nonzero": stats.nonzero_fraction, "median": stats.nonzero_median,
            "warns": None if comparison is None else not comparison.ok}


def row(model_name: str, sensor: str, remedy: str, result: Mapping[str, Any]) -> str:
    warns = {None: "–", True: "warns", False: "no"}[result["warns"]]
    return (f"| {model_name} | {sensor} | {remedy} | "
            f"{result['ccc_valence']:.3f} / {result['ccc_arousal']:.3f} | "
            f"{result['rmse_valence']:.3f} / {result['rmse_arousal']:.3f} | {result['nonzero']:.1%} | "
            f"{result['median']:.3f} | {warns} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny_cnn_fusion.synthetic_faces", help="tag or folder")
    parser.add_argument("--sensors", nargs="+", default=list(SENSORS)[:4], type=sensor_name,
                        help=f"{', '.join(SENSORS)} or threshold_ON[_OFF] (default: the first four)")
    parser.add_argument("--denoise-us", nargs="*", type=int, default=[], help="background-activity filter times")
    parser.add_argument("--raise-threshold", nargs="*", type=int, default=[],
                        help="also score with thresholds raised by these whole factors")
    parser.add_argument("--train", nargs="+", type=sensor_name, default=None,
                        help="also train the model's recipe (seed 0) on the training subjects of these sensors")
    parser.add_argument("--skip-shipped", action="store_true", help="score only the model trained by --train")
    parser.add_argument("--cache-dir", default=None, help="event cache (default: neurova's)")
    args = parser.parse_args()

    shipped = from_pretrained(args.model)
    models = {} if args.skip_shipped else {args.model: shipped}
    if args.train:
        start = time.perf_counter()
        contract = shipped.input_contract
        first, *more = args.train  # the first sensor's training split, then the others' (a protocol's train_sensors)
        protocol = dataclasses.replace(SYNTHETIC_FACES, train_sensors=tuple(more))
        splits, contract = load_splits(protocol, contract.n_bits, contract.bin_us, cache_dir=args.cache_dir,
                                       **sensor_options(first))
        trained = train(shipped.architecture, recipe_for(shipped.architecture), protocol, splits, contract, seed=0)
        models[f"{shipped.architecture} trained on {' + '.join(args.train)}"] = trained
        print(f"trained on {' + '.join(args.train)} in {time.perf_counter() - start:.0f} s (data, training)")
    remedies = {"–": lambda dataset: dataset,
                 **{f"denoise {us / 1000:g} ms": (lambda dataset, us=us: denoised(dataset, us)) for us in args.denoise_us},
                 **{f"threshold x{k}": (lambda dataset, k=k: thinned(dataset, k)) for k in args.raise_threshold}}
    print("| model | sensor | remedy | CCC valence / arousal | RMSE valence / arousal | non-zero pixels | "
          "median non-zero | domain check |")
    print("|---|---|---|---|---|---|---|---|")
    for name, model in models.items():
        for sensor in args.sensors:
            for remedy, apply in remedies.items():
                dataset = apply(test_set(sensor, model.input_contract, args.cache_dir))
                print(row(name, sensor, remedy, evaluate(model, dataset)), flush=True)


if __name__ == "__main__":
    main()
