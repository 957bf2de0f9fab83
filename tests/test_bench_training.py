"""The reusable parts of benchmarks/bench_training.py: model selection and the train step."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from neurova.models import create_model
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_training")


def test_select_models_keeps_the_order_given_and_drops_repeats() -> None:
    assert bench.select_models("tiny_cnn_fusion, tiny_cnn*,resnet18") == ["tiny_cnn_fusion", "tiny_cnn", "resnet18"]


def test_select_models_names_the_pattern_that_matches_nothing() -> None:
    with pytest.raises(ValueError, match="'resnet99' matches no registered model"):
        bench.select_models("tiny_cnn,resnet99")


@pytest.mark.parametrize("variant", bench.VARIANTS, ids=lambda v: v.name)
def test_train_step_variants_agree_with_fp32_and_train(variant: Any) -> None:
    torch.manual_seed(0)
    model = create_model("tiny_cnn_fusion")
    batch = {"frames": torch.rand(4, 4, 1, 32, 32), "va": torch.rand(4, 4, 2) * 2 - 1}
    reference = bench.TrainStep(model, bench.VARIANTS[0], batch, torch.device("cpu"))
    runner = bench.TrainStep(model, variant, batch, torch.device("cpu"))
    before = runner.predict()
    assert before.shape == (4, 2) and before.dtype == torch.float32
    assert (before - reference.predict()).abs().max().item() <= variant.atol
    times = runner.timed_steps(3)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert len(runner.losses) == 3 and all(math.isfinite(loss) for loss in runner.losses)
    assert not torch.equal(runner.predict(), before)  # the optimiser moved the weights
