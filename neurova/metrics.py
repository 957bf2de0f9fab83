"""Metrics: valence/arousal regression (CCC, PCC, RMSE, SAGR, and the losses), and emotion classification.

Conventions (shared by the functional metrics, the losses and :class:`VAMetrics`):

* Inputs are ``(N,)`` or ``(N, D)``; metrics are computed **per dimension** (column), so a
  ``(N, 2)`` valence/arousal array gives two values, ``[valence, arousal]``.
* NaN marks an unknown value (e.g. an unlabelled frame). Pairs where the target *or* the
  prediction is NaN are dropped, independently for each dimension.
* **Variance convention: population** (divide by N, ``ddof=0``), the definition of Lin's
  concordance correlation coefficient
  ``CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)``.
  (``torchmetrics.ConcordanceCorrCoef`` divides the variances by N - 1 but not the squared mean
  difference, which biases CCC upwards for small N; :class:`LinConcordanceCorrCoef` here returns
  the population value, so it has its own name.) PCC does not depend on the convention.
* Edge cases: constant predictions give CCC = 0 whenever the targets vary or have a different
  mean; CCC is NaN only for 0/0 (both sides constant and equal, or no valid pair). PCC is NaN
  when either side is constant, including a single sample, as in ``numpy.corrcoef`` and
  ``torchmetrics.PearsonCorrCoef``; "constant" is tested exactly (all values equal), since the
  rounding of a float32 mean leaves a constant series a variance of ~1e-15, which would give
  a PCC of ~1e-8 or NaN depending on the value. The epoch-level PCC of :class:`VAMetrics`
  follows the same rule. RMSE and SAGR are NaN for an empty input only.
* SAGR (sign agreement) is the share of pairs with ``sign(pred) == sign(target)``, with
  ``sign(0) = 0`` (Kossaifi et al. 2017, AFEW-VA).

The functional metrics (:func:`ccc`, :func:`pcc`, :func:`rmse`, :func:`sagr`) accept numpy arrays
(returning float64 numpy values) or torch tensors (returning tensors of the input's dtype).
:class:`VAMetrics` accumulates over a whole epoch in float32 (CCC of one batch is biased) and
lives on the module's device.

Classification (the zero-shot emotion decisions of :mod:`neurova.zero_shot`), numpy:
:func:`confusion_matrix`, :func:`classification_scores` (accuracy, balanced accuracy, macro-F1)
and :func:`chance_scores` (the expected scores of a uniform guess).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.regression import MeanSquaredError, PearsonCorrCoef
from torchmetrics.utilities import dim_zero_cat

__all__ = [
    "DIMENSIONS",
    "SAGR",
    "CCCLoss",
    "ConcordanceCorrCoef",
    "LinConcordanceCorrCoef",
    "VALoss",
    "VAMetrics",
    "ccc",
    "ccc_loss",
    "chance_scores",
    "classification_scores",
    "confusion_matrix",
    "masked_mse",
    "pcc",
    "rmse",
    "sagr",
]

DIMENSIONS: tuple[str, str] = ("valence", "arousal")
"""Names of the two output dimensions, in column order."""

ArrayT = TypeVar("ArrayT", np.ndarray, Tensor)


# ---------------------------------------------------------------------------------------------------------------------
# functional metrics
# ---------------------------------------------------------------------------------------------------------------------


def _per_column(preds: ArrayT, target: ArrayT, fn: Callable[[Any, Any], Any]) -> ArrayT:
    """Apply ``fn(p, t)`` to each column with NaN pairs removed; ``(N,)`` → scalar, ``(N, D)`` → ``(D,)``."""
    is_torch = isinstance(preds, Tensor) or isinstance(target, Tensor)
    if is_torch:
        preds = torch.as_tensor(preds)
        target = torch.as_tensor(target, device=preds.device)
        if not preds.is_floating_point():
            preds = preds.float()
        target = target.to(preds.dtype)
    else:
        preds = np.asarray(preds, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
    if preds.shape != target.shape:
        raise ValueError(f"preds and target must have the same shape, got {tuple(preds.shape)} and {tuple(target.shape)}")
    if preds.ndim not in (1, 2):
        raise ValueError(f"expected (N,) or (N, D) inputs, got shape {tuple(preds.shape)}")
    squeeze = preds.ndim == 1
    if squeeze:
        preds, target = preds[:, None], target[:, None]
    values = []
    for d in range(preds.shape[1]):
        p, t = preds[:, d], target[:, d]
        keep = ~(torch.isnan(p) | torch.isnan(t)) if is_torch else ~(np.isnan(p) | np.isnan(t))
        values.append(fn(p[keep], t[keep]))
    out = torch.stack(values) if is_torch else np.asarray(values, dtype=np.float64)
    return out[0] if squeeze else out


def _nan_like(x: Any) -> Any:
    return torch.full((), float("nan"), dtype=x.dtype, device=x.device) if isinstance(x, Tensor) else np.float64("nan")


def _moments(p: Any, t: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Means, population variances and population covariance of two 1-D arrays."""
    mp, mt = p.mean(), t.mean()
    dp, dt = p - mp, t - mt
    return mp, mt, (dp * dp).mean(), (dt * dt).mean(), (dp * dt).mean()


