"""Tests of neurova.image: decoding, luma, the one crop-and-resize, and the shims of the names it took over."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.io import write_png

from neurova import faces, image
from neurova.errors import VideoFormatError
from neurova.image import INTERPOLATIONS, crop_and_resize, read_frames, read_image, to_gray


def save_png(path: Path, array: np.ndarray) -> Path:
    chw = torch.from_numpy(np.atleast_3d(array).transpose(2, 0, 1).copy())
    with warnings.catch_warnings():  # torchvision >= 0.29 flags its codecs as deprecated; they still work
        warnings.simplefilter("ignore", DeprecationWarning)
        write_png(chw, str(path))
    return path


def noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# -- decoding and luma ------------------------------------------------------------------------------------


def test_to_gray_uses_bt601_fixed_point_weights() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 30]]], dtype=np.uint8)
    # OpenCV's cvtColor(RGB2GRAY): round((4899 R + 9617 G + 1868 B) / 2**14)
    assert to_gray(rgb).tolist() == [[76, 150, 29, 124]]
    assert to_gray(rgb[..., ::-1], channels="bgr").tolist() == [[76, 150, 29, 124]]
    assert to_gray(rgb.astype(np.float32)).dtype == np.float32
    with pytest.raises(VideoFormatError, match="3 channels"):
        to_gray(np.zeros((4, 4), np.uint8))


def test_read_image_in_gray_and_rgb(tmp_path: Path) -> None:
    rgb = noise((5, 7, 3))
    path = save_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_image(path, mode="rgb"), rgb)
    np.testing.assert_array_equal(read_image(path), to_gray(rgb))
    with pytest.raises(ValueError, match="mode"):
        read_image(path, mode="bgr")  # type: ignore[arg-type]


def test_read_image_names_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(VideoFormatError, match=r"broken\.png.*unreadable image"):
        read_image(bad)
    with pytest.raises(VideoFormatError, match=r"missing\.png"):
        read_image(tmp_path / "missing.png")


def test_read_frames_stacks_and_refuses_changing_sizes(tmp_path: Path) -> None:
    a, b = noise((4, 6), 1), noise((4, 6), 2)
    paths = [save_png(tmp_path / "0.png", a), save_png(tmp_path / "1.png", b)]
    np.testing.assert_array_equal(read_frames(paths), np.stack([a, b]))
    assert read_frames([]).shape == (0, 0, 0)
    save_png(tmp_path / "2.png", noise((5, 6)))
    with pytest.raises(VideoFormatError, match=r"frame size changes: 0.png is 6x4 but 2.png is 6x5"):
        read_frames([*paths, tmp_path / "2.png"])


# -- crop_and_resize --------------------------------------------------------------------------------------


def test_area_is_the_block_mean_for_integer_factors() -> None:
    frames = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)
    out = crop_and_resize(frames, size=2, interpolation="area")
    expected = frames.reshape(2, 2, 4, 2, 4).mean(axis=(2, 4))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("interpolation", sorted(INTERPOLATIONS))
def test_resize_is_torchs_interpolate_bit_for_bit(interpolation: str) -> None:
    # the model-input operator (ToModelInput's "area" contracts) and NEFER rely on torch's numbers exactly
    frames = torch.from_numpy(noise((3, 2, 37, 29)).astype(np.float32) / 255)
    kwargs = {"mode": "area"} if interpolation == "area" else {"mode": "bilinear", "antialias": True,
                                                               "align_corners": False}
    expected = F.interpolate(frames, size=(16, 20), **kwargs)
    out = crop_and_resize(frames, size=(20, 16), interpolation=interpolation)  # type: ignore[arg-type]
    assert isinstance(out, torch.Tensor) and out.shape == (3, 2, 16, 20)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    np.testing.assert_array_equal(crop_and_resize(frames.numpy(), size="20x16", interpolation=interpolation),
                                  expected.numpy())


def test_uint8_is_rounded_and_stays_uint8() -> None:
    frames = np.array([[[0, 1], [1, 1]], [[255, 254], [255, 255]]], dtype=np.uint8)
    out = crop_and_resize(frames, size=1)
    assert out.dtype == np.uint8
    assert out[:, 0, 0].tolist() == [1, 255]  # 0.75 -> 1, 254.75 -> 255


def test_every_leading_index_is_one_image() -> None:
    clip = noise((70, 3, 12, 10))  # more images than one torch call takes
    out = crop_and_resize(clip, (1, 2, 8, 9), (4, 5), interpolation="bilinear")
    assert out.shape == (70, 3, 5, 4)
    np.testing.assert_array_equal(out[65, 2], crop_and_resize(clip[65, 2], (1, 2, 8, 9), (4, 5),
                                                              interpolation="bilinear"))


def test_box_is_rounded_and_padded_with_zeros_outside() -> None:
    frame = np.arange(1, 1 + 10 * 10, dtype=np.uint8).reshape(10, 10)
    np.testing.assert_array_equal(crop_and_resize(frame, (2.4, 3.5, 4, 3.6)), frame[4:8, 2:6])
    padded = crop_and_resize(frame, (-2, -1, 4, 4))
    assert padded[:1].sum() == 0 and padded[:, :2].sum() == 0
    np.testing.assert_array_equal(padded[1:, 2:], frame[:3, :2])
    assert crop_and_resize(frame, (20, 20, 5, 5), 3).tolist() == [[0] * 3] * 3
    tensor = crop_and_resize(torch.from_numpy(frame), (-2, -1, 4, 4))
    np.testing.assert_array_equal(tensor.numpy(), padded)
    with pytest.raises(ValueError, match=r"does not fit in images of 10x10"):
        crop_and_resize(frame, (8, 0, 4, 4), pad=False)


def test_unchanged_without_box_and_size() -> None:
    frames = noise((2, 6, 6))
    assert crop_and_resize(frames) is frames
    assert crop_and_resize(frames, size=(6, 6)) is frames


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"box": (0, 0, 0, 4)}, "positive width"),
        ({"box": (np.nan, 0, 4, 4)}, "finite"),
        ({"box": (0, 0, 4)}, "4 finite numbers"),
        ({"size": 0}, "positive integer"),
        ({"size": "4by4"}, "346x260"),
        ({"size": 4, "interpolation": "cubic"}, "interpolation must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        crop_and_resize(noise((8, 8)), **kwargs)


def test_bad_images_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        crop_and_resize(np.zeros(5, np.uint8), size=2)
    with pytest.raises(ValueError, match="uint8 or floating point"):
        crop_and_resize(np.zeros((4, 4), np.int32), size=2)


# -- the resizers it replaces ------------------------------------------------------------------------------


def test_face_crops_shrink_by_area_and_enlarge_bilinearly() -> None:
    frame = noise((40, 50))
    np.testing.assert_array_equal(faces.crop_and_resize(frame, (3, 4, 30, 30), 12),
                                  crop_and_resize(frame, (3, 4, 30, 30), 12, interpolation="area"))
    np.testing.assert_array_equal(faces.crop_and_resize(frame, (3, 4, 8, 8), 12),
                                  crop_and_resize(frame, (3, 4, 8, 8), 12, interpolation="bilinear"))
    rgb = noise((40, 50, 3))
    out = faces.crop_and_resize(rgb, (3, 4, 30, 30), 12)
    assert out.shape == (12, 12, 3)
    np.testing.assert_array_equal(out[..., 1], faces.crop_and_resize(rgb[..., 1], (3, 4, 30, 30), 12))


def test_simulator_video_shims_warn_and_point_to_neurova_image(tmp_path: Path) -> None:
    from neurova.simulator import video

    path = save_png(tmp_path / "0.png", noise((4, 6)))
    for name, call in (("read_image", lambda f: f(path)), ("read_frames", lambda f: f([path])),
                       ("to_gray", lambda f: f(noise((2, 2, 3))))):
        with pytest.warns(DeprecationWarning, match=f"moved to neurova.image.{name}"):
            shim = getattr(video, name)
        assert shim is getattr(image, name)
        call(shim)
    frames = noise((2, 8, 10))
    with pytest.warns(DeprecationWarning, match="neurova.image.crop_and_resize"):
        old = video.crop_and_resize(frames, crop=(1, 1, 6, 4), size=(3, 2))
    np.testing.assert_array_equal(old, crop_and_resize(frames, (1, 1, 6, 4), (3, 2), interpolation="bilinear"))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        video.nothing  # noqa: B018
