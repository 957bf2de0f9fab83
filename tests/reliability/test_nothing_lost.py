"""Nothing lost: real processes killed with SIGKILL midway, then resumed.

* ``neurova simulate`` over a folder of clips, killed once its first files appear, then rerun,
  gives the same files and events as an uninterrupted run; every file that ever appears under a
  final name is complete (the output folder is polled while the child runs).
* A synthetic-faces cache build killed twice midway, then resumed, holds exactly the events of an
  uninterrupted build.
* ``write_events`` and ``save_pretrained`` killed mid-write leave the old file / folder, the new
  complete one, or (for a folder being swapped) nothing under the final name.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import neurova.io as nio
from neurova.datasets.synthetic import SyntheticFacesConfig, prepare_synthetic_faces, synthetic_cache
from neurova.events import empty_events
from neurova.io.hdf5 import read_events_from_group
from neurova.models import create_model, from_pretrained
from neurova.simulator.batch import simulate_dataset

from .conftest import REPO, child_env, start_child, write_frame_clips

N_CLIPS = 12
SIM_ARGS = ["--preset", "noisy", "--upsample", "4", "--seed", "3", "--quiet"]


def _final_files(folder: Path) -> set[str]:
    """Event files under their final names (temporary files of atomic writes start with a dot)."""
    return {p.name for p in folder.glob("*.h5") if not p.name.startswith(".")} if folder.is_dir() else set()


def _kill(proc: subprocess.Popen[str]) -> None:
    assert proc.poll() is None, "the child finished before it could be killed midway"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


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

    rerun = subprocess.run(command, env=child_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert _final_files(out) == set(expected)
    for name, events in expected.items():
        np.testing.assert_array_equal(nio.read_events(out / name), events)


SYNTH = {"n_subjects": 3, "clips_per_subject": 3, "frames_per_clip": 25, "image_size": 48,
         "emotion_clips_per_emotion": 0}
BUILD = """
import sys, time, json
from neurova.events import empty_events
from neurova.datasets.synthetic import SyntheticFacesConfig, prepare_synthetic_faces
config = SyntheticFacesConfig(**json.loads(sys.argv[2]))
print("start", flush=True)
began = time.perf_counter()
prepare_synthetic_faces(sys.argv[1], config, progress=False)
print("done", time.perf_counter() - began, flush=True)
"""


def _cache_contents(cache_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    cache = synthetic_cache(cache_dir, SyntheticFacesConfig(**SYNTH))
    contents = {}
    for clip_id, path in cache.complete_clips().items():
        with h5py.File(path, "r") as f:
            group = f["clips"][clip_id]
            contents[clip_id] = (read_events_from_group(group["events"]), group["va"][()])
    return contents


def test_killed_cache_build_resumes_to_identical_events(tmp_path: Path) -> None:
    reference = start_child(BUILD, str(tmp_path / "reference"), json.dumps(SYNTH))
    out, err = reference.communicate(timeout=120)
    assert reference.returncode == 0, err
    duration = float(out.split()[-1])
    expected = _cache_contents(tmp_path / "reference")
    total = len(SyntheticFacesConfig(**SYNTH).jobs()[0])
    assert len(expected) == total

    cache_dir = tmp_path / "resumed"
    for fraction in (0.4, 0.3):  # the second kill lands in the resumed build
        proc = start_child(BUILD, str(cache_dir), json.dumps(SYNTH))
        assert proc.stdout.readline().strip() == "start"
        time.sleep(fraction * duration)
        _kill(proc)
        partial = _cache_contents(cache_dir)  # the killed build's file stays readable
        assert len(partial) < total
        for clip_id, (events, _) in partial.items():
            np.testing.assert_array_equal(events, expected[clip_id][0])
    subjects = prepare_synthetic_faces(cache_dir, SyntheticFacesConfig(**SYNTH), progress=False)
    assert len(subjects) == total
    resumed = _cache_contents(cache_dir)
    assert resumed.keys() == expected.keys()
    for clip_id, (events, va) in expected.items():
        np.testing.assert_array_equal(resumed[clip_id][0], events)
        np.testing.assert_array_equal(resumed[clip_id][1], va)


WRITER = """
import sys, numpy as np, torch
from pathlib import Path
from neurova.io import write_events
from neurova.models import create_model
root = Path(sys.argv[1])
rng = np.random.default_rng(1)
n = 400_000
events = np.zeros(n, dtype=[("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "?")])
events["x"], events["y"] = rng.integers(0, 64, n), rng.integers(0, 48, n)
events["t"], events["p"] = np.sort(rng.integers(0, 10**7, n)), rng.integers(0, 2, n)
torch.manual_seed(1)
model = create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)
print("ready", flush=True)
while True:
    write_events(root / "old.h5", events, (64, 48))
    write_events(root / "new.npz", events, (64, 48))
    model.save_pretrained(root / "model")
"""


def _tiny_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("seed", [0, 1])
def test_writes_killed_midway_leave_old_or_new_never_partial(tmp_path: Path, seed: int) -> None:
    old_events = nio.read_events(nio.write_events(tmp_path / "old.h5", empty_events(), (64, 48)))
    old_model, new_model = _tiny_model(0), _tiny_model(1)
    old_model.save_pretrained(tmp_path / "model")
    proc = start_child(WRITER, str(tmp_path))
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(random.Random(seed).uniform(0.05, 0.6))
    _kill(proc)

    # old.h5 held no events before the child rewrote it with 400,000; new.npz did not exist
    assert len(nio.read_events(tmp_path / "old.h5")) in (len(old_events), 400_000)
    if (tmp_path / "new.npz").exists():
        assert len(nio.read_events(tmp_path / "new.npz")) == 400_000
    model_dir = tmp_path / "model"
    if model_dir.exists():  # absent only inside the swap of the old folder for the new one
        loaded = from_pretrained(model_dir)
        assert _same_state(loaded, old_model) or _same_state(loaded, new_model)
    else:
        assert (tmp_path / ".model.old").is_dir()
    leftovers = {p.name for p in tmp_path.iterdir()} - {"old.h5", "new.npz", "model"}
    assert all(name.startswith(".") for name in leftovers), leftovers