def _ccc_1d(p: Any, t: Any) -> Any:
    if len(p) == 0:
        return _nan_like(p)
    mp, mt, vp, vt, cov = _moments(p, t)
    den = vp + vt + (mp - mt) ** 2
    return 2 * cov / den if den > 0 else _nan_like(p)


def _constant(x: Any) -> bool:
    """All values equal (exactly: a float mean's rounding must not make a constant series vary)."""
    return bool((x == x[0]).all())


def _pcc_1d(p: Any, t: Any) -> Any:
    if len(p) < 2 or _constant(p) or _constant(t):
        return _nan_like(p)
    _, _, vp, vt, cov = _moments(p, t)
    if not (vp > 0 and vt > 0):
        return _nan_like(p)
    r = cov / (vp**0.5 * vt**0.5)  # not (vp * vt) ** 0.5: the product of two tiny variances underflows to 0
    return r.clamp(-1.0, 1.0) if isinstance(r, Tensor) else np.clip(r, -1.0, 1.0)


def _rmse_1d(p: Any, t: Any) -> Any:
    return ((p - t) ** 2).mean() ** 0.5 if len(p) else _nan_like(p)


def _sagr_1d(p: Any, t: Any) -> Any:
    if len(p) == 0:
        return _nan_like(p)
    if isinstance(p, Tensor):
        return (torch.sign(p) == torch.sign(t)).to(p.dtype).mean()
    return (np.sign(p) == np.sign(t)).mean()


def ccc(preds: ArrayT, target: ArrayT) -> ArrayT:
    """Concordance correlation coefficient (population variances) per dimension.

    Args:
        preds: predictions ``(N,)`` or ``(N, D)``.
        target: ground truth, same shape; NaN pairs are dropped per dimension.

    Returns:
        a scalar for ``(N,)`` inputs, else ``(D,)``; in [-1, 1], NaN where undefined (see module doc).
    """
    return _per_column(preds, target, _ccc_1d)


def pcc(preds: ArrayT, target: ArrayT) -> ArrayT:
    """Pearson correlation coefficient per dimension; NaN when either side is constant (all values equal) or N < 2."""
    return _per_column(preds, target, _pcc_1d)


def rmse(preds: ArrayT, target: ArrayT) -> ArrayT:
    """Root mean squared error per dimension (same units as the inputs)."""
    return _per_column(preds, target, _rmse_1d)


def sagr(preds: ArrayT, target: ArrayT) -> ArrayT:
    """Sign agreement per dimension: share of pairs with ``sign(pred) == sign(target)``, in [0, 1]."""
    return _per_column(preds, target, _sagr_1d)


# ---------------------------------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------------------------------


