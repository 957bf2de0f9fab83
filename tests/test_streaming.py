"""Streaming inference: frames encoded once, trunk features reused, fixed or chosen thread count, same outputs as
offline."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter

import numpy as np
import pytest
import torch

import neurova
import neurova.inference
import neurova.streaming
from neurova.contract import InputContract
from neurova.datasets.render import sample_identity, sample_va_trajectory
from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
from neurova.events import SensorSize
from neurova.models import create_model
from neurova.nets.layout import (
    channels_last,
    fold_batch_norm,
    folded_trunk,
    inference_layout,
    inline_module_calls,
    prefers_channels_last,
)
from neurova.simulator import simulate
from neurova.streaming import AutoThreads, BoxStream, FrameStepper, IncrementalModelInput, intra_op_threads, replay
from neurova.transforms import ToModelInput

SENSOR = SensorSize(80, 60)
CONTRACT = InputContract(encoding="tbr", n_bits=8, bin_us=5000, image_size=32, clip_length=4,
                         frame_interval_us=40_000, face_crop="box")


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    """Events of a simulated head-and-shoulders clip (0.8 s, 25 fps) and its true face boxes ``(T, 4)``."""
    n = 20
    layout = sample_scene_layout(3, SENSOR, face_fraction=(0.45, 0.45), hands_probability=0.0)
    frames, boxes = render_scene_clip(sample_identity(3), layout, sample_va_trajectory(n, 3, fps=25), fps=25, rng=3)
    stamps = np.arange(n, dtype=np.int64) * 40_000
    events = simulate(np.rint(frames * 255).astype(np.uint8), stamps, preset="clean", seed=3)
    return events, boxes


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("tiny_cnn_fusion", input_contract=CONTRACT.to_dict()).eval()


def fixed_box(boxes: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0, w, h = np.rint(np.median(boxes, axis=0)).astype(int)
    return int(x0), int(y0), int(w), int(h)


def in_chunks(events: np.ndarray):
    """The events as a live camera would deliver them, in chunks of 13 ms (not a multiple of the hop)."""
    return replay(events, 13_000)


def test_replay_gives_the_recording_in_chunks_at_a_cameras_pace(scene):
    events, _ = scene
    chunks = list(replay(events, 13_000))
    starts = int(events["t"][0]) + 13_000 * np.arange(len(chunks))
    for chunk, start in zip(chunks, starts, strict=True):
        assert ((chunk["t"] >= start) & (chunk["t"] < start + 13_000)).all()
    np.testing.assert_array_equal(np.concatenate(chunks), events)
    assert int(events["t"][-1]) < starts[-1] + 13_000
    short = events[events["t"] < int(events["t"][0]) + 100_000]
    began = time.perf_counter()
    paced = list(replay(short, 40_000, realtime=True))
    assert sum(len(c) for c in paced) == len(short) and len(paced) >= 2
    assert time.perf_counter() - began >= 0.04 * len(paced)  # the last chunk is handed over at its end
    assert list(replay(events[:0], 40_000)) == []
    with pytest.raises(ValueError, match="chunk_us must be positive"):
        next(replay(events, 0))


# the trunks of the resnet18_* models are timm's test_resnet here: the tests are about reusing frames, not the size
TINY_TRUNK = {"backbone": "test_resnet"}


@pytest.mark.parametrize(("name", "options"), [("tiny_cnn_fusion", {}), ("resnet18_fusion", TINY_TRUNK)])
def test_stepper_of_registered_fusion_models_equals_the_model(name, options):
    torch.manual_seed(0)
    model = create_model(name, **options).eval()
    stepper = FrameStepper(model)
    assert stepper.incremental
    x = torch.rand(1, 6, 1, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(stepper(x[:, :4], 4), model(x[:, :4]), atol=1e-5, rtol=0)
        torch.testing.assert_close(stepper(x[:, 1:5], 1), model(x[:, 1:5]), atol=1e-5, rtol=0)
        torch.testing.assert_close(stepper(x[:, 2:6], 1), model(x[:, 2:6]), atol=1e-5, rtol=0)


def test_stepper_computes_the_empty_frame_once_for_a_windows_empty_start():
    """A stream's first windows start with frames without events (before the sensor started): the stepper runs the
    trunk on the empty frame once, not once per such frame, with the model's output."""
    torch.manual_seed(0)
    model = create_model("tiny_cnn_fusion").eval()
    calls: list[int] = []
    hook = model.net.trunk.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    x = torch.rand(1, 5, 1, 32, 32)
    x[:, :3] = 0
    with torch.inference_mode():
        stepper = FrameStepper(model)
        torch.testing.assert_close(stepper(x[:, :4], 4), model(x[:, :4]), atol=1e-5, rtol=0)  # 3 empty, 1 not
        assert calls[:2] == [1, 1]  # the frame, then the empty frame once
        calls.clear()
        torch.testing.assert_close(stepper(x[:, 1:5], 1), model(x[:, 1:5]), atol=1e-5, rtol=0)
        assert calls[:1] == [1]  # the next frame, after the model's own call
        zeros = torch.zeros(1, 4, 1, 32, 32)
        torch.testing.assert_close(FrameStepper(model)(zeros, 4), model(zeros), atol=1e-5, rtol=0)  # all empty
    hook.remove()

