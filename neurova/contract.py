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

import numpy as np

from neurova.errors import InputContractError

__all__ = ["InputContract"]

Encoding = Literal["tbr", "frame", "voxel", "time_surface"]
Resize = Literal["events", "area"]

ENCODINGS = ("tbr", "frame", "voxel", "time_surface")
POLARITIES = ("merge", "split")
NORMALIZATIONS = ("max", None)
RESIZES = ("events", "area")
MAX_CONTRACT_BITS = 32
MAX_IMAGE_SIZE = 1024


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
        resize: how the events of a face box of any size become ``image_size x image_size``:
            ``"events"`` (:func:`neurova.encodings.resize_events`: the events a sensor with ``image_size``
            pixels across the box would have produced, then encoded; the same statistics at any face size)
            or ``"area"`` (encoded at the box's resolution, frames area-averaged; the behaviour before
            ``resize`` existed, kept for contracts saved without the key).

    Raises:
        InputContractError: a value of the wrong type or out of range, naming the key and the value.
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
    resize: Resize = "events"

    def __post_init__(self) -> None:
        choices = (("encoding", ENCODINGS), ("polarity", POLARITIES), ("normalize", NORMALIZATIONS),
                   ("resize", RESIZES))
        for key, allowed in choices:
            if getattr(self, key) not in allowed:
                raise InputContractError(f"input contract: {key}={getattr(self, key)!r} is not one of {list(allowed)}")
        ranges = (("n_bits", 1, MAX_CONTRACT_BITS), ("bin_us", 1, None), ("channels", 1, None),
                  ("image_size", 1, MAX_IMAGE_SIZE), ("clip_length", 1, None), ("frame_interval_us", 1, None))
        for key, low, high in ranges:
            value = getattr(self, key)
            if isinstance(value, np.integer):
                value = int(value)
                object.__setattr__(self, key, value)
            if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
                allowed = f"an integer in {low}..{high}" if high else f"an integer >= {low}"
                raise InputContractError(f"input contract: {key}={value!r} is not {allowed}")
        if self.face_crop is not None and not isinstance(self.face_crop, str):
            raise InputContractError(f"input contract: face_crop={self.face_crop!r} is not a string or None")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def history_us(self) -> int:
        """µs of events one model input needs, the shortest recording a model can predict on.

        ``(clip_length - 1) * frame_interval_us + n_bits * bin_us``: ``clip_length`` frames of
        ``n_bits * bin_us`` each, ``frame_interval_us`` apart (320 ms for 8 frames of 8 x 5 ms at 25 fps).
        """
        return (self.clip_length - 1) * self.frame_interval_us + self.n_bits * self.bin_us

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputContract:
        """The contract saved by :meth:`to_dict` (e.g. a model's ``config.json``).

        A dict without ``resize`` was saved before the key existed, by models trained on area-resized
        frames: it reads as ``resize="area"``, so old models keep getting the input they were trained on.
        """
        data = {"resize": "area", **data}
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
