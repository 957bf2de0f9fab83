"""Imports in a fresh interpreter: what a piece of code loads, where this test process has loaded everything."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "lightning")
"""The modules that code promised to run without must leave unimported (Lightning imports torch)."""


def assert_runs_without(code: str, modules: tuple[str, ...] = HEAVY) -> None:
    """Run ``code`` in a fresh Python and fail, with its stderr, if it fails or leaves any of ``modules`` imported."""
    check = f"\nimport sys; loaded = sorted(set({list(modules)!r}) & set(sys.modules)); assert not loaded, loaded"
    result = subprocess.run([sys.executable, "-c", code + check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
