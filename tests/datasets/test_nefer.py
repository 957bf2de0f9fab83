"""NEFER: the published annotation CSVs (real files when present) and a generated miniature tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from neurova.datasets import NEFER, NEFER_CLASSES, read_nefer_csv
from neurova.datasets.nefer import NEFER_FRAMES_PER_CLIP, class_counts, frame_tail, nefer_csv_path
from neurova.errors import DatasetNotFoundError, NeurovaError, VideoFormatError
from tests.data.nefer.data import make_nefer
from tests.helpers.events import random_events
from tests.helpers.paths import SHARED_DATA

REAL = SHARED_DATA / "nefer_annotations"


@pytest.fixture(scope="module")
def nefer_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_nefer(tmp_path_factory.mktemp("nefer") / "NEFER")


# ------------------------------------------------------------------------------------ real CSVs


@pytest.fixture(scope="module")
def real() -> Path:
    if not REAL.is_dir():
        pytest.skip("the real NEFER annotations (../shared/data/nefer_annotations) are not here")
    return REAL


@pytest.mark.parametrize("modality", ["event", "rgb"])
@pytest.mark.parametrize("label_set", ["expected", "reported"])
def test_real_csv_counts(real: Path, label_set: str, modality: str) -> None:
    train = read_nefer_csv(nefer_csv_path(real, "train", label_set, modality))
    val = read_nefer_csv(nefer_csv_path(real, "validation", label_set, modality))
    assert len(train) == 420 and len(val) == 125
    assert sum(len(c.frame_tails) for c in train) == 21_420 and sum(len(c.frame_tails) for c in val) == 6_375
    assert {len(c.frame_tails) for c in train + val} == {NEFER_FRAMES_PER_CLIP}
    train_users, val_users = {c.user for c in train}, {c.user for c in val}
    assert len(train_users) == 20 and len(val_users) == 6 and not train_users & val_users
    assert all(len(set(c.labels.tolist())) == 1 for c in train + val)  # one label per clip


def test_real_class_counts(real: Path) -> None:
    expected_train = read_nefer_csv(nefer_csv_path(real, "train", "expected", "event"))
    assert class_counts(expected_train) == dict.fromkeys(NEFER_CLASSES[:7], 60)
    expected_val = read_nefer_csv(nefer_csv_path(real, "validation", "expected", "event"))
    assert class_counts(expected_val, per="frame") == {**dict.fromkeys(NEFER_CLASSES[:6], 918), "Surprise": 867}
    reported_train = read_nefer_csv(nefer_csv_path(real, "train", "reported", "event"))
    assert class_counts(reported_train, per="frame") == {
        "Anger": 1938, "Contempt": 2295, "Disgust": 2856, "Fear": 1428, "Happiness": 3366, "Sadness": 3723,
        "Surprise": 4437, "None": 1377,
    }
    reported_val = read_nefer_csv(nefer_csv_path(real, "validation", "reported", "rgb"))
    assert class_counts(reported_val)["None"] == 8  # 408 frames / 51


def test_real_prefixes_resolve_to_the_same_tail(real: Path) -> None:
    event = read_nefer_csv(nefer_csv_path(real, "validation", "expected", "event"))[0]
    gopro = read_nefer_csv(nefer_csv_path(real, "validation", "expected", "rgb"))[0]
    assert event.frame_tails[0] == f"{event.user}/{event.clip_id}/frame_00.png"
    assert gopro.frame_tails[-1] == f"{gopro.user}/{gopro.clip_id}/frame_50.png"
    np.testing.assert_array_equal(event.frame_indices, np.arange(51))


def test_frame_tail() -> None:
    for prefix in ("../event_frame_NEW/", "rgb_frames/", "../gopro_frame/", "", "/abs/olute/"):
        assert frame_tail(f"{prefix}user_03/GOPR0804/frame_07.png") == "user_03/GOPR0804/frame_07.png"
    with pytest.raises(ValueError):
        frame_tail("frame_07.png")


# ------------------------------------------------------------------------------------ miniature tree


def test_miniature_clip_mode_end_to_end(nefer_root: Path) -> None:
    ds = NEFER(nefer_root, "train", image_size=16)
    assert len(ds) == 4 and ds.users == ["user_01", "user_02"]
    sample = ds[0]
    assert sample["frames"].shape == (51, 1, 16, 16) and sample["frames"].dtype == torch.float32
    assert 0 <= float(sample["frames"].min()) and float(sample["frames"].max()) <= 1
    assert sample["va"].shape == (51, 2) and torch.isnan(sample["va"]).all()
    assert int(sample["label"]) == NEFER_CLASSES.index("Anger")
    assert sample["meta"]["subject"] == "user_01" and sample["meta"]["clip_id"].startswith("user01_")
    np.testing.assert_array_equal(sample["meta"]["frame_indices"].numpy(), np.arange(51))
    assert ds.input_contract.clip_length == 51 and ds.input_contract.channels == 1


def test_miniature_png_values_are_tbr_codes(nefer_root: Path) -> None:
    from neurova.image import read_image

    ds = NEFER(nefer_root, "validation", mode="frame", image_size=None)
    clip = ds.clips[0]
    raw = read_image(nefer_root / clip.frame_tails[0])[None]
    torch.testing.assert_close(ds[0]["frames"][0], torch.from_numpy(raw).float() / 255)
    assert len(ds) == 2 * 51


def test_miniature_windows_labels_and_rgb(nefer_root: Path) -> None:
    windows = NEFER(nefer_root, "val", clip_length=10, stride=20, image_size=8)
    assert len(windows) == 2 * 3 and windows[1]["frames"].shape == (10, 1, 8, 8)
    reported = NEFER(nefer_root, "validation", label_set="reported", image_size=8)
    assert int(reported[1]["label"]) == NEFER_CLASSES.index("None")
    rgb = NEFER(nefer_root, "train", modality="rgb", mode="frame", image_size=8)
    assert rgb[0]["frames"].shape == (1, 3, 8, 8) and rgb[0]["meta"]["clip_id"].startswith("GOPR")
    assert rgb.input_contract.channels == 3


def test_contract_as_one_value(nefer_root: Path) -> None:
    from neurova.contract import InputContract
    from neurova.errors import InputContractError

    contract = InputContract(image_size=16, clip_length=5, n_bits=8, face_crop=None)
    ds = NEFER(nefer_root, "validation", contract=contract)
    assert ds.input_contract == contract and ds[0]["frames"].shape == (5, 1, 16, 16)
    same = NEFER(nefer_root, "validation", image_size=16, clip_length=5)
    torch.testing.assert_close(same[7]["frames"], ds[7]["frames"])
    assert NEFER(nefer_root, "validation", mode="frame", image_size=None).input_contract.image_size == 32  # PNGs'
    rgb = NEFER(nefer_root, "validation", modality="rgb", contract=contract.replace(encoding="rgb"))
    assert rgb.input_contract.channels == 3 and rgb[0]["frames"].shape == (5, 3, 16, 16)
    with pytest.raises(InputContractError, match=r"not both \(got contract and image_size\)"):
        NEFER(nefer_root, "validation", contract=contract, image_size=32)
    with pytest.raises(InputContractError, match=r"encoding='voxel' \(NEFER's event frames have 'tbr'\)"):
        NEFER(nefer_root, "validation", contract=contract.replace(encoding="voxel"))
    with pytest.raises(InputContractError, match=r"encoding='tbr' \(NEFER's rgb frames have 'rgb'\)"):
        NEFER(nefer_root, "validation", modality="rgb", contract=contract)


def test_missing_frames_are_reported_and_skipped(nefer_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "NEFER"
    shutil.copytree(nefer_root, root)
    clips = read_nefer_csv(nefer_csv_path(root / "annotations", "train", "expected", "event"))
    (root / clips[1].frame_tails[17]).unlink()
    with pytest.warns(UserWarning, match=rf"1 of 4 clips have missing frames.*{clips[1].clip_id}"):
        ds = NEFER(root, "train")
    assert [c.clip_id for c in ds.clips] == [c.clip_id for c in clips if c is not clips[1]]


def test_unreadable_png_and_bad_csv_name_the_file(nefer_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "NEFER"
    shutil.copytree(nefer_root, root)
    ds = NEFER(root, "validation", mode="frame")
    bad = root / ds.clips[0].frame_tails[0]
    bad.write_bytes(b"garbage")
    with pytest.raises(VideoFormatError, match=str(bad.name)):
        ds[0]
    csv_path = nefer_csv_path(root / "annotations", "train", "expected", "event")
    csv_path.write_text("user_01,clip,../event_frame_NEW/user_01/clip/frame_00.png,Joy\n")
    with pytest.raises(NeurovaError, match=r"train_event\.csv.*line 1.*'Joy'"):
        read_nefer_csv(csv_path)
    csv_path.write_text("user_01,clip,frame_00.png\n")
    with pytest.raises(NeurovaError, match="4 fields"):
        read_nefer_csv(csv_path)


def test_no_frames_at_all_raises(tmp_path: Path) -> None:
    root = make_nefer(tmp_path / "NEFER", write_frames=False)
    with pytest.warns(UserWarning, match="4 of 4 clips"), pytest.raises(DatasetNotFoundError, match="no NEFER clip"):
        NEFER(root, "train")
    with pytest.raises(DatasetNotFoundError):
        NEFER(tmp_path / "absent")


def test_clip_from_a_recording_is_encoded_with_tbr(nefer_root: Path, tmp_path: Path) -> None:
    from neurova.io import write_events
    from neurova.transforms import Crop, ToTBR

    root = tmp_path / "NEFER"
    shutil.copytree(nefer_root, root)
    clip = read_nefer_csv(nefer_csv_path(root / "annotations", "validation", "expected", "event"))[1]
    shutil.rmtree(root / clip.user / clip.clip_id)
    events = random_events(5000, (40, 30), t0=1_000, span_us=51 * 40_000)
    write_events(tmp_path / "raw" / clip.user / f"{clip.clip_id}.h5", events, (40, 30))
    ds = NEFER(root, "validation", raw_dir=tmp_path / "raw", image_size=None, clip_length=5, stride=10)
    item = next(i for i, (c, start, _) in enumerate(ds.index) if ds.clips[c].clip_id == clip.clip_id and start == 10)
    sample = ds[item]
    ends = int(events["t"][0]) + 40_000 * np.arange(11, 16)
    expected = ToTBR((30, 30))(Crop(5, 0, 30, 30)(events), ends_us=ends)  # the centred square, as predict() uses
    torch.testing.assert_close(sample["frames"], torch.from_numpy(expected))
    assert sample["frames"].shape == (5, 1, 30, 30) and float(sample["frames"].sum()) > 0
    with pytest.raises(ValueError, match="modality='event'"):
        NEFER(root, "validation", modality="rgb", raw_dir=tmp_path / "raw")
    with pytest.raises(ValueError, match="modality='event'"):
        NEFER(root, "validation", modality="rgb", raise_threshold=2)
    with pytest.raises(ValueError, match="whole number >= 1"):
        NEFER(root, "validation", raw_dir=tmp_path / "raw", raise_threshold=0)


# ------------------------------------------------------------------------------------ face detection on recordings

SCENE_SENSOR = (320, 240)
SCENE_FRAMES = 20


@pytest.fixture(scope="module")
def scene_nefer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A NEFER root whose one validation clip (20 frames) is a simulated head-and-shoulders recording.

    Returns the root, the recording, its events and the true face box of each video frame.
    """
    from neurova.datasets.render import sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.io import write_events
    from neurova.simulator import simulate

    rng = np.random.default_rng(2)
    layout = sample_scene_layout(rng, SCENE_SENSOR)
    va = sample_va_trajectory(SCENE_FRAMES, rng)
    frames, true_boxes = render_scene_clip(sample_identity(rng), layout, va, rng=rng, supersample=1)
    events = simulate(frames * 255.0, np.arange(SCENE_FRAMES) * 40_000, preset="clean", seed=2)
    root = tmp_path_factory.mktemp("scene_nefer") / "NEFER"
    user, clip_id = "user_05", "user05_2022-06-09_10-00-00_cd"
    rows = [f"{user},{clip_id},../event_frame_NEW/{user}/{clip_id}/frame_{f:02d}.png,Happiness\n"
            for f in range(SCENE_FRAMES)]
    csv_path = nefer_csv_path(root / "annotations", "validation", "expected", "event")
    csv_path.parent.mkdir(parents=True)
    csv_path.write_text("".join(rows))
    recording = root.parent / "raw" / user / f"{clip_id}.h5"
    write_events(recording, events, SCENE_SENSOR)
    return root, recording, events, true_boxes


