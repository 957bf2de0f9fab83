"""Horizontal flips of encoded clips and the dataset wrapper that applies them."""

from __future__ import annotations

import pytest
import torch

from neurova.augment import AugmentedDataset, RandomHorizontalFlip


def test_flip_always_never_and_whole_clips() -> None:
    frames = torch.rand(4, 2, 8, 6)
    flipped = RandomHorizontalFlip(p=1.0)(frames)
    assert torch.equal(flipped, frames.flip(-1))  # every frame and channel of the clip, left-right only
    assert torch.equal(flipped[:, :, :, 0], frames[:, :, :, -1])
    assert RandomHorizontalFlip(p=0.0)(frames) is frames


def test_flip_rate_and_generator() -> None:
    flip = RandomHorizontalFlip(p=0.3)
    frames = torch.arange(4.0).reshape(1, 1, 1, 4)
    generator = torch.Generator().manual_seed(0)
    flips = [not torch.equal(flip(frames, generator), frames) for _ in range(2000)]
    assert 0.25 < sum(flips) / len(flips) < 0.35
    again = torch.Generator().manual_seed(0)
    assert flips[:50] == [not torch.equal(flip(frames, again), frames) for _ in range(50)]


def test_flip_errors() -> None:
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        RandomHorizontalFlip(p=1.5)
    with pytest.raises(TypeError, match="expects a tensor"):
        RandomHorizontalFlip()([1, 2, 3])  # type: ignore[arg-type]


def test_augmented_dataset_transforms_frames_only() -> None:
    samples = [{"frames": torch.rand(2, 1, 4, 4), "va": torch.rand(2, 2), "meta": {"clip_id": "a"}}]
    dataset = AugmentedDataset(samples, RandomHorizontalFlip(p=1.0))
    sample = dataset[0]
    assert len(dataset) == 1
    assert torch.equal(sample["frames"], samples[0]["frames"].flip(-1))
    assert sample["va"] is samples[0]["va"] and sample["meta"] == {"clip_id": "a"}
    with pytest.raises(TypeError, match="'frames' key"):
        AugmentedDataset([torch.rand(2)], RandomHorizontalFlip())[0]


def test_box_jitter_moves_and_scales_whole_clips_as_a_detector_box_would() -> None:
    from neurova.augment import RandomBoxJitter

    clip = torch.zeros(3, 2, 64, 64)
    clip[:, :, 30:34, 40:44] = torch.tensor([0.25, 0.5, 1.0])[:, None, None, None]  # a blob, one value per frame
    assert torch.equal(RandomBoxJitter(0.0, 0.0)(clip), clip)  # no error: the true crop
    jitter = RandomBoxJitter(0.04, 0.09)
    moved = jitter(clip, torch.Generator().manual_seed(1))
    assert moved.shape == clip.shape and moved.dtype == clip.dtype
    assert set(moved.unique().tolist()) <= {0.0, 0.25, 0.5, 1.0}  # nearest neighbour: values are not blended
    masks = [(moved[k, 0] > 0) for k in range(3)]
    assert all(torch.equal(masks[0], m) for m in masks[1:])  # every frame of the clip moved alike
    assert not torch.equal(masks[0], clip[0, 0] > 0)
    again = jitter(clip, torch.Generator().manual_seed(1))
    assert torch.equal(moved, again)  # the generator decides
    # the blob's centre moves by about shift * 64 pixels (sd) over many draws; a single frame (C, H, W) works too
    g = torch.Generator().manual_seed(0)
    centres = torch.stack([torch.nonzero(jitter(clip[0], g)[0] > 0).float().mean(0) for _ in range(400)])
    spread = (centres - centres.mean(0)).std(0)
    assert 2.0 < float(spread[0]) < 5.0 and 2.0 < float(spread[1]) < 6.0
    with pytest.raises(ValueError, match="shift and scale"):
        RandomBoxJitter(-0.1, 0.0)
    with pytest.raises(TypeError, match="RandomBoxJitter expects"):
        jitter(torch.zeros(8, 8))


def test_jitter_box_is_the_same_error_applied_to_the_box() -> None:
    """The box a detector with the drawn error returns: the frames' resampling shows what this box would crop."""
    from neurova.augment import RandomBoxJitter

    jitter = RandomBoxJitter(0.04, 0.09)
    dx, dy, ratio = jitter.draw(torch.Generator().manual_seed(5))
    x0, y0, w, h = jitter.jitter_box((10.0, 20.0, 60.0, 40.0), torch.Generator().manual_seed(5))
    assert (x0 + w / 2, y0 + h / 2) == pytest.approx((40.0 + 60.0 * dx, 40.0 + 40.0 * dy))
    assert (w, h) == pytest.approx((60.0 * ratio, 40.0 * ratio)) and ratio != 1.0
    assert RandomBoxJitter(0.0, 0.0).jitter_box((10, 20, 60, 40)) == (10.0, 20.0, 60.0, 40.0)
    from neurova.faces import BoxJitter

    assert BoxJitter.of([0.04, "0.09"]) == BoxJitter(0.04, 0.09)
    for bad in ((0.1,), (0.1, 0.2, 0.3), 0.1, ("a", 0.1)):
        with pytest.raises(ValueError, match=r"my_jitter must be \(shift, scale\)"):
            BoxJitter.of(bad, "my_jitter")
    # a blob at the jittered box's centre lands at the centre of the frames resampled with the same draw
    clip = torch.zeros(1, 64, 64)
    cx, cy = 32 + 64 * dx, 32 + 64 * dy
    clip[0, round(cy) - 1:round(cy) + 1, round(cx) - 1:round(cx) + 1] = 1.0
    centre = torch.nonzero(jitter(clip, torch.Generator().manual_seed(5))[0] > 0).float().mean(0)
    assert centre.tolist() == pytest.approx([31.5, 31.5], abs=1.5)
    # spreads over many draws: the centre's sd is shift sides, the log side ratio's is scale
    g = torch.Generator().manual_seed(0)
    draws = torch.tensor([jitter.draw(g) for _ in range(2000)])
    assert draws[:, :2].std(0).tolist() == pytest.approx([0.04, 0.04], rel=0.1)
    assert float(draws[:, 2].log().std()) == pytest.approx(0.09, rel=0.1)
