"""Tests of neurova.inference: offline and streaming prediction, face boxes and tracking, files, errors."""

from __future__ import annotations

import csv
import re
import threading
import time
import warnings

import numpy as np
import pytest
import torch

import neurova
from neurova import faces, inference
from neurova.contract import InputContract
from neurova.emotions import EKMAN7_NAMES
from neurova.encodings import deflicker_events, denoise_events, raise_threshold
from neurova.errors import EventFormatError, InputContractError
from neurova.events import make_events, slice_time
from neurova.faces import NoFaceWarning, centre_square
from neurova.inference import Prediction, predict, predict_file
from neurova.simulator import flickering_light, simulate
from neurova.transforms import Crop, ResizeEvents, ToTBR
from tests.helpers.paths import shared_sample
from tests.helpers.scenes import moving_square

CONTRACT = InputContract(encoding="tbr", n_bits=4, bin_us=5000, image_size=16, clip_length=2,
                         frame_interval_us=20_000, face_crop="box")
SENSOR = (64, 48)


class LinearVA(torch.nn.Module):
    """A fixed random linear map from the last ``frames_used`` frames to (valence, arousal)."""

    def __init__(self, contract: InputContract | None = CONTRACT, frames_used: int = 2) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.frames_used = frames_used
        self.input_contract = contract
        side = 16 if contract is None else contract.image_size
        channels = 1 if contract is None else contract.channels
        self.head = torch.nn.Linear(frames_used * channels * side * side, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=generator) * 0.2)
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(x[:, -self.frames_used :].flatten(1)))


def recording(n: int = 6000, duration_us: int = 300_000, seed: int = 0) -> np.ndarray:
    """Events of a blob drifting right across a 64x48 sensor, starting at 1 ms."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, duration_us, n)) + 1000
    x = np.clip(np.rint(16 + 32 * t / duration_us + rng.normal(0, 5, n)), 0, 63)
    y = np.clip(np.rint(24 + rng.normal(0, 5, n)), 0, 47)
    return make_events(x, y, t, rng.integers(0, 2, n))


@pytest.fixture(scope="module")
def events() -> np.ndarray:
    return recording()


@pytest.fixture(scope="module")
def offline(events) -> Prediction:
    return predict(LinearVA(), events, sensor_size=SENSOR)


def test_prediction_times_boxes_and_values(events, offline):
    history = 20_000 + 20_000  # (K - 1) * frame_interval + n_bits * bin_us
    t0, t_last = int(events["t"][0]), int(events["t"][-1])
    expected_times = np.arange(t0 + history, t_last + 2, 20_000)
    np.testing.assert_array_equal(offline.timestamps_us, expected_times)
    assert centre_square(neurova.events.SensorSize(*SENSOR)) == (8, 0, 48, 48)
    assert (offline.boxes == [8, 0, 48, 48]).all()
    assert offline.latency_ms is None and offline.sensor_size == SENSOR
    assert set(offline.emotion) <= set(EKMAN7_NAMES)
    assert offline.valence.dtype == np.float32 and offline.va.shape == (len(offline), 2)
    assert np.ptp(offline.valence) > 0.01  # the predictions follow the data

    # the prediction at index 3, computed by hand from the documented recipe: the box held from the first window
    # on, so its emulated 16x16 sensor has run since the first event
    t_end = int(expected_times[3])
    assert (offline.box_start_us == t0).all()
    window = Crop(8, 0, 48, 48)(slice_time(events, t0, t_end))
    window = ResizeEvents((48, 48), 16)(window)  # the contract's resize="events"
    frames = ToTBR((16, 16), n_bits=4, bin_us=5000)(window, ends_us=[t_end - 20_000, t_end])
    x = torch.from_numpy(frames)
    with torch.no_grad():
        expected = LinearVA()(x[None])[0].numpy()
    np.testing.assert_allclose(offline.va[3], expected, atol=1e-6)
    assert offline.emotion[3] == neurova.zero_shot.classify_emotion(*expected)


def test_an_event_array_is_read_as_it_is_not_copied(events, offline, monkeypatch):
    """Checked, never copied nor written to (a recording-sized copy cost 0.2-0.7 s); other inputs are converted."""
    def no_copy(*args, **kwargs):
        raise AssertionError("as_events copied an event array")

    with monkeypatch.context() as patch:
        patch.setattr(neurova.inference, "as_events", no_copy)
        read_only = events.copy()
        read_only.flags.writeable = False
        again = predict(LinearVA(), read_only, sensor_size=SENSOR, drop_hot_pixels=1000.0, deflicker=True)
    np.testing.assert_array_equal(read_only, events)
    columns = {name: events[name] for name in ("x", "y", "t", "p")}  # another input: converted to an event array
    np.testing.assert_array_equal(predict(LinearVA(), columns, sensor_size=SENSOR).va, offline.va)
    assert len(again) == len(offline)
    unsorted = events[::-1].copy()
    with pytest.raises(EventFormatError, match="not sorted"):
        predict(LinearVA(), unsorted, sensor_size=SENSOR)


def test_streaming_equals_offline(events, offline):
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.integers(0, len(events), 25))
    chunks = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)])]  # includes empty chunks
    streamed = predict(LinearVA(), iter(chunks), sensor_size=SENSOR)
    np.testing.assert_array_equal(streamed.timestamps_us, offline.timestamps_us)
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-6)
    np.testing.assert_array_equal(streamed.emotion, offline.emotion)
    assert streamed.latency_ms is not None and streamed.latency_ms.shape == (len(offline),)
    assert (streamed.latency_ms > 0).all()
    single = predict(LinearVA(), (events[i : i + 1] for i in range(len(events))), sensor_size=SENSOR)
    np.testing.assert_allclose(single.va, offline.va, atol=1e-6)


def test_streaming_keeps_bounded_memory(events, monkeypatch):
    sizes = []
    original = inference._Predictor._advance

    def spy(self, until):
        original(self, until)
        sizes.append(len(self._buffer))

    monkeypatch.setattr(inference._Predictor, "_advance", spy)
    long = recording(n=30_000, duration_us=1_500_000)
    predict(LinearVA(), (long[i : i + 500] for i in range(0, len(long), 500)), sensor_size=SENSOR)
    # only the last 40 ms history (+ one chunk) is kept: about 2.7 % of the 1.5 s recording
    assert max(sizes) < 0.06 * len(long)


@pytest.mark.parametrize("suffix", [".h5", ".npz", ".npy"])
def test_files_of_every_writable_type(tmp_path, events, offline, suffix):
    path = tmp_path / f"rec{suffix}"
    if suffix == ".npy":
        np.save(path, events)
    else:
        neurova.io.write_events(path, events, SENSOR)
    from_file = predict(LinearVA(), path, sensor_size=SENSOR if suffix == ".npy" else None)
    assert from_file.source == str(path)
    np.testing.assert_array_equal(from_file.timestamps_us, offline.timestamps_us)
    np.testing.assert_allclose(from_file.va, offline.va, atol=1e-6)
    if suffix == ".h5":
        streamed = predict(LinearVA(), path, stream=True)
        np.testing.assert_allclose(streamed.va, offline.va, atol=1e-6)
        assert streamed.latency_ms is not None


def test_a_file_read_whole_is_decoded_once(tmp_path, events, monkeypatch):
    """A file that states no sensor (``.npy``) is read whole with its sensor inferred, not scanned for it first."""
    path = tmp_path / "rec.npy"
    np.save(path, events)

    def scan(path):
        raise AssertionError(f"{path} was scanned for its sensor size")

    monkeypatch.setattr(neurova.io, "get_sensor_size", scan)
    from_file = predict(LinearVA(), path)
    from_events = predict(LinearVA(), events)  # the sensor inferred from the events alike
    np.testing.assert_array_equal(from_file.timestamps_us, from_events.timestamps_us)
    np.testing.assert_allclose(from_file.va, from_events.va, atol=1e-6)


@pytest.mark.parametrize("kind", ["aedat2", "aedat3", "txt", "csv"])
def test_files_of_the_read_only_event_formats(tmp_path, events, offline, kind):
    """v2e's and jAER's AEDAT 2.0, cAER's AEDAT 3.1, RPG text and CSV recordings predict as the events do."""
    from tests.helpers.events import aedat3_packet, write_aedat2, write_aedat3

    size = neurova.events.SensorSize(*SENSOR)
    rows = zip((events["t"] / 1e6).tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].astype(int).tolist())
    if kind == "aedat2":
        path = write_aedat2(tmp_path / "rec.aedat", events, size)
    elif kind == "aedat3":
        path = write_aedat3(tmp_path / "rec.aedat", [aedat3_packet(1, events)], source=None)
    else:
        path = tmp_path / f"rec.{kind}"
        sep = "," if kind == "csv" else " "
        path.write_text(("t,x,y,p\n" if kind == "csv" else "") + "".join(f"{t:.6f}{sep}{x}{sep}{y}{sep}{p}\n"
                                                                      for t, x, y, p in rows))
    from_file = predict(LinearVA(), path, sensor_size=SENSOR)
    np.testing.assert_array_equal(from_file.timestamps_us, offline.timestamps_us)
    np.testing.assert_allclose(from_file.va, offline.va, atol=1e-6)


