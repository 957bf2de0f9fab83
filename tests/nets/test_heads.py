"""Tests of neurova.nets.heads: VAHead's shapes, bound and dropout."""

from __future__ import annotations

import torch

from neurova.nets import VAHead


def test_head_maps_any_leading_shape_to_two_outputs_bounded_by_tanh():
    head = VAHead(6).eval()
    x = torch.randn(2, 3, 6) * 100
    out = head(x)
    assert out.shape == (2, 3, 2) and out.abs().max() <= 1
    unbounded = VAHead(6, bounded=False).eval()
    unbounded.load_state_dict(head.state_dict())
    torch.testing.assert_close(out, torch.tanh(unbounded(x)))
    assert unbounded(x).abs().max() > 1


def test_dropout_acts_in_training_only():
    head = VAHead(64, dropout=0.5)
    x = torch.ones(4, 64)
    assert not torch.equal(head.train()(x), head.eval()(x))
    assert isinstance(VAHead(64).dropout, torch.nn.Identity)
