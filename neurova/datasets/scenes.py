"""Synthetic head-and-shoulders scenes on a whole sensor, with the true face box of every frame.

A scene puts the face of :mod:`neurova.datasets.render` (same expression drivers,
same head motion) on a neck and a clothed torso, in front of a textured background
that may pan or have an object moving across it, with zero to two hands moving near
the face or in front of the body and a flickering, drifting global light, on a
sensor of any size (``(W, H)``, e.g. 128 x 96 to 1280 x 720). It is what the
synthetic dataset renders and what an event-based face detector trains on.

Pure numpy, vectorised, deterministic from a seed. Everything is drawn with
render.py's helpers (signed distances, anti-aliased coverage, value-noise textures
fixed to the moving surfaces); each shape is evaluated only inside its bounding
window, so a small face on a large sensor costs little more than the sensor's size.

The face box
------------
:func:`face_box` is the one definition of the true face box, used for training
detectors and for cropping training samples: the square centred on the centre of
the face ellipse (roughly the top of the nose) whose side is :data:`FACE_BOX_SCALE`
(1.25) times the face's forehead-to-chin height (twice the face half height, the
mouth closed). It holds the face, the ears and the hairline with a margin; it
follows the head's translation and its size changes (the head moving towards or
away from the camera), not its rotation.

Coordinates: sensor pixels, ``x`` to the right and ``y`` down, pixel ``(i, j)``
covering ``[j, j + 1) x [i, i + 1)`` (its centre at ``(j + 0.5, i + 0.5)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurova.datasets.render import (
    Clothing,
    FaceIdentity,
    HeadPose,
    _animate,
    _box_downsample,
    _check_trajectory,
    _coverage,
    _draw_body,
    _draw_head,
    _ellipse_sdf,
    _oscillation,
    _paint,
    _skin_shade,
    _uniform,
    sample_clothing,
    value_noise,
)

__all__ = [
    "FACE_BOX_SCALE",
    "Hand",
    "SceneLayout",
    "face_box",
    "render_scene_clip",
    "sample_scene_layout",
]

FACE_BOX_SCALE = 1.25
"""Side of the face box over the face's forehead-to-chin height (twice the face half height)."""

_HEAD_REACH = 1.4  # radius of the head's drawing window, in face half heights (hair, ears, open jaw)
_HAND_REACH = 1.3  # radius of a hand's drawing window, in hand units


def face_box(centre_x: np.ndarray | float, centre_y: np.ndarray | float, half_height: np.ndarray | float) -> np.ndarray:
    """The true face box of faces centred at ``(centre_x, centre_y)`` with face half height ``half_height``.

    A square centred on the face ellipse's centre, side ``FACE_BOX_SCALE * 2 * half_height``.

    Args:
        centre_x, centre_y: face centre(s) in sensor pixels, scalars or ``(N,)`` arrays.
        half_height: the face ellipse's half height (forehead to chin / 2) in sensor pixels.

    Returns:
        ``(..., 4)`` float64 ``[x0, y0, w, h]`` in sensor pixels (``w == h``).
    """
    cx, cy, s = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (centre_x, centre_y, half_height)))
    side = FACE_BOX_SCALE * 2.0 * s
    return np.stack([cx - side / 2, cy - side / 2, side, side], axis=-1)


@dataclass(frozen=True)
class Hand:
    """One hand of a scene, moving around an anchor relative to the face.

    Attributes:
        anchor: rest position of the palm's centre relative to the face's rest centre,
            in face half heights (``x`` right, ``y`` down).
        scale: hand unit in face half heights (a palm is 0.64 x 0.76 hand units).
        angle: rest rotation in radians (0 = fingers up).
        amplitude: how far the hand moves around its anchor, in face half heights.
    """

    anchor: tuple[float, float]
    scale: float
    angle: float
    amplitude: float


