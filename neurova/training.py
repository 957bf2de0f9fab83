"""Training glue: the LightningCLI of ``neurova fit`` and the callback that exports the best model.

Models and datamodules are named in YAML configs (``configs/``) by class path
or short class name, e.g. ``class_path: neurova.models.ResNetFusion``. The
datamodule's number of channels is linked to the model's ``in_chans``, so a
config never states it twice.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from neurova.models.base import VARegressionModule

__all__ = ["NeurovaCLI", "SavePretrained"]


class SavePretrained(L.Callback):
    """At the end of ``fit``, write the best checkpoint (or the last weights) with ``save_pretrained``.

    Args:
        dirpath: output folder; ``None`` puts it at ``<trainer.log_dir>/model``.
    """

    def __init__(self, dirpath: str | None = None) -> None:
        self.dirpath = dirpath
        self.saved_to: Path | None = None

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not isinstance(pl_module, VARegressionModule) or not trainer.is_global_zero:
            return
        model = pl_module
        best = getattr(trainer.checkpoint_callback, "best_model_path", "")
        if best:
            model = type(pl_module).from_pretrained(best)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        target = Path(self.dirpath) if self.dirpath else Path(trainer.log_dir or ".") / "model"
        model.save_pretrained(target, metrics=metrics)
        self.saved_to = target
        print(f"saved model -> {target}")


class NeurovaCLI(LightningCLI):
    """``LightningCLI`` in subclass mode for neurova's models and datamodules."""

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
        parser.link_arguments("data.num_channels", "model.init_args.in_chans", apply_on="instantiate")
