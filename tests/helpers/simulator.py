"""Clips for the simulator tests and v2e's reference loop (``benchmarks/v2e_loop.py``) to compare against.

Clips are ``(T, H, W)`` uint8 arrays; times are in µs; the reference loop returns ``[t (s), x, y, p]`` rows.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from neurova.simulator import DVSSimulator
from tests.helpers.paths import REPO


def ramp(values: list[int]) -> np.ndarray:
    """A 1x1-pixel clip ``(T, 1, 1)`` with the given intensities."""
    return np.asarray(values, dtype=np.uint8).reshape(-1, 1, 1)


def texture_clip(n_frames: int = 12, size: int = 16, seed: int = 0) -> np.ndarray:
    """Smooth random texture moving one pixel per frame: ``(n_frames, size, size)`` uint8."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(10, 245, (size, 3 * size))
    base = (base + np.roll(base, 1, 0) + np.roll(base, 1, 1)) / 3
    return np.stack([base[:, i : i + size] for i in range(n_frames)]).round().astype(np.uint8)


def block_clip(n_frames: int = 12, size: int = 24, seed: int = 1) -> np.ndarray:
    """A random texture of 8x8-pixel blocks panning 2 px per frame: ``(n_frames, size, size)`` uint8, sharp edges,
    many events per pixel."""
    rng = np.random.default_rng(seed)
    scene = np.kron(rng.uniform(10, 245, (size // 8 + 1, (size + 2 * n_frames) // 8 + 1)), np.ones((8, 8)))
    return np.stack([scene[:size, 2 * i : 2 * i + size] for i in range(n_frames)]).round().astype(np.uint8)


def load_v2e_loop() -> ModuleType:
    """The repository's transcription of v2e's loop (``benchmarks/v2e_loop.py``), shared with the benchmark."""
    path = REPO / "benchmarks" / "v2e_loop.py"
    spec = importlib.util.spec_from_file_location("v2e_loop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def by_pixel(t_us: np.ndarray, x: np.ndarray, y: np.ndarray, on: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events ordered by pixel, polarity, then time: (x, y, p) rows and their times."""
    order = np.lexsort((t_us, on, y, x))
    return np.stack([x, y, on]).T[order].astype(np.int64), t_us[order]


def assert_same_events(events: np.ndarray, ref: np.ndarray) -> None:
    """Same (x, y, p) multiset per pixel as the reference's ``[t (s), x, y, p]`` rows, times within 1 µs."""
    assert len(events) == len(ref)
    ours = by_pixel(events["t"], events["x"], events["y"], events["p"])
    theirs = by_pixel(ref[:, 0].astype(np.float64) * 1e6, ref[:, 1], ref[:, 2], ref[:, 3] > 0)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], atol=1.0)


def run_v2e_mode(clip: np.ndarray, times: np.ndarray, seed: int, **params: Any) -> tuple[np.ndarray, DVSSimulator]:
    """All events of ``clip`` ``(T, H, W)`` at ``times`` (µs) by a :class:`DVSSimulator` in v2e timestamp mode, and
    the simulator."""
    sim = DVSSimulator(*clip.shape[1:], seed=seed, **{**params, "timestamp_mode": "v2e"})
    return np.concatenate([sim.step(frame, int(t))[0] for frame, t in zip(clip, times)]), sim


def texture(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """A random ``(height, width)`` uint8 frame in [20, 235)."""
    rng = np.random.default_rng(seed)
    return rng.integers(20, 235, (height, width), dtype=np.uint8)


def write_folder(folder: Path, frames: np.ndarray, names: list[str] | None = None) -> Path:
    """``frames`` ``(T, H, W)`` uint8 as PNG files in ``folder`` (``00000.png``, ... unless ``names``); needs cv2."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / (names[i] if names else f"{i:05d}.png")), frame)
    return folder


def write_video(path: Path, frames: np.ndarray, fps: float = 20.0) -> Path:
    """``frames`` ``(T, H, W)`` uint8 as an MJPG video at ``fps``; needs cv2."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames.shape[2:0:-1])
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path
