"""Training glue: the Lightning callbacks that export the model and the predictions, and the accelerator check.

:class:`SavePretrained` and :class:`WritePredictions` work with any ``lightning.Trainer``; the ``neurova fit``
command (:class:`neurova.cli.lightning.NeurovaCLI`, formerly ``neurova.training.NeurovaCLI``) adds them as
``--save_pretrained.*`` and ``--predictions.*``. :func:`retain_freed_memory`, which the ``neurova`` command calls,
is for training scripts of one's own: the first line of such a script on Linux (the demo's model trained 1.4-1.8x
faster on the CPU).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch

from neurova._atomic import atomic_path
from neurova._memory import retain_freed_memory as retain_freed_memory
from neurova.errors import NeurovaError
from neurova.models.base import VARegressionModule

__all__ = ["SavePretrained", "WritePredictions", "check_accelerator", "native_bf16", "resolve_precision",
           "retain_freed_memory"]

_DEVICE_ACCELERATORS = ("gpu", "cuda", "mps")


def check_accelerator(name: str) -> str:
    """Return ``name`` (lower-cased) if Lightning's accelerator of that name can run on this machine.

    ``"cpu"`` and ``"auto"`` always can; ``"gpu"`` needs CUDA or Apple MPS, ``"cuda"`` and ``"mps"``
    their device. Checked before any data is built, so a missing GPU is reported at once.

    Raises:
        NeurovaError: an unknown name, or no such device here.
    """
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

    key = name.strip().lower()
    if key in ("cpu", "auto"):
        return key
    if key not in _DEVICE_ACCELERATORS:
        raise NeurovaError(f"unknown accelerator {name!r}; expected cpu, gpu, cuda, mps or auto")
    available = {"gpu": CUDAAccelerator.is_available() or MPSAccelerator.is_available(),
                 "cuda": CUDAAccelerator.is_available(), "mps": MPSAccelerator.is_available()}[key]
    if not available:
        raise NeurovaError(f"accelerator {key!r} asked for, but this machine has no {key.upper()} device that torch "
                           f"can use (torch {torch.__version__}, CUDA {torch.version.cuda or 'not built in'}); use "
                           "cpu or auto")
    return key


def native_bf16(accelerator: str) -> bool:
    """Whether ``accelerator`` (as :func:`check_accelerator` returns it) computes bfloat16 natively.

    On CPU that means oneDNN's bf16 kernels (x86 with AVX512-BF16 or AMX): without them, bf16 autocast is
    emulated and slower than float32. On CUDA it is ``torch.cuda.is_bf16_supported()`` (Ampere and later);
    Apple MPS answers ``False``. ``"auto"`` asks about the device Lightning would pick (CUDA when present).
    """
    from lightning.pytorch.accelerators import CUDAAccelerator

    key = accelerator.strip().lower()
    if key == "auto":
        key = "cuda" if CUDAAccelerator.is_available() else "cpu"
    if key == "cpu":
        probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        return bool(torch.backends.mkldnn.is_available() and probe is not None and probe())
    if key in ("gpu", "cuda"):
        return CUDAAccelerator.is_available() and torch.cuda.is_bf16_supported()
    return False


def resolve_precision(precision: str, accelerator: str) -> str:
    """Lightning's ``precision`` for a run: ``"auto"`` becomes ``"bf16-mixed"`` where :func:`native_bf16`, else
    ``"32-true"``; any other value (``"32-true"``, ``"bf16-mixed"``, ``"16-mixed"``, ...) is returned unchanged.

    Mixed precision keeps float32 master weights, so a model trained under ``"bf16-mixed"`` saves and predicts
    in float32 like any other.
    """
    if precision.strip().lower() != "auto":
        return precision
    return "bf16-mixed" if native_bf16(accelerator) else "32-true"


class SavePretrained(L.Callback):
    """At the end of ``fit``, write the best checkpoint (or the last weights) with ``save_pretrained``.

    Nothing is exported by a ``fast_dev_run`` (a smoke test must not replace a trained model), and
    the folder is written by :func:`neurova.models.hub.save_pretrained`, which never deletes files
    it did not write.

    Args:
        dirpath: output folder; ``None`` puts it at ``<trainer.log_dir>/model``.
    """

    def __init__(self, dirpath: str | None = None) -> None:
        self.dirpath = dirpath
        self.saved_to: Path | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Refuse an export folder that ``save_pretrained`` would refuse, before training rather than after."""
        if self.dirpath and trainer.is_global_zero and not trainer.fast_dev_run:
            from neurova.models.hub import check_save_target

            check_save_target(self.dirpath)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not isinstance(pl_module, VARegressionModule) or not trainer.is_global_zero:
            return
        if trainer.fast_dev_run:
            print("fast_dev_run: no model exported (save_pretrained.dirpath is left as it is)")
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


class WritePredictions(L.Callback):
    """During ``predict``, collect every prediction and write them to a CSV file at the end.

    Columns: ``clip_id``, ``subject``, ``timestamp_us`` (end of the predicted frame, µs), ``valence``,
    ``arousal``. A frame model gives one row per clip (its last frame), a video model one row per
    frame. With several processes, rank ``r`` writes ``<stem>.rank<r>.csv``.

    Args:
        path: output CSV; ``None`` puts it at ``<trainer.log_dir>/predictions.csv``.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.written_to: Path | None = None
        self._rows: list[tuple[Any, ...]] = []

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._rows = []

    def on_predict_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                             batch_idx: int, dataloader_idx: int = 0) -> None:
        if not isinstance(outputs, dict) or "va" not in outputs:
            return
        va = outputs["va"].detach().float().cpu()
        meta = outputs.get("meta") or {}
        n = va.shape[0]
        clips = [str(c) for c in meta.get("clip_id", [f"batch{batch_idx}_{i}" for i in range(n)])]
        subjects = [str(s) for s in meta.get("subject", [""] * n)]
        times = meta.get("timestamps_us")
        times = torch.full((n, 1), -1, dtype=torch.int64) if times is None else torch.as_tensor(times).reshape(n, -1)
        if va.ndim == 2:  # one prediction per clip: its last frame
            va, times = va[:, None], times[:, -1:]
        times = times[:, -va.shape[1]:]
        for i in range(n):
            for j in range(va.shape[1]):
                self._rows.append((clips[i], subjects[i], int(times[i, j]), float(va[i, j, 0]), float(va[i, j, 1])))

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        path = Path(self.path) if self.path else Path(trainer.log_dir or ".") / "predictions.csv"
        if trainer.world_size > 1:
            path = path.with_name(f"{path.stem}.rank{trainer.global_rank}{path.suffix}")
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["clip_id", "subject", "timestamp_us", "valence", "arousal"])
            writer.writerows(self._rows)
        self.written_to = path
        print(f"{len(self._rows)} predictions -> {path}")


def __getattr__(name: str) -> object:
    if name == "NeurovaCLI":  # moved with the rest of the ``neurova`` command
        import warnings

        from neurova.cli.lightning import NeurovaCLI

        warnings.warn("neurova.training.NeurovaCLI moved to neurova.cli.lightning.NeurovaCLI; the old name will be "
                      "removed", DeprecationWarning, stacklevel=2)
        return NeurovaCLI
    raise AttributeError(f"module 'neurova.training' has no attribute {name!r}")
