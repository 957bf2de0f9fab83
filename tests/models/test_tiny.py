"""The tiny CNN models: the two registered models, a training step, saving and loading (the trunk, TinyConvNet, is
tested in tests/nets/test_tiny.py)."""

from __future__ import annotations

import pytest
import torch

from neurova.models import TinyCNN, TinyCNNFusion, create_model, from_pretrained
from neurova.nets import FrameFusionNet, SingleFrameNet


def test_registered_models_predict_the_last_frame() -> None:
    single, fusion = create_model("tiny_cnn"), create_model("tiny_cnn_fusion")
    assert isinstance(single, TinyCNN) and isinstance(single.net, SingleFrameNet)
    assert isinstance(fusion, TinyCNNFusion) and isinstance(fusion.net, FrameFusionNet)
    assert fusion.net.fusion == "mean" and fusion.frames_used == 4 and single.frames_used == 1
    assert 40_000 < single.num_parameters() == fusion.num_parameters() < 50_000
    clip = torch.rand(2, 5, 1, 48, 48)
    single.eval(), fusion.eval()
    assert single(clip).shape == fusion(clip).shape == (2, 2)
    assert torch.equal(single(clip), single(clip[:, -1]))  # only the last frame is read
    changed = clip.clone()
    changed[:, 0] = 1.0  # the fifth-latest frame is outside the fusion window
    assert torch.equal(fusion(clip), fusion(changed))
    with pytest.raises(ValueError, match="num_frames=4"):
        fusion(torch.rand(2, 3, 1, 48, 48))


def test_training_step_changes_the_weights() -> None:
    model = create_model("tiny_cnn_fusion", in_chans=2, num_frames=2, fusion="attention")
    batch = {"frames": torch.rand(4, 2, 2, 32, 32), "va": torch.rand(4, 2, 2) * 2 - 1}
    weights = {n: p for n, p in model.named_parameters() if n.endswith("weight")}
    before = {n: p.detach().clone() for n, p in weights.items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.training_step(batch, 0).backward()
    optimizer.step()
    assert all(not torch.equal(before[n], p) for n, p in weights.items())


def test_save_and_load_round_trip(tmp_path) -> None:
    model = create_model("tiny_cnn", widths=(8, 16, 24)).eval()
    x = torch.rand(2, 1, 32, 32)
    folder = model.save_pretrained(tmp_path / "tiny")
    loaded = from_pretrained(folder)
    assert isinstance(loaded, TinyCNN) and loaded.architecture == "tiny_cnn"
    assert torch.equal(model(x), loaded(x))
