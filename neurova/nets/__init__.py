"""Pure ``nn.Module`` networks (no Lightning): backbones, fusion, temporal and 3-D models, heads, the face detector,
and the registry of valence/arousal nets (:mod:`neurova.nets.registry`)."""

from __future__ import annotations

from neurova.nets.backbone import adapt_stem_weight, create_backbone, load_weights_file
from neurova.nets.face_detector import EventFaceNet
from neurova.nets.frame import SingleFrameNet
from neurova.nets.fusion import AttentionPool, FrameFusionNet, FusionKind, FusionState
from neurova.nets.heads import VAHead
from neurova.nets.registry import NetSpec, create_net, get_net_spec, is_net, list_nets, register_net
from neurova.nets.temporal import StreamState, TemporalKind, TemporalNet
from neurova.nets.tiny import TinyConvNet
from neurova.nets.video3d import Video3DNet, VideoArch

__all__ = [
    "AttentionPool",
    "EventFaceNet",
    "FrameFusionNet",
    "FusionKind",
    "FusionState",
    "NetSpec",
    "SingleFrameNet",
    "StreamState",
    "TemporalKind",
    "TemporalNet",
    "TinyConvNet",
    "VAHead",
    "Video3DNet",
    "VideoArch",
    "adapt_stem_weight",
    "create_backbone",
    "create_net",
    "get_net_spec",
    "is_net",
    "list_nets",
    "load_weights_file",
    "register_net",
]