def _flatten_pairs(preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if preds.shape != target.shape:
        raise ValueError(f"preds and target must have the same shape, got {tuple(preds.shape)} and {tuple(target.shape)}")
    return preds.reshape(-1, preds.shape[-1]), target.reshape(-1, target.shape[-1])


def masked_mse(preds: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over the entries whose target is not NaN; 0 (with a gradient path) if there are none."""
    keep = ~torch.isnan(target)
    if not keep.any():
        return preds.sum() * 0.0
    return ((preds[keep] - target[keep]) ** 2).mean()


def ccc_loss(preds: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """``1 - CCC`` per dimension, averaged over the dimensions that have at least one labelled pair.

    Args:
        preds: ``(..., D)`` predictions; every leading dimension is flattened into samples.
        target: same shape; NaN entries are ignored.
        eps: added to the CCC denominator, so constant predictions give a loss of 1, not NaN.

    Returns:
        a scalar in [0, 2]; 0 (with a gradient path) when no target is labelled.
    """
    preds, target = _flatten_pairs(preds, target)
    losses = []
    for d in range(preds.shape[1]):
        keep = ~torch.isnan(target[:, d])
        if keep.any():
            mp, mt, vp, vt, cov = _moments(preds[keep, d], target[keep, d])
            losses.append(1.0 - 2.0 * cov / (vp + vt + (mp - mt) ** 2 + eps))
    return torch.stack(losses).mean() if losses else preds.sum() * 0.0


class CCCLoss(nn.Module):
    """``1 - CCC`` averaged over dimensions, computed on the batch (see :func:`ccc_loss`)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, preds: Tensor, target: Tensor) -> Tensor:
        return ccc_loss(preds, target, self.eps)


LossKind = Literal["mse", "ccc", "mse+ccc"]


class VALoss(nn.Module):
    """Valence/arousal regression loss: MSE, CCC loss, or their weighted sum (the default).

    Args:
        kind: ``"mse"``, ``"ccc"`` or ``"mse+ccc"``.
        weights: ``(w_mse, w_ccc)`` for ``"mse+ccc"``: ``loss = w_mse * MSE + w_ccc * (1 - CCC)``.

    Inputs are ``(B, 2)`` or ``(B, T, 2)`` predictions and targets of the same shape; NaN targets are
    masked out of both terms.
    """

    def __init__(self, kind: LossKind = "mse+ccc", weights: Sequence[float] = (1.0, 1.0)) -> None:
        super().__init__()
        if kind not in ("mse", "ccc", "mse+ccc"):
            raise ValueError(f"unknown loss kind {kind!r}; expected 'mse', 'ccc' or 'mse+ccc'")
        if len(weights) != 2 or any(w < 0 for w in weights):
            raise ValueError(f"weights must be two non-negative numbers (w_mse, w_ccc), got {tuple(weights)}")
        self.kind = kind
        self.weights = (float(weights[0]), float(weights[1]))
        self.ccc = CCCLoss()

    def forward(self, preds: Tensor, target: Tensor) -> Tensor:
        if preds.shape != target.shape:
            raise ValueError(f"preds {tuple(preds.shape)} and target {tuple(target.shape)} differ in shape")
        if self.kind == "mse":
            return masked_mse(preds, target)
        if self.kind == "ccc":
            return self.ccc(preds, target)
        return self.weights[0] * masked_mse(preds, target) + self.weights[1] * self.ccc(preds, target)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, weights={self.weights}"


# ---------------------------------------------------------------------------------------------------------------------
# epoch-level metrics (torchmetrics)
# ---------------------------------------------------------------------------------------------------------------------


class LinConcordanceCorrCoef(Metric):
    """Lin's concordance correlation coefficient (population moments), accumulated over an epoch.

    ``update(preds, target)`` takes ``(N,)`` tensors and stores the batch's count, means, sums of
    squared deviations and co-deviation (one row of 6 numbers per batch, a ``"cat"`` state, so
    processes and :meth:`merge_state` simply pool the rows). :meth:`compute` combines the rows
    exactly (Chan et al.'s pairwise formulas, in float64 on the CPU) and returns
    ``2 cov / (var_x + var_y + (mean_x - mean_y)^2)`` with every moment divided by N: the value
    of :func:`ccc`. Constant predictions give 0, not NaN; 0/0 or no data gives NaN. Not the
    numbers of ``torchmetrics.ConcordanceCorrCoef``, which divides the variances by N - 1.
    """

    full_state_update = False
    higher_is_better = True
    is_differentiable = False
    moments: list[Tensor]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("moments", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor) -> None:
        if preds.shape != target.shape or preds.ndim != 1:
            raise ValueError(f"expected two (N,) tensors, got {tuple(preds.shape)} and {tuple(target.shape)}")
        if preds.numel() == 0:
            return
        p, t = preds.detach().double(), target.detach().double()
        mp, mt = p.mean(), t.mean()
        dp, dt = p - mp, t - mt
        row = torch.stack([torch.tensor(float(p.numel()), dtype=torch.float64, device=p.device), mp, mt,
                           (dp * dp).sum(), (dt * dt).sum(), (dp * dt).sum()])
        self.moments.append(row[None].to(torch.float32 if p.device.type == "mps" else torch.float64))

    def compute(self) -> Tensor:
        rows = self.moments
        if isinstance(rows, list) and not rows:
            return torch.tensor(float("nan"))
        rows = dim_zero_cat(rows).to("cpu", torch.float64).reshape(-1, 6)
        n, mx, my, sxx, syy, sxy = rows.unbind(1)
        total = n.sum()
        mean_x, mean_y = (n * mx).sum() / total, (n * my).sum() / total
        var_x = (sxx + n * (mx - mean_x) ** 2).sum() / total
        var_y = (syy + n * (my - mean_y) ** 2).sum() / total
        cov = (sxy + n * (mx - mean_x) * (my - mean_y)).sum() / total
        den = var_x + var_y + (mean_x - mean_y) ** 2
        return (2 * cov / den).float() if den > 0 else torch.tensor(float("nan"))


class ConcordanceCorrCoef(LinConcordanceCorrCoef):
    """Deprecated alias of :class:`LinConcordanceCorrCoef` (population moments, unlike torchmetrics' class)."""

    def __init__(self, **kwargs: Any) -> None:
        warnings.warn("neurova.metrics.ConcordanceCorrCoef is renamed LinConcordanceCorrCoef (population moments; "
                      "torchmetrics.ConcordanceCorrCoef gives other numbers); the old name will be removed",
                      FutureWarning, stacklevel=2)
        super().__init__(**kwargs)


class SAGR(Metric):
    """Sign agreement ``mean(sign(pred) == sign(target))`` accumulated over an epoch (``(N,)`` inputs)."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("agree", default=torch.zeros((), dtype=torch.float32), dist_reduce_fx="sum")
        self.add_state("total", default=torch.zeros((), dtype=torch.float32), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        if preds.shape != target.shape:
            raise ValueError(f"preds {tuple(preds.shape)} and target {tuple(target.shape)} differ in shape")
        self.agree += (torch.sign(preds) == torch.sign(target)).sum().to(self.agree.dtype)
        self.total += preds.numel()

    def compute(self) -> Tensor:
        return self.agree / self.total if self.total > 0 else torch.full_like(self.total, float("nan"))


class _PearsonCorrCoef(PearsonCorrCoef):
    """torchmetrics' Pearson correlation, NaN (without a warning) when either side was constant over the epoch.

    Tracks the smallest and largest prediction and target, so that "constant" means all values equal, as in
    :func:`pcc`; torchmetrics' own variance test misses constant float32 series (their variance rounds to ~1e-15).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, start, reduce in (("lo_p", math.inf, "min"), ("hi_p", -math.inf, "max"),
                                    ("lo_t", math.inf, "min"), ("hi_t", -math.inf, "max")):
            self.add_state(name, default=torch.tensor(start), dist_reduce_fx=reduce)

    def update(self, preds: Tensor, target: Tensor) -> None:
        super().update(preds, target)
        self.lo_p = torch.minimum(self.lo_p, preds.min().to(self.lo_p))
        self.hi_p = torch.maximum(self.hi_p, preds.max().to(self.hi_p))
        self.lo_t = torch.minimum(self.lo_t, target.min().to(self.lo_t))
        self.hi_t = torch.maximum(self.hi_t, target.max().to(self.hi_t))

    def compute(self) -> Tensor:
        if not (self.hi_p > self.lo_p and self.hi_t > self.lo_t):
            return torch.tensor(float("nan"))
        return super().compute()


