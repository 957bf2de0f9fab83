"""The training-mean and ridge baselines."""

from __future__ import annotations

import pytest
import torch

from neurova.baselines import MeanBaseline, RidgeBaseline, pooled_activity
from neurova.metrics import ccc


def _linear_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames whose 2x2 cells hold random activity, and VA that is a fixed linear map of it."""
    g = torch.Generator().manual_seed(seed)
    cells = torch.rand(n, 1, 1, 2, 2, generator=g)
    frames = cells.repeat_interleave(8, dim=-1).repeat_interleave(8, dim=-2)  # (n, 1, 1, 16, 16)
    weights = torch.tensor([[1.0, -0.5], [0.5, 0.5], [-1.0, 0.2], [0.3, -0.8]])
    va = (cells.reshape(n, 4) - 0.5) @ weights * 0.8
    return frames, va


def test_pooled_activity() -> None:
    frames = torch.zeros(3, 2, 1, 16, 16)
    frames[:, :, :, :8, :8] = 1.0  # the top-left quarter of every frame is active
    features = pooled_activity(frames, grid=2)
    assert features.shape == (3, 2 * 1 * 4) and features.dtype == torch.float64
    assert features[0].tolist() == [1.0, 0.0, 0.0, 0.0] * 2
    with pytest.raises(ValueError, match="grid"):
        pooled_activity(frames, grid=17)
    with pytest.raises(ValueError, match=r"\(N, T, C, H, W\)"):
        pooled_activity(frames[0])


def test_mean_baseline() -> None:
    frames, va = _linear_data(40, 0)
    baseline = MeanBaseline().fit(frames, va)
    pred = baseline.predict(frames[:5])
    assert pred.shape == (5, 2)
    assert torch.allclose(pred, va.mean(0).expand(5, 2))
    assert torch.allclose(ccc(pred, va[:5]), torch.zeros(2), atol=1e-6)
    with pytest.raises(RuntimeError, match="before fit"):
        MeanBaseline().predict(frames)


def test_ridge_recovers_a_linear_relation_on_unseen_inputs() -> None:
    frames, va = _linear_data(200, 0)
    test_frames, test_va = _linear_data(50, 1)
    pred = RidgeBaseline(alpha=1e-3, grid=2).fit(frames, va).predict(test_frames)
    assert pred.shape == (50, 2) and pred.dtype == torch.float32
    assert torch.allclose(pred, test_va, atol=1e-3)


def test_ridge_penalty_shrinks_towards_the_mean() -> None:
    frames, va = _linear_data(200, 0)
    pred = RidgeBaseline(alpha=1e9, grid=2).fit(frames, va).predict(frames)
    assert torch.allclose(pred, va.mean(0).expand_as(pred), atol=1e-4)


def test_ridge_errors() -> None:
    frames, va = _linear_data(10, 0)
    with pytest.raises(ValueError, match="alpha"):
        RidgeBaseline(alpha=-1)
    with pytest.raises(ValueError, match="10 inputs but 9 targets"):
        RidgeBaseline().fit(frames, va[:9])
    bad = va.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        RidgeBaseline().fit(frames, bad)
    with pytest.raises(RuntimeError, match="before fit"):
        RidgeBaseline().predict(frames)
    fitted = RidgeBaseline(grid=2).fit(frames, va)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(frames.repeat(1, 2, 1, 1, 1))
