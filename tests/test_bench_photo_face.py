"""benchmarks/bench_photo_face.py's ground truth: the true box it moves with the photo is where the face is."""

from __future__ import annotations

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
