"""The input contract: how a model's input was made from events.

A trained model only makes sense on data encoded the way it was trained on.
:class:`InputContract` records that recipe; it is saved in every checkpoint's
``config.json`` and used by :func:`neurova.predict` to encode new recordings,
so users cannot feed a model the wrong representation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from neurova.errors import InputContractError

__all__ = ["InputContract"]

Encoding = Literal["tbr", "frame", "voxel", "time_surface"]


@dataclass(frozen=True)
class InputContract:
    """Recipe of a model input.

    Attributes:
        encoding: event encoding (``"tbr"``, ``"frame"``, ``"voxel"``, ``"time_surface"``).
        n_bits: TBR bit depth N (bins per frame; also the number of voxel bins).
        bin_us: duration of one bin Δt in µs; one frame covers ``n_bits * bin_us``.
        polarity: ``"merge"`` (1 channel per frame) or ``"split"`` (ON and OFF channels).
        normalize: ``"max"`` (values in [0, 1]) or ``None`` (integer codes).
        channels: C, channels per frame given to the network.
        image_size: side of the square face crop in pixels (H = W).
        clip_length: T, consecutive frames per sample.
        frame_interval_us: spacing of consecutive frames in µs (40,000 at 25 fps).
        face_crop: how the face was cropped (``"landmarks"``, ``"detector"``, ``"box"`` or ``None``).
    """

    encoding: Encoding = "tbr"
    n_bits: int = 8
    bin_us: int = 5000
    polarity: Literal["merge", "split"] = "merge"
    normalize: Literal["max"] | None = "max"
    channels: int = 1
    image_size: int = 128
    clip_length: int = 1
    frame_interval_us: int = 40_000
    face_crop: str | None = "landmarks"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputContract:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputContractError(f"unknown input-contract keys {unknown}")
        return cls(**data)

    def differences(self, other: InputContract, keys: tuple[str, ...] | None = None) -> dict[str, tuple[Any, Any]]:
        """``{key: (self value, other value)}`` for every key (or the given keys) that differs."""
        keys = keys or tuple(f.name for f in dataclasses.fields(self))
        return {k: (getattr(self, k), getattr(other, k)) for k in keys if getattr(self, k) != getattr(other, k)}

    def check(self, other: InputContract, keys: tuple[str, ...] = ("encoding", "n_bits", "bin_us", "polarity",
                                                                    "normalize", "channels")) -> None:
        """Raise :class:`InputContractError` naming each difference in ``keys`` between the model and the data."""
        diff = self.differences(other, keys)
        if diff:
            detail = "; ".join(f"{k}: model expects {a!r}, data has {b!r}" for k, (a, b) in diff.items())
            raise InputContractError(f"input contract mismatch: {detail}")
