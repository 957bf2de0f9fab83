"""Metrics and losses against numpy references written here (population-variance CCC)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torchmetrics.regression import ConcordanceCorrCoef as TMConcordance

from neurova.metrics import (
    SAGR,
    CCCLoss,
    ConcordanceCorrCoef,
    LinConcordanceCorrCoef,
    VALoss,
    VAMetrics,
    ccc,
    ccc_loss,
    chance_scores,
    classification_scores,
    confusion_matrix,
    masked_mse,
    pcc,
    rmse,
    sagr,
)

# -- numpy references (one column, NaN pairs already removed) ---------------------------------------------------------


def ref_ccc(p: np.ndarray, t: np.ndarray) -> float:
    mp, mt = p.mean(), t.mean()
    vp, vt = ((p - mp) ** 2).sum() / len(p), ((t - mt) ** 2).sum() / len(t)
    cov = ((p - mp) * (t - mt)).sum() / len(p)
    return 2 * cov / (vp + vt + (mp - mt) ** 2)


def ref_pcc(p: np.ndarray, t: np.ndarray) -> float:
    return float(np.corrcoef(p, t)[0, 1])


def ref_rmse(p: np.ndarray, t: np.ndarray) -> float:
    return float(np.sqrt(np.mean((p - t) ** 2)))


def ref_sagr(p: np.ndarray, t: np.ndarray) -> float:
    return float(np.mean(np.sign(p) == np.sign(t)))


REFS = {"ccc": (ccc, ref_ccc), "pcc": (pcc, ref_pcc), "rmse": (rmse, ref_rmse), "sagr": (sagr, ref_sagr)}


def _ref_columns(ref, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = []
    for d in range(p.shape[1]):
        keep = ~(np.isnan(p[:, d]) | np.isnan(t[:, d]))
        out.append(ref(p[keep, d], t[keep, d]))
    return np.array(out)


@pytest.fixture
def va_pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    target = rng.uniform(-1, 1, size=(64, 2))
    preds = 0.6 * target + 0.1 + rng.normal(0, 0.3, size=(64, 2))
    target[[3, 10], 0] = np.nan  # unlabelled valence
    target[20, 1] = np.nan
    return preds, target


@pytest.mark.parametrize("name", sorted(REFS))
def test_functional_matches_numpy_reference(name, va_pair):
    fn, ref = REFS[name]
    preds, target = va_pair
    expected = _ref_columns(ref, preds, target)
    np.testing.assert_allclose(fn(preds, target), expected, rtol=1e-12)
    got = fn(torch.from_numpy(preds), torch.from_numpy(target))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    # 1-D input gives a scalar
    np.testing.assert_allclose(fn(preds[:, 1], target[:, 1]), expected[1], rtol=1e-12)


def test_ccc_uses_population_variance():
    p = np.array([0.1, 0.5, 0.2, 0.9])
    t = np.array([0.0, 0.4, 0.5, 0.6])
    mp, mt = p.mean(), t.mean()
    pop = 2 * np.cov(p, t, ddof=0)[0, 1] / (p.var() + t.var() + (mp - mt) ** 2)
    assert ccc(p, t) == pytest.approx(pop, rel=1e-12)
    # torchmetrics' own CCC divides the variances by N-1 and so differs for small N; ours must not
    sample_based = float(TMConcordance()(torch.tensor(p, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)))
    assert abs(sample_based - pop) > 1e-3


def test_constant_predictions_and_single_sample():
    t = np.array([-0.5, 0.0, 0.3, 0.9])
    const = np.full(4, 0.2)
    assert ccc(const, t) == 0.0
    assert np.isnan(pcc(const, t))
    assert rmse(const, t) == pytest.approx(ref_rmse(const, t))
    # both constant and equal: 0/0
    assert np.isnan(ccc(np.ones(3), np.ones(3)))
    # single sample
    assert ccc(np.array([0.5]), np.array([-0.5])) == 0.0
    assert np.isnan(pcc(np.array([0.5]), np.array([-0.5])))
    assert rmse(np.array([0.5]), np.array([-0.5])) == pytest.approx(1.0)
    assert sagr(np.array([0.5]), np.array([-0.5])) == 0.0
    # empty after masking
    assert np.isnan(ccc(np.array([0.1]), np.array([np.nan])))
    assert np.isnan(rmse(np.array([0.1]), np.array([np.nan])))


@pytest.mark.parametrize("value", [0.3, 0.1, -0.41])
@pytest.mark.parametrize("n", [7, 1000])
def test_pcc_of_a_constant_is_nan_whatever_the_rounding(value, n):
    # a float32 mean of n equal values is not always that value: the series then "varies" by ~1e-8,
    # which gave PCC ~1e-8 for some (value, n) and NaN for others; constant now means all values equal
    target = torch.randn(n, generator=torch.Generator().manual_seed(n))
    const = torch.full((n,), value)
    assert torch.isnan(pcc(const, target)) and torch.isnan(pcc(target, const))
    assert np.isnan(pcc(const.double().numpy(), target.double().numpy()))
    metrics = VAMetrics("val/")
    metrics.update(torch.stack([const, target], 1), torch.stack([target, target], 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torchmetrics variance warning either
        out = metrics.compute()
    assert torch.isnan(out["val/pcc_valence"]) and out["val/pcc_arousal"] == pytest.approx(1.0)
    assert out["val/ccc_valence"] == pytest.approx(0.0, abs=1e-6)  # CCC of a constant: 0, not NaN


def test_pcc_of_tiny_values_is_scale_free():
    p, t = np.array([0.0, 1.0, 3.0, 2.0]), np.array([0.5, 1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the product of the two variances (1e-480) would underflow to 0
        assert pcc(p * 1e-120, t * 1e-120) == pytest.approx(pcc(p, t))


def test_vametrics_pcc_is_nan_only_when_the_whole_epoch_is_constant():
    metrics = VAMetrics()
    target = torch.tensor([[-0.5, -0.5], [0.4, 0.4]])
    metrics.update(torch.full((2, 2), 0.25), target)  # constant within the batch
    metrics.update(torch.tensor([[0.25, 0.25], [0.3, 0.25]]), target)  # valence varies over the epoch
    out = metrics.compute()
    assert torch.isfinite(out["pcc_valence"]) and torch.isnan(out["pcc_arousal"])


def test_sagr_counts_zero_as_its_own_sign():
    p = np.array([0.0, 0.1, -0.2, 0.0])
    t = np.array([0.0, 0.0, -0.1, 0.3])
    assert sagr(p, t) == pytest.approx(0.5)


def test_shape_errors():
    with pytest.raises(ValueError, match="same shape"):
        ccc(np.zeros((3, 2)), np.zeros((3,)))
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, D\)"):
        rmse(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(2, 30), elements=st.floats(-1, 1)),
       arrays(np.float64, st.integers(2, 30), elements=st.floats(-1, 1)))
def test_ccc_bounded_and_below_pcc(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    c = ccc(a, b)
    if np.isnan(c):
        assert a.std() == 0 and b.std() == 0
        return
    assert -1 - 1e-9 <= c <= 1 + 1e-9
    r = pcc(a, b)
    if not np.isnan(r):
        assert abs(c) <= abs(r) + 1e-9  # CCC = PCC * bias-correction factor in [0, 1]


# -- epoch metrics -------------------------------------------------------------------------------------------------


def test_vametrics_accumulates_over_the_epoch(va_pair):
    preds, target = va_pair
    metrics = VAMetrics(prefix="val/")
    for start in range(0, 64, 10):  # uneven batches, including NaNs
        metrics.update(torch.from_numpy(preds[start:start + 10]).float(), torch.from_numpy(target[start:start + 10]).float())
    out = metrics.compute()
    expected_keys = {f"val/{m}_{d}" for m in ("ccc", "pcc", "rmse", "sagr") for d in ("valence", "arousal")}
    assert set(out) == expected_keys | {"val/ccc_mean"}
    p32, t32 = preds.astype(np.float32).astype(np.float64), target.astype(np.float32).astype(np.float64)
    for name, (_, ref) in REFS.items():
        expected = _ref_columns(ref, p32, t32)
        assert float(out[f"val/{name}_valence"]) == pytest.approx(expected[0], abs=1e-5)
        assert float(out[f"val/{name}_arousal"]) == pytest.approx(expected[1], abs=1e-5)
        assert out[f"val/{name}_valence"].dtype == torch.float32
    assert float(out["val/ccc_mean"]) == pytest.approx(_ref_columns(ref_ccc, p32, t32).mean(), abs=1e-5)
    # the epoch CCC is not the mean of per-batch CCCs
    batch_mean = np.mean([_ref_columns(ref_ccc, p32[s:s + 10], t32[s:s + 10])[1] for s in range(0, 60, 10)])
    assert abs(batch_mean - float(out["val/ccc_arousal"])) > 1e-3
    metrics.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "compute before update" warnings
        empty = metrics.compute()
    assert all(torch.isnan(v) for v in empty.values())


def test_vametrics_sequence_inputs_and_all_nan_dimension():
    rng = np.random.default_rng(1)
    preds = torch.from_numpy(rng.uniform(-1, 1, (3, 5, 2))).float()
    target = torch.from_numpy(rng.uniform(-1, 1, (3, 5, 2))).float()
    target[..., 1] = float("nan")  # no arousal labels at all
    metrics = VAMetrics()
    metrics.update(preds, target)
    out = metrics.compute()
    assert float(out["ccc_valence"]) == pytest.approx(ref_ccc(preds[..., 0].flatten().double().numpy(),
                                                              target[..., 0].flatten().double().numpy()), abs=1e-5)
    assert torch.isnan(out["ccc_arousal"]) and torch.isnan(out["ccc_mean"])
    with pytest.raises(ValueError, match="2 outputs"):
        metrics.update(torch.zeros(4, 3), torch.zeros(4, 3))


def test_concordance_metric_constant_predictions_is_zero():
    metric = LinConcordanceCorrCoef()
    metric.update(torch.zeros(8), torch.linspace(-1, 1, 8))
    assert float(metric.compute()) == 0.0
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(LinConcordanceCorrCoef().compute())  # no data


def test_concordance_metric_over_batches_equals_the_functional_value():
    rng = np.random.default_rng(3)
    p, t = rng.uniform(-1, 1, 50), rng.uniform(-1, 1, 50) * 0.5 + 0.2
    metric = LinConcordanceCorrCoef()
    for chunk in np.array_split(np.arange(50), [1, 7, 30]):  # uneven batches, one of a single sample
        metric.update(torch.tensor(p[chunk], dtype=torch.float32), torch.tensor(t[chunk], dtype=torch.float32))
    assert float(metric.compute()) == pytest.approx(ref_ccc(p, t), abs=1e-6)


def test_old_concordance_name_warns_and_gives_the_same_numbers():
    with pytest.warns(FutureWarning, match="LinConcordanceCorrCoef"):
        old = ConcordanceCorrCoef()
    assert isinstance(old, LinConcordanceCorrCoef)


def _split_updates(p: np.ndarray, t: np.ndarray, parts: list[np.ndarray], **kwargs) -> list[LinConcordanceCorrCoef]:
    metrics = []
    for idx in parts:
        metric = LinConcordanceCorrCoef(**kwargs)
        metric.update(torch.tensor(p[idx]), torch.tensor(t[idx]))
        metrics.append(metric)
    return metrics


def test_concordance_merge_state_of_two_processes():
    rng = np.random.default_rng(4)
    p, t = rng.uniform(-1, 1, 40), rng.uniform(-0.5, 1, 40)
    rank0, rank1 = _split_updates(p, t, [np.arange(0, 13), np.arange(13, 40)])
    rank0.merge_state(rank1)
    assert float(rank0.compute()) == pytest.approx(ref_ccc(p, t), abs=1e-6)


def test_concordance_simulated_distributed_gather():
    """Two ranks through torchmetrics' documented ``dist_sync_fn`` hook: every state is gathered from both."""
    rng = np.random.default_rng(5)
    p, t = rng.uniform(-1, 1, 30), rng.uniform(-1, 1, 30)
    parts = [np.arange(0, 11), np.arange(11, 30)]
    other = _split_updates(p, t, parts[1:])[0]

    def gather(tensor: torch.Tensor, group=None) -> list[torch.Tensor]:  # what rank 0 receives from ranks 0 and 1
        remote = other.moments if isinstance(other.moments, torch.Tensor) else torch.cat(other.moments)
        return [tensor, remote]

    rank0 = _split_updates(p, t, parts[:1], dist_sync_fn=gather, distributed_available_fn=lambda: True)[0]
    rank0.update(torch.tensor(p[:0]), torch.tensor(t[:0]))  # an empty batch adds nothing
    assert float(rank0.compute()) == pytest.approx(ref_ccc(p, t), abs=1e-6)
    assert float(rank0.compute()) != pytest.approx(ref_ccc(p[parts[0]], t[parts[0]]), abs=1e-3)


