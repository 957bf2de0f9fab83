"""Tests of neurova.encodings: TBR against a per-event reference, torch == numpy, other encodings."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurova.encodings import (
    event_frames,
    resize_events,
    resize_initial_levels,
    resize_pixel_areas,
    tbr,
    tbr_torch,
    time_surface,
    voxel_grid,
    window_ends,
)
from neurova.errors import EventFormatError
from neurova.events import EVENT_DTYPE, make_events

tbr_module = sys.modules["neurova.encodings.tbr"]


def reference_tbr(events, width, height, n_bits, bin_us, ends, polarity="merge", normalize="max"):
    """Plain per-event definition: bin i of the window ending at e covers [e-(N-i)Δt, e-(N-i-1)Δt)."""
    channels = 2 if polarity == "split" else 1
    out = np.zeros((len(ends), channels, height, width), dtype=np.float64)
    for k, end in enumerate(ends):
        bits = np.zeros((n_bits, channels, height, width), dtype=bool)
        for x, y, t, p in zip(events["x"], events["y"], events["t"], events["p"]):
            for i in range(n_bits):
                low = end - (n_bits - i) * bin_us
                if low <= t < low + bin_us:
                    bits[i, int(p) if polarity == "split" else 0, y, x] = True
        out[k] = sum(2**i * bits[i].astype(np.float64) for i in range(n_bits))
    if normalize == "max":
        out /= 2**n_bits - 1
    return out.astype(np.float32)


def random_events(rng, n, width, height, t_max):
    t = np.sort(rng.integers(0, t_max, n))
    return make_events(rng.integers(0, width, n), rng.integers(0, height, n), t, rng.random(n) < 0.5)


@pytest.mark.parametrize("n_bits", [1, 3, 8, 16])
@pytest.mark.parametrize("polarity", ["merge", "split"])
@pytest.mark.parametrize("normalize", ["max", None])
def test_tbr_matches_reference_back_to_back(n_bits, polarity, normalize):
    rng = np.random.default_rng(n_bits)
    bin_us = 3
    events = random_events(rng, 80, 5, 4, n_bits * bin_us * 3 + 2)
    got = tbr(events, (5, 4), n_bits=n_bits, bin_us=bin_us, polarity=polarity, normalize=normalize)
    start = events["t"][0]
    ends = start + np.arange(1, len(got) + 1) * n_bits * bin_us
    assert len(got) == (events["t"][-1] - start) // (n_bits * bin_us) + 1
    np.testing.assert_array_equal(got, reference_tbr(events, 5, 4, n_bits, bin_us, ends, polarity, normalize))


@pytest.mark.parametrize("n_bits", [1, 2, 8, 16])
@pytest.mark.parametrize("polarity", ["merge", "split"])
def test_tbr_matches_reference_with_overlapping_windows(n_bits, polarity):
    rng = np.random.default_rng(100 + n_bits)
    bin_us = 2
    events = random_events(rng, 60, 4, 3, n_bits * bin_us * 4)
    window = n_bits * bin_us
    ends = np.array([window // 2 + 1, window, window + 1, 3 * window, 2 * window + 1, 9 * window])  # unsorted too
    got = tbr(events, (4, 3), n_bits=n_bits, bin_us=bin_us, ends_us=ends, polarity=polarity, normalize=None)
    np.testing.assert_array_equal(got, reference_tbr(events, 4, 3, n_bits, bin_us, ends, polarity, None))


def test_tbr_window_boundaries_and_bit_order():
    n_bits, bin_us, end = 4, 10, 100
    # bin 0 = [60, 70), bin 3 = [90, 100); t = 100 belongs to no bin, t = 60 to the oldest, t = 59 to none
    events = make_events([0, 1, 2, 3, 3], [0, 0, 0, 0, 0], [59, 60, 69, 99, 100], [1, 1, 0, 1, 1])
    codes = tbr(events, (4, 1), n_bits=n_bits, bin_us=bin_us, ends_us=[end], normalize=None)
    np.testing.assert_array_equal(codes[0, 0, 0], [0, 1, 1, 8])
    split = tbr(events, (4, 1), n_bits=n_bits, bin_us=bin_us, ends_us=[end], normalize=None, polarity="split")
    np.testing.assert_array_equal(split[0, 0, 0], [0, 0, 1, 0])  # channel 0 = OFF
    np.testing.assert_array_equal(split[0, 1, 0], [0, 1, 0, 8])  # channel 1 = ON
    assert tbr(events, (4, 1), n_bits=n_bits, bin_us=bin_us, ends_us=[end])[0, 0, 0, 3] == pytest.approx(8 / 15)


def test_tbr_many_events_one_pixel_reaches_all_ones():
    events = make_events(np.zeros(16), np.zeros(16), np.arange(16), np.ones(16))
    codes = tbr(events, (1, 1), n_bits=16, bin_us=1, ends_us=[16], normalize=None)
    assert codes.dtype == np.float32 and codes[0, 0, 0, 0] == 2**16 - 1
    assert tbr(events, (1, 1), n_bits=16, bin_us=1, ends_us=[16])[0, 0, 0, 0] == 1.0


def test_tbr_back_to_back_windows_start_and_count():
    events = make_events([0, 0], [0, 0], [5, 25], [1, 1])
    np.testing.assert_array_equal(tbr(events, (1, 1), n_bits=2, bin_us=5, normalize=None).ravel(), [1, 0, 1])
    shifted = tbr(events, (1, 1), n_bits=2, bin_us=5, start_us=0, n_frames=4, normalize=None)
    np.testing.assert_array_equal(shifted.ravel(), [2, 0, 2, 0])
    assert tbr(events, (1, 1), n_bits=2, bin_us=5, start_us=30).shape == (0, 1, 1, 1)


@pytest.mark.parametrize("polarity, channels", [("merge", 1), ("split", 2)])
def test_tbr_empty_input_shapes(polarity, channels):
    empty = np.zeros(0, dtype=EVENT_DTYPE)
    assert tbr(empty, (7, 5), polarity=polarity).shape == (0, channels, 5, 7)
    frames = tbr(empty, (7, 5), n_frames=3, polarity=polarity)
    assert frames.shape == (3, channels, 5, 7) and frames.dtype == np.float32 and not frames.any()
    assert tbr(empty, (7, 5), ends_us=[10, 20], polarity=polarity).shape == (2, channels, 5, 7)
    assert tbr_torch([], [], [], [], (7, 5), n_frames=3, polarity=polarity).shape == (3, channels, 5, 7)
    assert tbr_torch([], [], [], [], (7, 5), polarity=polarity, batch=[], batch_size=2).shape == (2, 0, channels, 5, 7)


def test_tbr_accepts_other_event_sources():
    source = {"timestamp": np.array([3, 1]), "x": np.array([1, 0]), "y": np.array([0, 0]), "polarity": [1, -1]}
    with pytest.raises(EventFormatError, match="not sorted"):
        tbr(source, (2, 1), n_bits=2, bin_us=2, ends_us=[4])
    events = make_events([0, 1], [0, 0], [1, 3], [0, 1])
    expected = tbr(events, (2, 1), n_bits=2, bin_us=2, ends_us=[4])
    np.testing.assert_array_equal(tbr(events[["t", "x", "y", "p"]], (2, 1), n_bits=2, bin_us=2, ends_us=[4]), expected)


def test_tbr_rejects_events_outside_the_sensor():
    events = make_events([0, 4], [0, 0], [0, 1], [1, 1])
    with pytest.raises(EventFormatError, match="outside the 4x2 sensor"):
        tbr(events, (4, 2), n_bits=2, bin_us=1)
    negative = make_events([0, -1], [0, 0], [0, 1], [1, 1])
    with pytest.raises(EventFormatError, match="outside"):
        tbr(negative, (4, 2), n_bits=2, bin_us=1)
    with pytest.raises(EventFormatError, match="outside"):
        tbr_torch(events["x"], events["y"], events["t"], events["p"], (4, 2), n_bits=2, bin_us=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_bits": 0}, "n_bits"),
        ({"n_bits": 17}, "n_bits"),
        ({"bin_us": 0}, "bin_us"),
        ({"normalize": "sum"}, "normalize"),
        ({"polarity": "on"}, "polarity"),
        ({"ends_us": [1], "n_frames": 2}, "either ends_us"),
        ({"n_frames": -1}, "n_frames"),
        ({"ends_us": [[1]]}, "one-dimensional"),
        ({"ends_us": [1.5]}, "whole microseconds"),
    ],
)
def test_tbr_rejects_bad_parameters(kwargs, message):
    events = make_events([0], [0], [0], [1])
    with pytest.raises(ValueError, match=message):
        tbr(events, (1, 1), **kwargs)


def test_pixel_index_fallback_path_agrees(monkeypatch):
    rng = np.random.default_rng(7)
    events = random_events(rng, 300, 6, 5, 400)
    fast = tbr(events, (6, 5), n_bits=4, bin_us=7, polarity="split")
    strided = tbr(events[::3], (6, 5), n_bits=4, bin_us=7, polarity="split")
    np.testing.assert_array_equal(strided, tbr(events[::3].copy(), (6, 5), n_bits=4, bin_us=7, polarity="split"))
    monkeypatch.setattr(tbr_module, "_XY_PACKED", False)
    np.testing.assert_array_equal(tbr(events, (6, 5), n_bits=4, bin_us=7, polarity="split"), fast)
    np.testing.assert_array_equal(tbr(events[::3], (6, 5), n_bits=4, bin_us=7, polarity="split"), strided)


def test_strided_searchsorted_matches_numpy():
    rng = np.random.default_rng(3)
    for n in (0, 1, 255, 256, 1000, 4099):
        events = random_events(rng, n, 2, 2, 500)
        values = rng.integers(-5, 510, (9, 4))
        np.testing.assert_array_equal(
            tbr_module._searchsorted(events["t"], values), np.searchsorted(events["t"], values, side="left")
        )


def test_window_ends():
    np.testing.assert_array_equal(window_ends(10, t_range=(5, 25)), [15, 25, 35])
    np.testing.assert_array_equal(window_ends(10, t_range=None, n_frames=2), [10, 20])
    np.testing.assert_array_equal(window_ends(10, t_range=(5, 25), start_us=0, n_frames=1), [10])
    assert window_ends(10, t_range=None).shape == (0,)
    np.testing.assert_array_equal(window_ends(10, t_range=None, ends_us=[7.0, 3]), [7, 3])


# ----------------------------------------------------------------------------------------------- torch


@pytest.mark.parametrize("n_bits", [1, 5, 16])
@pytest.mark.parametrize("polarity", ["merge", "split"])
def test_tbr_torch_equals_numpy(n_bits, polarity):
    rng = np.random.default_rng(n_bits)
    events = random_events(rng, 200, 6, 4, n_bits * 3 * 5)
    args = (events["x"], events["y"], events["t"], events["p"], (6, 4))
    expected = tbr(events, (6, 4), n_bits=n_bits, bin_us=3, polarity=polarity)
    got = tbr_torch(*args, n_bits=n_bits, bin_us=3, polarity=polarity)
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), expected)
    ends = np.array([n_bits * 3 * 4, 5, n_bits * 2, n_bits * 2 + 1, n_bits * 3 * 2])
    expected = tbr(events, (6, 4), n_bits=n_bits, bin_us=3, ends_us=ends, polarity=polarity, normalize=None)
    got = tbr_torch(*args, n_bits=n_bits, bin_us=3, ends_us=torch.as_tensor(ends), polarity=polarity, normalize=None)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_tbr_torch_batches_clips():
    rng = np.random.default_rng(11)
    clips = [random_events(rng, n, 5, 3, 90) for n in (40, 0, 25)]
    x, y, t, p = (np.concatenate([c[f] for c in clips]) for f in ("x", "y", "t", "p"))
    batch = np.repeat(np.arange(3), [len(c) for c in clips])
    shuffle = rng.permutation(len(t))  # the torch path needs no sorting
    x, y, t, p, batch = x[shuffle], y[shuffle], t[shuffle], p[shuffle], batch[shuffle]
    out = tbr_torch(x, y, t, p, (5, 3), n_bits=4, bin_us=5, n_frames=3, batch=torch.as_tensor(batch), batch_size=4)
    assert out.shape == (4, 3, 1, 3, 5)
    for b, clip in enumerate(clips):
        start = int(clip["t"][0]) if len(clip) else 0
        np.testing.assert_array_equal(out[b].numpy(), tbr(clip, (5, 3), n_bits=4, bin_us=5, n_frames=3, start_us=start))
    assert not out[1].any() and not out[3].any()
    starts = torch.tensor([3, 0, 10, 0])
    out = tbr_torch(x, y, t, p, (5, 3), n_bits=4, bin_us=5, n_frames=2, start_us=starts, batch=batch, batch_size=4)
    for b, clip in enumerate(clips):
        np.testing.assert_array_equal(
            out[b].numpy(), tbr(clip, (5, 3), n_bits=4, bin_us=5, n_frames=2, start_us=starts[b])
        )
    with pytest.raises(ValueError, match="batch indices"):
        tbr_torch(x, y, t, p, (5, 3), batch=batch, batch_size=2)
    with pytest.raises(ValueError, match="entries"):
        tbr_torch(x, y, t, p, (5, 3), batch=batch[:-1])
    ends = np.array([[20, 40], [10, 30], [35, 70], [5, 6]])
    out = tbr_torch(x, y, t, p, (5, 3), n_bits=4, bin_us=5, ends_us=ends, batch=batch, batch_size=4)
    for b, clip in enumerate(clips):
        np.testing.assert_array_equal(out[b].numpy(), tbr(clip, (5, 3), n_bits=4, bin_us=5, ends_us=ends[b]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_tbr_torch_on_gpu_equals_numpy():
    rng = np.random.default_rng(5)
    events = random_events(rng, 500, 8, 6, 400)
    tensors = [torch.as_tensor(np.ascontiguousarray(events[f])).cuda() for f in ("x", "y", "t", "p")]
    got = tbr_torch(*tensors, (8, 6), n_bits=8, bin_us=5, polarity="split")
    assert got.is_cuda
    np.testing.assert_array_equal(got.cpu().numpy(), tbr(events, (8, 6), n_bits=8, bin_us=5, polarity="split"))


# -------------------------------------------------------------------------------------------- property


@st.composite
def two_streams(draw):
    n_bits = draw(st.integers(1, 16))
    bin_us = draw(st.integers(1, 4))
    window = n_bits * bin_us
    frames_a, frames_b = draw(st.integers(1, 3)), draw(st.integers(1, 3))

    def stream(first_t, n_frames):
        n = draw(st.integers(0, 12))
        t = sorted(draw(st.lists(st.integers(first_t, first_t + n_frames * window - 1), min_size=n, max_size=n)))
        xs = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
        ys = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
        ps = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return make_events(xs, ys, t, ps)

    a = stream(0, frames_a)
    b = stream(frames_a * window, frames_b)
    polarity = draw(st.sampled_from(["merge", "split"]))
    return n_bits, bin_us, frames_a, frames_b, a, b, polarity


@settings(max_examples=60, deadline=None)
@given(two_streams())
def test_tbr_of_concatenated_streams_is_the_concatenation(case):
    n_bits, bin_us, frames_a, frames_b, a, b, polarity = case
    kw = {"n_bits": n_bits, "bin_us": bin_us, "polarity": polarity}
    whole = tbr(np.concatenate([a, b]), (3, 2), start_us=0, n_frames=frames_a + frames_b, **kw)
    part_a = tbr(a, (3, 2), start_us=0, n_frames=frames_a, **kw)
    part_b = tbr(b, (3, 2), start_us=frames_a * n_bits * bin_us, n_frames=frames_b, **kw)
    np.testing.assert_array_equal(whole, np.concatenate([part_a, part_b]))
    # explicit ends equal to the back-to-back windows give the same frames
    ends = np.arange(1, frames_a + frames_b + 1) * n_bits * bin_us
    np.testing.assert_array_equal(tbr(np.concatenate([a, b]), (3, 2), ends_us=ends, **kw), whole)


# ------------------------------------------------------------------------------------- other encodings


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


# --------------------------------------------------------------------------------- event-domain resize


def reference_resize(events, width, height, size):
    """Per-event definition of a shrinking resize: each output pixel integrates ±1 and fires at ±a."""
    area_x = np.bincount(np.arange(width) * size // width, minlength=size)
    area_y = np.bincount(np.arange(height) * size // height, minlength=size)
    level = resize_initial_levels(np.outer(area_y, area_x))
    out = []
    for x, y, t, p in zip(events["x"], events["y"], events["t"], events["p"]):
        ox, oy = int(x) * size // width, int(y) * size // height
        a = int(area_x[ox] * area_y[oy])
        level[oy, ox] += 1 if p else -1
        if abs(level[oy, ox]) >= a:
            out.append((ox, oy, int(t), bool(level[oy, ox] > 0)))
            level[oy, ox] -= a if level[oy, ox] > 0 else -a
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 40), st.integers(5, 40), st.integers(1, 5), st.integers(0, 10_000), st.floats(0.2, 0.9))
def test_resize_events_matches_the_per_event_definition(width, height, size, seed, p_on):
    rng = np.random.default_rng(seed)
    n = 3000
    events = make_events(rng.integers(0, width, n), rng.integers(0, height, n), np.sort(rng.integers(0, 10**5, n)),
                         rng.random(n) < p_on)
    out = resize_events(events, (width, height), size)
    assert out.dtype == EVENT_DTYPE and (np.diff(out["t"]) >= 0).all()
    got = [(int(e["x"]), int(e["y"]), int(e["t"]), bool(e["p"])) for e in out]
    assert got == reference_resize(events, width, height, size)


def test_resize_events_fires_once_per_threshold_of_the_mean_change():
    # a 4x4 block of a 16x16 sensor (output pixel (1, 2) of a 4x4 sensor, a = 16)
    start = resize_initial_levels(resize_pixel_areas((16, 16), 4))[2, 1]
    assert -16 < start < 16 and (resize_initial_levels(np.ones((3, 3))) == 0).all()
    levels = resize_initial_levels(np.full((64, 64), 16))
    assert levels.min() == -15 and levels.max() == 15 and abs(levels.mean()) < 0.5
    xs, ys = np.meshgrid(np.arange(4, 8), np.arange(8, 12))
    for n_up in (16, 48):  # every sub-pixel steps up n_up / 16 times: one ON event per 16 net ON events
        up = make_events(np.tile(xs.ravel(), n_up // 16), np.tile(ys.ravel(), n_up // 16), np.arange(n_up) * 10,
                         np.ones(n_up))
        out = resize_events(up, (16, 16), 4)
        crossings = np.arange(n_up)[np.diff(np.floor((start + np.arange(n_up + 1)) / 16)) > 0]
        np.testing.assert_array_equal(out["t"], crossings * 10)
        assert out["p"].all() and (out["x"] == 1).all() and (out["y"] == 2).all()
    flicker = make_events(np.full(64, 5), np.full(64, 9), np.arange(64), np.arange(64) % 2)  # ON, OFF, ON, ...
    assert len(resize_events(flicker, (16, 16), 4)) <= 1  # noise that cancels fires at most once, from its start


def test_resize_events_grows_by_replication_and_keeps_same_size():
    events = make_events([0, 1], [0, 1], [5, 7], [1, 0])
    out = resize_events(events, (2, 2), 4)
    assert sorted((int(e["x"]), int(e["y"]), int(e["t"])) for e in out) == sorted(
        [(x, y, 5) for x in (0, 1) for y in (0, 1)] + [(x, y, 7) for x in (2, 3) for y in (2, 3)])
    assert (out["p"] == (out["t"] == 5)).all()
    np.testing.assert_array_equal(resize_events(events, (2, 2), (2, 2)), events)
    assert len(resize_events(events[:0], (2, 2), 4)) == 0


def test_resize_pixel_areas_partition_the_source():
    areas = resize_pixel_areas((240, 200), 64)
    assert areas.shape == (64, 64) and areas.sum() == 240 * 200 and set(np.unique(areas)) <= {9, 12, 16}
    assert (resize_pixel_areas((32, 32), 64) == 1).all()


def test_resize_events_refuses_events_off_the_sensor():
    with pytest.raises(ValueError, match="outside the 4x4 sensor"):
        resize_events(make_events([4], [0], [0], [1]), (4, 4), 2)
    with pytest.raises(ValueError, match="positive"):
        resize_events(make_events([0], [0], [0], [1]), (4, 4), 0)