@dataclass(frozen=True)
class SceneLayout:
    """Everything of a scene that is not the subject's face: drawn once per clip by :func:`sample_scene_layout`.

    Attributes:
        sensor_size: ``(W, H)`` in pixels.
        face_centre: rest position ``(x, y)`` of the face centre in sensor pixels.
        face_size: rest side of the face box (:func:`face_box`) in sensor pixels.
        clothing: what the torso wears.
        background_seed: seed of the background's texture and furniture.
        background_mean, background_contrast: mean tone and texture amplitude of the background.
        background_cell: grain of the background texture in pixels (the finest of three octaves).
        pan: background velocity ``(vx, vy)`` in pixels per second (camera pan; ``(0, 0)``: static).
        object_velocity: velocity of a textured object crossing the background, pixels per second
            (``None``: no object).
        object_size: the object's half width and half height in pixels.
        object_tone: the object's mean tone.
        hands: the visible hands (0 to 2).
        sway: amplitude of the body's sway, in face half heights.
        flicker: relative standard deviation of the frame-to-frame light flicker.
    """

    sensor_size: tuple[int, int]
    face_centre: tuple[float, float]
    face_size: float
    clothing: Clothing
    background_seed: int
    background_mean: float
    background_contrast: float
    background_cell: float
    pan: tuple[float, float] = (0.0, 0.0)
    object_velocity: tuple[float, float] | None = None
    object_size: tuple[float, float] = (0.0, 0.0)
    object_tone: float = 0.5
    hands: tuple[Hand, ...] = ()
    sway: float = 0.0
    flicker: float = 0.0

    def __post_init__(self) -> None:
        w, h = self.sensor_size
        if int(w) != w or int(h) != h or w < 8 or h < 8:
            raise ValueError(f"sensor_size must be two integers >= 8, got {self.sensor_size}")
        if not self.face_size > 0:
            raise ValueError(f"face_size must be positive, got {self.face_size}")
        if len(self.hands) > 2:
            raise ValueError(f"a scene has at most 2 hands, got {len(self.hands)}")


def sample_scene_layout(
    rng: np.random.Generator | int | None,
    sensor_size: tuple[int, int],
    *,
    face_fraction: tuple[float, float] = (0.2, 0.6),
    hands_probability: float = 0.5,
    moving_background_probability: float = 0.5,
) -> SceneLayout:
    """Draw a random scene layout for a sensor of ``sensor_size``.

    The face box side is drawn uniformly in ``face_fraction`` times the sensor height (at
    most 80 % of its width); the face sits anywhere horizontally and mostly in the upper
    half, with room for its motion so that its box stays on the sensor. With
    ``hands_probability`` one or two hands are shown (beside the face or in front of the
    chest, never over the face's centre); with ``moving_background_probability`` the
    background pans or an object crosses it.

    Args:
        rng: a numpy ``Generator`` or a seed.
        sensor_size: ``(W, H)`` in pixels.
        face_fraction: range of the face box side over the sensor height.
        hands_probability: chance of showing hands.
        moving_background_probability: chance of a panning background or a moving object.

    Returns:
        A :class:`SceneLayout`.
    """
    rng = np.random.default_rng(rng)
    w, h = int(sensor_size[0]), int(sensor_size[1])
    lo, hi = face_fraction
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"face_fraction must satisfy 0 < low <= high <= 1, got {face_fraction}")
    side = min(_uniform(rng, lo, hi) * h, 0.8 * w)
    margin = 0.2 * side  # room for the head's motion
    x_range = (side / 2 + margin, max(side / 2 + margin, w - side / 2 - margin))
    y_low = side / 2 + margin
    y_high = max(y_low, h - side / 2 - margin)
    y_upper = min(y_high, max(y_low, 0.5 * h))
    cy = _uniform(rng, y_low, y_upper) if rng.random() < 0.8 else _uniform(rng, y_low, y_high)
    cx = _uniform(rng, *x_range)

    hands: list[Hand] = []
    if rng.random() < hands_probability:
        for _ in range(1 + int(rng.random() < 0.4)):
            side_sign = -1.0 if rng.random() < 0.5 else 1.0
            if rng.random() < 0.5:  # beside the face: the palm stays clear of the face's centre
                anchor = (side_sign * _uniform(rng, 1.4, 1.8), _uniform(rng, 0.2, 1.0))
                angle = side_sign * _uniform(rng, 0.0, 0.6)
            else:  # in front of the chest
                anchor = (side_sign * _uniform(rng, 0.3, 1.3), _uniform(rng, 2.2, 3.2))
                angle = side_sign * _uniform(rng, 0.3, 1.4)
            hands.append(Hand(anchor=anchor, scale=_uniform(rng, 1.2, 1.6), angle=angle,
                              amplitude=_uniform(rng, 0.1, 0.3)))

    pan: tuple[float, float] = (0.0, 0.0)
    object_velocity: tuple[float, float] | None = None
    if rng.random() < moving_background_probability:
        speed = _uniform(rng, 0.02, 0.12) * w  # pixels per second
        direction = rng.uniform(0, 2 * np.pi)
        velocity = (speed * math.cos(direction), 0.5 * speed * math.sin(direction))
        if rng.random() < 0.5:
            pan = velocity
        else:
            object_velocity = (3.0 * velocity[0], 3.0 * velocity[1])
    return SceneLayout(
        sensor_size=(w, h),
        face_centre=(cx, cy),
        face_size=side,
        clothing=sample_clothing(rng),
        background_seed=int(rng.integers(0, 2**31 - 1)),
        background_mean=_uniform(rng, 0.2, 0.75),
        background_contrast=_uniform(rng, 0.08, 0.3),
        background_cell=_uniform(rng, 1.5, 4.0),
        pan=pan,
        object_velocity=object_velocity,
        object_size=(_uniform(rng, 0.08, 0.25) * w, _uniform(rng, 0.1, 0.4) * h),
        object_tone=_uniform(rng, 0.15, 0.85),
        hands=tuple(hands),
        sway=_uniform(rng, 0.05, 0.2),
        flicker=_uniform(rng, 0.0, 0.01),
    )


