"""Video entry points: predict (valence, arousal) for every frame of a clip ``(B, T, C, H, W)`` → ``(B, T, 2)``.

``ResNetLSTM``, ``ResNetGRU`` and ``ResNetTransformer`` run a timm ResNet on each frame and a temporal model
over the per-frame features (causal by default, for live use: see :meth:`~VARegressionTask.step`);
``R2Plus1D`` and ``R3D`` are torchvision's 18-layer video CNNs with a C-channel stem. Each is
:class:`~neurova.models.task.VARegressionTask` with one registered net; the classes of a pair differ by that
name only.
"""

from __future__ import annotations

from typing import Any

from neurova.models.registry import entry_point
from neurova.models.task import VARegressionTask, entry_net_args

__all__ = ["R3D", "R2Plus1D", "ResNetGRU", "ResNetLSTM", "ResNetTransformer"]

_TEMPORAL_ARGS = """
    Args:
        in_chans: channels per frame.
        backbone: timm model name of the per-frame trunk (``"resnet18"``, ...).
        pretrained: local weights file for the backbone (3-channel stems are adapted); never downloaded.
        hidden_size: width D of the temporal model (trunk features are projected to D).
        num_layers: stacked temporal layers.
        causal: frame t sees frames ≤ t only (needed for exact streaming with :meth:`step`);
            when False, recurrent models are bidirectional and attention is unmasked.
        window: frames of features kept by :meth:`step` when it cannot carry a recurrent state.
        bounded: ``tanh`` on the output.
        dropout: dropout in the temporal model and before the head.
        **task_kwargs: ``loss``, ``lr``, ``freeze_backbone``, ...: see :class:`VARegressionTask`.
"""


class _ResNetRecurrent(VARegressionTask):
    """ResNet per frame → a recurrent net (the registered ``variants[0]``)."""

    def __init__(self, in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None,
                 hidden_size: int = 256, num_layers: int = 1, causal: bool = True, window: int = 16,
                 bounded: bool = True, dropout: float = 0.0, **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)


@entry_point
class ResNetLSTM(_ResNetRecurrent):
    __doc__ = "Per-frame timm ResNet → LSTM → (valence, arousal) per frame: the net ``resnet18_lstm``." + _TEMPORAL_ARGS
    variants = ("resnet18_lstm",)


@entry_point
class ResNetGRU(_ResNetRecurrent):
    __doc__ = "Per-frame timm ResNet → GRU → (valence, arousal) per frame: the net ``resnet18_gru``." + _TEMPORAL_ARGS
    variants = ("resnet18_gru",)


@entry_point
class ResNetTransformer(VARegressionTask):
    __doc__ = ("Per-frame timm ResNet → Transformer encoder (sinusoidal positions) → (valence, arousal) per frame: "
               "the net ``resnet18_transformer``." + _TEMPORAL_ARGS
               + "        num_heads: attention heads (``hidden_size`` must be divisible by it).\n"
               + "        final_norm: a LayerNorm after the last layer (``False``: the net of checkpoints saved\n"
               + "            before it was added).\n")
    variants = ("resnet18_transformer",)

    def __init__(self, in_chans: int = 1, backbone: str = "resnet18", pretrained: str | None = None,
                 hidden_size: int = 256, num_layers: int = 2, num_heads: int = 4, causal: bool = True,
                 window: int = 16, bounded: bool = True, dropout: float = 0.0, final_norm: bool = True,
                 **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)


_VIDEO3D_ARGS = """
    The body downsamples time by 8; its spatially pooled output is resampled linearly to the T input
    frames before a per-frame head, so every prediction sees the whole clip (not causal).

    Args:
        in_chans: channels per frame (the stem convolution takes C channels).
        pretrained: local torchvision state dict (e.g. Kinetics-400 weights); stem adapted to C channels.
        bounded: ``tanh`` on the output.
        dropout: dropout before the head.
        **task_kwargs: ``loss``, ``lr``, ``freeze_backbone``, ...: see :class:`VARegressionTask`.
"""


class _Video3D(VARegressionTask):
    """A torchvision 3-D CNN (the registered ``variants[0]``)."""

    def __init__(self, in_chans: int = 1, pretrained: str | None = None, bounded: bool = True, dropout: float = 0.0,
                 **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)


@entry_point
class R2Plus1D(_Video3D):
    __doc__ = "torchvision R(2+1)D-18 → (valence, arousal) per frame: the net ``r2plus1d_18``." + _VIDEO3D_ARGS
    variants = ("r2plus1d_18",)


@entry_point
class R3D(_Video3D):
    __doc__ = "torchvision R3D-18 → (valence, arousal) per frame: the net ``r3d_18``." + _VIDEO3D_ARGS
    variants = ("r3d_18",)
