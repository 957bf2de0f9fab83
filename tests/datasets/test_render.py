"""Tests of the synthetic face renderer (``neurova.datasets.render``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurova.datasets.render import (
    CLOTHING_PATTERNS,
    Clothing,
    FaceIdentity,
    HeadPose,
    Lighting,
    clothing_tone,
    emotion_trajectory,
    render_background,
    render_clip,
    render_face,
    sample_clothing,
    sample_identity,
    sample_va_trajectory,
    value_noise,
)
from neurova.emotions import EKMAN7


def _mouth_rows(identity: FaceIdentity, image: np.ndarray, size: int) -> tuple[float, float]:
    """Row of the darkest pixel (the lips' seam) at the mouth's centre column and at its corners' columns."""
    half = size / 2
    s = identity.scale
    cx, cy = identity.center
    col = lambda u: round((cx + s * u + 1) * half - 0.5)  # noqa: E731
    row0 = int((cy + s * (identity.mouth_height - 0.3) + 1) * half)
    row1 = int((cy + s * (identity.mouth_height + 0.3) + 1) * half)
    band = image[row0:row1]
    centre = float(np.argmin(band[:, col(0.0)]))
    corners = [float(np.argmin(band[:, col(sign * 0.8 * identity.mouth_width)])) for sign in (-1, 1)]
    return centre, float(np.mean(corners))


def test_identity_is_deterministic_and_varies() -> None:
    assert sample_identity(3) == sample_identity(3)
    identities = [sample_identity(seed) for seed in range(8)]
    assert len(set(identities)) == 8
    for field in ("aspect", "scale", "skin", "eye_spacing", "mouth_width"):
        values = [getattr(identity, field) for identity in identities]
        assert np.std(values) > 0, field
    glasses = {sample_identity(seed).glasses for seed in range(30)}
    assert glasses == {True, False}
    faces = [render_face(identity, 0.0, 0.0, size=32) for identity in identities[:3]]
    assert np.abs(faces[0] - faces[1]).mean() > 0.02
    assert np.abs(faces[1] - faces[2]).mean() > 0.02


def test_identity_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample_identity(0).skin = 0.5  # type: ignore[misc]


def test_render_face_shape_dtype_range() -> None:
    identity = sample_identity(0)
    face = render_face(identity, 0.3, -0.2, HeadPose(roll=0.1, yaw=0.2), size=33, lighting=Lighting(1.1, (0.1, 0.0)))
    assert face.shape == (33, 33)
    assert face.dtype == np.float32
    assert 0.0 <= face.min() and face.max() <= 1.0
    background = render_background(identity, 33, supersample=3)
    assert background.shape == (99, 99)
    same = render_face(identity, 0.3, -0.2, HeadPose(roll=0.1, yaw=0.2), size=33, lighting=Lighting(1.1, (0.1, 0.0)))
    np.testing.assert_array_equal(face, same)
    with pytest.raises(ValueError, match="background"):
        render_face(identity, 0.0, 0.0, size=32, background=background)


def test_render_clip_shape_dtype_and_determinism() -> None:
    identity = sample_identity(1)
    va = sample_va_trajectory(12, 0)
    clip = render_clip(identity, va, size=40, rng=5)
    assert clip.shape == (12, 40, 40)
    assert clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, render_clip(identity, va, size=40, rng=np.random.default_rng(5)))
    assert not np.array_equal(clip, render_clip(identity, va, size=40, rng=6))
    assert render_clip(identity, np.zeros((0, 2)), size=16, rng=0).shape == (0, 16, 16)


