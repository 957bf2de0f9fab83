"""DVS event simulator: v2e's pixel model in torch, batched, plus video input and dataset runs.

* :class:`DVSSimulator` — the pixel model for a batch of same-size clips, frame by frame;
* :func:`simulate` / :func:`simulate_batch` (:mod:`~neurova.simulator.pipeline`) — whole clips (arrays, video
  files, frame folders): reading, cropping and resizing, upsampling, then the pixel model;
* :func:`simulate_dataset` — many clips to HDF5, resumable, in worker processes and across ranks;
* :func:`flickering_light` (:mod:`~neurova.simulator.light`) — the frames of a scene lit by a flickering lamp;
* :mod:`~neurova.simulator.video`, :mod:`~neurova.simulator.interpolate`, :mod:`~neurova.simulator.noise`,
  :mod:`~neurova.simulator.v2e` — reading videos, temporal upsampling, shot-noise sampling, the optional
  v2e backend; :mod:`~neurova.simulator.tuning` — the timing that picks a step's thread count.
"""

from __future__ import annotations

from neurova.image import to_gray
from neurova.simulator.batch import simulate_dataset
from neurova.simulator.dvs import DVSSimulator, inverse_lin_log, lin_log
from neurova.simulator.light import check_lamp, flicker_gain, flickering_light
from neurova.simulator.pipeline import simulate, simulate_batch
from neurova.simulator.presets import (
    PRESETS,
    TIMESTAMP_MODES,
    V2E_DEFAULTS,
    DVSParams,
    checked_overrides,
    resolve_params,
    simulation_key,
)
from neurova.simulator.video import list_frame_files, read_video

__all__ = [
    "PRESETS",
    "TIMESTAMP_MODES",
    "V2E_DEFAULTS",
    "DVSParams",
    "DVSSimulator",
    "check_lamp",
    "checked_overrides",
    "flicker_gain",
    "flickering_light",
    "inverse_lin_log",
    "lin_log",
    "list_frame_files",
    "read_video",
    "resolve_params",
    "simulate",
    "simulate_batch",
    "simulate_dataset",
    "simulation_key",
    "to_gray",
]
