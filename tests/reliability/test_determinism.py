"""Determinism: the same seed gives the same events, the same splits and the same first training steps,
in this process and in a fresh one (other hash seed, other import order)."""

from __future__ import annotations

import json

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from neurova.datasets.splits import subject_kfold
from neurova.models import create_model
from neurova.simulator import simulate

from .conftest import start_child
from .fingerprints import ACTORS, CLIPS, fingerprints, frames

CHILD = """
import json
from tests.reliability.fingerprints import fingerprints
print(json.dumps(fingerprints()))
"""


def test_same_seed_same_events_and_splits_across_processes() -> None:
    here = fingerprints()
    assert int(here["n_events"]) > 0
    assert fingerprints() == here
    child = start_child(CHILD)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == here


def test_other_seeds_change_events_and_splits() -> None:
    clip = frames()
    a, b = simulate(clip, preset="noisy", seed=7, upsample=2), simulate(clip, preset="noisy", seed=8, upsample=2)
    assert len(a) != len(b) or not np.array_equal(a, b)
    folds = {json.dumps(subject_kfold(CLIPS, ACTORS, n_folds=5, fold=0, seed=s)) for s in range(6)}
    assert len(folds) > 1
    for fold in range(5):  # subject-independent whatever the seed
        split = subject_kfold(CLIPS, ACTORS, n_folds=5, fold=fold, seed=3)
        train = {ACTORS[CLIPS.index(c)] for c in split["train"]}
        assert train.isdisjoint(ACTORS[CLIPS.index(c)] for c in split["val"])


def _train_three_steps(tmp_path: str) -> dict[str, torch.Tensor]:
    L.seed_everything(0, verbose=False)
    model = create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)
    generator = torch.Generator().manual_seed(1)
    samples = [{"frames": torch.rand(2, 1, 32, 32, generator=generator),
                "va": torch.rand(2, 2, generator=generator) * 2 - 1} for _ in range(12)]
    loader = DataLoader(samples, batch_size=4, shuffle=True)
    trainer = L.Trainer(max_steps=3, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(model, loader)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_seed_same_first_training_steps(tmp_path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only contend on a shared 2-core machine
    try:
        first = _train_three_steps(str(tmp_path / "a"))
        second = _train_three_steps(str(tmp_path / "b"))
    finally:
        torch.set_num_threads(threads)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
    L.seed_everything(0, verbose=False)
    untrained = create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2).state_dict()
    assert any(not torch.equal(untrained[k], first[k]) for k in first if first[k].is_floating_point())