def test_a_file_too_large_for_memory_is_streamed(tmp_path, events, offline, monkeypatch):
    path = neurova.io.write_events(tmp_path / "rec.h5", events, SENSOR)
    size = path.stat().st_size
    with warnings.catch_warnings():
        warnings.simplefilter("error", inference.LargeRecordingWarning)
        assert inference._available_memory() > 0  # MemAvailable, on Linux
        assert not predict(LinearVA(), path).settings["streaming"]  # this machine has room for it
        monkeypatch.setattr(inference, "_available_memory", lambda: None)  # unknown: read whole
        assert not predict(LinearVA(), path).settings["streaming"]
        monkeypatch.setattr(inference, "_available_memory", lambda: 2 * size * inference.MEMORY_PER_FILE_BYTE)
        assert not predict(LinearVA(), path).settings["streaming"]  # half the memory or less: whole
    monkeypatch.setattr(inference, "_available_memory", lambda: size * inference.MEMORY_PER_FILE_BYTE // 3)
    with pytest.warns(inference.LargeRecordingWarning, match=r"rec\.h5: reading this .* in windows instead"):
        streamed = predict(LinearVA(), path)
    assert streamed.settings["streaming"] and streamed.latency_ms is not None
    np.testing.assert_array_equal(streamed.timestamps_us, offline.timestamps_us)
    np.testing.assert_allclose(streamed.va, offline.va, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", inference.LargeRecordingWarning)
        assert not predict(LinearVA(), path, stream=False).settings["streaming"]  # asked for
        assert not predict(LinearVA(), path, drop_hot_pixels=5000.0).settings["streaming"]  # needs the whole


@pytest.mark.parametrize(("name", "size"), [("davis346_with_frames.aedat4", (346, 260)),
                                            ("prophesee_evt3_sample.raw", (1280, 720)),
                                            ("prophesee_evt2_sample.raw", (640, 480))])
def test_real_recordings_smoke(name, size):
    path = shared_sample("events", name)
    contract = InputContract(n_bits=4, bin_us=500, image_size=16, clip_length=1, frame_interval_us=2000)
    prediction = predict(LinearVA(contract, frames_used=1), path, hop_us=4000)
    assert prediction.sensor_size == size and len(prediction) >= 2
    assert np.isfinite(prediction.va).all()
    side = min(size)
    assert tuple(prediction.boxes[0]) == ((size[0] - side) // 2, (size[1] - side) // 2, side, side)


def test_face_box_crops_events_outside_away(events):
    box = (10, 5, 30, 30)
    inside = Crop(*box)(events)
    inside["x"] += 10
    inside["y"] += 5
    outside = make_events(np.full(500, 60), np.full(500, 45), np.sort(events["t"][::12][:500]), np.ones(500))
    noisy = np.sort(np.concatenate([inside, outside]), order="t", kind="stable")
    clean = predict(LinearVA(), inside, sensor_size=SENSOR, face_box=box)
    with_noise = predict(LinearVA(), noisy, sensor_size=SENSOR, face_box=box)
    assert (clean.boxes == box).all()
    np.testing.assert_allclose(with_noise.va, clean.va, atol=1e-6)
    full = predict(LinearVA(), noisy, sensor_size=SENSOR)
    assert not np.allclose(full.va, clean.va, atol=1e-3)


def test_to_csv_and_to_dict(tmp_path, offline):
    path = offline.to_csv(tmp_path / "out" / "pred.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == len(offline)
    assert rows[0]["emotion"] == offline.emotion[0]
    assert int(rows[-1]["timestamp_us"]) == offline.timestamps_us[-1]
    assert float(rows[2]["valence"]) == pytest.approx(offline.valence[2], abs=1e-6)
    assert "latency_ms" not in rows[0]
    data = offline.to_dict()
    assert data["input_contract"]["image_size"] == 16 and len(data["emotion"]) == len(offline)


def test_predict_file_writes_csv_and_plot(tmp_path, events):
    pytest.importorskip("matplotlib")
    path = tmp_path / "rec.h5"
    neurova.io.write_events(path, events, SENSOR)
    assert neurova.predict is predict
    prediction = predict_file(path, LinearVA(), tmp_path / "pred.csv", plot=tmp_path / "pred.png")
    assert len(list(csv.reader((tmp_path / "pred.csv").open()))) == len(prediction) + 1
    assert (tmp_path / "pred.png").read_bytes()[:4] == b"\x89PNG"


def test_the_plot_of_a_streamed_recording_reads_it_in_chunks(tmp_path, events, monkeypatch):
    """A recording ``predict`` streamed (too large to read whole) is read in chunks again for the figure's frames,
    which equal those re-encoded from the whole recording: each box's sensor runs on across the chunks."""
    from neurova.io import _common

    path = neurova.io.write_events(tmp_path / "rec.h5", events, SENSOR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoFaceWarning)
        whole, streamed = predict(LinearVA(), path), predict(LinearVA(), path, stream=True)
    assert streamed.settings["streaming"] and not whole.settings["streaming"]
    np.testing.assert_array_equal(streamed.box_start_us, whole.box_start_us)
    picks, expected = inference._frames_for_plot(LinearVA(), path, whole, {})
    assert expected is not None and expected.any()
    monkeypatch.setattr(_common, "DEFAULT_CHUNK_EVENTS", 97)  # many chunks
    monkeypatch.setattr(neurova.io, "read_events", lambda *args, **kwargs: pytest.fail("the file was read whole"))
    streamed_picks, frames = inference._frames_for_plot(LinearVA(), path, streamed, {})
    np.testing.assert_array_equal(streamed_picks, picks)
    np.testing.assert_array_equal(frames, expected)


def test_bad_input_gives_clear_errors(tmp_path, events):
    with pytest.raises(InputContractError, match="no stored input contract"):
        predict(LinearVA(contract=None), events, sensor_size=SENSOR)
    with pytest.raises(EventFormatError, match="empty"):
        predict(LinearVA(), events[:0], sensor_size=SENSOR)
    with pytest.raises(EventFormatError, match="no events"):
        predict(LinearVA(), iter([events[:0], events[:0]]), sensor_size=SENSOR)
    with pytest.raises(EventFormatError, match=r"spans [\d.]+ ms, shorter than the 40 ms .*history_us = 40000"):
        predict(LinearVA(), events[events["t"] < 30_000], sensor_size=SENSOR)
    with pytest.raises(ValueError, match="outside the 64x48 sensor"):
        predict(LinearVA(), events, sensor_size=SENSOR, face_box=(70, 0, 20, 20))
    with pytest.raises(ValueError, match="positive size"):
        predict(LinearVA(), events, sensor_size=SENSOR, face_box=(0, 0, 0, 20))
    for bad in ({"detect_window_us": 0}, {"detect_every_us": -1}, {"detect_lag_us": -1}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))}.*got"):  # with or without detection: the typed name
            predict(LinearVA(), events, sensor_size=SENSOR, **bad)
    with pytest.raises(EventFormatError, match="back in time"):
        predict(LinearVA(), iter([events[100:200], events[:100]]), sensor_size=SENSOR)
    with pytest.raises(ValueError, match="sensor_size"):
        predict(LinearVA(), iter([events]))
    empty = tmp_path / "empty.h5"
    neurova.io.write_events(empty, events[:0], SENSOR)
    with pytest.raises(EventFormatError, match=re.escape(str(empty))):
        predict(LinearVA(), empty)
    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        predict(LinearVA(), tmp_path / "missing.h5")
    by_hand = neurova.io.Recording(events=events, sensor_size=neurova.events.SensorSize(16, 16), path=tmp_path / "r")
    with pytest.raises(EventFormatError, match=r"r: events lie outside the 16x16 sensor"):
        predict(LinearVA(), by_hand)

    class NaNModel(LinearVA):
        def forward(self, x):
            return super().forward(x) * float("nan")

    with pytest.raises(ValueError, match="NaN"):
        predict(NaNModel(), events, sensor_size=SENSOR)


# --- real models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet18_fusion", "resnet18_gru"])
def test_saved_model_predicts_from_its_folder(tmp_path, events, offline, name):
    from neurova.models import create_model

    torch.manual_seed(0)
    extra = {"num_frames": 2} if name.endswith("fusion") else {"hidden_size": 8}
    model = create_model(name, backbone="test_resnet", in_chans=1, input_contract=CONTRACT.to_dict(), **extra)
    model.save_pretrained(tmp_path / "model")
    direct = predict(model, events, sensor_size=SENSOR)
    loaded = predict(str(tmp_path / "model"), events, sensor_size=SENSOR)
    np.testing.assert_array_equal(direct.timestamps_us, offline.timestamps_us)
    np.testing.assert_allclose(loaded.va, direct.va, atol=1e-6)
    streamed = predict(tmp_path / "model", iter(np.array_split(events, 7)), sensor_size=SENSOR)
    np.testing.assert_allclose(streamed.va, direct.va, atol=1e-5)


def test_registry_model_without_contract_is_refused(events):
    from neurova.models import create_model

    model = create_model("resnet18", backbone="test_resnet", in_chans=1)
    with pytest.raises(InputContractError, match="ResNet has no stored input contract"):
        predict(model, events, sensor_size=SENSOR)
    two_channel = create_model("resnet18", backbone="test_resnet", in_chans=2, input_contract=CONTRACT.to_dict())
    with pytest.raises(InputContractError, match="2-channel"):
        predict(two_channel, events, sensor_size=SENSOR)


# --- the face track shared with the datasets -----------------------------------------------------


def blob_detector(window: np.ndarray, sensor_size) -> np.ndarray | None:
    """A deterministic stand-in detector: a 20-pixel box on the mean event position, none for small windows."""
    if len(window) < 200:
        return None
    return np.array([window["x"].mean() - 10.2, window["y"].mean() - 10.2, 20.4, 20.4])


def test_track_face_boxes_detects_on_schedule_tracks_and_falls_back(events):
    seen: list[tuple[int, int]] = []

    def scripted(window, sensor_size):
        assert sensor_size == SENSOR
        seen.append((int(window["t"].min()), int(window["t"].max())))
        return None if len(seen) == 1 else np.array([10.0, 5.0, 20.0, 20.0])

    ends = 1000 + 40_000 * np.arange(1, 8)
    boxes, found = faces.track_face_boxes(events, SENSOR, ends, detector=scripted, window_us=50_000,
                                          every_us=100_000, margin=0.1)
    assert len(seen) == 3  # at ends 0, 3 and 6: the first call, then every 100 ms or more
    for (first, last), end in zip(seen, ends[[0, 3, 6]]):
        assert end - 50_000 <= first and last < end
    np.testing.assert_array_equal(found, [False, False, False, True, True, True, True])
    assert (boxes[:3] == faces.centre_square(SENSOR)).all()  # the fallback
    assert (boxes[3:] == [8, 3, 24, 24]).all()  # the detection grown by 10% of its side on each side
    boxes, found = faces.track_face_boxes(events, SENSOR, ends, detector=lambda w, s: None, fallback=(1, 2, 3.4, 3.6),
                                          initial_box=(30, 20, 10, 10))
    assert found.all() and (boxes == [30, 20, 10, 10]).all()  # the initial box is held while nothing is found
    with pytest.raises(ValueError, match="non-decreasing"):
        faces.track_face_boxes(events, SENSOR, ends[::-1], detector=scripted)
    with pytest.raises(ValueError, match="window_us must be positive"):
        faces.track_face_boxes(events, SENSOR, ends, detector=scripted, window_us=0)


def numbered_detector():
    """A detector whose k-th answer is the box ``[10 + 3k, 5, 20, 20]``, with the thread each call ran in."""
    threads: list[str] = []

    def detect(window, sensor_size):
        threads.append(threading.current_thread().name)
        return np.array([10.0 + 3 * (len(threads) - 1), 5.0, 20.0, 20.0])

    return detect, threads


def test_a_lagged_detection_is_used_from_its_time_on_in_line_or_in_the_background(events):
    ends = 1000 + 40_000 * np.arange(1, 12)  # detections at ends 0, 3, 6 and 9 (every 100 ms or more)
    at_once, _ = faces.track_face_boxes(events, SENSOR, ends, detector=numbered_detector()[0], every_us=100_000)
    lagged, found = faces.track_face_boxes(events, SENSOR, ends, detector=numbered_detector()[0], every_us=100_000,
                                           lag_us=80_000)
    assert found.all() and len(np.unique(at_once, axis=0)) == 4
    np.testing.assert_array_equal(lagged[:2], at_once[:2])  # the first box at once: there was none to hold
    np.testing.assert_array_equal(lagged[2:], at_once[:-2])  # the others two ends (80 ms) later
    detector, threads = numbered_detector()
    with faces.FaceTrack(detector, SENSOR, every_us=100_000, lag_us=80_000, background=True) as track:
        background = [track.box_at(events, int(t)) for t in ends]
    np.testing.assert_array_equal(background, lagged)
    assert threads[0] == threading.current_thread().name and {*threads[1:]} == {"neurova-face-track_0"}
    with pytest.raises(ValueError, match="lag_us non-negative"):
        faces.FaceTrack(detector, SENSOR, lag_us=-1)


def test_a_lagged_detection_that_moves_the_box_is_prepared_for_in_the_worker(events):
    ends = 1000 + 40_000 * np.arange(1, 9)  # detections at ends 0 (in line), 3 and 6; answers used 2 ends later
    detector, _ = numbered_detector()
    prepared: list[tuple[str, tuple[int, ...], int, int]] = []

    def prepare(box, window, t_us):
        prepared.append((threading.current_thread().name, box, t_us, len(window)))
        return f"sensor over {box}"

    with faces.FaceTrack(detector, SENSOR, every_us=100_000, lag_us=80_000, background=True, prepare=prepare) as track:
        assert track.box_at(events, int(ends[0])) == (10, 5, 20, 20) and track.next_prepared() is None
        track.box_at(events, int(ends[3]))  # the second detection starts
        deadline = time.perf_counter() + 10
        while track.next_prepared() is None and time.perf_counter() < deadline:
            time.sleep(0.01)
        assert track.next_prepared() == "sensor over (12, 5, 20, 20)"  # finished, not used yet
        assert track.box_at(events, int(ends[4])) == (10, 5, 20, 20) and track.prepared is None
        assert track.box_at(events, int(ends[5])) == (12, 5, 20, 20)  # used from 80 ms after its window
        assert track.prepared == "sensor over (12, 5, 20, 20)" and track.next_prepared() is None
    # the box the track holds once the answer (x 13) is used: the tracker moves half way from 10, rounded up
    assert prepared == [("neurova-face-track_0", (12, 5, 20, 20), int(ends[3]),
                         int(((events["t"] >= ends[3] - faces.DETECT_WINDOW_US) & (events["t"] < ends[3])).sum()))]
    # an answer that leaves the box where it is is not prepared for
    prepared.clear()
    with faces.FaceTrack(lambda w, s: np.array([10.0, 5.0, 20.0, 20.0]), SENSOR, every_us=100_000, lag_us=80_000,
                         background=True, prepare=prepare) as track:
        for t in ends:
            track.box_at(events, int(t))
    assert prepared == [] and track.prepared is None


def test_a_prefetched_detection_is_used_at_its_time_and_discarded_at_another(events):
    detector, threads = numbered_detector()  # the k-th answer is [10 + 3k, 5, 20, 20]
    main = threading.current_thread().name
    with faces.FaceTrack(detector, SENSOR, every_us=100_000) as track:
        assert track.box_at(events, 41_000) == (10, 5, 20, 20)  # the first detection, in line
        track.prefetch(161_000, events)  # the next one, due at the first call 100 ms later
        assert track.box_at(events, 121_000) == (10, 5, 20, 20)  # not due
        assert track.box_at(events, 161_000) == (12, 5, 20, 20)  # the prefetched answer (13), half way
        assert threads == [main, "neurova-face-track_0"]
        track.prefetch(281_000, events)
        assert track.box_at(events, 301_000) == (15, 5, 20, 20)  # due at another time: detected again, in line (19)
        assert threads[2:] == ["neurova-face-track_0", main]
    with pytest.raises(ValueError, match="without background"):
        faces.FaceTrack(detector, SENSOR, lag_us=1, background=True).prefetch(0, events)

    calls: list[int] = []

    def fails_once(window, sensor_size):  # the second call fails
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("detector failed")
        return np.array([10.0, 5.0, 20.0, 20.0])

    with faces.FaceTrack(fails_once, SENSOR, every_us=100_000) as track:
        track.box_at(events, 41_000)
        track.prefetch(161_000, events)  # fails, but is never used: nobody is told
        assert track.box_at(events, 181_000) == (10, 5, 20, 20) and len(calls) == 3
    calls.clear()
    with faces.FaceTrack(fails_once, SENSOR, every_us=100_000) as track:
        track.box_at(events, 41_000)
        track.prefetch(161_000, events)
        with pytest.raises(RuntimeError, match="detector failed"):  # used: raised where it is due
            track.box_at(events, 161_000)


def test_offline_predict_detects_beside_its_predictions_with_the_same_boxes(events):
    seen: list[str] = []

    def detector(window, sensor_size):
        seen.append(threading.current_thread().name)
        return blob_detector(window, sensor_size)

    prediction = predict(LinearVA(), events, sensor_size=SENSOR, detect_face=detector, detect_every_us=60_000,
                         detect_window_us=30_000)
    counted: list[str] = []
    boxes, _ = faces.track_face_boxes(events, SENSOR, prediction.timestamps_us, window_us=30_000, every_us=60_000,
                                      detector=lambda w, s: counted.append("") or blob_detector(w, s))
    np.testing.assert_array_equal(prediction.boxes, boxes)
    assert seen[0] == threading.current_thread().name and set(seen[1:]) == {"neurova-face-track_0"}
    assert len(counted) <= len(seen) <= len(counted) + 1  # each window once (one more may be prefetched at the end)


def test_a_background_detection_does_not_hold_up_the_caller_and_reports_its_error(events):
    released = threading.Event()
    calls = []

    def slow(window, sensor_size):
        calls.append(1)
        if len(calls) == 1:
            return np.array([10.0, 5.0, 20.0, 20.0])
        released.wait(10)
        raise RuntimeError("detector failed")

    with faces.FaceTrack(slow, SENSOR, every_us=100_000, lag_us=80_000, background=True) as track:
        track.box_at(events, 41_000)
        started = time.perf_counter()
        assert track.box_at(events, 161_000) == (10, 5, 20, 20)  # the held box; the detection runs beside
        assert time.perf_counter() - started < 5
        released.set()
        waiting = track._waiting[1]
        while not waiting.done():
            time.sleep(0.01)
        assert track.next_prepared() is None  # the failed detection's error waits for its answer's time
        with pytest.raises(RuntimeError, match="detector failed"):  # where its answer is due
            track.box_at(events, 241_000)


@pytest.mark.parametrize("stream", [False, True])
def test_predict_uses_the_boxes_of_track_face_boxes(events, stream):
    source = iter([events[:1000], events[1000:4000], events[4000:]]) if stream else events
    prediction = predict(LinearVA(), source, sensor_size=SENSOR, detect_face=blob_detector, detect_every_us=60_000,
                         detect_window_us=30_000)
    boxes, found = faces.track_face_boxes(events, SENSOR, prediction.timestamps_us, detector=blob_detector,
                                          window_us=30_000, every_us=60_000)
    assert found.all() and len(np.unique(boxes[:, 0])) > 3  # the blob drifts right; the box follows it
    np.testing.assert_array_equal(prediction.boxes, boxes)


def test_each_prediction_is_the_operator_on_its_window_as_the_tracked_box_moves(events):
    # the predictor crops and resizes each event once while the box holds; every window must equal ToModelInput on
    # it, from the start of the box's sensor
    from neurova.transforms import ToModelInput, box_sensor_starts

    prediction = predict(LinearVA(), events, sensor_size=SENSOR, detect_face=blob_detector, detect_every_us=60_000,
                         detect_window_us=30_000)  # fmt: skip
    assert len(np.unique(prediction.boxes, axis=0)) > 3
    starts = box_sensor_starts(prediction.timestamps_us, prediction.boxes, ToModelInput(CONTRACT, (0, 0, 1, 1)).history_us)
    np.testing.assert_array_equal(prediction.box_start_us, starts)
    assert len(np.unique(starts)) < len(starts)  # the sensor ran on while the box held
    for t_end, box, since, va in zip(prediction.timestamps_us, prediction.boxes, starts, prediction.va):
        x = torch.from_numpy(ToModelInput(CONTRACT, tuple(int(b) for b in box))(events, int(t_end), since_us=int(since)))
        with torch.no_grad():
            np.testing.assert_allclose(va, LinearVA()(x[None])[0].numpy(), atol=1e-6)


def test_pixel_lists_in_messages_show_the_first_few() -> None:
    assert inference._describe_pixels(np.array([[1, 2], [3, 4], [5, 6]]), 2) == "(1, 2), (3, 4), ..."
    assert inference._describe_pixels([[1, 2], [3, 4]], 5) == "(1, 2), (3, 4)"


def test_drop_hot_pixels_removes_a_faulty_pixel_before_predicting():
    events = recording(n=24_000, duration_us=1_200_000)
    offline = predict(LinearVA(), events, sensor_size=SENSOR)
    n = 12_000  # a pixel inside the fallback box, away from the blob, firing at 10 kHz for the whole recording
    assert not ((events["x"] == 30) & (events["y"] == 2)).any()
    t = np.linspace(int(events["t"][0]), int(events["t"][-1]), n).astype(np.int64)
    faulty = make_events(np.full(n, 30), np.full(n, 2), t, np.ones(n))  # ON only: alternating ones cancel in the resize
    with_hot = np.concatenate([events, faulty])
    with_hot = with_hot[np.argsort(with_hot["t"], kind="stable")]
    with pytest.warns(inference.HotPixelWarning, match=r"1 pixel\(s\) fire above 1000 Hz .*\(30, 2\)"):
        disturbed = predict(LinearVA(), with_hot, sensor_size=SENSOR)
    assert disturbed.settings["hot_pixels"] == [[30, 2]] and disturbed.settings["drop_hot_pixels"] is None
    assert np.abs(disturbed.va - offline.va).max() > 1e-3  # the faulty pixel changes the predictions
    cleaned = predict(LinearVA(), with_hot, sensor_size=SENSOR, drop_hot_pixels=5000.0)
    assert cleaned.settings["hot_pixels"] == [[30, 2]] and cleaned.settings["drop_hot_pixels"] == 5000.0
    np.testing.assert_allclose(cleaned.va, offline.va, atol=1e-6)  # as without it: the blob's pixels stay
    assert offline.settings["hot_pixels"] == [] and offline.settings["drop_hot_pixels"] is None
    with pytest.raises(ValueError, match="whole recording"):
        predict(LinearVA(), iter([with_hot]), sensor_size=SENSOR, drop_hot_pixels=5000.0)
    with pytest.warns(inference.HotPixelWarning, match=r"1 pixel\(s\) fire above 1000 Hz .*\(30, 2\).*DropPixel"):
        streamed = predict(LinearVA(), iter(np.array_split(with_hot, 17)), sensor_size=SENSOR)  # counted as it passes
    assert streamed.settings["hot_pixels"] == [[30, 2]] and streamed.settings["streaming"]
    np.testing.assert_allclose(streamed.va, disturbed.va, atol=1e-6)
    with warnings.catch_warnings():  # a recording under a second is too short to judge a pixel's mean rate
        warnings.simplefilter("error", inference.HotPixelWarning)
        short = predict(LinearVA(), with_hot[with_hot["t"] < 500_000], sensor_size=SENSOR)
    assert short.settings["hot_pixels"] == [[30, 2]]


def test_flicker_warns_and_deflicker_combs_it_out_offline_and_streaming():
    frames, times = moving_square(SENSOR, n_frames=16)
    lit = simulate(*flickering_light(frames, times, 100.0, 0.4), preset="clean")
    with pytest.warns(inference.FlickerWarning, match=r"% of the events are flicker of a light at 100\.\d Hz"):
        warned = predict(LinearVA(), lit, sensor_size=SENSOR)
    assert warned.settings["flicker_fraction"] > 0.5 and warned.settings["flicker_hz"] == pytest.approx(100, abs=1)
    assert warned.settings["deflicker"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error", inference.FlickerWarning)
        expected = predict(LinearVA(), deflicker_events(lit, SENSOR), sensor_size=SENSOR)
        offline = predict(LinearVA(), lit, sensor_size=SENSOR, deflicker=True)
        steady = predict(LinearVA(), simulate(frames, times, preset="clean"), sensor_size=SENSOR)
    assert steady.settings["flicker_fraction"] < 0.01
    assert offline.settings["deflicker"] is True and offline.settings["flicker_fraction"] > 0.5
    assert offline.settings["hot_pixels"] == []  # combed first: flickering pixels are not taken for hot ones
    np.testing.assert_array_equal(offline.timestamps_us, expected.timestamps_us)
    np.testing.assert_allclose(offline.va, expected.va, atol=1e-6)
    common = np.isin(warned.timestamps_us, offline.timestamps_us)
    assert common.sum() >= 10  # the flicker changed the predictions:
    assert np.abs(warned.va[common] - offline.va[np.isin(offline.timestamps_us, warned.timestamps_us)]).max() > 1e-3
    streamed = predict(LinearVA(), iter(np.array_split(lit, 23)), sensor_size=SENSOR, deflicker=True)
    np.testing.assert_array_equal(streamed.timestamps_us, expected.timestamps_us)
    np.testing.assert_allclose(streamed.va, expected.va, atol=1e-5)
    known = predict(LinearVA(), iter(np.array_split(lit, 23)), sensor_size=SENSOR, deflicker=100.0)
    # a given frequency (100 Hz against the estimate's 100.0004) moves the combed events' times a little
    assert known.settings["flicker_hz"] == 100.0 and abs(len(known.va) - len(expected.va)) <= 1
    assert predict(LinearVA(), iter([lit]), sensor_size=SENSOR).settings["flicker_fraction"] is None  # a stream


def _noisy_recording() -> np.ndarray:
    events = recording(n=24_000, duration_us=1_200_000)
    rng = np.random.default_rng(4)
    n = 6_000  # isolated noise events over the whole sensor
    noise = make_events(rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n),
                        np.sort(rng.integers(int(events["t"][0]), int(events["t"][-1]), n)), rng.integers(0, 2, n))
    noisy = np.concatenate([events, noise])
    return noisy[np.argsort(noisy["t"], kind="stable")]


@pytest.mark.parametrize(("option", "value", "apply", "bad", "message"), [
    ("denoise_us", 5000, lambda events: denoise_events(events, SENSOR, 5000), 0, "filter_time_us"),
    ("raise_threshold", 2, lambda events: raise_threshold(events, SENSOR, 2), 1.5, "whole number >= 1"),
])
def test_event_filters_apply_before_predicting_offline_and_streaming(option, value, apply, bad, message):
    """``denoise_us`` (the background-activity filter) and ``raise_threshold`` (a less sensitive sensor's events):
    predictions on the filtered events, the same streamed (chunk boundaries included), recorded in the settings."""
    noisy = _noisy_recording()
    expected = predict(LinearVA(), apply(noisy), sensor_size=SENSOR)
    offline = predict(LinearVA(), noisy, sensor_size=SENSOR, **{option: value})
    plain = predict(LinearVA(), noisy, sensor_size=SENSOR)
    assert offline.settings[option] == value and plain.settings[option] is None
    np.testing.assert_array_equal(offline.timestamps_us, expected.timestamps_us)
    np.testing.assert_allclose(offline.va, expected.va, atol=1e-6)
    chunks = np.array_split(noisy, 37)  # a live camera's chunks: the same filter across their boundaries
    streamed = predict(LinearVA(), iter(chunks), sensor_size=SENSOR, **{option: value})
    np.testing.assert_allclose(streamed.va, expected.va, atol=1e-5)
    assert np.abs(plain.va - offline.va).max() > 1e-3  # it did filter
    with pytest.raises(ValueError, match=message):
        predict(LinearVA(), noisy, sensor_size=SENSOR, **{option: bad})


# --- face detection and video sources ---------------------------------------------------------------

cv2 = pytest.importorskip("cv2")


def drawn_face(cx: int, cy: int, r: int = 40, size: tuple[int, int] = (200, 150)) -> np.ndarray:
    img = np.full((size[1], size[0]), 40, np.uint8)
    cv2.ellipse(img, (cx, cy), (int(r * 0.8), r), 0, 0, 360, 200, -1)
    for side in (-1, 1):
        cv2.ellipse(img, (cx + side * int(r * 0.33), cy - int(r * 0.2)), (int(r * 0.16), int(r * 0.08)), 0, 0, 360, 30, -1)
        cv2.line(img, (cx + side * int(r * 0.15), cy - int(r * 0.38)), (cx + side * int(r * 0.5), cy - int(r * 0.38)),
                 60, 3)
    cv2.line(img, (cx, cy - int(r * 0.1)), (cx, cy + int(r * 0.2)), 140, 3)
    cv2.ellipse(img, (cx, cy + int(r * 0.45)), (int(r * 0.3), int(r * 0.08)), 0, 0, 360, 60, -1)
    return cv2.GaussianBlur(img, (0, 0), 2)


def moving_face_frames(cx: int, cy: int, steps: int = 24) -> list[np.ndarray]:
    angles = np.linspace(0, 4 * np.pi, steps)
    return [drawn_face(cx + round(5 * np.cos(a)), cy + round(5 * np.sin(a))) for a in angles]


def test_detect_face_tracks_the_face_in_events():
    frames = moving_face_frames(120, 70)
    parts = []
    for k in range(1, len(frames)):
        diff = frames[k].astype(float) - frames[k - 1]
        ys, xs = np.nonzero(np.abs(diff) > 8)
        parts.append(make_events(xs, ys, np.full(len(xs), k * 10_000), diff[ys, xs] > 0))
    events = np.concatenate(parts)
    contract = InputContract(n_bits=4, bin_us=5000, image_size=16, clip_length=1, frame_interval_us=20_000)
    model = LinearVA(contract, frames_used=1)
    tracked = predict(model, events, sensor_size=(200, 150), detect_face="haar", detect_every_us=40_000,
                      detect_window_us=100_000)
    centre = tracked.boxes[-1, :2] + tracked.boxes[-1, 2:] / 2
    np.testing.assert_allclose(centre, [120, 70], atol=8)
    assert 60 <= tracked.boxes[-1, 2] <= 140 and tracked.boxes[-1, 2] == tracked.boxes[-1, 3]
    centres = tracked.boxes[:, :2] + tracked.boxes[:, 2:] / 2  # detected from the first prediction on
    assert np.abs(centres - [120, 70]).max() <= 12


def test_video_folder_is_simulated_first(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(moving_face_frames(100, 75, steps=12)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    contract = InputContract(n_bits=4, bin_us=5000, image_size=16, clip_length=1, frame_interval_us=40_000)
    prediction = predict(LinearVA(contract, frames_used=1), folder)
    assert prediction.sensor_size == (200, 150) and prediction.source == str(folder)
    assert len(prediction) >= 8  # 12 frames at 25 fps: 440 ms of events
    # events simulated from frames carry no lamp flicker (their frame clock's harmonics are not measured as one)
    assert prediction.settings["flicker_fraction"] is None and prediction.settings["flicker_hz"] is None
    assert inference._is_video(folder) and not inference._is_video(tmp_path / "rec.h5")
    assert not inference._is_video(np.zeros(3))


def test_gaps_between_bursts_produce_no_predictions():
    burst = recording(n=2000, duration_us=100_000)
    day = 28 * 3600 * 10**6  # 28 hours later, the same burst again
    later = burst.copy()
    later["t"] += day
    both = np.concatenate([burst, later])
    prediction = predict(LinearVA(), both, sensor_size=SENSOR)
    first = predict(LinearVA(), burst, sensor_size=SENSOR)
    assert len(prediction) < 20  # not millions: about 100 ms of events on each side of the gap
    np.testing.assert_array_equal(prediction.timestamps_us[: len(first)], first.timestamps_us)
    np.testing.assert_allclose(prediction.va[: len(first)], first.va, atol=1e-6)
    gap_steps = np.diff(prediction.timestamps_us) // 20_000
    assert gap_steps.max() > 10**6 and prediction.settings["empty_windows_skipped"] == gap_steps.max() - 1
    # every prediction after the gap sees events in its window, and the same holds streaming
    history = 40_000
    assert all(len(slice_time(both, t - history, t)) for t in prediction.timestamps_us)
    streamed = predict(LinearVA(), iter([burst[:500], burst[500:], later]), sensor_size=SENSOR)
    np.testing.assert_array_equal(streamed.timestamps_us, prediction.timestamps_us)


def test_face_box_is_clipped_to_the_sensor(events):
    prediction = predict(LinearVA(), events, sensor_size=SENSOR, face_box=(40.4, -10, 48, 48))
    assert (prediction.boxes == [40, 0, 24, 38]).all()
    assert prediction.settings["face_box"] == [40, 0, 24, 38] and prediction.settings["fallback_predictions"] == 0


def test_no_face_found_warns_once_naming_the_fallback_box(events):
    calls = []

    def never(window, sensor_size):
        calls.append(len(window))
        return None

    with pytest.warns(inference.NoFaceWarning, match=r"fallback box \(8, 0, 48, 48\)") as record:
        prediction = predict(LinearVA(), events, sensor_size=SENSOR, detect_face=never, detect_every_us=40_000)
    assert len([w for w in record if issubclass(w.category, inference.NoFaceWarning)]) == 1
    assert calls and prediction.settings["fallback_predictions"] == len(prediction)
    assert prediction.settings["detect_face"] == "function"

    def found(window, sensor_size):
        return np.array([10.0, 5.0, 30.0, 30.0])

    with warnings.catch_warnings():
        warnings.simplefilter("error", inference.NoFaceWarning)
        located = predict(LinearVA(), events, sensor_size=SENSOR, detect_face=found, detect_every_us=40_000)
        boxed = predict(LinearVA(), events, sensor_size=SENSOR, face_box=(8, 0, 48, 48))
    assert (located.boxes == [10, 5, 30, 30]).all()  # no margin added by default
    assert boxed.settings["fallback_predictions"] == 0
    with pytest.warns(inference.NoFaceWarning, match=r"no face_box was given and detect_face is off.*\(8, 0, 48"):
        plain = predict(LinearVA(), events, sensor_size=SENSOR)
    assert plain.settings["fallback_predictions"] == len(plain) and plain.settings["fallback_box"] == [8, 0, 48, 48]
