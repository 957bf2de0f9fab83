"""The learned event-face detector: targets, training recipe, shipped weights (the net itself, EventFaceNet, is tested
in tests/nets/test_face_detector.py)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from neurova.errors import CheckpointError
from neurova.events import make_events
from neurova.face_detector_training import (
    FaceDetectorRecipe,
    WindowSet,
    _clip_windows,
    _render_clip,
    evaluate_boxes,
    generate_windows,
    heatmap_targets,
    train_net,
)
from neurova.faces import (
    AutoFaceDetector,
    FaceDetection,
    LearnedFaceDetector,
    box_iou,
    default_weights,
    get_face_detector,
)
from neurova.nets import EventFaceNet
from tests.helpers.paths import SHARED_DATA

REAL_DATA = SHARED_DATA / "events"


def test_heatmap_targets_round_trip_through_decode():
    boxes = torch.tensor([[40.0, 20.0, 30.0, 30.0], [float("nan")] * 4])
    heat, index, regression, positive = heatmap_targets(boxes, (12, 16), 8)
    assert positive.tolist() == [True, False]
    assert heat[0].max() == 1.0 and heat[1].sum() == 0
    assert int(heat[0].flatten().argmax()) == int(index[0]) == 4 * 16 + 6  # centre (55, 35) → cell (6, 4)
    maps = torch.full((1, 5, 12, 16), -10.0)
    maps[0, 0].view(-1)[index[0]] = 5.0
    offset = regression[0, :2].clamp(1e-4, 1 - 1e-4)
    maps[0, 1:3].view(2, -1)[:, index[0]] = torch.log(offset / (1 - offset))
    maps[0, 3:5].view(2, -1)[:, index[0]] = regression[0, 2:]
    decoded, _ = EventFaceNet.decode(maps)
    np.testing.assert_allclose(decoded[0].numpy(), boxes[0].numpy(), atol=1e-3)


def _blob_windows(n: int, seed: int) -> WindowSet:
    """Event images with a bright square "face" of varying size and position on sparse noise (sensor = input)."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n, 2, 48, 64)) < 0.03).astype(np.uint8) * 80
    boxes = np.empty((n, 4))
    for i in range(n):
        side = rng.uniform(10, 24)
        x0, y0 = rng.uniform(0, 64 - side), rng.uniform(0, 48 - side)
        xs, ys = slice(int(x0), int(x0 + side)), slice(int(y0), int(y0 + side))
        images[i, :, ys, xs] = np.maximum(images[i, :, ys, xs], rng.integers(100, 255, (2, 1, 1), dtype=np.uint8))
        boxes[i] = [int(x0), int(y0), int(x0 + side) - int(x0), int(y0 + side) - int(y0)]
    return WindowSet(images=images, boxes=boxes, sensors=np.tile([64, 48], (n, 1)), clip=np.arange(n),
                     noisy=np.zeros(n, bool), haar=np.full((n, 5), np.nan))


@pytest.fixture(scope="module")
def blob_net() -> torch.nn.Module:
    torch.set_num_threads(1)
    recipe = dataclasses.replace(FaceDetectorRecipe(seed=3), input_size=(64, 48), widths=(8, 16, 24), epochs=12,
                                 batch_size=32, lr=5e-3)
    return train_net(recipe, _blob_windows(256, seed=0), log=lambda _: None)


def test_training_learns_to_locate_blobs(blob_net):
    test = _blob_windows(64, seed=1)
    with torch.inference_mode():
        boxes, scores = blob_net.decode(blob_net(torch.from_numpy(test.images).float() / 255))
    result = evaluate_boxes(boxes.double().numpy(), test.boxes)
    assert result["hit_rate"] >= 0.8, result
    with torch.inference_mode():  # an image without a blob scores lower than the images with one
        empty = blob_net.decode(blob_net(torch.zeros(1, 2, 48, 64)))[1]
    assert float(empty[0]) < float(scores.median())