@pytest.mark.parametrize(("name", "options"), [("resnet18_gru", TINY_TRUNK), ("resnet18_transformer", TINY_TRUNK),
                                               ("resnet18_lstm", {**TINY_TRUNK, "causal": False})])
def test_stepper_of_video_models_keeps_per_frame_features(name, options):
    torch.manual_seed(0)
    model = create_model(name, hidden_size=32, **options).eval()
    stepper = FrameStepper(model)
    assert stepper.mode == "features"
    x = torch.rand(1, 7, 1, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(stepper(x[:, :5], 5), model(x[:, :5])[:, -1], atol=1e-5, rtol=0)
        torch.testing.assert_close(stepper(x[:, 2:7], 2), model(x[:, 2:7])[:, -1], atol=1e-5, rtol=0)


def test_stepper_runs_other_models_whole():
    model = create_model("tiny_cnn").eval()  # a single-frame net: nothing to reuse
    stepper = FrameStepper(model)
    assert not stepper.incremental
    x = torch.rand(1, 4, 1, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(stepper(x, 1), model(x))


@pytest.mark.parametrize(("name", "options", "mode"), [
    ("tiny_cnn_fusion", {}, "step"), ("resnet18_fusion", TINY_TRUNK, "step"),
    ("resnet18_gru", {**TINY_TRUNK, "hidden_size": 32}, "features"), ("tiny_cnn", {}, "whole")])
def test_stepper_windows_equal_the_model_on_each_window_and_run_each_frame_once(name, options, mode):
    torch.manual_seed(0)
    model = create_model(name, **options).eval()
    stepper = FrameStepper(model)
    assert stepper.mode == mode
    frames = torch.rand(9, 1, 32, 32)
    index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [5, 6, 7, 8], [0, 1, 2, 3], [8, 8, 8, 8]])
    expected = model(frames[index])
    expected = expected[:, -1] if expected.ndim == 3 else expected
    calls: list[int] = []
    trunk = model.net.trunk if mode != "whole" else model.net
    hook = trunk.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    with torch.inference_mode():
        out = stepper.windows(frames, index, chunk=4)
    hook.remove()
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    if mode != "whole":
        assert calls == [4, 4, 1]  # the 9 frames in chunks of 4, each once
    assert stepper._state is None  # a stream's state is left alone


# --- incremental encoding ---------------------------------------------------------------------------------


def test_box_stream_runs_one_sensor_while_the_box_holds(scene):
    events, _ = scene
    box = (10, 0, 50, 50)  # larger than 32: the resize integrates
    encoder = ToModelInput(CONTRACT, box, num_frames=4)
    stream = BoxStream()
    t0 = int(events["t"][0]) + encoder.history_us
    for t_end, start in [(t0, t0 - encoder.history_us), (t0 + 40_000, t0 - encoder.history_us),
                         (t0 + 130_000, t0 - encoder.history_us),
                         (t0 + 400_000, t0 + 400_000 - encoder.history_us)]:  # after a gap: a new sensor
        window = stream.window(encoder, events, t_end)
        assert stream.start_us == start
        assert window["t"].min() >= t_end - encoder.history_us and window["t"].max() < t_end
        np.testing.assert_array_equal(encoder.encode_sized(window, t_end), encoder(events, t_end, since_us=start))
    other = ToModelInput(CONTRACT, (12, 0, 50, 50), num_frames=4)
    stream.window(other, events, t0 + 440_000)
    assert stream.start_us == t0 + 440_000 - encoder.history_us  # a new box: a new sensor


def test_a_box_stream_started_ahead_is_taken_over_where_it_would_start_the_same_sensor(scene):
    events, _ = scene
    old, new = ToModelInput(CONTRACT, (10, 0, 50, 50), 4), ToModelInput(CONTRACT, (14, 2, 50, 50), 4)
    t0 = int(events["t"][0]) + old.history_us
    t_move = t0 + 120_000
    fresh = BoxStream()
    fresh.window(old, events, t0)
    expected = fresh.window(new, events, t_move)  # a new box: a new sensor from t_move - history
    ahead = BoxStream.starting(new, t_move - new.history_us)
    assert ahead.upto_us == ahead.start_us == t_move - new.history_us and ahead.box == new.box
    ahead.advance(events, t0 + 40_000)
    ahead.advance(events, t0 + 80_000)
    assert ahead.upto_us == t0 + 80_000
    stream = BoxStream()
    stream.window(old, events, t0)
    later = events[events["t"] >= t0 + 80_000]  # only the events the started sensor has not seen
    np.testing.assert_array_equal(stream.window(new, later, t_move, started=ahead), expected)
    assert (stream.start_us, stream.upto_us) == (t_move - new.history_us, t_move)
    np.testing.assert_array_equal(new.encode_sized(expected, t_move), new(events, t_move))
    # one started at another time, or over another box, is not taken over
    for other in (BoxStream.starting(new, t_move - new.history_us + 40_000),
                  BoxStream.starting(ToModelInput(CONTRACT, (15, 2, 50, 50), 4), t_move - new.history_us)):
        stream = BoxStream()
        stream.window(old, events, t0)
        np.testing.assert_array_equal(stream.window(new, events, t_move, started=other), expected)
    with pytest.raises(RuntimeError, match="no sensor to feed yet"):
        BoxStream().advance(events, t0)


