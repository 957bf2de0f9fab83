"""``neurova demo`` wiring, on a miniature configuration (the full-size targets are measured, not tested)."""

from __future__ import annotations

import math

from neurova.demo import DemoConfig, run_demo
from neurova.models import TinyCNNFusion, from_pretrained

TINY = DemoConfig(n_subjects=8, clips_per_subject=1, frames_per_clip=16, image_size=32, emotion_clips_per_emotion=1,
                  epochs=1, batch_size=8, val_fraction=0.25)


def test_demo_writes_model_figures_and_reports(tmp_path, capsys):
    result = run_demo(tmp_path / "demo", config=TINY, progress=False)
    printed = capsys.readouterr().out
    for metric in ("ccc", "pcc", "rmse", "sagr"):
        for dim in ("valence", "arousal"):
            assert f"val/{metric}_{dim}" in result.metrics
    assert all(math.isfinite(v) or "pcc" in k for k, v in result.metrics.items())
    assert "CCC" in printed and "chance" in printed and "neurova predict RECORDING.raw" in printed
    model = from_pretrained(result.model_dir)
    assert isinstance(model, TinyCNNFusion) and model.architecture == "tiny_cnn_fusion"
    assert model.input_contract.image_size == 32 and model.input_contract.clip_length == 4
    assert set(result.figures) == {"va_wheel", "va_over_time", "tbr_gallery", "confusion_matrix"}
    assert all(path.stat().st_size > 0 for path in result.figures.values())
    assert result.zero_shot.n_samples == 7
