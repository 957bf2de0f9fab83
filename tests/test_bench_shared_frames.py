"""benchmarks/bench_shared_frames.py: its reference encodes and runs every window whole, with the same outputs."""

from __future__ import annotations

import numpy as np

import neurova
from neurova.models import create_model
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_shared_frames")
layout = load_benchmark("bench_inference_layout")  # the recording both offline benches run on


def test_every_window_whole_is_the_path_before_frames_were_shared() -> None:
    events, box = layout.head_recording(0.5)
    model = create_model("tiny_cnn_fusion", input_contract={"image_size": 32, "clip_length": 4}).eval()
    trunk_frames: list[int] = []
    hook = model.net.trunk.register_forward_hook(lambda module, args, out: trunk_frames.append(len(args[0])))
    shared = neurova.predict(model, events, sensor_size=bench.SENSOR, face_box=box, stream=False)
    shared_trunk, trunk_frames[:] = sum(trunk_frames), []
    with bench.every_window_whole():
        whole = neurova.predict(model, events, sensor_size=bench.SENSOR, face_box=box, stream=False)
    hook.remove()
    n = len(shared)
    assert n >= 3 and shared.settings["frames_encoded"] == shared_trunk == n + 3
    assert whole.settings["frames_encoded"] == sum(trunk_frames) == 4 * n
    np.testing.assert_allclose(shared.va, whole.va, atol=1e-6, rtol=0)
