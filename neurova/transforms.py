"""Transforms: frozen-dataclass callables over events, in tonic's call style ``transform(events)``.

Encoders turn an event array into float32 frames ``(T, C, H, W)``:
:class:`ToTBR`, :class:`ToFrame`, :class:`ToVoxelGrid`, :class:`ToTimeSurface`
(each takes optional ``ends_us`` window ends, and has ``channels``).
Event transforms return a new event array: :class:`Crop`, :class:`CenterCrop`,
:class:`ResizeEvents`, :class:`RaiseThreshold`, :class:`Downsample`, :class:`Denoise`, :class:`Deflicker`,
:class:`DropPixel`. :class:`Compose` chains them, and
:func:`encoder_from_contract` builds the encoder an :class:`~neurova.contract.InputContract` asks for.

Event arrays are :data:`~neurova.events.EVENT_DTYPE` sorted by ``t``; anything else is passed through
:func:`~neurova.events.as_events` first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neurova import image
from neurova.contract import InputContract
from neurova.encodings.filters import (
    _pixel_array,
    crop_events,
    denoise_events,
    downsample_events,
    drop_pixels,
    hot_pixels,
)
from neurova.encodings.flicker import deflicker_events
from neurova.encodings.frames import event_frames, time_surface, voxel_grid
from neurova.encodings.rescale import EventResizer, raise_threshold, resize_events
from neurova.encodings.tbr import DEFAULT_MAX_BYTES, MAX_BITS, tbr
from neurova.errors import InputContractError
from neurova.events import EVENT_DTYPE, SensorSize, as_events, slice_time

__all__ = [
    "CenterCrop",
    "Compose",
    "Crop",
    "Deflicker",
    "Denoise",
    "Downsample",
    "DropPixel",
    "RaiseThreshold",
    "ResizeEvents",
    "ToFrame",
    "ToModelInput",
    "ToTBR",
    "ToTimeSurface",
    "ToVoxelGrid",
    "box_sensor_starts",
    "encoder_from_contract",
]

SensorSizeLike = SensorSize | tuple[int, ...] | str


def _events(events: Any) -> np.ndarray:
    if isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE:
        return events
    return as_events(events)


def _positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _coerce_size(instance: Any) -> None:
    object.__setattr__(instance, "sensor_size", SensorSize.of(instance.sensor_size))


def _frames_args(n_frames: int | None, ends_us: Any) -> dict[str, Any]:
    """Window arguments of a call: explicit ``ends_us`` win over the transform's ``n_frames``."""
    return {"ends_us": ends_us} if ends_us is not None else {"n_frames": n_frames}


# --------------------------------------------------------------------------------------------- encoders


@dataclass(frozen=True)
class ToTBR:
    """Encode events as Temporal Binary Representation frames (see :func:`neurova.encodings.tbr`).

    Attributes:
        sensor_size: ``(width, height)`` of the events given to the transform (after any crop).
        n_bits: N, bins per frame (1..16).
        bin_us: Δt, bin duration in µs; a frame covers ``n_bits * bin_us``.
        n_frames: frames per call when no ``ends_us`` are given (``None``: enough to cover the events).
        normalize: ``"max"`` (values in [0, 1]) or ``None`` (integer codes).
        polarity: ``"merge"`` (C = 1) or ``"split"`` (C = 2: OFF, ON).
        max_bytes: largest output a call allocates (default 1 GiB; ``None``: no limit); a larger one,
            e.g. for events days apart, raises :class:`~neurova.errors.EventFormatError` before allocating.
    """

    sensor_size: SensorSizeLike
    n_bits: int = 8
    bin_us: int = 5000
    n_frames: int | None = None
    normalize: Literal["max"] | None = "max"
    polarity: Literal["merge", "split"] = "merge"
    max_bytes: int | None = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        _coerce_size(self)
        if isinstance(self.n_bits, bool) or not isinstance(self.n_bits, int) or not 1 <= self.n_bits <= MAX_BITS:
            raise ValueError(f"n_bits must be an integer in 1..{MAX_BITS}, got {self.n_bits!r}")
        _positive_int(self.bin_us, "bin_us")
        if self.normalize not in ("max", None):
            raise ValueError(f"normalize must be 'max' or None, got {self.normalize!r}")
        if self.polarity not in ("merge", "split"):
            raise ValueError(f"polarity must be 'merge' or 'split', got {self.polarity!r}")

    @property
    def channels(self) -> int:
        """C, channels per frame."""
        return 2 if self.polarity == "split" else 1

    @property
    def window_us(self) -> int:
        """Duration of one frame, ``n_bits * bin_us`` µs."""
        return self.n_bits * self.bin_us

    def __call__(self, events: Any, ends_us: Any = None) -> np.ndarray:
        """float32 ``(T, C, H, W)``; ``ends_us`` ``(T,)`` gives the frame end times in µs."""
        return tbr(
            _events(events),
            self.sensor_size,
            n_bits=self.n_bits,
            bin_us=self.bin_us,
            normalize=self.normalize,
            polarity=self.polarity,
            max_bytes=self.max_bytes,
            **_frames_args(self.n_frames, ends_us),
        )


