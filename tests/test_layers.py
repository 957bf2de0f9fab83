"""The layer contract of docs/architecture.md, as import-linter checks it (``[tool.importlinter]`` in pyproject.toml).

The real package must keep both contracts (layers, no cycles between siblings); a copy of the package with
deliberate faults (an upward import at module level and inside a function, a cycle between two sibling modules, a
module given no layer) must break them, each fault named in the report; and the contract's layers must be the
architecture page's table.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the dev extra")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with ``cwd``'s pyproject.toml on the ``neurova`` package found first under ``cwd``."""
    script = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _contract(contract_id: str) -> dict:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def test_the_package_keeps_its_contracts(capsys):
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "2 kept, 0 broken" in printed


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_faults_break_the_contracts(tmp_path):
    shutil.copytree(ROOT / "neurova", tmp_path / "neurova", ignore=shutil.ignore_patterns("__pycache__", "weights"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    package = tmp_path / "neurova"
    _append(package / "events.py", "\nimport neurova.demo\n")  # layer 0 -> layer 6, at module level
    _append(package / "io" / "npz.py", "\n\ndef _late():\n    from neurova.models import hub\n")  # 1 -> 4, in a function
    _append(package / "nets" / "tiny.py", "\nimport neurova.nets.heads\n")  # nets.tiny <-> nets.heads: a cycle
    _append(package / "nets" / "heads.py", "\nimport neurova.nets.tiny\n")
    (package / "stray.py").write_text('"""A module nobody placed in a layer."""\n')

    result = _lint(tmp_path)
    report = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, report
    assert "neurova.events is not allowed to import neurova.demo" in report
    assert "neurova.io is not allowed to import neurova.models" in report
    assert re.search(r"No cycles are allowed in neurova\.nets\..*\.(heads|tiny)\b", report), report
    assert "neurova.stray" in report


def _doc_layers() -> dict[int, set[str]]:
    """Layer number -> the top-level modules of that row of docs/architecture.md's layer table."""
    layers: dict[int, set[str]] = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        row = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if row:
            names = re.findall(r"`neurova/([A-Za-z_0-9]+)(?:\.py|/)?[^`]*`", row.group(2))
            layers.setdefault(int(row.group(1)), set()).update(names)
    return layers


def test_the_contract_is_the_architecture_table():
    contract = _contract("layers")["layers"]
    from_contract = {
        len(contract) - 1 - i: {name.strip(" ()") for name in re.split(r"[:|]", layer)}
        for i, layer in enumerate(contract)
    }
    assert from_contract == _doc_layers()
