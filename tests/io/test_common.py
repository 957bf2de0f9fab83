"""neurova.io._common: the Recording checks and the regrouping of decoded batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurova.io as nio
from neurova.events import make_events
from neurova.io._common import regroup
from tests.helpers.events import SIZE, random_events


def test_recording_checks_frames() -> None:
    with pytest.raises(ValueError, match="together"):
        nio.Recording(random_events(2), SIZE, frames=np.zeros((1, 2, 2), np.uint8))
    recording = nio.Recording(random_events(5), SIZE)
    assert len(recording) == 5 and recording.attrs == {}


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(0, 500), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=6),
    window_us=st.integers(1, 120),
    chunk_events=st.integers(1, 25),
)
def test_regroup_is_independent_of_batching(
    times: list[int], cuts: list[int], window_us: int, chunk_events: int
) -> None:
    t = np.sort(np.array(times, dtype=np.int64))
    events = make_events(np.zeros_like(t), np.zeros_like(t), t, np.ones_like(t))
    batches = np.split(events, sorted({min(c, len(t)) for c in cuts}))
    windows = list(regroup(batches, window_us=window_us, chunk_events=None, path="p.raw"))
    chunks = list(regroup(batches, window_us=None, chunk_events=chunk_events, path="p.raw"))
    if not len(t):
        assert windows == [] and chunks == []
        return
    assert len(windows) == (t[-1] - t[0]) // window_us + 1
    for k, window in enumerate(windows):
        assert np.all((window["t"] - t[0]) // window_us == k)
    np.testing.assert_array_equal(np.concatenate(windows), events)
    assert [len(c) for c in chunks[:-1]] == [chunk_events] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) <= chunk_events
    np.testing.assert_array_equal(np.concatenate(chunks), events)
