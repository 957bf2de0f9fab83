"""timm backbones with ``in_chans`` adaptation and offline loading of local pretrained weights.

Nothing here downloads: ``pretrained`` is a path to a local ``.safetensors``, ``.pth`` or ``.bin``
file (a timm/torchvision state dict, optionally wrapped in ``{"state_dict": ...}`` or
``{"model": ...}``), read with ``torch.load(weights_only=True)`` so no pickle is executed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import timm
from timm.models import load_state_dict
from timm.models._manipulate import adapt_input_conv
from torch import Tensor, nn

from neurova.errors import CheckpointError

__all__ = ["adapt_stem_weight", "create_backbone", "feature_width", "load_weights_file"]

_WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


def load_weights_file(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a local state dict (``.safetensors``, ``.pth``, ``.pt``, ``.bin``) without executing pickle.

    Raises:
        CheckpointError: the file is missing, has another suffix, or holds anything but tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("pretrained weights file not found (neurova never downloads backbone weights)", path=path)
    if path.suffix not in _WEIGHT_SUFFIXES:
        raise CheckpointError(f"unsupported weights suffix {path.suffix!r}; expected one of {_WEIGHT_SUFFIXES}", path=path)
    try:
        state = load_state_dict(str(path), use_ema=False, weights_only=True)
    except Exception as err:  # pickle.UnpicklingError, safetensors errors, zip errors ...
        raise CheckpointError(f"cannot read weights safely ({type(err).__name__}: {err})", path=path) from err
    return state


def adapt_stem_weight(weight: Tensor, in_chans: int) -> Tensor:
    """Adapt a stem convolution weight ``(O, I, *kernel)`` (2-D or 3-D conv) to ``in_chans`` inputs.

    Uses timm's rule: 1 channel sums the source channels; otherwise channels are repeated and
    rescaled by ``I / in_chans`` so activations keep their scale.
    """
    base = weight.shape[1]
    if base == in_chans:
        return weight
    flat = weight.reshape(weight.shape[0], base, weight.shape[2], -1)  # 3-D kernels folded into 4-D
    adapted = adapt_input_conv(in_chans, flat, base_chans=base)
    return adapted.reshape(weight.shape[0], in_chans, *weight.shape[2:])


def feature_width(trunk: nn.Module) -> int:
    """F, the width of the pooled features ``(B, F)`` a headless trunk returns.

    timm models whose head has a hidden layer (``mobilenetv3_*``, ``ghostnet_*``) return
    ``head_hidden_size`` features, not ``num_features``; other trunks set ``num_features``.
    """
    width = getattr(trunk, "head_hidden_size", None) or getattr(trunk, "num_features", None)
    if width is None:
        raise ValueError(f"{type(trunk).__name__} sets neither head_hidden_size nor num_features")
    return int(width)


def _first_convs(model: nn.Module) -> tuple[str, ...]:
    first = model.pretrained_cfg.get("first_conv")
    if first is None:
        return ()
    return (first,) if isinstance(first, str) else tuple(first)


def _classifier_keys(model: nn.Module) -> tuple[str, ...]:
    names = model.pretrained_cfg.get("classifier") or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    return tuple(f"{n}.{p}" for n in names for p in ("weight", "bias"))


def create_backbone(
    name: str,
    in_chans: int = 1,
    pretrained: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """A headless timm model (``num_classes=0``) taking ``in_chans`` input channels.

    Args:
        name: a timm model name (``"resnet18"``, ``"vit_tiny_patch16_224"``, ``"resnet10t"`` ...).
        in_chans: input channels C of the frames.
        pretrained: optional local weights file for ``name``; a 3-channel stem is adapted to
            ``in_chans`` (timm's ``adapt_input_conv``) and the classifier is dropped. The model's own
            checkpoint filter (e.g. ViT position-embedding resampling) is applied. Loaded strictly.
        **kwargs: extra ``timm.create_model`` arguments (e.g. ``img_size`` for ViTs).

    Returns:
        a module mapping ``(B, in_chans, H, W)`` to pooled features ``(B, F)``, F = :func:`feature_width`.

    Raises:
        ValueError: unknown timm model name.
        CheckpointError: the weights file is missing, unsafe or does not fit the model.
    """
    if not timm.is_model(name):
        raise ValueError(f"unknown timm backbone {name!r}; see timm.list_models()")
    model = timm.create_model(name, pretrained=False, in_chans=in_chans, num_classes=0, **kwargs)
    if pretrained is None:
        return model
    state = load_weights_file(pretrained)
    filter_fn = getattr(sys.modules[type(model).__module__], "checkpoint_filter_fn", None)
    if filter_fn is not None:
        try:
            state = filter_fn(state, model)
        except Exception as err:
            raise CheckpointError(f"weights do not fit backbone {name!r}: {err}", path=pretrained) from err
    for conv in _first_convs(model):
        key = f"{conv}.weight"
        if key in state and state[key].ndim >= 4:
            state[key] = adapt_stem_weight(state[key], in_chans)
    for key in _classifier_keys(model):
        state.pop(key, None)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        detail = "; ".join(part for part in (
            f"missing keys {missing[:10]}" if missing else "",
            f"unexpected keys {unexpected[:10]}" if unexpected else "",
            f"shape mismatches [{', '.join(shapes[:10])}]" if shapes else "",
        ) if part)
        raise CheckpointError(f"weights do not fit backbone {name!r}: {detail}", path=pretrained)
    model.load_state_dict(state, strict=True)
    return model
