"""Shared pieces of the reliability suite: fixture encoders, generated clips, child processes.

The Prophesee encoders and the random event generator are those of ``tests/test_io.py`` and the
miniature AFEW-VA tree is ``tests/data/afew_va/data.py``; they are loaded by path so that the
suite reuses them instead of keeping copies.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SHARED_DATA = REPO / ".." / "shared" / "data"


def load_module(path: Path, name: str) -> ModuleType:
    """Import a helper script of the test tree by path (it is not part of a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def io_fixtures() -> ModuleType:
    """``tests/test_io.py``: ``random_events``, ``write_raw`` (EVT 2.0 / 3.0), ``write_dat``, ``SIZE``."""
    return load_module(TESTS / "test_io.py", "_reliability_test_io")


@pytest.fixture(scope="session")
def afew_va_data() -> ModuleType:
    """``tests/data/afew_va/data.py``: ``make_afew_va(root, n_clips=..., n_frames=...)``."""
    return load_module(TESTS / "data" / "afew_va" / "data.py", "_reliability_afew_va_data")


def shared_sample(name: str) -> Path:
    """A real third-party event file of ``../shared/data/events``; skips the test when absent."""
    path = SHARED_DATA / "events" / name
    if not path.is_file():
        pytest.skip(f"shared sample {name} not available")
    return path


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