def scene_dataset(root: Path, **kwargs: object) -> NEFER:
    return NEFER(root, "validation", raw_dir=root.parent / "raw", clip_length=5, image_size=32, **kwargs)


def test_recording_samples_are_cropped_to_the_detected_face(scene_nefer) -> None:
    from neurova.faces import box_iou, centre_square
    from neurova.transforms import ToModelInput, box_sensor_starts

    root, _, events, true_boxes = scene_nefer
    ds = scene_dataset(root, detect_face="learned")
    assert len(ds) == SCENE_FRAMES - 5 + 1 and ds.input_contract.face_crop == "detector"
    t0 = int(events["t"][0])
    # each box's emulated sensor runs from the first window of its hold, as in predict
    ends = [t0 + ds.index[i][2] * 40_000 for i in range(len(ds))]
    history = ToModelInput(ds.input_contract, (0, 0, 1, 1), num_frames=5).history_us
    starts = box_sensor_starts(ends, [ds.sample_box(i) for i in range(len(ds))], history)
    assert len(np.unique(starts)) < len(starts)
    for i in (0, len(ds) // 2, len(ds) - 1):
        stop = ds.index[i][2]
        box = ds.sample_box(i)
        assert box != centre_square(SCENE_SENSOR)
        assert box_iou(box, true_boxes[min(stop, SCENE_FRAMES - 1)]) > 0.5  # the face of the sample's last frame
        expected = ToModelInput(ds.input_contract, box, num_frames=5)(events, ends[i], since_us=int(starts[i]))
        torch.testing.assert_close(ds[i]["frames"], torch.from_numpy(expected))
    plain = scene_dataset(root)
    assert plain.sample_box(0) == centre_square(SCENE_SENSOR) == (40, 0, 240, 240)
    expected = ToModelInput(plain.input_contract, (40, 0, 240, 240), num_frames=5)(events, t0 + 5 * 40_000)
    torch.testing.assert_close(plain[0]["frames"], torch.from_numpy(expected))
    assert plain.input_contract.face_crop is None


@pytest.mark.parametrize("raise_threshold", [None, 2])
def test_dataset_and_predict_use_the_same_face_boxes(scene_nefer, raise_threshold) -> None:
    """The same boxes and inputs as predict's, at the camera's thresholds or raised ones."""
    from neurova.contract import InputContract
    from neurova.faces import get_face_detector
    from neurova.inference import predict

    root, recording, _, _ = scene_nefer
    detector = get_face_detector("learned")
    ds = scene_dataset(root, detect_face=detector, raise_threshold=raise_threshold)

    class Mean(torch.nn.Module):
        input_contract = InputContract(n_bits=8, bin_us=5000, image_size=32, clip_length=5, frame_interval_us=40_000,
                                       polarity="merge", face_crop="detector")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(1, 2, 3, 4))[:, None].repeat(1, 2)

    prediction = predict(Mean(), recording, detect_face=detector, raise_threshold=raise_threshold)
    n = len(prediction)  # predict stops at the last event; the annotation's 20 frames end 2 frames later
    assert n == len(ds) - 2
    t0 = prediction.start_us
    np.testing.assert_array_equal(prediction.timestamps_us, [t0 + ds.index[i][2] * 40_000 for i in range(n)])
    np.testing.assert_array_equal(prediction.boxes, [ds.sample_box(i) for i in range(n)])
    np.testing.assert_allclose(prediction.valence, [float(ds[i]["frames"].mean()) for i in range(n)], rtol=1e-5)


