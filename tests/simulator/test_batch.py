"""Tests of neurova.simulator.batch: whole datasets to HDF5, resumable, sharded, in workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurova.errors import VideoFormatError
from neurova.simulator import simulate, simulate_dataset
from neurova.simulator.batch import clip_seed, find_clips, resolve_rank

cv2 = pytest.importorskip("cv2")
io = pytest.importorskip("neurova.io")


def clip_frames(seed: int, n: int = 4) -> np.ndarray:
    base = np.random.default_rng(seed).integers(20, 235, (12, 16), dtype=np.uint8)
    return np.stack([np.roll(base, i, axis=1) for i in range(n)])


def make_dataset(root: Path) -> Path:
    """Two frame folders (one nested) and one video file."""
    for rel, seed in (("a", 0), ("group/b", 1)):
        folder = root / rel
        folder.mkdir(parents=True)
        for i, frame in enumerate(clip_frames(seed)):
            cv2.imwrite(str(folder / f"{i:05d}.png"), frame)
    writer = cv2.VideoWriter(str(root / "c.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (16, 12))
    for frame in clip_frames(2):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return root


def test_find_clips_and_rank_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_dataset(tmp_path / "data")
    assert [name for name, _ in find_clips(root)] == ["a", "c", "group/b"]
    assert find_clips(root / "a") == [("a", root / "a")]
    with pytest.raises(VideoFormatError, match="no clips"):
        find_clips((tmp_path / "empty").mkdir() or tmp_path / "empty")
    for var in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(var, raising=False)
    assert resolve_rank() == (0, 1)
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_NTASKS", "3")
    assert resolve_rank() == (1, 3)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert resolve_rank() == (0, 2)
    assert resolve_rank(2, 4) == (2, 4)
    with pytest.raises(ValueError, match="rank"):
        resolve_rank(3, 3)
    assert clip_seed(0, "a") == clip_seed(0, "a") != clip_seed(1, "a")


def test_dataset_is_written_resumably(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data")
    out = tmp_path / "out"
    written = simulate_dataset(root, out, fps=25.0, seed=3, progress=False, rank=0, world_size=1)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["a.h5", "c.h5", "group/b.h5"]
    events = io.read_events(out / "a.h5")
    expected = simulate(root / "a", fps=25.0, seed=clip_seed(3, "a"))
    assert len(expected) > 0 and (events == expected).all()
    assert io.get_sensor_size(out / "a.h5") == (16, 12)
    stamp = (out / "a.h5").stat().st_mtime_ns
    (out / "c.h5").unlink()
    (out / ".c.x1y2.tmp.h5").write_bytes(b"half-written by a killed run")  # as atomic_path names temporaries
    (out / ".a.x1y2.tmp.h5").write_bytes(b"another run's file of a finished clip: not ours to remove")
    again = simulate_dataset(root, out, fps=25.0, seed=3, progress=False, rank=0, world_size=1)
    assert again == written and (out / "c.h5").exists()
    assert (out / "a.h5").stat().st_mtime_ns == stamp  # skipped, not rewritten
    leftovers = sorted(p.name for p in out.rglob("*") if p.name.startswith("."))
    assert leftovers == [".a.x1y2.tmp.h5"]  # the stale temporary of the rewritten clip is gone


def test_shards_split_clips_and_agree(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data")
    shards = [
        simulate_dataset(root, tmp_path / "sharded", seed=1, progress=False, rank=r, world_size=2) for r in range(2)
    ]
    assert [[p.name for p in s] for s in shards] == [["a.h5", "b.h5"], ["c.h5"]]
    whole = simulate_dataset(root, tmp_path / "whole", seed=1, progress=False, rank=0, world_size=1)
    for path in whole:
        twin = tmp_path / "sharded" / path.relative_to(tmp_path / "whole")
        assert (io.read_events(path) == io.read_events(twin)).all()


def test_single_clip_to_named_file_and_v2e_layout(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data")
    target = tmp_path / "one.h5"
    written = simulate_dataset(root / "c.avi", target, layout="v2e", save_frames=True, progress=False, rank=0)
    assert written == [target]
    assert len(io.read_events(target)) > 0
    with pytest.raises(ValueError, match="must be a folder"):
        simulate_dataset(root, tmp_path / "many.h5", progress=False, rank=0, world_size=1)


@pytest.mark.slow
def test_worker_processes_give_the_same_files(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data")
    serial = simulate_dataset(root, tmp_path / "serial", seed=2, progress=False, rank=0, world_size=1)
    parallel = simulate_dataset(
        root, tmp_path / "parallel", seed=2, workers=2, threads=1, progress=False, rank=0, world_size=1
    )
    for a, b in zip(serial, parallel):
        assert (io.read_events(a) == io.read_events(b)).all()


def test_workers_fork_only_for_one_cpu_thread_each() -> None:
    """Workers start by the platform's default (fork on Linux: no torch import per worker) for one CPU thread each;
    by "spawn" for a GPU (a forked process cannot initialise CUDA again) and several threads (OpenMP and fork)."""
    import multiprocessing

    from neurova.simulator.batch import _worker_context

    default = multiprocessing.get_start_method()
    assert _worker_context("cpu", None).get_start_method() == default
    assert _worker_context("cpu", 1).get_start_method() == default
    assert _worker_context("cpu", 2).get_start_method() == "spawn"
    assert _worker_context("cuda:0", 1).get_start_method() == "spawn"


def test_in_process_run_gives_the_callers_thread_count_back(tmp_path: Path) -> None:
    import torch

    root = make_dataset(tmp_path / "data")
    before = torch.get_num_threads()
    wanted = 2 if before != 2 else 1
    simulate_dataset(root, tmp_path / "out", fps=25.0, seed=3, threads=wanted, progress=False, rank=0, world_size=1)
    assert torch.get_num_threads() == before


def test_in_process_run_writes_each_clip_while_the_next_is_simulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from neurova.simulator import batch

    root = make_dataset(tmp_path / "data")
    log: list[tuple[str, str, str]] = []
    simulate_one, write_one = batch._simulate, batch._write

    def simulating(job: batch._Job) -> batch._Simulated:
        log.append(("simulate", job.name, threading.current_thread().name))
        return simulate_one(job)

    def writing(job: batch._Job, clip: batch._Simulated) -> str:
        log.append(("write", job.name, threading.current_thread().name))
        return write_one(job, clip)

    monkeypatch.setattr(batch, "_simulate", simulating)
    monkeypatch.setattr(batch, "_write", writing)
    written = simulate_dataset(root, tmp_path / "out", fps=25.0, seed=3, progress=False, rank=0, world_size=1)
    main = threading.current_thread().name
    assert [(step, name) for step, name, _ in log if step == "simulate"] == [
        ("simulate", "a"), ("simulate", "c"), ("simulate", "group/b")
    ]  # fmt: skip
    assert all(thread == main for step, _, thread in log if step == "simulate")
    assert all(thread.startswith("neurova-write") for step, _, thread in log if step == "write")
    for path, name in zip(written, ("a", "c", "group/b")):  # the same files as one clip at a time
        assert (io.read_events(path) == simulate(root / name if name != "c" else root / "c.avi", fps=25.0,
                                                 seed=clip_seed(3, name))).all()  # fmt: skip


@pytest.mark.parametrize("fails", ["simulate", "write"])
def test_a_failing_clip_stops_the_run_after_the_file_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    from neurova.simulator import batch

    root = make_dataset(tmp_path / "data")
    out = tmp_path / "out"
    original = getattr(batch, f"_{fails}")

    def failing(job: batch._Job, *rest: object) -> object:
        if job.name == "c":
            raise OSError(f"{fails} of {job.name} failed")
        return original(job, *rest)

    monkeypatch.setattr(batch, f"_{fails}", failing)
    with pytest.raises(OSError, match=f"{fails} of c failed"):
        simulate_dataset(root, out, fps=25.0, seed=3, progress=False, rank=0, world_size=1)
    assert (io.read_events(out / "a.h5") == simulate(root / "a", fps=25.0, seed=clip_seed(3, "a"))).all()
    assert not (out / "c.h5").exists()
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary left behind
    monkeypatch.setattr(batch, f"_{fails}", original)
    written = simulate_dataset(root, out, fps=25.0, seed=3, progress=False, rank=0, world_size=1)
    assert all(path.exists() for path in written)  # the rerun completes the dataset