def test_the_continued_sensor_differs_from_a_fresh_one(scene):
    events, _ = scene
    encoder = ToModelInput(CONTRACT, (10, 0, 50, 50), num_frames=4)
    t_end = int(events["t"][0]) + encoder.history_us + 200_000
    assert not np.array_equal(encoder(events, t_end, since_us=int(events["t"][0])), encoder(events, t_end))
    with pytest.raises(ValueError, match="starts after the history"):
        encoder(events, t_end, since_us=t_end - encoder.history_us + 1)


@pytest.mark.parametrize(("box", "resize"), [
    ((20, 10, 28, 28), "events"),  # smaller than 32: replicated per event
    ((10, 0, 50, 50), "events"),  # larger: integrated by the box's sensor, which runs on
    ((10, 0, 50, 50), "area"),
])
def test_incremental_input_equals_whole_windows(scene, box, resize):
    events, _ = scene
    contract = InputContract.from_dict({**CONTRACT.to_dict(), "resize": resize})
    encoder = IncrementalModelInput(contract, 4)
    whole = ToModelInput(contract, box, num_frames=4)
    stream = BoxStream()
    t0 = int(events["t"][0]) + whole.history_us
    ends = [t0, t0 + 40_000, t0 + 80_000, t0 + 200_000, t0 + 210_000, t0 + 250_000]
    news, ids = [], []
    for t_end in ends:
        frames, new = encoder(stream.window(whole, events, t_end), t_end, box, stream.start_us)
        news.append(new)
        ids.append(encoder.frame_ids.tolist())
        np.testing.assert_allclose(frames, whole(events, t_end, since_us=stream.start_us), atol=1e-6, rtol=0)
    # first window whole; one frame per interval; 3 intervals; not a whole number of intervals; one interval
    assert news == [4, 1, 1, 3, 4, 1]
    # a frame keeps its id while windows share it; every frame encoded gets a new one
    assert ids == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [5, 6, 7, 8], [9, 10, 11, 12], [10, 11, 12, 13]]
    other, t_end = ToModelInput(contract, (0, 0, 28, 28), 4), ends[-1] + 40_000
    frames, new = encoder(stream.window(other, events, t_end), t_end, other.box, stream.start_us)
    assert new == 4  # a new box: encoded whole
    np.testing.assert_allclose(frames, other(events, t_end))
    t_end += 40_000
    assert encoder(stream.window(other, events, t_end), t_end, other.box, 0)[1] == 4  # another start: whole


# --- predict(stream=True) against the offline path ----------------------------------------------------


@pytest.mark.parametrize("grow", [0, 14])
def test_streaming_equals_offline_with_a_fixed_box(scene, model, grow):
    events, boxes = scene
    x0, y0, w, h = fixed_box(boxes)
    box = (x0 - grow // 2, y0 - grow // 2, w + grow, h + grow)
    assert (box[2] > CONTRACT.image_size) == (grow > 0)  # replicated, or integrated by the box's sensor
    trunk_frames: list[int] = []  # the frames each trunk call ran on
    hook = model.net.trunk.register_forward_hook(lambda module, args, out: trunk_frames.append(len(args[0])))
    try:
        offline = neurova.predict(model, events, sensor_size=SENSOR, face_box=box, batch_size=4)
        offline_frames, trunk_frames[:] = list(trunk_frames), []
        streamed = neurova.predict(model, in_chunks(events), sensor_size=SENSOR, face_box=box)
    finally:
        hook.remove()
    np.testing.assert_array_equal(streamed.timestamps_us, offline.timestamps_us)
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-5, rtol=0)
    assert len(offline) >= 12 and np.ptp(offline.valence) > 0
    # offline: one new frame per prediction; each batch of 4 windows runs the trunk on its 7 frames (the first on
    # 4 + 3), not on 16
    assert offline.settings["frames_encoded"] == 4 + len(offline) - 1
    assert offline_frames[:-1] == [7] * (len(offline_frames) - 1)
    assert sum(offline_frames) == 3 * len(offline_frames) + len(offline)
    # streamed: the first window's earlier frames go through as their events arrive (the window ending at the first
    # frame's end: its frame, and the empty frame for the 3 before the sensor's start, once; then one frame each), so
    # the first prediction, like every later one, runs the trunk on its newest frame only
    assert trunk_frames == [1, 1, 1, 1] + [1] * len(streamed)
    assert streamed.settings["frames_encoded"] == 4 + 2 + len(streamed)
    np.testing.assert_allclose(streamed.input_stats.nonzero_fraction, offline.input_stats.nonzero_fraction)
    # one sensor over the box from the first window on; each prediction is the model on ToModelInput from there
    first = int(offline.timestamps_us[0]) - ToModelInput(CONTRACT, box, 4).history_us
    assert set(offline.box_start_us.tolist()) == set(streamed.box_start_us.tolist()) == {first}
    encoder = ToModelInput(CONTRACT, box, 4)
    with torch.inference_mode():
        for i in (0, 5, len(offline) - 1):
            x = torch.from_numpy(encoder(events, int(offline.timestamps_us[i]), since_us=first))[None]
            np.testing.assert_allclose(model(x)[0].numpy(), offline.va[i], atol=1e-5, rtol=0)



