"""neurova.io.npz: .npz and .npy files from elsewhere (field aliases, column tables) and damaged ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurova.io as nio
from tests.helpers.events import SIZE, raises_with_path, random_events


def test_npy_structured_and_columns(tmp_path: Path) -> None:
    events = random_events(30)
    np.save(tmp_path / "s.npy", events)
    table = np.stack([events["t"], events["x"], events["y"], events["p"]], axis=1)
    np.save(tmp_path / "c.npy", table)
    for name in ("s.npy", "c.npy"):
        np.testing.assert_array_equal(nio.read_events(tmp_path / name), events)
        assert nio.get_sensor_size(tmp_path / name).width <= SIZE.width
        np.testing.assert_array_equal(np.concatenate(list(nio.iter_events(tmp_path / name, chunk_events=7))), events)


def test_npz_from_elsewhere_with_aliases(tmp_path: Path) -> None:
    events = random_events(20)
    np.savez(tmp_path / "a.npz", x=events["x"], y=events["y"], timestamp=events["t"], polarity=events["p"].astype(int))
    np.testing.assert_array_equal(nio.read_events(tmp_path / "a.npz", sensor_size=SIZE), events)


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_corrupt_numpy_files(tmp_path: Path, suffix: str) -> None:
    events = random_events(2_000)
    path = tmp_path / f"c{suffix}"
    if suffix == ".npz":
        nio.write_events(path, events, SIZE)
    else:
        np.save(path, events)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    raises_with_path(path, "truncated or corrupt")
    np.save(tmp_path / "bad.npy", np.zeros((3, 3)))
    raises_with_path(tmp_path / "bad.npy", r"\(N, 4\)")