def test_sagr_metric_states():
    metric = SAGR()
    metric.update(torch.tensor([0.5, -0.5]), torch.tensor([0.1, 0.2]))
    metric.update(torch.tensor([-0.1]), torch.tensor([-0.3]))
    assert float(metric.compute()) == pytest.approx(2 / 3)
    assert metric.agree.dtype == torch.float32


# -- losses ---------------------------------------------------------------------------------------------------------


def test_ccc_loss_matches_reference_and_is_differentiable(va_pair):
    preds, target = va_pair
    p = torch.from_numpy(preds).requires_grad_()
    loss = ccc_loss(p, torch.from_numpy(target))
    assert loss.item() == pytest.approx(1 - _ref_columns(ref_ccc, preds, target).mean(), rel=1e-6)
    loss.backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert isinstance(CCCLoss()(p, torch.from_numpy(target)), torch.Tensor)


def test_ccc_loss_constant_predictions_and_no_labels():
    p = torch.zeros(6, 2, requires_grad=True)
    t = torch.linspace(-1, 1, 12).reshape(6, 2)
    loss = ccc_loss(p, t)
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    assert torch.isfinite(p.grad).all()
    empty = ccc_loss(p, torch.full((6, 2), float("nan")))
    assert empty.item() == 0.0 and empty.requires_grad


