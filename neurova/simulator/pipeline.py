"""The simulation pipeline: whole clips in, event arrays out.

:func:`simulate` and :func:`simulate_batch` compose the simulator's parts: reading a source
(array, video file, frame folder; :mod:`~neurova.simulator.video`), cropping and resizing,
temporal upsampling (:mod:`~neurova.simulator.interpolate`), and the pixel model
(:class:`~neurova.simulator.dvs.DVSSimulator`) or v2e's own emulator
(:mod:`~neurova.simulator.v2e`). Many clips to HDF5 files: :func:`neurova.simulator.batch.simulate_dataset`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from neurova import image
from neurova.events import concat_events, empty_events
from neurova.simulator import interpolate, video
from neurova.simulator.dvs import DVSSimulator, resolve_seeds
from neurova.simulator.interpolate import Interpolator
from neurova.simulator.presets import resolve_params
from neurova.simulator.v2e import simulate_v2e

__all__ = ["CPU_BATCH_PIXELS", "simulate", "simulate_batch"]

CPU_BATCH_PIXELS = 1 << 16
"""Pixels per step (clips x H x W) of :func:`simulate_batch`'s default CPU batches: sixteen 64x64 clips
run together, a 346x260 clip alone (measured break-even near 4 clips of 128x128)."""


def _run_group(
    streams: list[Iterable[tuple[np.ndarray, int]]],
    sim: DVSSimulator,
    *,
    total: int | None,
    progress: bool,
) -> list[np.ndarray]:
    """Step ``sim`` through frame streams of equal length; concatenate each clip's events."""
    from tqdm.auto import tqdm

    chunks: list[list[np.ndarray]] = [[] for _ in streams]
    for items in tqdm(zip(*streams), total=total, disable=not progress, desc="simulate", unit="frame"):
        frames = np.stack([np.asarray(frame) for frame, _ in items])
        for chunk, events in zip(chunks, sim.step(frames, [t for _, t in items])):
            if len(events):
                chunk.append(events)
    results = []
    for chunk in chunks:  # one clip at a time, freeing its pieces at once: its memory serves the next clip
        results.append(concat_events(chunk))
        chunk.clear()
    return results


def simulate(
    source: Any,
    timestamps_us: Sequence[int] | np.ndarray | None = None,
    *,
    fps: float | None = None,
    preset: str | None = "clean",
    upsample: int | None = None,
    max_step_px: float | None = None,
    interpolator: Interpolator | None = None,
    crop: tuple[int, int, int, int] | None = None,
    size: tuple[int, int] | None = None,
    seed: int | None = 0,
    device: str | torch.device = "cpu",
    backend: str = "neurova",
    threads: int | None = None,
    progress: bool = False,
    **params: Any,
) -> np.ndarray:
    """Simulate the events of one clip.

    Args:
        source: ``(T, H, W)`` grayscale or ``(T, H, W, 3)`` RGB array or tensor (uint8 or float
            0..255), a list of such frames, a video file, or a folder of PNG/JPEG frames
            (sorted by name, see :func:`neurova.simulator.video.read_video`).
        timestamps_us: ``(T,)`` frame times in µs, strictly increasing; default ``i * 1e6 / fps``
            (a video file's own frame rate when ``fps`` is not given).
        fps: frame rate for arrays and frame folders (default
            :data:`~neurova.simulator.video.DEFAULT_FPS` = 25) and overriding a video file's.
        preset: ``"clean"`` (default), ``"noisy"`` or ``None`` (v2e ``EventEmulator`` defaults).
        upsample: integer temporal upsampling factor (``factor - 1`` frames interpolated per interval).
        max_step_px: upsample each interval so that the estimated motion per frame stays below this
            many pixels (see :mod:`neurova.simulator.interpolate`); exclusive with ``upsample``.
        interpolator: ``(frame_a, frame_b, n) -> (n, H, W)`` intermediate frames (float 0..255);
            default: linear interpolation in the lin-log domain.
        crop: ``(x0, y0, w, h)`` box cut from every frame before resizing.
        size: ``(width, height)`` to resize to (after ``crop``), antialiased.
        seed: random seed of thresholds and noise (``None``: not reproducible).
        device: torch device of the simulation.
        backend: ``"neurova"`` or ``"v2e"`` (run v2e's own ``EventEmulator``; needs v2e installed).
        threads: CPU threads of the simulation (``None``: 1, see :class:`DVSSimulator`); the events do
            not depend on it.
        progress: show a progress bar over frames.
        **params: pixel-model parameters overriding the preset (see :class:`DVSSimulator`).

    Returns:
        Events of :data:`~neurova.events.EVENT_DTYPE` sorted by ``t`` (µs, frame time base).
    """
    return simulate_batch(
        [source],
        None if timestamps_us is None else [timestamps_us],
        fps=fps,
        preset=preset,
        upsample=upsample,
        max_step_px=max_step_px,
        interpolator=interpolator,
        crop=crop,
        size=size,
        seed=seed,
        device=device,
        backend=backend,
        threads=threads,
        progress=progress,
        **params,
    )[0]


