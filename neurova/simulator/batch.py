"""Simulating whole datasets: many clips to HDF5, resumable, in worker processes and across ranks.

:func:`simulate_dataset` backs the ``neurova simulate`` command. Its input is a
video file, a folder of frames, or a folder tree holding many of those (every
video file and every folder that directly holds PNG/JPEG frames is one clip, as
in AFEW-VA). Each clip's events are written atomically to ``<clip>.h5``, so an
interrupted run never leaves a partial file under the final name, and a rerun
skips clips already written *with the same settings*: every file records them
(the ``neurova_simulate`` attribute, JSON). A rerun with other settings (preset,
seed, fps, size, upsampling, layout, frames) refuses to mix old and new events
unless ``overwrite=True``; a file under a target name that ``neurova simulate``
did not write is never replaced. Two clips that map to one output file (a folder
``a/`` and a video ``a.avi``) are refused. Clip ``i`` (in sorted order) belongs to rank
``i % world_size``; each clip's seed is derived from ``seed`` and its name, so the
events do not depend on sharding or on the number of workers.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import numpy as np

from neurova._atomic import remove_stale_temporaries
from neurova.errors import NeurovaError, VideoFormatError
from neurova.events import SensorSize
from neurova.simulator.presets import simulation_key
from neurova.simulator.video import FRAME_SUFFIXES

__all__ = ["SETTINGS_ATTR", "VIDEO_SUFFIXES", "clip_seed", "find_clips", "resolve_rank", "simulate_dataset"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
"""File suffixes (case-insensitive) treated as video files when scanning a dataset folder."""

_H5_SUFFIXES = (".h5", ".hdf5")

SETTINGS_ATTR = "neurova_simulate"
"""HDF5 attribute of every file ``simulate_dataset`` writes: the JSON of the settings that made its events."""


@dataclass(frozen=True)
class _Job:
    """One clip to simulate; plain data so that it pickles into spawned workers."""

    source: str
    target: str
    name: str
    seed: int
    preset: str | None
    fps: float | None
    size: tuple[int, int] | None
    upsample: int | None
    max_step_px: float | None
    layout: str
    device: str
    threads: int | None
    save_frames: bool
    progress: bool

    def settings(self) -> str:
        """JSON of everything that determines this clip's events (not where or how fast they are computed)."""
        is_video = Path(self.source).is_file()
        return json.dumps(
            {
                "source": self.name,
                "seed": self.seed,
                **simulation_key(self.preset),  # the preset; how its shot noise is timed
                "fps": None if is_video else self.fps,  # video files keep their own frame rate
                "size": None if self.size is None else list(self.size),
                "upsample": self.upsample,
                "max_step_px": self.max_step_px,
                "layout": self.layout,
                "save_frames": self.save_frames,
            },
            sort_keys=True,
        )


def _holds_frames(folder: Path) -> bool:
    return any(p.suffix.lower() in FRAME_SUFFIXES and p.is_file() for p in folder.iterdir())


