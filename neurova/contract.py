"""The input contract: how a model's input was made from events.

A trained model only makes sense on data encoded the way it was trained on.
:class:`InputContract` records that recipe as one value: datasets and datamodules take it
(``SyntheticFacesDataModule(contract=model.input_contract)`` feeds a loaded model exactly), every
checkpoint's ``config.json`` stores it, and :func:`neurova.predict` encodes new recordings with it
(through :class:`neurova.transforms.ToModelInput`), so users cannot feed a model the wrong representation.

The channel rule (how many channels per frame an encoding gives) lives here only: :func:`channels_for`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neurova.errors import InputContractError

__all__ = ["CONTRACT_OPTIONS", "FACE_CLIP_RECIPE", "InputContract", "as_contract", "channels_for", "model_frames",
           "resolve_contract"]

Encoding = Literal["tbr", "frame", "voxel", "time_surface"]
"""The event encodings (what the event datasets and datamodules accept)."""
Resize = Literal["events", "area"]

EVENT_ENCODINGS = ("tbr", "frame", "voxel", "time_surface")
ENCODINGS = (*EVENT_ENCODINGS, "rgb")
POLARITIES = ("merge", "split")
NORMALIZATIONS = ("max", None)
RESIZES = ("events", "area")
MAX_CONTRACT_BITS = 32
MAX_IMAGE_SIZE = 1024

CONTRACT_OPTIONS = ("encoding", "n_bits", "bin_us", "polarity", "normalize", "image_size", "clip_length",
                    "frame_interval_us", "resize")
"""Keyword arguments that datasets and datamodules accept instead of ``contract=`` (plus ``mode``)."""

FACE_CLIP_RECIPE = {"encoding": "tbr", "n_bits": 8, "bin_us": 5000, "polarity": "merge", "clip_length": 4}
"""Default recipe of the face-clip datasets (AFEW-VA, the synthetic faces): TBR, N = 8, Δt = 5 ms, merged
polarity, 4 frames per sample; each dataset adds its own default ``image_size``."""


def channels_for(encoding: str, polarity: str = "merge", n_bits: int = 8) -> int:
    """C, the channels per frame of ``encoding``: the one channel rule of neurova.

    ``"tbr"`` and ``"frame"`` (event counts): 1 with ``polarity="merge"``, 2 (OFF, ON) with ``"split"``;
    ``"voxel"``: ``n_bits`` time bins; ``"time_surface"``: 2 (OFF, ON) whatever the polarity;
    ``"rgb"`` (camera images, not events, e.g. NEFER's GoPro frames): 3.

    Raises:
        InputContractError: an unknown encoding or polarity.
    """
    if encoding not in ENCODINGS:
        raise InputContractError(f"input contract: encoding={encoding!r} is not one of {list(ENCODINGS)}")
    if polarity not in POLARITIES:
        raise InputContractError(f"input contract: polarity={polarity!r} is not one of {list(POLARITIES)}")
    if encoding == "voxel":
        return int(n_bits)
    if encoding in ("time_surface", "rgb"):
        return {"time_surface": 2, "rgb": 3}[encoding]
    return 2 if polarity == "split" else 1


@dataclass(frozen=True)
class InputContract:
    """Recipe of a model input: frames ``(T, C, S, S)`` float32, T = ``clip_length``, S = ``image_size``.

    Attributes:
        encoding: event encoding (``"tbr"``, ``"frame"`` counts, ``"voxel"``, ``"time_surface"``), or ``"rgb"``
            for camera images (NEFER's GoPro frames; no event encoder makes them).
        n_bits: TBR bit depth N (bins per frame; also the number of voxel bins).
        bin_us: duration of one bin Δt in µs; one frame covers ``n_bits * bin_us`` (:attr:`window_us`).
        polarity: ``"merge"`` (1 channel per frame) or ``"split"`` (OFF and ON channels).
        normalize: ``"max"`` (values in [0, 1]) or ``None`` (integer codes).
        channels: C, channels per frame given to the network. ``None`` (the default) takes it from the channel
            rule (:func:`channels_for`); a value that disagrees with the rule is refused.
        image_size: side S of the square face crop in pixels (H = W).
        clip_length: T, consecutive frames per sample.
        frame_interval_us: spacing of consecutive frames in µs (40,000 at 25 fps).
        face_crop: how the face was cropped (``"landmarks"``, ``"detector"``, ``"box"`` or ``None``); describes the
            data, never compared by :meth:`check`.
        resize: how the events of a face box of any size become ``image_size x image_size``:
            ``"events"`` (:func:`neurova.encodings.resize_events`: the events a sensor with ``image_size``
            pixels across the box would have produced, then encoded; the same statistics at any face size)
            or ``"area"`` (encoded at the box's resolution, frames area-averaged; the behaviour before
            ``resize`` existed, kept for contracts saved without the key).

    Raises:
        InputContractError: a value of the wrong type or out of range, or ``channels`` against the channel rule,
            naming the key and the value.
    """

    encoding: Literal["tbr", "frame", "voxel", "time_surface", "rgb"] = "tbr"
    n_bits: int = 8
    bin_us: int = 5000
    polarity: Literal["merge", "split"] = "merge"
    normalize: Literal["max"] | None = "max"
    channels: int | None = None
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
            if key == "channels" and value is None:
                continue
            if isinstance(value, np.integer):
                value = int(value)
                object.__setattr__(self, key, value)
            if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
                allowed = f"an integer in {low}..{high}" if high else f"an integer >= {low}"
                raise InputContractError(f"input contract: {key}={value!r} is not {allowed}")
        if self.face_crop is not None and not isinstance(self.face_crop, str):
            raise InputContractError(f"input contract: face_crop={self.face_crop!r} is not a string or None")
        rule = channels_for(self.encoding, self.polarity, self.n_bits)
        if self.channels is None:
            object.__setattr__(self, "channels", rule)
        elif self.channels != rule:
            raise InputContractError(
                f"input contract: channels={self.channels} but encoding={self.encoding!r} with polarity="
                f"{self.polarity!r}, n_bits={self.n_bits} gives {rule} channels per frame; leave channels out "
                "to take it from the encoding"
            )

    @property
    def window_us(self) -> int:
        """µs covered by one frame: ``n_bits * bin_us`` (40 ms at N = 8, Δt = 5 ms)."""
        return self.n_bits * self.bin_us

    @property
    def history_us(self) -> int:
        """µs of events one model input needs, the shortest recording a model can predict on.

        ``(clip_length - 1) * frame_interval_us + n_bits * bin_us``: ``clip_length`` frames of
        ``n_bits * bin_us`` each, ``frame_interval_us`` apart (320 ms for 8 frames of 8 x 5 ms at 25 fps).
        """
        return (self.clip_length - 1) * self.frame_interval_us + self.window_us

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, C, S, S)`` of one sample's frames."""
        assert self.channels is not None  # set by __post_init__
        return (self.clip_length, self.channels, self.image_size, self.image_size)

    def replace(self, **changes: Any) -> InputContract:
        """A copy with ``changes``; ``channels`` follows the channel rule again unless it is among them.

        ``contract.replace(polarity="split")`` gives 2 channels, where ``dataclasses.replace`` would carry
        ``channels=1`` over and be refused.
        """
        return InputContract.from_dict({**self.to_dict(), "channels": None, **changes})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values of every field (what ``config.json`` stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputContract:
        """The contract saved by :meth:`to_dict` (e.g. a model's ``config.json``), also by older versions.

        A dict without ``resize`` was saved before the key existed, by models trained on area-resized
        frames: it reads as ``resize="area"``, so old models keep getting the input they were trained on.
        ``encoding="frame"`` with 3 channels (RGB images, before ``"rgb"`` existed) reads as ``"rgb"``.

        Raises:
            InputContractError: ``data`` is not a mapping, has unknown keys, or holds a bad value.
        """
        if not isinstance(data, Mapping):
            raise InputContractError(f"an input contract must be a mapping of its keys, got {type(data).__name__}")
        data = {"resize": "area", **data}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputContractError(f"unknown input-contract keys {unknown}; known keys are {sorted(known)}")
        if data.get("encoding") == "frame" and data.get("channels") == 3:
            data["encoding"] = "rgb"
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


def as_contract(value: InputContract | Mapping[str, Any], *, default_resize: str = "events") -> InputContract:
    """``value`` as an :class:`InputContract`: a contract as is, or a dict of its keys (``to_dict()``, a YAML block).

    Keys a dict leaves out take :class:`InputContract`'s defaults; a missing ``resize`` takes ``default_resize``.
    Datasets and users get ``"events"`` (today's default); models pass ``"area"``, because contracts saved
    before ``resize`` existed were encoded with the area resize.

    Raises:
        InputContractError: anything else, or a dict :meth:`InputContract.from_dict` refuses.
    """
    if isinstance(value, InputContract):
        return value
    if isinstance(value, Mapping):
        return InputContract.from_dict({"resize": default_resize, **value})
    raise InputContractError(f"contract must be an InputContract or a dict of its keys, got {type(value).__name__}")


def resolve_contract(
    contract: InputContract | Mapping[str, Any] | None,
    *,
    owner: str,
    defaults: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    mode: Literal["frame", "clip"] | None = None,
    **options: Any,
) -> InputContract:
    """The input contract of a dataset or datamodule, given as ``contract`` or as keyword ``options``.

    The one place where ``encoding=..., n_bits=..., mode=...`` keyword arguments become a contract: those not
    None override ``defaults``; ``mode="frame"`` means one frame per sample (``clip_length`` 1).

    Args:
        contract: an :class:`InputContract`, its dict, or None to build it from ``options``.
        owner: who asks (named in errors), e.g. ``"SyntheticFacesDataModule"``.
        defaults: the owner's defaults of the options.
        data: keys that describe the data rather than the recipe (``face_crop``): always set to these values.
        fixed: keys the data fixes (``frame_interval_us`` of 25 fps clips): a ``contract`` that disagrees is refused.
        mode: ``"frame"``, ``"clip"`` or None (not given).
        options: keys of :data:`CONTRACT_OPTIONS`; None means not given.

    Raises:
        InputContractError: ``contract`` together with options, a contract against ``fixed``, or a bad value.
        ValueError: an unknown option name or ``mode``.
    """
    unknown = sorted(set(options) - set(CONTRACT_OPTIONS))
    if unknown:
        raise ValueError(f"{owner}: unknown input-contract options {unknown}")
    if mode not in (None, "frame", "clip"):
        raise ValueError(f"{owner}: mode must be 'frame' or 'clip', got {mode!r}")
    given = {k: v for k, v in options.items() if v is not None}
    if contract is not None:
        if given or mode is not None:
            names = ", ".join(sorted([*given, *(["mode"] if mode is not None else [])]))
            raise InputContractError(
                f"{owner}: give the input recipe either as contract=... or as keyword arguments, not both "
                f"(got contract and {names})"
            )
        result = as_contract(contract)
        for key, value in (fixed or {}).items():
            if getattr(result, key) != value:
                raise InputContractError(f"{owner}: the data has {key}={value!r}, the contract "
                                         f"{getattr(result, key)!r}")
        return dataclasses.replace(result, **(data or {}))
    values = {**defaults, **given, **(fixed or {}), **(data or {})}
    if mode == "frame":
        values["clip_length"] = 1
    return InputContract(**values)


def model_frames(model: Any) -> tuple[bool, int | None]:
    """``(predicts a sequence, frames read from the end of a clip)`` of a VA model (also importable from
    :mod:`neurova.zero_shot.evaluate`, where it was first).

    Video models (``predicts_sequence`` true) map ``(B, T, C, H, W)`` to ``(B, T, 2)``;
    frame models read their last ``frames_used`` frames and return ``(B, 2)``,
    1 frame when they say nothing. ``None`` frames means the model reads the whole clip.
    """
    if getattr(model, "predicts_sequence", False):
        return True, None
    frames = getattr(model, "frames_used", None)
    return False, 1 if frames is None else int(frames)


def check_phases(phase_us: int | Sequence[int], name: str = "phase_us") -> tuple[int, ...]:
    """``phase_us`` as a non-empty tuple of whole µs >= 0 (one value or several); ``name`` is the argument's name
    in the error. A phase is how long before its frame a sample's window ends
    (:class:`neurova.datasets.cache.EventCacheDataset`); here, without torch, so that protocols
    (:mod:`neurova.recipes`) check theirs when the ``neurova`` command only builds its parser.

    Raises:
        ValueError: an empty sequence, or a value that is not a whole number >= 0.
    """
    phases = tuple(phase_us) if isinstance(phase_us, Sequence) else (phase_us,)
    if not phases or any(isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 0 for p in phases):
        raise ValueError(f"{name} must be whole numbers of µs >= 0 (one or several), got {phase_us!r}")
    return tuple(int(p) for p in phases)