@pytest.mark.parametrize("hop_us", [20_000, 80_000, 200_000])
def test_streaming_equals_offline_with_a_fixed_box_at_other_hops(scene, model, hop_us):
    """The first window's frames go through before the first prediction whatever the hop; later windows share frames
    (every second frame interval), or not (half an interval, or more than a whole window apart)."""
    events, boxes = scene
    box = fixed_box(boxes)
    offline = neurova.predict(model, events, sensor_size=SENSOR, face_box=box, hop_us=hop_us)
    streamed = neurova.predict(model, in_chunks(events), sensor_size=SENSOR, face_box=box, hop_us=hop_us)
    np.testing.assert_array_equal(streamed.timestamps_us, offline.timestamps_us)
    np.testing.assert_array_equal(streamed.box_start_us, offline.box_start_us)
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-5, rtol=0)
    assert len(offline) >= 3

class ShiftingDetector:
    """The true face box of the newest frame, moved right by a pixel more at each call (``period`` positions), with
    the thread each call ran in."""

    def __init__(self, boxes: np.ndarray, period: int) -> None:
        self.boxes, self.period = boxes, period
        self.threads: list[str] = []

    def __call__(self, window: np.ndarray, sensor: SensorSize) -> tuple[int, ...]:
        self.threads.append(threading.current_thread().name)
        frame = min(int(window["t"][-1]) // 40_000, len(self.boxes) - 1)
        x0, y0, w, h = self.boxes[frame]
        return (x0 + (len(self.threads) - 1) % self.period, y0, w, h)


@pytest.mark.parametrize(("hop_us", "lag_us", "every_us"), [
    (20_000, 40_000, 60_000),  # hops shorter than the frame interval: whole windows encoded
    (40_000, 200_000, 120_000),  # used at the next detection, before the lag is over; sensors started after it
    (60_000, 120_000, 40_000),  # a detection at every prediction
])
def test_streamed_moving_box_equals_offline_for_other_hops_lags_and_intervals(scene, model, hop_us, lag_us, every_us):
    events, boxes = scene
    kwargs = dict(sensor_size=SENSOR, detect_every_us=every_us, detect_window_us=160_000,
                  detect_lag_us=lag_us, hop_us=hop_us)  # a window that holds the new sensors' first events
    offline = neurova.predict(model, events, detect_face=ShiftingDetector(boxes, 4), **kwargs)
    streamed = neurova.predict(model, in_chunks(events), detect_face=ShiftingDetector(boxes, 4), **kwargs)
    assert len(np.unique(offline.boxes, axis=0)) >= 3
    np.testing.assert_array_equal(streamed.boxes, offline.boxes)
    np.testing.assert_array_equal(streamed.box_start_us, offline.box_start_us)
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-5, rtol=0)


