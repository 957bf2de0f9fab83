"""Tests of simulator inputs: video files, frame folders, arrays, upsampling and the v2e backend."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from neurova.errors import MissingDependencyError, VideoFormatError
from neurova.image import crop_and_resize
from neurova.simulator import list_frame_files, read_video, simulate, simulate_batch, to_gray
from neurova.simulator.interpolate import estimate_motion_px, interpolate_lin_log, iter_frames, upsample_factors
from neurova.simulator.video import DEFAULT_FPS, load_frames

cv2 = pytest.importorskip("cv2")


def texture(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(20, 235, (height, width), dtype=np.uint8)


def write_folder(folder: Path, frames: np.ndarray, names: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / (names[i] if names else f"{i:05d}.png")), frame)
    return folder


def write_video(path: Path, frames: np.ndarray, fps: float = 20.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames.shape[2:0:-1])
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


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


def test_simulate_crops_and_resizes_through_neurova_image() -> None:
    frames = np.arange(2 * 8 * 10, dtype=np.uint8).reshape(2, 8, 10)
    events = simulate(frames, crop=(2, 1, 6, 4), size=(3, 2))
    assert len(events) == 0 or (events["x"].max() < 3 and events["y"].max() < 2)
    shifted = np.stack([np.roll(texture(), i, 1) for i in range(4)])
    expected = simulate(crop_and_resize(shifted, (2, 1, 20, 16), (10, 8), interpolation="bilinear"), seed=1)
    assert (simulate(shifted, crop=(2, 1, 20, 16), size=(10, 8), seed=1) == expected).all()
    with pytest.raises(ValueError, match="does not fit"):
        simulate(frames, crop=(5, 0, 6, 4))


# -- temporal upsampling --------------------------------------------------------------------------


def test_lin_log_interpolation_is_linear_in_log_domain() -> None:
    a, b = np.full((1, 2), 50.0), np.full((1, 2), 200.0)
    middle = interpolate_lin_log(a, b, 3)
    expected = np.exp(np.log(50) + np.arange(1, 4)[:, None, None] / 4 * (np.log(200) - np.log(50)))
    np.testing.assert_allclose(middle, np.broadcast_to(expected, (3, 1, 2)), rtol=1e-5)


def test_motion_estimate_finds_translation() -> None:
    base = texture(48, 64)
    assert estimate_motion_px(base, base) == 0.0
    assert estimate_motion_px(base, np.roll(base, (3, -4), axis=(0, 1))) == pytest.approx(5.0)
    frames = np.stack([np.roll(base, 6 * i, axis=1) for i in range(3)])
    np.testing.assert_array_equal(upsample_factors(frames, max_step_px=2.0), [3, 3])
    np.testing.assert_array_equal(upsample_factors(frames, upsample=4), [4, 4])
    np.testing.assert_array_equal(upsample_factors(frames), [1, 1])
    with pytest.raises(ValueError, match="not both"):
        upsample_factors(frames, upsample=2, max_step_px=1.0)


def test_upsampling_adds_frames_and_spreads_events() -> None:
    frames = np.stack([np.full((2, 2), 30, np.uint8), np.full((2, 2), 200, np.uint8)])
    stream = list(iter_frames(frames, np.array([0, 40_000]), np.array([4])))
    assert [t for _, t in stream] == [0, 10_000, 20_000, 30_000, 40_000]
    plain = simulate(frames, [0, 40_000], preset="clean", sigma_thres=0.0, timestamp_mode="v2e")
    upsampled = simulate(frames, [0, 40_000], preset="clean", sigma_thres=0.0, timestamp_mode="v2e", upsample=4)
    assert len(plain) == len(upsampled) == 4 * 9
    # v2e's grid now runs per sub-interval, so every sub-interval end carries events
    assert {10_000, 20_000, 30_000} <= set(upsampled["t"].tolist())
    assert not {10_000, 20_000, 30_000} <= set(plain["t"].tolist())


def test_custom_interpolator_hook() -> None:
    calls = []

    def hold(frame_a: np.ndarray, frame_b: np.ndarray, n: int) -> np.ndarray:
        calls.append(n)
        return np.repeat(np.asarray(frame_a, np.float32)[None], n, axis=0)

    frames = np.stack([np.full((2, 2), 30, np.uint8), np.full((2, 2), 200, np.uint8)])
    events = simulate(frames, [0, 40_000], upsample=4, interpolator=hold, sigma_thres=0.0, timestamp_mode="v2e")
    assert calls == [3]
    assert events["t"].min() > 30_000  # held frames: everything happens in the last sub-interval
    with pytest.raises(ValueError, match="interpolator returned shape"):
        simulate(frames, [0, 40_000], upsample=3, interpolator=lambda a, b, n: np.zeros((1, 2, 2)))


# -- the v2e backend ------------------------------------------------------------------------------


def test_v2e_backend_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "v2e", None)
    monkeypatch.setitem(sys.modules, "v2ecore", None)
    monkeypatch.setitem(sys.modules, "v2ecore.emulator", None)
    with pytest.raises(MissingDependencyError, match=r"(?i)install v2e from its repository"):
        simulate(np.zeros((2, 2, 2), np.uint8), backend="v2e")


def test_v2e_backend_adapter_converts_events(monkeypatch: pytest.MonkeyPatch) -> None:
    created: dict[str, object] = {}

    class FakeEmulator:
        def __init__(self, **kwargs: object) -> None:
            created.update(kwargs)
            self.count = 0

        def generate_events(self, new_frame: np.ndarray, t_frame: float) -> np.ndarray | None:
            self.count += 1
            if self.count == 1:
                return None
            # two events per frame: [t (s), x, y, p (+1/-1)], deliberately out of time order
            return np.array([[t_frame, 1, 0, -1], [t_frame - 0.01, 0, 1, 1]], dtype=np.float32)

    monkeypatch.setitem(sys.modules, "v2e", types.SimpleNamespace(EventEmulator=FakeEmulator))
    events = simulate(np.zeros((3, 2, 2), np.uint8), [0, 40_000, 80_000], backend="v2e", preset="noisy", seed=3)
    assert created["pos_thres"] == 0.2 and created["shot_noise_rate_hz"] == 5.0 and created["seed"] == 0
    assert (created["output_width"], created["output_height"]) == (2, 2)
    assert events["t"].tolist() == [30_000, 40_000, 70_000, 80_000]
    assert events["x"].tolist() == [0, 1, 0, 1] and events["p"].tolist() == [True, False, True, False]


def test_simulate_batch_from_folders(tmp_path: Path) -> None:
    clips = [np.stack([np.roll(texture(seed=s), i, 1) for i in range(4)]) for s in range(2)]
    folders = [write_folder(tmp_path / f"c{i}", c) for i, c in enumerate(clips)]
    batched = simulate_batch(folders, fps=25, seed=4)
    for i, clip in enumerate(clips):
        assert (batched[i] == simulate(clip, fps=25, seed=4 + i)).all()
