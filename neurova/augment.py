"""Training-time augmentation of encoded frames, and a dataset wrapper that applies it.

A face seen in a mirror has the same valence and arousal, so a horizontal flip is a label-preserving
augmentation for every model of :mod:`neurova.models`. A face box found by a detector is not the true box the
training crops use: :class:`RandomBoxJitter` moves and scales the crop as a detector's error does. Both act on
the frames a dataset returns (``(T, C, H, W)``, all T frames of a clip transformed together so that motion stays
consistent) and leave the labels alone. A datamodule takes them by wrapping its training set only
(:class:`neurova.transforms.Compose` chains them)::

    train_set = AugmentedDataset(train_set, Compose([RandomHorizontalFlip(p=0.5), RandomBoxJitter()]))

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

from neurova.faces import BoxJitter

__all__ = ["AugmentedDataset", "RandomBoxJitter", "RandomHorizontalFlip", "augmented"]


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


@dataclass(frozen=True)
class RandomBoxJitter(BoxJitter):
    """Move and scale the face crop as a face detector's error does (all frames of one clip together).

    Draws a box error (:class:`neurova.faces.BoxJitter`: ``dx, dy ~ N(0, shift)`` box sides, side ratio
    ``exp(N(0, scale))``) and resamples the frames as a crop with that box would show them: nearest neighbour
    (encoded values such as TBR codes are not blended), zeros outside the frame. That is an approximation: a
    detector's box brings other events to the model's input size (the contract's event-domain resize keeps their
    statistics at any box size), which resampling the encoded frames does not. Datasets of events apply the error
    to the box itself, before the crop (``box_jitter`` of :class:`neurova.datasets.cache.EventCacheDataset`), which
    is exact; this is for frames without their events.

    Args:
        shift: sd of the centre's error along each axis, in box sides (>= 0).
        scale: sd of the log of the side ratio (>= 0).

    Call with frames ``(T, C, H, W)`` or ``(C, H, W)`` and an optional ``torch.Generator``; returns a new tensor of
    the same shape and dtype.
    """

    def __call__(self, frames: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if not isinstance(frames, Tensor) or frames.ndim not in (3, 4):
            raise TypeError(f"RandomBoxJitter expects a tensor (T, C, H, W) or (C, H, W), got "
                            f"{type(frames).__name__} {tuple(getattr(frames, 'shape', ()))}")
        clip = frames if frames.ndim == 4 else frames[None]
        dx, dy, ratio = self.draw(generator)
        # output pixel at normalised position u (-1..1 over the box) shows the input at the detected box's u:
        # ratio * u + 2 * (dx, dy)
        theta = torch.tensor([[ratio, 0.0, 2 * dx], [0.0, ratio, 2 * dy]], dtype=torch.float32)
        grid = torch.nn.functional.affine_grid(theta[None].expand(len(clip), 2, 3), list(clip.shape),
                                               align_corners=False)
        out = torch.nn.functional.grid_sample(clip.float(), grid, mode="nearest", padding_mode="zeros",
                                              align_corners=False).to(frames.dtype)
        return out if frames.ndim == 4 else out[0]


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


def augmented(dataset: Dataset, hflip: float = 0.0, box_jitter: tuple[float, float] | None = None) -> Dataset:
    """``dataset`` with the training augmentations: flips with probability ``hflip``, then
    :class:`RandomBoxJitter` with ``box_jitter = (shift, scale)``; ``dataset`` itself when there are none."""
    from neurova.transforms import Compose

    transforms = [*([RandomHorizontalFlip(hflip)] if hflip > 0 else []),
                  *([RandomBoxJitter(*box_jitter)] if box_jitter is not None else [])]
    return AugmentedDataset(dataset, Compose(transforms)) if transforms else dataset
