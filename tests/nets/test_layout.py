"""Tests of neurova.nets.layout's weight layouts: :func:`to_channels_last` and :func:`restore_contiguous`.

The inference layout built on them (folding, :func:`channels_last` for a block) is tested with streaming in
tests/test_streaming.py."""

from __future__ import annotations

import torch
from torch import nn

from neurova.nets.layout import restore_contiguous, to_channels_last


def _strides(tensor: torch.Tensor, memory_format: torch.memory_format) -> tuple[int, ...]:
    return torch.empty_like(tensor, device="meta", memory_format=memory_format).stride()


def test_to_channels_last_converts_2d_and_3d_weights_keeps_outputs_and_restores() -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.Flatten(1, 2), nn.Conv2d(4 * 3, 8, 3), nn.BatchNorm2d(8))
    x = torch.randn(2, 2, 3, 8, 8)
    expected = module(x)
    weights = [module[0].weight, module[2].weight]
    changed = to_channels_last(module)
    assert {id(t) for t in changed} == {id(t) for t in weights}
    assert module[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert module[2].weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(w.is_contiguous() for w in weights)
    assert module[3].weight.ndim == 1 and module[3].weight.is_contiguous()  # other ranks untouched
    torch.testing.assert_close(module(x), expected, atol=1e-5, rtol=1e-5)
    restore_contiguous(changed)
    assert module[0].weight is weights[0] and all(w.is_contiguous() for w in weights)


def test_a_one_channel_weight_gets_channels_last_strides_so_the_convolution_returns_channels_last() -> None:
    conv = nn.Conv2d(1, 16, 3, padding=1, bias=False)
    default = conv.weight.stride()
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)  # torch counts it as both layouts
    assert not conv(torch.rand(2, 1, 8, 8)).is_contiguous(memory_format=torch.channels_last)
    changed = to_channels_last(conv)
    assert changed == [conv.weight] and conv.weight.stride() == _strides(conv.weight, torch.channels_last) != default
    out = conv(torch.rand(2, 1, 8, 8))
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    restore_contiguous(changed)
    assert conv.weight.stride() == default


def test_tensors_in_another_layout_are_left_alone() -> None:
    conv = nn.Conv2d(3, 4, 3)
    conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)
    conv.register_buffer("view", torch.rand(2, 3, 4, 5).transpose(2, 3))  # neither layout
    strides = conv.view.stride()
    assert to_channels_last(conv) == []
    assert conv.view.stride() == strides


def test_conversions_in_inference_mode_give_normal_tensors() -> None:
    conv = nn.Conv2d(3, 4, 3)
    with torch.inference_mode():
        changed = to_channels_last(conv)
        restore_contiguous(changed)
    assert changed and not conv.weight.is_inference()
    conv(torch.rand(1, 3, 5, 5)).sum().backward()
    assert conv.weight.grad is not None
