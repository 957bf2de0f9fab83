"""Benchmark of streaming inference: per-prediction latency of ``neurova.predict(..., stream=True)``.

A head-and-shoulders scene of the synthetic faces (160x120 sensor, the demo's) is rendered and simulated, then
fed to ``predict`` in chunks of one hop (40 ms) at the demo contract (TBR N = 8, Δt = 5 ms, 4 frames of
64x64), with a fixed face box. Reported per model and thread count: median, p99 and max latency of a
prediction (face box, encoding, model; ``Prediction.latency_ms``) and, as the in-process reference, the old
path measured on the same windows at the same thread count: every window encoded whole
(``ToModelInput``) and the model run on all K frames. The outputs of both must agree (max |diff| printed) for
boxes up to 64 pixels; a larger box is integrated by an emulated 64x64 sensor over it, which the streaming path
keeps running while the box holds and the old path restarted at every window, so their outputs differ a little
(``bench_box_sensor.py`` scores both).
``cpu`` is the process CPU time per prediction (mean over the run): at one thread, what the latency would be
on an otherwise idle core, whatever else the machine runs. ``offline`` is a whole offline ``predict`` call on the same
recording at the same ``threads`` (batches of 16 predictions), in ms per prediction (median of 3 calls).

Targets on 2 cores (issue 13): median <= 5 ms and p99 <= 15 ms quiet; max < 40 ms (the hop) with two
other busy processes (``--load 2``).

    python benchmarks/bench_streaming.py                          # both models, 1 and 2 threads, quiet
    python benchmarks/bench_streaming.py --load 2                 # with 2 busy processes beside it
    python benchmarks/bench_streaming.py --box 96                 # a box larger than 64: resized once per event
    python benchmarks/bench_streaming.py --unfolded               # adds the trunk with batch norm unfolded (A/B)
    python benchmarks/bench_streaming.py --realtime               # chunks paced as a live camera delivers them
    python benchmarks/bench_streaming.py --detect-face learned    # the face tracked in a worker thread

With ``--realtime`` the stream's chunks come at the camera's pace (``replay(..., realtime=True)``: a 6 s recording
takes 6 s per row); the old path, which is not paced, then only checks the outputs and its row is left out. With
``--detect-face DETECTOR`` the face is found and tracked (``detect_lag_us`` 80 ms: in a worker thread beside the
predictions) instead of the fixed box, in the streamed and the offline runs; the old path's row is left out.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import numpy as np
import torch

import neurova
import neurova.nets.layout
from neurova.contract import InputContract
from neurova.datasets.render import sample_identity, sample_va_trajectory
from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
from neurova.events import SensorSize, slice_time
from neurova.models import create_model
from neurova.simulator import simulate
from neurova.streaming import intra_op_threads, replay
from neurova.transforms import ToModelInput

SENSOR = SensorSize(160, 120)
CONTRACT = InputContract(encoding="tbr", n_bits=8, bin_us=5000, polarity="merge", image_size=64, clip_length=4,
                         frame_interval_us=40_000, face_crop="box")
HOP_US = 40_000


def simulated_recording(seconds: float, box_side: float, seed: int = 0) -> tuple[np.ndarray, tuple[int, ...]]:
    """Events of a synthetic head-and-shoulders clip and its face box (the median true box, ``box_side`` pixels)."""
    n = round(seconds * 25)
    layout = sample_scene_layout(seed, SENSOR, face_fraction=(box_side / SENSOR.height,) * 2)
    va = sample_va_trajectory(n, seed, fps=25)
    frames, boxes = render_scene_clip(sample_identity(seed), layout, va, fps=25, rng=seed)
    stamps = np.arange(n, dtype=np.int64) * 40_000
    events = simulate(np.rint(frames * 255).astype(np.uint8), stamps, preset="clean", max_step_px=1.0, seed=seed)
    x0, y0, w, h = np.median(boxes, axis=0)
    side = round(box_side)
    return events, (round(x0 + w / 2 - side / 2), round(y0 + h / 2 - side / 2), side, side)


def old_path(model: torch.nn.Module, events: np.ndarray, times: np.ndarray, box: tuple[int, ...]) -> tuple:
    """Latencies (ms) and outputs ``(N, 2)`` of encoding every window whole and running the model on all K frames."""
    encode = ToModelInput(CONTRACT, box, num_frames=CONTRACT.clip_length)
    latency, outputs = [], []
    with torch.inference_mode():
        for t_end in times:
            start = time.perf_counter()
            window = slice_time(events, int(t_end) - encode.history_us, int(t_end))
            outputs.append(model(torch.from_numpy(encode(window, int(t_end)))[None]).numpy()[0])
            latency.append((time.perf_counter() - start) * 1e3)
    return np.array(latency), np.array(outputs)


@contextmanager
def busy_processes(n: int) -> Iterator[None]:
    """``n`` processes spinning a core each for the duration of the block."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def stats(ms: np.ndarray) -> str:
    return f"{np.median(ms):7.2f} {np.percentile(ms, 99):7.2f} {ms.max():7.2f}"


