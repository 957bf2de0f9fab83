"""Flickering light: models trained under steady light, scored on faces lit by a flickering lamp, with and
without the flicker filter; and the filter on real recordings.

Indoor lamps flicker at twice the mains frequency (100 Hz, 120 Hz), LEDs often deeper than fluorescent tubes.
Video averages flicker out, so the training data (simulated from rendered frames) never has it; an event camera
fires on it at every lit pixel. This benchmark renders the protocol's 36 test subjects under steady light and
under flickering lamps (:func:`neurova.simulator.flickering_light`, via ``SyntheticFacesConfig.light_flicker``:
the same faces, motion and labels; the protocol's clean sensor) and scores each model (CCC and RMSE, the last
frame of each sample) without and with :func:`neurova.encodings.deflicker_events` (the comb filter). It reports
the share of flicker events, the events left after the comb, and the filter's speed.

With ``../shared/data/events`` present it also runs the filter on the real recordings there: the share of flicker
events, their frequency, the events after the comb, and the flicker's peak in the event-rate spectrum before and
after (the magnitude at the flicker frequency over the median magnitude in 40 Hz - 1 kHz; about 1 without
flicker).

    .venv/bin/python benchmarks/bench_flicker.py [--models TAG ...] [--lights 100:0.25 120:0.35] [--cache-dir DIR]

What differs from a real lamp: a sinusoidal gain (real lamps have harmonics: a fluorescent tube's light is a
rectified sine, an LED driver's a square wave); one lamp lights the whole scene; the sensor is the protocol's
noise-free one, whose bandwidth follows the flicker at any brightness.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_sensor_noise import evaluate, filtered

from neurova.datasets import SyntheticFaces, SyntheticFacesConfig
from neurova.encodings import FlickerFilter, deflicker_events
from neurova.io import read_recording
from neurova.models import from_pretrained
from neurova.recipes import SYNTHETIC_FACES

REAL_EVENTS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "events"
MODELS = ("tiny_cnn_fusion.synthetic_faces", "tiny_cnn_fusion.synthetic_faces_noise")


def lit_test_set(light: tuple[float, float] | None, contract: Any, cache_dir: str | None) -> SyntheticFaces:
    """The protocol's test subjects lit by ``light`` (``(frequency_hz, depth)``; None: steady light)."""
    p = SYNTHETIC_FACES
    config = SyntheticFacesConfig(n_subjects=p.n_subjects, clips_per_subject=p.clips_per_subject,
                                  frames_per_clip=p.frames_per_clip, image_size=contract.image_size,
                                  emotion_clips_per_emotion=p.emotion_clips_per_emotion, seed=p.data_seed,
                                  light_flicker=light)
    return SyntheticFaces(cache_dir, "test", config=config, contract=contract, stride=p.stride,
                          val_fraction=p.val_fraction, test_fraction=p.test_fraction, progress=False)


def parse_light(text: str) -> tuple[float, float]:
    """``"100:0.3"`` → ``(100.0, 0.3)``."""
    frequency, _, depth = text.partition(":")
    return float(frequency), float(depth)