def test_training_is_deterministic_from_the_seed():
    torch.set_num_threads(1)
    recipe = dataclasses.replace(FaceDetectorRecipe(seed=5), input_size=(64, 48), widths=(4, 4, 8), epochs=1,
                                 batch_size=16)
    data = _blob_windows(32, seed=2)
    a, b = (train_net(recipe, data, log=lambda _: None).state_dict() for _ in range(2))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_boxes_counts_missing_predictions_as_misses():
    truth = np.array([[0.0, 0, 10, 10]] * 4)
    predicted = np.array([[0.0, 0, 10, 10], [1.0, 1, 10, 10], [50.0, 50, 10, 10], [np.nan] * 4])
    result = evaluate_boxes(predicted, truth)
    assert result["answered"] == 0.75
    assert result["hit_rate"] == pytest.approx(2 / 3) and result["hit_rate_all"] == 0.5


def test_generate_windows_on_simulated_scenes():
    recipe = dataclasses.replace(FaceDetectorRecipe(seed=1), clips={"train": 2, "val": 1, "test": 1}, frames=4,
                                 windows_per_clip=2, sensor_sizes=((160, 120),), negative_fraction=0.5)
    windows = generate_windows(recipe, "train")
    assert windows.images.shape == (4, 2, 96, 128) and windows.images.dtype == np.uint8
    assert windows.images.max() == 255
    assert (windows.sensors == [160, 120]).all() and windows.clip.tolist() == [0, 0, 1, 1]
    positive = windows.positive
    assert np.isnan(windows.boxes[~positive]).all()
    for box in windows.boxes[positive]:  # true boxes on the sensor, of the face sizes the layouts draw
        assert 0.15 * 120 <= box[2] <= 0.7 * 120 and -10 < box[0] and box[0] + box[2] < 170
    again = generate_windows(recipe, "train")
    np.testing.assert_array_equal(again.images, windows.images)


# --- the shipped detector --------------------------------------------------------------------------


def test_shipped_weights_are_small_and_load():
    path = default_weights()
    assert path.is_file() and path.stat().st_size < 5_000_000
    detector = LearnedFaceDetector()
    settings = json.loads(path.with_suffix(".json").read_text())
    assert detector.threshold == settings["threshold"] and 0 < detector.threshold < 1
    assert settings["test_metrics"]["learned"]["hit_rate"] >= 0.9  # the recipe's own held-out measurement
    detection = detector.detect(make_events([], [], [], []), (320, 240))
    assert isinstance(detection, FaceDetection) and detection.source == "learned"
    assert detection.box is not None and detection.box.shape == (4,)
    assert isinstance(get_face_detector("auto"), AutoFaceDetector)
    assert isinstance(get_face_detector("learned", threshold=0.9), LearnedFaceDetector)


def test_shipped_detector_finds_the_face_of_a_simulated_scene():
    from neurova.datasets.render import sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.simulator import simulate

    detector = LearnedFaceDetector()
    hits = 0
    for seed in range(3):  # scenes from seeds the recipe never drew (its streams are [seed, split, index])
        rng = np.random.default_rng(10_000 + seed)
        layout = sample_scene_layout(rng, (320, 240))
        va = sample_va_trajectory(6, rng)
        frames, boxes = render_scene_clip(sample_identity(rng), layout, va, rng=rng)
        events = simulate(frames * 255.0, np.arange(6) * 40_000, preset="noisy", seed=seed)
        box = detector(events, (320, 240))
        hits += box is not None and box_iou(box, boxes[1:].mean(axis=0)) >= 0.5
    assert hits >= 2


def test_shipped_detector_finds_faces_under_a_real_davis346s_dark_noise_with_the_noise_floor_removed():
    """28 Hz of noise per pixel, as the real DAVIS346's dark pixels fire, is five times the detector's training noise:
    with the window's noise floor removed (the default) it finds the face of every scene, without it half."""
    from neurova.datasets.render import sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.recipes import sensor_options
    from neurova.simulator import simulate

    sensor = sensor_options("davis346_dark")
    with_floor, without = LearnedFaceDetector(), LearnedFaceDetector(noise_floor_sd=None)
    hits = np.zeros(2, int)
    for seed in range(4):
        rng = np.random.default_rng(10_000 + seed)
        layout = sample_scene_layout(rng, (320, 240))
        va = sample_va_trajectory(6, rng)
        frames, boxes = render_scene_clip(sample_identity(rng), layout, va, rng=rng)
        events = simulate(frames * 255.0, np.arange(6) * 40_000, preset=sensor["preset"], seed=seed,
                          **sensor["dvs_params"])
        for k, detector in enumerate((with_floor, without)):
            box = detector(events, (320, 240))
            hits[k] += box is not None and box_iou(box, boxes[1:].mean(axis=0)) >= 0.5
    assert hits[0] >= 3 and hits[0] > hits[1], hits
    with pytest.raises(ValueError, match="noise_floor_sd"):
        LearnedFaceDetector(noise_floor_sd=-0.5)


