"""Lightning's loops as ``neurova`` commands: ``fit``, ``validate``, ``test`` and ``predict-dataset``.

:class:`NeurovaCLI` is a ``LightningCLI`` in subclass mode, so any model of :mod:`neurova.models` and any
DataModule can be named in a YAML config (``configs/``) or on the command line by class path or short class
name, e.g. ``class_path: neurova.models.ResNetFusion`` or ``--data SyntheticFacesDataModule``. The datamodule's
number of channels is linked to the model's ``in_chans``, so a config never states it twice.

``neurova predict-dataset`` is Lightning's own ``predict`` loop (every sample of a datamodule's predict set, written
by :class:`~neurova.training.WritePredictions`); ``neurova predict`` is :func:`neurova.predict` on one recording.
This module imports Lightning and torch: :mod:`neurova.cli` imports it only to run one of these commands.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import lightning as L
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

import neurova.datamodules  # noqa: F401  (imported so that datamodules can be named by their short class name)
from neurova.models.base import VARegressionModule
from neurova.training import SavePretrained, WritePredictions, check_accelerator

__all__ = ["NeurovaCLI", "run"]


class NeurovaCLI(LightningCLI):
    """``LightningCLI`` in subclass mode for neurova's models and datamodules.

    Adds ``--save_pretrained.dirpath`` (:class:`~neurova.training.SavePretrained`) and ``--predictions.path``
    (:class:`~neurova.training.WritePredictions`), and checks ``--trainer.accelerator`` and the export folder of
    ``fit`` before anything is built. Its subcommands are Lightning's: ``fit``, ``validate``, ``test``, ``predict``.
    """

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            model_class=VARegressionModule,
            datamodule_class=L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(SavePretrained, "save_pretrained")
        parser.add_lightning_class_args(WritePredictions, "predictions")
        parser.link_arguments("data.num_channels", "model.init_args.in_chans", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        if config is None:
            return
        accelerator = config.get("trainer", {}).get("accelerator")
        if isinstance(accelerator, str):
            check_accelerator(accelerator)
        export = config.get("save_pretrained", {}).get("dirpath")
        if self.subcommand == "fit" and export and not config.get("trainer", {}).get("fast_dev_run"):
            from neurova.models.hub import check_save_target

            check_save_target(export)  # a folder save_pretrained would refuse fails now, not after training


def run(subcommand: str, args: Sequence[str], *, from_sys_argv: bool = False) -> int:
    """Run Lightning's ``subcommand`` (``fit``, ``validate``, ``test`` or ``predict``) with the words ``args``.

    With ``from_sys_argv`` (the console script) LightningCLI reads ``sys.argv`` itself, as it expects to, with the
    neurova command word replaced by Lightning's; given ``args`` otherwise (a call from Python). Returns 0.
    """
    words = [subcommand, *args]
    if not from_sys_argv:
        NeurovaCLI(args=words)
        return 0
    saved = sys.argv
    sys.argv = [saved[0], *words]
    try:
        NeurovaCLI(args=None)
    finally:
        sys.argv = saved
    return 0
