"""Write a miniature AFEW-VA tree in the authors' exact layout.

    <root>/001/00000.png ... 000NN.png    RGB frames (a bright face-like blob moving over a textured background)
    <root>/001/001.json                   {"actor", "video_id", "frames": {"00000": {"valence", "arousal", "landmarks"}}}

Run ``python tests/data/afew_va/data.py OUT_DIR`` to write one; the tests call :func:`make_afew_va` on a tmp folder.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torchvision.io import write_png as _write_png


def write_png(image: torch.Tensor, path: str) -> None:
    """torchvision's PNG writer, without its torchcodec deprecation notice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _write_png(image, path)

ACTORS = ("Adam_Sandler", "Cate_Blanchett", "Adam_Sandler", "Daniel_Craig", "Emma_Stone")


def _landmarks(cx: float, cy: float, r: float) -> np.ndarray:
    """68 points: a jaw arc, brows, nose, eyes and mouth around (cx, cy), roughly as dlib orders them."""
    jaw = np.linspace(np.pi * 0.95, np.pi * 0.05, 17)
    pts = [(cx - r * np.cos(a), cy + r * 0.2 + r * 0.8 * np.sin(a)) for a in jaw]
    pts += [(cx - r * 0.8 + r * 0.15 * i, cy - r * 0.55) for i in range(5)]
    pts += [(cx + r * 0.2 + r * 0.15 * i, cy - r * 0.55) for i in range(5)]
    pts += [(cx, cy - r * 0.35 + r * 0.12 * i) for i in range(4)]
    pts += [(cx - r * 0.2 + r * 0.1 * i, cy + r * 0.15) for i in range(5)]
    for ex in (-0.45, 0.45):
        pts += [(cx + r * ex + r * 0.15 * np.cos(a), cy - r * 0.3 + r * 0.08 * np.sin(a))
                for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)]
    pts += [(cx + r * 0.4 * np.cos(a), cy + r * 0.45 + r * 0.15 * np.sin(a))
            for a in np.linspace(0, 2 * np.pi, 20, endpoint=False)]
    return np.asarray(pts, dtype=np.float64)


def make_afew_va(
    root: str | Path,
    *,
    n_clips: int = 5,
    n_frames: int = 12,
    size: int = 48,
    actors: tuple[str, ...] = ACTORS,
    seed: int = 0,
) -> Path:
    """Write ``n_clips`` clips ``001``... of ``n_frames`` ``size x size`` RGB PNG frames with JSON labels."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    for c in range(n_clips):
        clip_id = f"{c + 1:03d}"
        folder = root / clip_id
        folder.mkdir(parents=True, exist_ok=True)
        background = rng.uniform(20, 60, size=(size, size))
        phase = rng.uniform(0, 2 * np.pi)
        frames = {}
        for i in range(n_frames):
            t = i / n_frames
            cx = size / 2 + size * 0.12 * np.sin(2 * np.pi * t + phase)
            cy = size / 2 + size * 0.06 * np.cos(2 * np.pi * t + phase)
            r = size * 0.28
            face = ((xx - cx) / r) ** 2 + ((yy - cy) / (1.2 * r)) ** 2 < 1
            mouth = (np.abs(yy - (cy + 0.45 * r)) < 1.5) & (np.abs(xx - cx) < 0.4 * r * (1 + 0.5 * np.sin(6 * t)))
            gray = np.where(face, 190.0, background)
            gray[mouth] = 40
            rgb = np.stack([gray, gray * 0.9, gray * 0.8]).clip(0, 255).astype(np.uint8)
            write_png(torch.from_numpy(rgb), str(folder / f"{i:05d}.png"))
            valence = round(10 * np.sin(2 * np.pi * t + phase) * 0.8)
            arousal = round(10 * np.cos(2 * np.pi * t) * 0.6)
            frames[f"{i:05d}"] = {
                "arousal": int(arousal),
                "landmarks": np.round(_landmarks(cx, cy, r), 3).tolist(),
                "valence": int(valence),
            }
        doc = {"actor": actors[c % len(actors)], "frames": frames, "video_id": f"movie_{c % 3}"}
        (folder / f"{clip_id}.json").write_text(json.dumps(doc))
    return root


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/data/afew_va/data.py OUT_DIR")
    print(make_afew_va(sys.argv[1]))