def test_learned_detector_detects_with_the_noise_floor_it_was_trained_with(tmp_path):
    """``noise_floor_sd="auto"`` (the default) reads the SD of ``train-face-detector --noise-floor-sd`` from the
    settings; weights trained on unfloored windows (the shipped ones) take NOISE_FLOOR_SD."""
    from neurova.faces import NOISE_FLOOR_SD

    assert LearnedFaceDetector().noise_floor_sd == NOISE_FLOOR_SD
    settings = json.loads(default_weights().with_suffix(".json").read_text())
    assert settings["recipe"].get("noise_floor_sd") is None  # recorded since the option came
    settings["recipe"]["noise_floor_sd"] = 1.5
    weights = tmp_path / "floored.safetensors"
    shutil.copyfile(default_weights(), weights)
    weights.with_suffix(".json").write_text(json.dumps(settings))
    assert LearnedFaceDetector(weights).noise_floor_sd == 1.5
    assert LearnedFaceDetector(weights, noise_floor_sd=3).noise_floor_sd == 3.0
    assert LearnedFaceDetector(weights, noise_floor_sd=None).noise_floor_sd is None
    for bad in ("trained", float("nan"), -1):
        with pytest.raises(ValueError, match="noise_floor_sd must be 'auto', None or a number"):
            LearnedFaceDetector(weights, noise_floor_sd=bad)


def test_learned_detector_rejects_bad_weights(tmp_path):
    with pytest.raises(CheckpointError, match="missing"):
        LearnedFaceDetector(tmp_path / "nothing.safetensors")
    settings = json.loads(default_weights().with_suffix(".json").read_text())
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(default_weights().read_bytes())
    (tmp_path / "w.json").write_text(json.dumps({**settings, "widths": [8, 8, 8]}))
    with pytest.raises(CheckpointError, match="do not fit"):
        LearnedFaceDetector(weights)
    (tmp_path / "w.json").write_text(json.dumps({"input_size": [128, 96]}))
    with pytest.raises(CheckpointError, match="bad detector settings"):
        LearnedFaceDetector(weights)
    (tmp_path / "w.json").write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="threshold"):
        LearnedFaceDetector(weights, threshold=2.0)


def real_windows(events: np.ndarray, length_us: int = 50_000, hop_us: int = 25_000) -> list[np.ndarray]:
    """Windows of ``length_us`` every ``hop_us`` over a recording (the whole recording when it is shorter)."""
    t = events["t"]
    ends = np.arange(t[0] + length_us, t[-1] + 2, hop_us) if t[-1] - t[0] >= length_us else [t[-1] + 1]
    return [events[np.searchsorted(t, end - length_us) : np.searchsorted(t, end)] for end in ends]


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="real event files absent (../shared/data)")
def test_shipped_detector_reports_no_face_on_most_real_faceless_windows():
    """The real files (a DAVIS346 desk scene, Prophesee driving and test scenes) hold no face; they are short
    (130, 50 and 9 ms), hence 50 ms windows."""
    from neurova.io import get_sensor_size, read_events

    detector = LearnedFaceDetector()
    reported, total = 0, 0
    for name in ("davis346_with_frames.aedat4", "prophesee_evt3_sample.raw", "prophesee_evt2_sample.raw"):
        path = REAL_DATA / name
        pytest.importorskip("evt3" if path.suffix == ".raw" else "aedat")
        events, sensor = read_events(path), get_sensor_size(path)
        for window in real_windows(events):
            reported += detector.detect(window, sensor).found
            total += 1
    assert total >= 5 and reported <= total // 2


