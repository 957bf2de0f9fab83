"""Write a miniature NEFER tree in the published layout.

    <root>/annotations/expected_emotions/{train,validation}_{event,gopro}.csv
    <root>/annotations/reported_emotions/{train,validation}_{event,gopro}_subjective.csv
    <root>/user_XX/<clip_id>/frame_00.png ... frame_50.png     (event TBR frames and GoPro RGB frames)

The CSVs are headerless ``user, clip_id, frame_path, label`` rows with the real files' inconsistent
prefixes (``../event_frame_NEW/``, ``rgb_frames/``, ``../gopro_frame/``). Run
``python tests/data/nefer/data.py OUT_DIR`` to write one; the tests call :func:`make_nefer` on a tmp folder.
"""

from __future__ import annotations

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

EMOTIONS = ("Anger", "Contempt", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")
N_FRAMES = 51
PREFIX = {
    ("train", "event"): "../event_frame_NEW",
    ("validation", "event"): "../event_frame_NEW",
    ("train", "gopro"): "rgb_frames",
    ("validation", "gopro"): "../gopro_frame",
}


def make_nefer(
    root: str | Path,
    *,
    train_users: tuple[str, ...] = ("user_01", "user_02"),
    validation_users: tuple[str, ...] = ("user_03",),
    clips_per_user: int = 2,
    size: int = 32,
    write_frames: bool = True,
    seed: int = 0,
) -> Path:
    """Write annotations and (optionally) frames; clip ``k`` of a user gets emotion ``k % 7``.

    Reported labels differ from expected ones on every second clip (the next emotion, or ``None``).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, users in (("train", train_users), ("validation", validation_users)):
        rows: dict[tuple[str, str], list[str]] = {}
        for u, user in enumerate(users):
            number = user.split("_")[-1]
            for k in range(clips_per_user):
                expected = EMOTIONS[(u + k) % 7]
                reported = expected if k % 2 == 0 else ("None" if k % 4 == 1 else EMOTIONS[(u + k + 1) % 7])
                event_clip = f"user{number}_2022-06-08_12-{20 + k:02d}-03_cd"
                gopro_clip = f"GOPR{760 + 10 * u + k:04d}"
                for kind, clip in (("event", event_clip), ("gopro", gopro_clip)):
                    for f in range(N_FRAMES):
                        tail = f"{user}/{clip}/frame_{f:02d}.png"
                        line = f"{user},{clip},{PREFIX[(split, kind)]}/{tail}"
                        rows.setdefault(("expected", kind), []).append(f"{line},{expected}")
                        rows.setdefault(("reported", kind), []).append(f"{line},{reported}")
                        if write_frames:
                            path = root / tail
                            path.parent.mkdir(parents=True, exist_ok=True)
                            if kind == "event":
                                codes = rng.integers(0, 256, size=(1, size, size)) * (rng.random((1, size, size)) < .2)
                                img = torch.from_numpy(codes.astype(np.uint8))
                            else:
                                img = torch.from_numpy(rng.integers(0, 256, size=(3, size, size), dtype=np.uint8))
                            write_png(img, str(path))
        for (label_set, kind), lines in rows.items():
            folder = root / "annotations" / f"{label_set}_emotions"
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{split}_{kind}.csv" if label_set == "expected" else f"{split}_{kind}_subjective.csv"
            (folder / name).write_text("\n".join(lines) + "\n")
    return root


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/data/nefer/data.py OUT_DIR")
    print(make_nefer(sys.argv[1]))
