"""neurova.encodings.tbr: TBR against a per-event reference, the torch path equal to numpy, the windows."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurova.encodings import tbr, tbr_torch, window_ends
from neurova.errors import EventFormatError
from neurova.events import EVENT_DTYPE, make_events
from tests.helpers.events import random_events

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


@pytest.mark.parametrize("n_bits", [1, 3, 8, 16])
@pytest.mark.parametrize("polarity", ["merge", "split"])
@pytest.mark.parametrize("normalize", ["max", None])
def test_tbr_matches_reference_back_to_back(n_bits, polarity, normalize):
    rng = np.random.default_rng(n_bits)
    bin_us = 3
    events = random_events(80, (5, 4), seed=rng, t0=0, span_us=n_bits * bin_us * 3 + 2)
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
    events = random_events(60, (4, 3), seed=rng, t0=0, span_us=n_bits * bin_us * 4)
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
    events = random_events(300, (6, 5), seed=rng, t0=0, span_us=400)
    fast = tbr(events, (6, 5), n_bits=4, bin_us=7, polarity="split")
    strided = tbr(events[::3], (6, 5), n_bits=4, bin_us=7, polarity="split")
    np.testing.assert_array_equal(strided, tbr(events[::3].copy(), (6, 5), n_bits=4, bin_us=7, polarity="split"))
    monkeypatch.setattr(tbr_module, "_XY_PACKED", False)
    np.testing.assert_array_equal(tbr(events, (6, 5), n_bits=4, bin_us=7, polarity="split"), fast)
    np.testing.assert_array_equal(tbr(events[::3], (6, 5), n_bits=4, bin_us=7, polarity="split"), strided)


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
    events = random_events(200, (6, 4), seed=rng, t0=0, span_us=n_bits * 3 * 5)
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
    clips = [random_events(n, (5, 3), seed=rng, t0=0, span_us=90) for n in (40, 0, 25)]
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
    events = random_events(500, (8, 6), seed=rng, t0=0, span_us=400)
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