def simulate_batch(
    sources: Sequence[Any],
    timestamps_us: Sequence[Sequence[int] | np.ndarray | None] | None = None,
    *,
    fps: float | None = None,
    preset: str | None = "clean",
    upsample: int | None = None,
    max_step_px: float | None = None,
    interpolator: Interpolator | None = None,
    crop: tuple[int, int, int, int] | None = None,
    size: tuple[int, int] | None = None,
    seed: int | Sequence[int] | None = 0,
    device: str | torch.device = "cpu",
    backend: str = "neurova",
    batch_size: int | None = None,
    threads: int | None = None,
    progress: bool = False,
    **params: Any,
) -> list[np.ndarray]:
    """Simulate several clips, batched in one :class:`DVSSimulator` where they fit together.

    Clips with the same frame size and number of (upsampled) frames run side by side, at most
    ``batch_size`` at a time; their timestamps may differ. The default ``batch_size`` is every clip on
    a GPU, and on the CPU as many clips as make :data:`CPU_BATCH_PIXELS` pixels per step (at least one):
    numpy's passes gain from batching small frames (1.1–1.4x for 32x32 and 64x64 clips) but lose on large
    ones (0.7–0.9x for 4 clips of 180x180 to 346x260), docs/benchmarks.md. Clip ``i`` uses seed
    ``seed + i`` (or ``seed[i]`` for a list), so the result equals ``simulate(sources[i],
    seed=seed + i)`` clip by clip, whatever the batching. Arguments are those of :func:`simulate`.

    Returns:
        One event array per source, in input order.
    """
    if backend not in ("neurova", "v2e"):
        raise ValueError(f"backend must be 'neurova' or 'v2e', got {backend!r}")
    if timestamps_us is not None and len(timestamps_us) != len(sources):
        raise ValueError(f"got {len(timestamps_us)} timestamp arrays for {len(sources)} sources")
    seeds = resolve_seeds(seed, len(sources))
    clips = []
    for i, source in enumerate(sources):
        frames, times = video.load_frames(source, None if timestamps_us is None else timestamps_us[i], fps=fps)
        frames = image.crop_and_resize(frames, crop, size, interpolation="bilinear", pad=False)
        factors = interpolate.upsample_factors(frames, upsample=upsample, max_step_px=max_step_px)
        clips.append((frames, times, factors))
    if backend == "v2e":
        resolved = resolve_params(preset, **params)
        return [
            simulate_v2e(interpolate.iter_frames(f, t, k, interpolator), f.shape[1:], resolved, seed=s, device=device)
            for (f, t, k), s in zip(clips, seeds)
        ]

    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, (frames, _, factors) in enumerate(clips):
        groups.setdefault((int(np.sum(factors)) + 1, *frames.shape[1:3]), []).append(i)
    results: list[np.ndarray] = [empty_events()] * len(sources)
    on_cpu = torch.device(device).type == "cpu"
    for (n_frames, height, width), members in groups.items():
        limit = batch_size or (max(1, CPU_BATCH_PIXELS // (height * width)) if on_cpu else len(members))
        for start in range(0, len(members), limit):
            chunk = members[start : start + limit]
            sim = DVSSimulator(
                height,
                width,
                batch_size=len(chunk),
                preset=preset,
                seed=[seeds[i] for i in chunk],
                device=device,
                threads=threads,
                **params,
            )
            streams = [interpolate.iter_frames(*clips[i], interpolator) for i in chunk]
            for i, events in zip(chunk, _run_group(streams, sim, total=n_frames, progress=progress)):
                results[i] = events
    return results
