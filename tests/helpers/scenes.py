"""Small simulated scenes for tests: a static block texture with a bright square moving across it."""

from __future__ import annotations

import numpy as np


def moving_square(size: tuple[int, int], n_frames: int = 26, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(frames (T, H, W) uint8, timestamps µs)`` at 25 fps on a ``(width, height)`` sensor."""
    width, height = size
    rng = np.random.default_rng(seed)
    base = rng.uniform(40, 200, (-(-height // 5), -(-width // 5))).repeat(5, 0).repeat(5, 1)[:height, :width]
    frames = np.repeat(base[None], n_frames, axis=0)
    for i in range(n_frames):
        frames[i, height // 3:height // 3 + 10, i:i + 10] = 235
    return np.rint(frames).astype(np.uint8), np.arange(n_frames, dtype=np.int64) * 40_000