def test_recording_without_a_face_warns_once_and_uses_the_centred_square(scene_nefer) -> None:
    from neurova.faces import NoFaceWarning

    root, recording, _, _ = scene_nefer
    calls: list[int] = []

    def nothing(window: np.ndarray, sensor_size: tuple[int, int]) -> None:
        calls.append(len(window))
        return None

    ds = scene_dataset(root, detect_face=nothing)
    with pytest.warns(NoFaceWarning, match=rf"{recording.name}: no face found at 16 of 16 .*fallback box "
                                           r"\(40, 0, 240, 240\)") as record:
        boxes = [ds.sample_box(i) for i in range(len(ds))]
        ds[3]
    assert len([w for w in record if issubclass(w.category, NoFaceWarning)]) == 1  # once per recording
    assert boxes == [(40, 0, 240, 240)] * len(ds)
    assert len(calls) == 3  # detections 250 ms apart (at 0, 280 and 560 ms of the 600 ms of sample ends): tracked once
    plain = scene_dataset(root)
    torch.testing.assert_close(ds[3]["frames"], plain[3]["frames"])


def test_detect_face_arguments_are_checked(scene_nefer, nefer_root: Path) -> None:
    root = scene_nefer[0]
    with pytest.raises(ValueError, match="needs image_size"):
        NEFER(root, "validation", raw_dir=root.parent / "raw", image_size=None, detect_face=True)
    with pytest.raises(ValueError, match="modality='event'"):
        NEFER(nefer_root, "validation", modality="rgb", detect_face=True)
    with pytest.raises(ValueError, match="unknown face detector"):
        NEFER(root, "validation", raw_dir=root.parent / "raw", detect_face="yolo")
    pngs = NEFER(nefer_root, "validation", detect_face="learned", image_size=8)
    assert pngs.sample_box(0) is None and pngs[0]["frames"].shape == (51, 1, 8, 8)  # PNGs cannot be re-cropped