# ----------------------------------------------------------------------------- drawing


def _window(
    centre: tuple[float, float], radius: tuple[float, float], shape: tuple[int, int], ss: int
) -> tuple[slice, slice] | None:
    """Rows and columns of the supersampled canvas within ``radius`` (pixels) of ``centre``; None if empty."""
    x0 = max(math.floor((centre[0] - radius[0]) * ss), 0)
    x1 = min(math.ceil((centre[0] + radius[0]) * ss), shape[1])
    y0 = max(math.floor((centre[1] - radius[1]) * ss), 0)
    y1 = min(math.ceil((centre[1] + radius[1]) * ss), shape[0])
    if x0 >= x1 or y0 >= y1:
        return None
    return slice(y0, y1), slice(x0, x1)


def _background(layout: SceneLayout, x: np.ndarray, y: np.ndarray, pixel: float) -> np.ndarray:
    """The background at sensor coordinates ``(x, y)``: three octaves of texture and a few flat furniture shapes."""
    seed = layout.background_seed
    cell = layout.background_cell
    texture = (0.5 * value_noise(x, y, cell, seed) + 0.3 * value_noise(x, y, 4 * cell, seed + 1)
               + 0.6 * value_noise(x, y, 16 * cell, seed + 2))
    image = layout.background_mean * (1.0 + layout.background_contrast * texture)
    rng = np.random.default_rng(seed)
    w, h = layout.sensor_size
    for _ in range(int(rng.integers(2, 6))):  # frames, shelves, doors: flat rectangles with sharp edges
        cx, cy = rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h
        hw, hh = rng.uniform(0.05, 0.4) * w, rng.uniform(0.05, 0.4) * h
        rect = np.maximum(np.abs(x - cx) - hw, np.abs(y - cy) - hh)
        _paint(image, _coverage(rect, pixel), float(np.clip(layout.background_mean + rng.uniform(-0.3, 0.3), 0.03, 1)))
    return np.clip(image, 0.02, 1.0).astype(np.float32)


