"""neurova.encodings.filters: the event filter functions check their arguments (their transforms: test_transforms)."""

from __future__ import annotations

import pytest

from neurova.encodings import crop_events, denoise_chunks, denoise_events, downsample_events
from neurova.errors import EventFormatError


def test_filter_functions_check_their_arguments(make_events):
    events = make_events(200, (8, 6), t0=0, span_us=1000)
    with pytest.raises(ValueError, match="height"):
        crop_events(events, 0, 0, 3, 0)
    with pytest.raises(ValueError, match="positive"):
        downsample_events(events, spatial_factor=-1.0)
    with pytest.raises(ValueError, match="filter_time_us"):
        denoise_events(events, (8, 6), filter_time_us=0)
    with pytest.raises(EventFormatError, match="outside"):
        denoise_events(events, (4, 4))
    assert len(denoise_events(events[:0], (8, 6))) == 0


@pytest.mark.parametrize("box", [(2, 1, 4, 3), (-3, -2, 5, 5), (6, 4, 9, 9), (-40000, 0, 5, 5), (0, 1 << 40, 3, 3),
                                 (9, 0, 2, 2), (0, 0, 1 << 33, 1 << 33)])  # fmt: skip
def test_crop_events_keeps_exactly_the_box(make_events, box):
    import numpy as np

    events = make_events(500, (8, 6), t0=0, span_us=1000)
    x0, y0, width, height = box
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    inside = (x >= x0) & (x < x0 + width) & (y >= y0) & (y < y0 + height)
    out = crop_events(events, *box)
    np.testing.assert_array_equal(out["t"], events["t"][inside])
    np.testing.assert_array_equal(out["p"], events["p"][inside])
    np.testing.assert_array_equal(out["x"], x[inside] - x0)
    np.testing.assert_array_equal(out["y"], y[inside] - y0)


def test_hot_pixels_are_those_above_the_mean_rate_and_drop_pixels_removes_them(make_events):
    import numpy as np

    from neurova.encodings import drop_pixels, hot_pixels
    from neurova.events import make_events as build

    scene = make_events(400, (8, 6), t0=0, span_us=1_000_000)  # about 8 events per pixel and second
    faulty = build(np.full(3000, 5), np.full(3000, 2), np.linspace(0, 999_999, 3000).astype(np.int64), np.ones(3000))
    events = np.concatenate([scene, faulty])
    events = events[np.argsort(events["t"], kind="stable")]
    np.testing.assert_array_equal(hot_pixels(events, (8, 6), 1000.0), [[5, 2]])  # 3 kHz
    assert len(hot_pixels(events, (8, 6), 5000.0)) == 0
    kept = drop_pixels(events, [[5, 2]])
    np.testing.assert_array_equal(kept, events[(events["x"] != 5) | (events["y"] != 2)])
    assert len(drop_pixels(events, [])) == len(events) and drop_pixels(events, []) is not events
    np.testing.assert_array_equal(drop_pixels(events, [[5, 2], [5, 2], [7, 5]]), drop_pixels(kept, [[7, 5]]))
    assert hot_pixels(events[:1], (8, 6), 1.0).shape == (0, 2)
    np.testing.assert_array_equal(drop_pixels(events, np.array([[5.0, 2.0]])), kept)  # whole floats are coordinates
    for bad in (np.zeros((2, 3), dtype=np.int64), [[5.5, 2]], [5, 2], [["5", "2"]]):  # never reshaped or truncated
        with pytest.raises(ValueError, match=r"\(K, 2\) integer"):
            drop_pixels(events, bad)
    with pytest.raises(ValueError, match="max_rate_hz"):
        hot_pixels(events, (8, 6), 0)


@pytest.mark.parametrize("n_chunks", [1, 2, 9, 80])
def test_denoise_chunks_equals_denoise_events_of_the_whole_stream(make_events, n_chunks):
    import numpy as np

    events = make_events(4000, (12, 9), t0=1000, span_us=400_000)
    whole = denoise_events(events, (12, 9), 5000)
    assert 0 < len(whole) < len(events)  # the filter drops some and keeps some
    cuts = np.linspace(0, len(events), n_chunks + 1).astype(int)[1:-1]
    parts = list(denoise_chunks(np.split(events, cuts), (12, 9), 5000))
    assert len(parts) == n_chunks
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_denoise_chunks_checks_its_arguments_at_once_and_the_order_of_chunks(make_events):
    events = make_events(200, (8, 6), t0=0, span_us=1000)
    with pytest.raises(ValueError, match="filter_time_us"):
        denoise_chunks(iter([events]), (8, 6), 0)  # before the first chunk is read
    stream = denoise_chunks(iter([events[100:], events[:100]]), (8, 6), 500)
    next(stream)
    with pytest.raises(EventFormatError, match="out of order"):
        next(stream)
    assert [len(c) for c in denoise_chunks([events[:0], events[:0]], (8, 6))] == [0, 0]


def test_pixel_counts_of_a_long_recording_are_counted_in_parts(make_events, monkeypatch):
    import numpy as np

    from neurova.encodings import filters
    from neurova.events import SensorSize

    events = make_events(1000, (8, 6), t0=0, span_us=1000)
    size = SensorSize(8, 6)
    whole = np.bincount(events["y"].astype(np.int64) * 8 + events["x"], minlength=48)
    monkeypatch.setattr(filters, "_COUNT_EVENTS", 7)  # 143 parts, the last of 6 events
    np.testing.assert_array_equal(filters._pixel_counts(events, size), whole)
    assert filters._pixel_counts(events[:0], size).shape == (48,)
