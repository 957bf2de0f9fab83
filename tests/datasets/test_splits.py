"""neurova.datasets.splits: subject k-fold and hold-out splits never share a subject."""

from __future__ import annotations

import pytest

from neurova.datasets import subject_kfold
from neurova.datasets.splits import check_disjoint, subject_holdout
from neurova.errors import NeurovaError


def test_split_functions() -> None:
    clips = [f"c{i}" for i in range(12)]
    subjects = [f"s{i % 6}" for i in range(12)]
    folds = [subject_kfold(clips, subjects, n_folds=3, fold=f, seed=1) for f in range(3)]
    assert sorted(c for f in folds for c in f["val"]) == sorted(clips)  # every clip validated exactly once
    subject_of = dict(zip(clips, subjects))
    for f in folds:
        check_disjoint(f, subject_of)
    hold = subject_holdout(clips, subjects, val_fraction=0.2, test_fraction=0.2, seed=0)
    check_disjoint(hold, subject_of)
    assert all(hold[k] for k in ("train", "val", "test"))
    with pytest.raises(NeurovaError, match="appears in splits"):
        check_disjoint({"train": ["c0"], "val": ["c6"]}, subject_of)
    with pytest.raises(ValueError, match="fold"):
        subject_kfold(clips, subjects, n_folds=3, fold=3)
    with pytest.raises(ValueError, match="subjects"):
        subject_kfold(clips, subjects, n_folds=7)
