"""Tests of the synthetic head-and-shoulders scenes (``neurova.datasets.scenes``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurova.datasets.render import sample_identity, sample_va_trajectory
from neurova.datasets.scenes import FACE_BOX_SCALE, SceneLayout, face_box, render_scene_clip, sample_scene_layout


def _scene(seed: int, sensor: tuple[int, int], n: int = 4, **layout_kwargs):
    rng = np.random.default_rng(seed)
    identity = sample_identity(rng)
    layout = sample_scene_layout(rng, sensor, **layout_kwargs)
    va = sample_va_trajectory(n, rng)
    return identity, layout, va


def _quiet(layout: SceneLayout) -> SceneLayout:
    """The layout without hands, background motion or flicker."""
    return dataclasses.replace(layout, hands=(), pan=(0.0, 0.0), object_velocity=None, flicker=0.0)


def _crop(frame: np.ndarray, box: np.ndarray, n: int = 24) -> np.ndarray:
    """Nearest-neighbour resample of ``box`` ``[x0, y0, w, h]`` of ``frame`` to ``n x n``."""
    c = (np.arange(n) + 0.5) / n
    cols = np.clip((box[0] + c * box[2]).astype(int), 0, frame.shape[1] - 1)
    rows = np.clip((box[1] + c * box[3]).astype(int), 0, frame.shape[0] - 1)
    return frame[np.ix_(rows, cols)]


def test_face_box_definition() -> None:
    box = face_box(50.0, 40.0, 10.0)
    np.testing.assert_allclose(box, [50 - FACE_BOX_SCALE * 10, 40 - FACE_BOX_SCALE * 10, 2 * FACE_BOX_SCALE * 10,
                                     2 * FACE_BOX_SCALE * 10])
    boxes = face_box(np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([1.0, 2.0]))
    assert boxes.shape == (2, 4) and boxes.dtype == np.float64
    np.testing.assert_allclose(boxes[:, 0] + boxes[:, 2] / 2, [1.0, 2.0])
    np.testing.assert_allclose(boxes[:, 1] + boxes[:, 3] / 2, [3.0, 4.0])


@pytest.mark.parametrize("sensor", [(128, 96), (320, 240), (61, 47), (96, 128)])
def test_shapes_ranges_and_boxes_on_the_sensor(sensor: tuple[int, int]) -> None:
    identity, layout, va = _scene(0, sensor, n=3)
    frames, boxes = render_scene_clip(identity, layout, va, rng=0, supersample=1)
    assert frames.shape == (3, sensor[1], sensor[0]) and frames.dtype == np.float32
    assert 0.0 <= frames.min() and frames.max() <= 1.0 and frames.std() > 0.02
    assert boxes.shape == (3, 4) and boxes.dtype == np.float64
    side = boxes[:, 2] / sensor[1]
    assert ((side > 0.15) & (side < 0.7)).all()


def test_large_sensor() -> None:
    identity, layout, va = _scene(1, (1280, 720), n=2)
    frames, boxes = render_scene_clip(identity, layout, va, rng=1, supersample=1)
    assert frames.shape == (2, 720, 1280)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 1280).all()


def test_deterministic_from_seed() -> None:
    assert sample_scene_layout(3, (128, 96)) == sample_scene_layout(np.random.default_rng(3), (128, 96))
    assert sample_scene_layout(3, (128, 96)) != sample_scene_layout(4, (128, 96))
    identity, layout, va = _scene(2, (80, 60))
    a = render_scene_clip(identity, layout, va, rng=5)
    b = render_scene_clip(identity, layout, va, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], render_scene_clip(identity, layout, va, rng=6)[0])


def test_face_boxes_stay_on_the_sensor_across_layouts() -> None:
    for seed in range(12):
        sensor = ((128, 96), (64, 48), (80, 80))[seed % 3]
        identity, layout, _ = _scene(seed, sensor)
        assert 0.2 * sensor[1] - 1e-9 <= layout.face_size <= 0.6 * sensor[1] + 1e-9
        va = np.tile([[0.0, 1.0]], (50, 1))  # the most motion
        _, boxes = render_scene_clip(identity, layout, va, rng=seed, supersample=1)
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all(), seed
        assert (boxes[:, 0] + boxes[:, 2] <= sensor[0]).all() and (boxes[:, 1] + boxes[:, 3] <= sensor[1]).all(), seed
    centres = np.array([sample_scene_layout(s, (320, 240)).face_centre[1] for s in range(200)])
    assert np.mean(centres < 120) > 0.7  # mostly in the upper half


def test_face_box_follows_the_head() -> None:
    identity, layout, _ = _scene(7, (128, 96), hands_probability=0.0)
    layout = _quiet(layout)
    va = np.tile([[0.0, 1.0]], (40, 1))
    frames, boxes = render_scene_clip(identity, layout, va, rng=3, supersample=2)
    moved = np.abs(boxes[:, :2] - boxes[0, :2]).max(axis=1)
    k = int(np.argmax(moved))
    assert moved[k] > 1.5  # the head moved by more than a pixel and a half
    tracked = np.abs(_crop(frames[k], boxes[k]) - _crop(frames[0], boxes[0])).mean()
    fixed = np.abs(_crop(frames[k], boxes[0]) - _crop(frames[0], boxes[0])).mean()
    assert tracked < 0.8 * fixed


def test_arousal_increases_motion_in_the_face_box() -> None:
    change = {}
    for arousal in (-0.8, 0.8):
        diffs = []
        for seed in range(3):
            identity, layout, _ = _scene(seed, (96, 72), hands_probability=0.0)
            va = np.tile([[0.0, arousal]], (25, 1))
            frames, boxes = render_scene_clip(identity, _quiet(layout), va, rng=seed, supersample=1)
            x0, y0, w, h = boxes[0].astype(int)
            face = frames[:, y0 : y0 + h, x0 : x0 + w]
            diffs.append(float(np.abs(np.diff(face, axis=0)).mean()))
        change[arousal] = np.mean(diffs)
        assert min(diffs) > 0.002  # a calm face still moves
    assert change[0.8] > 1.5 * change[-0.8]


def test_skin_and_hair_have_texture() -> None:
    """Fine texture inside the face: high-frequency energy drops when the textures are switched off."""
    identity, layout, va = _scene(4, (160, 120), n=1, hands_probability=0.0)
    layout = _quiet(layout)
    flat = dataclasses.replace(identity, skin_texture=0.0, hair_texture=0.0)
    textured, boxes = render_scene_clip(identity, layout, va, rng=0)
    plain, _ = render_scene_clip(flat, layout, va, rng=0)
    x0, y0, w, h = boxes[0]
    inner = (slice(int(y0 + 0.3 * h), int(y0 + 0.7 * h)), slice(int(x0 + 0.3 * w), int(x0 + 0.7 * w)))

    def high_freq(image: np.ndarray) -> float:
        lap = 4 * image[1:-1, 1:-1] - image[:-2, 1:-1] - image[2:, 1:-1] - image[1:-1, :-2] - image[1:-1, 2:]
        return float(np.median(np.abs(lap)))  # the median ignores the features' few sharp edges

    assert high_freq(textured[0][inner]) > 2 * high_freq(plain[0][inner])


def test_hands_move_and_leave_the_face_centre_visible() -> None:
    shown = 0
    for seed in range(8):
        identity, layout, va = _scene(seed, (96, 72), n=6, hands_probability=1.0)
        assert 1 <= len(layout.hands) <= 2
        with_hands, boxes = render_scene_clip(identity, layout, va, rng=seed, supersample=1)
        without, _ = render_scene_clip(identity, dataclasses.replace(layout, hands=()), va, rng=seed, supersample=1)
        differs = np.abs(with_hands - without) > 1e-4
        shown += int(differs.any())
        for frame in range(len(va)):
            x0, y0, w, h = boxes[frame]
            centre = differs[frame, int(y0 + 0.35 * h) : int(y0 + 0.65 * h), int(x0 + 0.35 * w) : int(x0 + 0.65 * w)]
            assert centre.mean() < 0.2, (seed, frame)
    assert shown >= 6
    assert all(not sample_scene_layout(s, (96, 72), hands_probability=0.0).hands for s in range(10))


def test_background_motion_options() -> None:
    identity, layout, va = _scene(5, (96, 72), n=10, hands_probability=0.0)
    still = _quiet(layout)
    panning = dataclasses.replace(still, pan=(40.0, 10.0))
    crossing = dataclasses.replace(still, object_velocity=(60.0, 0.0), object_size=(15.0, 20.0))

    def background_change(scene: SceneLayout) -> float:
        frames, boxes = render_scene_clip(identity, scene, va, rng=0, supersample=1)
        mask = np.ones(frames.shape[1:], dtype=bool)
        x0, w = boxes[0, 0], boxes[0, 2]
        mask[:, max(int(x0 - w), 0) : int(x0 + 2 * w)] = False  # away from the person
        return float(np.abs(np.diff(frames, axis=0))[:, mask].mean())

    base = background_change(still)
    assert background_change(panning) > 3 * base
    assert background_change(crossing) > 1.5 * base
    moving = [sample_scene_layout(s, (96, 72), moving_background_probability=1.0) for s in range(10)]
    assert all(m.pan != (0.0, 0.0) or m.object_velocity is not None for m in moving)


def test_clothing_patterns_all_render() -> None:
    identity, layout, va = _scene(6, (96, 72), n=1, hands_probability=0.0)
    images = []
    for pattern in ("plain", "stripes", "checks", "print"):
        clothing = dataclasses.replace(layout.clothing, pattern=pattern, contrast=0.5, period=0.25)
        images.append(render_scene_clip(identity, dataclasses.replace(_quiet(layout), clothing=clothing), va, rng=0)[0])
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert not np.array_equal(images[i], images[j]), (i, j)
    with pytest.raises(ValueError, match="pattern"):
        dataclasses.replace(layout.clothing, pattern="tartan")


def test_bad_inputs() -> None:
    identity, layout, va = _scene(0, (64, 48))
    with pytest.raises(ValueError, match="shape"):
        render_scene_clip(identity, layout, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        render_scene_clip(identity, layout, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="supersample"):
        render_scene_clip(identity, layout, va, supersample=0)
    with pytest.raises(ValueError, match="face_fraction"):
        sample_scene_layout(0, (64, 48), face_fraction=(0.5, 0.2))
    with pytest.raises(ValueError, match="sensor_size"):
        sample_scene_layout(0, (4, 48))
    assert render_scene_clip(identity, layout, np.zeros((0, 2)))[0].shape == (0, 48, 64)
