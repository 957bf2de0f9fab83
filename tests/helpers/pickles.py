"""A pickle that runs code when loaded: the proof that a loader refused an unsafe file.

``torch.save({"x": Payload(str(marker))}, path)`` writes a file whose unpickling creates ``marker``; a loader that
reads it safely (``torch.load(..., weights_only=True)``, safetensors) raises instead and ``marker`` never appears.
"""

from __future__ import annotations

import builtins
from typing import Any


class Payload:
    """Unpickling this creates the file ``target``: the proof that a pickle ran code."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return builtins.open, (self.target, "w")
