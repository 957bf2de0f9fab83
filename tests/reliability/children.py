"""Bodies of the child processes that the kill tests end with SIGKILL midway (tests/reliability/test_nothing_lost.py).

They run in processes forked by a fork server (the ``fork_server`` fixture) that imported this module, and with it
torch, Lightning and neurova's models, once: each child is a real process, killed like any other, that starts in
milliseconds instead of seconds of imports. Each runs torch on one thread, as a child of the suite would
(``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurova.datasets import synthetic
from neurova.datasets.synthetic import SyntheticFacesConfig, prepare_synthetic_faces
from neurova.io import write_events
from neurova.models import create_model

N_WRITTEN = 400_000
"""Events in each file :func:`write_forever` writes."""


def build_synthetic_cache(cache_dir: str, config: dict[str, Any], kill_after: int, reached: Event) -> None:
    """Build the synthetic-faces cache of ``config`` in ``cache_dir`` with :func:`prepare_synthetic_faces`;
    ``reached`` is set when the ``kill_after``-th clip of this build starts (the earlier ones are written), so a
    test kills the build midway whatever the machine's load, not after a guessed time."""
    torch.set_num_threads(1)
    make_record = synthetic._make_record  # renders and simulates one clip; the build calls it once per clip
    started = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal started
        started += 1
        if started == kill_after:
            reached.set()
        return make_record(*args, **kwargs)

    synthetic._make_record = counted  # in this child process only
    prepare_synthetic_faces(cache_dir, SyntheticFacesConfig(**config), progress=False)


def write_forever(root: str, ready: Event) -> None:
    """Rewrite ``old.h5`` and ``new.npz`` (:data:`N_WRITTEN` events each, 64 x 48 sensor) and save a tiny model
    (``resnet18_fusion`` over timm's ``test_resnet``, seed 1) to ``model/``, over and over until killed; ``ready``
    is set before the first write."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    events = np.zeros(N_WRITTEN, dtype=[("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "?")])
    events["x"], events["y"] = rng.integers(0, 64, N_WRITTEN), rng.integers(0, 48, N_WRITTEN)
    events["t"], events["p"] = np.sort(rng.integers(0, 10**7, N_WRITTEN)), rng.integers(0, 2, N_WRITTEN)
    torch.manual_seed(1)
    model = create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)
    ready.set()
    while True:
        write_events(Path(root) / "old.h5", events, (64, 48))
        write_events(Path(root) / "new.npz", events, (64, 48))
        model.save_pretrained(Path(root) / "model")
