"""benchmarks/bench_trunk_step.py: every way it times runs the trunk to the reference's output."""

from __future__ import annotations

import torch

from neurova.models import create_model
from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_trunk_step")


def test_every_way_gives_the_eager_trunks_features() -> None:
    trunk = create_model("tiny_cnn_fusion").net.trunk.eval()
    frame = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ways = bench.variants(trunk, frame, compile_too=False)
        reference = trunk(frame)
        assert next(iter(ways)) == "eager" and len(ways) == 7
        for name, run in ways.items():
            tolerance = 2e-2 if name.startswith("bf16") else 1e-5
            torch.testing.assert_close(run(frame).float(), reference, atol=tolerance, rtol=0, msg=name)
