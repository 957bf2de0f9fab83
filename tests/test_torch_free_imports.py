"""The modules whose docstrings or docs promise an import without torch keep that promise.

Each is imported in a fresh interpreter (torch, once imported, stays in ``sys.modules``), so a new import at module
level anywhere below them, like the one that once made ``neurova --help`` take 3 s, fails here.
"""

from __future__ import annotations

import pytest

from tests.helpers.imports import assert_runs_without

TORCH_FREE = [
    "neurova",  # neurova/__init__.py: submodules load lazily
    "neurova.image",  # "numpy only at import time"
    "neurova.faces",  # "numpy only at import time"
    "neurova.zero_shot",  # docs/zero_shot.md: loads just the numpy mapping
    "neurova.recipes",  # the protocols, read when the command builds its parser
    "neurova.zoo",  # adds the `zoo` command to the parser
    "neurova.cli",  # docs/architecture.md: the commands and `neurova --help` start without torch
]


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_imports_without_torch(module: str) -> None:
    assert_runs_without(f"import importlib; importlib.import_module({module!r})")
