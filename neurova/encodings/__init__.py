"""Functional event encodings: events in, float32 frames ``(T, C, H, W)`` out; and the functional event filters.

- :func:`tbr` / :func:`tbr_torch`: Temporal Binary Representation (the paper's encoding).
- :func:`resize_events`: the events a sensor with another resolution would have produced (a face box of any
  size → a model's ``S x S`` input with the same statistics); :class:`EventResizer` continues it over a stream;
  :func:`raise_threshold`: the events of the same sensor with higher contrast thresholds.
- :func:`event_frames`, :func:`voxel_grid`, :func:`time_surface`: count frames, voxel grids and time
  surfaces for ablations.
- :func:`crop_events`, :func:`downsample_events`, :func:`denoise_events`, :func:`drop_pixels` (with
  :func:`hot_pixels`): events in, events out (the functional twins of :class:`~neurova.transforms.Crop`,
  :class:`~neurova.transforms.Downsample`, :class:`~neurova.transforms.Denoise`,
  :class:`~neurova.transforms.DropPixel`).
- :func:`estimate_flicker_frequency`, :func:`flicker_mask`, :func:`flicker_share`, :func:`deflicker_events`, :class:`FlickerFilter` /
  :func:`deflicker_chunks`: a flickering lamp's frequency and events (:mod:`neurova.encodings.flicker`; :class:`~neurova.transforms.Deflicker`).

Every encoder shares the window convention of :func:`window_ends`: a frame ending at ``t_end`` covers
``[t_end - window, t_end)``.
"""

from __future__ import annotations

from neurova.encodings.filters import (
    crop_events,
    denoise_chunks,
    denoise_events,
    downsample_events,
    drop_pixels,
    hot_pixels,
)
from neurova.encodings.flicker import (
    FlickerFilter,
    deflicker_chunks,
    deflicker_events,
    estimate_flicker_frequency,
    flicker_mask,
    flicker_share,
)
from neurova.encodings.frames import event_frames, time_surface, voxel_grid
from neurova.encodings.rescale import (
    EventResizer,
    raise_threshold,
    resize_events,
    resize_initial_levels,
    resize_pixel_areas,
)
from neurova.encodings.tbr import tbr, tbr_torch, window_ends

__all__ = [
    "EventResizer",
    "FlickerFilter",
    "crop_events",
    "deflicker_chunks",
    "deflicker_events",
    "denoise_chunks",
    "denoise_events",
    "downsample_events",
    "drop_pixels",
    "estimate_flicker_frequency",
    "event_frames",
    "flicker_mask",
    "flicker_share",
    "hot_pixels",
    "raise_threshold",
    "resize_events",
    "resize_initial_levels",
    "resize_pixel_areas",
    "tbr",
    "tbr_torch",
    "time_surface",
    "voxel_grid",
    "window_ends",
]