def test_zero_shot_cli_passes_raw_dir_and_detect_face(scene_nefer, tmp_path: Path, monkeypatch) -> None:
    import json

    from neurova import faces
    from neurova.cli import main
    from neurova.models import create_model

    root = scene_nefer[0]
    contract = {"encoding": "tbr", "n_bits": 4, "bin_us": 5000, "channels": 1, "image_size": 16, "clip_length": 2,
                "frame_interval_us": 20_000, "face_crop": "detector"}
    create_model("resnet18", backbone="test_resnet", input_contract=contract).save_pretrained(tmp_path / "model")
    tracked: list[str] = []
    original = faces.track_face_boxes

    def spy(*args, detector, **kwargs):
        tracked.append(type(detector).__name__)
        return original(*args, detector=detector, **kwargs)

    monkeypatch.setattr(faces, "track_face_boxes", spy)
    out = tmp_path / "zs"
    argv = ["zero-shot", "--model", str(tmp_path / "model"), "--data", "nefer", "--root", str(root),
            "--raw-dir", str(root.parent / "raw"), "--plot-dir", str(out)]
    assert main([*argv, "--detect-face", "learned"]) == 0
    assert tracked == ["LearnedFaceDetector"]  # the one recording, tracked once
    assert json.loads((out / "zero_shot_report.json").read_text())["n_samples"] == 1  # one clip
    assert main(argv) == 0 and tracked == ["LearnedFaceDetector"]  # without --detect-face: the centred square
    with pytest.raises(SystemExit, match="nefer only"):
        main(["zero-shot", "--model", str(tmp_path / "model"), "--data", "synthetic", "--detect-face"])
