"""The tiny CNN entry points (about 47 k parameters): one frame (``TinyCNN``) or the K latest frames
(``TinyCNNFusion``), the nets ``tiny_cnn`` and ``tiny_cnn_fusion`` (:class:`neurova.nets.TinyConvNet` trunk).

Both predict the (valence, arousal) of the **last** frame of a clip; their default learning rate is 3e-3. On
the synthetic faces they beat the ResNet-18 models at a fraction of the cost (see ``docs/leaderboard.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neurova.models.registry import entry_point
from neurova.models.task import VARegressionTask, entry_net_args
from neurova.nets import FusionKind

__all__ = ["TinyCNN", "TinyCNNFusion"]


@entry_point
class TinyCNN(VARegressionTask):
    """The tiny CNN on the last frame → (valence, arousal).

    Args:
        in_chans: channels per frame.
        widths: output channels of the trunk's blocks (each halves H and W; inputs need
            ``H, W >= 2 ** len(widths)``).
        bounded: ``tanh`` on the output (predictions in [-1, 1]).
        dropout: dropout before the head.
        **task_kwargs: ``loss``, ``lr`` (default 3e-3), ``freeze_backbone``, ...: see :class:`VARegressionTask`.

    ``forward``: ``(B, C, H, W)`` or ``(B, T, C, H, W)`` (last frame used) → ``(B, 2)``.
    """

    variants = ("tiny_cnn",)

    def __init__(self, in_chans: int = 1, widths: Sequence[int] = (16, 32, 48, 64), bounded: bool = True,
                 dropout: float = 0.0, **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)


@entry_point
class TinyCNNFusion(VARegressionTask):
    """The tiny CNN shared over the K latest frames, fused (:class:`neurova.nets.FrameFusionNet`) → (valence, arousal).

    Args:
        in_chans: channels per frame.
        widths: output channels of the trunk's blocks.
        num_frames: K, frames fused (the last K of each clip; clips must have at least K frames).
        fusion: ``"attention"``, ``"mean"`` (default: cheapest, and as good on the synthetic faces)
            or ``"concat"`` (time order kept).
        bounded, dropout, **task_kwargs: as :class:`TinyCNN`.

    ``forward``: ``(B, T, C, H, W)`` with T ≥ K (or ``(B, C, H, W)`` when K = 1) → ``(B, 2)``.
    """

    variants = ("tiny_cnn_fusion",)

    def __init__(self, in_chans: int = 1, widths: Sequence[int] = (16, 32, 48, 64), num_frames: int = 4,
                 fusion: FusionKind = "mean", bounded: bool = True, dropout: float = 0.0, **task_kwargs: Any) -> None:
        super().__init__(self.variants[0], entry_net_args(locals()), in_chans=in_chans, **task_kwargs)