@dataclass(frozen=True)
class ToFrame:
    """Event count frames per window (see :func:`neurova.encodings.event_frames`); C = 2 (OFF, ON) or 1.

    ``max_bytes`` bounds each call's output as in :class:`ToTBR`.
    """

    sensor_size: SensorSizeLike
    window_us: int = 40_000
    n_frames: int | None = None
    polarity: Literal["merge", "split"] = "split"
    max_bytes: int | None = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        _coerce_size(self)
        _positive_int(self.window_us, "window_us")
        if self.polarity not in ("merge", "split"):
            raise ValueError(f"polarity must be 'merge' or 'split', got {self.polarity!r}")

    @property
    def channels(self) -> int:
        """C, channels per frame."""
        return 2 if self.polarity == "split" else 1

    def __call__(self, events: Any, ends_us: Any = None) -> np.ndarray:
        """float32 ``(T, C, H, W)`` event counts."""
        return event_frames(
            _events(events),
            self.sensor_size,
            window_us=self.window_us,
            polarity=self.polarity,
            max_bytes=self.max_bytes,
            **_frames_args(self.n_frames, ends_us),
        )


@dataclass(frozen=True)
class ToVoxelGrid:
    """Voxel grids with bilinear time bins (see :func:`neurova.encodings.voxel_grid`); C = ``n_bins``.

    ``max_bytes`` bounds each call's output as in :class:`ToTBR`.
    """

    sensor_size: SensorSizeLike
    n_bins: int = 5
    window_us: int = 40_000
    n_frames: int | None = None
    max_bytes: int | None = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        _coerce_size(self)
        _positive_int(self.n_bins, "n_bins")
        _positive_int(self.window_us, "window_us")

    @property
    def channels(self) -> int:
        """C, channels per frame (= ``n_bins``)."""
        return self.n_bins

    def __call__(self, events: Any, ends_us: Any = None) -> np.ndarray:
        """float32 ``(T, n_bins, H, W)``."""
        return voxel_grid(
            _events(events),
            self.sensor_size,
            n_bins=self.n_bins,
            window_us=self.window_us,
            max_bytes=self.max_bytes,
            **_frames_args(self.n_frames, ends_us),
        )


@dataclass(frozen=True)
class ToTimeSurface:
    """Exponential time surfaces per polarity (see :func:`neurova.encodings.time_surface`); C = 2 (OFF, ON).

    ``max_bytes`` bounds each call's output as in :class:`ToTBR`.
    """

    sensor_size: SensorSizeLike
    tau_us: float = 50_000
    window_us: int = 40_000
    n_frames: int | None = None
    max_bytes: int | None = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        _coerce_size(self)
        _positive_int(self.window_us, "window_us")
        if not self.tau_us > 0:
            raise ValueError(f"tau_us must be positive, got {self.tau_us!r}")

    @property
    def channels(self) -> int:
        """C, channels per frame."""
        return 2

    def __call__(self, events: Any, ends_us: Any = None) -> np.ndarray:
        """float32 ``(T, 2, H, W)``."""
        return time_surface(
            _events(events),
            self.sensor_size,
            tau_us=self.tau_us,
            window_us=self.window_us,
            max_bytes=self.max_bytes,
            **_frames_args(self.n_frames, ends_us),
        )


Encoder = ToTBR | ToFrame | ToVoxelGrid | ToTimeSurface


