"""benchmarks/bench_memory.py: one process's timed training steps, and the whole script on a tiny run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.benchmarks import load_benchmark

bench = load_benchmark("bench_memory")


def test_measure_steps_times_each_step_and_counts_kernel_time_and_faults() -> None:
    result = bench.measure_steps("tiny_cnn_fusion", threads=1, batch_size=2, warmup=1, steps=2, retain=False)
    assert result["retained"] is False
    assert len(result["step_s"]) == 2 and all(t > 0 for t in result["step_s"])
    assert result["sys_s"] >= 0 and result["faults"] >= 0


def test_the_script_prints_both_settings_and_their_ratio() -> None:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_memory.py"
    out = subprocess.run([sys.executable, str(script), "--models", "tiny_cnn_fusion", "--threads", "1",
                          "--batch-size", "2", "--warmup", "1", "--steps", "1", "--repeats", "1"],
                         check=True, capture_output=True, text=True).stdout
    row = out.strip().splitlines()[-1].split()
    assert row[0] == "tiny_cnn_fusion" and row[1] == "1" and row[-1].endswith("x")
    assert float(row[-1][:-1]) > 0
