"""Zero-shot emotion recognition from predicted valence and arousal.

One module per job:

* :mod:`~neurova.zero_shot.mapping` — the valence-arousal → emotion mapping: :func:`classify_emotion`
  (nearest direction or nearest point among an emotion table of :mod:`neurova.emotions`) and
  :func:`aggregate_clip` (one emotion per clip); numpy only;
* :mod:`~neurova.zero_shot.evaluate` — scoring decisions against labels (:func:`evaluate_predictions`),
  running a model over labelled clips (:class:`ZeroShotEvaluator`, :func:`~neurova.zero_shot.evaluate.model_frames`),
  and both on a datamodule (:func:`run_zero_shot_report`); the label sets :data:`LABEL_SETS`;
* :mod:`~neurova.zero_shot.report` — :class:`ZeroShotReport` (scores beside chance and majority baselines,
  as text and JSON) and its figures (:func:`~neurova.zero_shot.report.save_report_figures`).

The classification metrics (confusion matrix, accuracy, balanced accuracy, macro-F1) live with the other
metrics in :mod:`neurova.metrics`. Importing this package loads the mapping only (numpy); the evaluation
names load :mod:`~neurova.zero_shot.evaluate` (and torch) on first use.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from neurova.zero_shot.mapping import Aggregate, Method, Table, aggregate_clip, classify_emotion

__all__ = [
    "LABEL_SETS",
    "Aggregate",
    "Method",
    "Table",
    "ZeroShotEvaluator",
    "ZeroShotReport",
    "aggregate_clip",
    "classify_emotion",
    "evaluate_predictions",
    "run_zero_shot_report",
]

# imported on first use, so that the mapping stays numpy-only (evaluation imports torch through neurova.metrics)
_LAZY = {
    "LABEL_SETS": "neurova.zero_shot.evaluate",
    "ZeroShotEvaluator": "neurova.zero_shot.evaluate",
    "evaluate_predictions": "neurova.zero_shot.evaluate",
    "run_zero_shot_report": "neurova.zero_shot.evaluate",
    "ZeroShotReport": "neurova.zero_shot.report",
}

_MOVED = {
    "classification_scores": "neurova.metrics",
    "confusion_matrix": "neurova.metrics",
    "model_frames": "neurova.zero_shot.evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MOVED:
        warnings.warn(f"neurova.zero_shot.{name} moved to {_MOVED[name]}.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