def encoder_from_contract(contract: InputContract, sensor_size: SensorSizeLike) -> Encoder:
    """The encoder that makes a model's input as its :class:`~neurova.contract.InputContract` says.

    ``sensor_size`` is the size of the events handed to the encoder (the face crop, after any cropping).
    Every encoding uses one window of ``n_bits * bin_us`` µs per frame: ``"tbr"`` as is, ``"frame"``
    counts events with the contract's polarity, ``"voxel"`` uses ``n_bits`` time bins, ``"time_surface"``
    decays with ``tau_us`` = the window.

    Raises:
        InputContractError: the encoder's channels differ from ``contract.channels``.
    """
    window = contract.n_bits * contract.bin_us
    encoder: Encoder
    if contract.encoding == "tbr":
        encoder = ToTBR(
            sensor_size,
            n_bits=contract.n_bits,
            bin_us=contract.bin_us,
            normalize=contract.normalize,
            polarity=contract.polarity,
        )
    elif contract.encoding == "frame":
        encoder = ToFrame(sensor_size, window_us=window, polarity=contract.polarity)
    elif contract.encoding == "voxel":
        encoder = ToVoxelGrid(sensor_size, n_bins=contract.n_bits, window_us=window)
    else:  # "time_surface", the last encoding InputContract accepts
        encoder = ToTimeSurface(sensor_size, tau_us=window, window_us=window)
    if encoder.channels != contract.channels:
        raise InputContractError(
            f"the contract asks for {contract.channels} channels per frame, but {contract.encoding!r} with "
            f"n_bits={contract.n_bits}, polarity={contract.polarity!r} gives {encoder.channels}"
        )
    return encoder


@dataclass(frozen=True)
class ToModelInput:
    """Events → the ``(K, C, S, S)`` frames a model trained under ``contract`` takes, ending at ``t_end``.

    The one operator between events and a model, used by training (:class:`neurova.datasets.EventCacheDataset`,
    :class:`neurova.datasets.LabelledEventFiles`) and inference (:func:`neurova.predict`) alike. The events
    inside ``box`` (``(x0, y0, width, height)`` on the sensor, e.g. a face box; parts outside the sensor stay
    empty) are cropped (:class:`Crop`), brought to ``S = contract.image_size`` and encoded as the contract says
    (:func:`encoder_from_contract`), one frame ending at each of ``t_end - (K-1-k) * contract.frame_interval_us``
    for k = 0..K-1. ``contract.resize`` says how the box becomes ``S x S``:

    * ``"events"``: :class:`ResizeEvents` turns the box's events into those of an ``S x S`` sensor over the
      box, then they are encoded at ``S x S``; a face gives the same input statistics at any size on the sensor;
    * ``"area"``: encoded at the box's resolution, then the frames are area-averaged to ``S x S`` (the
      behaviour of contracts saved before ``resize`` existed).

    The event-domain resize emulates a sensor over the box that starts at ``since_us``: by default the start of
    the history, ``t_end - history_us`` (a training sample's window, whose sensor state is unknown: the
    output pixels start at dithered levels, :func:`~neurova.encodings.resize_initial_levels`); earlier when
    the box has held for longer (:func:`neurova.predict` keeps one emulated sensor running while its face box
    holds, as a real sensor runs, so consecutive windows share their frames). Only the events of
    ``[since_us, t_end)`` are used (the call slices them out), so the output does not depend on how much more
    the caller passes.

    Args:
        contract: the model's input contract.
        box: crop box in sensor pixels; fractional values (a float face box) are rounded to the nearest pixel.
        num_frames: K (default ``contract.clip_length``).
    """

    contract: InputContract
    box: tuple[int, int, int, int]
    num_frames: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", tuple(math.floor(float(v) + 0.5) for v in np.asarray(self.box).reshape(-1)))
        if len(self.box) != 4 or self.box[2] <= 0 or self.box[3] <= 0:
            raise ValueError(f"box must be (x0, y0, width, height) with a positive size, got {self.box}")
        if self.num_frames is not None:
            _positive_int(self.num_frames, "num_frames")

    @property
    def frames(self) -> int:
        return self.num_frames or self.contract.clip_length

    @property
    def history_us(self) -> int:
        """µs of events one call uses: ``(K-1) * frame_interval_us + n_bits * bin_us``."""
        return (self.frames - 1) * self.contract.frame_interval_us + self.contract.n_bits * self.contract.bin_us

    def ends_us(self, t_end: int) -> np.ndarray:
        """``(K,)`` end times in µs of the frames of a sample ending at ``t_end``."""
        steps = np.arange(self.frames - 1, -1, -1, dtype=np.int64)
        return int(t_end) - self.contract.frame_interval_us * steps

    @property
    def crop(self) -> Crop:
        """The :class:`Crop` of the box."""
        return Crop(*self.box)

    def __call__(self, events: Any, t_end: int, since_us: int | None = None) -> np.ndarray:
        """float32 ``(K, C, S, S)`` frames ending at ``t_end`` of the box's sensor started at ``since_us`` (default
        ``t_end - history_us``; a later start is refused)."""
        start = int(t_end) - self.history_us if since_us is None else int(since_us)
        if start > int(t_end) - self.history_us:
            raise ValueError(f"since_us={start} starts after the history of the frames ending at {t_end} µs "
                             f"(which starts at {int(t_end) - self.history_us} µs)")
        return self.encode_cropped(self.crop(slice_time(_events(events), start, int(t_end))), t_end)

    def encode_cropped(self, cropped: np.ndarray, t_end: int) -> np.ndarray:
        """:meth:`__call__` of events already cropped by :attr:`crop` (coordinates on the box), from the start of
        the box's sensor up to ``t_end``; float32 ``(K, C, S, S)``."""
        return self.encode_sized(self.resizer()(cropped), t_end)

    def resizer(self) -> Callable[[np.ndarray], np.ndarray]:
        """A fresh map from cropped events to the events the encoder reads, to call on consecutive chunks.

        With ``resize="events"`` an :class:`~neurova.encodings.EventResizer` (its output pixels keep their levels
        from chunk to chunk: the box's sensor runs on); with ``"area"`` the events as they are.
        """
        if self.contract.resize == "events":
            return EventResizer(self.crop.output_size, self.contract.image_size)
        return _identity

    def encode_sized(self, sized: np.ndarray, t_end: int) -> np.ndarray:
        """The frames ending at ``t_end`` of events from :meth:`resizer` (only the frames' windows are read);
        float32 ``(K, C, S, S)``."""
        size = self.contract.image_size
        if self.contract.resize == "events":
            return encoder_from_contract(self.contract, (size, size))(sized, ends_us=self.ends_us(t_end))
        frames = encoder_from_contract(self.contract, self.crop.output_size)(sized, ends_us=self.ends_us(t_end))
        return image.crop_and_resize(frames, size=size, interpolation="area")


