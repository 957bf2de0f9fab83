"""neurova.encodings.rescale: the event-domain resize against its per-event definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurova.encodings import EventResizer, raise_threshold, resize_events, resize_initial_levels, resize_pixel_areas
from neurova.events import EVENT_DTYPE, make_events
from neurova.transforms import RaiseThreshold
from tests.helpers.events import random_events


def reference_resize(events, width, height, size, levels_out=None, threshold=1):
    """Per-event definition of a shrinking resize: each output pixel integrates ±1 and fires at ±a (times the
    threshold factor; its final levels copied into ``levels_out`` when given)."""
    area_x = np.bincount(np.arange(width) * size // width, minlength=size)
    area_y = np.bincount(np.arange(height) * size // height, minlength=size) * threshold
    level = resize_initial_levels(np.outer(area_y, area_x))
    out = []
    for x, y, t, p in zip(events["x"], events["y"], events["t"], events["p"]):
        ox, oy = int(x) * size // width, int(y) * size // height
        a = int(area_x[ox] * area_y[oy])
        level[oy, ox] += 1 if p else -1
        if abs(level[oy, ox]) >= a:
            out.append((ox, oy, int(t), bool(level[oy, ox] > 0)))
            level[oy, ox] -= a if level[oy, ox] > 0 else -a
    if levels_out is not None:
        levels_out[:] = level.reshape(-1)
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 40), st.integers(5, 40), st.integers(1, 5), st.integers(0, 10_000), st.floats(0.2, 0.9),
       st.integers(1, 4))
def test_resize_events_matches_the_per_event_definition(width, height, size, seed, p_on, threshold):
    rng = np.random.default_rng(seed)
    n = 3000
    events = random_events(n, (width, height), seed=rng, t0=0, span_us=10**5, polarity=p_on)
    out = resize_events(events, (width, height), size, threshold=threshold)
    assert out.dtype == EVENT_DTYPE and (np.diff(out["t"]) >= 0).all()
    got = [(int(e["x"]), int(e["y"]), int(e["t"]), bool(e["p"])) for e in out]
    levels = np.zeros(size * size, dtype=np.int64)
    assert got == reference_resize(events, width, height, size, levels, threshold)
    resizer = EventResizer((width, height), size, threshold)
    resizer(events)
    np.testing.assert_array_equal(resizer.levels, levels)  # the levels the stream carries on with


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 90), st.integers(5, 90), st.integers(1, 40), st.integers(0, 10_000),
       st.lists(st.integers(0, 3000), max_size=6))
def test_event_resizer_over_chunks_equals_one_resize(width, height, size, seed, cuts):
    """The emulated sensor runs on: its pixels keep their levels (quiet ones too) from chunk to chunk."""
    events = random_events(3000, (width, height), seed=seed, t0=0, span_us=10**5, polarity=0.6)
    resizer = EventResizer((width, height), size)
    streamed = np.concatenate([resizer(chunk) for chunk in np.split(events, sorted(cuts))])
    np.testing.assert_array_equal(streamed, resize_events(events, (width, height), size))
    whole = EventResizer((width, height), size)
    whole(events)
    np.testing.assert_array_equal(resizer.levels, whole.levels)
    assert (np.abs(resizer.levels) < resize_pixel_areas((width, height), size).reshape(-1)).all()


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


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 30), st.integers(2, 30), st.integers(0, 10_000), st.integers(1, 5),
       st.lists(st.integers(0, 2000), max_size=4))
def test_raise_threshold_is_the_pixels_hysteresis_at_k_events(width, height, seed, factor, cuts):
    """Each pixel fires when its net events reach ±k from its reference; the same over a stream; a factor of 1
    changes nothing."""
    events = random_events(2000, (width, height), seed=seed, t0=0, span_us=10**5, polarity=0.6)
    out = raise_threshold(events, (width, height), factor)
    got = [(int(e["x"]), int(e["y"]), int(e["t"]), bool(e["p"])) for e in out]
    level = resize_initial_levels(np.full((height, width), factor))
    expected = []
    for x, y, t, p in zip(events["x"], events["y"], events["t"], events["p"]):
        level[y, x] += 1 if p else -1
        if abs(level[y, x]) >= factor:
            expected.append((int(x), int(y), int(t), bool(level[y, x] > 0)))
            level[y, x] -= factor if level[y, x] > 0 else -factor
    assert got == expected
    stream = EventResizer((width, height), (width, height), factor)
    np.testing.assert_array_equal(np.concatenate([stream(c) for c in np.split(events, sorted(cuts))]), out)
    np.testing.assert_array_equal(RaiseThreshold((width, height), factor)(events), out)
    if factor == 1:
        np.testing.assert_array_equal(out, events)


def test_raise_threshold_on_a_sensor_of_more_than_65536_pixels():
    """Above 2^16 pixels the events are grouped by two 16-bit sorts: the same events as the per-event loop."""
    width, height = 400, 300
    rng = np.random.default_rng(3)
    hot = rng.integers(0, width * height, 300)  # a few pixels fire often, so that their levels matter
    pixel = np.concatenate([hot[rng.integers(0, 300, 4000)], rng.integers(0, width * height, 2000)])
    rng.shuffle(pixel)
    events = make_events(pixel % width, pixel // width, np.arange(len(pixel)), rng.random(len(pixel)) < 0.6)
    level = resize_initial_levels(np.full((height, width), 3))
    expected = []
    for x, y, t, p in zip(events["x"], events["y"], events["t"], events["p"]):
        level[y, x] += 1 if p else -1
        if abs(level[y, x]) >= 3:
            expected.append((int(x), int(y), int(t), bool(level[y, x] > 0)))
            level[y, x] -= 3 if level[y, x] > 0 else -3
    out = raise_threshold(events, (width, height), 3)
    assert [(int(e["x"]), int(e["y"]), int(e["t"]), bool(e["p"])) for e in out] == expected and len(expected) > 500


def test_a_raised_threshold_halves_a_steady_ramp_and_refuses_fractions():
    ramp = make_events(np.zeros(40), np.zeros(40), np.arange(40) * 100, np.ones(40))  # 40 ON events, one pixel
    assert len(raise_threshold(ramp, (1, 1), 2)) == 20 and raise_threshold(ramp, (1, 1), 2)["p"].all()
    events = random_events(500, (6, 4), seed=1, t0=0, span_us=10**4, polarity=0.5)
    grown = resize_events(events, (6, 4), 12, threshold=3)  # growing: replicated, then each copy integrates
    np.testing.assert_array_equal(grown, raise_threshold(resize_events(events, (6, 4), 12), (12, 12), 3))
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="whole number >= 1"):
            raise_threshold(ramp, (1, 1), bad)
    with pytest.raises(ValueError, match="factor must be a positive integer"):
        RaiseThreshold((1, 1), 0)
