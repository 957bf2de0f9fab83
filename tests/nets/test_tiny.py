"""Tests of neurova.nets.tiny: TinyConvNet's output width, the parameter count its docstring states, its input
checks. The registered models over it (``tiny_cnn``, ``tiny_cnn_fusion``) are tested in tests/models/test_tiny.py."""

from __future__ import annotations

import pytest
import torch

from neurova.nets import TinyConvNet


def _parameters(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("size", [16, 33, 64, 112])
def test_trunk_works_on_any_square_input_of_16_px_or_more(size: int) -> None:
    trunk = TinyConvNet(in_chans=2)
    assert trunk(torch.rand(3, 2, size, size)).shape == (3, trunk.num_features) == (3, 64)


def test_parameter_count_is_the_documented_one() -> None:
    trunk = TinyConvNet()
    # 3x3 convolutions without bias, then BatchNorm's weight and bias, per block
    assert _parameters(trunk) == 9 * (16 + 16 * 32 + 32 * 48 + 48 * 64) + 2 * (16 + 32 + 48 + 64) == 46_544
    assert "46.5 k parameters" in TinyConvNet.__doc__
    assert _parameters(TinyConvNet(in_chans=2)) - _parameters(trunk) == 9 * 16  # only the first convolution grows


def test_custom_widths_set_the_feature_width_and_the_minimum_size() -> None:
    trunk = TinyConvNet(in_chans=1, widths=(4, 8, 12))
    assert trunk.num_features == 12 and trunk.min_size == 8
    assert trunk(torch.rand(2, 1, 8, 8)).shape == (2, 12)
    assert TinyConvNet(widths=(8, 8)).min_size == 4


def test_pooling_makes_the_features_independent_of_the_batch() -> None:
    trunk = TinyConvNet(widths=(4, 8)).eval()
    x = torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(trunk(x)[1:2], trunk(x[1:2]))


def test_bad_inputs_and_arguments_are_refused() -> None:
    trunk = TinyConvNet()
    with pytest.raises(ValueError, match="needs H, W >= 16"):
        trunk(torch.rand(1, 1, 8, 64))
    with pytest.raises(ValueError, match=r"expects \(B, 1, H, W\)"):
        trunk(torch.rand(1, 2, 32, 32))
    with pytest.raises(ValueError, match=r"expects \(B, 1, H, W\)"):
        trunk(torch.rand(1, 32, 32))
    with pytest.raises(ValueError, match="widths"):
        TinyConvNet(widths=())
    with pytest.raises(ValueError, match="widths"):
        TinyConvNet(widths=(8, 0))
    with pytest.raises(ValueError, match="in_chans must be >= 1"):
        TinyConvNet(in_chans=0)


def test_pooling_before_the_relu_computes_what_relu_then_pool_does_gradients_included() -> None:
    torch.manual_seed(0)
    trunk = TinyConvNet(widths=(4, 8))
    conv_bn_relu_pool = []
    for i in range(0, len(trunk.features), 4):
        conv, norm, pool, relu = trunk.features[i : i + 4]
        assert isinstance(pool, torch.nn.MaxPool2d) and isinstance(relu, torch.nn.ReLU)
        conv_bn_relu_pool += [conv, norm, relu, pool]
    reference = torch.nn.Sequential(*conv_bn_relu_pool)  # the same modules in the textbook order
    x = torch.rand(3, 1, 16, 16)
    out = trunk(x)
    grads = torch.autograd.grad(out.sum(), list(trunk.parameters()))
    expected = reference(x).mean(dim=(2, 3))
    assert torch.equal(out, expected)
    for grad, expected_grad in zip(grads, torch.autograd.grad(expected.sum(), list(reference.parameters())),
                                   strict=True):
        assert torch.equal(grad, expected_grad)
