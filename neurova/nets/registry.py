"""A timm-style registry of valence/arousal networks: plain ``nn.Module``s registered by name.

Each name maps to a factory (its keyword arguments and their defaults are the net's arguments), a default
learning rate, a default input recipe (fields of :class:`neurova.contract.InputContract`), whether the net
predicts every frame of a clip and how many frames it reads. Every registered net maps ``(B, T, C, H, W)``
clips to ``(B, 2)`` (the last frame's valence and arousal) or ``(B, T, 2)`` (every frame's), and has a
``trunk`` (the feature extractor that fine-tuning may freeze). :class:`neurova.models.VARegressionTask` trains
any of them without knowing which.

Registering your own net takes a factory::

    from torch import nn
    from neurova.nets import SingleFrameNet, register_net

    @register_net(frames=1, lr=3e-3, contract={"image_size": 64})
    def my_cnn(in_chans: int = 1, width: int = 32, dropout: float = 0.0) -> nn.Module:
        trunk = nn.Sequential(nn.Conv2d(in_chans, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten())
        trunk.num_features = width
        return SingleFrameNet(trunk, dropout=dropout)

after which ``create_net("my_cnn", in_chans=2)``, ``neurova.models.create_model("my_cnn")`` and
``VARegressionTask(net="my_cnn")`` build it.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import nn

from neurova.nets.backbone import create_backbone
from neurova.nets.frame import SingleFrameNet
from neurova.nets.fusion import FrameFusionNet, FusionKind
from neurova.nets.temporal import TemporalKind, TemporalNet
from neurova.nets.tiny import TinyConvNet
from neurova.nets.video3d import Video3DNet

__all__ = ["NetSpec", "create_net", "get_net_spec", "is_net", "list_nets", "register_net"]

FactoryT = TypeVar("FactoryT", bound=Callable[..., nn.Module])


@dataclass(frozen=True)
class NetSpec:
    """What the registry knows about one net.

    Attributes:
        name: the registered name.
        factory: ``factory(in_chans=..., **args) -> nn.Module``.
        frames: frames read from the end of a clip: a number (1 for single-frame nets), the name of the
            factory argument that gives it (``"num_frames"``), or ``None`` when the whole clip is read.
        predicts_sequence: ``True`` when the net predicts every frame ``(B, T, 2)``, ``False`` for the last
            frame only ``(B, 2)``.
        lr: the learning rate the task uses when none is given.
        contract: default input recipe, fields of :class:`neurova.contract.InputContract` (e.g. ``image_size``);
            :meth:`default_contract` completes it.
        legacy_args: arguments added after the net was first registered, each with the value that rebuilds the
            checkpoints saved before it (their stored arguments lack it); :meth:`stored_args` applies them.
    """

    name: str
    factory: Callable[..., nn.Module]
    frames: int | str | None
    predicts_sequence: bool
    lr: float = 1e-3
    contract: Mapping[str, Any] = field(default_factory=dict)
    legacy_args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def defaults(self) -> dict[str, Any]:
        """The factory's arguments (``in_chans`` excluded) with their defaults."""
        return {k: p.default for k, p in inspect.signature(self.factory).parameters.items() if k != "in_chans"}

    def resolve_args(self, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """All the net's arguments: ``args`` over :attr:`defaults`.

        Raises:
            TypeError: an argument the factory does not take (naming the ones it takes).
        """
        args = dict(args or {})
        defaults = self.defaults
        unknown = sorted(set(args) - set(defaults))
        if unknown:
            raise TypeError(f"net {self.name!r} takes no argument(s) {unknown}; its arguments are "
                            f"{sorted(defaults)} (and in_chans)")
        return {**defaults, **args}

    def stored_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """``args`` read from a checkpoint, with each of :attr:`legacy_args` they lack set to its legacy value."""
        return {**{k: v for k, v in self.legacy_args.items() if k not in args}, **args}

    def frames_used(self, args: Mapping[str, Any] | None = None) -> int | None:
        """Frames read from the end of a clip by the net built with ``args``; ``None``: the whole clip."""
        if isinstance(self.frames, str):
            return int(self.resolve_args(args)[self.frames])
        return self.frames

    def default_contract(self, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Fields of this net's default :class:`~neurova.contract.InputContract`: clips of :meth:`frames_used`
        frames (16 for whole-clip nets) and :attr:`contract`."""
        return {"clip_length": self.frames_used(args) or 16, **self.contract}


_NETS: dict[str, NetSpec] = {}


def register_net(fn: FactoryT | None = None, *, name: str | None = None, frames: int | str | None = 1,
                 predicts_sequence: bool = False, lr: float = 1e-3,
                 contract: Mapping[str, Any] | None = None, legacy_args: Mapping[str, Any] | None = None) -> Any:
    """Register a net factory under its ``__name__`` (or ``name``); usable bare or with arguments.

    The factory takes ``in_chans`` and keyword arguments with defaults, and returns an ``nn.Module`` with a
    ``trunk`` that maps ``(B, frames, C, H, W)`` (or ``(B, T, C, H, W)`` when ``frames`` is ``None``) to
    ``(B, 2)``, or to ``(B, T, 2)`` when ``predicts_sequence``. See :class:`NetSpec` for the other arguments.

    Raises:
        ValueError: the name is taken by another factory, or the factory lacks ``in_chans`` or defaults.
    """

    def register(factory: FactoryT) -> FactoryT:
        key = name or factory.__name__
        params = inspect.signature(factory).parameters
        if "in_chans" not in params:
            raise ValueError(f"net factory {key!r} must take an in_chans argument")
        no_default = [k for k, p in params.items() if p.default is inspect.Parameter.empty]
        if no_default:
            raise ValueError(f"net factory {key!r}: arguments {no_default} need defaults")
        if isinstance(frames, str) and frames not in params:
            raise ValueError(f"net factory {key!r} has no argument {frames!r} giving its number of frames")
        not_args = sorted(set(legacy_args or {}) - set(params))
        if not_args:
            raise ValueError(f"net factory {key!r}: legacy_args {not_args} are not arguments of it")
        spec = NetSpec(key, factory, frames, predicts_sequence, lr, dict(contract or {}), dict(legacy_args or {}))
        if key in _NETS and _NETS[key].factory is not factory:
            raise ValueError(f"net {key!r} is already registered")
        _NETS[key] = spec
        return factory

    return register if fn is None else register(fn)


def list_nets(pattern: str = "*") -> list[str]:
    """Sorted registered names matching the shell-style ``pattern`` (``"resnet*"``, ``"*_fusion"``)."""
    return sorted(n for n in _NETS if fnmatch.fnmatchcase(n, pattern))


def is_net(name: str) -> bool:
    """True when ``name`` is registered."""
    return name in _NETS


def get_net_spec(name: str) -> NetSpec:
    """The :class:`NetSpec` registered as ``name``; ``ValueError`` naming close matches otherwise."""
    if name not in _NETS:
        close = difflib.get_close_matches(name, _NETS, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown model {name!r}{hint} (neurova.models.list_models() lists them)")
    return _NETS[name]


def create_net(name: str, in_chans: int = 1, **args: Any) -> nn.Module:
    """Build the registered net ``name`` for ``in_chans``-channel frames; ``args`` override its defaults.

    Raises:
        ValueError: unknown name (close matches suggested) or ``in_chans < 1``.
        TypeError: an argument the net does not take.
    """
    spec = get_net_spec(name)
    if in_chans < 1:
        raise ValueError(f"in_chans must be >= 1, got {in_chans}")
    return spec.factory(in_chans=in_chans, **spec.resolve_args(args))


# -- the built-in nets ---------------------------------------------------------------------------------------------
# Families share one builder; a registered name is a builder with its defaults. Backbones are timm model names
# (any timm model works), built by :func:`create_backbone` with local pretrained weights only.


def _single_frame(in_chans: int, backbone: str, pretrained: str | None, bounded: bool, dropout: float,
                  **timm_args: Any) -> SingleFrameNet:
    return SingleFrameNet(create_backbone(backbone, in_chans, pretrained, **timm_args), bounded, dropout)


def _fusion(trunk: nn.Module, num_frames: int, fusion: FusionKind, bounded: bool, dropout: float) -> FrameFusionNet:
    return FrameFusionNet(trunk, num_frames=num_frames, fusion=fusion, bounded=bounded, dropout=dropout)


def _temporal(in_chans: int, temporal: TemporalKind, backbone: str, pretrained: str | None, hidden_size: int,
              num_layers: int, num_heads: int, causal: bool, window: int, bounded: bool,
              dropout: float, final_norm: bool = True) -> TemporalNet:
    return TemporalNet(create_backbone(backbone, in_chans, pretrained), temporal=temporal, hidden_size=hidden_size,
                       num_layers=num_layers, causal=causal, num_heads=num_heads, window=window, bounded=bounded,
                       dropout=dropout, final_norm=final_norm)


_FRAME = {"image_size": 112}
_TINY = {"image_size": 64}


@register_net(contract=_FRAME)
def resnet18(in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None, bounded: bool = True,
             dropout: float = 0.0) -> SingleFrameNet:
    """ResNet-18 (any timm ``backbone``) on the last frame."""
    return _single_frame(in_chans, backbone, pretrained, bounded, dropout)


@register_net(contract=_FRAME)
def resnet34(in_chans: int = 1, backbone: str = "resnet34", pretrained: str | None = None, bounded: bool = True,
             dropout: float = 0.0) -> SingleFrameNet:
    """ResNet-34 on the last frame."""
    return _single_frame(in_chans, backbone, pretrained, bounded, dropout)


@register_net(contract=_FRAME)
def resnet50(in_chans: int = 1, backbone: str = "resnet50", pretrained: str | None = None, bounded: bool = True,
             dropout: float = 0.0) -> SingleFrameNet:
    """ResNet-50 on the last frame."""
    return _single_frame(in_chans, backbone, pretrained, bounded, dropout)


@register_net(contract=_FRAME)
def vit_tiny(in_chans: int = 1, backbone: str = "vit_tiny_patch16_224", img_size: int = 112,
             pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0) -> SingleFrameNet:
    """ViT-Tiny/16 on the last frame, position embeddings for an ``img_size`` grid (other sizes interpolated)."""
    return _single_frame(in_chans, backbone, pretrained, bounded, dropout, img_size=img_size, dynamic_img_size=True)


@register_net(contract=_FRAME)
def vit_small(in_chans: int = 1, backbone: str = "vit_small_patch16_224", img_size: int = 112,
              pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0) -> SingleFrameNet:
    """ViT-Small/16 on the last frame."""
    return _single_frame(in_chans, backbone, pretrained, bounded, dropout, img_size=img_size, dynamic_img_size=True)


@register_net(frames="num_frames", contract=_FRAME)
def resnet18_fusion(in_chans: int = 1, backbone: str = "resnet18", num_frames: int = 4, fusion: FusionKind = "attention",
                    pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0) -> FrameFusionNet:
    """ResNet-18 trunk shared over the ``num_frames`` latest frames, fused (attention)."""
    return _fusion(create_backbone(backbone, in_chans, pretrained), num_frames, fusion, bounded, dropout)


@register_net(frames="num_frames", contract=_FRAME)
def resnet34_fusion(in_chans: int = 1, backbone: str = "resnet34", num_frames: int = 4, fusion: FusionKind = "attention",
                    pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0) -> FrameFusionNet:
    """ResNet-34 trunk shared over the ``num_frames`` latest frames, fused (attention)."""
    return _fusion(create_backbone(backbone, in_chans, pretrained), num_frames, fusion, bounded, dropout)


@register_net(lr=3e-3, contract=_TINY)
def tiny_cnn(in_chans: int = 1, widths: tuple[int, ...] = (16, 32, 48, 64), bounded: bool = True,
             dropout: float = 0.0) -> SingleFrameNet:
    """The 4-block tiny CNN (47 k parameters) on the last frame."""
    return SingleFrameNet(TinyConvNet(in_chans, widths), bounded, dropout)


@register_net(frames="num_frames", lr=3e-3, contract=_TINY)
def tiny_cnn_fusion(in_chans: int = 1, widths: tuple[int, ...] = (16, 32, 48, 64), num_frames: int = 4,
                    fusion: FusionKind = "mean", bounded: bool = True, dropout: float = 0.0) -> FrameFusionNet:
    """The tiny CNN shared over the ``num_frames`` latest frames, mean fusion (47 k parameters)."""
    return _fusion(TinyConvNet(in_chans, widths), num_frames, fusion, bounded, dropout)


@register_net(frames=None, predicts_sequence=True, contract=_FRAME)
def resnet18_lstm(in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None,
                  hidden_size: int = 256, num_layers: int = 1, causal: bool = True, window: int = 16,
                  bounded: bool = True, dropout: float = 0.0) -> TemporalNet:
    """ResNet-18 per frame → causal LSTM, a prediction per frame."""
    return _temporal(in_chans, "lstm", backbone, pretrained, hidden_size, num_layers, 1, causal, window, bounded,
                     dropout)


@register_net(frames=None, predicts_sequence=True, contract=_FRAME)
def resnet18_gru(in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None,
                 hidden_size: int = 256, num_layers: int = 1, causal: bool = True, window: int = 16,
                 bounded: bool = True, dropout: float = 0.0) -> TemporalNet:
    """ResNet-18 per frame → causal GRU, a prediction per frame."""
    return _temporal(in_chans, "gru", backbone, pretrained, hidden_size, num_layers, 1, causal, window, bounded,
                     dropout)


@register_net(frames=None, predicts_sequence=True, contract=_FRAME, legacy_args={"final_norm": False})
def resnet18_transformer(in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None,
                         hidden_size: int = 256, num_layers: int = 2, num_heads: int = 4, causal: bool = True,
                         window: int = 16, bounded: bool = True, dropout: float = 0.0,
                         final_norm: bool = True) -> TemporalNet:
    """ResNet-18 per frame → 2-layer causal pre-norm Transformer encoder with a final LayerNorm, a prediction per
    frame (``final_norm=False``: without it, the net of checkpoints saved before it was added)."""
    return _temporal(in_chans, "transformer", backbone, pretrained, hidden_size, num_layers, num_heads, causal,
                     window, bounded, dropout, final_norm)


@register_net(frames=None, predicts_sequence=True, contract=_FRAME)
def r2plus1d_18(in_chans: int = 1, pretrained: str | None = None, bounded: bool = True,
                dropout: float = 0.0) -> Video3DNet:
    """torchvision R(2+1)D-18 with a C-channel stem, a prediction per frame (not causal)."""
    return Video3DNet("r2plus1d_18", in_chans, pretrained, bounded=bounded, dropout=dropout)


@register_net(frames=None, predicts_sequence=True, contract=_FRAME)
def r3d_18(in_chans: int = 1, pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0) -> Video3DNet:
    """torchvision R3D-18 with a C-channel stem, a prediction per frame (not causal)."""
    return Video3DNet("r3d_18", in_chans, pretrained, bounded=bounded, dropout=dropout)