def box_sensor_starts(ends_us: Any, boxes: Any, history_us: int) -> np.ndarray:
    """``(N,)`` int64 ``since_us`` of each window of a recording: when the emulated sensor over its box started.

    The rule of :func:`neurova.predict` (:class:`neurova.streaming.BoxStream`): a window whose box differs from
    the previous window's, or which starts at or after the previous window's end (the windows do not overlap),
    starts a new sensor at its own start ``end - history_us``; any other window keeps the previous one's.

    Args:
        ends_us: ``(N,)`` non-decreasing window ends, µs (the windows :func:`~neurova.predict` makes: it skips
            those without events).
        boxes: ``(N, 4)`` box of each window.
        history_us: µs of events one window covers (:attr:`ToModelInput.history_us`).
    """
    ends = np.asarray(ends_us, dtype=np.int64).reshape(-1)
    boxes = np.asarray(boxes, dtype=np.int64).reshape(len(ends), 4)
    starts = ends - int(history_us)
    new = np.ones(len(ends), dtype=bool)
    new[1:] = (boxes[1:] != boxes[:-1]).any(axis=1) | (starts[1:] >= ends[:-1])
    first = np.maximum.accumulate(np.where(new, np.arange(len(ends)), 0))
    return starts[first]


def _identity(events: np.ndarray) -> np.ndarray:
    return events


# ----------------------------------------------------------------------------------------- event transforms


@dataclass(frozen=True)
class Crop:
    """Keep the events inside a box and shift them so the box's corner is ``(0, 0)`` (e.g. a face box).

    The box is ``x0 <= x < x0 + width``, ``y0 <= y < y0 + height``; the result lives on a
    ``(width, height)`` sensor (:attr:`output_size`). The box may extend past the sensor. The transform form of
    :func:`neurova.encodings.crop_events`.
    """

    x0: int
    y0: int
    width: int
    height: int

    def __post_init__(self) -> None:
        _positive_int(self.width, "width")
        _positive_int(self.height, "height")

    @property
    def output_size(self) -> SensorSize:
        """Sensor size of the cropped events."""
        return SensorSize(self.width, self.height)

    def __call__(self, events: Any) -> np.ndarray:
        """The events inside the box, on a ``(width, height)`` sensor (:func:`~neurova.encodings.crop_events`)."""
        return crop_events(events, self.x0, self.y0, self.width, self.height)


