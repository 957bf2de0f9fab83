"""What the determinism tests compare across processes: digests of a noisy simulation's events and of the subject
splits, computed from fixed seeds.

A child process imports this module alone (numpy, torch and the simulator; not Lightning nor the models), so a
fresh interpreter computes the same digests at the cost of importing torch only.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from neurova.datasets.splits import subject_holdout, subject_kfold
from neurova.datasets.synthetic import SyntheticFacesConfig
from neurova.simulator import simulate

CONFIG = {"n_subjects": 6, "clips_per_subject": 2, "frames_per_clip": 4, "emotion_clips_per_emotion": 1}
"""The synthetic-faces configuration whose subject split is fingerprinted."""

ACTORS = [f"actor{i % 7}" for i in range(20)]
CLIPS = [f"{i + 1:03d}" for i in range(20)]
"""20 AFEW-VA-style clips of 7 actors, for the k-fold split."""


def frames() -> np.ndarray:
    """Six 16 x 20 gray frames of a random texture sliding sideways, float32 in [30, 220]."""
    base = np.random.default_rng(0).uniform(30, 220, (16, 20))
    return np.stack([np.roll(base, i, axis=1) for i in range(6)]).astype(np.float32)


def fingerprints() -> dict[str, str]:
    """SHA-256 of the noisy simulation's events and of the synthetic and AFEW-VA-style subject splits, and the
    number of events."""
    events = simulate(frames(), preset="noisy", seed=7, upsample=2)
    _, subjects = SyntheticFacesConfig(**CONFIG).jobs()
    regular = sorted(c for c, s in subjects.items() if s.startswith("s"))
    holdout = subject_holdout(regular, [subjects[c] for c in regular], val_fraction=0.2, test_fraction=0.2, seed=3)
    kfold = [subject_kfold(CLIPS, ACTORS, n_folds=5, fold=f, seed=3) for f in range(5)]

    def digest(value: bytes | object) -> str:
        data = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()

    return {"events": digest(events.tobytes()), "holdout": digest(holdout), "kfold": digest(kfold),
            "n_events": str(len(events))}