def flicker_peak(events: np.ndarray, frequency_hz: float, bin_us: int = 500) -> float:
    """The event-rate spectrum's magnitude at ``frequency_hz`` over its median in 40 Hz - 1 kHz."""
    t = events["t"] - events["t"][0]
    counts = np.bincount((t // bin_us).astype(np.int64)).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(counts - counts.mean()))
    freqs = np.fft.rfftfreq(len(counts), bin_us * 1e-6)
    band = (freqs >= 40) & (freqs <= 1000)
    near = np.abs(freqs - frequency_hz) <= max(freqs[1], 2.0)
    return float(spectrum[near].max() / np.median(spectrum[band]))


def filter_clips(dataset: SyntheticFaces) -> tuple[float, float, float, float]:
    """``(events per clip, share of flicker events, combed events per clip, ns per event)`` of
    :func:`deflicker_events` over the dataset's clips."""
    total = flicker = out = 0
    seconds = 0.0
    for clip_id in dict.fromkeys(dataset.clip_ids):
        events = dataset.clip_events(clip_id)
        start = time.perf_counter()
        combing = FlickerFilter(dataset.sensor_size)
        combed = np.concatenate([combing(events), combing.finish()])
        seconds += time.perf_counter() - start
        total, flicker, out = total + len(events), flicker + combing.flicker_events, out + len(combed)
    clips = len(set(dataset.clip_ids))
    return total / clips, flicker / max(total, 1), out / clips, 1e9 * seconds / max(total, 1)


def real_recordings() -> None:
    files = sorted(REAL_EVENTS.glob("*.*")) if REAL_EVENTS.is_dir() else []
    files = [f for f in files if f.suffix in (".raw", ".aedat4", ".h5", ".dat")]
    if not files:
        print("\n(no real recordings: ../shared/data/events is absent)")
        return
    print("\n| real recording | events | span | flicker events | frequency | events after the comb | "
          "rate-spectrum peak before → after | filter ns/event |")
    print("|---|---|---|---|---|---|---|---|")
    for path in files:
        recording = read_recording(path)
        events = recording.events
        flicker = FlickerFilter(recording.sensor_size)
        start = time.perf_counter()
        kept = np.concatenate([flicker(events), flicker.finish()])
        ns = 1e9 * (time.perf_counter() - start) / len(events)
        span_ms = (int(events["t"][-1]) - int(events["t"][0])) / 1000
        frequency = flicker.frequency_hz
        peak = ("–" if frequency is None else
                f"{flicker_peak(events, frequency):.1f} → {flicker_peak(kept, frequency):.1f}")
        print(f"| {path.name} | {len(events):,} | {span_ms:.0f} ms | {flicker.flicker_fraction:.1%} | "
              f"{'–' if frequency is None else f'{frequency:.1f} Hz'} | {len(kept):,} | {peak} | {ns:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="tags or folders")
    parser.add_argument("--lights", nargs="+", type=parse_light, default=[(100.0, 0.25), (120.0, 0.35)],
                        metavar="HZ:DEPTH", help="flickering lamps (default 100:0.25 120:0.35)")
    parser.add_argument("--cache-dir", default=None, help="event cache (default: neurova's)")
    args = parser.parse_args()

    models = {name: from_pretrained(name) for name in args.models}
    contract = next(iter(models.values())).input_contract
    lights: list[tuple[float, float] | None] = [None, *args.lights]
    datasets = {}
    print("| light | events per clip | flicker events | events per clip after the comb | filter ns/event |")
    print("|---|---|---|---|---|")
    for light in lights:
        start = time.perf_counter()
        datasets[light] = lit_test_set(light, contract, args.cache_dir)
        built = time.perf_counter() - start
        per_clip, share, out, ns = filter_clips(datasets[light])
        name = "steady" if light is None else f"{light[0]:g} Hz, depth {light[1]:g}"
        print(f"| {name} | {per_clip:,.0f} | {share:.1%} | {out:,.0f} | {ns:.0f} | (built in {built:.0f} s)",
              flush=True)
    print("\n| model | light | filter | CCC valence / arousal | RMSE valence / arousal | non-zero pixels | "
          "domain check |")
    print("|---|---|---|---|---|---|---|")
    for name, model in models.items():
        for light in lights:
            for deflicker in (False, True):
                dataset = lit_test_set(light, model.input_contract, args.cache_dir)
                if deflicker:
                    dataset = filtered(dataset, lambda events, d=dataset: deflicker_events(events, d.sensor_size))
                result = evaluate(model, dataset)
                warns = {None: "–", True: "warns", False: "no"}[result["warns"]]
                print(f"| {name} | {'steady' if light is None else f'{light[0]:g} Hz, depth {light[1]:g}'} | "
                      f"{'deflicker' if deflicker else '–'} | {result['ccc_valence']:.3f} / {result['ccc_arousal']:.3f} "
                      f"| {result['rmse_valence']:.3f} / {result['rmse_arousal']:.3f} | {result['nonzero']:.1%} | "
                      f"{warns} |", flush=True)
    real_recordings()


if __name__ == "__main__":
    main()