def find_clips(inputs: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """``(name, path)`` of every clip under ``inputs``, sorted by name.

    A video file or a folder holding frames is a single clip named after it. Any other folder
    is scanned recursively; a clip's name is its path relative to ``inputs`` (suffix removed).

    Raises:
        VideoFormatError: ``inputs`` does not exist or holds no clip.
    """
    root = Path(inputs)
    if root.is_file():
        return [(root.stem, root)]
    if not root.is_dir():
        raise VideoFormatError("no such video file or folder", root)
    if _holds_frames(root):
        return [(root.name, root)]
    clips: list[tuple[str, Path]] = []
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        here = Path(folder)
        if here != root and any(Path(f).suffix.lower() in FRAME_SUFFIXES for f in files):
            clips.append((here.relative_to(root).as_posix(), here))
        for file in files:
            if Path(file).suffix.lower() in VIDEO_SUFFIXES:
                path = here / file
                clips.append((path.relative_to(root).with_suffix("").as_posix(), path))
    if not clips:
        raise VideoFormatError(
            f"no clips found: expected video files ({', '.join(VIDEO_SUFFIXES)}) or folders of frames", root
        )
    seen: dict[str, Path] = {}
    for name, path in sorted(clips):
        other = seen.setdefault(name.casefold(), path)
        if other != path:
            raise VideoFormatError(
                f"clips {other.relative_to(root).as_posix()!r} and {path.relative_to(root).as_posix()!r} would both "
                f"be written to {name}.h5: rename one of them",
                root,
            )
    return sorted(clips)


def resolve_rank(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """``(rank, world_size)`` from the arguments, else ``RANK``/``WORLD_SIZE`` (torchrun), else
    ``SLURM_PROCID``/``SLURM_NTASKS``, else ``(0, 1)``."""
    for rank_var, size_var in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank is None and world_size is None and rank_var in os.environ and size_var in os.environ:
            rank, world_size = int(os.environ[rank_var]), int(os.environ[size_var])
    rank = 0 if rank is None else int(rank)
    world_size = 1 if world_size is None else int(world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
    return rank, world_size


def clip_seed(seed: int, name: str) -> int:
    """Stable per-clip seed from the run's ``seed`` and the clip name (CRC-32, independent of sharding)."""
    return zlib.crc32(f"{int(seed)}:{name}".encode())


@dataclass
class _Simulated:
    """A clip's events and what its file records, between simulating and writing."""

    events: np.ndarray
    size: SensorSize
    attrs: dict[str, Any]
    frames: dict[str, np.ndarray]  # the frames and their timestamps, with ``save_frames``


def _simulate(job: _Job) -> _Simulated:
    """Read and simulate one clip (the caller's torch thread count comes back afterwards)."""
    import torch

    from neurova.image import crop_and_resize
    from neurova.simulator.pipeline import simulate
    from neurova.simulator.presets import resolve_params
    from neurova.simulator.video import load_frames

    caller_threads = torch.get_num_threads()  # in the caller's process (workers=1) the setting must come back
    if job.threads is not None:
        torch.set_num_threads(job.threads)
    try:
        frames, times = load_frames(job.source, fps=None if Path(job.source).is_file() else job.fps)
        frames = crop_and_resize(frames, size=job.size, interpolation="bilinear")
        events = simulate(
            frames,
            times,
            preset=job.preset,
            upsample=job.upsample,
            max_step_px=job.max_step_px,
            seed=job.seed,
            device=job.device,
            progress=job.progress,
        )
    finally:
        torch.set_num_threads(caller_threads)
    params = resolve_params(job.preset).to_dict()
    attrs: dict[str, Any] = {f"dvs_{key}": value for key, value in params.items()}
    attrs.update(
        simulator="neurova",
        source=job.name,
        preset=job.preset or "none",
        seed=job.seed,
        upsample=job.upsample or 1,
    )
    attrs[SETTINGS_ATTR] = job.settings()
    size = SensorSize(frames.shape[2], frames.shape[1])
    saved = {"frames": frames, "frame_timestamps_us": times} if job.save_frames else {}
    return _Simulated(events, size, attrs, saved)


def _write(job: _Job, clip: _Simulated) -> str:
    """Write one simulated clip atomically to its target."""
    from neurova.io import write_events

    write_events(job.target, clip.events, clip.size, layout=job.layout, attrs=clip.attrs, **clip.frames)
    return job.target


def _simulate_clip(job: _Job) -> str:
    """Simulate one clip and write it atomically (top-level, so worker processes can run it)."""
    return _write(job, _simulate(job))


def _worker_context(device: str, threads: int | None) -> BaseContext:
    """How worker processes start: the platform's default (fork on Linux, as torch's DataLoader workers) where each
    runs one torch thread on the CPU, so that no worker imports torch again (2-4 s per call on 2 cores); "spawn"
    for a GPU, which a forked process cannot initialise again, and for several torch threads per worker (OpenMP's
    threads do not survive a fork)."""
    import torch

    single = torch.device(device).type == "cpu" and (threads is None or threads == 1)
    return get_context() if single else get_context("spawn")


def one_torch_thread() -> None:
    """A worker process's initializer: one torch thread (a job may ask for more: ``threads``). The datasets' event
    caches start their workers with it too."""
    import torch

    torch.set_num_threads(1)


def _simulate_in_process(jobs: list[_Job], done: Callable[[], Any]) -> None:
    """Simulate ``jobs`` here, writing each clip's file in a background thread while the next one is simulated.

    h5py releases the GIL while it compresses, so on two cores the writing (about half of a clip's time)
    overlaps the next clip's simulation. At most one written clip waits in memory. A failure stops the run
    once the file being written is complete; ``done`` is called after each file.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="neurova-write") as writer:
        pending: Future[str] | None = None
        for job in jobs:
            clip = _simulate(job)
            if pending is not None:
                pending.result()
                done()
            pending = writer.submit(_write, job, clip)
        if pending is not None:
            pending.result()
            done()


def _recorded_settings(target: Path) -> str | None:
    """The settings record of an existing output file; raises if ``neurova simulate`` did not write it."""
    import h5py

    try:
        with h5py.File(target, "r") as f:
            record = f.attrs.get(SETTINGS_ATTR)
            by_neurova = f.attrs.get("simulator") == "neurova"
    except OSError as exc:
        raise NeurovaError(f"exists but is not an event file written by neurova simulate ({exc}); not replaced",
                           target) from exc
    if record is None and not by_neurova:
        raise NeurovaError("exists but was not written by neurova simulate; not replaced (move it away)", target)
    return None if record is None else str(record)


def _difference(recorded: str | None, wanted: str) -> str:
    if recorded is None:
        return "it has no settings record (an older neurova)"
    old, new = json.loads(recorded), json.loads(wanted)
    changed = [f"{key}={old.get(key)!r} -> {new.get(key)!r}" for key in sorted(new) if old.get(key) != new.get(key)]
    return ", ".join(changed) or "its settings record differs"


def _jobs_to_run(jobs: list[_Job], overwrite: bool) -> list[_Job]:
    """Jobs without an output, plus (with ``overwrite``) those whose output has other settings."""
    todo, stale = [], []
    for job in jobs:
        target = Path(job.target)
        if not target.exists():
            todo.append(job)
            continue
        recorded, wanted = _recorded_settings(target), job.settings()
        if recorded != wanted:
            stale.append((job, _difference(recorded, wanted)))
    if stale and not overwrite:
        job, difference = stale[0]
        raise NeurovaError(
            f"was simulated with other settings ({difference}); {len(stale)} of {len(jobs)} output file(s) differ. "
            "Write to another folder, or pass overwrite=True to re-simulate them",
            job.target,
        )
    return todo + [job for job, _ in stale]


def simulate_dataset(
    inputs: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    preset: str | None = "clean",
    fps: float | None = 25.0,
    size: str | tuple[int, int] | None = None,
    upsample: int | None = None,
    max_step_px: float | None = None,
    seed: int = 0,
    layout: str = "neurova",
    workers: int = 1,
    threads: int | None = None,
    save_frames: bool = False,
    device: str = "cpu",
    rank: int | None = None,
    world_size: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> list[Path]:
    """Simulate a clip or a dataset of clips into HDF5 event files.

    Args:
        inputs: a video file, a folder of frames, or a folder tree of many of those.
        output: for a single clip, the ``.h5`` file to write (a folder gets ``<clip>.h5``);
            for a dataset, the folder receiving ``<clip>.h5`` files (mirroring sub-folders).
        preset: ``"clean"``, ``"noisy"`` or ``None`` (v2e ``EventEmulator`` defaults).
        fps: frame rate of frame folders; video files keep their own frame rate.
        size: ``"346x260"`` or ``(width, height)`` to resize frames to; ``None`` keeps them.
        upsample: integer temporal upsampling factor.
        max_step_px: automatic upsampling by estimated motion (exclusive with ``upsample``).
        seed: run seed; each clip uses :func:`clip_seed` ``(seed, name)``.
        layout: ``"neurova"`` or ``"v2e"`` (v2e's ``events`` ``(N, 4)`` uint32 layout).
        workers: number of worker processes (1 = in this process, where each clip's file is written in a
            background thread while the next clip is simulated).
        threads: torch threads per worker process, and so the simulator's bands of rows (``None``: one per worker
            with ``workers > 1``, the caller's setting with ``workers=1``).
        save_frames: also store the (resized) grayscale frames and their timestamps, as v2e does.
        device: torch device of the simulation.
        rank, world_size: this process's shard; default from ``RANK``/``WORLD_SIZE`` or
            ``SLURM_PROCID``/``SLURM_NTASKS``, else a single shard.
        progress: progress bars over clips (and over frames with one worker).
        overwrite: re-simulate clips whose existing file was written with other settings (atomically
            replaced); by default such a run is refused before anything is simulated. Files that
            ``neurova simulate`` did not write are never replaced.

    Returns:
        The output files of this rank's clips, written now or already present with the same settings.

    Raises:
        VideoFormatError: no clips, or two clips that map to one output file.
        NeurovaError: an output file exists that this function did not write, or (without ``overwrite``)
            one written with other settings; the message names the file and the differing settings.
    """
    if layout not in ("neurova", "v2e"):
        raise ValueError(f"layout must be 'neurova' or 'v2e', got {layout!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    rank, world_size = resolve_rank(rank, world_size)
    resolved_size = None if size is None else tuple(SensorSize.of(size))
    clips = find_clips(inputs)
    output = Path(output)
    single = len(clips) == 1 and (Path(inputs).is_file() or _holds_frames(Path(inputs)))
    if single:
        targets = [output if output.suffix.lower() in _H5_SUFFIXES else output / f"{clips[0][0]}.h5"]
    else:
        if output.suffix.lower() in _H5_SUFFIXES:
            raise ValueError(f"{inputs} holds {len(clips)} clips: the output must be a folder, not {output}")
        targets = [output / f"{name}.h5" for name, _ in clips]
    jobs = [
        _Job(
            source=str(path),
            target=str(target),
            name=name,
            seed=clip_seed(seed, name),
            preset=preset,
            fps=fps,
            size=resolved_size,
            upsample=upsample,
            max_step_px=max_step_px,
            layout=layout,
            device=device,
            threads=threads,
            save_frames=save_frames,
            progress=progress and workers == 1,
        )
        for i, ((name, path), target) in enumerate(zip(clips, targets))
        if i % world_size == rank
    ]
    todo = _jobs_to_run(jobs, overwrite)
    for job in todo:  # this rank owns these clips: temporaries of an interrupted earlier run are stale
        remove_stale_temporaries(job.target)
    from tqdm.auto import tqdm

    with tqdm(total=len(jobs), initial=len(jobs) - len(todo), disable=not progress, desc="clips", unit="clip") as bar:
        if workers == 1:
            _simulate_in_process(todo, bar.update)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(device, threads),
                                     initializer=one_torch_thread) as pool:
                for future in as_completed([pool.submit(_simulate_clip, job) for job in todo]):
                    future.result()
                    bar.update()
    return [Path(job.target) for job in jobs]
