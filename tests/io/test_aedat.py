"""neurova.io.aedat: files that are not AEDAT 4 (real recordings: tests/io/test_real_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import neurova.io as nio
from neurova.errors import EventFormatError
from tests.helpers.events import raises_with_path


def test_aedat4_wrong_magic(tmp_path: Path) -> None:
    pytest.importorskip("aedat")
    path = tmp_path / "n.aedat4"
    path.write_bytes(b"#!AER-DAT2.0\r\n" + bytes(100))
    raises_with_path(path, "AEDAT4")
    with pytest.raises(EventFormatError, match="AEDAT4"):
        nio.get_sensor_size(path)
