"""Tests of neurova.transforms (encoders, event transforms, Compose, encoder_from_contract) and their functional
twins in neurova.encodings (the event filters)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurova.contract import InputContract
from neurova.encodings import (
    crop_events,
    denoise_events,
    downsample_events,
    event_frames,
    resize_events,
    tbr,
    time_surface,
    voxel_grid,
)
from neurova.errors import EventFormatError, InputContractError
from neurova.events import EVENT_DTYPE, SensorSize, make_events
from neurova.transforms import (
    CenterCrop,
    Compose,
    Crop,
    Denoise,
    Downsample,
    ResizeEvents,
    ToFrame,
    ToModelInput,
    ToTBR,
    ToTimeSurface,
    ToVoxelGrid,
    box_sensor_starts,
    encoder_from_contract,
)
from tests.helpers.events import random_events


@pytest.fixture
def events(make_events):
    return make_events(200, (8, 6), t0=0, span_us=1000)


def test_to_tbr_is_the_functional_encoder(events):
    transform = ToTBR((8, 6), n_bits=4, bin_us=25, polarity="split", normalize=None)
    assert transform.sensor_size == SensorSize(8, 6) and transform.channels == 2 and transform.window_us == 100
    expected = tbr(events, (8, 6), n_bits=4, bin_us=25, polarity="split", normalize=None)
    np.testing.assert_array_equal(transform(events), expected)
    ends = np.array([100, 150, 900])
    np.testing.assert_array_equal(
        transform(events, ends_us=ends),
        tbr(events, (8, 6), n_bits=4, bin_us=25, ends_us=ends, polarity="split", normalize=None),
    )
    assert ToTBR("8x6", n_frames=3)(events[:0]).shape == (3, 1, 6, 8)
    assert ToTBR((8, 6), n_frames=3)(events, ends_us=[10]).shape == (1, 1, 6, 8)  # ends_us wins over n_frames


def test_transforms_are_frozen_and_validate():
    transform = ToTBR((8, 6))
    with pytest.raises(dataclasses.FrozenInstanceError):
        transform.n_bits = 4
    for bad in ({"n_bits": 0}, {"n_bits": 17}, {"bin_us": 0}, {"normalize": "sum"}, {"polarity": "both"}):
        with pytest.raises(ValueError):
            ToTBR((8, 6), **bad)
    with pytest.raises(ValueError):
        ToFrame((8, 6), window_us=0)
    with pytest.raises(ValueError):
        ToVoxelGrid((8, 6), n_bins=0)
    with pytest.raises(ValueError):
        ToTimeSurface((8, 6), tau_us=-1)


def test_other_encoders(events):
    frame = ToFrame((8, 6), window_us=300, polarity="merge")
    assert frame.channels == 1
    np.testing.assert_array_equal(frame(events), event_frames(events, (8, 6), window_us=300, polarity="merge"))
    voxel = ToVoxelGrid((8, 6), n_bins=3, window_us=300, n_frames=2)
    assert voxel.channels == 3
    np.testing.assert_array_equal(voxel(events), voxel_grid(events, (8, 6), n_bins=3, window_us=300, n_frames=2))
    surface = ToTimeSurface((8, 6), tau_us=50, window_us=300)
    assert surface.channels == 2
    np.testing.assert_array_equal(
        surface(events, ends_us=[500]), time_surface(events, (8, 6), tau_us=50, window_us=300, ends_us=[500])
    )


@pytest.mark.parametrize(
    "contract, kind, channels",
    [
        (InputContract(), ToTBR, 1),
        (InputContract(polarity="split", channels=2), ToTBR, 2),
        (InputContract(encoding="frame", polarity="split", channels=2), ToFrame, 2),
        (InputContract(encoding="voxel", n_bits=5, channels=5), ToVoxelGrid, 5),
        (InputContract(encoding="time_surface", channels=2), ToTimeSurface, 2),
    ],
)
def test_encoder_from_contract(contract, kind, channels, events):
    encoder = encoder_from_contract(contract, (8, 6))
    assert isinstance(encoder, kind) and encoder.channels == channels
    assert encoder(events, ends_us=[contract.n_bits * contract.bin_us]).shape == (1, channels, 6, 8)


def test_encoder_from_contract_follows_the_recipe():
    contract = InputContract(n_bits=6, bin_us=1000, normalize=None)
    assert encoder_from_contract(contract, (4, 4)) == ToTBR((4, 4), n_bits=6, bin_us=1000, normalize=None)
    assert encoder_from_contract(InputContract(encoding="frame", channels=1), (4, 4)).window_us == 40_000


def test_encoder_from_contract_rejects_inconsistent_contracts():
    with pytest.raises(InputContractError, match="channels"):
        encoder_from_contract(InputContract(encoding="tbr", polarity="split", channels=1), (4, 4))
    with pytest.raises(InputContractError, match="encoding='spikes' is not one of"):
        InputContract(encoding="spikes")  # type: ignore[arg-type]


def test_crop_keeps_and_shifts_the_box():
    events = make_events([0, 2, 3, 4, 5], [1, 2, 3, 2, 9], [0, 1, 2, 3, 4], [1, 0, 1, 1, 0])
    crop = Crop(2, 2, 3, 2)
    out = crop(events)
    assert out.dtype == EVENT_DTYPE and crop.output_size == SensorSize(3, 2)
    assert out["x"].tolist() == [0, 1, 2] and out["y"].tolist() == [0, 1, 0] and out["t"].tolist() == [1, 2, 3]
    assert events["x"].tolist() == [0, 2, 3, 4, 5]  # input untouched
    assert len(Crop(-2, -2, 3, 4)(events)) == 1  # a box past the sensor's corner
    with pytest.raises(ValueError):
        Crop(0, 0, 0, 4)


def test_center_crop():
    events = make_events([0, 3, 4, 6, 7], [0, 2, 3, 4, 5], [0, 1, 2, 3, 4], [1, 1, 1, 1, 1])
    crop = CenterCrop((10, 8), 4)  # box x in [3, 7), y in [2, 6)
    assert crop.box == Crop(3, 2, 4, 4) and crop.output_size == SensorSize(4, 4)
    out = crop(events)
    assert out["x"].tolist() == [0, 1, 3] and out["y"].tolist() == [0, 1, 2]
    assert CenterCrop((10, 8), (10, 2)).box == Crop(0, 3, 10, 2)


def test_downsample():
    events = make_events([0, 3, 7], [1, 4, 5], [10, 21, 35], [1, 0, 1])
    out = Downsample(spatial_factor=0.5, time_factor=0.1)(events)
    assert out["x"].tolist() == [0, 1, 3] and out["y"].tolist() == [0, 2, 2] and out["t"].tolist() == [1, 2, 3]
    assert Downsample(0.5).output_size((7, 5)) == SensorSize(4, 3)
    np.testing.assert_array_equal(Downsample()(events), events)
    with pytest.raises(ValueError):
        Downsample(0)


def reference_denoise(events, width, height, filter_time_us):
    """Sequential background-activity filter over the 8-neighbourhood (tonic's loop)."""
    last = np.full((height, width), np.iinfo(np.int64).min // 2)
    keep = []
    for x, y, t, _ in events:
        neighbours = [
            last[ny, nx]
            for nx in (x - 1, x, x + 1)
            for ny in (y - 1, y, y + 1)
            if (nx, ny) != (x, y) and 0 <= nx < width and 0 <= ny < height
        ]
        keep.append(any(t - filter_time_us < tn for tn in neighbours))
        last[y, x] = t
    return events[np.array(keep, dtype=bool)]


def test_denoise_hand_made_case():
    # (1,1)@10 has neighbour (0,0)@0 within 15 µs; (5,5)@11 is isolated; (2,2)@40 sees (1,1)@10 too late;
    # (2,1)@41 sees (2,2)@40; diagonal neighbours count
    events = make_events([0, 1, 5, 2, 2], [0, 1, 5, 2, 1], [0, 10, 11, 40, 41], [1, 0, 1, 1, 0])
    out = Denoise((6, 6), filter_time_us=15)(events)
    assert list(zip(out["x"].tolist(), out["y"].tolist())) == [(1, 1), (2, 1)]
    assert len(Denoise((6, 6), filter_time_us=15)(events[:0])) == 0
    with pytest.raises(EventFormatError, match="outside"):
        Denoise((5, 5), filter_time_us=15)(events)


def test_denoise_matches_sequential_filter():
    events = random_events(400, (7, 5), seed=4, t0=0, span_us=2000)
    out = Denoise((7, 5), filter_time_us=30)(events)
    np.testing.assert_array_equal(out, reference_denoise(events, 7, 5, 30))
    assert 0 < len(out) < len(events)


@pytest.mark.parametrize(
    ("transform", "function"),
    [
        (Crop(2, 1, 4, 3), lambda ev: crop_events(ev, 2, 1, 4, 3)),
        (Crop(-3, -2, 5, 5), lambda ev: crop_events(ev, -3, -2, 5, 5)),
        (Downsample(0.5, 0.1), lambda ev: downsample_events(ev, 0.5, 0.1)),
        (Downsample(), downsample_events),
        (Denoise((8, 6), filter_time_us=40), lambda ev: denoise_events(ev, (8, 6), filter_time_us=40)),
    ],
    ids=["crop", "crop-past-corner", "downsample", "downsample-identity", "denoise"],
)
def test_event_transforms_are_their_functional_twins(events, transform, function):
    before = events.copy()
    out = function(events)
    assert out.dtype == EVENT_DTYPE and out is not events
    np.testing.assert_array_equal(transform(events), out)
    np.testing.assert_array_equal(events, before)  # the input is never modified
    as_columns = {name: events[name].astype(np.int64) for name in ("x", "y", "t", "p")}
    np.testing.assert_array_equal(function(as_columns), out)  # anything as_events accepts


def test_compose_chains_and_passes_keywords_to_the_last():
    events = make_events([2, 3, 9], [2, 3, 9], [0, 5, 10], [1, 1, 1])
    pipeline = Compose([Crop(2, 2, 4, 4), ToTBR((4, 4), n_bits=2, bin_us=10, normalize=None)])
    frames = pipeline(events, ends_us=[20])
    assert frames.shape == (1, 1, 4, 4)
    assert frames[0, 0, 0, 0] == 1 and frames[0, 0, 1, 1] == 1 and frames.sum() == 2
    assert Compose([])(events) is events
    assert len(Compose([Crop(2, 2, 4, 4)])(events)) == 2
    with pytest.raises(TypeError):
        Compose([1])


def test_resize_events_transform(events):
    transform = ResizeEvents((8, 6), 4)
    assert transform.output_size == SensorSize(4, 4) and transform.size == (4, 4)
    np.testing.assert_array_equal(transform(events), resize_events(events, (8, 6), 4))
    with pytest.raises(ValueError, match="output width"):
        ResizeEvents((8, 6), 0)


@pytest.mark.parametrize("resize", ["events", "area"])
def test_to_model_input_follows_the_contracts_resize(resize):
    events = random_events(5000, (40, 30), seed=3, t0=0, span_us=80_000, polarity=0.6)
    contract = InputContract(n_bits=4, bin_us=10_000, image_size=8, clip_length=2, resize=resize)
    op = ToModelInput(contract, (4, 2, 32, 24))
    assert op.history_us == 80_000
    out = op(events, 80_000)
    cropped = Crop(4, 2, 32, 24)(events)
    if resize == "events":
        expected = ToTBR((8, 8), n_bits=4, bin_us=10_000)(resize_events(cropped, (32, 24), 8), ends_us=[40_000, 80_000])
    else:
        import torch

        full = ToTBR((32, 24), n_bits=4, bin_us=10_000)(cropped, ends_us=[40_000, 80_000])
        expected = torch.nn.functional.interpolate(torch.from_numpy(full), size=(8, 8), mode="area").numpy()
    assert out.shape == (2, 1, 8, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected)
    with pytest.raises(ValueError, match="positive size"):
        ToModelInput(contract, (0, 0, 0, 8))


def test_to_model_input_reads_only_its_history():
    events = random_events(20_000, (64, 64), seed=4, t0=0, span_us=400_000)
    op = ToModelInput(InputContract(n_bits=4, bin_us=10_000, image_size=16, clip_length=2), (0, 0, 64, 64))
    window = events[(events["t"] >= 300_000 - op.history_us) & (events["t"] < 300_000)]
    np.testing.assert_array_equal(op(events, 300_000), op(window, 300_000))  # the resize starts at the window
    assert op(window, 300_000).any()
    # an earlier start: the box's sensor integrates from there (its output pixels' levels carry into the window)
    since = events[(events["t"] >= 100_000) & (events["t"] < 300_000)]
    np.testing.assert_array_equal(op(events, 300_000, since_us=100_000), op(since, 300_000, since_us=100_000))
    expected = ToTBR((16, 16), n_bits=4, bin_us=10_000)(resize_events(since, (64, 64), 16), ends_us=[260_000, 300_000])
    np.testing.assert_array_equal(op(events, 300_000, since_us=100_000), expected)
    assert not np.array_equal(expected, op(events, 300_000))


def test_box_sensor_starts_restart_on_a_new_box_or_without_overlap():
    box, other = (0, 0, 8, 8), (1, 0, 8, 8)
    ends = [100, 140, 180, 220, 260, 500, 540]
    boxes = [box, box, other, other, box, box, box]
    # history 100: a new box at 180 and 260; the window ending at 500 starts at 400 >= 260, after the previous one
    np.testing.assert_array_equal(box_sensor_starts(ends, boxes, 100), [0, 0, 80, 80, 160, 400, 400])
    np.testing.assert_array_equal(box_sensor_starts(ends, boxes, 40), [60, 100, 140, 180, 220, 460, 500])
    assert box_sensor_starts([], np.zeros((0, 4)), 100).shape == (0,)


def test_drop_pixel_drops_listed_and_hot_pixels(make_events):
    from neurova.encodings import drop_pixels, hot_pixels
    from neurova.transforms import DropPixel

    events = make_events(2000, (6, 4), t0=0, span_us=100_000)  # about 830 Hz per pixel
    assert len(DropPixel()(events)) == len(events)
    np.testing.assert_array_equal(DropPixel([(1, 1)])(events), drop_pixels(events, [(1, 1)]))
    hot = DropPixel(max_rate_hz=800.0, sensor_size=(6, 4))
    expected = drop_pixels(events, hot_pixels(events, (6, 4), 800.0))
    assert 0 < len(expected) < len(events)
    np.testing.assert_array_equal(hot(events), expected)
    assert DropPixel(np.array([[1, 1]])).pixels == ((1, 1),)
    with pytest.raises(ValueError, match=r"\(K, 2\) integer"):
        DropPixel([(1.5, 1)])
    with pytest.raises(ValueError, match="sensor_size"):
        DropPixel(max_rate_hz=10.0)
    with pytest.raises(ValueError, match="positive"):
        DropPixel(max_rate_hz=-1.0, sensor_size=(6, 4))
