"""neurova.encodings.filters: the event filter functions check their arguments (their transforms: test_transforms)."""

from __future__ import annotations

import pytest

from neurova.encodings import crop_events, denoise_events, downsample_events
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