@pytest.mark.parametrize("lag_us", [0, 80_000])
def test_streaming_equals_offline_with_a_moving_tracked_box(scene, model, lag_us, monkeypatch):
    """Also with ``detect_lag_us``, where streaming detects in a worker thread beside the predictions and starts
    the sensor of each box it moves to there."""
    events, boxes = scene
    t0 = int(events["t"][0])
    kwargs = dict(sensor_size=SENSOR, detect_every_us=80_000, detect_window_us=80_000, detect_lag_us=lag_us)
    offline = neurova.predict(model, events, detect_face=ShiftingDetector(boxes, 3), **kwargs)
    sensors_started: list[str] = []  # the thread each face box's sensor started in
    start = BoxStream._start

    def counted_start(self, *args):
        sensors_started.append(threading.current_thread().name)
        return start(self, *args)

    monkeypatch.setattr(BoxStream, "_start", counted_start)
    detector = ShiftingDetector(boxes, 3)
    streamed = neurova.predict(model, in_chunks(events), detect_face=detector, **kwargs)
    assert {*detector.threads[1:]} == ({"neurova-face-track_0"} if lag_us else {threading.current_thread().name})
    moves = int((np.diff(streamed.boxes, axis=0) != 0).any(axis=1).sum())
    if lag_us:  # each moved box's sensor started in the worker, with the detection window's events fed to it
        assert sensors_started.count(threading.current_thread().name) == 1  # the first box's
        assert moves <= sensors_started.count("neurova-face-track_0") <= moves + 1  # + the last, maybe unused
    else:
        assert sensors_started == [threading.current_thread().name] * (moves + 1)
    assert streamed.settings["detect_lag_us"] == lag_us
    np.testing.assert_array_equal(streamed.boxes, offline.boxes)
    assert len(np.unique(offline.boxes, axis=0)) >= 3  # the box moved
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-5, rtol=0)
    assert 4 * len(streamed) > streamed.settings["frames_encoded"] > 4 + len(streamed) - 1  # reuse between moves
    assert t0 < int(streamed.timestamps_us[0])
    np.testing.assert_array_equal(streamed.box_start_us, offline.box_start_us)
    moved = np.flatnonzero((np.diff(offline.boxes, axis=0) != 0).any(axis=1)) + 1
    history = ToModelInput(CONTRACT, tuple(offline.boxes[0]), 4).history_us
    np.testing.assert_array_equal(offline.box_start_us[moved], offline.timestamps_us[moved] - history)



# --- threads -----------------------------------------------------------------------------------------------


class ThreadSpy(torch.nn.Module):
    """Predicts zeros and records torch's thread count at each call."""

    input_contract = CONTRACT
    frames_used = 4

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(torch.get_num_threads())
        return torch.zeros(len(x), 2)


def test_predictions_run_at_the_given_thread_count_and_restore_it(scene):
    events, boxes = scene
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for source in (lambda: in_chunks(events), lambda: events):  # streaming, offline
            spy = ThreadSpy()
            prediction = neurova.predict(spy, source(), sensor_size=SENSOR, face_box=fixed_box(boxes), threads=1)
            assert set(spy.seen) == {1} and torch.get_num_threads() == 2
            assert prediction.settings["threads_used"] == {1: len(prediction)}
            spy.seen.clear()
            neurova.predict(spy, source(), sensor_size=SENSOR, face_box=fixed_box(boxes), threads=None)  # untouched
            assert set(spy.seen) == {2}
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        neurova.predict(spy, in_chunks(events), sensor_size=SENSOR, threads=0)
    assert torch.get_num_threads() == before


def test_streaming_chooses_its_thread_count_by_default_and_restores_it(scene):
    events, boxes = scene
    before = torch.get_num_threads()
    spy = ThreadSpy()
    prediction = neurova.predict(spy, in_chunks(events), sensor_size=SENSOR, face_box=fixed_box(boxes))
    assert prediction.settings["threads"] == "auto" and torch.get_num_threads() == before
    used = prediction.settings["threads_used"]
    assert set(used) <= {1, 2} and sum(used.values()) == len(prediction)
    assert Counter(spy.seen) == used  # the spy runs once per prediction, at the count chosen for it
    with pytest.raises(ValueError, match="threads must be a positive integer, 'auto' or None"):
        neurova.predict(spy, in_chunks(events), sensor_size=SENSOR, threads="fast")
    assert torch.get_num_threads() == before


def test_offline_auto_threads_choose_up_to_the_callers_count_or_keep_it_where_the_system_does_not_say(scene,
                                                                                                      monkeypatch):
    events, boxes = scene
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        spy = ThreadSpy()
        prediction = neurova.predict(spy, events, sensor_size=SENSOR, face_box=fixed_box(boxes))
        used = prediction.settings["threads_used"]
        assert set(spy.seen) <= {1, 2} and set(used) <= {1, 2} and sum(used.values()) == len(prediction)
        monkeypatch.setattr(neurova.streaming, "_cpu_sample", lambda *args: None)  # not Linux
        spy.seen.clear()
        prediction = neurova.predict(spy, events, sensor_size=SENSOR, face_box=fixed_box(boxes))
        assert set(spy.seen) == {2} and prediction.settings["threads_used"] == {2: len(prediction)}
    finally:
        torch.set_num_threads(before)


def test_streaming_tells_the_thread_chooser_how_long_it_was_idle(scene, monkeypatch):
    events, boxes = scene
    idle: list[float | None] = []
    monkeypatch.setattr(neurova.inference, "_thread_chooser", lambda *args, **kwargs: lambda s: idle.append(s) or 1)
    prediction = neurova.predict(ThreadSpy(), in_chunks(events), sensor_size=SENSOR, face_box=fixed_box(boxes))
    assert len(idle) == len(prediction) > 2 and idle[0] is None
    assert all(0 <= s < 1 for s in idle[1:])  # s: from one prediction's end to the next one's start


def cpu_samples(monkeypatch, *samples) -> None:
    """``neurova.streaming._cpu_sample`` gives these ``(wall_s, machine_busy_s, own_s)`` in turn."""
    queue = iter(samples)
    monkeypatch.setattr(neurova.streaming, "_cpu_sample",
                        lambda *args: None if (sample := next(queue)) is None else neurova.streaming._CpuSample(*sample))


