"""Draw ``docs/images/synthetic_scenes.png``: three synthetic scenes and the events of their last 40 ms.

    .venv/bin/python docs/make_synthetic_figure.py docs/images/synthetic_scenes.png
"""

from __future__ import annotations

import sys

import matplotlib
import numpy as np

from neurova._atomic import atomic_path
from neurova.datasets.render import sample_identity, sample_va_trajectory
from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
from neurova.events import slice_time
from neurova.simulator import simulate

CASES = ((11, (320, 240)), (2, (320, 240)), (5, (160, 120)))  # (seed, sensor)
FRAME_US = 40_000


def main(out: str) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(CASES), figsize=(4 * len(CASES), 6.2))
    for col, (seed, sensor) in enumerate(CASES):
        rng = np.random.default_rng(seed)
        identity = sample_identity(rng)
        layout = sample_scene_layout(rng, sensor, hands_probability=0.7, moving_background_probability=0.7)
        va = sample_va_trajectory(12, rng)
        frames, boxes = render_scene_clip(identity, layout, va, rng=seed, supersample=2)
        times = np.arange(len(frames), dtype=np.int64) * FRAME_US
        events = simulate(np.rint(frames * 255).astype(np.uint8), times, preset="clean", max_step_px=1.0, seed=0)
        k = len(frames) - 1
        chunk = slice_time(events, int(times[k]) - FRAME_US, int(times[k]))
        image = np.zeros(frames.shape[1:])
        np.add.at(image, (chunk["y"], chunk["x"]), np.where(chunk["p"], 1, -1))
        limit = max(1.0, np.abs(image).max() * 0.6)
        axes[0, col].imshow(frames[k], cmap="gray", vmin=0, vmax=1)
        axes[1, col].imshow(image, cmap="bwr", vmin=-limit, vmax=limit)
        x0, y0, w, h = boxes[k]
        for row, colour in ((0, "lime"), (1, "k")):
            axes[row, col].add_patch(plt.Rectangle((x0, y0), w, h, fill=False, color=colour, lw=1.2))
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
        axes[0, col].set_title(f"{sensor[0]}x{sensor[1]}, {layout.clothing.pattern} clothing, "
                               f"{len(layout.hands)} hand(s)", fontsize=9)
    axes[0, 0].set_ylabel("frame (linear intensity)")
    axes[1, 0].set_ylabel("events of the last 40 ms")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1])
