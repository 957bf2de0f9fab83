"""The one LightningModule of neurova: valence/arousal regression over any registered net.

:class:`VARegressionTask` builds its network by name from the registry of :mod:`neurova.nets.registry`
(``create_net(net, in_chans, **net_args)``) and holds everything else once: loss, metrics, logging, the AdamW
optimiser with warm-up and cosine schedule, backbone freezing, the input contract, the training input statistics,
saving and loading. It needs no per-architecture code: the registry says how many frames a net reads and whether
it predicts every frame.

The classes of :mod:`neurova.models.frame`, :mod:`~neurova.models.video` and :mod:`~neurova.models.tiny`
(``ResNetFusion``, ``TinyCNN``, ...) are entry points: the task with a family of registered nets and the nets'
arguments as constructor arguments.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightning as L
import torch
from torch import Tensor, nn

from neurova.contract import InputContract, as_contract
from neurova.domain import InputStats, InputStatsCollector
from neurova.errors import InputContractError
from neurova.metrics import LossKind, VALoss, VAMetrics
from neurova.models import hub
from neurova.nets.layout import prefers_channels_last, restore_contiguous, to_channels_last
from neurova.nets.registry import NetSpec, create_net, get_net_spec

__all__ = ["SchedulerKind", "Stage", "VARegressionTask", "entry_net_args"]

Stage = Literal["train", "val", "test"]
SchedulerKind = Literal["cosine", "constant"]

#: Names in an entry point's ``__init__`` that are not arguments of its net.
_NOT_NET_ARGS = frozenset({"self", "__class__", "in_chans", "task_kwargs"})


def entry_net_args(local_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The net arguments of an entry point's ``__init__``: its ``locals()`` but ``self``, ``in_chans`` and
    ``task_kwargs``."""
    return {k: v for k, v in local_vars.items() if k not in _NOT_NET_ARGS}