def test_render_clip_rejects_bad_trajectories() -> None:
    identity = sample_identity(0)
    with pytest.raises(ValueError, match="shape"):
        render_clip(identity, np.zeros((5, 3)), size=16)
    with pytest.raises(ValueError, match="NaN"):
        render_clip(identity, np.full((5, 2), np.nan), size=16)
    with pytest.raises(ValueError, match="fps"):
        render_clip(identity, np.zeros((5, 2)), size=16, fps=0.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_valence_bends_the_mouth(seed: int) -> None:
    identity = sample_identity(seed)
    size = 128
    smile = render_face(identity, 0.9, -0.9, size=size)
    frown = render_face(identity, -0.9, -0.9, size=size)
    centre, corners = _mouth_rows(identity, smile, size)
    assert corners < centre - 1  # corners above the centre
    centre, corners = _mouth_rows(identity, frown, size)
    assert corners > centre + 1  # corners below the centre


def test_arousal_opens_eyes_and_mouth() -> None:
    identity = sample_identity(4)
    calm = render_face(identity, 0.0, -0.9, size=64)
    excited = render_face(identity, 0.0, 0.9, size=64)
    blink = render_face(identity, 0.0, 0.9, size=64, eyelid=0.0)
    # Open eyes show bright sclera and a dark mouth cavity: more extreme pixels in the face.
    assert (excited > 0.8).sum() > (calm > 0.8).sum()
    assert (excited < 0.1).sum() > (calm < 0.1).sum()
    assert (blink > 0.8).sum() < (excited > 0.8).sum()


def test_arousal_increases_frame_to_frame_change() -> None:
    changes = {}
    for arousal in (-0.8, 0.8):
        va = np.tile([[0.0, arousal]], (25, 1))
        diffs = [
            np.abs(np.diff(render_clip(sample_identity(seed), va, size=32, rng=seed).astype(np.float32), axis=0)).mean()
            for seed in range(4)
        ]
        changes[arousal] = float(np.mean(diffs))
        assert min(diffs) > 0.05  # never a frozen face, even when calm
    assert changes[0.8] > 1.5 * changes[-0.8]


def test_va_trajectory_stays_in_disc_and_is_smooth() -> None:
    for seed in range(20):
        va = sample_va_trajectory(250, seed)
        assert va.shape == (250, 2)
        assert va.dtype == np.float32
        assert np.linalg.norm(va, axis=1).max() <= 0.98 + 1e-6
        assert np.abs(np.diff(va, axis=0)).max() < 0.05
    np.testing.assert_array_equal(sample_va_trajectory(30, 7), sample_va_trajectory(30, 7))
    slow = sample_va_trajectory(250, 1, smoothness_s=8.0)
    fast = sample_va_trajectory(250, 1, smoothness_s=0.5)
    assert np.abs(np.diff(slow, axis=0)).mean() < np.abs(np.diff(fast, axis=0)).mean()
    assert sample_va_trajectory(0, 0).shape == (0, 2)
    with pytest.raises(ValueError):
        sample_va_trajectory(10, 0, smoothness_s=0.0)


def test_va_trajectories_cover_the_disc() -> None:
    points = np.concatenate([sample_va_trajectory(50, seed) for seed in range(100)])
    quadrants = {(bool(v > 0), bool(a > 0)) for v, a in points}
    assert len(quadrants) == 4
    assert points.std(axis=0).min() > 0.3


@pytest.mark.parametrize("name", sorted(EKMAN7))
def test_emotion_trajectory_holds_near_the_emotion(name: str) -> None:
    valence, arousal = EKMAN7[name]
    va = emotion_trajectory(valence, arousal, 100, np.random.default_rng(0), jitter=0.05)
    assert va.shape == (100, 2)
    assert va.dtype == np.float32
    assert np.linalg.norm(va, axis=1).max() <= 0.98 + 1e-6
    np.testing.assert_allclose(va.mean(axis=0), [valence, arousal], atol=0.08)
    assert 0.0 < va.std(axis=0).max() < 0.12
    np.testing.assert_array_equal(va, emotion_trajectory(valence, arousal, 100, 0, jitter=0.05))
    held = emotion_trajectory(valence, arousal, 10, 0, jitter=0.0)
    np.testing.assert_allclose(held, np.tile([[valence, arousal]], (10, 1)), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    n_frames=st.integers(0, 300),
    fps=st.floats(1.0, 240.0),
    smoothness_s=st.floats(0.05, 20.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_va_trajectory_is_always_inside_the_disc(n_frames: int, fps: float, smoothness_s: float, seed: int) -> None:
    va = sample_va_trajectory(n_frames, seed, fps=fps, smoothness_s=smoothness_s)
    assert va.shape == (n_frames, 2)
    assert np.isfinite(va).all()
    assert (np.linalg.norm(va, axis=1) <= 0.98 + 1e-6).all()


def test_value_noise_is_smooth_bounded_and_seeded() -> None:
    u, v = np.meshgrid(np.linspace(0, 20, 200, dtype=np.float32), np.linspace(0, 20, 200, dtype=np.float32))
    noise = value_noise(u, v, 1.0, 3)
    assert noise.shape == (200, 200) and noise.dtype == np.float32
    assert -1.0 <= noise.min() < -0.5 and 0.5 < noise.max() <= 1.0
    np.testing.assert_array_equal(noise, value_noise(u, v, 1.0, 3))
    assert not np.array_equal(noise, value_noise(u, v, 1.0, 4))
    # continuous: neighbours 0.1 cell apart differ by at most what the smoothstep's slope allows
    assert np.abs(np.diff(noise, axis=1)).max() < 0.35
    elongated = value_noise(u, v, (0.5, 5.0), 3)  # strands: fine across u, coarse along v
    assert np.abs(np.diff(elongated, axis=1)).mean() > 3 * np.abs(np.diff(elongated, axis=0)).mean()


def test_skin_and_hair_texture_fire_inside_the_face() -> None:
    """Real faces fire on texture, not only on outlines: fine texture inside the face, not just edges."""
    identity = sample_identity(5)
    flat = dataclasses.replace(identity, skin_texture=0.0, hair_texture=0.0)
    size = 96

    def high_freq(image: np.ndarray) -> float:
        lap = 4 * image[1:-1, 1:-1] - image[:-2, 1:-1] - image[2:, 1:-1] - image[1:-1, :-2] - image[1:-1, 2:]
        return float(np.median(np.abs(lap)))

    cheek = (slice(size // 2, size // 2 + 10), slice(size // 2 - 20, size // 2 - 10))
    textured = render_face(identity, 0.0, 0.0, size=size)
    plain = render_face(flat, 0.0, 0.0, size=size)
    assert high_freq(textured[cheek]) > 3 * high_freq(plain[cheek])
    # the texture is fixed to the face: a one-pixel head shift changes the log intensity of many cheek pixels
    def log_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
        return np.abs(np.log(after + 1e-3) - np.log(before + 1e-3))[cheek]

    shift = HeadPose(dx=2.0 / size)
    assert (log_change(textured, render_face(identity, 0.0, 0.0, shift, size=size)) > 0.02).mean() > 0.25
    assert (log_change(plain, render_face(flat, 0.0, 0.0, shift, size=size)) > 0.02).mean() < 0.05


def test_clothing_patterns() -> None:
    us, vs = np.meshgrid(np.linspace(-1.5, 1.5, 120, dtype=np.float32), np.linspace(1.5, 3.5, 80, dtype=np.float32))
    tones = {}
    for pattern in CLOTHING_PATTERNS:
        clothing = Clothing(tone=0.5, pattern=pattern, contrast=0.5, period=0.2, grain=0.05, seed=1)
        tones[pattern] = clothing_tone(clothing, us, vs, 3.0 / 120)
        assert tones[pattern].shape == us.shape and tones[pattern].dtype == np.float32
        assert 0.0 < tones[pattern].min() and tones[pattern].max() <= 1.0
    assert tones["plain"].std() < 0.05 < tones["stripes"].std()
    assert tones["checks"].std() > 0.05 and tones["print"].std() > 0.02
    drawn = {sample_clothing(seed).pattern for seed in range(40)}
    assert drawn == set(CLOTHING_PATTERNS)
    with pytest.raises(ValueError, match="period"):
        Clothing(tone=0.5, period=0.0)
