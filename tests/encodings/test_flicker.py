"""The flicker filter: its frequency estimate, its flicker events, the comb filter, streams equal to whole
recordings, real recordings."""

from __future__ import annotations

import numpy as np
import pytest

from neurova.encodings import (
    FlickerFilter,
    deflicker_chunks,
    deflicker_events,
    estimate_flicker_frequency,
    flicker_mask,
    flicker_share,
)
from neurova.errors import EventFormatError
from neurova.io import read_recording
from neurova.simulator import flicker_gain, flickering_light, simulate
from neurova.transforms import Deflicker
from tests.helpers.paths import shared_sample
from tests.helpers.scenes import moving_square

SIZE = (40, 30)


def scene(n_frames: int = 26) -> tuple[np.ndarray, np.ndarray]:
    return moving_square(SIZE, n_frames)


@pytest.fixture(scope="module")
def steady() -> np.ndarray:
    frames, times = scene()
    return simulate(frames, times, preset="clean", max_step_px=1.0)


@pytest.fixture(scope="module")
def lit() -> np.ndarray:
    """The scene under a 100 Hz lamp of depth 0.5 (1 s)."""
    frames, times = scene()
    return simulate(*flickering_light(frames, times, 100.0, 0.5), preset="clean")


def test_the_lamp_model() -> None:
    frames, times = scene(3)
    out, t = flickering_light(frames, times, 100.0, 0.5, samples_per_period=10)
    assert out.dtype == np.uint8 and t.dtype == np.int64 and np.all(np.diff(t) > 0)
    assert len(out) == 1 + 2 * 40 and t[0] == 0 and t[-1] == times[-1]  # 4 periods per 40 ms interval, 10 each
    np.testing.assert_allclose(flicker_gain(np.array([0, 5000, 10000]), 100.0, 0.5), [1.0, 0.5, 1.0])
    assert out[5].astype(int).max() <= 0.5 * 235 + 1  # the trough at 5 ms (the square: 235)
    assert np.array_equal(out[0], frames[0]) and np.array_equal(out[-1], frames[-1])  # the peaks: the frames
    as_float, _ = flickering_light(frames.astype(np.float32), times, 100.0, 0.0)
    assert as_float.dtype == np.float32 and np.allclose(as_float[0], frames[0])
    for bad in ({"frequency_hz": 0.0}, {"depth": 1.5}, {"samples_per_period": 1}):
        with pytest.raises(ValueError):
            flickering_light(frames, times, **{"frequency_hz": 100.0, "depth": 0.5, **bad})
    with pytest.raises(ValueError, match="increasing"):
        flickering_light(frames, times[::-1].copy(), 100.0, 0.5)


def test_the_frequency_is_found_in_flicker_and_not_in_steady_light(steady, lit) -> None:
    assert estimate_flicker_frequency(lit) == pytest.approx(100.0, abs=1.0)
    frames, times = scene()
    at_120 = simulate(*flickering_light(frames, times, 120.0, 0.5), preset="clean")
    assert estimate_flicker_frequency(at_120) == pytest.approx(120.0, abs=1.0)
    assert estimate_flicker_frequency(steady) is None
    noise = simulate(frames, times, preset="noisy", max_step_px=1.0, shot_noise_rate_hz=50.0)
    assert estimate_flicker_frequency(noise) is None
    assert estimate_flicker_frequency(lit[:0]) is None
    with pytest.raises(ValueError, match="min_freq_hz"):
        estimate_flicker_frequency(lit, min_freq_hz=200.0, max_freq_hz=100.0)


def net_events(events: np.ndarray) -> np.ndarray:
    """Per pixel, ON minus OFF events after the first 200 ms."""
    late = events[events["t"] >= 200_000]
    return np.bincount(late["y"].astype(np.int64) * SIZE[0] + late["x"], weights=np.where(late["p"], 1, -1),
                       minlength=SIZE[0] * SIZE[1])


def test_the_comb_filter_removes_the_flicker_and_keeps_the_scene(steady, lit) -> None:
    mask = flicker_mask(lit, SIZE)
    assert len(lit) > 20 * len(steady)  # the lamp makes most events
    assert mask[lit["t"] >= 100_000].mean() > 0.97  # after the first bursts a pixel needs to show its rhythm
    assert flicker_mask(steady, SIZE).sum() == 0
    combed = deflicker_events(lit, SIZE)
    assert np.all(np.diff(combed["t"]) >= 0)
    late = (combed["t"] >= 200_000).sum(), (steady["t"] >= 200_000).sum()
    assert late[0] < 4 * late[1]  # from 400 times the scene's events to a few times
    assert np.corrcoef(net_events(combed), net_events(steady))[0, 1] > 0.3  # the scene's changes, pixel by pixel
    assert np.array_equal(deflicker_events(steady, SIZE), steady)  # no flicker: unchanged
    assert np.array_equal(Deflicker(SIZE)(lit), combed)
    # a known frequency finds the same flicker events here (the estimate is within a fraction of a hertz)
    assert np.array_equal(flicker_mask(lit, SIZE, frequency_hz=100.0), mask)


