"""neurova.encodings.frames: event counts, voxel grids and time surfaces."""

from __future__ import annotations

import numpy as np
import pytest

from neurova.encodings import event_frames, tbr, time_surface, voxel_grid
from neurova.errors import EventFormatError
from neurova.events import make_events


def test_event_frames_counts():
    events = make_events([0, 0, 1, 2], [0, 0, 1, 1], [0, 5, 10, 25], [1, 1, 0, 1])
    frames = event_frames(events, (3, 2), window_us=20)
    assert frames.shape == (2, 2, 2, 3) and frames.dtype == np.float32
    assert frames[0, 1, 0, 0] == 2 and frames[0, 0, 1, 1] == 1 and frames[1, 1, 1, 2] == 1
    assert frames.sum() == 4
    merged = event_frames(events, (3, 2), window_us=20, polarity="merge", ends_us=[11, 11])
    assert merged.shape == (2, 1, 2, 3) and merged.sum() == 6
    assert event_frames(events[:0], (3, 2), n_frames=2).shape == (2, 2, 2, 3)


def test_voxel_grid_bilinear_in_time():
    events = make_events([0, 1, 2], [0, 0, 0], [0, 10, 30], [1, 0, 1])
    grid = voxel_grid(events, (3, 1), n_bins=3, window_us=40, ends_us=[40])
    assert grid.shape == (1, 3, 1, 3) and grid.dtype == np.float32
    # tau = 2 * (t - 0) / 40: 0 -> bin 0; 0.5 -> half in bins 0 and 1 (OFF: -); 1.5 -> half in bins 1 and 2
    np.testing.assert_allclose(grid[0, :, 0], [[1, -0.5, 0], [0, -0.5, 0.5], [0, 0, 0.5]])
    np.testing.assert_allclose(grid.sum(axis=1)[0, 0], [1, -1, 1])
    assert voxel_grid(events, (3, 1), n_bins=1, window_us=40)[0, 0, 0].tolist() == [1, -1, 1]
    assert voxel_grid(events[:0], (3, 1), n_bins=4).shape == (0, 4, 1, 3)


def test_time_surface_keeps_latest_event_per_pixel_and_polarity():
    events = make_events([0, 0, 0, 1], [0, 0, 0, 0], [0, 20, 30, 35], [1, 1, 0, 1])
    surface = time_surface(events, (2, 1), tau_us=10, window_us=40, ends_us=[40])
    assert surface.shape == (1, 2, 1, 2) and surface.dtype == np.float32
    np.testing.assert_allclose(surface[0, :, 0], [[np.exp(-1), 0], [np.exp(-2), np.exp(-0.5)]], rtol=1e-6)
    assert time_surface(events[:0], (2, 1)).shape == (0, 2, 1, 2)
    with pytest.raises(ValueError, match="tau_us"):
        time_surface(events, (2, 1), tau_us=0)


def test_other_encodings_reject_events_outside_the_sensor():
    events = make_events([3], [0], [0], [1])
    for encode in (event_frames, voxel_grid, time_surface):
        with pytest.raises(EventFormatError, match="outside"):
            encode(events, (3, 1))


def test_split_channels_on_a_sensor_of_more_than_255_pixels():
    events = make_events([19, 0], [19, 0], [1, 2], [1, 0])
    frames = event_frames(events, (20, 20), window_us=10)
    assert frames[0, 1, 19, 19] == 1 and frames[0, 0, 0, 0] == 1 and frames.sum() == 2
    surface = time_surface(events, (20, 20), tau_us=10, window_us=10)
    assert surface[0, 1, 19, 19] > 0 and surface[0, 0, 0, 0] > 0 and np.count_nonzero(surface) == 2
    codes = tbr(events, (20, 20), n_bits=1, bin_us=10, polarity="split", normalize=None)
    assert codes[0, 1, 19, 19] == 1 and codes[0, 0, 0, 0] == 1 and codes.sum() == 2