def _shifted(canvas: np.ndarray, offset: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``canvas`` sampled at ``(row + offset[1], col + offset[0])`` for every pixel of ``shape``, bilinearly."""
    (c0, r0), (fx, fy) = np.floor(offset).astype(int), offset - np.floor(offset)
    h, w = shape
    a, b = canvas[r0 : r0 + h, c0 : c0 + w], canvas[r0 : r0 + h, c0 + 1 : c0 + 1 + w]
    c, d = canvas[r0 + 1 : r0 + 1 + h, c0 : c0 + w], canvas[r0 + 1 : r0 + 1 + h, c0 + 1 : c0 + 1 + w]
    return ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy).astype(np.float32)


def _draw_object(image: np.ndarray, x: np.ndarray, y: np.ndarray, pixel: float, layout: SceneLayout,
                 centre: tuple[float, float]) -> None:
    """A textured rounded box (a passer-by, a door swinging) centred at ``centre``, in place."""
    hw, hh = layout.object_size
    dx, dy = x - centre[0], y - centre[1]
    shape = np.hypot(np.maximum(np.abs(dx) - 0.8 * hw, 0), np.maximum(np.abs(dy) - 0.8 * hh, 0)) - 0.2 * min(hw, hh)
    tone = layout.object_tone * (1.0 + 0.25 * value_noise(dx, dy, 3.0, layout.background_seed + 7))
    _paint(image, _coverage(shape, pixel), tone)


def _segment_distance(a: np.ndarray, b: np.ndarray, p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    """Distance from the points ``(a, b)`` to the segment ``p0``-``p1``."""
    da, db = p1[0] - p0[0], p1[1] - p0[1]
    t = np.clip(((a - p0[0]) * da + (b - p0[1]) * db) / (da * da + db * db), 0.0, 1.0)
    return np.hypot(a - p0[0] - t * da, b - p0[1] - t * db)


# Fingers (base, tip) and half widths in hand units, fingers up; the thumb on the +a side.
_FINGERS = (
    ((-0.22, -0.3), (-0.27, -0.78), 0.065),
    ((-0.075, -0.34), (-0.085, -0.92), 0.07),
    ((0.075, -0.34), (0.085, -0.88), 0.07),
    ((0.22, -0.3), (0.26, -0.72), 0.062),
    ((0.27, 0.05), (0.55, -0.3), 0.075),
)


def _draw_hand(image: np.ndarray, x: np.ndarray, y: np.ndarray, pixel: float, identity: FaceIdentity,
               centre: tuple[float, float], unit: float, angle: float, mirror: float) -> None:
    """A hand (palm, four fingers, thumb, wrist) in the subject's textured skin, in place.

    ``unit`` is one hand unit in pixels; ``mirror`` +1 puts the thumb on the right, -1 on the left.
    """
    cos_t, sin_t = math.cos(angle), math.sin(angle)
    xr, yr = (x - centre[0]) / unit, (y - centre[1]) / unit
    a = mirror * (cos_t * xr + sin_t * yr)
    b = -sin_t * xr + cos_t * yr
    shape = _ellipse_sdf(a, b, 0.32, 0.38)
    for p0, p1, half_width in _FINGERS:
        shape = np.minimum(shape, _segment_distance(a, b, p0, p1) - half_width)
    shape = np.minimum(shape, _segment_distance(a, b, (0.0, 0.2), (0.0, 1.05)) - 0.2)  # wrist and forearm
    shade = _skin_shade(identity, a, b) * (0.97 - 0.12 * np.clip(b, 0.0, 1.0))
    _paint(image, _coverage(shape, pixel / unit), identity.skin * 0.95 * shade)


# ----------------------------------------------------------------------------- clips


def render_scene_clip(
    identity: FaceIdentity,
    layout: SceneLayout,
    va: np.ndarray,
    *,
    fps: float = 25.0,
    rng: np.random.Generator | int | None = None,
    supersample: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a head-and-shoulders clip whose face follows a valence-arousal trajectory.

    The face moves as in :func:`neurova.datasets.render.render_clip` (arousal = faster,
    larger head motion, more blinks and saccades, more jaw motion) on a body that sways;
    hands move around their anchors with the same arousal-driven speed.

    Args:
        identity: the subject (its ``center``, ``scale`` and background are replaced by the layout's).
        layout: the scene, from :func:`sample_scene_layout`.
        va: ``(T, 2)`` valence and arousal per frame, in ``[-1, 1]`` (clipped).
        fps: frame rate of ``va`` and of the clip, frames per second.
        rng: a numpy ``Generator`` or a seed for the clip's motion.
        supersample: supersampling factor per direction used for anti-aliasing.

    Returns:
        ``frames``: ``(T, H, W)`` float32 linear intensities in ``[0, 1]``;
        ``face_boxes``: ``(T, 4)`` float64 ``[x0, y0, w, h]`` per frame in sensor pixels (:func:`face_box`).
    """
    va = _check_trajectory(va, fps)
    if int(supersample) != supersample or supersample < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample}")
    rng = np.random.default_rng(rng)
    ss = int(supersample)
    w, h = layout.sensor_size
    n = len(va)
    dt = 1.0 / fps
    t = np.arange(n) * dt
    motion = _animate(va, rng, fps)
    speed = 0.9 + 1.1 * 0.5 * (np.clip(va[:, 1], -1, 1) + 1.0)
    s_rest = layout.face_size / (2.0 * FACE_BOX_SCALE)
    sway = layout.sway * s_rest * np.stack([_oscillation(rng, 0.6 * speed, dt), 0.4 * _oscillation(rng, 0.6 * speed, dt)],
                                           axis=1)
    flicker = 1.0 + layout.flicker * rng.standard_normal(n)
    # Drawn last, so that adding or removing hands changes nothing else of the clip.
    hand_paths = [
        np.stack([_oscillation(rng, speed, dt), _oscillation(rng, speed, dt), _oscillation(rng, speed, dt)], axis=1)
        for _ in layout.hands
    ]

    pixel = 1.0 / ss
    xs = (np.arange(w * ss, dtype=np.float32) + 0.5) * np.float32(pixel)
    ys = (np.arange(h * ss, dtype=np.float32) + 0.5) * np.float32(pixel)
    x, y = np.meshgrid(xs, ys, indexing="xy")
    xn, yn = 2.0 * x / w - 1.0, 2.0 * y / h - 1.0
    # The background is drawn once, on a canvas large enough for the whole pan, and shifted per frame.
    shifts = np.outer(t, layout.pan) / pixel  # (T, 2) canvas pixels
    low = np.floor(shifts.min(axis=0, initial=0.0)) - 1
    high = np.ceil(shifts.max(axis=0, initial=0.0)) + 1
    extra_x, extra_y = int(high[0] - low[0]) + 1, int(high[1] - low[1]) + 1
    cx_ = (np.arange(w * ss + extra_x, dtype=np.float32) + 0.5 - high[0]) * np.float32(pixel)
    cy_ = (np.arange(h * ss + extra_y, dtype=np.float32) + 0.5 - high[1]) * np.float32(pixel)
    canvas = _background(layout, *np.meshgrid(cx_, cy_, indexing="xy"), pixel)

    frames = np.empty((n, h, w), dtype=np.float32)
    centres = np.empty((n, 2))
    halves = np.empty(n)
    for i in range(n):
        pose: HeadPose = motion.poses[i]
        image = _shifted(canvas, high - shifts[i], x.shape)
        if layout.object_velocity is not None:
            vx, vy = layout.object_velocity
            # The object crosses the sensor back and forth (a triangle wave over a 1.6-wide path).
            period_x = 2.0 * 1.6 * w / max(abs(vx), 1e-9)
            phase = ((t[i] + 0.3 * period_x) % period_x) / period_x
            ox = (-0.3 + 1.6 * (1.0 - abs(2.0 * phase - 1.0))) * w
            oy = 0.5 * h + 0.25 * h * math.sin(2 * math.pi * t[i] * vy / max(h, 1))
            win = _window((ox, oy), layout.object_size, x.shape, ss)
            if win is not None:
                _draw_object(image[win], x[win], y[win], pixel, layout, (ox, oy))

        s = s_rest * pose.scale
        to_px = s_rest / identity.scale  # image half sizes of render.py -> pixels
        body = (layout.face_centre[0] + sway[i, 0] + 0.5 * pose.dx * to_px,
                layout.face_centre[1] + sway[i, 1] + 0.5 * pose.dy * to_px)
        head = (layout.face_centre[0] + sway[i, 0] + pose.dx * to_px,
                layout.face_centre[1] + sway[i, 1] + pose.dy * to_px)
        centres[i], halves[i] = head, s

        win = _window((body[0], body[1] + 0.5 * (h - body[1])), (2.0 * s, 0.5 * (h - body[1]) + 0.1 * s), x.shape,
                      ss)
        if win is not None:
            _draw_body(image[win], x[win], y[win], pixel, identity, layout.clothing, head=head, body=body, s=s,
                       roll=pose.roll)
        win = _window(head, (_HEAD_REACH * s, _HEAD_REACH * s), x.shape, ss)
        if win is not None:
            _draw_head(image[win], x[win], y[win], pixel, identity, float(va[i, 0]), float(va[i, 1]), centre=head,
                       s=s, pose=pose, eyelid=float(motion.eyelid[i]), jaw=float(motion.jaw[i]),
                       gaze=(float(motion.gaze[i, 0]), float(motion.gaze[i, 1])))
        for hand, path in zip(layout.hands, hand_paths, strict=True):
            unit = hand.scale * s
            centre = (body[0] + s * (hand.anchor[0] + hand.amplitude * path[i, 0]),
                      body[1] + s * (hand.anchor[1] + hand.amplitude * path[i, 1]))
            win = _window(centre, (_HAND_REACH * unit, _HAND_REACH * unit), x.shape, ss)
            if win is not None:
                _draw_hand(image[win], x[win], y[win], pixel, identity, centre, unit,
                           hand.angle + 0.25 * path[i, 2], -1.0 if hand.anchor[0] < 0 else 1.0)

        light = motion.lighting[i]
        image *= light.gain * flicker[i] * (1.0 + light.gradient[0] * xn + light.gradient[1] * yn)
        frames[i] = np.clip(_box_downsample(image, ss), 0.0, 1.0)
    return frames, face_box(centres[:, 0], centres[:, 1], halves)