@pytest.mark.parametrize("n_chunks", [1, 2, 7, 40])
def test_a_stream_gives_the_whole_recordings_result(lit, n_chunks: int) -> None:
    expected = deflicker_events(lit, SIZE)
    chunks = np.array_split(lit, n_chunks)
    flicker = FlickerFilter(SIZE)
    out = [flicker(chunk) for chunk in chunks] + [flicker.finish()]
    assert np.array_equal(np.concatenate(out), expected)
    assert flicker.frequency_hz == pytest.approx(100.0, abs=1.0)
    assert flicker.events_seen == len(lit) and flicker.flicker_events == flicker_mask(lit, SIZE).sum()
    assert flicker.combed_events >= flicker.flicker_events  # whole pixels, from their first flicker event on
    assert np.array_equal(np.concatenate(list(deflicker_chunks(iter(chunks), SIZE))), expected)
    known = FlickerFilter(SIZE, 100.0)
    whole = FlickerFilter(SIZE, 100.0)
    assert np.array_equal(np.concatenate([known(chunk) for chunk in chunks] + [known.finish()]),
                          np.concatenate([whole(lit), whole.finish()]))


def test_the_first_window_is_held_only_while_the_frequency_is_estimated(lit) -> None:
    chunks = np.array_split(lit, 40)
    estimating = FlickerFilter(SIZE)
    assert len(estimating(chunks[0])) == 0  # held until its quarter second is complete
    known = FlickerFilter(SIZE, 100.0)
    assert len(known(chunks[0])) == len(chunks[0])  # no rhythm yet: nothing combed, nothing held
    short = FlickerFilter(SIZE)  # a stream shorter than one window: its events come out at the end
    assert len(short(lit[lit["t"] < 200_000])) == 0
    assert len(short.finish()) > 0 and short.frequency_hz == pytest.approx(100.0, abs=2.0)


def test_the_share_of_a_long_recording_is_measured_on_samples(steady, lit) -> None:
    whole = FlickerFilter(SIZE)
    whole.push(lit)
    whole.push_finish()
    assert flicker_share(lit, SIZE) == (whole.flicker_fraction, whole.frequency_hz)  # 1 s: measured whole
    frames, times = scene(80)  # 3.2 s: 4 windows of 250 ms
    long = simulate(*flickering_light(frames, times, 100.0, 0.5), preset="clean")
    share, frequency = flicker_share(long, SIZE)
    measured = FlickerFilter(SIZE)
    measured.push(long)
    measured.push_finish()
    assert frequency == pytest.approx(100, abs=1) and share == pytest.approx(measured.flicker_fraction, abs=0.1)
    assert share > 0.5
    assert flicker_share(simulate(frames, times, preset="clean", max_step_px=1.0), SIZE) == (0.0, None)
    assert flicker_share(long[:0], SIZE) == (0.0, None)
    with pytest.raises(ValueError, match="samples"):
        flicker_share(long, SIZE, samples=0)


def test_bad_streams_and_arguments_are_refused(lit) -> None:
    flicker = FlickerFilter(SIZE, 100.0)
    flicker(lit[lit["t"] > 500_000])
    with pytest.raises(EventFormatError, match="out of order"):
        flicker(lit[:10])
    for bad in ({"frequency_hz": -1.0}, {"cycles": 1}, {"span": 2, "cycles": 4}, {"coherence": 0.0},
                {"estimate_us": 0}, {"min_freq_hz": 0.0}):
        with pytest.raises(ValueError):
            FlickerFilter(SIZE, **bad)
    with pytest.raises(EventFormatError):
        flicker_mask(lit, (10, 10))  # events outside the sensor


def test_real_recordings(tmp_path) -> None:
    """A real DAVIS346 recording lit by mains lamps (100 Hz); real Prophesee recordings of a sunlit street."""
    davis = read_recording(shared_sample("events/davis346_with_frames.aedat4"))
    flicker = FlickerFilter(davis.sensor_size)
    combed = np.concatenate([flicker(davis.events), flicker.finish()])
    assert flicker.frequency_hz == pytest.approx(100.0, abs=1.0)
    assert 0.1 < flicker.flicker_fraction < 0.5 and len(combed) < 0.9 * len(davis.events)
    for name in ("events/prophesee_evt3_sample.raw", "events/prophesee_evt2_sample.raw"):
        recording = read_recording(shared_sample(name))
        assert flicker_mask(recording.events, recording.sensor_size).sum() == 0


def test_first_of_each_key_is_numpys_unique_return_index() -> None:
    from neurova.encodings.flicker import _first_of_each

    key = np.random.default_rng(0).integers(0, 346 * 260, 20_000)
    np.testing.assert_array_equal(_first_of_each(key), np.unique(key, return_index=True)[1])
    assert len(_first_of_each(key[:0])) == 0
