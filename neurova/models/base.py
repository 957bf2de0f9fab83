"""The base class of every model, under its former path: :class:`neurova.models.task.VARegressionTask`.

``VARegressionModule`` is an alias of ``VARegressionTask``, kept so that ``isinstance(model, VARegressionModule)``
and ``from neurova.models.base import VARegressionModule`` keep working; new code imports ``VARegressionTask``
from :mod:`neurova.models`.
"""

from __future__ import annotations

from neurova.models.task import SchedulerKind, Stage, VARegressionTask

VARegressionModule = VARegressionTask

__all__ = ["SchedulerKind", "Stage", "VARegressionModule"]
