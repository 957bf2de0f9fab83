"""The valence-arousal → emotion mapping: name the emotion of ``(valence, arousal)`` predictions.

A valence/arousal regressor never sees emotion labels. To name an emotion, its
``(valence, arousal)`` prediction is compared with the emotions' coordinates on
the valence-arousal plane (:mod:`neurova.emotions`):

* ``method="angle"`` picks the emotion whose *direction* from the origin is
  closest (the circumplex reading: the angle says which affect, the radius how
  strong). The decision boundary between two emotions is the bisector of their
  directions.
* ``method="nearest"`` picks the nearest emotion point (Euclidean distance);
  boundaries are the perpendicular bisectors of the segments between points.

A clip (NEFER clips are 51 frames) is classified after aggregating its frame
predictions (:func:`aggregate_clip`). numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from neurova.emotions import resolve_table

__all__ = ["Aggregate", "Method", "Table", "aggregate_clip", "classify_emotion"]

Method = Literal["angle", "nearest"]
Aggregate = Literal["mean", "vote"]
Table = str | Mapping[str, tuple[float, float]]

def _numpy(value: Any, name: str) -> np.ndarray:
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from exc
    if np.isnan(array).any():
        where = np.argwhere(np.isnan(array))[0].tolist() if array.ndim else []
        raise ValueError(f"{name} contains NaN (first at index {where}); a model that predicts NaN cannot be classified")
    if np.isinf(array).any():
        raise ValueError(f"{name} contains infinite values")
    return array


def _va_points(valence: Any, arousal: Any | None) -> np.ndarray:
    """``(..., 2)`` float64 array from two matching arrays, or from one ``(..., 2)`` array when ``arousal`` is None."""
    if arousal is None:
        va = _numpy(valence, "va")
        if va.ndim == 0 or va.shape[-1] != 2:
            raise ValueError(f"without arousal, valence must be a (..., 2) array of (valence, arousal), got {va.shape}")
        return va
    v, a = _numpy(valence, "valence"), _numpy(arousal, "arousal")
    try:
        v, a = np.broadcast_arrays(v, a)
    except ValueError:
        raise ValueError(f"valence {v.shape} and arousal {a.shape} have incompatible shapes") from None
    return np.stack([v, a], axis=-1)


def _table_points(emotions: Table) -> tuple[tuple[str, ...], np.ndarray]:
    table = resolve_table(emotions)
    return tuple(table), np.array(list(table.values()), dtype=np.float64).reshape(-1, 2)


def _distances(va: np.ndarray, points: np.ndarray, method: str) -> np.ndarray:
    """``(..., K)`` distance of each prediction to each emotion: angular (radians, in [0, π]) or Euclidean."""
    if method == "angle":
        diff = np.arctan2(va[..., 1], va[..., 0])[..., None] - np.arctan2(points[:, 1], points[:, 0])
        return np.abs((diff + np.pi) % (2 * np.pi) - np.pi)
    if method == "nearest":
        return np.linalg.norm(va[..., None, :] - points, axis=-1)
    raise ValueError(f"method must be 'angle' or 'nearest', got {method!r}")


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def _classify_indices(
    va: np.ndarray, points: np.ndarray, method: str, neutral_radius: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Emotion index per prediction (``K`` = neutral) and the ``(..., K)`` distances."""
    dist = _distances(va, points, method)
    index = np.argmin(dist, axis=-1)
    if neutral_radius is not None:
        if neutral_radius < 0:
            raise ValueError(f"neutral_radius must be >= 0, got {neutral_radius}")
        index = np.where(np.linalg.norm(va, axis=-1) < neutral_radius, len(points), index)
    return index, dist


