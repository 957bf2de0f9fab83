"""Write ``docs/api.md``, the API reference, from the public modules' ``__all__`` and docstrings.

    python docs/gen_api.py            # rewrite docs/api.md
    python docs/gen_api.py --check    # exit 1 if docs/api.md is out of date (run by the tests)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

MODULES = (
    "neurova.events",
    "neurova.errors",
    "neurova.emotions",
    "neurova.contract",
    "neurova.io",
    "neurova.image",
    "neurova.encodings",
    "neurova.transforms",
    "neurova.simulator",
    "neurova.faces",
    "neurova.plotting",
    "neurova.datasets",
    "neurova.datamodules",
    "neurova.metrics",
    "neurova.nets",
    "neurova.nets.layout",
    "neurova.models",
    "neurova.models.hf_hub",
    "neurova.augment",
    "neurova.baselines",
    "neurova.zero_shot",
    "neurova.domain",
    "neurova.inference",
    "neurova.streaming",
    "neurova.training",
    "neurova.demo",
    "neurova.zoo",
    "neurova.leaderboard",
    "neurova.face_detector_training",
)
TARGET = Path(__file__).resolve().parent / "api.md"


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings by `python docs/gen_api.py`; a test keeps it current.",
             "Each entry is a public name (in its module's `__all__`) with its signature and the first",
             "paragraph of its docstring; the docstrings themselves give shapes, units and errors.", ""]
    for name in MODULES:
        module = importlib.import_module(name)
        lines += [f"## `{name}`", "", _summary(module), ""]
        for attr in sorted(getattr(module, "__all__", [])):
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                kind = "class" if inspect.isclass(obj) else "def"
                lines.append(f"- **`{attr}`** `{kind} {attr}{_signature(obj)}`".replace("``", ""))
                summary = _summary(obj)
                if summary:
                    lines.append(f"  {summary}")
            else:
                lines.append(f"- **`{attr}`**" + (f" — {_summary(obj)}" if inspect.ismodule(obj) else ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md is out of date")
    text = render()
    if parser.parse_args().check:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run python docs/gen_api.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