def test_valoss_kinds(va_pair):
    preds, target = (torch.from_numpy(a) for a in va_pair)
    keep = ~torch.isnan(target)
    mse = float(((preds[keep] - target[keep]) ** 2).mean())
    assert float(masked_mse(preds, target)) == pytest.approx(mse)
    assert float(VALoss("mse")(preds, target)) == pytest.approx(mse)
    c = float(ccc_loss(preds, target))
    assert float(VALoss("ccc")(preds, target)) == pytest.approx(c)
    assert float(VALoss("mse+ccc", weights=(0.5, 2.0))(preds, target)) == pytest.approx(0.5 * mse + 2.0 * c)
    seq = VALoss()(preds.reshape(8, 8, 2), target.reshape(8, 8, 2))  # (B, T, 2) flattens to the same pairs
    assert float(seq) == pytest.approx(mse + c)
    with pytest.raises(ValueError, match="unknown loss kind"):
        VALoss("mae")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        VALoss(weights=(1.0, -1.0))
    with pytest.raises(ValueError, match="shape"):
        VALoss()(preds, target[:, :1])


# --- classification -------------------------------------------------------------------------------------

TRUE = [0, 0, 0, 1, 1, 2]
PRED = [0, 0, 1, 1, 2, 2]


def test_confusion_matrix_and_scores_by_hand():
    cm = confusion_matrix(TRUE, PRED, 3)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    scores = classification_scores(cm)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert scores["macro_f1"] == pytest.approx((4 / 5 + 2 / 4 + 2 / 3) / 3)
    # a class predicted but never true counts in macro-F1 with F1 = 0, not in balanced accuracy
    cm4 = confusion_matrix([0, 0, 1], [0, 3, 1], 4)
    s4 = classification_scores(cm4)
    assert s4["balanced_accuracy"] == pytest.approx((1 / 2 + 1) / 2)
    assert s4["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert math.isnan(classification_scores(np.zeros((3, 3)))["accuracy"])
    with pytest.raises(ValueError, match="lie in"):
        confusion_matrix([0, 3], [0, 1], 3)


def test_chance_scores_of_a_uniform_guess():
    scores = chance_scores(np.array([3, 1]), 4)  # two of four classes occur, prevalence 3/4 and 1/4
    assert scores["accuracy"] == scores["balanced_accuracy"] == 0.25
    assert scores["macro_f1"] == pytest.approx((2 * 0.75 / 4 + 2 * 0.25 / 2) / 4)
