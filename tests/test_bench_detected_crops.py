"""benchmarks/bench_detected_crops.py's parts: predictions paired with the labels of their frames."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from neurova.contract import InputContract
from neurova.simulator import simulate
from tests.helpers.benchmarks import load_benchmark
from tests.helpers.scenes import moving_square

bench = load_benchmark("bench_detected_crops")
CONTRACT = InputContract(n_bits=4, bin_us=10_000, image_size=16, clip_length=2, frame_interval_us=40_000)


class MeanActivity(torch.nn.Module):
    """Predicts the mean of its input as valence and arousal."""

    input_contract = CONTRACT
    frames_used = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3, 4))[:, None].repeat(1, 2)


def test_predictions_are_paired_with_their_frames_labels() -> None:
    frames, stamps = moving_square((40, 30), n_frames=20)
    events = simulate(frames, stamps, preset="clean")
    va = np.stack([np.linspace(-1, 1, 20), np.linspace(1, -1, 20)], axis=1)
    valid = np.ones(20, dtype=bool)
    valid[-3:] = False  # unlabelled frames are left out
    meta = SimpleNamespace(face_boxes=np.tile([5.0, 5.0, 20.0, 20.0], (20, 1)), frame_timestamps_us=stamps,
                           valid=valid, va=va)
    dataset = SimpleNamespace(clips={"clip": meta}, clip_events=lambda clip_id: events, sensor_size=(40, 30))
    pred, true = bench.predict_clips(MeanActivity(), dataset, None, 500_000)
    assert pred.shape == true.shape and pred.shape[1] == 2 and 8 <= len(pred) <= 17
    # each label is that of the frame at the prediction's time: labels step by one frame's change
    np.testing.assert_allclose(np.diff(true[:, 0]), 2 / 19, atol=1e-9)
    assert set(np.round(true[:, 0], 6)) <= set(np.round(va[:17, 0], 6))


def test_from_phase_starts_the_windows_at_the_given_time() -> None:
    frames, stamps = moving_square((40, 30), n_frames=12)
    events = simulate(frames, stamps, preset="clean")
    start = int(stamps[0]) + 20_000
    shifted = bench.from_phase(events, start)
    assert shifted["t"][0] == start and (shifted["x"][0], shifted["y"][0]) == (0, 0)
    np.testing.assert_array_equal(shifted[1:], events[events["t"] >= start])
    result = bench.neurova.predict(MeanActivity(), shifted, sensor_size=(40, 30), face_box=(0, 0, 30, 30))
    assert result.timestamps_us[0] == start + 2 * 40_000  # the first window starts at the marker