def test_train_face_detector_command_line():
    from neurova.cli import build_parser
    from neurova.face_detector_training import recipe_from_args

    args = build_parser().parse_args(["train-face-detector", "--clips", "5", "2", "3", "--epochs", "2", "--seed", "7",
                                      "--workers", "2"])
    recipe = recipe_from_args(args.seed, args.clips, args.epochs)
    assert recipe.clips == {"train": 5, "val": 2, "test": 3} and recipe.epochs == 2 and recipe.seed == 7
    assert recipe_from_args(0, None, None) == FaceDetectorRecipe()
    assert recipe.data_key("train") != FaceDetectorRecipe().data_key("train")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-face-detector", "--clips", "5", "0", "3"])


def test_noisy_clips_can_be_simulated_by_stronger_sensors():
    """``noisy_sensors`` draws each noisy clip's sensor from named ones: the same scene under the ``dark`` sensor
    (50 Hz of shot noise) fires more events than under v2e's ``noisy`` preset (5 Hz), and the default keeps the
    clips (and data keys) the shipped weights were trained on."""
    small = dataclasses.replace(FaceDetectorRecipe(seed=3), frames=4, sensor_sizes=((160, 120),), noisy_fraction=1.0,
                                negative_fraction=0.0)
    dark = dataclasses.replace(small, noisy_sensors=("dark",))
    events_noisy, boxes, _, noisy, _ = _render_clip(small, "train", 0, 4)
    events_dark, boxes_dark, _, _, _ = _render_clip(dark, "train", 0, 4)
    assert noisy and len(events_dark) > 2 * len(events_noisy)
    np.testing.assert_array_equal(boxes, boxes_dark)  # the same scene
    both = dataclasses.replace(small, noisy_sensors=("noisy", "dark"))
    counts = {len(_render_clip(both, "train", i, 4)[0]) > 1.5 * len(_render_clip(small, "train", i, 4)[0])
              for i in range(6)}
    assert counts == {True, False}  # each clip draws one of the two
    assert small.data_key("train") == dataclasses.replace(small, noisy_sensors=("noisy",)).data_key("train")
    assert dark.data_key("train") != small.data_key("train")
    with pytest.raises(ValueError, match="unknown sensor 'darkest'"):
        dataclasses.replace(small, noisy_sensors=("darkest",))


def test_train_face_detector_takes_noisy_sensors_by_name():
    from neurova.cli import build_parser
    from neurova.face_detector_training import recipe_from_args

    args = build_parser().parse_args(["train-face-detector", "--noisy-sensors", "noisy", "davis346_dark",
                                      "--noise-floor-sd", "2"])
    recipe = recipe_from_args(args.seed, args.clips, args.epochs, args.noisy_sensors, args.noise_floor_sd)
    assert recipe.noisy_sensors == ("noisy", "davis346_dark") and recipe.noise_floor_sd == 2.0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-face-detector", "--noisy-sensors", "darkest"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-face-detector", "--noise-floor-sd", "-1"])


def test_training_windows_can_have_their_noise_floor_removed():
    """``noise_floor_sd`` renders each window as the learned detector sees it when it detects: under ``dark``
    noise the background's floor is gone, and the setting enters the data key only when it is set."""
    small = dataclasses.replace(FaceDetectorRecipe(seed=3), frames=6, sensor_sizes=((160, 120),), noisy_fraction=1.0,
                                negative_fraction=0.0, windows_per_clip=2, noisy_sensors=("dark",))
    floored = dataclasses.replace(small, noise_floor_sd=2.0)
    plain, removed = _clip_windows(small, "train", 0, False), _clip_windows(floored, "train", 0, False)
    np.testing.assert_array_equal(plain["boxes"], removed["boxes"])  # the same windows
    for image, image_floored in zip(plain["images"], removed["images"], strict=True):
        assert np.median(image) > 0 and np.median(image_floored) == 0
    assert floored.data_key("train") != small.data_key("train")
    assert dataclasses.replace(small, noise_floor_sd=None).data_key("train") == small.data_key("train")
