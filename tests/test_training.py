"""``neurova.training``: the precision rule (bf16 autocast only where the device computes bf16 natively)."""

from __future__ import annotations

import pytest
import torch

from neurova import training
from neurova.demo import DemoConfig, run_demo
from neurova.models import from_pretrained


@pytest.mark.parametrize("explicit", ["32-true", "bf16-mixed", "16-mixed"])
def test_explicit_precision_is_kept(explicit: str) -> None:
    assert training.resolve_precision(explicit, "cpu") == explicit


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_cpus_bf16_support(monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native, raising=False)
    assert training.native_bf16("cpu") is native
    assert training.resolve_precision("auto", "cpu") == ("bf16-mixed" if native else "32-true")
    assert training.resolve_precision(" AUTO ", "cpu") == ("bf16-mixed" if native else "32-true")


def test_mps_never_gets_bf16() -> None:
    assert training.resolve_precision("auto", "mps") == "32-true"


def test_demo_under_bf16_saves_a_float32_model(tmp_path, capsys) -> None:
    config = DemoConfig(n_subjects=8, frames_per_clip=16, image_size=32, emotion_clips_per_emotion=1, epochs=1,
                        batch_size=8, val_fraction=0.25)
    result = run_demo(tmp_path / "demo", config=config, precision="bf16-mixed", progress=False)
    assert "(bf16-mixed precision)" in capsys.readouterr().out
    model = from_pretrained(result.model_dir)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert all(torch.isfinite(p).all() for p in model.parameters())
