"""Zero-shot emotion recognition from predicted valence and arousal.

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
predictions (:func:`aggregate_clip`). :func:`evaluate_predictions` and
:class:`ZeroShotEvaluator` score the decisions against labels and print them
beside the chance and majority-class baselines (:class:`ZeroShotReport`), so
that chance is never mistaken for skill.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurova._atomic import atomic_path
from neurova.emotions import EKMAN7_NAMES, resolve_table

__all__ = [
    "LABEL_SETS",
    "ZeroShotEvaluator",
    "ZeroShotReport",
    "aggregate_clip",
    "classification_scores",
    "classify_emotion",
    "confusion_matrix",
    "evaluate_predictions",
    "model_frames",
    "run_zero_shot_report",
]

Method = Literal["angle", "nearest"]
Aggregate = Literal["mean", "vote"]
Table = str | Mapping[str, tuple[float, float]]

LABEL_SETS: dict[str, tuple[str, ...]] = {
    "expected": EKMAN7_NAMES,
    "reported": (*EKMAN7_NAMES, "None"),
}
"""NEFER's class names per label set, in label-index order: the emotion each clip
was meant to elicit (``expected``, 7 Ekman classes) or the one the subject
reported (``reported``, adds ``"None"`` = index 7)."""


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


# --- metrics ---------------------------------------------------------------------------------------


def confusion_matrix(true: Any, pred: Any, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` int64 counts; rows are true classes, columns predicted ones."""
    true = np.asarray(true, dtype=np.int64).reshape(-1)
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    if true.shape != pred.shape:
        raise ValueError(f"true and predicted labels differ in length: {len(true)} vs {len(pred)}")
    for name, values in (("true", true), ("predicted", pred)):
        if len(values) and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} labels must lie in [0, {n_classes}), found {values.min()}..{values.max()}")
    return np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_scores(cm: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro-F1 from a confusion matrix (rows true, columns predicted).

    * balanced accuracy: mean recall over the classes that occur in the true labels;
    * macro-F1: mean of ``2 TP / (2 TP + FP + FN)`` over the classes that occur in the
      true *or* predicted labels (scikit-learn's default label set).

    Returns NaN for every score when the matrix is empty.
    """
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum()
    if total == 0:
        return {"accuracy": math.nan, "balanced_accuracy": math.nan, "macro_f1": math.nan}
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    present = support > 0
    used = present | (predicted > 0)
    f1 = 2 * tp[used] / (support[used] + predicted[used])
    return {
        "accuracy": float(tp.sum() / total),
        "balanced_accuracy": float(np.mean(tp[present] / support[present])),
        "macro_f1": float(f1.mean()),
    }


def _chance_scores(support: np.ndarray, n_classes: int) -> dict[str, float]:
    """Expected scores of guessing uniformly among ``n_classes`` (macro-F1 from expected precision and recall)."""
    prevalence = support / support.sum()
    k = float(n_classes)
    f1 = np.zeros(n_classes)
    f1[: len(prevalence)] = 2 * prevalence / (k * prevalence + 1)
    return {"accuracy": 1 / k, "balanced_accuracy": 1 / k, "macro_f1": float(f1.mean())}


# --- report ----------------------------------------------------------------------------------------


@dataclass
class ZeroShotReport:
    """Scores of zero-shot emotion decisions beside the chance and majority-class baselines.

    Attributes:
        class_names: confusion-matrix classes: the label set, then any extra emotion
            the model can predict that is not in it (e.g. ``"Neutral"``).
        confusion: ``(K, K)`` int64 counts, rows true, columns predicted.
        accuracy, balanced_accuracy, macro_f1: the model's scores (:func:`classification_scores`).
        chance: expected scores of a uniform guess over the ``n_label_classes`` classes of the label set.
        majority: scores of always predicting ``majority_class``, the most frequent true class.
        n_label_classes: classes in the label set (the chance level is ``1 / n_label_classes``).
        clip_ids, true, predicted: per clip, the id and the true and predicted emotion names.
        clip_va: ``(N, 2)`` mean predicted valence and arousal per clip.
        settings: how the decisions were made (table, method, aggregation, neutral radius, label set).
    """

    class_names: tuple[str, ...]
    confusion: np.ndarray
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    chance: dict[str, float]
    majority: dict[str, float]
    majority_class: str
    n_label_classes: int
    clip_ids: list[str] = field(default_factory=list)
    true: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    clip_va: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of scored clips."""
        return int(self.confusion.sum())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of every field (arrays as lists)."""
        return {
            "n_samples": self.n_samples,
            "n_label_classes": self.n_label_classes,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "chance": dict(self.chance),
            "majority": dict(self.majority),
            "majority_class": self.majority_class,
            "class_names": list(self.class_names),
            "confusion": self.confusion.tolist(),
            "settings": dict(self.settings),
            "clips": [
                {"clip_id": c, "true": t, "predicted": p, "valence": float(va[0]), "arousal": float(va[1])}
                for c, t, p, va in zip(self.clip_ids, self.true, self.predicted, self.clip_va)
            ],
        }

    def save_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    def __str__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        lines = [
            f"Zero-shot emotion recognition on {self.n_samples} clips, {self.n_label_classes} classes"
            + (f" ({settings})" if settings else ""),
            f"{'metric':<20}{'model':>8}{'chance':>9}{'majority':>10}   (majority class: {self.majority_class})",
        ]
        for key, label in (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"),
                           ("macro_f1", "macro-F1")):
            lines.append(f"{label:<20}{getattr(self, key):>8.3f}{self.chance[key]:>9.3f}{self.majority[key]:>10.3f}")
        width = max(5, *(len(n) for n in self.class_names)) + 1
        short = [n[:7] for n in self.class_names]
        lines.append("confusion matrix (rows: true, columns: predicted)")
        lines.append(" " * width + "".join(f"{s:>8}" for s in short))
        for name, row in zip(self.class_names, self.confusion):
            lines.append(f"{name:<{width}}" + "".join(f"{int(v):>8d}" for v in row))
        return "\n".join(lines)


def _label_names(labels: Any, class_names: Sequence[str]) -> list[str | None]:
    """Labels (indices into ``class_names`` or names) as names; negative indices (no label) become None."""
    if type(labels).__module__.startswith("torch"):
        labels = labels.detach().cpu().numpy()
    out: list[str | None] = []
    for label in np.asarray(labels, dtype=object).reshape(-1):
        if isinstance(label, str | np.str_):
            if label not in class_names:
                raise ValueError(f"label {label!r} is not one of the classes {list(class_names)}")
            out.append(str(label))
            continue
        index = int(label)
        if index < 0:
            out.append(None)
        elif index >= len(class_names):
            raise ValueError(f"label index {index} is out of range for {len(class_names)} classes {list(class_names)}")
        else:
            out.append(class_names[index])
    return out


def evaluate_predictions(
    va_pred: Any,
    labels: Any,
    *,
    class_names: Sequence[str] = EKMAN7_NAMES,
    emotions: Table = "ekman7",
    method: Method = "angle",
    aggregate: Aggregate = "mean",
    neutral_radius: float | None = None,
    neutral_label: str = "Neutral",
    clip_ids: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ZeroShotReport:
    """Score precomputed valence/arousal predictions against emotion labels.

    Args:
        va_pred: per clip: ``(N, 2)`` one prediction per clip, ``(N, T, 2)`` frame
            predictions, or a sequence of ``(T_i, 2)`` arrays of different lengths.
        labels: ``(N,)`` indices into ``class_names`` (negative = unlabelled, skipped) or names.
        class_names: the label set, in index order (:data:`LABEL_SETS`).
        emotions, method, neutral_radius, neutral_label: as in :func:`classify_emotion`.
        aggregate: clip aggregation (:func:`aggregate_clip`).
        clip_ids: names of the clips (default ``"0"``, ``"1"``, ...).
        settings: extra entries for the report's ``settings``.

    Raises:
        ValueError: NaN predictions (naming the clip), mismatched lengths, no labelled clip.
    """
    if isinstance(va_pred, np.ndarray) or type(va_pred).__module__.startswith("torch"):
        array = _numpy(va_pred, "va_pred")
        if array.ndim == 2:
            array = array[:, None, :]
        clips = list(array)
    else:
        clips = list(va_pred)
    names = _label_names(labels, tuple(class_names))
    if len(clips) != len(names):
        raise ValueError(f"{len(clips)} predictions but {len(names)} labels")
    ids = [str(i) for i in range(len(clips))] if clip_ids is None else [str(c) for c in clip_ids]
    if len(ids) != len(clips):
        raise ValueError(f"{len(clips)} predictions but {len(ids)} clip ids")

    table_names, _ = _table_points(emotions)
    kept_ids, true, predicted, means = [], [], [], []
    for clip_id, clip, name in zip(ids, clips, names):
        if name is None:
            continue
        frames = _numpy(clip, f"va_pred of clip {clip_id!r}").reshape(-1, 2)
        if len(frames) == 0:
            raise ValueError(f"clip {clip_id!r} has no predictions")
        predicted.append(aggregate_clip(frames, aggregate, emotions=emotions, classify_method=method,
                                        neutral_radius=neutral_radius, neutral_label=neutral_label))
        true.append(name)
        kept_ids.append(clip_id)
        means.append(frames.mean(axis=0))
    if not true:
        raise ValueError("no labelled clip to evaluate (every label is negative)")

    vocabulary = list(class_names)
    extra = [*table_names, neutral_label] if neutral_radius is not None else list(table_names)
    vocabulary += [n for n in extra if n not in vocabulary]
    position = {n: i for i, n in enumerate(vocabulary)}
    true_idx = np.array([position[n] for n in true])
    cm = confusion_matrix(true_idx, [position[n] for n in predicted], len(vocabulary))
    support = np.bincount(true_idx, minlength=len(class_names))[: len(class_names)]
    majority_idx = int(np.argmax(support))
    majority = classification_scores(confusion_matrix(true_idx, np.full(len(true_idx), majority_idx), len(vocabulary)))
    return ZeroShotReport(
        class_names=tuple(vocabulary),
        confusion=cm,
        **classification_scores(cm),
        chance=_chance_scores(support, len(class_names)),
        majority=majority,
        majority_class=vocabulary[majority_idx],
        n_label_classes=len(class_names),
        clip_ids=kept_ids,
        true=true,
        predicted=predicted,
        clip_va=np.array(means, dtype=np.float64).reshape(-1, 2),
        settings={
            "emotions": emotions if isinstance(emotions, str) else "custom",
            "method": method,
            "aggregate": aggregate,
            "neutral_radius": neutral_radius,
            **(settings or {}),
        },
    )


# --- running a model -------------------------------------------------------------------------------


def model_frames(model: Any) -> tuple[bool, int | None]:
    """``(predicts a sequence, frames read from the end of a clip)`` of a VA model.

    Video models (``predicts_sequence`` true) map ``(B, T, C, H, W)`` to ``(B, T, 2)``;
    frame models read their last ``frames_used`` frames and return ``(B, 2)``,
    1 frame when they say nothing. ``None`` frames means the model reads the whole clip.
    """
    if getattr(model, "predicts_sequence", False):
        return True, None
    frames = getattr(model, "frames_used", None)
    return False, 1 if frames is None else int(frames)


class ZeroShotEvaluator:
    """Run a valence/arousal model over labelled clips and score its zero-shot emotion decisions.

    Frame models (``forward((B, K, C, H, W)) -> (B, 2)`` on their last K frames, see
    :func:`model_frames`) are slid over each clip, one prediction per frame from frame
    ``K - 1`` on; video models (``predicts_sequence``, ``forward((B, T, C, H, W)) -> (B, T, 2)``)
    predict every frame at once. Samples that share a ``meta["clip_id"]`` are pooled into one clip, and
    each clip's frame predictions are aggregated (:func:`aggregate_clip`) before scoring.

    Args:
        model: a ``torch.nn.Module`` (e.g. a :mod:`neurova.models` LightningModule).
        class_names: the label set (:data:`LABEL_SETS`); batch labels index into it.
        emotions, method, aggregate, neutral_radius, neutral_label: as in :func:`evaluate_predictions`.
        device: torch device to run the model on.
        max_windows: largest number of frame windows per forward pass (bounds memory).
    """

    def __init__(
        self,
        model: Any,
        *,
        class_names: Sequence[str] = EKMAN7_NAMES,
        emotions: Table = "ekman7",
        method: Method = "angle",
        aggregate: Aggregate = "mean",
        neutral_radius: float | None = None,
        neutral_label: str = "Neutral",
        device: str = "cpu",
        max_windows: int = 64,
    ) -> None:
        self.model = model
        self.class_names = tuple(class_names)
        self.emotions = emotions
        self.method: Method = method
        self.aggregate: Aggregate = aggregate
        self.neutral_radius = neutral_radius
        self.neutral_label = neutral_label
        self.device = device
        self.max_windows = int(max_windows)

    def predict_batch(self, frames: Any) -> Any:
        """Frame-level predictions ``(B, T', 2)`` for a ``(B, T, C, H, W)`` tensor (``T' = T - K + 1`` for frame models)."""
        import torch

        if frames.ndim != 5:
            raise ValueError(f"frames must have shape (B, T, C, H, W), got {tuple(frames.shape)}")
        frames = frames.to(self.device, torch.float32)
        is_video, k = model_frames(self.model)
        if is_video or k is None:
            out = self.model(frames)
            return out[:, None] if out.ndim == 2 else out
        if frames.shape[1] <= k:
            return self.model(frames)[:, None]
        windows = frames.unfold(1, k, 1).permute(0, 1, 5, 2, 3, 4)  # (B, T-K+1, K, C, H, W)
        b, n = windows.shape[:2]
        flat = windows.reshape(b * n, *windows.shape[2:])
        out = torch.cat([self.model(flat[i : i + self.max_windows]) for i in range(0, len(flat), self.max_windows)])
        return out.reshape(b, n, -1)

    def predict_clips(self, batches: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[np.ndarray], list[Any]]:
        """``(clip_ids, frame predictions (T_i, 2) per clip, label per clip)`` over all batches."""
        import torch

        clips: dict[str, list[np.ndarray]] = {}
        labels: dict[str, Any] = {}
        was_training = bool(getattr(self.model, "training", False))
        self.model.eval()
        self.model.to(self.device)
        count = 0
        try:
            with torch.inference_mode():
                for batch in batches:
                    va = self.predict_batch(batch["frames"]).float().cpu().numpy()
                    ids = (batch.get("meta") or {}).get("clip_id")
                    batch_labels = np.asarray(batch["label"].cpu() if hasattr(batch["label"], "cpu") else batch["label"])
                    for i in range(len(va)):
                        clip_id = str(ids[i]) if ids is not None else str(count)
                        count += 1
                        if not np.isfinite(va[i]).all():
                            raise ValueError(f"the model predicted NaN or infinite valence/arousal for clip {clip_id!r}")
                        clips.setdefault(clip_id, []).append(va[i])
                        labels[clip_id] = batch_labels.reshape(-1)[i]
        finally:
            self.model.train(was_training)
        ids_out = list(clips)
        return ids_out, [np.concatenate(clips[c]) for c in ids_out], [labels[c] for c in ids_out]

    def evaluate(self, data: Any, *, split: str = "test", settings: Mapping[str, Any] | None = None) -> ZeroShotReport:
        """Score the model on a dataloader (any iterable of batch dicts) or a LightningDataModule.

        A datamodule is prepared and set up for ``split`` (``"train"``, ``"val"`` or
        ``"test"``), and its ``{split}_dataloader()`` is used.
        """
        batches = _dataloader(data, split)
        ids, va, labels = self.predict_clips(batches)
        if not ids:
            raise ValueError("the data yielded no clip to evaluate")
        return evaluate_predictions(
            va, labels, class_names=self.class_names, emotions=self.emotions, method=self.method,
            aggregate=self.aggregate, neutral_radius=self.neutral_radius, neutral_label=self.neutral_label,
            clip_ids=ids, settings=settings,
        )


_STAGES = {"train": "fit", "val": "validate", "test": "test"}


def _dataloader(data: Any, split: str) -> Iterable[Mapping[str, Any]]:
    if not hasattr(data, f"{split}_dataloader"):
        return data
    if split not in _STAGES:
        raise ValueError(f"split must be one of {sorted(_STAGES)}, got {split!r}")
    data.prepare_data()
    data.setup(_STAGES[split])
    return getattr(data, f"{split}_dataloader")()


def run_zero_shot_report(
    model: Any,
    datamodule: Any,
    *,
    label_set: str | None = None,
    split: str = "test",
    emotions: Table = "ekman7",
    method: Method = "angle",
    aggregate: Aggregate = "mean",
    neutral_radius: float | None = None,
    device: str = "cpu",
    plot_dir: str | os.PathLike[str] | None = None,
) -> ZeroShotReport:
    """Evaluate ``model`` zero-shot on a datamodule's split and optionally save the figures.

    Args:
        model: a valence/arousal model.
        datamodule: e.g. :class:`neurova.datamodules.NEFERDataModule` (or any object with
            ``{split}_dataloader()``, or a dataloader).
        label_set: ``"expected"`` or ``"reported"`` (:data:`LABEL_SETS`); default: the
            datamodule's ``label_set`` attribute, else ``"expected"``. With ``"reported"``
            neutral predictions are called ``"None"``, as NEFER's labels do.
        split, emotions, method, aggregate, neutral_radius, device: as in :class:`ZeroShotEvaluator`.
        plot_dir: when given, writes ``zero_shot_report.json``, ``confusion_matrix.png`` and
            ``va_wheel.png`` (clip mean predictions, coloured correct/wrong) there.
    """
    label_set = label_set or getattr(datamodule, "label_set", None) or "expected"
    if label_set not in LABEL_SETS:
        raise ValueError(f"label_set must be one of {sorted(LABEL_SETS)}, got {label_set!r}")
    evaluator = ZeroShotEvaluator(
        model, class_names=LABEL_SETS[label_set], emotions=emotions, method=method, aggregate=aggregate,
        neutral_radius=neutral_radius, neutral_label="None" if label_set == "reported" else "Neutral", device=device,
    )
    report = evaluator.evaluate(datamodule, split=split, settings={"label_set": label_set, "split": split})
    if plot_dir is not None:
        from neurova import plotting

        out = Path(plot_dir)
        report.save_json(out / "zero_shot_report.json")
        plotting.save_figure(plotting.plot_confusion_matrix(report.confusion, report.class_names),
                             out / "confusion_matrix.png")
        table = resolve_table(emotions)
        true_va = np.array([table.get(name, (np.nan, np.nan)) for name in report.true], dtype=np.float64)
        wheel = plotting.plot_va_wheel(report.clip_va[:, 0], report.clip_va[:, 1],
                                       true=true_va.reshape(-1, 2), emotions=emotions)
        plotting.save_figure(wheel, out / "va_wheel.png")
    return report
