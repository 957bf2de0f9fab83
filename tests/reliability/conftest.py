"""Shared pieces of the reliability suite: real samples, generated clips, child processes.

The event generator and the Prophesee writers are :mod:`tests.helpers.events`, the miniature AFEW-VA tree
:mod:`tests.data.afew_va.data`; the suite imports them like every other test.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import paths
from tests.helpers.paths import REPO


def shared_sample(name: str) -> Path:
    """A real third-party event file of ``../shared/data/events``; skips the test when absent."""
    return paths.shared_sample("events", name)


def write_frame_clips(root: Path, n_clips: int, *, n_frames: int = 12, size: tuple[int, int] = (48, 64)) -> Path:
    """``n_clips`` folders ``clipNN/00000.png ...`` of a random texture sliding sideways (grayscale, H x W)."""
    cv2 = pytest.importorskip("cv2")
    for c in range(n_clips):
        folder = root / f"clip{c:02d}"
        folder.mkdir(parents=True)
        base = np.random.default_rng(c).integers(20, 235, size, dtype=np.uint8)
        for i in range(n_frames):
            cv2.imwrite(str(folder / f"{i:05d}.png"), np.roll(base, i, axis=1))
    return root


def child_env() -> dict[str, str]:
    """Environment of child processes: one thread each, the repository importable."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start_child(code: str, *args: str) -> subprocess.Popen[str]:
    """Run ``python -c code args...`` in a new process, stdout piped as text."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=REPO,
    )


@pytest.fixture(scope="session")
def fork_server() -> multiprocessing.context.ForkServerContext:
    """A multiprocessing context whose processes fork from a server that imported :mod:`tests.reliability.children`
    (torch, Lightning, neurova's models) once: real processes that SIGKILL ends midway like any other, started
    without seconds of imports each. Targets must be functions of that module."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.reliability.children"])
    return context
