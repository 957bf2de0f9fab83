"""Subject-independent splits, saved beside the cache so that results can be reproduced.

A split maps split names (``"train"``, ``"val"``, ``"test"``) to clip ids. Every
function here splits by *subject* (AFEW-VA's ``actor``, NEFER's ``user``, a
synthetic identity), so no subject appears in two splits of one result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from neurova._atomic import atomic_path
from neurova.errors import DatasetNotFoundError, NeurovaError

__all__ = ["check_disjoint", "load_split", "save_split", "subject_holdout", "subject_kfold"]


def _subject_groups(clip_ids: Sequence[str], subjects: Sequence[str]) -> dict[str, list[str]]:
    if len(clip_ids) != len(subjects):
        raise ValueError(f"clip_ids and subjects must be equally long, got {len(clip_ids)} and {len(subjects)}")
    groups: dict[str, list[str]] = {}
    for clip_id, subject in zip(clip_ids, subjects):
        groups.setdefault(str(subject), []).append(str(clip_id))
    return groups


def subject_kfold(
    clip_ids: Sequence[str], subjects: Sequence[str], *, n_folds: int = 5, fold: int = 0, seed: int = 0
) -> dict[str, list[str]]:
    """``{"train": [...], "val": [...]}`` for fold ``fold`` of a k-fold split by subject.

    Subjects are shuffled with ``seed`` and dealt round-robin into ``n_folds`` folds;
    fold ``fold`` is the validation set. Clip ids keep their input order.

    Raises:
        ValueError: ``fold`` outside ``[0, n_folds)``, or fewer subjects than folds.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if not 0 <= fold < n_folds:
        raise ValueError(f"fold must lie in [0, {n_folds}), got {fold}")
    groups = _subject_groups(clip_ids, subjects)
    if len(groups) < n_folds:
        raise ValueError(f"cannot make {n_folds} subject folds from {len(groups)} subjects")
    order = sorted(groups)
    perm = np.random.default_rng(seed).permutation(len(order))
    val_subjects = {order[i] for rank, i in enumerate(perm) if rank % n_folds == fold}
    split: dict[str, list[str]] = {"train": [], "val": []}
    for clip_id, subject in zip(clip_ids, subjects):
        split["val" if str(subject) in val_subjects else "train"].append(str(clip_id))
    return split


def subject_holdout(
    clip_ids: Sequence[str],
    subjects: Sequence[str],
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> dict[str, list[str]]:
    """``{"train", "val", "test"}`` clip ids with whole subjects held out for validation and test.

    At least one subject goes to each held-out split whose fraction is positive
    and at least one stays in train.
    """
    groups = _subject_groups(clip_ids, subjects)
    order = sorted(groups)
    n = len(order)
    n_val = max(1, round(val_fraction * n)) if val_fraction > 0 else 0
    n_test = max(1, round(test_fraction * n)) if test_fraction > 0 else 0
    if n_val + n_test >= n:
        raise ValueError(f"cannot hold out {n_val} validation and {n_test} test subjects out of {n} subjects")
    perm = np.random.default_rng(seed).permutation(n)
    role = {order[i]: ("val" if r < n_val else "test" if r < n_val + n_test else "train") for r, i in enumerate(perm)}
    split: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for clip_id, subject in zip(clip_ids, subjects):
        split[role[str(subject)]].append(str(clip_id))
    return split


def check_disjoint(split: Mapping[str, Sequence[str]], subject_of: Mapping[str, str]) -> None:
    """Raise :class:`NeurovaError` if a subject has clips in two splits."""
    seen: dict[str, str] = {}
    for name, ids in split.items():
        for clip_id in ids:
            subject = subject_of[clip_id]
            if seen.setdefault(subject, name) != name:
                raise NeurovaError(f"subject {subject!r} appears in splits {seen[subject]!r} and {name!r}")


def save_split(path: str | os.PathLike[str], split: Mapping[str, Sequence[str]], **info: object) -> Path:
    """Write ``split`` (and any JSON-serialisable ``info``, e.g. fold and seed) to ``path`` atomically."""
    path = Path(path)
    payload = {"splits": {k: list(v) for k, v in split.items()}, "info": info}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
    return path


def load_split(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read a split written by :func:`save_split` (or a plain ``{"train": [...], ...}`` JSON)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError("split file not found", path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NeurovaError(f"malformed split JSON: {exc}", path) from exc
    splits = data.get("splits", data) if isinstance(data, dict) else None
    if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
        raise NeurovaError("a split file must map split names to lists of clip ids", path)
    return {str(k): [str(c) for c in v] for k, v in splits.items()}
