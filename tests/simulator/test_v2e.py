"""Tests of neurova.simulator.v2e, the optional v2e backend: the install hint, the adapter's event conversion."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from neurova.errors import MissingDependencyError
from neurova.simulator import simulate

cv2 = pytest.importorskip("cv2")


def test_v2e_backend_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "v2e", None)
    monkeypatch.setitem(sys.modules, "v2ecore", None)
    monkeypatch.setitem(sys.modules, "v2ecore.emulator", None)
    with pytest.raises(MissingDependencyError, match=r"(?i)install v2e from its repository"):
        simulate(np.zeros((2, 2, 2), np.uint8), backend="v2e")


def test_v2e_backend_adapter_converts_events(monkeypatch: pytest.MonkeyPatch) -> None:
    created: dict[str, object] = {}

    class FakeEmulator:
        def __init__(self, **kwargs: object) -> None:
            created.update(kwargs)
            self.count = 0

        def generate_events(self, new_frame: np.ndarray, t_frame: float) -> np.ndarray | None:
            self.count += 1
            if self.count == 1:
                return None
            # two events per frame: [t (s), x, y, p (+1/-1)], deliberately out of time order
            return np.array([[t_frame, 1, 0, -1], [t_frame - 0.01, 0, 1, 1]], dtype=np.float32)

    monkeypatch.setitem(sys.modules, "v2e", types.SimpleNamespace(EventEmulator=FakeEmulator))
    events = simulate(np.zeros((3, 2, 2), np.uint8), [0, 40_000, 80_000], backend="v2e", preset="noisy", seed=3)
    assert created["pos_thres"] == 0.2 and created["shot_noise_rate_hz"] == 5.0 and created["seed"] == 0
    assert (created["output_width"], created["output_height"]) == (2, 2)
    assert events["t"].tolist() == [30_000, 40_000, 70_000, 80_000]
    assert events["x"].tolist() == [0, 1, 0, 1] and events["p"].tolist() == [True, False, True, False]
