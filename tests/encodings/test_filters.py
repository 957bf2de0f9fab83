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
