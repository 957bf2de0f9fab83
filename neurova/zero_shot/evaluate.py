"""Zero-shot evaluation: score emotion decisions against labels, and run a valence/arousal model over clips.

:func:`evaluate_predictions` scores precomputed predictions; :class:`ZeroShotEvaluator` runs a model over
labelled clips first (:func:`model_frames` reads how many frames the model takes); :func:`run_zero_shot_report`
does both on a datamodule's split and writes the figures. Every score is printed beside the chance and
majority-class baselines (:class:`~neurova.zero_shot.report.ZeroShotReport`), so that chance is never mistaken
for skill. torch is imported when a model runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from neurova.contract import model_frames
from neurova.emotions import EKMAN7_NAMES
from neurova.metrics import chance_scores, classification_scores, confusion_matrix
from neurova.zero_shot.mapping import Aggregate, Method, Table, _numpy, _table_points, aggregate_clip
from neurova.zero_shot.report import ZeroShotReport, save_report_figures

__all__ = ["LABEL_SETS", "ZeroShotEvaluator", "evaluate_predictions", "model_frames", "run_zero_shot_report"]

LABEL_SETS: dict[str, tuple[str, ...]] = {
    "expected": EKMAN7_NAMES,
    "reported": (*EKMAN7_NAMES, "None"),
}
"""NEFER's class names per label set, in label-index order: the emotion each clip
was meant to elicit (``expected``, 7 Ekman classes) or the one the subject
reported (``reported``, adds ``"None"`` = index 7)."""


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
        chance=chance_scores(support, len(class_names)),
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


class ZeroShotEvaluator:
    """Run a valence/arousal model over labelled clips and score its zero-shot emotion decisions.

    Frame models (``forward((B, K, C, H, W)) -> (B, 2)`` on their last K frames, see
    :func:`model_frames`) are slid over each clip, one prediction per frame from frame
    ``K - 1`` on, each frame through a fusion or temporal net's trunk once
    (:meth:`neurova.streaming.FrameStepper.windows`); video models (``predicts_sequence``,
    ``forward((B, T, C, H, W)) -> (B, T, 2)``) predict every frame at once. Samples that share a ``meta["clip_id"]`` are pooled into one clip, and
    each clip's frame predictions are aggregated (:func:`aggregate_clip`) before scoring.

    Args:
        model: a ``torch.nn.Module`` (e.g. a :mod:`neurova.models` LightningModule).
        class_names: the label set (:data:`LABEL_SETS`); batch labels index into it.
        emotions, method, aggregate, neutral_radius, neutral_label: as in :func:`evaluate_predictions`.
        device: torch device to run the model on.
        max_windows: bounds memory: a forward pass takes at most ``max_windows`` windows' worth of frames (K each).
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
        from neurova.streaming import FrameStepper

        b, t = frames.shape[:2]
        n = t - k + 1  # windows per clip: frames i .. i + K - 1 of clip c are frames c * T + i .. of the flat batch
        index = (torch.arange(b)[:, None, None] * t + torch.arange(n)[None, :, None] + torch.arange(k)).reshape(-1, k)
        out = FrameStepper(self.model).windows(frames.flatten(0, 1), index.to(frames.device), chunk=self.max_windows * k)
        return out.reshape(b, n, -1)

    def predict_clips(self, batches: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[np.ndarray], list[Any]]:
        """``(clip_ids, frame predictions (T_i, 2) per clip, label per clip)`` over all batches; the model runs
        laid out for inference (:func:`neurova.nets.layout.inference_layout`: the same outputs to rounding)."""
        import torch

        from neurova.nets.layout import inference_layout

        clips: dict[str, list[np.ndarray]] = {}
        labels: dict[str, Any] = {}
        was_training = bool(getattr(self.model, "training", False))
        self.model.eval()
        self.model.to(self.device)
        count = 0
        try:
            with inference_layout(self.model), torch.inference_mode():
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
        save_report_figures(report, plot_dir, emotions=emotions)
    return report
