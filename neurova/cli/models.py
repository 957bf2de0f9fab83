"""``neurova models``: the model registry, and what saved models need."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neurova.cli.arguments import add_command, existing_path

__all__ = ["add_commands", "describe_contract"]


def describe_contract(contract: Any | None) -> str:
    """One line: the input recipe of an :class:`~neurova.contract.InputContract` and the minimum recording length
    (:attr:`~neurova.contract.InputContract.history_us`)."""
    if contract is None:
        return "no input contract"
    return (f"input {contract.clip_length} {contract.encoding} frame(s) of {contract.n_bits} x {contract.bin_us} µs, "
            f"{contract.frame_interval_us} µs apart, {contract.image_size}x{contract.image_size} px; minimum "
            f"recording length {contract.history_us / 1000:g} ms")


def _describe_saved(path: Path) -> str:
    """One line about a saved model folder, from its config.json alone (nothing is built)."""
    from neurova.contract import InputContract
    from neurova.models.hub import read_config

    config = read_config(path)
    contract = config.get("input_contract")
    line = f"{config.get('architecture') or config['class']}: "
    line += describe_contract(None if contract is None else InputContract.from_dict(contract))
    stats = config.get("input_stats")
    if stats:
        median = stats["nonzero_median"]
        line += (f"; training inputs {100 * stats['nonzero_fraction']:.3g} % non-zero, median non-zero value "
                 f"{'n/a' if median is None else f'{median:.3g}'}")
    return line


def _cmd_models(args: argparse.Namespace) -> int:
    from neurova.models import list_models, neurova_home

    if args.model is not None:
        print(f"{args.model}: {_describe_saved(args.model)}")
        return 0
    for name in list_models(args.pattern):
        print(name)
    root = neurova_home() / "models"
    saved = sorted(p.parent for p in root.glob("*/config.json"))
    if saved:
        print(f"\nsaved models in {root}:")
        for folder in saved:
            print(f"  {folder.name}: {_describe_saved(folder)}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models``."""
    p = add_command(subparsers, "models", _cmd_models,
                    "List the registered models, and saved ones with the recording length they need")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'resnet*'")
    p.add_argument("--model", type=existing_path, default=None,
                   help="describe one saved model folder instead: its input, the minimum recording length, the "
                        "training inputs' statistics")
