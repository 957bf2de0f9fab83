"""neurova.datamodules.synthetic: batches follow the contract, subject-disjoint splits, the emotion test split."""

from __future__ import annotations

import pytest
import torch

from neurova.datamodules import SyntheticFacesDataModule
from neurova.emotions import EKMAN7_NAMES
from neurova.errors import DatasetNotFoundError
from tests.helpers.datamodules import CONTRACT, TINY, check_batch, subjects_of


def test_synthetic_batches_follow_the_contract(synthetic: SyntheticFacesDataModule) -> None:
    contract = synthetic.input_contract
    for loader in (synthetic.train_dataloader(), synthetic.val_dataloader(), synthetic.test_dataloader()):
        for batch in loader:
            check_batch(batch, contract)
            assert (batch["label"] == -1).all()
    emotion = next(iter(synthetic.emotion_dataloader()))
    check_batch(emotion, contract)
    assert set(emotion["label"].tolist()) <= set(range(len(EKMAN7_NAMES)))


def test_synthetic_splits_are_subject_disjoint(synthetic: SyntheticFacesDataModule) -> None:
    synthetic.emotion_dataloader()
    sets = {"train": synthetic.train_set, "val": synthetic.val_set, "test": synthetic.test_set,
            "emotion": synthetic.emotion_set}
    subjects = {name: subjects_of(ds) for name, ds in sets.items()}
    assert all(subjects.values()), subjects
    names = list(subjects)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not subjects[a] & subjects[b], (a, b)
    clips = [c for ds in sets.values() for c in ds.clip_ids]
    assert len(clips) == len(set(clips)) == TINY["n_subjects"] + len(EKMAN7_NAMES)  # every clip, once


def test_test_split_choice(synthetic: SyntheticFacesDataModule) -> None:
    dm = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, test_split="emotion", **TINY)
    dm.setup("test")
    assert set(dm.test_set.clip_ids) == {f"e00-{n.lower()}" for n in EKMAN7_NAMES}
    with pytest.raises(ValueError, match="emotion"):
        SyntheticFacesDataModule(synthetic.cache_dir, test_split="emotion", emotion_clips=False)


def test_build_splits_prepares_only_their_clips(synthetic: SyntheticFacesDataModule, tmp_path) -> None:
    dm = SyntheticFacesDataModule(tmp_path, contract=CONTRACT, test_split="emotion", build_splits=["emotion"],
                                  build_workers=0, **TINY)
    dm.prepare_data()
    dm.setup("test")
    expected = {f"e00-{n.lower()}" for n in EKMAN7_NAMES}
    assert set(dm.test_set.cache.complete_clips()) == set(dm.test_set.clip_ids) == expected
    full = synthetic.make_dataset("emotion")  # the same samples as after a full build
    assert dm.test_set.cache.key == full.cache.key and len(dm.test_set) == len(full)
    for i in range(len(full)):
        assert dm.test_set[i]["meta"]["clip_id"] == full[i]["meta"]["clip_id"]
        assert torch.equal(dm.test_set[i]["frames"], full[i]["frames"])
    with pytest.raises(DatasetNotFoundError, match="prepare_data"):
        dm.setup("fit")  # the training clips were not built
    with pytest.raises(ValueError, match="build_splits"):
        SyntheticFacesDataModule(tmp_path, build_splits=["bogus"])


def test_train_phases_end_the_training_windows_at_each_phase_in_turn(synthetic: SyntheticFacesDataModule) -> None:
    dm = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, train_phases_us=(0, 20_000), **TINY)
    dm.setup(None)
    assert dm.train_set.phases_us == (0, 20_000)
    assert dm.val_set.phases_us == dm.test_set.phases_us == (0,)  # scored on the frames
    late = dm.train_set[1]["meta"]
    same = next(s for s in synthetic.train_set if s["meta"]["clip_id"] == late["clip_id"]
                and torch.equal(s["meta"]["frame_indices"], late["frame_indices"]))
    assert torch.equal(late["timestamps_us"], same["meta"]["timestamps_us"] - 20_000)
    for batch in dm.train_dataloader():
        check_batch(batch, dm.input_contract)
    for bad in ((-1,), (0.5,)):
        with pytest.raises(ValueError, match="train_phases_us must be whole numbers"):
            SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, train_phases_us=bad, **TINY)


def test_box_jitter_moves_the_training_face_boxes_of_the_events(synthetic: SyntheticFacesDataModule) -> None:
    """Datasets of events take the box error before the crop (exact), a new one each epoch; not the frames."""
    dm = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, box_jitter=(0.1, 0.2), **TINY)
    dm.setup(None)
    assert dm.jitters_events and dm.train_set.box_jitter.shift == 0.1 and dm.train_set.jitter_seed is None
    assert dm.val_set.box_jitter is None and dm.test_set.box_jitter is None  # scored on the true boxes
    loader = dm.train_dataloader()
    assert loader.dataset is dm.train_set  # no resampling of the encoded frames on top
    torch.manual_seed(0)
    first = dm.train_set.face_box(0)
    assert first != dm.train_set.face_box(0) and first != synthetic.train_set.face_box(0)
    for batch in loader:
        check_batch(batch, dm.input_contract)
    with pytest.raises(ValueError, match="cache_frames=False"):
        SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, box_jitter=(0.1, 0.2), cache_frames=True,
                                 **TINY).setup("fit")
