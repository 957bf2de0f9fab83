"""A real camera's contrast threshold and noise, measured: a DAVIS346's events against its own APS frames.

A DAVIS sensor records grayscale frames (APS) and events (DVS) through the same pixels. Between two frames, a
pixel whose log intensity changed by ``Δ`` fires about ``|Δ| / θ`` events (more when the change reversed
between frames, fewer at saturation), so re-simulating the recording's own frames at several contrast thresholds
``θ`` and matching the real event rate gives the camera's effective threshold, which
:func:`neurova.recipes.sensor_options` names ``threshold_θ`` (the training sensor's is 0.2; the
``synthetic_faces_cameras`` data spans 0.1 to 0.4). Events the frames cannot explain are the camera's noise.

It simulates ``../shared/data/events/davis346_with_frames.aedat4``'s three APS frames (40 ms apart;
motion-compensated interpolation, ``max_step_px=1``) with the ``clean`` pixel at each ``θ`` of ``--thresholds``,
and prints, per band of APS brightness (the pixel's mean over the frames, 0–255), the real and the simulated
events per pixel per second between the first and the last frame. The threshold is fitted (log-linear between
grid points) where the real rate equals the simulated one over the pixels of ``--fit-band`` (default 20–80: lit,
unsaturated, away from the lamps; darker pixels are dominated by noise, brighter ones in this scene are the
flickering lamps and their halo). The background activity is the real rate on pixels whose frames did not change
(at most 2 of 255 between any two), dark (below 20) and lit, to set beside the sensors of
:data:`neurova.recipes.SENSORS` (shot noise 5 Hz ``noisy``, 20 Hz ``dim``, 50 Hz ``dark``, at black).

    .venv/bin/python benchmarks/bench_real_threshold.py [--recording PATH] [--thresholds 0.1 0.15 ...]

Limits, read the figures with them: three frames (80 ms) of one lab scene from one camera with unknown biases;
the frames' timestamps are taken as the instants the events are compared between (each exposure lasts some ms);
a change that reverses between two frames is missed by the interpolation (the fitted threshold is then too high)
and noise adds real events (too low); the frames are 8-bit, coarse in log intensity in the dark.
"""


from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from neurova.io import read_recording
from neurova.recipes import sensor_options
from neurova.simulator import simulate

RECORDING = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "events" / "davis346_with_frames.aedat4"
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
BANDS = (0, 10, 20, 40, 80, 120, 200, 256)
STILL_DN = 2