_METRIC_FACTORIES: dict[str, Callable[[], Metric]] = {
    "ccc": LinConcordanceCorrCoef,
    "pcc": _PearsonCorrCoef,
    "rmse": lambda: MeanSquaredError(squared=False),
    "sagr": SAGR,
}


class VAMetrics(MetricCollection):
    """CCC, PCC, RMSE and SAGR of valence and arousal, accumulated over an epoch in float32.

    Keys are ``f"{prefix}{metric}_{dimension}"`` (``val/ccc_valence``, ``val/rmse_arousal``, ...)
    plus ``f"{prefix}ccc_mean"``, the mean of the two CCCs used for checkpoint selection.

    Args:
        prefix: key prefix, conventionally ``"train/"``, ``"val/"`` or ``"test/"``.

    ``update(preds, target)`` takes ``(..., 2)`` tensors (``(B, 2)`` or ``(B, T, 2)``); pairs with a
    NaN target are dropped per dimension. A metric that never saw a labelled pair computes NaN.
    """

    def __init__(self, prefix: str = "") -> None:
        metrics = {f"{name}_{dim}": factory() for name, factory in _METRIC_FACTORIES.items() for dim in DIMENSIONS}
        super().__init__(metrics, prefix=prefix, compute_groups=False)

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        preds, target = _flatten_pairs(preds.detach(), target.detach())
        if preds.shape[-1] != len(DIMENSIONS):
            raise ValueError(f"expected {len(DIMENSIONS)} outputs (valence, arousal), got {preds.shape[-1]}")
        preds, target = preds.float(), target.float()
        for d, dim in enumerate(DIMENSIONS):
            keep = ~(torch.isnan(target[:, d]) | torch.isnan(preds[:, d]))
            if not keep.any():
                continue
            p, t = preds[keep, d], target[keep, d]
            for name in _METRIC_FACTORIES:
                self[f"{name}_{dim}"].update(p, t)

    def compute(self) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for key, metric in self.items(keep_base=True, copy_state=False):
            value = metric.compute() if metric.update_count else torch.tensor(float("nan"))
            out[f"{self.prefix or ''}{key}"] = value.float().reshape(())
        p = self.prefix or ""
        out[f"{p}ccc_mean"] = (out[f"{p}ccc_valence"] + out[f"{p}ccc_arousal"]) / 2
        return out


# ---------------------------------------------------------------------------------------------------------------------
# classification (numpy)
# ---------------------------------------------------------------------------------------------------------------------


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


def chance_scores(support: np.ndarray, n_classes: int) -> dict[str, float]:
    """Expected accuracy, balanced accuracy and macro-F1 of guessing uniformly among ``n_classes``.

    ``support`` holds the count of true labels of the first ``len(support)`` classes; the macro-F1
    comes from each class's expected precision (its prevalence) and recall (``1 / n_classes``).
    """
    prevalence = support / support.sum()
    k = float(n_classes)
    f1 = np.zeros(n_classes)
    f1[: len(prevalence)] = 2 * prevalence / (k * prevalence + 1)
    return {"accuracy": 1 / k, "balanced_accuracy": 1 / k, "macro_f1": float(f1.mean())}
