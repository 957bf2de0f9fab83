"""Tests of neurova.nets.face_detector: EventFaceNet's output maps, the parameter count its docstring states, its
low face prior at initialisation, its input checks and the decoding of the maps into one box per image.

The targets, the training recipe and the shipped weights are tested in tests/test_face_detector_training.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurova.nets import EventFaceNet


def test_maps_have_one_cell_per_8_pixels() -> None:
    net = EventFaceNet().eval()
    with torch.no_grad():
        assert net(torch.zeros(3, 2, 96, 128)).shape == (3, 5, 12, 16)
        assert net(torch.zeros(1, 2, 8, 16)).shape == (1, 5, 1, 2)
    assert EventFaceNet(in_chans=1)(torch.zeros(2, 1, 32, 32)).shape == (2, 5, 4, 4)


def test_parameter_count_is_about_the_documented_tenth_of_a_million() -> None:
    assert "about 0.1 M parameters" in EventFaceNet.__doc__
    assert sum(p.numel() for p in EventFaceNet().parameters()) == 81_877
    assert sum(p.numel() for p in EventFaceNet(widths=(8, 16, 24)).parameters()) < 81_877 / 3


def test_an_untrained_net_sees_faces_nowhere() -> None:
    net = EventFaceNet().eval()
    with torch.no_grad():
        _, scores = EventFaceNet.decode(net(torch.zeros(2, 2, 32, 32)))
    np.testing.assert_allclose(scores.numpy(), 1 / (1 + np.exp(4.0)), rtol=1e-5)  # the heat-map bias of -4


def test_bad_inputs_and_arguments_are_refused() -> None:
    net = EventFaceNet()
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.zeros(1, 2, 90, 128))
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        net(torch.zeros(1, 3, 96, 128))
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        net(torch.zeros(2, 96, 128))
    with pytest.raises(ValueError, match="in_chans must be >= 1"):
        EventFaceNet(in_chans=0)
    with pytest.raises(ValueError, match="three positive channel counts"):
        EventFaceNet(widths=(16, 32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="three positive channel counts"):
        EventFaceNet(widths=(16, 0, 48))


def test_decode_reads_the_best_cell() -> None:
    maps = torch.full((1, 5, 12, 16), -10.0)
    maps[0, 0, 4, 7] = 2.0  # the best cell: row 4, column 7
    maps[0, 1:3, 4, 7] = 0.0  # sigmoid 0.5: the centre in the middle of the cell
    maps[0, 3, 4, 7] = float(np.log(3.0))  # width 3 strides = 24 px
    maps[0, 4, 4, 7] = float(np.log(4.0))  # height 32 px
    boxes, scores = EventFaceNet.decode(maps)
    np.testing.assert_allclose(boxes[0].numpy(), [7.5 * 8 - 12, 4.5 * 8 - 16, 24, 32], atol=1e-5)
    assert scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_decode_treats_each_image_of_a_batch_alone() -> None:
    maps = torch.full((2, 5, 4, 6), -10.0)
    maps[:, 1:5] = 0.0  # centres in the middle of their cell, boxes of one stride
    maps[0, 0, 0, 5] = 1.0  # image 0: top-right cell
    maps[1, 0, 3, 0] = 3.0  # image 1: bottom-left cell
    maps[1, 3:5, 3, 0] = 100.0  # a runaway size is clamped at exp(6) strides
    boxes, scores = EventFaceNet.decode(maps)
    assert boxes.shape == (2, 4) and scores.shape == (2,)
    np.testing.assert_allclose(boxes[0].numpy(), [5.5 * 8 - 4, 0.5 * 8 - 4, 8, 8], atol=1e-5)
    side = float(np.exp(6.0)) * 8
    np.testing.assert_allclose(boxes[1].numpy(), [0.5 * 8 - side / 2, 3.5 * 8 - side / 2, side, side], rtol=1e-5)
    np.testing.assert_allclose(scores.numpy(), 1 / (1 + np.exp([-1.0, -3.0])), rtol=1e-6)
