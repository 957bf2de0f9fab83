"""benchmarks/bench_inference_layout.py: its "without" runs leave the model as it is, its "with" runs do not."""

from __future__ import annotations

import numpy as np

import neurova.nets.layout
from neurova.models import create_model
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_inference_layout")


def test_without_layout_leaves_the_trunk_and_compare_reports_both() -> None:
    net = create_model("tiny_cnn_fusion").eval()
    trunk = net.net.trunk
    with neurova.nets.layout.inference_layout(net):
        assert net.net.trunk is not trunk  # folded, channels-last
    with bench.without_layout(), neurova.nets.layout.inference_layout(net):
        assert net.net.trunk is trunk and all(p.is_contiguous() for p in net.parameters())
    line = bench.compare(lambda: np.zeros(2, dtype=np.float32), repeats=1)
    assert line.startswith("with ") and "without" in line and "max |diff| 0.0e+00" in line


def test_head_recording_has_a_face_box_on_the_sensor() -> None:
    events, box = bench.head_recording(0.2)
    assert len(events) > 0 and box[2] > 0 and 0 <= box[0] and box[0] + box[2] <= bench.SENSOR.width


def test_fold_ms_times_a_fold() -> None:
    assert bench.fold_ms(create_model("tiny_cnn_fusion").eval().net.trunk, repeats=1) > 0