@pytest.mark.parametrize(
    ("machine_busy_s", "idle_s", "expected"),
    [
        (0.30, 0.0005, 2),  # this process used 0.25 s of the 0.5 s: the others 0.1 CPU; back to back
        (0.45, 0.0005, 2),  # the others 0.4 CPU: within the half CPU to spare
        (0.575, 0.0005, 1),  # the others 0.65 CPU: a busy process's share
        (0.75, 0.0005, 1),  # the others 1 CPU
        (0.30, 0.030, 1),  # free, but paced: 30 ms since the previous prediction, the pool's threads asleep
        (0.30, None, 1),  # free, but the first prediction
    ],
)
def test_auto_threads_gives_two_to_back_to_back_predictions_while_the_others_leave_two_cpus_free(
        monkeypatch, machine_busy_s, idle_s, expected):
    monkeypatch.setattr(neurova.streaming.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    cpu_samples(monkeypatch, (0.0, 0.0, 0.0), (0.5, machine_busy_s, 0.25))
    before = torch.get_num_threads()
    try:
        chooser = AutoThreads(interval_s=1e-9)  # the fake samples are far in the past: every call measures
        assert chooser(idle_s) == expected == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_auto_threads_for_batches_gives_the_free_cpus_up_to_most_without_the_pause_condition(monkeypatch):
    monkeypatch.setattr(neurova.streaming.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    # the others used 1.0 and then 2.6 CPUs: 3 and then 1 (1.4 rounded) of the 4 are free
    cpu_samples(monkeypatch, (0.0, 0.0, 0.0), (1.0, 1.5, 0.5), (2.0, 6.1, 2.0))
    before = torch.get_num_threads()
    try:
        chooser = AutoThreads(most=4, interval_s=1e-9, spin_s=None)
        assert chooser(None) == 3 == torch.get_num_threads()
        assert chooser(5.0) == 1 == torch.get_num_threads()
        cpu_samples(monkeypatch, (time.monotonic(), 0.0, 0.0))
        assert AutoThreads(most=4, spin_s=None, initial=4)() == 4 == torch.get_num_threads()  # not measured yet
    finally:
        torch.set_num_threads(before)


def test_auto_threads_keeps_the_reserved_cpus_for_this_process_s_other_threads(monkeypatch):
    monkeypatch.setattr(neurova.streaming.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    cpu_samples(monkeypatch, (0.0, 0.0, 0.0), (0.5, 0.30, 0.25))  # the others 0.1 CPU: both CPUs free
    before = torch.get_num_threads()
    try:
        assert AutoThreads(interval_s=1e-9, reserve=1)(0.0) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_auto_threads_gives_one_before_its_first_measurement_and_where_the_system_does_not_say(monkeypatch):
    before = torch.get_num_threads()
    try:
        cpu_samples(monkeypatch, None)  # not Linux
        unknown = AutoThreads(interval_s=1e-9)
        assert unknown(0.0) == 1 == unknown(0.0) == torch.get_num_threads()
        torch.set_num_threads(2)
        cpu_samples(monkeypatch, (time.monotonic(), 0.0, 0.0))
        assert AutoThreads()(0.0) == 1 == torch.get_num_threads()  # its first interval has not passed yet
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="most must be a positive integer"):
        AutoThreads(most=0)


def test_cpu_sample_reads_the_busy_time_of_the_cpus_asked_for(tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice, in clock ticks
    stat.write_text("cpu  100 20 30 5000 40 5 5 10 0 0\n"
                    "cpu0 60 10 15 2500 20 2 3 5 0 0\n"
                    "cpu1 40 10 15 2500 20 3 2 5 0 0\n"
                    "intr 1 2 3\n")
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    every, first, both = (neurova.streaming._cpu_sample(cpus, stat=str(stat)) for cpus in (None, {0}, {0, 1}))
    assert every is not None and first is not None and both is not None
    assert every.machine_busy_s == pytest.approx(170 * tick_s) == both.machine_busy_s
    assert first.machine_busy_s == pytest.approx(95 * tick_s)
    assert neurova.streaming._cpu_sample({2}, stat=str(stat)) is None  # a CPU the file does not list
    assert neurova.streaming._cpu_sample(stat=str(tmp_path / "missing")) is None
    stat.write_text("intr 1 2 3\n")
    assert neurova.streaming._cpu_sample(stat=str(stat)) is None


def test_intra_op_threads_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), intra_op_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError
    assert torch.get_num_threads() == before


def test_channels_last_holds_for_the_block_and_is_undone():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4))
    weight = net[0].weight
    x = torch.rand(1, 2, 8, 8)
    expected = net(x)
    with pytest.raises(RuntimeError), channels_last(net):
        assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
        torch.testing.assert_close(net(x), expected)
        raise RuntimeError
    assert weight.is_contiguous() and net[0].weight is weight