def count_map(events: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(H, W)`` events per pixel."""
    counts = np.zeros((height, width), dtype=np.int64)
    np.add.at(counts, (events["y"], events["x"]), 1)
    return counts


def clean_at(theta: float) -> dict[str, Any]:
    """:func:`neurova.recipes.sensor_options` of the ``clean`` pixel at ON and OFF thresholds ``theta``
    (the ``threshold_θ`` sensor)."""
    return sensor_options(f"threshold_{float(theta)}")


def simulated_rates(frames: np.ndarray, stamps_us: np.ndarray, sources: dict[str, dict]) -> dict[str, np.ndarray]:
    """``{name: (H, W) events per pixel}`` of ``frames`` ``(T, H, W)`` uint8 at ``stamps_us`` simulated by each
    sensor of ``sources`` (``{name: {"preset": ..., "dvs_params": ...}}``, :func:`neurova.recipes.sensor_options`)."""
    height, width = frames.shape[1:]
    maps = {}
    for name, options in sources.items():
        events = simulate(frames, stamps_us - stamps_us[0], preset=options["preset"], max_step_px=1.0,
                          **(options["dvs_params"] or {}))
        maps[name] = count_map(events, width, height)
    return maps


def fit_threshold(frames: np.ndarray, stamps_us: np.ndarray, events: np.ndarray,
                  thresholds: np.ndarray | tuple[float, ...] = THRESHOLDS, band: tuple[int, int] = (20, 80)) -> float:
    """The contrast threshold (log units) at which the ``clean`` pixel, fed ``frames`` ``(T, H, W)`` uint8 at
    ``stamps_us``, fires as many events as ``events`` do between the first and the last frame, over the pixels
    whose mean brightness lies in ``band``."""
    grid = np.asarray(thresholds, dtype=np.float64)
    maps = simulated_rates(frames, stamps_us, {f"{t:g}": clean_at(t) for t in grid})
    real = count_map(between(events, stamps_us), frames.shape[2], frames.shape[1])
    return fit_maps(grid, list(maps.values()), real, in_band(brightness(frames), band))


def fit_maps(grid: np.ndarray, simulated: list[np.ndarray], real: np.ndarray, pixels: np.ndarray) -> float:
    """:func:`fitted` over ``pixels`` of the ``(H, W)`` count maps ``simulated`` (one per threshold of ``grid``)
    and ``real``."""
    return fitted(grid, np.asarray([m[pixels].sum() for m in simulated], dtype=np.float64), float(real[pixels].sum()))


def brightness(frames: np.ndarray) -> np.ndarray:
    """``(H, W)`` mean of ``frames`` ``(T, H, W)``, 0–255."""
    return frames.astype(np.float64).mean(axis=0)


def in_band(bright: np.ndarray, band: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool: pixels whose ``bright`` (:func:`brightness`) lies in ``[band[0], band[1])``."""
    return (bright >= band[0]) & (bright < band[1])


def between(events: np.ndarray, stamps_us: np.ndarray) -> np.ndarray:
    """``events`` between the first and the last frame."""
    return events[(events["t"] >= stamps_us[0]) & (events["t"] < stamps_us[-1])]


def fitted(thresholds: np.ndarray, simulated: np.ndarray, real: float) -> float:
    """The threshold at which the simulated rate equals ``real`` (log-linear interpolation; NaN off the grid)."""
    order = np.argsort(simulated)  # rates fall as the threshold rises
    rates, grid = np.log(np.maximum(simulated[order], 1e-9)), np.log(thresholds[order])
    if not rates[0] <= np.log(real) <= rates[-1]:
        return float("nan")
    return float(np.exp(np.interp(np.log(real), rates, grid)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, default=RECORDING, help="a DAVIS recording with APS frames")
    parser.add_argument("--thresholds", nargs="+", type=float, default=list(THRESHOLDS))
    parser.add_argument("--sensors", nargs="*", default=["davis346_dark", "davis346_lit"],
                        help="named sensors (neurova.recipes.SENSORS, threshold_ON[_OFF]) simulated beside the grid")
    parser.add_argument("--fit-band", nargs=2, type=int, default=[20, 80], metavar=("LOW", "HIGH"),
                        help="APS brightness band of the fit (default 20 80)")
    args = parser.parse_args()
    if not args.recording.is_file():
        raise SystemExit(f"{args.recording}: not found (the real DAVIS346 sample of ../shared/data)")
    recording = read_recording(args.recording)
    frames, stamps = recording.frames, np.asarray(recording.frame_timestamps_us, dtype=np.int64)
    if frames is None or len(frames) < 2:
        raise SystemExit(f"{args.recording}: needs at least two APS frames")
    width, height = recording.sensor_size
    span_s = (stamps[-1] - stamps[0]) / 1e6
    real = between(recording.events, stamps)
    grid = np.asarray(args.thresholds)
    sources = {f"θ = {t:g}": clean_at(t) for t in grid}
    sources.update({f"`{name}`": sensor_options(name) for name in args.sensors})
    maps = {"real": count_map(real, width, height), **simulated_rates(frames, stamps, sources)}
    bright, still = brightness(frames), np.ptp(frames.astype(np.int16), axis=0) <= STILL_DN
    print(f"{args.recording.name}: {width}x{height}, {len(frames)} APS frames over {span_s * 1000:.0f} ms, "
          f"{len(real)} real events between the first and the last ({(real['p'] > 0).mean():.0%} ON)\n")
    print("events per pixel per second, by APS brightness (mean of the frames, 0–255):\n")
    print("| brightness | pixels | " + " | ".join(maps) + " |")
    print("|---|---|" + "---|" * len(maps))
    for low, high in itertools.pairwise(BANDS):
        band = in_band(bright, (low, high))
        if band.any():
            print(f"| {low}–{high} | {int(band.sum())} | "
                  + " | ".join(f"{m[band].sum() / band.sum() / span_s:.1f}" for m in maps.values()) + " |")
    band = in_band(bright, tuple(args.fit_band))
    theta = fit_maps(grid, [maps[f"θ = {t:g}"] for t in grid], maps["real"], band)
    print(f"\nfitted threshold over brightness {args.fit_band[0]}–{args.fit_band[1]}: {theta:.3f} log units "
          f"(training 0.2)\n")
    shown = ["real", *(f"`{n}`" for n in args.sensors)]
    print("background activity on still pixels (frames within 2 of 255), events per pixel per second:\n")
    print("| still pixels | pixels | " + " | ".join(shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for name, pixels in (("dark (below 20)", still & (bright < 20)),
                         (f"lit ({args.fit_band[0]}–{args.fit_band[1]})", still & band)):
        per_s = max(int(pixels.sum()), 1) * span_s
        print(f"| {name} | {int(pixels.sum())} | " + " | ".join(f"{maps[k][pixels].sum() / per_s:.1f}" for k in shown)
              + " |")

if __name__ == "__main__":
    main()
