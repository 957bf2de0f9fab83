"""Benchmark: neurova's DVS simulator against v2e's emulator, on four contents, ideal and noisy.

Both run in this process on the same frames, 346x260 unless ``--size``, one torch thread unless ``--threads``:

* ``texture``: a random texture of 8x8-pixel blocks panning 2 px/frame at 30 fps;
* ``face``: a panned and zoomed face "photo" at 30 fps: a synthetic face rendered once by
  :func:`neurova.datasets.render.render_face` (neurova ships no photographs) and viewed through a
  moving, zooming window;
* ``slow``: the block texture moving 0.2 px/frame at 240 fps (slow motion);
* ``film``: the benchmark's original film-like clip (textured objects with sharp edges, see
  :func:`make_clip`).

Settings: ``ideal`` is v2e's "clean" preset (thresholds 0.2 +- 0.02, no low-pass, leak or shot
noise); ``noisy`` is its "noisy" preset (sigma 0.05, cutoff 30 Hz, leak 0.1 Hz, shot noise 5 Hz).

The reference is ``--reference loop`` (default): the repository's transcription of v2e 1.5's
``EventEmulator.generate_events`` (``benchmarks/v2e_loop.py``), or ``--reference v2e``: v2e's own
``EventEmulator`` when v2e is importable. Every ratio is printed with the reference it is against.
Times are per-frame calls only (frames prepared beforehand), medians of ``--repeats`` interleaved
repeats (reference, neurova "v2e" mode, neurova "linear" mode, in turn).

Exactness: neurova's "v2e" timestamp mode against the reference on each content, in the ideal
setting and with the low-pass on (sigma 0.05, cutoff 30 Hz, no leak or shot noise, whose random
numbers v2e's event shuffle desynchronises): the share of pixels with the same ON and OFF counts.

Batches: ``simulate_batch`` of ``--batch`` texture clips against as many single ``simulate`` runs, then
of ``--small-batch`` 64x64 clips (whole calls: building the event arrays included).

    .venv/bin/python benchmarks/bench_simulator.py [--frames 300] [--repeats 5] [--threads 1]
        [--contents texture face slow film] [--reference loop|v2e] [--device cpu] [--batch 4] [--small-batch 16]
        [--size 346x260]

With ``--threads N`` (N > 1) the reference and neurova run on N threads, and each row also gives neurova's
``"v2e"`` mode on N threads over its own speed on one (``N/1 thread``). ``--gil`` measures only what two Python
threads can give at all: two independent simulators (each half of the frame, no synchronisation) in two threads
against one after the other, and numpy's elementwise operations on 90 k and 10 k elements the same way.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurova.simulator import DVSSimulator, resolve_params, simulate, simulate_batch
from neurova.simulator.presets import DVSParams

sys.path.insert(0, str(Path(__file__).resolve().parent))
from v2e_loop import ReferenceEmulator

WIDTH, HEIGHT = 346, 260
SETTINGS = {"ideal": "clean", "noisy": "noisy"}
LOW_PASS_ONLY = {"sigma_thres": 0.05, "cutoff_hz": 30.0}  # of the clean preset: the exactness check with the low-pass


def _smooth_texture(rng: np.random.Generator, height: int, width: int, blur: int) -> np.ndarray:
    """``(height, width)`` float32 in [0, 1]: uniform noise box-blurred over ``blur`` px."""
    noise = torch.from_numpy(rng.uniform(0, 1, (1, 1, height, width)).astype(np.float32))
    texture = F.avg_pool2d(noise, blur, stride=1, padding=blur // 2)[0, 0].numpy()
    return (texture - texture.min()) / (texture.max() - texture.min())


def make_clip(n_frames: int, seed: int = 0, speed: int = 2, content: str = "film") -> np.ndarray:
    """``(T, 260, 346)`` uint8 moving textured content: a scene panning ``speed`` px/frame under a slow brightness wave.

    ``content="film"`` (default) is meant to look like the film frames of AFEW-VA: textured objects
    with sharp edges (rectangles and ellipses of random brightness, each with its own fine texture)
    in front of a smooth textured background. Sharp edges matter for the comparison: a moving edge
    of log contrast ``c`` makes ``c / threshold`` events at once in the pixels it crosses, and the
    reference's work grows with the largest such count in the frame (one full-frame pass per event
    index), while neurova's grows with the number of events. ``content="smooth"`` is only the blurred
    random texture (no edges: at most a few events per pixel and frame).
    """
    if content not in ("film", "smooth"):
        raise ValueError(f"content must be 'film' or 'smooth', got {content!r}")
    rng = np.random.default_rng(seed)
    width = WIDTH + speed * n_frames
    scene = _smooth_texture(rng, HEIGHT, width, 5)
    if content == "film":
        scene = 0.25 + 0.5 * scene  # the background: mid grey, textured
        yy, xx = np.mgrid[:HEIGHT, :width]
        fine = _smooth_texture(rng, HEIGHT, width, 3)
        for _ in range(width // 10):  # about one object per 26x10 px of scene, partly overlapping
            h, w = rng.integers(12, 90, size=2)
            y0, x0 = rng.integers(-h // 2, HEIGHT - h // 2), rng.integers(-w // 2, width - w // 2)
            inside = (yy >= y0) & (yy < y0 + h) & (xx >= x0) & (xx < x0 + w)
            if rng.random() < 0.5:  # ellipse inscribed in the box
                inside &= ((yy - y0 - h / 2) / (h / 2)) ** 2 + ((xx - x0 - w / 2) / (w / 2)) ** 2 <= 1
            scene[inside] = rng.uniform(0.05, 1.0) * (0.8 + 0.4 * fine[inside])
        scene = scene.clip(0, 1)
    frames = np.empty((n_frames, HEIGHT, WIDTH), dtype=np.uint8)
    for i in range(n_frames):
        gain = 0.75 + 0.25 * math.sin(2 * math.pi * i / 60)
        frames[i] = np.clip(10 + 235 * gain * scene[:, speed * i : speed * i + WIDTH], 0, 255).round()
    return frames


def _block_scene(rng: np.random.Generator, width: int) -> np.ndarray:
    """``(HEIGHT, width)`` float64 intensities: uniform random 10..245 in 8x8-pixel blocks."""
    blocks = rng.uniform(10, 245, (math.ceil(HEIGHT / 8), math.ceil(width / 8)))
    return np.kron(blocks, np.ones((8, 8)))[:HEIGHT, :width]


def texture_clip(n_frames: int, speed: float = 2.0, seed: int = 0) -> np.ndarray:
    """``(T, 260, 346)`` uint8: the block texture panning ``speed`` px/frame (sub-pixel steps: a pixel sees the
    linear mix of the two scene columns it overlaps, as a camera integrating over the pixel would)."""
    rng = np.random.default_rng(seed)
    scene = _block_scene(rng, WIDTH + math.ceil(speed * n_frames) + 2)
    frames = np.empty((n_frames, HEIGHT, WIDTH), dtype=np.uint8)
    for i in range(n_frames):
        start, frac = divmod(speed * i, 1.0)
        s = int(start)
        view = (1 - frac) * scene[:, s : s + WIDTH] + frac * scene[:, s + 1 : s + 1 + WIDTH]
        frames[i] = np.clip(view, 0, 255).round()
    return frames


def face_clip(n_frames: int, seed: int = 0, photo_size: int = 480) -> np.ndarray:
    """``(T, 260, 346)`` uint8: a still synthetic face (the "photo") panned and zoomed by a moving window.

    The window sweeps left-right and up-down over about 60 and 30 photo pixels and zooms between
    1.0x and 1.3x over 150 frames; bilinear sampling, so motion is sub-pixel and smooth.
    """
    from neurova.datasets.render import render_face, sample_identity

    photo = render_face(sample_identity(seed), 0.4, 0.3, size=photo_size)  # [0, 1]
    image = torch.from_numpy(10 + 235 * photo.astype(np.float32))[None, None]
    i = torch.arange(n_frames, dtype=torch.float64)
    zoom = 1.15 - 0.15 * torch.cos(2 * math.pi * i / 150)
    cx = photo_size / 2 + 30 * torch.sin(2 * math.pi * i / 200)
    cy = photo_size / 2 + 15 * torch.sin(2 * math.pi * i / 130)
    half_w = 0.45 * photo_size / zoom  # half the window, photo pixels
    half_h = half_w * HEIGHT / WIDTH
    u = (torch.arange(WIDTH, dtype=torch.float64) + 0.5) / WIDTH * 2 - 1  # output pixel centres in [-1, 1]
    v = (torch.arange(HEIGHT, dtype=torch.float64) + 0.5) / HEIGHT * 2 - 1
    frames = np.empty((n_frames, HEIGHT, WIDTH), dtype=np.uint8)
    for k in range(n_frames):
        gx = ((cx[k] + half_w[k] * u) / photo_size * 2 - 1).view(1, -1).expand(HEIGHT, WIDTH)
        gy = ((cy[k] + half_h[k] * v) / photo_size * 2 - 1).view(-1, 1).expand(HEIGHT, WIDTH)
        grid = torch.stack([gx, gy], dim=-1)[None].float()
        out = F.grid_sample(image, grid, mode="bilinear", align_corners=False)[0, 0]
        frames[k] = out.clamp(0, 255).round().to(torch.uint8).numpy()
    return frames


CONTENTS: dict[str, tuple[Callable[[int], np.ndarray], float, str]] = {
    "texture": (lambda n: texture_clip(n), 30.0, "8x8 random texture, 2 px/frame, 30 fps"),
    "face": (lambda n: face_clip(n), 30.0, "panned and zoomed face (rendered), 30 fps"),
    "slow": (lambda n: texture_clip(n, speed=0.2), 240.0, "8x8 random texture, 0.2 px/frame, 240 fps"),
    "film": (lambda n: make_clip(n), 30.0, "film-like clip, 2 px/frame, 30 fps"),
}


# -- references -----------------------------------------------------------------------------------------


def make_reference(kind: str, params: DVSParams, seed: int) -> Any:
    """An object with v2e's ``generate_events(frame, t_s)``: the transcription, or v2e's own emulator.

    v2e seeds torch's global generator for a non-zero seed; both are seeded here with ``seed``, which also
    makes their threshold draws equal neurova's for the same seed.
    """
    if kind == "loop":
        return ReferenceEmulator(params, seed=seed)
    from neurova.simulator.v2e import load_event_emulator

    emulator_cls = load_event_emulator()  # MissingDependencyError with an install hint when v2e is absent
    torch.manual_seed(seed)
    model = {name: value for name, value in params.to_dict().items() if name != "timestamp_mode"}  # v2e's names
    return emulator_cls(**model, seed=0, output_width=WIDTH, output_height=HEIGHT, device="cpu")


def run_reference(kind: str, frames: np.ndarray, times_us: np.ndarray, params: DVSParams) -> tuple[np.ndarray, float]:
    """Events ``(N, 4)`` ``[t (s), x, y, p]`` and the seconds spent in ``generate_events``."""
    emulator = make_reference(kind, params, seed=1)
    chunks, elapsed = [], 0.0
    for frame, t in zip(frames, times_us):
        start = time.perf_counter()
        out = emulator.generate_events(frame, t * 1e-6)
        elapsed += time.perf_counter() - start
        if out is not None and len(out):
            chunks.append(np.asarray(out, dtype=np.float64).reshape(-1, 4))
    return (np.concatenate(chunks) if chunks else np.zeros((0, 4))), elapsed


def run_neurova(
    frames: np.ndarray, times_us: np.ndarray, params: DVSParams, device: str, threads: int | None = None,
    size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, float]:
    """Events and the seconds spent in ``DVSSimulator.step`` (``threads``: the simulator's, default 1; ``size``:
    height and width of the frames, default the bench's)."""
    sim = DVSSimulator(*(size or (HEIGHT, WIDTH)), seed=1, device=device, threads=threads, **params.to_dict())
    chunks = []
    start = time.perf_counter()
    for frame, t in zip(frames, times_us):
        chunks.append(sim.step(frame[None], int(t))[0])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return np.concatenate(chunks), elapsed


def equal_pixels(ours: np.ndarray, ref: np.ndarray) -> float:
    """Share of pixels whose ON and OFF event counts over the clip are equal in both."""
    a = np.zeros((2, HEIGHT, WIDTH), dtype=np.int64)
    np.add.at(a, (ours["p"].astype(np.int64), ours["y"], ours["x"]), 1)
    b = np.zeros_like(a)
    np.add.at(b, ((ref[:, 3] > 0).astype(np.int64), ref[:, 2].astype(np.int64), ref[:, 1].astype(np.int64)), 1)
    return float((a == b).all(axis=0).mean())


def median_of(repeats: int, runs: dict[str, Callable[[], tuple[np.ndarray, float]]]) -> dict[str, tuple[int, float]]:
    """``{name: (events, median seconds)}`` of ``repeats`` rounds, each running every entry once, in turn."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    counts: dict[str, int] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            events, elapsed = run()
            seconds[name].append(elapsed)
            counts[name] = len(events)
    return {name: (counts[name], statistics.median(values)) for name, values in seconds.items()}


def bench_batch(n_frames: int, batch: int, repeats: int, size: tuple[int, int] | None = None) -> None:
    """``simulate_batch`` of ``batch`` texture clips (``size``: width, height, default the bench's) against
    ``batch`` single runs (frames/s of whole calls, building the event arrays included; medians)."""
    size = size or (WIDTH, HEIGHT)
    clips = [texture_clip(n_frames, seed=s)[:, : size[1], : size[0]].copy() for s in range(batch)]
    for setting, preset in SETTINGS.items():

        def batched(preset: str = preset) -> tuple[list[np.ndarray], float]:
            start = time.perf_counter()
            return simulate_batch(clips, fps=30.0, preset=preset, seed=3), time.perf_counter() - start

        def singles(preset: str = preset) -> tuple[list[np.ndarray], float]:
            start = time.perf_counter()
            out = [simulate(clip, fps=30.0, preset=preset, seed=3 + i) for i, clip in enumerate(clips)]
            return out, time.perf_counter() - start

        times = median_of(repeats, {"batch": batched, "singles": singles})
        same = all((a == b).all() for a, b in zip(batched()[0], singles()[0]))
        rate = {name: batch * n_frames / seconds for name, (_, seconds) in times.items()}
        print(f"{setting:6} simulate_batch of {batch} {size[0]}x{size[1]}: {rate['batch']:7.1f} frames/s, {batch} single runs: "
              f"{rate['singles']:7.1f} frames/s, ratio {rate['batch'] / rate['singles']:.2f}, identical events: {same}")  # fmt: skip


def bench_content(name: str, n_frames: int, repeats: int, reference: str, device: str, threads: int) -> None:
    """One table row per setting: speeds of the reference and of both neurova modes, and the exactness check;
    with ``threads > 1`` also neurova's ``"v2e"`` mode on one thread and the speed-up of ``threads`` over it."""
    make, fps, _ = CONTENTS[name]
    frames = make(n_frames)
    times = np.rint(np.arange(n_frames) * 1e6 / fps).astype(np.int64)
    for setting, preset in SETTINGS.items():
        runs = {
            "ref": partial(run_reference, reference, frames, times, resolve_params(preset)),
            "v2e": partial(run_neurova, frames, times, resolve_params(preset, timestamp_mode="v2e"), device, threads),
            "linear": partial(run_neurova, frames, times, resolve_params(preset, timestamp_mode="linear"), device,
                              threads),
        }
        if threads > 1:
            runs["v2e@1"] = partial(run_neurova, frames, times, resolve_params(preset, timestamp_mode="v2e"), device, 1)
        result = median_of(repeats, runs)
        # exactness: the ideal setting itself; for "noisy", the low-pass on without the noise sources
        extra = {} if setting == "ideal" else LOW_PASS_ONLY
        ours, _ = run_neurova(frames, times, resolve_params("clean", timestamp_mode="v2e", **extra), device)
        ref, _ = run_reference(reference, frames, times, resolve_params("clean", **extra))
        rate = {key: n_frames / seconds for key, (_, seconds) in result.items()}
        scaling = f" {rate['v2e'] / rate['v2e@1']:8.2f}x" if threads > 1 else ""
        print(f"{name:8} {setting:7} {rate['ref']:13.1f} {rate['v2e']:16.1f} {rate['v2e'] / rate['ref']:5.1f}x "
              f"{rate['linear']:11.1f} {rate['linear'] / rate['ref']:5.1f}x {result['ref'][0]:13,} "
              f"{100 * equal_pixels(ours, ref):12.3f}%{scaling}")  # fmt: skip


def two_thread_speedup(work: list[Callable[[], Any]], repeats: int) -> float:
    """How much faster the callables of ``work`` finish in one Python thread each than one after the other in this
    thread (medians of ``repeats`` interleaved runs)."""

    def in_threads() -> tuple[list[Any], float]:
        threads = [threading.Thread(target=job) for job in work]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [], time.perf_counter() - start

    def in_turn() -> tuple[list[Any], float]:
        start = time.perf_counter()
        for job in work:
            job()
        return [], time.perf_counter() - start

    result = median_of(repeats, {"threads": in_threads, "in turn": in_turn})
    return result["in turn"][1] / result["threads"][1]


def bench_gil(n_frames: int, repeats: int, contents: list[str]) -> None:
    """The ceiling of two Python threads: two independent simulators (the top and the bottom half of each clip, no
    synchronisation between them) in two threads against one after the other; then numpy's own, two threads of
    elementwise operations on arrays of 90 k elements (a 346x260 frame) and of 10 k (its active pixels)."""
    for name in contents:
        make, fps, _ = CONTENTS[name]
        frames = make(n_frames)
        times = np.rint(np.arange(n_frames) * 1e6 / fps).astype(np.int64)
        halves = [np.ascontiguousarray(frames[:, : HEIGHT // 2]), np.ascontiguousarray(frames[:, HEIGHT // 2 :])]
        for setting, preset in SETTINGS.items():
            params = resolve_params(preset, timestamp_mode="v2e")
            work = [partial(run_neurova, half, times, params, "cpu", 1, size=half.shape[1:]) for half in halves]
            print(f"{name:8} {setting:6} two independent half-frame simulators: in two threads "
                  f"{two_thread_speedup(work, repeats):.2f}x the speed of one after the other")
    for size, calls in ((90_000, 2_000), (10_000, 20_000)):
        arrays = [np.random.default_rng(i).random((3, size)) for i in range(2)]

        def elementwise(a: np.ndarray, calls: int = calls) -> None:
            for _ in range(calls):
                np.add(a[0], a[1], out=a[2])
                np.multiply(a[2], a[0], out=a[2])

        print(f"numpy add and multiply of {size:,} float64 elements: in two threads "
              f"{two_thread_speedup([partial(elementwise, a) for a in arrays], repeats):.2f}x the speed of one after "
              "the other")


def main() -> None:
    global WIDTH, HEIGHT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats; medians are reported")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both implementations")
    parser.add_argument("--device", default="cpu", help="device of the neurova runs (the reference runs on CPU)")
    parser.add_argument("--contents", nargs="+", choices=sorted(CONTENTS), default=list(CONTENTS))
    parser.add_argument("--reference", choices=("loop", "v2e"), default="loop",
                        help="loop: the transcription of v2e's loop (benchmarks/v2e_loop.py); v2e: v2e's EventEmulator")  # fmt: skip
    parser.add_argument("--batch", type=int, default=4, help="clips of the batch comparison (0: skip it)")
    parser.add_argument("--small-batch", type=int, default=16, help="64x64 clips of a second batch comparison (0: skip)")
    parser.add_argument("--size", default=f"{WIDTH}x{HEIGHT}", metavar="WxH",
                        help="frame size of every content (each is drawn at this size)")
    parser.add_argument("--gil", action="store_true",
                        help="only the ceiling of two Python threads: independent simulators, then numpy alone")
    args = parser.parse_args()
    try:
        WIDTH, HEIGHT = (int(n) for n in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must be WIDTHxHEIGHT, e.g. 640x480, got {args.size!r}")
    torch.set_num_threads(args.threads)
    if args.gil:
        bench_gil(args.frames, args.repeats, args.contents)
        return
    if args.reference == "v2e":
        from neurova.errors import MissingDependencyError
        from neurova.simulator.v2e import load_event_emulator

        try:
            load_event_emulator()  # fail now, with the install hint, rather than after the first content
        except MissingDependencyError as error:
            parser.error(f"--reference v2e: {error}")
    reference = {"loop": "the v2e-loop transcription", "v2e": "v2e's EventEmulator"}[args.reference]
    print(f"{args.frames} frames {WIDTH}x{HEIGHT}, torch threads={args.threads}, device={args.device}, "
          f"medians of {args.repeats} interleaved repeats; reference: {reference}")  # fmt: skip
    scaling = f" {args.threads}/1 thread" if args.threads > 1 else ""
    print(f"{'content':8} {'setting':7} {'reference f/s':>13} {'neurova v2e f/s':>16} {'ratio':>6} "
          f"{'linear f/s':>11} {'ratio':>6} {'events (ref)':>13} {'equal pixels':>13}{scaling}")  # fmt: skip
    for name in args.contents:
        bench_content(name, args.frames, args.repeats, args.reference, args.device, args.threads)
    print("ratio: neurova frames/s over the reference's, same frames, same process; equal pixels: neurova 'v2e' mode "
          "against the reference, ideal setting / low-pass on (sigma 0.05, cutoff 30 Hz, no leak or shot noise)")  # fmt: skip
    if args.threads > 1:
        print(f"{args.threads}/1 thread: neurova 'v2e' mode's frames/s on {args.threads} threads over its own on one")
    if args.batch > 1:
        bench_batch(args.frames, args.batch, args.repeats)
    if args.small_batch > 1:
        bench_batch(args.frames, args.small_batch, args.repeats, size=(64, 64))


if __name__ == "__main__":
    main()
