"""Property-based tests (hypothesis) that complement the per-module ones.

Already covered elsewhere and not repeated: ``as_events`` over field orders, dtypes and polarity
encodings of structured arrays, dicts and ``(N, 4)`` rows (``tests/test_events.py``); TBR of two
back-to-back streams equals the concatenation of their TBRs (``tests/encodings/test_tbr.py``).
Added here: time units, the file round trips of every writable format for arbitrary event
arrays, and TBR's invariance to shifting time and to events outside every window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurova.io as nio
from neurova.encodings import tbr
from neurova.events import EVENT_DTYPE, SensorSize, as_events, make_events

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def event_arrays(draw: st.DrawFn, *, max_t: int = 2**40) -> tuple[np.ndarray, SensorSize]:
    """A sorted event array of any length (0..60) on a random sensor, duplicates and equal times included."""
    width, height = draw(st.integers(1, 1280)), draw(st.integers(1, 720))
    n = draw(st.integers(0, 60))
    x = draw(st.lists(st.integers(0, width - 1), min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, height - 1), min_size=n, max_size=n))
    t = sorted(draw(st.lists(st.integers(0, max_t), min_size=n, max_size=n)))
    p = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return make_events(x, y, t, p), SensorSize(width, height)


@SETTINGS
@given(event_arrays(max_t=2**31))
def test_float_seconds_round_trip_to_microseconds(case: tuple[np.ndarray, SensorSize]) -> None:
    events, size = case
    seconds = {"x": events["x"], "y": events["y"], "timestamp": events["t"] / 1e6, "polarity": events["p"] * 2 - 1}
    np.testing.assert_array_equal(as_events(seconds, time_scale=1e6, sensor_size=size), events)


@SETTINGS
@given(event_arrays(), st.sampled_from([(".h5", "neurova"), (".hdf5", "v2e"), (".npz", "neurova")]))
def test_write_then_read_gives_the_same_events(
    tmp_path: Path, case: tuple[np.ndarray, SensorSize], fmt: tuple[str, str]
) -> None:
    events, size = case
    suffix, layout = fmt
    if layout == "v2e":  # v2e stores t as uint32 µs
        events = events[events["t"] <= np.iinfo(np.uint32).max]
    path = nio.write_events(tmp_path / f"events{suffix}", events, size, layout=layout)
    recording = nio.read_recording(path)
    assert recording.events.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(recording.events, events)
    assert recording.sensor_size == size == nio.get_sensor_size(path)
    streamed = list(nio.iter_events(path, chunk_events=7))
    np.testing.assert_array_equal(np.concatenate([recording.events[:0], *streamed]), events)


@st.composite
def tbr_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int, str]:
    n_bits, bin_us = draw(st.integers(1, 12)), draw(st.integers(1, 50))
    n = draw(st.integers(0, 40))
    t = sorted(draw(st.lists(st.integers(0, 3_000), min_size=n, max_size=n)))
    xs = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    ys = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    ps = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ends = np.asarray(draw(st.lists(st.integers(0, 3_500), min_size=1, max_size=6)), dtype=np.int64)
    polarity = draw(st.sampled_from(["merge", "split"]))
    return make_events(xs, ys, t, ps), ends, n_bits, bin_us, polarity


@SETTINGS
@given(tbr_cases(), st.integers(0, 10**9))
def test_tbr_is_invariant_to_shifting_time(case: tuple[np.ndarray, np.ndarray, int, int, str], offset: int) -> None:
    events, ends, n_bits, bin_us, polarity = case
    shifted = events.copy()
    shifted["t"] += offset
    kw = {"n_bits": n_bits, "bin_us": bin_us, "polarity": polarity, "normalize": None}
    expected = tbr(events, (5, 4), ends_us=ends, **kw)
    np.testing.assert_array_equal(tbr(shifted, (5, 4), ends_us=ends + offset, **kw), expected)


@SETTINGS
@given(tbr_cases())
def test_tbr_frames_see_only_their_window(case: tuple[np.ndarray, np.ndarray, int, int, str]) -> None:
    """Each frame of overlapping, unordered windows equals the TBR of only the events inside its window."""
    events, ends, n_bits, bin_us, polarity = case
    kw = {"n_bits": n_bits, "bin_us": bin_us, "polarity": polarity, "normalize": None}
    frames = tbr(events, (5, 4), ends_us=ends, **kw)
    assert frames.shape[0] == len(ends)
    for k, end in enumerate(ends):
        inside = events[(events["t"] >= end - n_bits * bin_us) & (events["t"] < end)]
        np.testing.assert_array_equal(frames[k], tbr(inside, (5, 4), ends_us=[end], **kw)[0])
    codes = frames.max() if frames.size else 0
    assert 0 <= codes <= 2**n_bits - 1
