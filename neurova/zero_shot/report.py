"""The zero-shot report: scores beside their baselines, as text, JSON and figures.

:class:`ZeroShotReport` holds what :func:`neurova.zero_shot.evaluate_predictions` measured;
:func:`save_report_figures` writes it with its confusion matrix and valence-arousal wheel.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurova._atomic import atomic_path
from neurova.emotions import resolve_table
from neurova.zero_shot.mapping import Table

__all__ = ["ZeroShotReport", "save_report_figures"]


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


def save_report_figures(report: ZeroShotReport, folder: str | os.PathLike[str], *, emotions: Table = "ekman7") -> Path:
    """Write ``zero_shot_report.json``, ``confusion_matrix.png`` and ``va_wheel.png`` into ``folder``.

    The wheel shows each clip's mean predicted valence and arousal against the ``emotions`` table point of its
    true label (needs ``pip install "neurova-va[plot]"``). Returns ``folder``.
    """
    from neurova import plotting

    out = Path(folder)
    report.save_json(out / "zero_shot_report.json")
    plotting.save_figure(plotting.plot_confusion_matrix(report.confusion, report.class_names),
                         out / "confusion_matrix.png")
    table = resolve_table(emotions)
    true_va = np.array([table.get(name, (np.nan, np.nan)) for name in report.true], dtype=np.float64)
    wheel = plotting.plot_va_wheel(report.clip_va[:, 0], report.clip_va[:, 1],
                                   true=true_va.reshape(-1, 2), emotions=emotions)
    plotting.save_figure(wheel, out / "va_wheel.png")
    return out
