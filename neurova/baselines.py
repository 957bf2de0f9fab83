"""Honest baselines for valence/arousal regression: the training mean and ridge regression on pooled activity.

Any learned model should beat both by a clear margin; the leaderboard (``docs/leaderboard.md``) lists
them beside every registered network. Both take whole splits as tensors::

    baseline = RidgeBaseline(alpha=10.0).fit(train_frames, train_va)   # frames (N, T, C, H, W), va (N, 2)
    pred = baseline.predict(test_frames)                                 # (N, 2) in [-1, 1]

The third baseline, a tiny CNN, is a registered model (``neurova.models.create_model("tiny_cnn")``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["MeanBaseline", "RidgeBaseline", "pooled_activity"]


def _check_targets(va: Tensor, n: int | None = None) -> None:
    if va.ndim != 2 or va.shape[1] != 2:
        raise ValueError(f"expected targets (N, 2) of valence and arousal, got shape {tuple(va.shape)}")
    if n is not None and va.shape[0] != n:
        raise ValueError(f"{n} inputs but {va.shape[0]} targets")
    if va.shape[0] == 0:
        raise ValueError("cannot fit a baseline on zero samples")
    if not torch.isfinite(va).all():
        raise ValueError("targets hold NaN or infinite values; drop unlabelled samples before fitting")


def pooled_activity(frames: Tensor, grid: int = 8) -> Tensor:
    """Average each frame over a ``grid x grid`` lattice of cells: a coarse map of where events happened.

    Args:
        frames: encoded frames ``(N, T, C, H, W)`` (e.g. TBR in [0, 1]), ``H, W >= grid``.
        grid: cells per side.

    Returns:
        float64 features ``(N, T * C * grid * grid)``: the mean frame value in each cell of each frame
        and channel (for TBR, the share of active pixel-bins, weighted by recency).
    """
    if frames.ndim != 5:
        raise ValueError(f"expected frames (N, T, C, H, W), got shape {tuple(frames.shape)}")
    if grid < 1 or min(frames.shape[-2:]) < grid:
        raise ValueError(f"grid must be in [1, min(H, W)] = [1, {min(frames.shape[-2:])}], got {grid}")
    n, t, c, h, w = frames.shape
    pooled = F.adaptive_avg_pool2d(frames.reshape(n * t, c, h, w).double(), grid)
    return pooled.reshape(n, t * c * grid * grid)


class MeanBaseline:
    """Predicts the mean training valence and arousal for every input (CCC 0, PCC undefined by construction)."""

    def __init__(self) -> None:
        self.mean: Tensor | None = None

    def fit(self, frames: Tensor | None, va: Tensor) -> MeanBaseline:
        """Learn the mean of ``va`` ``(N, 2)``; ``frames`` is ignored (kept for a common interface)."""
        _check_targets(va)
        self.mean = va.double().mean(dim=0)
        return self

    def predict(self, frames: Tensor) -> Tensor:
        """``(N, ...)`` → ``(N, 2)`` float32, every row the training mean."""
        if self.mean is None:
            raise RuntimeError("MeanBaseline.predict called before fit")
        return self.mean.float().expand(frames.shape[0], 2).clone()


class RidgeBaseline:
    """Closed-form ridge regression from :func:`pooled_activity` features to (valence, arousal).

    Features are standardised with the training statistics; the intercept is not penalised.
    Predictions are clipped to [-1, 1].

    Args:
        alpha: L2 penalty (on standardised features; choose it on a validation split).
        grid: cells per side of :func:`pooled_activity`.
    """

    def __init__(self, alpha: float = 1.0, grid: int = 8) -> None:
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = float(alpha)
        self.grid = int(grid)
        self._mu: Tensor | None = None
        self._sd: Tensor | None = None
        self.coef: Tensor | None = None
        self.intercept: Tensor | None = None

    def fit(self, frames: Tensor, va: Tensor) -> RidgeBaseline:
        """Fit on frames ``(N, T, C, H, W)`` and targets ``(N, 2)``."""
        _check_targets(va, frames.shape[0])
        x = pooled_activity(frames, self.grid)
        self._mu = x.mean(dim=0)
        self._sd = x.std(dim=0, correction=0).clamp_min(1e-12)
        x = (x - self._mu) / self._sd
        y = va.double()
        self.intercept = y.mean(dim=0)
        gram = x.T @ x + self.alpha * torch.eye(x.shape[1], dtype=x.dtype)
        self.coef = torch.linalg.lstsq(gram, x.T @ (y - self.intercept)).solution  # (F, 2)
        return self

    def predict(self, frames: Tensor) -> Tensor:
        """Frames ``(N, T, C, H, W)`` → ``(N, 2)`` float32 in [-1, 1]."""
        if self.coef is None or self._mu is None or self._sd is None or self.intercept is None:
            raise RuntimeError("RidgeBaseline.predict called before fit")
        x = pooled_activity(frames, self.grid)
        if x.shape[1] != self.coef.shape[0]:
            raise ValueError(f"frames give {x.shape[1]} features but the model was fitted on {self.coef.shape[0]} "
                             "(another clip length, channel count or grid)")
        x = (x - self._mu) / self._sd
        return (x @ self.coef + self.intercept).clamp(-1.0, 1.0).float()
