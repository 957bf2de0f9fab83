"""benchmarks/bench_photo_face.py's ground truth: the true box it moves with the photo is where the face is."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neurova.faces import HaarEventDetector, box_iou, detect_face
from tests.helpers.benchmarks import load_benchmark

pytest.importorskip("cv2")
pytest.importorskip("matplotlib")
bench = load_benchmark("bench_photo_face")


@pytest.mark.parametrize("motion", ["head", "camera"])
def test_the_animated_true_box_follows_the_face_in_the_frames(motion: str) -> None:
    """The Haar cascade on the rendered frames themselves (intensity, not events), mapped like the true box,
    finds the face where :func:`animate` says it is, on every frame, for both kinds of motion."""
    photo = bench.load_portrait()
    assert photo.shape == (600, 512) and photo.dtype == np.uint8
    box = bench.true_face_box(photo)
    frames, boxes = bench.animate(photo, box, (346, 260), 12, motion, np.random.default_rng(3))
    assert frames.shape == (12, 260, 346) and boxes.shape == (12, 4)
    assert np.ptp(boxes[:, 0]) > 1  # the head does move
    mapping = HaarEventDetector()
    for frame, truth in zip(frames, boxes):
        x, y, w, h = detect_face(frame)
        side = mapping.box_scale * w
        centre = np.array([x + w / 2, y + h / 2 + mapping.box_shift * h])
        assert box_iou(np.r_[centre - side / 2, side, side], truth) > 0.75
    np.testing.assert_allclose(boxes[:, 2] / (bench.FACE_FRACTION * 260), 1, atol=0.15)  # the scale's wobble


def test_score_gives_the_learned_detector_the_noise_floor_setting(monkeypatch) -> None:
    """``--noise-floor-sd`` reaches the learned detector that :func:`score` compares, not the cascade (as in "auto")."""
    made, real = [], bench.get_face_detector

    def fake_detector(name, **kwargs):
        made.append((name, kwargs))
        return real(name, **kwargs)

    monkeypatch.setattr(bench, "get_face_detector", fake_detector)
    photo = bench.load_portrait()
    frames, boxes = bench.animate(photo, bench.true_face_box(photo), (346, 260), 6, "head", np.random.default_rng(0))
    events = bench.simulate(frames, (np.arange(6) * 40_000).astype(np.int64), preset="clean", seed=0)
    result = bench.score(events, bench.SensorSize(346, 260), boxes, noise_floor_sd=None)
    assert made == [("learned", {"noise_floor_sd": None}), ("haar", {})]
    assert set(result) == {"learned", "haar", "auto", "learned + tracker", "auto + tracker"}
    assert bench._noise_floor_sd("none") is None and bench._noise_floor_sd("1.5") == 1.5
    for bad in ("-1", "x"):
        with pytest.raises(bench.argparse.ArgumentTypeError):
            bench._noise_floor_sd(bad)


def test_tracking_reports_each_interval_with_its_detections(capsys) -> None:
    """``--only-tracking``: one row per motion and size, a cell per interval; the shorter interval runs more
    detections (counted on the detector itself)."""
    photo = bench.load_portrait()
    bench.tracking(photo, bench.true_face_box(photo), 1.2, 0, ((160, 120),), (500.0, 200.0))
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("head", "camera"))]
    assert len(rows) == 2
    for row in rows:
        detections = [int(n) for n in re.findall(r"% /\s+(\d+)", row)]  # "IoU / share % / detections" per interval
        assert len(detections) == 2 and detections[0] < detections[1]
