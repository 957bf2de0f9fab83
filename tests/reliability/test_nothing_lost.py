"""Nothing lost: real processes killed with SIGKILL midway, then resumed.

* ``neurova simulate`` over a folder of clips, killed once its first files appear, then rerun,
  gives the same files and events as an uninterrupted run; every file that ever appears under a
  final name is complete (the output folder is polled while the child runs).
* A synthetic-faces cache build killed twice midway, then resumed, holds exactly the events of an
  uninterrupted build.
* ``write_events`` and ``save_pretrained`` killed mid-write leave the old file / folder, the new
  complete one, or (for a folder being swapped) nothing under the final name.

The command runs in a fresh interpreter; the builders and writers (:mod:`tests.reliability.children`) in processes
forked by a fork server that imported neurova once, so that each kill costs no second of imports.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import neurova.io as nio
from neurova.cli import main
from neurova.datasets.synthetic import SyntheticFacesConfig, prepare_synthetic_faces, synthetic_cache
from neurova.events import empty_events
from neurova.io.hdf5 import read_events_from_group
from neurova.models import create_model, from_pretrained
from neurova.simulator.batch import simulate_dataset

from .children import N_WRITTEN, build_synthetic_cache, write_forever
from .conftest import REPO, child_env, write_frame_clips

N_CLIPS = 12
SIM_ARGS = ["--preset", "noisy", "--upsample", "4", "--seed", "3", "--quiet"]


def _final_files(folder: Path) -> set[str]:
    """Event files under their final names (temporary files of atomic writes start with a dot)."""
    return {p.name for p in folder.glob("*.h5") if not p.name.startswith(".")} if folder.is_dir() else set()


def _kill(proc: subprocess.Popen[str] | BaseProcess) -> None:
    """SIGKILL ``proc``, a child started by ``subprocess`` or by the fork server, which must still be running."""
    if isinstance(proc, subprocess.Popen):
        assert proc.poll() is None, "the child finished before it could be killed midway"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        return
    assert proc.is_alive(), "the child finished before it could be killed midway"
    proc.kill()
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL


def test_killed_simulation_resumes_to_the_same_files(tmp_path: Path) -> None:
    data = write_frame_clips(tmp_path / "clips", N_CLIPS)
    reference = tmp_path / "reference"
    simulate_dataset(data, reference, preset="noisy", upsample=4, seed=3, progress=False)
    expected = {p.name: nio.read_events(p) for p in reference.glob("*.h5")}
    assert len(expected) == N_CLIPS

    out = tmp_path / "out"
    command = [sys.executable, "-m", "neurova.cli", "simulate", str(data), "-o", str(out), *SIM_ARGS]
    proc = subprocess.Popen(command, env=child_env(), cwd=REPO, stderr=subprocess.PIPE, text=True)
    checked: set[str] = set()
    deadline = time.monotonic() + 60
    while not checked and time.monotonic() < deadline:
        for name in sorted(_final_files(out) - checked):  # every file under a final name is complete
            np.testing.assert_array_equal(nio.read_events(out / name), expected[name])
            checked.add(name)
        time.sleep(0.002)
    _kill(proc)
    assert 0 < len(_final_files(out)) < N_CLIPS
    for name in _final_files(out):
        np.testing.assert_array_equal(nio.read_events(out / name), expected[name])

    # the same command resumes; run in this process, it skips a second interpreter start (~2 s of CPU)
    assert main(command[3:]) == 0
    assert _final_files(out) == set(expected)
    for name, events in expected.items():
        np.testing.assert_array_equal(nio.read_events(out / name), events)


SYNTH = {"n_subjects": 3, "clips_per_subject": 3, "frames_per_clip": 16, "image_size": 48,
         "emotion_clips_per_emotion": 0}
def _cache_contents(cache_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    cache = synthetic_cache(cache_dir, SyntheticFacesConfig(**SYNTH))
    contents = {}
    for clip_id, path in cache.complete_clips().items():
        with h5py.File(path, "r") as f:
            group = f["clips"][clip_id]
            contents[clip_id] = (read_events_from_group(group["events"]), group["va"][()])
    return contents


def test_killed_cache_build_resumes_to_identical_events(tmp_path: Path, fork_server: ForkServerContext) -> None:
    began = time.perf_counter()
    prepare_synthetic_faces(tmp_path / "reference", SyntheticFacesConfig(**SYNTH), progress=False)
    expected = _cache_contents(tmp_path / "reference")
    total = len(SyntheticFacesConfig(**SYNTH).jobs()[0])
    assert len(expected) == total
    clip_seconds = (time.perf_counter() - began) / total

    cache_dir = tmp_path / "resumed"
    delays = random.Random(0)
    written = 0
    for kill_after in (3, 2):  # the second kill lands in the resumed build
        reached = fork_server.Event()
        proc = fork_server.Process(target=build_synthetic_cache, args=(str(cache_dir), SYNTH, kill_after, reached))
        proc.start()
        assert reached.wait(120), "the build never reached its clip to be killed in"
        time.sleep(delays.uniform(0, clip_seconds))  # anywhere in that clip: rendering, simulating or writing it
        _kill(proc)
        partial = _cache_contents(cache_dir)  # the killed build's file stays readable
        assert written + kill_after - 1 <= len(partial) < total  # the clips written before the kill are kept
        written = len(partial)
        for clip_id, (events, _) in partial.items():
            np.testing.assert_array_equal(events, expected[clip_id][0])
    subjects = prepare_synthetic_faces(cache_dir, SyntheticFacesConfig(**SYNTH), progress=False)
    assert len(subjects) == total
    resumed = _cache_contents(cache_dir)
    assert resumed.keys() == expected.keys()
    for clip_id, (events, va) in expected.items():
        np.testing.assert_array_equal(resumed[clip_id][0], events)
        np.testing.assert_array_equal(resumed[clip_id][1], va)


def _tiny_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("seed", [0, 1])
def test_writes_killed_midway_leave_old_or_new_never_partial(tmp_path: Path, seed: int,
                                                            fork_server: ForkServerContext) -> None:
    old_events = nio.read_events(nio.write_events(tmp_path / "old.h5", empty_events(), (64, 48)))
    old_model, new_model = _tiny_model(0), _tiny_model(1)
    old_model.save_pretrained(tmp_path / "model")
    ready = fork_server.Event()
    proc = fork_server.Process(target=write_forever, args=(str(tmp_path), ready))
    proc.start()
    assert ready.wait(60)
    time.sleep(random.Random(seed).uniform(0.05, 0.6))
    _kill(proc)

    # old.h5 held no events before the child rewrote it with 400,000; new.npz did not exist
    assert len(nio.read_events(tmp_path / "old.h5")) in (len(old_events), N_WRITTEN)
    if (tmp_path / "new.npz").exists():
        assert len(nio.read_events(tmp_path / "new.npz")) == N_WRITTEN
    model_dir = tmp_path / "model"
    if model_dir.exists():  # absent only inside the swap of the old folder for the new one
        loaded = from_pretrained(model_dir)
        assert _same_state(loaded, old_model) or _same_state(loaded, new_model)
    else:
        assert (tmp_path / ".model.old").is_dir()
    leftovers = {p.name for p in tmp_path.iterdir()} - {"old.h5", "new.npz", "model"}
    assert all(name.startswith(".") for name in leftovers), leftovers