def timed(fn, *args, **kwargs):
    """``(fn's result, process CPU seconds it took)``."""
    start = time.process_time()
    result = fn(*args, **kwargs)
    return result, time.process_time() - start


def offline_seconds(model: torch.nn.Module, events: np.ndarray, face: dict, threads: int | str) -> float:
    """Wall seconds of one offline ``predict`` call (called at torch's default thread count, as a user calls it)."""
    start = time.perf_counter()
    neurova.predict(model, events, sensor_size=SENSOR, **face, threads=threads)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny_cnn_fusion", "resnet18_fusion"])
    parser.add_argument("--threads", nargs="+", type=lambda v: v if v == "auto" else int(v), default=[1, 2, "auto"],
                        help="torch intra-op thread counts, or 'auto' (predict's default: the old path then runs at "
                             "one thread)")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of the simulated recording")
    parser.add_argument("--box", type=float, default=60.0, help="face box side in sensor pixels (image_size 64)")
    parser.add_argument("--load", type=int, default=0, help="busy processes started beside the benchmark")
    parser.add_argument("--realtime", action="store_true",
                        help="feed the chunks at a live camera's pace (the old path's row is then left out)")
    parser.add_argument("--unfolded", action="store_true",
                        help="also run the streaming path with the trunk's batch norms left unfolded (the A/B of "
                             "neurova.nets.layout.fold_batch_norm)")
    parser.add_argument("--detect-face", default=None, choices=("auto", "learned", "haar"),
                        help="track the face with this detector (80 ms lag: a worker thread) instead of the fixed box")
    args = parser.parse_args()

    events, box = simulated_recording(args.seconds, args.box)
    face = {"face_box": box} if args.detect_face is None else {"detect_face": args.detect_face, "detect_lag_us": 80_000}
    print(f"recording: {len(events)} events over {args.seconds:g} s on {SENSOR.width}x{SENSOR.height}, face box "
          f"{box}; contract: TBR N={CONTRACT.n_bits}, {CONTRACT.clip_length} frames of {CONTRACT.image_size}^2, "
          f"hop {HOP_US // 1000} ms; cpus {os.cpu_count()}, busy processes {args.load}, "
          f"loadavg before {os.getloadavg()[0]:.2f}")
    print(f"{'model':16} {'thr':>4} {'path':4} {'median':>7} {'p99':>7} {'max':>7} {'cpu':>6} {'offline':>7}  "
          "(ms per prediction)")
    torch.manual_seed(0)
    with busy_processes(args.load):
        for name in args.models:
            model = create_model(name, input_contract=CONTRACT.to_dict()).eval()
            for threads in args.threads:
                with intra_op_threads(1 if threads == "auto" else threads):  # the old path's count
                    neurova.predict(model, replay(events[: len(events) // 10], HOP_US), sensor_size=SENSOR, **face,
                                    threads=threads)  # warm-up
                    new, new_cpu = timed(neurova.predict, model, replay(events, HOP_US, realtime=args.realtime),
                                         sensor_size=SENSOR, **face, threads=threads)
                    if args.unfolded:
                        unfold = mock.patch.object(neurova.nets.layout, "fold_batch_norm", lambda module, *_: module)
                        with unfold:
                            unfolded, unfolded_cpu = timed(neurova.predict, model, replay(events, HOP_US), sensor_size=SENSOR,
                                                           face_box=box, threads=threads)
                    (old_ms, old_va), old_cpu = timed(old_path, model, events, new.timestamps_us, box)
                offline_ms = float(np.median([offline_seconds(model, events, face, threads) for _ in range(3)]))
                offline_ms *= 1e3 / len(new)
                assert new.latency_ms is not None
                diff = f"{float(np.abs(new.va - old_va).max()):.1e}" if args.detect_face is None else "- (tracked box)"
                reuse = new.settings["frames_encoded"] / (len(new) * CONTRACT.clip_length)
                used = ", ".join(f"{n} thread(s) {count}" for n, count in new.settings["threads_used"].items())
                print(f"{name:16} {threads!s:>4} new  {stats(new.latency_ms)} {1e3 * new_cpu / len(new):6.2f} "
                      f"{offline_ms:7.2f}  "
                      f"{len(new)} predictions ({used}), "
                      f"{reuse:.0%} of the frames encoded, max |diff| vs old {diff}")
                if args.unfolded:
                    assert unfolded.latency_ms is not None
                    print(f"{name:16} {threads!s:>4} unf  {stats(unfolded.latency_ms)} "
                          f"{1e3 * unfolded_cpu / len(new):6.2f}  batch norm unfolded: max |diff| vs new "
                          f"{float(np.abs(new.va - unfolded.va).max()):.1e}, unfolded/new median "
                          f"{np.median(unfolded.latency_ms) / np.median(new.latency_ms):.2f}x")
                if not args.realtime and args.detect_face is None:
                    print(f"{name:16} {threads!s:>4} old  {stats(old_ms)} {1e3 * old_cpu / len(new):6.2f}  old/new median "
                          f"{np.median(old_ms) / np.median(new.latency_ms):.1f}x")
    print(f"loadavg after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
