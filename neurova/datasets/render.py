"""Procedural grayscale faces whose expression follows valence and arousal.

The embedded default dataset of neurova (:mod:`neurova.datasets.synthetic`)
renders clips with this module, simulates them to events and encodes them with
TBR. Pure numpy, vectorised, deterministic from a seed.

What drives what
----------------
* **valence** bends the mouth (corners up = smile, down = frown), widens it a
  little when positive, and slants the brows (inner ends pulled down when
  negative, slightly up when positive);
* **arousal** opens the eyes and the mouth, raises the brows, makes blinks more
  frequent, and makes the head move faster and further and the jaw move more
  (talking-like motion). Low arousal still moves a little, so that every edge
  keeps firing events and the shape of the face stays visible in event data;
* **identity** (:class:`FaceIdentity`, one per subject) fixes everything else:
  face shape, size and position, skin, hair and clothing tones, hairline, eye
  spacing, glasses, and a static background texture;
* per clip, a random but smooth head motion, blinks, saccades, jaw motion and
  a slow global lighting drift are derived from the valence-arousal trajectory
  and the clip's random generator.

Drawing uses signed distance functions evaluated on a grid supersampled
``supersample`` times in each direction, converted to anti-aliased coverage and
box-filtered down, so sub-pixel motion gives sub-pixel intensity changes, as a
real camera would see them.

Coordinates: image coordinates ``(X, Y)`` span ``[-1, 1]`` from the left/top
edge to the right/bottom edge (``Y`` points down). Face coordinates ``(u, v)``
are centred on the face, rotated with the head, in units of the face's half
height (the face ellipse is ``(u / aspect)^2 + v^2 = 1``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLOTHING_PATTERNS",
    "Clothing",
    "FaceIdentity",
    "HeadPose",
    "Lighting",
    "clothing_tone",
    "emotion_trajectory",
    "render_background",
    "render_clip",
    "render_face",
    "sample_clothing",
    "sample_identity",
    "sample_va_trajectory",
    "value_noise",
]

_EPS = 1e-6
_DISC_RADIUS = 0.98


@dataclass(frozen=True)
class FaceIdentity:
    """Every per-subject parameter of a synthetic face.

    Lengths are in face units (the face's half height) unless stated; tones are
    linear intensities in ``[0, 1]``.

    Attributes:
        aspect: half width / half height of the face ellipse.
        scale: face half height as a fraction of the image half size.
        center: ``(X, Y)`` rest position of the face centre in image coordinates.
        skin: skin tone.
        hair: hair tone (``hairline <= -1`` means bald).
        hairline: height of the hairline at the face's centre line (negative = up).
        hair_curve: how far the hairline drops towards the temples.
        hair_tilt: slope of the hairline (a side parting).
        hair_length: lowest point of the hair behind the face (``v``).
        hair_volume: size of the hair mass around the head relative to the face.
        eye_spacing: horizontal distance of each eye from the centre line.
        eye_height: vertical position of the eyes.
        eye_size: half width of an eye.
        iris: iris tone.
        brow_height: rest height of the brows above the eyes.
        brow_thickness: half thickness of the brows at their inner end.
        brow_tone: brow tone.
        nose_length: vertical position of the nostrils.
        mouth_height: vertical position of the mouth.
        mouth_width: half width of the mouth at rest.
        lip_tone: lip tone.
        glasses: whether the subject wears glasses.
        glasses_tone: frame tone of the glasses.
        clothing: what the shoulders wear (:class:`Clothing`).
        background_seed: seed of the static background texture.
        background_mean: mean background tone.
        background_contrast: amplitude of the background texture.
        texture_seed: seed of the skin and hair textures.
        skin_texture: relative amplitude of the skin's pores and blotches.
        hair_texture: relative amplitude of the hair's strands and locks.
    """

    aspect: float
    scale: float
    center: tuple[float, float]
    skin: float
    hair: float
    hairline: float
    hair_curve: float
    hair_tilt: float
    hair_length: float
    hair_volume: float
    eye_spacing: float
    eye_height: float
    eye_size: float
    iris: float
    brow_height: float
    brow_thickness: float
    brow_tone: float
    nose_length: float
    mouth_height: float
    mouth_width: float
    lip_tone: float
    glasses: bool
    glasses_tone: float
    clothing: Clothing
    background_seed: int
    background_mean: float
    background_contrast: float
    texture_seed: int = 0
    skin_texture: float = 0.0
    hair_texture: float = 0.0


@dataclass(frozen=True)
class HeadPose:
    """Head pose of one frame, relative to the identity's rest position.

    Attributes:
        dx, dy: translation in image coordinates (the image spans 2 units).
        roll: in-plane rotation, radians (positive turns the face clockwise on screen).
        yaw: left-right turn, roughly radians; shifts the inner features sideways.
        pitch: up-down nod, roughly radians; shifts the inner features vertically.
        scale: multiplicative size change (moving towards or away from the camera).
    """

    dx: float = 0.0
    dy: float = 0.0
    roll: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class Lighting:
    """Global illumination of one frame: ``gain * (1 + gx * X + gy * Y)`` multiplies the image."""

    gain: float = 1.0
    gradient: tuple[float, float] = (0.0, 0.0)


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def sample_identity(rng: np.random.Generator | int | None = None) -> FaceIdentity:
    """Draw a random subject.

    Args:
        rng: a numpy ``Generator`` or a seed.

    Returns:
        A :class:`FaceIdentity`; the same seed always gives the same subject.
    """
    rng = np.random.default_rng(rng)
    skin = _uniform(rng, 0.42, 0.78)
    # Hair far enough from the skin tone to make the hairline an edge.
    dark_hair = rng.random() < 0.75
    hair = _uniform(rng, 0.05, max(0.08, skin - 0.25)) if dark_hair else _uniform(rng, min(0.95, skin + 0.15), 0.95)
    bald = rng.random() < 0.1
    background_mean = _uniform(rng, 0.2, 0.8)
    return FaceIdentity(
        aspect=_uniform(rng, 0.68, 0.84),
        scale=_uniform(rng, 0.66, 0.78),
        center=(_uniform(rng, -0.06, 0.06), _uniform(rng, -0.1, 0.0)),
        skin=skin,
        hair=hair,
        hairline=-1.5 if bald else _uniform(rng, -0.62, -0.4),
        hair_curve=_uniform(rng, 0.1, 0.45),
        hair_tilt=_uniform(rng, -0.15, 0.15),
        hair_length=-1.5 if bald else _uniform(rng, -0.1, 0.9),
        hair_volume=_uniform(rng, 1.04, 1.16),
        eye_spacing=_uniform(rng, 0.29, 0.37),
        eye_height=_uniform(rng, -0.2, -0.1),
        eye_size=_uniform(rng, 0.13, 0.16),
        iris=_uniform(rng, 0.08, 0.35),
        brow_height=_uniform(rng, 0.15, 0.2),
        brow_thickness=_uniform(rng, 0.035, 0.05),
        brow_tone=min(hair, skin * 0.4) if not bald else skin * 0.35,
        nose_length=_uniform(rng, 0.2, 0.28),
        mouth_height=_uniform(rng, 0.48, 0.56),
        mouth_width=_uniform(rng, 0.3, 0.37),
        lip_tone=skin * _uniform(rng, 0.45, 0.62),
        glasses=bool(rng.random() < 0.3),
        glasses_tone=_uniform(rng, 0.03, 0.2),
        clothing=sample_clothing(rng),
        background_seed=int(rng.integers(0, 2**31 - 1)),
        background_mean=background_mean,
        background_contrast=_uniform(rng, 0.05, 0.18),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        skin_texture=_uniform(rng, 0.14, 0.26),
        hair_texture=_uniform(rng, 0.35, 0.6),
    )


# ----------------------------------------------------------------------------- trajectories


def _squash_to_disc(xy: np.ndarray, radius: float = _DISC_RADIUS, knee: float = 0.8) -> np.ndarray:
    """Map points radially into the disc of ``radius``: identity below ``knee``, smooth (C1) tanh roll-off above."""
    r = np.linalg.norm(xy, axis=-1, keepdims=True)
    span = radius - knee
    squashed = np.where(r > knee, knee + span * np.tanh((r - knee) / span), r)
    return xy * (squashed / np.maximum(r, _EPS))


def _check_length(n_frames: int, fps: float) -> None:
    if int(n_frames) != n_frames or n_frames < 0:
        raise ValueError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")


def _check_trajectory(va: np.ndarray, fps: float) -> np.ndarray:
    """``va`` as a float64 ``(T, 2)`` array of finite values; raises ``ValueError`` otherwise or for ``fps <= 0``."""
    va = np.asarray(va, dtype=np.float64)
    if va.ndim != 2 or va.shape[1] != 2:
        raise ValueError(f"va must have shape (T, 2), got {va.shape}")
    if not np.isfinite(va).all():
        raise ValueError("va contains NaN or infinite values")
    _check_length(len(va), fps)
    return va


def sample_va_trajectory(
    n_frames: int,
    rng: np.random.Generator | int | None = None,
    *,
    fps: float = 25.0,
    smoothness_s: float = 2.0,
) -> np.ndarray:
    """A smooth random valence-arousal trajectory inside the unit disc.

    A random centre (uniform over a disc of radius 0.8) plus, per dimension,
    three sinusoids with periods between ``2 * smoothness_s`` and ``6 * smoothness_s``
    seconds, squashed radially into the disc of radius 0.98.

    Args:
        n_frames: number of frames ``T``.
        rng: a numpy ``Generator`` or a seed.
        fps: frame rate, frames per second.
        smoothness_s: time scale of the changes in seconds (larger = slower).

    Returns:
        ``(T, 2)`` float32 array of (valence, arousal) per frame.
    """
    _check_length(n_frames, fps)
    if not smoothness_s > 0:
        raise ValueError(f"smoothness_s must be positive, got {smoothness_s!r}")
    rng = np.random.default_rng(rng)
    t = np.arange(n_frames, dtype=np.float64)[:, None, None] / fps
    angle, radius = rng.uniform(0, 2 * np.pi), 0.8 * math.sqrt(rng.random())
    centre = radius * np.array([math.cos(angle), math.sin(angle)])
    periods = rng.uniform(2.0, 6.0, size=(3, 2)) * smoothness_s
    amplitudes = rng.dirichlet(np.ones(3), size=2).T * rng.uniform(0.2, 0.45, size=2)
    phases = rng.uniform(0, 2 * np.pi, size=(3, 2))
    wander = (amplitudes * np.sin(2 * np.pi * t / periods + phases)).sum(axis=1)
    return _squash_to_disc(centre + wander).astype(np.float32)


def emotion_trajectory(
    valence: float,
    arousal: float,
    n_frames: int,
    rng: np.random.Generator | int | None = None,
    jitter: float = 0.05,
    *,
    fps: float = 25.0,
    time_constant_s: float = 1.0,
) -> np.ndarray:
    """A trajectory held near one valence-arousal point, e.g. a named emotion of :data:`neurova.emotions.EKMAN7`.

    An Ornstein-Uhlenbeck process around ``(valence, arousal)`` with stationary
    standard deviation ``jitter`` and correlation time ``time_constant_s``,
    started at its stationary distribution and squashed into the disc of radius 0.98
    (points within 0.93 of the origin are kept as they are).

    Returns:
        ``(T, 2)`` float32 array of (valence, arousal) per frame.
    """
    _check_length(n_frames, fps)
    if jitter < 0:
        raise ValueError(f"jitter must be non-negative, got {jitter!r}")
    rng = np.random.default_rng(rng)
    decay = math.exp(-1.0 / (fps * time_constant_s))
    noise = rng.standard_normal((n_frames, 2)) * jitter * math.sqrt(1 - decay**2)
    offset = np.empty((n_frames, 2))
    state = rng.standard_normal(2) * jitter
    for i in range(n_frames):
        offset[i] = state
        state = decay * state + noise[i]
    # A late knee keeps every EKMAN7 point (radius < 0.9) where it is.
    return _squash_to_disc(np.array([valence, arousal]) + offset, knee=0.93).astype(np.float32)


# ----------------------------------------------------------------------------- drawing primitives


def _coverage(distance: np.ndarray, pixel: float) -> np.ndarray:
    """Anti-aliased coverage of a shape from its signed distance (negative inside), one pixel wide ramp."""
    return np.clip(0.5 - distance / pixel, 0.0, 1.0)


def _paint(image: np.ndarray, alpha: np.ndarray, tone: float | np.ndarray) -> None:
    """Composite ``tone`` over ``image`` with opacity ``alpha``, in place."""
    image += (tone - image) * alpha


def _ellipse_sdf(u: np.ndarray, v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Approximate signed distance to the ellipse of half axes ``a``, ``b`` centred at the origin."""
    k0 = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    k1 = np.sqrt((u / (a * a)) ** 2 + (v / (b * b)) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, _EPS)


def _curve_distance(u: np.ndarray, v: np.ndarray, y: np.ndarray, slope: np.ndarray, uc: np.ndarray) -> np.ndarray:
    """Approximate distance to a curve segment ``v = y(u)``.

    ``uc`` is ``u`` clipped to the segment's extent, ``y`` and ``slope`` (``dy/du``)
    are evaluated at ``uc``; beyond the ends the distance grows with ``u - uc``.
    """
    dv = (v - y) / np.sqrt(1.0 + slope * slope)
    du = u - uc
    return np.sqrt(dv * dv + du * du)


def _box_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return image
    h, w = image.shape
    return image.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def _image_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(X, Y)`` in ``[-1, 1]`` of an ``n x n`` grid, each ``(n, n)`` float32."""
    c = ((np.arange(n, dtype=np.float32) + 0.5) / n) * 2.0 - 1.0
    return np.meshgrid(c, c, indexing="xy")


def render_background(identity: FaceIdentity, size: int, *, supersample: int = 2) -> np.ndarray:
    """The identity's static background texture at the supersampled resolution.

    Smooth blobs and stripes drawn from ``identity.background_seed``.

    Returns:
        ``(size * supersample, size * supersample)`` float32 intensities in ``[0, 1]``.
    """
    rng = np.random.default_rng(identity.background_seed)
    x, y = _image_grid(size * supersample)
    texture = np.zeros_like(x)
    for _ in range(10):
        cx, cy = rng.uniform(-1.2, 1.2, size=2)
        sigma = rng.uniform(0.08, 0.5)
        texture += rng.uniform(-1, 1) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma))
    for _ in range(2):
        theta, freq, phase = rng.uniform(0, np.pi), rng.uniform(1.0, 4.0), rng.uniform(0, 2 * np.pi)
        texture += 0.5 * np.sin(freq * np.pi * (x * math.cos(theta) + y * math.sin(theta)) + phase)
    texture /= max(float(np.abs(texture).max()), _EPS)
    return np.clip(identity.background_mean + identity.background_contrast * texture, 0.03, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- textures


_LATTICE = 256  # period of the value-noise lattice, in cells


@functools.lru_cache(maxsize=64)
def _lattice(seed: int) -> np.ndarray:
    """The random values of the value-noise lattice of ``seed``: ``(_LATTICE + 1, _LATTICE + 1)`` float32, wrapped."""
    table = np.random.default_rng(seed & 0x7FFFFFFF).random((_LATTICE, _LATTICE), dtype=np.float32)
    return np.pad(table, ((0, 1), (0, 1)), mode="wrap")


def value_noise(u: np.ndarray, v: np.ndarray, cell: float | tuple[float, float], seed: int) -> np.ndarray:
    """Smooth value noise in ``[-1, 1]`` at the points ``(u, v)``: random values on a lattice, interpolated.

    The lattice spacing is ``cell`` (or ``(cell_u, cell_v)`` for elongated grain such as hair
    strands) in the units of ``u`` and ``v``; values are blended with a smoothstep, so the
    noise is continuous and a sub-pixel shift of the coordinates changes it by a sub-pixel amount.
    The lattice repeats every 256 cells.

    Returns:
        float32 array of the broadcast shape of ``u`` and ``v``.
    """
    cu, cv = (cell, cell) if isinstance(cell, (int, float)) else cell
    gu, gv = np.asarray(u, dtype=np.float32) / np.float32(cu), np.asarray(v, dtype=np.float32) / np.float32(cv)
    iu, iv = np.floor(gu), np.floor(gv)
    fu, fv = gu - iu, gv - iv
    fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    # the four corners by flat index into the wrapped lattice: one index array, four ``take``s (1.6-2.8x two-index
    # gathers, the same values)
    at = (iv.astype(np.intp) & (_LATTICE - 1)) * (_LATTICE + 1) + (iu.astype(np.intp) & (_LATTICE - 1))
    table = _lattice(seed).reshape(-1)
    a, b = table.take(at), table.take(at + 1)
    at += _LATTICE + 1
    c, d = table.take(at), table.take(at + 1)
    top, bottom = a + (b - a) * fu, c + (d - c) * fu
    return 2.0 * (top + (bottom - top) * fv) - 1.0


def _skin_shade(identity: FaceIdentity, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Multiplicative skin texture at face coordinates: pores at ~1/20 and blotches at ~1/6 of the face half height."""
    fine = value_noise(u, v, 0.05, identity.texture_seed)
    blotch = value_noise(u, v, 0.17, identity.texture_seed + 1)
    return 1.0 + identity.skin_texture * (0.65 * fine + 0.35 * blotch)


def _hair_shade(identity: FaceIdentity, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Multiplicative hair texture: thin strands running down the head (gently waved), and locks."""
    wave = 0.06 * np.sin(3.0 * v + 2.0 * u)
    strands = value_noise(u + wave, v, (0.022, 0.35), identity.texture_seed + 2)
    locks = value_noise(u + wave, v, (0.12, 0.5), identity.texture_seed + 3)
    return 1.0 + identity.hair_texture * (0.7 * strands + 0.3 * locks)


CLOTHING_PATTERNS = ("plain", "stripes", "checks", "print")
"""Printed patterns of :class:`Clothing`."""


@dataclass(frozen=True)
class Clothing:
    """What the torso wears: a base tone, a printed pattern and the fabric's grain.

    Lengths are in face units (the face's half height), in body coordinates (centred
    below the face, moving with the torso); tones are linear intensities in ``[0, 1]``.

    Attributes:
        tone: base tone.
        pattern: one of :data:`CLOTHING_PATTERNS`: ``"plain"`` (grain only), ``"stripes"``,
            ``"checks"``, ``"print"`` (a logo and rows of text-like glyphs on the chest).
        contrast: relative amplitude of the pattern (the pattern's tones are ``tone * (1 ± contrast)``).
        period: stripe or check period, or glyph height of a print.
        angle: stripe orientation in radians (0 = vertical stripes).
        grain: relative amplitude of the fabric's fine noise.
        seed: seed of the grain and of the print's glyphs.
    """

    tone: float
    pattern: str = "plain"
    contrast: float = 0.0
    period: float = 0.3
    angle: float = 0.0
    grain: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pattern not in CLOTHING_PATTERNS:
            raise ValueError(f"pattern must be one of {CLOTHING_PATTERNS}, got {self.pattern!r}")
        if not self.period > 0:
            raise ValueError(f"period must be positive, got {self.period!r}")


def sample_clothing(rng: np.random.Generator | int | None = None) -> Clothing:
    """Draw random clothing (each pattern about equally likely).

    Args:
        rng: a numpy ``Generator`` or a seed.
    """
    rng = np.random.default_rng(rng)
    pattern = CLOTHING_PATTERNS[int(rng.integers(len(CLOTHING_PATTERNS)))]
    return Clothing(
        tone=_uniform(rng, 0.1, 0.85),
        pattern=pattern,
        contrast=0.0 if pattern == "plain" else _uniform(rng, 0.25, 0.7),
        period=_uniform(rng, 0.12, 0.45) if pattern != "print" else _uniform(rng, 0.08, 0.14),
        angle=float(rng.choice([0.0, np.pi / 2, rng.uniform(-0.8, 0.8)])),
        grain=_uniform(rng, 0.03, 0.12),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def _square_wave(phase: np.ndarray, pixel: float) -> np.ndarray:
    """An anti-aliased square wave in ``[-1, 1]`` of ``phase`` (unit period); ``pixel``: one pixel in periods."""
    return np.clip(np.sin(2 * np.pi * phase) / max(2 * np.pi * pixel, _EPS), -1.0, 1.0)


def clothing_tone(clothing: Clothing, us: np.ndarray, vs: np.ndarray, pixel: float) -> np.ndarray:
    """The tone of the clothing at body coordinates ``(us, vs)`` (face units, ``vs`` down).

    Args:
        clothing: the garment.
        us, vs: body coordinates; the chest (where a print sits) is around ``vs = 2.6``.
        pixel: one canvas pixel in face units (anti-aliasing of the pattern's edges).

    Returns:
        float32 tones of the broadcast shape of ``us`` and ``vs``.
    """
    c = clothing
    cos_a, sin_a = math.cos(c.angle), math.sin(c.angle)
    across = (us * cos_a + vs * sin_a) / c.period
    pattern: np.ndarray | float = 0.0
    if c.pattern == "stripes":
        pattern = _square_wave(across, pixel / c.period)
    elif c.pattern == "checks":
        along = (-us * sin_a + vs * cos_a) / c.period
        pattern = _square_wave(across, pixel / c.period) * _square_wave(along, pixel / c.period)
    elif c.pattern == "print":
        # Rows of glyphs: each cell of a grid on the chest holds an ink rectangle or not.
        gw, gh = 0.7 * c.period, c.period
        gu, gv = us / gw, (vs - 2.15) / (1.4 * gh)
        iu, iv = np.floor(gu), np.floor(gv)
        ink = _lattice(c.seed)[iv.astype(np.intp) & (_LATTICE - 1), iu.astype(np.intp) & (_LATTICE - 1)] < 0.6
        inside = np.maximum(np.abs(gu - iu - 0.5) * gw - 0.32 * gw, np.abs(gv - iv - 0.5) * 1.4 * gh - 0.4 * gh)
        text_area = np.maximum(np.abs(us) - 0.55, np.abs(vs - 2.45) - 0.18)
        glyphs = _coverage(inside, pixel) * _coverage(text_area, pixel) * ink
        logo = _coverage(np.abs(np.hypot(us + 0.1, vs - 2.95) - 0.16) - 0.045, pixel)
        pattern = 2.0 * np.maximum(glyphs, logo) - 1.0
    grain = value_noise(us, vs, 0.04, c.seed + 1)
    tone = c.tone * (1.0 + c.contrast * pattern) * (1.0 + c.grain * grain)
    return np.clip(tone, 0.02, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- one face


def _expression(valence: float, arousal: float) -> dict[str, float]:
    """Map (valence, arousal) to the shape parameters of the face, in face units."""
    a01 = 0.5 * (arousal + 1.0)
    return {
        # Positive = corners up (smile).
        "mouth_curve": 0.22 * valence,
        "mouth_widen": 1.0 + 0.12 * valence,
        "mouth_open": 0.16 * max(0.0, arousal + 0.1) / 1.1,
        # Positive = inner brow ends lower than the outer ends (frown).
        "brow_slant": 0.12 * -valence if valence < 0 else 0.05 * -valence,
        "brow_raise": 0.09 * arousal,
        "eye_open": 0.3 + 0.7 * a01,
        # Opacity of the wrinkles that come with the expression.
        "smile_lines": 0.8 * max(0.0, valence),
        "frown_lines": 0.8 * max(0.0, -valence),
        "forehead_lines": 0.6 * max(0.0, arousal),
    }


def _draw_body(
    image: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    pixel: float,
    identity: FaceIdentity,
    clothing: Clothing,
    *,
    head: tuple[float, float],
    body: tuple[float, float],
    s: float,
    roll: float,
) -> None:
    """Paint the neck and the clothed torso, in place.

    Args:
        image, x, y: the canvas and its pixel-centre coordinates (any unit, views of one window).
        pixel: one canvas pixel in the units of ``x`` and ``y``.
        identity: the subject (skin tone and texture, face aspect).
        clothing: what the torso wears.
        head: face centre ``(x, y)``; the neck turns with the head's ``roll``.
        body: the torso's reference point ``(x, y)`` (the face's rest centre plus the body's motion);
            the shoulders' top sits 1.2 face half heights below it.
        s: the face half height in the units of ``x`` and ``y``.
    """
    px = pixel / s
    cos_r, sin_r = math.cos(roll), math.sin(roll)
    xr, yr = (x - head[0]) / s, (y - head[1]) / s
    u = cos_r * xr + sin_r * yr
    v = -sin_r * xr + cos_r * yr
    neck_shade = 0.75 * _skin_shade(identity, u, v)
    _paint(image, _coverage(np.abs(u) - 0.42 * identity.aspect, px) * _coverage(0.3 - v, px), identity.skin * neck_shade)
    # Shoulders: an ellipse whose lower half is continued by a straight torso down to the frame's edge.
    us, vs = (x - body[0]) / s, (y - body[1]) / s
    shoulders = _ellipse_sdf(us, vs - 2.05, 1.9, 0.85)
    torso = np.maximum(np.abs(us) - 1.9, 2.05 - vs)
    cover = _coverage(np.minimum(shoulders, torso), px)
    _paint(image, cover, clothing_tone(clothing, us, vs, px))


def _draw_head(
    image: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    pixel: float,
    identity: FaceIdentity,
    valence: float,
    arousal: float,
    *,
    centre: tuple[float, float],
    s: float,
    pose: HeadPose,
    eyelid: float,
    jaw: float,
    gaze: tuple[float, float],
) -> None:
    """Paint the hair, ears, face and every facial feature, in place.

    Args:
        image, x, y: the canvas and its pixel-centre coordinates (any unit, views of one window).
        pixel: one canvas pixel in the units of ``x`` and ``y``.
        identity: the subject; its ``center`` and ``scale`` are not used (``centre`` and ``s`` are).
        valence, arousal: the expression, each in ``[-1, 1]`` (clipped).
        centre: the face centre ``(x, y)``.
        s: the face half height in the units of ``x`` and ``y``.
        pose: only ``roll``, ``yaw`` and ``pitch`` are used (translation and size are in ``centre`` and ``s``).
        eyelid, jaw, gaze: see :func:`render_face`.
    """
    ex = _expression(float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1)))
    px = pixel / s  # one canvas pixel in face units
    cx, cy = centre
    cos_r, sin_r = math.cos(pose.roll), math.sin(pose.roll)
    xr, yr = (x - cx) / s, (y - cy) / s
    u = cos_r * xr + sin_r * yr
    v = -sin_r * xr + cos_r * yr
    # Inner features sit in front of the face ellipse: yaw and pitch shift them (the nose more).
    shift_u, shift_v = 0.35 * math.sin(pose.yaw), 0.3 * math.sin(pose.pitch)
    uf, vf = u - shift_u, v - shift_v
    au = np.abs(uf)
    skin, aspect = identity.skin, identity.aspect
    mouth_open = ex["mouth_open"] + 0.12 * float(np.clip(jaw, 0, 1))
    # Surface textures are fixed to the head (face coordinates), so they move with it and fire events.
    skin_shade = _skin_shade(identity, u, v)
    hair_shade = _hair_shade(identity, u, v)

    # Hair behind the head.
    hv = identity.hair_volume
    back = np.maximum(_ellipse_sdf(u, v + 0.06, aspect * hv + 0.04, hv), v - identity.hair_length)
    _paint(image, _coverage(back, px), identity.hair * hair_shade)

    # Ears, then the face; the jaw drops with the mouth.
    ear = _ellipse_sdf(np.abs(u + 0.5 * shift_u) - aspect * 0.97, v - identity.eye_height - 0.12, 0.1, 0.19)
    _paint(image, _coverage(ear, px), skin * 0.85 * skin_shade)
    v_face = np.where(v > 0, v / (1.0 + 0.5 * mouth_open), v)
    face = _ellipse_sdf(u, v_face, aspect, 1.0)
    r2 = np.minimum((u / aspect) ** 2 + v_face**2, 1.0)
    _paint(image, _coverage(face, px), skin * (1.0 - 0.22 * r2) * skin_shade)

    # Forehead lines, stronger the more the brows are raised (arousal); hair may cover them.
    if ex["forehead_lines"] > 0:
        for k in range(2):
            line_v = identity.eye_height - identity.brow_height - 0.14 - 0.07 * k + 0.02 * (uf / aspect) ** 2
            line = _curve_distance(uf, vf, line_v, 0.04 * uf / aspect**2, np.clip(uf, -0.3, 0.3))
            _paint(image, _coverage(line - 0.008, px) * ex["forehead_lines"], skin * 0.7)

    # Front hair above the hairline.
    if identity.hairline > -1.0:
        hairline = identity.hairline + identity.hair_curve * (u / aspect) ** 2 + identity.hair_tilt * u
        front = np.maximum(face, v - hairline)
        _paint(image, _coverage(front, px), identity.hair * hair_shade)

    # Brows: both sides at once through |u|; t = -1 at the inner end, +1 at the outer end.
    half_len = 0.15
    t = np.clip((au - identity.eye_spacing) / half_len, -1.0, 1.0)
    arch, slant = 0.04, ex["brow_slant"]
    base = identity.eye_height - identity.brow_height - ex["brow_raise"]
    brow_y = base - arch * (1 - t * t) + slant * -t
    brow_slope = (2 * arch * t - slant) / half_len
    uc = identity.eye_spacing + t * half_len
    d = _curve_distance(au, vf, brow_y, brow_slope, uc)
    thickness = identity.brow_thickness * (1.0 - 0.4 * (t + 1) / 2)
    _paint(image, _coverage(d - thickness, px), identity.brow_tone)

    # Eyes: sclera, iris clipped to the eye, upper lid line.
    ew = identity.eye_size
    eh = max(ew * 0.55 * ex["eye_open"] * float(np.clip(eyelid, 0, 1)), 1e-3)
    eu, ev = au - identity.eye_spacing, vf - identity.eye_height
    eye = _ellipse_sdf(eu, ev, ew, eh)
    eye_cov = _coverage(eye, px)
    _paint(image, eye_cov, 0.88)
    gx, gy = float(np.clip(gaze[0], -1, 1)), float(np.clip(gaze[1], -1, 1))
    iris_u = uf - np.sign(uf) * identity.eye_spacing - gx * 0.35 * ew  # signed per side, same gaze for both
    iris = np.sqrt(iris_u**2 + (ev - gy * 0.2 * ew) ** 2) - 0.5 * ew
    _paint(image, _coverage(iris, px) * eye_cov, identity.iris)
    _paint(image, _coverage(iris + 0.28 * ew, px) * eye_cov, 0.03)
    tl = np.clip(eu / ew, -0.97, 0.97)
    lid_y = identity.eye_height - eh * np.sqrt(1 - tl * tl)
    lid_slope = eh * tl / (ew * np.sqrt(1 - tl * tl))
    lid = _curve_distance(au, vf, lid_y, lid_slope, identity.eye_spacing + tl * ew)
    _paint(image, _coverage(lid - 0.022, px), identity.brow_tone * 0.8)

    # Nose: a shaded side line and two nostrils; it protrudes, so it shifts more with the pose.
    un, vn = u - 1.5 * shift_u, v - 1.5 * shift_v
    nose_top = identity.eye_height + 0.08
    tn = np.clip((vn - nose_top) / (identity.nose_length - nose_top), 0.0, 1.0)
    side = _curve_distance(
        vn, un, 0.06 + 0.04 * tn, np.full_like(tn, 0.04), nose_top + tn * (identity.nose_length - nose_top)
    )
    _paint(image, _coverage(side - 0.015, px) * 0.45, skin * 0.55)
    nostril = _ellipse_sdf(np.abs(un) - 0.065, vn - identity.nose_length, 0.04, 0.022)
    _paint(image, _coverage(nostril, px), skin * 0.4)

    # Mouth: lips, cavity with upper teeth, the seam between the lips.
    w = identity.mouth_width * ex["mouth_widen"]
    tm = np.clip(uf / w, -1.0, 1.0)
    curve = ex["mouth_curve"]

    # Expression lines: nasolabial folds deepen with a smile, vertical lines between the brows with a frown.
    if ex["smile_lines"] > 0:
        v0, v1 = identity.nose_length - 0.04, identity.mouth_height - 2.0 / 3.0 * curve + 0.03
        u0, u1 = 0.13, w + 0.05
        sv = np.clip((vf - v0) / (v1 - v0), 0.0, 1.0)
        fold_u = u0 + (u1 - u0) * sv + 0.04 * np.sin(np.pi * sv)
        fold_slope = ((u1 - u0) + 0.04 * np.pi * np.cos(np.pi * sv)) / (v1 - v0)
        fold = _curve_distance(vf, au, fold_u, fold_slope, v0 + sv * (v1 - v0))
        _paint(image, _coverage(fold - 0.012, px) * ex["smile_lines"], skin * 0.6)
    if ex["frown_lines"] > 0:
        v1 = identity.eye_height - 0.02
        v0 = v1 - 0.12
        glabella = _curve_distance(vf, au, np.full_like(au, 0.045), np.zeros_like(au), np.clip(vf, v0, v1))
        _paint(image, _coverage(glabella - 0.01, px) * ex["frown_lines"], skin * 0.6)

    mid = identity.mouth_height + curve * (1.0 / 3.0 - tm * tm)
    mid_slope = -2 * curve * tm / w
    gap = np.sqrt(1.0 - tm * tm)
    upper, lower = mid - 0.3 * mouth_open * gap, mid + 0.7 * mouth_open * gap
    lips = np.maximum(np.maximum(upper - 0.05 * gap - vf, vf - lower - 0.065 * gap), np.abs(uf) - w)
    _paint(image, _coverage(lips, px), identity.lip_tone)
    if mouth_open > 0:
        cavity = np.maximum(np.maximum(upper - vf, vf - lower), np.abs(uf) - 0.97 * w)
        _paint(image, _coverage(cavity, px), 0.06)
        teeth = np.maximum(cavity, vf - upper - 0.045 * gap)
        _paint(image, _coverage(teeth, px), 0.8)
    seam = _curve_distance(uf, vf, mid, mid_slope, tm * w)
    _paint(image, _coverage(seam - 0.014, px), identity.lip_tone * 0.35)

    # Glasses: rims, tinted lenses, bridge and temples.
    if identity.glasses:
        radius = ew * 1.55
        ring = np.sqrt(eu**2 + ev**2) - radius
        _paint(image, _coverage(ring, px) * 0.15, 0.0)
        _paint(image, _coverage(np.abs(ring) - 0.018, px), identity.glasses_tone)
        inner, outer = identity.eye_spacing - radius, identity.eye_spacing + radius
        bridge_u = np.clip(au, 0.0, inner)
        bridge = _curve_distance(au, vf, identity.eye_height - 0.03, np.zeros_like(au), bridge_u)
        temple_u = np.clip(au, outer, aspect * 0.98)
        temple = _curve_distance(au, vf, identity.eye_height - 0.05, np.zeros_like(au), temple_u)
        _paint(image, _coverage(np.minimum(bridge, temple) - 0.016, px), identity.glasses_tone)



def render_face(
    identity: FaceIdentity,
    valence: float,
    arousal: float,
    pose: HeadPose = HeadPose(),
    *,
    size: int = 64,
    lighting: Lighting = Lighting(),
    eyelid: float = 1.0,
    jaw: float = 0.0,
    gaze: tuple[float, float] = (0.0, 0.0),
    background: np.ndarray | None = None,
    supersample: int = 2,
) -> np.ndarray:
    """Render one face.

    Args:
        identity: the subject.
        valence, arousal: the expression, each in ``[-1, 1]``.
        pose: head pose relative to the identity's rest position.
        size: output side in pixels.
        lighting: global illumination.
        eyelid: 1 = eyes open as the arousal says, 0 = closed (a blink).
        jaw: extra mouth opening from talking, in ``[0, 1]``.
        gaze: iris offset ``(x, y)`` as a fraction of the eye size, each in ``[-1, 1]``.
        background: the static background from :func:`render_background` (computed when ``None``).
        supersample: supersampling factor per direction used for anti-aliasing.

    Returns:
        ``(size, size)`` float32 intensities in ``[0, 1]``.
    """
    if size < 1 or supersample < 1:
        raise ValueError(f"size and supersample must be positive, got size={size}, supersample={supersample}")
    n = size * supersample
    if background is None:
        background = render_background(identity, size, supersample=supersample)
    elif background.shape != (n, n):
        raise ValueError(f"background must have shape {(n, n)}, got {background.shape}")
    x, y = _image_grid(n)
    image = background.astype(np.float32, copy=True)
    s = identity.scale * pose.scale
    cx, cy = identity.center[0] + pose.dx, identity.center[1] + pose.dy
    # The shoulders follow the head's translation only halfway.
    body = (identity.center[0] + 0.5 * pose.dx, identity.center[1] + 0.5 * pose.dy)
    _draw_body(image, x, y, 2.0 / n, identity, identity.clothing, head=(cx, cy), body=body, s=s, roll=pose.roll)
    _draw_head(image, x, y, 2.0 / n, identity, valence, arousal, centre=(cx, cy), s=s, pose=pose, eyelid=eyelid,
               jaw=jaw, gaze=gaze)
    image *= lighting.gain * (1.0 + lighting.gradient[0] * x + lighting.gradient[1] * y)
    return np.clip(_box_downsample(image, supersample), 0.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- clips


@dataclass(frozen=True)
class _Motion:
    """Per-frame animation of a clip: one entry per frame."""

    poses: list[HeadPose]
    lighting: list[Lighting]
    eyelid: np.ndarray
    jaw: np.ndarray
    gaze: np.ndarray


def _oscillation(rng: np.random.Generator, speed: np.ndarray, dt: float, n_waves: int = 4) -> np.ndarray:
    """A sum of sinusoids of unit RMS whose phase advances ``speed`` times faster than nominal (``(T,)``)."""
    freqs = rng.uniform(0.25, 0.9, size=n_waves)  # Hz at speed 1
    weights = rng.dirichlet(np.ones(n_waves))
    phases = rng.uniform(0, 2 * np.pi, size=n_waves)
    progress = np.concatenate([[0.0], np.cumsum(speed[:-1])]) * dt  # seconds of nominal time
    waves = np.sin(2 * np.pi * freqs[None] * progress[:, None] + phases[None])
    return (waves * weights).sum(axis=1) / math.sqrt(float((weights**2).sum()) / 2)


def _events_in_time(rng: np.random.Generator, rate: np.ndarray, dt: float) -> np.ndarray:
    """Times (s) of an inhomogeneous Poisson process with per-frame ``rate`` (1/s), by thinning."""
    duration = len(rate) * dt
    peak = float(rate.max(initial=0.0))
    if duration <= 0 or peak <= 0:
        return np.zeros(0)
    candidates = np.sort(rng.uniform(0, duration, size=rng.poisson(peak * duration)))
    keep = rng.random(len(candidates)) < rate[np.minimum((candidates / dt).astype(int), len(rate) - 1)] / peak
    return candidates[keep]


def _animate(va: np.ndarray, rng: np.random.Generator, fps: float) -> _Motion:
    """Derive head motion, blinks, saccades, jaw motion and lighting from the VA trajectory."""
    n = len(va)
    dt = 1.0 / fps
    t = np.arange(n) * dt
    a01 = 0.5 * (np.clip(va[:, 1], -1, 1) + 1.0)
    speed = 0.9 + 1.1 * a01  # how fast the head moves
    amp = 0.8 + 0.7 * a01  # how far it moves
    pose = {
        name: amp * scale * _oscillation(rng, speed, dt)
        for name, scale in (("dx", 0.05), ("dy", 0.035), ("roll", 0.07), ("yaw", 0.2), ("pitch", 0.15), ("scale", 0.03))
    }
    poses = [
        HeadPose(
            dx=float(pose["dx"][i]),
            dy=float(pose["dy"][i]),
            roll=float(pose["roll"][i]),
            yaw=float(pose["yaw"][i]),
            pitch=float(pose["pitch"][i]),
            scale=float(1.0 + pose["scale"][i]),
        )
        for i in range(n)
    ]

    # Blinks: 0.15-0.25 s closures, 0.2-0.8 per second depending on arousal.
    eyelid = np.ones(n)
    for onset in _events_in_time(rng, 0.2 + 0.6 * a01, dt):
        duration = rng.uniform(0.15, 0.25)
        phase = np.clip((t - onset) / duration, 0.0, 1.0)
        eyelid = np.minimum(eyelid, 1.0 - np.sin(np.pi * phase) ** 2)

    # Saccades: the gaze jumps to a new target, 0.3-1.5 per second, moving there in 50 ms.
    jumps = _events_in_time(rng, 0.3 + 1.2 * a01, dt)
    targets = rng.uniform(-0.7, 0.7, size=(len(jumps) + 1, 2))
    k = np.searchsorted(jumps, t, side="right")  # index of the current target
    since = t - np.concatenate([[-np.inf], jumps])[k]
    frac = np.clip(since / 0.05, 0.0, 1.0)[:, None]
    gaze = targets[np.maximum(k - 1, 0)] + (targets[k] - targets[np.maximum(k - 1, 0)]) * frac

    # Talking-like jaw motion at 2.5-4.5 Hz, on and off, larger with arousal.
    syllables = np.sin(2 * np.pi * rng.uniform(2.5, 4.5) * t + rng.uniform(0, 2 * np.pi))
    talking = np.clip(0.5 + 1.5 * np.sin(2 * np.pi * t / rng.uniform(3.0, 6.0) + rng.uniform(0, 2 * np.pi)), 0, 1)
    jaw = (0.3 + 0.7 * a01) * talking * 0.5 * (1.0 + syllables)

    # Slow global lighting drift.
    period, phase = rng.uniform(6.0, 15.0), rng.uniform(0, 2 * np.pi)
    gain = 1.0 + rng.uniform(0.02, 0.08) * np.sin(2 * np.pi * t / period + phase)
    theta = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.3, 0.3) * t
    strength = rng.uniform(0.0, 0.15)
    lighting = [
        Lighting(
            gain=float(gain[i]), gradient=(float(strength * math.cos(theta[i])), float(strength * math.sin(theta[i])))
        )
        for i in range(n)
    ]
    return _Motion(poses=poses, lighting=lighting, eyelid=eyelid, jaw=jaw, gaze=gaze)


def render_clip(
    identity: FaceIdentity,
    va: np.ndarray,
    *,
    size: int = 64,
    fps: float = 25.0,
    rng: np.random.Generator | int | None = None,
    supersample: int = 2,
) -> np.ndarray:
    """Render a clip whose expression follows a valence-arousal trajectory.

    Head motion, blinks, saccades, talking-like jaw motion and lighting drift are
    derived from ``va`` (arousal sets their speed and size) and ``rng``; motion is
    defined in seconds, so rendering the same trajectory at a higher ``fps``
    samples the same motion more densely.

    Args:
        identity: the subject, from :func:`sample_identity`.
        va: ``(T, 2)`` valence and arousal per frame, in ``[-1, 1]`` (clipped).
        size: output side in pixels.
        fps: frame rate of ``va`` and of the clip, frames per second.
        rng: a numpy ``Generator`` or a seed for the clip's motion.
        supersample: supersampling factor per direction used for anti-aliasing.

    Returns:
        ``(T, size, size)`` uint8 grayscale frames.
    """
    va = _check_trajectory(va, fps)
    rng = np.random.default_rng(rng)
    motion = _animate(va, rng, fps)
    background = render_background(identity, size, supersample=supersample)
    clip = np.empty((len(va), size, size), dtype=np.uint8)
    for i, (valence, arousal) in enumerate(va):
        frame = render_face(
            identity,
            float(valence),
            float(arousal),
            motion.poses[i],
            size=size,
            lighting=motion.lighting[i],
            eyelid=float(motion.eyelid[i]),
            jaw=float(motion.jaw[i]),
            gaze=(float(motion.gaze[i, 0]), float(motion.gaze[i, 1])),
            background=background,
            supersample=supersample,
        )
        clip[i] = np.rint(frame * 255.0)
    return clip