class VARegressionTask(L.LightningModule):
    """Valence/arousal regression in [-1, 1] with the registered net ``net``.

    Batches are dicts with ``frames`` ``(B, T, C, H, W)`` float32, ``va`` ``(B, T, 2)`` (NaN where
    unlabelled) and ``meta``. A frame net (:attr:`predicts_sequence` false) reads the last
    :attr:`frames_used` frames and is scored on the last frame's VA; a video net predicts and is scored on
    every frame.

    Args:
        net: a registered net (:func:`neurova.nets.list_nets`, the same names as
            :func:`neurova.models.list_models`), e.g. ``"tiny_cnn_fusion"``.
        net_args: the net's arguments over its defaults (``{"backbone": "resnet34", "num_frames": 8}``; any timm
            model name is a ``backbone``); see the net's factory in :mod:`neurova.nets.registry`.
        in_chans: channels C of each input frame (linked from the datamodule by ``neurova fit``).
        loss: ``"mse"``, ``"ccc"`` or ``"mse+ccc"`` (see :class:`neurova.metrics.VALoss`).
        loss_weights: ``(w_mse, w_ccc)`` of the ``"mse+ccc"`` loss.
        lr: AdamW learning rate of the head (and of the backbone when ``backbone_lr`` is None); None takes the
            net's registered default (1e-3; 3e-3 for the tiny CNNs).
        backbone_lr: learning rate of the backbone (trunk); e.g. ``lr / 10`` for fine-tuning.
        weight_decay: AdamW weight decay (not applied to biases and normalisation weights).
        warmup_steps: linear warm-up optimiser steps before the schedule.
        scheduler: ``"cosine"`` (to 0 over ``trainer.estimated_stepping_batches``) or ``"constant"``.
        freeze_backbone: train the head only; the backbone keeps ``requires_grad=False`` and stays in
            eval mode (frozen BatchNorm statistics). The only way to freeze: a fitted model trains in
            training mode otherwise, also when it was loaded in eval mode.
        input_contract: the input recipe (:class:`neurova.contract.InputContract` or its dict); taken
            from ``trainer.datamodule.input_contract`` at setup when not given.

    Logged: ``{stage}/loss`` and, per epoch, ``{stage}/ccc_valence``, ``{stage}/ccc_arousal``,
    ``{stage}/pcc_*``, ``{stage}/rmse_*``, ``{stage}/sagr_*`` and ``{stage}/ccc_mean`` (monitor
    ``val/ccc_mean`` with ``mode="max"`` for checkpointing).

    ``forward``: ``(B, T, C, H, W)`` (or one frame ``(B, C, H, W)``) → ``(B, 2)``, or ``(B, T, 2)`` for a net
    that predicts every frame.
    """

    #: Registered nets an entry-point subclass builds, its default first; empty for the task itself.
    variants: ClassVar[tuple[str, ...]] = ()
    #: Training inputs measured at the start of each fit for :attr:`input_stats`.
    input_stats_size: ClassVar[int] = 256
    #: Whether a fit on the CPU lays the weights out channels-last when the trunk prefers it (:meth:`setup`);
    #: set it to False on a model to fit in the contiguous layout (``neurova zoo build`` does, so that its checkpoints
    #: stay bit-for-bit those it shipped: the two layouts round differently).
    fit_channels_last: bool = True

    def __init__(
        self,
        net: str,
        net_args: Mapping[str, Any] | None = None,
        in_chans: int = 1,
        loss: LossKind = "mse+ccc",
        loss_weights: tuple[float, float] = (1.0, 1.0),
        lr: float | None = None,
        backbone_lr: float | None = None,
        weight_decay: float = 1e-4,
        warmup_steps: int = 0,
        scheduler: SchedulerKind = "cosine",
        freeze_backbone: bool = False,
        input_contract: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        spec = get_net_spec(net)
        if in_chans < 1:
            raise ValueError(f"in_chans must be >= 1, got {in_chans}")
        if scheduler not in ("cosine", "constant"):
            raise ValueError(f"unknown scheduler {scheduler!r}; expected 'cosine' or 'constant'")
        self._spec: NetSpec = spec
        self._net_args = spec.resolve_args(net_args)
        saved_contract = None if input_contract is None else as_contract(input_contract, default_resize="area")
        task_args = {"in_chans": in_chans, "loss": loss, "loss_weights": loss_weights,
                     "lr": spec.lr if lr is None else lr, "backbone_lr": backbone_lr, "weight_decay": weight_decay,
                     "warmup_steps": warmup_steps, "scheduler": scheduler, "freeze_backbone": freeze_backbone,
                     "input_contract": None if saved_contract is None else saved_contract.to_dict()}
        # the constructor arguments of the class built: an entry point's are its net's arguments and the task's
        hparams = {**self._net_args, **task_args} if self.variants else {"net": net, "net_args": dict(self._net_args),
                                                                          **task_args}
        # LightningCLI adds "_class_path" (read back by `--ckpt_path`) to the arguments it saw; keep it, then
        # store the resolved arguments (defaults filled in, lr from the registry, the contract as a dict)
        self.save_hyperparameters(ignore=[*hparams, "net", "net_args"])
        self.save_hyperparameters(hparams)
        self.net: nn.Module = create_net(net, in_chans, **self._net_args)
        self.loss_fn = VALoss(loss, loss_weights)
        self.train_metrics = VAMetrics("train/")
        self.val_metrics = VAMetrics("val/")
        self.test_metrics = VAMetrics("test/")
        #: Statistics of the training inputs (:class:`neurova.domain.InputStats`, with a few sample frames), measured
        #: on the first :attr:`input_stats_size` inputs of each fit, saved by ``save_pretrained``; ``None`` if unknown.
        self.input_stats: InputStats | None = None
        self._stats_collector: InputStatsCollector | None = None
        self._fit_layout_changed: list[Tensor] = []

    # -- the net -------------------------------------------------------------------------------------------------------

    @property
    def architecture(self) -> str:
        """The registered name of the net (``"resnet18_fusion"``), recorded in checkpoints."""
        return self._spec.name

    @architecture.setter
    def architecture(self, name: str) -> None:
        """An entry point's net among its :attr:`variants` (they differ by default arguments only)."""
        if name not in self.variants:
            raise ValueError(f"{type(self).__name__} builds the nets {list(self.variants)}, not {name!r}")
        self._spec = get_net_spec(name)

    @property
    def net_args(self) -> dict[str, Any]:
        """All the arguments the net was built with (its registered defaults included)."""
        return dict(self._net_args)

    @property
    def backbone(self) -> nn.Module:
        """The trunk (feature extractor) trained with ``backbone_lr`` and frozen by ``freeze_backbone``."""
        return self.net.trunk

    @property
    def frames_used(self) -> int | None:
        """Frames read from the end of a clip; None when the whole clip is used (video nets)."""
        return self._spec.frames_used(self._net_args)

    @property
    def predicts_sequence(self) -> bool:
        """True when the net predicts every frame ``(B, T, 2)``; False for the last frame ``(B, 2)``."""
        return self._spec.predicts_sequence

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, C, H, W)`` or ``(B, C, H, W)`` → ``(B, 2)`` or ``(B, T, 2)`` (see :attr:`predicts_sequence`)."""
        if x.ndim == 4:
            x = x.unsqueeze(1)
        if x.ndim != 5:
            raise ValueError(f"{self.architecture} expects (B, T, C, H, W) or (B, C, H, W) input, got shape "
                             f"{tuple(x.shape)}")
        k = self.frames_used
        if k is not None:
            if x.shape[1] < k:
                what = f"{self._spec.frames}={k}" if isinstance(self._spec.frames, str) else f"{k}"
                raise ValueError(f"{self.architecture} reads the last {what} frames but got clips of {x.shape[1]} "
                                 "frame(s); use clips of at least that many frames (datamodule clip_length)")
            x = x[:, -k:]
        return self.net(x)

    @property
    def supports_step(self) -> bool:
        """Whether :meth:`step` can stream this model (its net has a ``step``: fusion and temporal nets)."""
        return callable(getattr(self.net, "step", None))

    def step(self, frame: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Streaming inference: one new frame ``(B, C, H, W)`` → its ``(B, 2)`` prediction and the new state.

        The trunk runs on the new frame only; earlier per-frame features (or a recurrent state) are carried in
        ``state`` (pass what the previous call returned, ``None`` to start). See the net's ``step``
        (:meth:`neurova.nets.TemporalNet.step`, :meth:`neurova.nets.FrameFusionNet.step`).

        Raises:
            TypeError: the net has no streaming step (:attr:`supports_step` is false).
        """
        if not self.supports_step:
            raise TypeError(f"{self.architecture} ({type(self.net).__name__}) has no streaming step; run the model "
                            "on whole clips")
        return self.net.step(frame, state)

    # -- inputs -------------------------------------------------------------------------------------------------------

    @property
    def input_contract(self) -> InputContract | None:
        """The recipe of the data this model was trained on, or None if unknown."""
        data = self.hparams.get("input_contract")
        return None if data is None else InputContract.from_dict(data)

    def check_input(self, contract: InputContract | Mapping[str, Any]) -> None:
        """Raise :class:`~neurova.errors.InputContractError` if data made by ``contract`` cannot feed this model.

        Checks the channels against ``in_chans``, the clip length against :attr:`frames_used`, and,
        when the model has a stored contract, the encoding (encoding, ``n_bits``, ``bin_us``,
        polarity, normalisation, channels).
        """
        contract = as_contract(contract, default_resize="area")
        in_chans = self.hparams["in_chans"]
        if contract.channels != in_chans:
            raise InputContractError(f"{type(self).__name__} takes {in_chans}-channel frames but the data has "
                                     f"{contract.channels} channels (encoding {contract.encoding!r}, polarity "
                                     f"{contract.polarity!r})")
        needed = self.frames_used
        if needed is not None and contract.clip_length < needed:
            raise InputContractError(f"{type(self).__name__} reads the last {needed} frames but the data has clips "
                                     f"of {contract.clip_length} frame(s)")
        if self.input_contract is not None:
            self.input_contract.check(contract)

    def setup(self, stage: str) -> None:
        """Take (or check) the input contract of ``trainer.datamodule`` when it has one; before a fit on the CPU,
        lay the weights out channels-last when the trunk prefers it and :attr:`fit_channels_last` allows.

        Channels-last: :func:`neurova.nets.layout.prefers_channels_last`; ``tiny_cnn_fusion`` then trains 1.4x
        faster on 2 cores, to the same results up to rounding (docs/benchmarks.md). It is done here, before the
        strategy wraps the model (a ``DistributedDataParallel`` lays its gradient buckets out like the parameters
        it finds), and :meth:`teardown` restores the layout when the fit ends.
        """
        trainer = self._trainer
        if (stage == "fit" and trainer is not None and trainer.strategy.root_device.type == "cpu"
                and self.fit_channels_last and prefers_channels_last(self.net)):
            self._fit_layout_changed += to_channels_last(self)
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        contract = getattr(datamodule, "input_contract", None)
        if contract is None:
            return
        contract = as_contract(contract, default_resize="area")
        self.check_input(contract)
        self.hparams["input_contract"] = contract.to_dict()

    def _measure_inputs(self, frames: Tensor) -> None:
        collector = self._stats_collector
        if collector is None:
            return
        collector.update(frames.detach())
        if collector.full:
            self._finish_input_stats()

    def _finish_input_stats(self) -> None:
        collector, self._stats_collector = self._stats_collector, None
        if collector is not None and collector.n_inputs:
            self.input_stats = collector.compute()

    def _check_frames(self, frames: Tensor) -> None:
        if frames.ndim != 5:
            raise InputContractError(f"{type(self).__name__} expects batch['frames'] of shape (B, T, C, H, W), "
                                     f"got {tuple(frames.shape)}")
        if frames.shape[2] != self.hparams["in_chans"]:
            raise InputContractError(f"{type(self).__name__} takes {self.hparams['in_chans']}-channel frames, "
                                     f"got {frames.shape[2]} channels (frames shape {tuple(frames.shape)})")

    def _target(self, va: Tensor) -> Tensor:
        return va if self.predicts_sequence else va[:, -1]

    # -- steps ---------------------------------------------------------------------------------------------------------

    def _metrics(self, stage: Stage) -> VAMetrics:
        return {"train": self.train_metrics, "val": self.val_metrics, "test": self.test_metrics}[stage]

    def _shared_step(self, batch: Mapping[str, Any], stage: Stage) -> Tensor:
        frames = batch["frames"]
        self._check_frames(frames)
        if stage == "train":
            self._measure_inputs(frames)
            if self.hparams["freeze_backbone"]:
                self.backbone.eval()  # Lightning may restore per-module train modes, bypassing train()
        preds = self(frames)
        target = self._target(batch["va"]).to(preds.dtype)
        loss = self.loss_fn(preds, target)
        self._metrics(stage).update(preds, target)
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, prog_bar=True,
                 batch_size=frames.shape[0])
        return loss

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "test")

    def predict_step(self, batch: Mapping[str, Any] | Tensor, batch_idx: int = 0) -> dict[str, Any]:
        """``{"va": (B, 2) or (B, T, 2), "meta": batch["meta"] or None}``; ``batch`` may be a frames tensor."""
        if isinstance(batch, Tensor):
            return {"va": self(batch), "meta": None}
        self._check_frames(batch["frames"])
        return {"va": self(batch["frames"]), "meta": batch.get("meta")}

    def _log_epoch(self, stage: Stage) -> None:
        metrics = self._metrics(stage)
        self.log_dict(metrics.compute(), prog_bar=False)
        # Evaluation hooks run under inference mode; states reset there would become inference tensors
        # that a later fit (e.g. trainer.validate then trainer.fit) could not update in place.
        with torch.inference_mode(False):
            metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")
        self._finish_input_stats()

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    # -- optimisation --------------------------------------------------------------------------------------------------

    def on_fit_start(self) -> None:
        """Fit in training mode, whatever mode the model was in (``from_pretrained`` returns it in eval mode).

        Lightning keeps each module's mode as it finds it, so without this a loaded model would
        fine-tune with frozen BatchNorm statistics; ``freeze_backbone`` is the only way to freeze.
        Also starts measuring the training inputs for :attr:`input_stats` (they replace any statistics
        loaded with the model).
        """
        self.train()
        self._stats_collector = InputStatsCollector(max_inputs=self.input_stats_size)

    def teardown(self, stage: str) -> None:
        """After a fit, give the weights :meth:`setup` laid out channels-last their contiguous layout back."""
        if stage == "fit":
            restore_contiguous(self._fit_layout_changed)
            self._fit_layout_changed = []

    def train(self, mode: bool = True) -> VARegressionTask:
        super().train(mode)
        if mode and self.hparams.get("freeze_backbone"):
            self.backbone.eval()
        return self

    def _parameter_groups(self) -> list[dict[str, Any]]:
        hp = self.hparams
        frozen = bool(hp["freeze_backbone"])
        backbone_ids = {id(p) for p in self.backbone.parameters()}
        if frozen:
            self.backbone.requires_grad_(False)
        groups: dict[tuple[str, bool], list[nn.Parameter]] = {}
        for p in self.parameters():
            if not p.requires_grad:
                continue
            part = "backbone" if id(p) in backbone_ids else "head"
            groups.setdefault((part, p.ndim <= 1), []).append(p)
        lrs = {"backbone": hp["backbone_lr"] if hp["backbone_lr"] is not None else hp["lr"], "head": hp["lr"]}
        return [{"params": params, "lr": lrs[part], "weight_decay": 0.0 if no_decay else hp["weight_decay"],
                 "name": f"{part}{'_no_decay' if no_decay else ''}"}
                for (part, no_decay), params in sorted(groups.items())]

    def _lr_factor(self, step: int, total: float) -> float:
        warmup = self.hparams["warmup_steps"]
        if step < warmup:
            return (step + 1) / warmup
        if self.hparams["scheduler"] == "constant" or not math.isfinite(total) or total <= warmup:
            return 1.0
        progress = min(1.0, (step - warmup) / (total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW over backbone/head groups (``backbone_lr`` / ``lr``) with warm-up + cosine, stepped per batch."""
        optimizer = torch.optim.AdamW(self._parameter_groups())
        trainer = self._trainer
        total = float(trainer.estimated_stepping_batches) if trainer is not None else math.inf
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: self._lr_factor(step, total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    # -- saving and loading --------------------------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record the class, the registered net and its arguments in Lightning ``.ckpt`` files."""
        checkpoint["neurova"] = {"class": f"{type(self).__module__}.{type(self).__qualname__}",
                                 "architecture": self.architecture, "net": hub.net_record(self)}
        stats = self.input_stats
        if stats is not None:
            checkpoint["neurova"]["input_stats"] = stats.to_dict()
            if stats.samples is not None:
                checkpoint["neurova"]["input_samples"] = torch.from_numpy(stats.samples)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore :attr:`input_stats` from a Lightning ``.ckpt``, and rebuild the net as the checkpoint's weights need.

        Lightning calls this before loading the weights, from ``load_from_checkpoint`` and when resuming a fit
        (``--ckpt_path``). A checkpoint saved before its net gained an argument (see
        :attr:`neurova.nets.NetSpec.legacy_args`) has weights of the net's former shape: the net is rebuilt
        with the legacy values, whatever this model was constructed with.
        """
        self.input_stats = hub.stats_from_checkpoint(checkpoint.get("neurova") or {})
        stored = checkpoint.get("hyper_parameters") or {}
        self._adopt_legacy_args(stored if self.variants else stored.get("net_args"))

    def _adopt_legacy_args(self, stored_args: Any) -> None:
        """Rebuild :attr:`net` with the :attr:`~neurova.nets.NetSpec.legacy_args` that ``stored_args`` (a
        checkpoint's net arguments) lack, where they differ from the arguments this model was built with."""
        if not isinstance(stored_args, Mapping):
            return
        legacy = {k: v for k, v in self._spec.stored_args(stored_args).items()
                  if k not in stored_args and self._net_args.get(k) != v}
        if not legacy:
            return
        self._net_args = {**self._net_args, **legacy}
        self.net = create_net(self.architecture, self.hparams["in_chans"], **self._net_args)
        if self.variants:
            self.hparams.update(legacy)
        else:
            self.hparams["net_args"] = dict(self._net_args)

    def save_pretrained(self, directory: str | os.PathLike[str], *, metrics: Mapping[str, Any] | None = None,
                        data_description: str | None = None, overwrite: bool = False) -> Path:
        """Write ``config.json``, ``model.safetensors`` and a ``README.md`` model card to ``directory``.

        Never deletes a file neurova did not write; a non-empty folder that is not a neurova model
        folder is refused unless ``overwrite=True``. See :func:`neurova.models.hub.save_pretrained`.
        """
        return hub.save_pretrained(self, directory, metrics=metrics, data_description=data_description,
                                   overwrite=overwrite)

    @classmethod
    def from_pretrained(cls, source: str | os.PathLike[str], *, map_location: str | torch.device = "cpu",
                        strict: bool = True, input_contract: InputContract | Mapping[str, Any] | None = None,
                        ) -> VARegressionTask:
        """Load a model, in eval mode: :func:`neurova.models.from_pretrained`, checking the class.

        Called on an entry point (``ResNetFusion.from_pretrained``), the checkpoint must be of that class;
        called on :class:`VARegressionTask`, the class stored in the checkpoint is built.
        """
        return hub.load_model(source, cls=cls, exact=cls is not VARegressionTask, map_location=map_location,
                              strict=strict, input_contract=input_contract)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of (trainable) parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