@dataclass(frozen=True)
class CenterCrop:
    """Crop a centred ``size`` box (int for a square, or ``(width, height)``) out of ``sensor_size``.

    The box starts at ``((W - width) // 2, (H - height) // 2)``; coordinates are shifted to it.
    """

    sensor_size: SensorSizeLike
    size: int | tuple[int, int]

    def __post_init__(self) -> None:
        _coerce_size(self)
        width, height = (self.size, self.size) if isinstance(self.size, int | np.integer) else self.size
        _positive_int(width, "crop width")
        _positive_int(height, "crop height")
        object.__setattr__(self, "size", (int(width), int(height)))

    @property
    def box(self) -> Crop:
        """The equivalent :class:`Crop`."""
        width, height = self.size
        return Crop((self.sensor_size.width - width) // 2, (self.sensor_size.height - height) // 2, width, height)

    @property
    def output_size(self) -> SensorSize:
        """Sensor size of the cropped events."""
        return SensorSize(*self.size)

    def __call__(self, events: Any) -> np.ndarray:
        return self.box(events)


@dataclass(frozen=True)
class ResizeEvents:
    """Resize events to a ``size`` sensor as a sensor of that resolution would have recorded them.

    The transform form of :func:`neurova.encodings.resize_events`: shrinking, each output pixel integrates the
    signed events of the ``a`` source pixels it covers and fires (DVS-style, reference moved by one threshold)
    when their net count reaches ``a``; growing, events are replicated onto the nearest output pixels.
    Unlike :class:`Downsample`, the event rate per output pixel stays that of a real sensor.

    Attributes:
        sensor_size: ``(width, height)`` of the input events.
        size: ``S`` (square) or ``(width, height)`` of the output sensor (:attr:`output_size`).
    """

    sensor_size: SensorSizeLike
    size: int | tuple[int, int]

    def __post_init__(self) -> None:
        _coerce_size(self)
        width, height = (self.size, self.size) if isinstance(self.size, int | np.integer) else self.size
        _positive_int(width, "output width")
        _positive_int(height, "output height")
        object.__setattr__(self, "size", (int(width), int(height)))

    @property
    def output_size(self) -> SensorSize:
        """Sensor size of the resized events."""
        return SensorSize(*self.size)

    def __call__(self, events: Any) -> np.ndarray:
        return resize_events(_events(events), self.sensor_size, self.size)


@dataclass(frozen=True)
class RaiseThreshold:
    """The events the same sensor would have given with contrast thresholds ``factor`` times higher.

    The transform form of :func:`neurova.encodings.raise_threshold`: each pixel fires once its signed events have
    moved ``factor`` net events from its reference. For a camera set more sensitive than the sensor a model was
    trained on (``factor`` = training threshold / camera threshold, a whole number).

    Attributes:
        sensor_size: ``(width, height)`` of the events.
        factor: a whole number >= 1.
    """

    sensor_size: SensorSizeLike
    factor: int

    def __post_init__(self) -> None:
        _coerce_size(self)
        _positive_int(self.factor, "factor")

    def __call__(self, events: Any) -> np.ndarray:
        return raise_threshold(_events(events), self.sensor_size, self.factor)


@dataclass(frozen=True)
class Downsample:
    """Scale coordinates and time (tonic's ``Downsample``): ``x, y ← ⌊x·s⌋, ⌊y·s⌋``, ``t ← ⌊t·time_factor⌋``.

    Events keep their order; several events may land on one pixel. The transform form of
    :func:`neurova.encodings.downsample_events`.
    """

    spatial_factor: float = 1.0
    time_factor: float = 1.0

    def __post_init__(self) -> None:
        if not self.spatial_factor > 0 or not self.time_factor > 0:
            raise ValueError(f"factors must be positive, got {self.spatial_factor!r}, {self.time_factor!r}")

    def output_size(self, sensor_size: SensorSizeLike) -> SensorSize:
        """Sensor size after downsampling a ``sensor_size`` stream."""
        size = SensorSize.of(sensor_size)
        return SensorSize(
            max(1, int(np.ceil(size.width * self.spatial_factor))),
            max(1, int(np.ceil(size.height * self.spatial_factor))),
        )

    def __call__(self, events: Any) -> np.ndarray:
        """The scaled events, a copy (:func:`~neurova.encodings.downsample_events`)."""
        return downsample_events(events, self.spatial_factor, self.time_factor)


@dataclass(frozen=True)
class Denoise:
    """Background-activity filter (tonic's ``Denoise``, over the 8-neighbourhood).

    An event at ``(x, y, t)`` is kept when one of the 8 neighbouring pixels had an event (earlier in the
    stream) at a time ``t'`` with ``t - filter_time_us < t' <= t``; isolated events are dropped.
    The transform form of :func:`neurova.encodings.denoise_events`.
    """

    sensor_size: SensorSizeLike
    filter_time_us: int = 10_000

    def __post_init__(self) -> None:
        _coerce_size(self)
        _positive_int(self.filter_time_us, "filter_time_us")

    def __call__(self, events: Any) -> np.ndarray:
        """The events with a recent neighbour (:func:`~neurova.encodings.denoise_events`)."""
        return denoise_events(events, self.sensor_size, self.filter_time_us)


@dataclass(frozen=True)
class Deflicker:
    """Comb out the flicker of a lamp (mains lights at 100 / 120 Hz, LED drivers): flickering pixels' events become
    those of their brightness averaged over each flicker period.

    The transform form of :func:`neurova.encodings.deflicker_events`: ``frequency_hz`` the lamp's flicker
    frequency if known (None: estimated from each call's events, which then should span a quarter of a second).
    """

    sensor_size: SensorSizeLike
    frequency_hz: float | None = None

    def __post_init__(self) -> None:
        _coerce_size(self)
        if self.frequency_hz is not None and not self.frequency_hz > 0:
            raise ValueError(f"frequency_hz must be positive, got {self.frequency_hz!r}")

    def __call__(self, events: Any) -> np.ndarray:
        """The events with the flicker combed out (:func:`~neurova.encodings.deflicker_events`)."""
        return deflicker_events(events, self.sensor_size, self.frequency_hz)


@dataclass(frozen=True)
class DropPixel:
    """Drop the events of given pixels and/or of hot pixels (tonic's ``DropPixel``).

    ``pixels``: ``(x, y)`` coordinates dropped from every call (a sensor's known faulty pixels);
    ``max_rate_hz``: also drop the pixels whose mean event rate over each call's events is above it
    (:func:`~neurova.encodings.hot_pixels`, which needs ``sensor_size``). The transform form of
    :func:`neurova.encodings.drop_pixels`.
    """

    pixels: Sequence[tuple[int, int]] = ()
    max_rate_hz: float | None = None
    sensor_size: SensorSizeLike | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pixels", tuple(map(tuple, _pixel_array(self.pixels).tolist())))
        if self.max_rate_hz is not None:
            if not self.max_rate_hz > 0:
                raise ValueError(f"max_rate_hz must be positive, got {self.max_rate_hz!r}")
            if self.sensor_size is None:
                raise ValueError("DropPixel(max_rate_hz=...) needs the sensor_size the hot pixels are counted on")
        if self.sensor_size is not None:
            _coerce_size(self)

    def __call__(self, events: Any) -> np.ndarray:
        """The events of the other pixels, in their input order (a new array)."""
        events = _events(events)
        dropped = _pixel_array(self.pixels)
        if self.max_rate_hz is not None:
            assert self.sensor_size is not None
            dropped = np.concatenate([dropped, hot_pixels(events, self.sensor_size, self.max_rate_hz)])
        return drop_pixels(events, dropped)


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order: ``Compose([Crop(...), Denoise(...), ToTBR(...)])(events)``.

    Keyword arguments of the call (e.g. ``ends_us``) go to the last transform.
    """

    transforms: Sequence[Callable[..., Any]] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))
        for transform in self.transforms:
            if not callable(transform):
                raise TypeError(f"Compose needs callables, got {transform!r}")

    def __call__(self, events: Any, **kwargs: Any) -> Any:
        if not self.transforms:
            if kwargs:
                raise TypeError(f"an empty Compose takes no keyword arguments, got {sorted(kwargs)}")
            return events
        *head, last = self.transforms
        for transform in head:
            events = transform(events)
        return last(events, **kwargs)
