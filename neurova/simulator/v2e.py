"""Optional backend: run v2e's own ``EventEmulator`` (``simulate(..., backend="v2e")``).

v2e is not on the package index; install it from its repository
(https://github.com/SensorsINI/v2e). Its emulator is imported as ``v2e.EventEmulator``
or ``v2ecore.emulator.EventEmulator``. v2e seeds the global random generators of
torch, numpy and ``random``; this adapter seeds them inside a scope that restores
them afterwards, so every neurova seed (0 included) is reproducible and the caller's
random state is untouched. v2e stamps events on its own grid (``timestamp_mode``
does not apply) in float32 seconds, rounded here to µs.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from neurova.errors import MissingDependencyError
from neurova.events import as_events, empty_events
from neurova.simulator.presets import DVSParams

__all__ = ["load_event_emulator", "simulate_v2e"]

_V2E_ARGS = (
    "pos_thres",
    "neg_thres",
    "sigma_thres",
    "cutoff_hz",
    "leak_rate_hz",
    "refractory_period_s",
    "shot_noise_rate_hz",
    "leak_jitter_fraction",
    "noise_rate_cov_decades",
)


def load_event_emulator() -> Any:
    """v2e's ``EventEmulator`` class.

    Raises:
        MissingDependencyError: v2e is not installed.
    """
    for module, attribute in (("v2e", "EventEmulator"), ("v2ecore.emulator", "EventEmulator")):
        try:
            found = getattr(importlib.import_module(module), attribute, None)
        except ImportError:
            continue
        if found is not None:
            return found
    raise MissingDependencyError(
        "backend='v2e' needs the v2e package, which is not installed (it is not on PyPI). "
        "Install v2e from its repository: pip install git+https://github.com/SensorsINI/v2e "
        "or use backend='neurova', which implements the same pixel model."
    )


def simulate_v2e(
    frames: Iterable[tuple[np.ndarray, int]],
    shape: tuple[int, int],
    params: DVSParams,
    *,
    seed: int | None = 0,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Run v2e's ``EventEmulator`` over ``(frame (H, W) 0..255, t_us)`` pairs; return neurova events.

    Args:
        frames: grayscale frames with strictly increasing timestamps in µs.
        shape: ``(H, W)`` of the frames.
        params: the pixel-model parameters, passed to ``EventEmulator`` by name.
        seed: seeds torch, numpy and ``random`` for the run (``None``: not seeded).
        device: torch device v2e runs on.
    """
    emulator_cls = load_event_emulator()
    height, width = shape
    chunks: list[np.ndarray] = []
    numpy_state, python_state = np.random.get_state(), random.getstate()  # noqa: NPY002 (v2e uses the globals)
    devices = [torch.device(device).index or 0] if torch.device(device).type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
                np.random.seed(seed % 2**32)  # noqa: NPY002
                random.seed(seed)
            emulator = emulator_cls(
                **{name: getattr(params, name) for name in _V2E_ARGS},
                seed=0,  # v2e's "do not seed": seeding happened above, inside the restored scope
                output_width=width,
                output_height=height,
                device=str(device),
            )
            for frame, t_us in frames:
                out = emulator.generate_events(np.asarray(frame), t_us * 1e-6)
                if out is not None and len(out):
                    chunks.append(np.asarray(out, dtype=np.float64).reshape(-1, 4))
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)
    if not chunks:
        return empty_events()
    return as_events(np.concatenate(chunks), columns="txyp", time_scale=1e6, sort=True, sensor_size=(width, height))