def classify_emotion(
    valence: Any,
    arousal: Any | None = None,
    emotions: Table = "ekman7",
    method: Method = "angle",
    *,
    neutral_radius: float | None = None,
    neutral_label: str = "Neutral",
    return_scores: bool = False,
    temperature: float = 0.1,
) -> Any:
    """Name the emotion of valence/arousal predictions.

    Args:
        valence: a float, or an array / tensor of any shape.
        arousal: the matching arousal (broadcast against ``valence``); ``None``
            when ``valence`` is one ``(..., 2)`` array of ``(valence, arousal)`` pairs.
        emotions: a table name (``"ekman7"``, ``"circumplex28"``) or a
            ``{name: (valence, arousal)}`` dict (:func:`neurova.emotions.resolve_table`).
        method: ``"angle"`` (nearest direction from the origin) or ``"nearest"``
            (nearest point). Ties go to the emotion listed first in the table. With
            ``"angle"`` a prediction at the origin has angle 0 (pure positive valence):
            use ``neutral_radius`` to catch weak predictions.
        neutral_radius: predictions with ``sqrt(v² + a²) < neutral_radius`` get ``neutral_label``.
        neutral_label: the name given to them (NEFER's reported labels call it ``"None"``).
        return_scores: also return a probability per emotion.
        temperature: softmax temperature of the scores, in the unit of the distance
            (radians for ``"angle"``, valence-arousal units for ``"nearest"``).

    Returns:
        ``str`` for scalar input, otherwise a numpy array of ``str`` with the input's
        shape. With ``return_scores``, a tuple ``(names, scores)`` where ``scores`` is a
        float64 array of shape ``(*shape, K)``: ``softmax(-distance / temperature)`` over the
        K emotions in table order (the neutral label has no score column).

    Raises:
        ValueError: NaN or infinite input, mismatched shapes, unknown method or table.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    va = _va_points(valence, arousal)
    names, points = _table_points(emotions)
    index, dist = _classify_indices(va, points, method, neutral_radius)
    vocabulary = np.array([*names, neutral_label])
    labels: Any = vocabulary[index]
    if labels.ndim == 0:
        labels = str(labels)
    if return_scores:
        return labels, _softmax(-dist / temperature)
    return labels


def aggregate_clip(
    va: Any,
    method: Aggregate = "mean",
    *,
    emotions: Table = "ekman7",
    classify_method: Method = "angle",
    neutral_radius: float | None = None,
    neutral_label: str = "Neutral",
) -> Any:
    """One emotion per clip from its frame predictions.

    ``method="mean"`` classifies the clip's mean valence and arousal;
    ``method="vote"`` classifies every frame and takes the most frequent emotion
    (a tie goes to the tied emotion predicted last in the clip: expressions build
    up over a clip).

    Args:
        va: ``(T, 2)`` frame predictions of one clip, or ``(N, T, 2)`` for N clips.
        method: ``"mean"`` or ``"vote"``.
        emotions, classify_method, neutral_radius, neutral_label: as in :func:`classify_emotion`.

    Returns:
        ``str`` for one clip, a ``(N,)`` array of ``str`` for N clips.
    """
    array = _numpy(va, "va")
    if array.ndim not in (2, 3) or array.shape[-1] != 2 or array.shape[-2] == 0:
        raise ValueError(f"va must have shape (T, 2) or (N, T, 2) with T >= 1, got {array.shape}")
    names, points = _table_points(emotions)
    vocabulary = np.array([*names, neutral_label])
    clips = array.reshape(-1, *array.shape[-2:])
    index = np.array([_clip_index(clip, points, method, classify_method, neutral_radius) for clip in clips])
    labels = vocabulary[index]
    return str(labels[0]) if array.ndim == 2 else labels


def _clip_index(clip: np.ndarray, points: np.ndarray, method: str, classify_method: str,
                neutral_radius: float | None) -> int:
    if method == "mean":
        return int(_classify_indices(clip.mean(axis=0), points, classify_method, neutral_radius)[0])
    if method == "vote":
        frames, _ = _classify_indices(clip, points, classify_method, neutral_radius)
        counts = np.bincount(frames, minlength=len(points) + 1)
        tied = np.flatnonzero(counts == counts.max())
        last_seen = [int(np.flatnonzero(frames == k).max()) for k in tied]
        return int(tied[int(np.argmax(last_seen))])
    raise ValueError(f"aggregation method must be 'mean' or 'vote', got {method!r}")
