"""Tests of simulator inputs: video files, frame folders, arrays, upsampling and the v2e backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurova.errors import VideoFormatError
from neurova.simulator import list_frame_files, read_video, simulate, to_gray
from neurova.simulator.video import DEFAULT_FPS, load_frames
from tests.helpers.simulator import texture, write_folder, write_video

cv2 = pytest.importorskip("cv2")


# -- colour and frame folders ---------------------------------------------------------------------


def test_to_gray_matches_opencv_bt601() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    expected = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb])
    np.testing.assert_array_equal(to_gray(rgb), expected)
    np.testing.assert_array_equal(to_gray(rgb[..., ::-1], channels="bgr"), expected)
    np.testing.assert_allclose(to_gray(rgb.astype(np.float32)), expected, atol=0.51)


def test_frame_folder_in_natural_order_with_default_fps(tmp_path: Path) -> None:
    frames = np.stack([np.full((6, 8), 10 * (i + 1), np.uint8) for i in range(3)])
    folder = write_folder(tmp_path / "clip", frames, ["frame_2.png", "frame_10.png", "frame_1.png"])
    assert [p.name for p in list_frame_files(folder)] == ["frame_1.png", "frame_2.png", "frame_10.png"]
    read, times = read_video(folder)
    np.testing.assert_array_equal(read[:, 0, 0], [30, 10, 20])
    np.testing.assert_array_equal(times, np.rint(np.arange(3) * 1e6 / DEFAULT_FPS))
    assert read_video(folder, fps=10)[1].tolist() == [0, 100_000, 200_000]


def test_video_file_round_trip(tmp_path: Path) -> None:
    frames = np.stack([np.roll(texture(), i, axis=1) for i in range(5)])
    frames, times = read_video(write_video(tmp_path / "clip.avi", frames, fps=20.0))
    assert frames.shape == (5, 24, 32) and frames.dtype == np.uint8
    assert times.tolist() == [0, 50_000, 100_000, 150_000, 200_000]
    assert len(simulate(tmp_path / "clip.avi", preset="clean")) > 0


# -- bad input ------------------------------------------------------------------------------------


def test_errors_name_the_input(tmp_path: Path) -> None:
    with pytest.raises(VideoFormatError, match="no such"):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(VideoFormatError, match=r"broken\.mp4"):
        read_video(tmp_path / "broken.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoFormatError, match="no frames"):
        read_video(tmp_path / "empty")
    folder = write_folder(tmp_path / "sizes", np.zeros((2, 4, 4), np.uint8))
    cv2.imwrite(str(folder / "00002.png"), np.zeros((5, 4), np.uint8))
    with pytest.raises(VideoFormatError, match=r"size changes.*00002\.png") as info:
        read_video(folder)
    assert info.value.path == str(folder)
    bad = write_folder(tmp_path / "bad", np.zeros((1, 4, 4), np.uint8))
    (bad / "00001.png").write_bytes(b"garbage")
    with pytest.raises(VideoFormatError, match="unreadable image"):
        read_video(bad)


def test_array_input_errors() -> None:
    frames = np.zeros((3, 4, 4), np.uint8)
    with pytest.raises(VideoFormatError, match="strictly increase"):
        load_frames(frames, [0, 10, 10])
    with pytest.raises(VideoFormatError, match="3 timestamps"):
        load_frames(frames, [0, 10])
    with pytest.raises(VideoFormatError, match="empty"):
        load_frames(np.zeros((0, 4, 4), np.uint8))
    with pytest.raises(VideoFormatError, match="size changes"):
        load_frames([np.zeros((4, 4)), np.zeros((4, 5))])
    with pytest.raises(VideoFormatError, match="shape"):
        load_frames(np.zeros((4, 4), np.uint8))
    with pytest.raises(VideoFormatError, match="strictly increase"):
        simulate(frames, [0, 5, 3])


def test_rgb_lists_and_tensors_are_accepted() -> None:
    torch = pytest.importorskip("torch")
    rgb = np.stack([np.roll(np.stack([texture()] * 3, -1), i, 1) for i in range(4)])
    gray = to_gray(rgb)
    reference = simulate(gray, seed=2)
    assert len(reference) > 0
    assert (simulate(list(rgb), seed=2) == reference).all()
    assert (simulate(torch.from_numpy(gray), seed=2) == reference).all()


# -- temporal upsampling --------------------------------------------------------------------------


# -- the v2e backend ------------------------------------------------------------------------------


