"""Training-time augmentation of encoded frames, and a dataset wrapper that applies it.

A face seen in a mirror has the same valence and arousal, so a horizontal flip is a label-preserving
augmentation for every model of :mod:`neurova.models`. The flip acts on the frames a dataset returns
(``(T, C, H, W)``, all T frames of a clip flipped together so that motion stays consistent) and leaves the
labels alone. A datamodule takes it by wrapping its training set only::

    train_set = AugmentedDataset(train_set, RandomHorizontalFlip(p=0.5))

Randomness comes from ``torch``'s global generator (seeded by ``lightning.seed_everything`` and, in
dataloader workers, by the worker seed), or from an explicit ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["AugmentedDataset", "RandomHorizontalFlip"]


@dataclass(frozen=True)
class RandomHorizontalFlip:
    """Flip frames left-right with probability ``p`` (all frames of one clip together).

    Args:
        p: probability of flipping, in [0, 1].

    Call with frames ``(..., H, W)`` (a sample's ``(T, C, H, W)`` or one frame ``(C, H, W)``) and an
    optional ``torch.Generator``; returns a tensor of the same shape and dtype (the input itself when
    not flipped).
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p}")

    def __call__(self, frames: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if not isinstance(frames, Tensor) or frames.ndim < 2:
            raise TypeError(f"RandomHorizontalFlip expects a tensor (..., H, W), got "
                            f"{type(frames).__name__} {tuple(getattr(frames, 'shape', ()))}")
        if torch.rand((), generator=generator).item() < self.p:
            return frames.flip(-1)
        return frames


class AugmentedDataset(Dataset):
    """``dataset`` with ``transform`` applied to each sample's ``frames`` (other keys unchanged).

    Args:
        dataset: a map-style dataset of dict samples with a ``frames`` tensor ``(T, C, H, W)``.
        transform: callable ``frames → frames`` (e.g. :class:`RandomHorizontalFlip`).
    """

    def __init__(self, dataset: Dataset, transform: Callable[[Tensor], Tensor]) -> None:
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.dataset[index]
        if not isinstance(sample, Mapping) or "frames" not in sample:
            raise TypeError(f"AugmentedDataset expects dict samples with a 'frames' key, got {type(sample).__name__}")
        return {**sample, "frames": self.transform(sample["frames"])}