def test_streaming_leaves_the_model_as_it_was(scene, model):
    events, boxes = scene
    layouts = {name: p.is_contiguous() for name, p in model.named_parameters()}
    trunk = model.net.trunk
    neurova.predict(model, in_chunks(events), sensor_size=SENSOR, face_box=fixed_box(boxes))
    neurova.predict(model, events, sensor_size=SENSOR, face_box=fixed_box(boxes))  # offline: channels-last too
    assert {name: p.is_contiguous() for name, p in model.named_parameters()} == layouts
    assert model.net.trunk is trunk


def test_a_model_trains_after_inference_under_its_layout(scene):
    """The layout's weight conversions and the fold make normal tensors, even inside inference mode: a model
    predicted or scored with trains afterwards (inference tensors cannot be saved for backward)."""
    from neurova.zero_shot.evaluate import ZeroShotEvaluator

    events, boxes = scene
    model = create_model("tiny_cnn_fusion", input_contract=CONTRACT.to_dict())
    batch = {"frames": torch.rand(2, 4, 1, 32, 32), "label": torch.tensor([0, 1]), "meta": {"clip_id": ["a", "b"]}}
    ZeroShotEvaluator(model).predict_clips([batch])
    neurova.predict(model, events, sensor_size=SENSOR, face_box=fixed_box(boxes))
    neurova.predict(model, in_chunks(events), sensor_size=SENSOR, face_box=fixed_box(boxes))
    with torch.inference_mode(), inference_layout(model, one_frame=True):
        model(torch.rand(1, 4, 1, 32, 32))
    assert not any(t.is_inference() for t in itertools.chain(model.parameters(), model.buffers()))
    model.train()
    model(torch.rand(2, 4, 1, 32, 32)).sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_the_layout_helpers_keep_their_names_in_neurova_streaming():
    import neurova.streaming

    assert neurova.streaming.channels_last is channels_last and neurova.streaming.fold_batch_norm is fold_batch_norm


def test_which_trunks_prefer_channels_last_for_whole_windows():
    assert prefers_channels_last(create_model("tiny_cnn_fusion").net)
    assert prefers_channels_last(create_model("tiny_cnn").net)
    assert not prefers_channels_last(create_model("resnet18_fusion", **TINY_TRUNK).net)
    assert not prefers_channels_last(None)


# --- batch norm folded ---------------------------------------------------------------------------------------


