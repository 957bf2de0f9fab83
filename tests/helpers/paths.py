"""Where the tests find things: the repository, the generated fixtures, the real third-party samples."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
"""The ``tests/`` folder."""

REPO = TESTS.parent
"""The repository root."""

SHARED_DATA = REPO / ".." / "shared" / "data"
"""Real third-party recordings (``../shared/data``, see its README); absent on most machines."""


def shared_sample(*parts: str) -> Path:
    """The file or folder ``../shared/data/<parts>``; skips the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared sample {'/'.join(parts)} not available (../shared/data)")
    return path