def _trained_batch_norms(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` in eval mode with batch-norm statistics and affine parameters away from their defaults."""
    generator = torch.Generator().manual_seed(0)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for tensor in (m.running_mean, m.weight, m.bias):
                tensor.data = torch.randn(tensor.shape, generator=generator)
            m.running_var.data = torch.rand(m.running_var.shape, generator=generator) + 0.5
    return module.eval()


@pytest.mark.parametrize("name", ["resnet18_fusion", "tiny_cnn_fusion"])
def test_fold_batch_norm_gives_the_trunks_output_without_batch_norm(name):
    options = TINY_TRUNK if name.startswith("resnet") else {}
    trunk = _trained_batch_norms(create_model(name, **options).net.trunk)
    folded = fold_batch_norm(trunk)
    assert folded is not trunk
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in trunk.modules())  # the trunk itself is unchanged
    x = torch.rand(3, next(m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d)).in_channels, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), trunk(x), atol=1e-5, rtol=1e-5)


def test_fold_batch_norm_changes_nothing_of_the_module():
    """The folded copy shares every part but the folded convolutions, and none of them is changed: not the parts,
    not their tensors' values or layout (a convolution without a batch norm after it stays contiguous)."""
    module = _trained_batch_norms(torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3),
        torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3), torch.nn.BatchNorm2d(8))))
    parts = dict(module.named_modules())
    state = {name: tensor.clone() for name, tensor in module.state_dict().items()}
    folded = fold_batch_norm(module, torch.channels_last)
    assert dict(module.named_modules()) == parts  # the same objects in the same places
    assert all(torch.equal(module.state_dict()[name], tensor) for name, tensor in state.items())
    assert all(tensor.is_contiguous() for tensor in module.state_dict().values())
    new = [part for part in folded.modules() if all(part is not old for old in parts.values())]
    convs = [part for part in new if isinstance(part, torch.nn.Conv2d)]
    assert len(convs) == 2 and all(conv.weight.is_contiguous(memory_format=torch.channels_last) for conv in convs)
    x = torch.rand(2, 1, 12, 12)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), module(x), atol=1e-5, rtol=1e-5)


def test_fold_batch_norm_leaves_what_it_cannot_fold():
    plain = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU()).eval()
    assert fold_batch_norm(plain) is plain  # nothing to fold
    training = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    assert fold_batch_norm(training) is training  # batch statistics are not fixed in training mode

    class DataDependent(torch.nn.Module):  # control flow on a value: torch.fx cannot trace it
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bn(self.conv(x)) if x.sum() > 0 else x

    untraceable = DataDependent().eval()
    assert fold_batch_norm(untraceable) is untraceable



@pytest.mark.parametrize("name", ["resnet18_fusion", "tiny_cnn_fusion"])
def test_inline_module_calls_runs_the_same_operations_without_module_calls(name):
    options = TINY_TRUNK if name.startswith("resnet") else {}
    trunk = _trained_batch_norms(create_model(name, **options).net.trunk)
    folded = fold_batch_norm(trunk, torch.channels_last)
    parts, state = dict(folded.named_modules()), {k: v.clone() for k, v in folded.state_dict().items()}
    inlined = inline_module_calls(folded)
    graphs = [part for part in inlined.modules() if isinstance(part, torch.fx.GraphModule)]
    assert graphs and all(node.op != "call_module" for graph in graphs for node in graph.graph.nodes)
    assert dict(folded.named_modules()) == parts and all(torch.equal(folded.state_dict()[k], v) for k, v in state.items())
    channels = next(m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d)).in_channels
    with torch.inference_mode():
        for batch in (1, 4):  # one frame, as streaming runs it, and a whole window
            x = torch.rand(batch, channels, 32, 32)
            torch.testing.assert_close(inlined(x), folded(x), atol=0, rtol=0)  # the same operations


def test_inline_module_calls_keeps_the_calls_it_cannot_inline():
    class Scaled(torch.nn.Module):  # reads a parameter of its own: a get_attr in its graph
        def __init__(self, body: torch.nn.Module) -> None:
            super().__init__()
            self.body, self.scale = body, torch.nn.Parameter(torch.tensor(3.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x) * self.scale

    dropout = torch.nn.Dropout(0.5)  # in training mode: random, kept
    module = torch.fx.symbolic_trace(Scaled(torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), torch.nn.Tanh(), dropout, torch.nn.ReLU(),
        torch.nn.Identity(), torch.nn.Conv2d(2, 2, 1))))
    dropout.train()
    inlined = inline_module_calls(module)
    kept = [str(node.target) for node in inlined.graph.nodes if node.op == "call_module"]
    assert kept == ["body.0", "body.1", "body.2"]  # reflect padding, a module it does not know, dropout in training
    functions = [node.target for node in inlined.graph.nodes if node.op == "call_function"]
    assert functions[:2] == [torch.relu, torch.nn.functional.conv2d]  # the Identity is gone
    dropout.eval()
    x = torch.rand(1, 1, 6, 6)
    torch.testing.assert_close(inlined(x), module(x), atol=0, rtol=0)
    plain = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3))
    assert inline_module_calls(plain) is plain  # no graph in it: nothing to inline

@pytest.mark.parametrize("name", ["resnet18_fusion", "resnet18_gru"])
def test_predict_folds_batch_norm_and_gives_the_models_outputs(scene, name, monkeypatch):
    """Frame-fusion and video models predict streaming with the trunk's batch norms folded and channels-last weights
    (statistics away from their defaults here, so that folding changes the weights), offline as they are (a resnet
    trunk does not prefer channels-last, and folding alone gains it nothing on whole windows), and give the model's
    own outputs."""
    import neurova.nets.layout

    events, boxes = scene
    torch.manual_seed(0)
    model = create_model(name, input_contract=CONTRACT.to_dict(), **TINY_TRUNK)
    _trained_batch_norms(model.net.trunk)
    model.eval()
    folded = []

    def spy(module, memory_format):
        folded.append((fold_batch_norm(module, memory_format), memory_format))
        return folded[-1][0]

    monkeypatch.setattr(neurova.nets.layout, "fold_batch_norm", spy)
    offline = neurova.predict(model, events, sensor_size=SENSOR, face_box=fixed_box(boxes))
    streamed = neurova.predict(model, in_chunks(events), sensor_size=SENSOR, face_box=fixed_box(boxes))
    assert [fmt for _, fmt in folded] == [torch.channels_last]  # streaming only
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for trunk, _ in folded for m in trunk.modules())
    assert np.ptp(offline.va) > 0
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-5, rtol=0)
    encoder = ToModelInput(CONTRACT, fixed_box(boxes), model.frames_used if name.endswith("fusion") else 4)
    with torch.inference_mode():  # the model unfolded, on one window
        expected = model(torch.from_numpy(encoder(events, int(offline.timestamps_us[5])))[None])
    expected = expected[:, -1] if expected.ndim == 3 else expected
    np.testing.assert_allclose(offline.va[5], expected[0].numpy(), atol=1e-5, rtol=0)


def test_folded_trunk_holds_for_the_block_and_is_undone():
    net = create_model("tiny_cnn_fusion").net.eval()
    trunk = net.trunk
    with pytest.raises(RuntimeError), folded_trunk(net):
        assert net.trunk is not trunk and not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.trunk.modules())
        raise RuntimeError
    assert net.trunk is trunk
    with folded_trunk(torch.nn.Linear(2, 2)):  # no trunk: nothing to do
        pass
