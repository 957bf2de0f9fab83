"""Run a trained valence/arousal model over a recording or a live event stream.

:func:`predict` takes events in any form (an array, an event file, a video to
simulate, or an iterator of event chunks), encodes them with the model's own
stored :class:`~neurova.contract.InputContract` (encoding, ``n_bits``,
``bin_us``, polarity, clip length, image size) and returns a
:class:`Prediction` time series with one valence/arousal/emotion every
``hop_us``.

How a prediction at time ``t`` is made (``t`` = end of the newest frame):

1. the model needs ``K`` frames (the contract's ``clip_length``, at least the
   model's ``frames_used``) ending at ``t - (K-1-k) * frame_interval_us``,
   ``k = 0..K-1``, each covering ``n_bits * bin_us`` µs; so the events of
   ``[t - history_us, t)`` are used, ``history_us = (K-1) * frame_interval_us + n_bits * bin_us``;
2. the face box (a user box clipped to the sensor, the tracked detection, or else the largest
   centred square of the sensor, with a :class:`NoFaceWarning`) and the events go through
   :class:`neurova.transforms.ToModelInput`, the operator the training samples went through:
   crop to the box, bring it to ``image_size x image_size`` as the contract's ``resize`` says
   (``"events"``: :func:`neurova.encodings.resize_events`, the events of a sensor with
   ``image_size`` pixels across the box, which runs on while the box holds: it starts at the
   first window of each box, ``Prediction.box_start_us``) and encode as the contract says;
3. the model maps ``(1, K, C, S, S)`` to valence/arousal (a video model's last frame).

The first prediction is at ``t0 + history_us`` (``t0`` = the first event), so every
prediction sees a full history, and the last at or before ``t_last + 1`` µs. Prediction
times whose ``[t - history_us, t)`` holds no event are skipped (counted in
``Prediction.settings["empty_windows_skipped"]``): a gap of hours between two bursts
costs nothing and leaves a gap in ``timestamps_us``.
The same rule holds offline and streaming, so both give the same predictions on
the same events; streaming keeps only the last ``history_us`` (or, with face
detection, ``detect_window_us``) of events in memory.

Each event is cropped and resized once while the box holds. Streaming predicts one window at a time and reuses
what consecutive windows share (:mod:`neurova.streaming`): when the box is unchanged and the prediction is a
whole number of frame intervals after the previous one, only the new frames are encoded, and a frame-fusion model runs its trunk
on them only (:meth:`neurova.nets.FrameFusionNet.step`); the outputs are those of the full computation.
It runs at a fixed torch thread count (``threads``, default 1), restored afterwards, and, where the model's
trunk runs on new frames only, with its convolution weights channels-last (faster one frame at a time).
"""

from __future__ import annotations

import csv
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurova import faces
from neurova._atomic import atomic_path
from neurova.contract import InputContract, model_frames
from neurova.domain import DomainMonitor, InputStats
from neurova.encodings.filters import _above_rate, _hot_pixels_of_checked, _pixel_counts, denoise_chunks, drop_pixels
from neurova.encodings.flicker import FlickerFilter, flicker_share
from neurova.encodings.rescale import EventResizer, check_threshold_factor
from neurova.errors import EventFormatError, InputContractError
from neurova.events import (
    EVENT_DTYPE,
    EventBuffer,
    SensorSize,
    as_events,
    concat_events,
    empty_events,
    infer_sensor_size,
    slice_time,
    take_events,
    validate_events,
)
from neurova.faces import NoFaceWarning
from neurova.zero_shot import Method, Table, classify_emotion

__all__ = [
    "FLICKER_WARN_FRACTION",
    "HOT_PIXEL_MIN_SPAN_US",
    "HOT_PIXEL_RATE_HZ",
    "MEMORY_PER_FILE_BYTE",
    "FlickerWarning",
    "HotPixelWarning",
    "LargeRecordingWarning",
    "NoFaceWarning",
    "Prediction",
    "predict",
    "predict_file",
]

HOT_PIXEL_RATE_HZ = 1000.0
"""Mean event rate above which :func:`predict` calls a pixel hot (simulated faces stay below 100 Hz per pixel)."""
HOT_PIXEL_MIN_SPAN_US = 1_000_000
"""Recordings shorter than this get no :class:`HotPixelWarning`: over a few ms, a pixel on a moving edge can fire at
kHz rates (29 events in the 8.8 ms of a real driving-scene sample)."""
FLICKER_WARN_FRACTION = 0.02
"""Share of a whole recording's events found to be flicker (:mod:`neurova.encodings.flicker`) above which
:func:`predict` warns (simulated faces and a real driving scene: 0; a real DAVIS346 recording under mains light:
0.24)."""


class HotPixelWarning(UserWarning):
    """A whole recording of at least :data:`HOT_PIXEL_MIN_SPAN_US` has pixels firing above :data:`HOT_PIXEL_RATE_HZ`
    on average (faulty sensor pixels, which the training data never has), and ``drop_hot_pixels`` was not given;
    the message names them."""


class LargeRecordingWarning(UserWarning):
    """An event file too large to read whole in the available memory (:data:`MEMORY_PER_FILE_BYTE`) is read in
    windows instead: ``stream`` was not given."""


class FlickerWarning(UserWarning):
    """A whole recording has more than :data:`FLICKER_WARN_FRACTION` of flicker events (a lamp flickering on mains
    or a dimmer, which simulated training data never has), and ``deflicker`` was not given; the message names the
    frequency."""


PathLike = str | os.PathLike[str]


@dataclass
class Prediction:
    """A valence/arousal time series predicted from events.

    Attributes:
        timestamps_us: ``(N,)`` int64 time of each prediction (end of its newest frame), µs.
        valence, arousal: ``(N,)`` float32 predictions.
        emotion: ``(N,)`` str, :func:`neurova.zero_shot.classify_emotion` of each prediction.
        boxes: ``(N, 4)`` int64 face box ``(x0, y0, width, height)`` on the sensor used for each prediction.
        box_start_us: ``(N,)`` int64 time from which each prediction's box was held, µs: the start of the
            emulated input sensor over the box (the event-domain resize runs on while a box holds), so
            ``ToModelInput(contract, boxes[i])(events, timestamps_us[i], since_us=box_start_us[i])`` is the
            model's input of prediction ``i``.
        latency_ms: ``(N,)`` float64 wall time from the moment a prediction's events were complete to its
            output (detection, encoding and model) when streaming; ``None`` offline, where
            predictions are computed in batches.
        sensor_size: the sensor of the events.
        contract: the input contract the events were encoded with.
        source: what was read (a file path), if anything.
        settings: how the predictions were made: ``hop_us``, ``detect_face`` (with ``detect_every_us``,
            ``detect_window_us`` and ``detect_lag_us``), ``face_box`` (clipped),
            ``fallback_box`` and ``fallback_predictions`` (predictions made on it for want of a face box or a
            detection), ``empty_windows_skipped`` (prediction times whose window held no event: gaps in the
            recording produce no predictions), the emotion mapping, ``streaming``, ``threads`` (torch's
            thread count while streaming) and ``frames_encoded`` (frames encoded in all: fewer than K per
            prediction where consecutive windows share frames, streamed or offline).
        start_us: time of the first event read, µs: the recording's start, origin of the figures' time axes.
        input_stats: statistics of the model inputs of this run, with a few sample frames
            (:class:`neurova.domain.InputStats`); ``predict`` warns (:class:`neurova.domain.DomainWarning`)
            when they differ from the model's training inputs by more than 2x.
    """

    timestamps_us: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    emotion: np.ndarray
    boxes: np.ndarray
    sensor_size: SensorSize
    contract: InputContract
    latency_ms: np.ndarray | None = None
    source: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    start_us: int | None = None
    input_stats: InputStats | None = None
    box_start_us: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.timestamps_us)

    @property
    def va(self) -> np.ndarray:
        """``(N, 2)`` valence, arousal."""
        return np.stack([self.valence, self.arousal], axis=1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (arrays as lists)."""
        return {
            "timestamps_us": self.timestamps_us.tolist(),
            "valence": self.valence.tolist(),
            "arousal": self.arousal.tolist(),
            "emotion": self.emotion.tolist(),
            "boxes": self.boxes.tolist(),
            "box_start_us": None if self.box_start_us is None else self.box_start_us.tolist(),
            "latency_ms": None if self.latency_ms is None else self.latency_ms.tolist(),
            "sensor_size": list(self.sensor_size),
            "input_contract": self.contract.to_dict(),
            "source": self.source,
            "settings": dict(self.settings),
            "start_us": self.start_us,
            "input_stats": None if self.input_stats is None else self.input_stats.to_dict(),
        }

    def to_csv(self, path: PathLike) -> Path:
        """Write one row per prediction, atomically.

        Columns: ``timestamp_us, valence, arousal, emotion, box_x0, box_y0, box_width, box_height``
        and, when measured, ``latency_ms``.
        """
        header = ["timestamp_us", "valence", "arousal", "emotion", "box_x0", "box_y0", "box_width", "box_height"]
        if self.latency_ms is not None:
            header.append("latency_ms")
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for i in range(len(self)):
                row = [int(self.timestamps_us[i]), f"{self.valence[i]:.6f}", f"{self.arousal[i]:.6f}",
                       str(self.emotion[i]), *(int(b) for b in self.boxes[i])]
                if self.latency_ms is not None:
                    row.append(f"{self.latency_ms[i]:.3f}")
                writer.writerow(row)
        return Path(path)


# --- the predictor ---------------------------------------------------------------------------------


def _clip_box(box: Any, sensor: SensorSize) -> tuple[int, int, int, int]:
    """``box`` ``(x0, y0, width, height)`` rounded to pixels and clipped to the sensor.

    Raises:
        ValueError: the box is not 4 finite numbers with a positive size, or lies wholly outside the sensor.
    """
    values = np.asarray(box, dtype=np.float64).reshape(-1)
    if values.shape != (4,) or not np.isfinite(values).all() or (values[2:] <= 0).any():
        raise ValueError(f"face_box must be (x0, y0, width, height) with a positive size, got {box!r}")
    x0, y0, w, h = faces.pixel_box(values)
    x1, y1 = min(x0 + w, sensor.width), min(y0 + h, sensor.height)
    x0, y0 = max(x0, 0), max(y0, 0)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face_box {tuple(values.tolist())} lies outside the {sensor.width}x{sensor.height} sensor")
    return x0, y0, x1 - x0, y1 - y0


class _Predictor:
    """Consumes time-ordered event chunks and emits one prediction every ``hop_us``."""

    def __init__(
        self,
        model: Any,
        contract: InputContract,
        sensor_size: SensorSize,
        *,
        hop_us: int,
        face_box: Any | None,
        detector: Callable[[np.ndarray, SensorSize], Any] | None,
        detect_every_us: int,
        detect_window_us: int,
        detect_lag_us: int,
        face_margin: float,
        batch_size: int,
        device: str,
        streaming: bool,
        source: str | None = None,
        choose_threads: Callable[[float | None], int],
    ) -> None:
        import torch

        from neurova.streaming import BoxStream, FrameStepper, IncrementalModelInput
        from neurova.transforms import ToModelInput

        self._torch = torch
        self._to_model_input = ToModelInput
        self.model = model
        self.contract = contract
        self.sensor = sensor_size
        _, frames_used = model_frames(model)
        self.k = max(contract.clip_length, frames_used or 1)
        self.window_us = contract.n_bits * contract.bin_us
        self.history_us = (self.k - 1) * contract.frame_interval_us + self.window_us
        self.hop_us = int(hop_us)
        self.source = source
        self.keep_us = max(self.history_us, int(detect_window_us) if detector is not None else 0)
        self.user_box = face_box is not None
        self.fixed_box = _clip_box(face_box, sensor_size) if face_box is not None else faces.centre_square(sensor_size)
        self.track = None if detector is None else faces.FaceTrack(
            detector, sensor_size, window_us=detect_window_us, every_us=detect_every_us, margin=face_margin,
            initial_box=self.fixed_box if self.user_box else None, lag_us=detect_lag_us, background=streaming,
            prepare=self._start_box_sensor if streaming else None,
        )
        self.batch_size = int(batch_size)
        self.device = device
        self.streaming = streaming
        self.domain = DomainMonitor(getattr(model, "input_stats", None), source=source)
        self._incremental = IncrementalModelInput(contract, self.k)
        self._stepper = FrameStepper(model)
        # one new frame per prediction, where channels-last weights pay
        self.steps_one_frame = self._stepper.incremental
        self.frames_encoded = 0
        # streaming with a fixed box: the first window's earlier frames go through before its prediction is due
        self._prerolls = streaming and detector is None and self.steps_one_frame and self.k > 1
        self._prerolled = 0
        self._encoder: Any | None = None
        self._box_stream = BoxStream()
        self._buffer = EventBuffer()
        self._next_end: int | None = None
        self.start_us: int | None = None
        self._last_t: int | None = None
        self.empty_windows = 0
        self.fallback_predictions = 0
        self._pending: list[tuple[int, Any, np.ndarray, tuple[int, int, int, int], int]] = []
        self.times: list[int] = []
        self.outputs: list[np.ndarray] = []
        self.boxes: list[tuple[int, int, int, int]] = []
        self.box_starts: list[int] = []
        self.latency_ms: list[float] = []
        self._choose_threads = choose_threads  # sets torch's thread count for the next forward pass
        self.threads_used: Counter[int] = Counter()  # predictions made at each thread count
        self._done: float | None = None  # perf_counter at the end of the previous forward pass

    # -- event intake ------------------------------------------------------------------------------------

    def push(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        if self._last_t is not None and int(chunk["t"][0]) < self._last_t:
            raise EventFormatError(
                f"event chunks go back in time: a chunk starts at {int(chunk['t'][0])} µs after an event at "
                f"{self._last_t} µs"
            )
        if self._next_end is None:
            self.start_us = int(chunk["t"][0])
            self._next_end = self.start_us + self.history_us
        self._buffer.append(chunk)
        self._last_t = int(chunk["t"][-1])
        # every event before next_end has arrived once an event at or after it has been seen
        self._advance(self._last_t)

    def close(self) -> None:
        """Stop the face track's worker thread, if it has one."""
        if self.track is not None:
            self.track.close()

    def finish(self) -> None:
        if self._last_t is None:
            raise EventFormatError("the recording has no events: nothing to predict")
        self._advance(self._last_t + 1)
        self._flush()
        if not self.times:
            assert self.start_us is not None
            raise EventFormatError(
                f"the recording spans {(self._last_t + 1 - self.start_us) / 1000:g} ms, shorter than the "
                f"{self.history_us / 1000:g} ms of events one prediction needs (history_us = {self.history_us}: "
                f"{self.k} frame(s) of {self.window_us / 1000:g} ms, {self.contract.frame_interval_us / 1000:g} ms "
                "apart); give a recording of at least that length"
            )

    def _advance(self, until: int) -> None:
        assert self._next_end is not None
        if self._prerolls and not self.times:
            self._preroll(until)
        while self._next_end <= until:
            following = self._buffer.next_time(self._next_end - self.history_us)
            if following is None:
                break
            if following >= self._next_end:  # no event in this window: jump to the first window that may hold one
                skip = -(-(following + 1 - self._next_end) // self.hop_us)
                self.empty_windows += skip
                self._next_end += skip * self.hop_us
                continue
            self._emit(self._next_end)
            self._next_end += self.hop_us
        start = self._next_end - self.keep_us
        self._buffer.drop_before(start)

    def _preroll(self, until: int) -> None:
        """Streaming with a fixed box, before the first prediction: each earlier frame of the first window encoded and
        through the trunk as soon as its events have all arrived (an event at or after its end, ``until``, seen), so
        that the first prediction steps over its newest frame only, as every later one does, instead of running the
        trunk on all K frames at once. The first is the window ending at the first frame's end, on the box's sensor
        started at the first window's start, whose earlier frames lie before that start and are empty (the stepper
        computes the empty frame once); nothing is predicted or recorded for them."""
        from neurova.streaming import BoxStream

        assert self._next_end is not None
        interval = self.contract.frame_interval_us
        while self._prerolled < self.k - 1:
            t_end = self._next_end - (self.k - 1 - self._prerolled) * interval
            if t_end > until:
                return
            if self._prerolled == 0:  # the sensor the first prediction's window will run on
                self._box_stream = BoxStream.starting(self._encoder_for(self.fixed_box), self._next_end - self.history_us)
            sized, since = self._window(t_end, self.fixed_box)
            frames, new = self._frames(sized, t_end, self.fixed_box, since)
            self._set_threads()
            with self._torch.inference_mode():
                self._stepper(self._torch.from_numpy(frames)[None].to(self.device), new)
            self._done = time.perf_counter()
            self._prerolled += 1

    def _set_threads(self) -> int:
        """torch's thread count for the next forward pass, set by ``choose_threads`` (given the seconds since the
        previous pass ended)."""
        return self._choose_threads(None if self._done is None else time.perf_counter() - self._done)

    # -- one prediction ----------------------------------------------------------------------------------

    def _box(self, t_end: int) -> tuple[int, int, int, int]:
        if self.track is None:
            return self.fixed_box if self.user_box else self._fallback(t_end, "no face_box was given and detect_face is off")
        due = self.track.due(t_end)  # the buffer copies a detection window only when one is due
        recent = self._buffer.between(t_end - self.track.window_us, t_end) if due else empty_events()
        box = self.track.box_at(recent, t_end)
        if due and not self.streaming:
            self._prefetch_detection(t_end)
        if box is not None:
            return box
        return self._fallback(t_end, f"no face found in the events up to {t_end} µs")

    def _prefetch_detection(self, t_end: int) -> None:
        """After a detection at ``t_end``, start the next one (due at the first prediction ``detect_every_us``
        later, on the grid of ``hop_us`` unless windows without events are skipped) in the face track's worker,
        where the events it needs are all here: the predictions until then run beside it."""
        assert self.track is not None
        t_next = self._prediction_after(t_end, self.track.every_us)
        if self._last_t is not None and self._last_t >= t_next:  # every event before t_next has arrived
            self.track.prefetch(t_next, self._buffer.between(t_next - self.track.window_us, t_next))

    def _prediction_after(self, t_us: int, wait_us: int) -> int:
        """The first prediction time after the one at ``t_us`` and at least ``wait_us`` later: predictions lie on a
        grid of ``hop_us`` (unless windows without events are skipped, which callers check)."""
        return int(t_us) + max(1, -(-int(wait_us) // self.hop_us)) * self.hop_us

    def _fallback(self, t_end: int, why: str) -> tuple[int, int, int, int]:
        """The fallback box (the largest centred square), warning once per run with ``why``."""
        if self.fallback_predictions == 0:
            warnings.warn(
                f"{self.source or 'predict'}: {why}; predicting on the fallback box {self.fixed_box} (x0, y0, "
                f"width, height: the largest centred square of the {self.sensor.width}x{self.sensor.height} sensor)"
                + (" until a face is found" if self.track is not None else "; pass face_box= or detect_face=True"),
                NoFaceWarning, stacklevel=6,
            )
        self.fallback_predictions += 1
        return self.fixed_box

    def _encoder_for(self, box: tuple[int, int, int, int]) -> Any:
        if self._encoder is None or self._encoder.box != box:  # the tracked box may move or change size
            self._encoder = self._to_model_input(self.contract, box, num_frames=self.k)
        return self._encoder

    def _window(self, t_end: int, box: tuple[int, int, int, int]) -> tuple[np.ndarray, int]:
        """The buffered events of the window ending at ``t_end`` resized for ``box`` (:class:`~neurova.streaming.BoxStream`:
        each event cropped and resized once while the box holds) and the start of the box's sensor."""
        started = self.track.prepared if self.track is not None else None
        window = self._box_stream.window(self._encoder_for(box), self._buffer, t_end, started=started)
        assert self._box_stream.start_us is not None
        return window, self._box_stream.start_us

    def _start_box_sensor(self, box: tuple[int, int, int, int], recent: np.ndarray, t_us: int) -> Any:
        """The face track's ``prepare`` (in its worker thread): the sensor over the ``box`` a detection at ``t_us``
        moves to, started where the first prediction on it will start it, fed the detection window's events of it.

        Predictions fall on a fixed grid of ``hop_us``, so the first one to use the answer (at least ``lag_us`` after
        ``t_us``, itself a prediction time, or the next detection's, if sooner) is known; :meth:`_feed_next_box`
        feeds the sensor the events that arrive before then.
        """
        from neurova.streaming import BoxStream

        assert self.track is not None
        first_use = self._prediction_after(t_us, min(self.track.lag_us, self.track.every_us))
        stream = BoxStream.starting(self._to_model_input(self.contract, box, num_frames=self.k),
                                    first_use - self.history_us)
        assert stream.start_us is not None
        if stream.start_us >= int(t_us) - self.track.window_us:  # the window holds every event since the start
            stream.advance(recent, t_us)
        return stream

    def _feed_next_box(self, t_end: int) -> None:
        """Feed the sensor started for the next box (:meth:`_start_box_sensor`) the events up to ``t_end``, so that
        the prediction that moves to it resizes only the last hop's events."""
        stream = self.track.next_prepared() if self.track is not None else None
        if stream is not None:
            stream.advance(self._buffer, t_end)

    def _emit(self, t_end: int) -> None:
        started = time.perf_counter()
        box = self._box(t_end)
        sized, since = self._window(t_end, box)
        if self.streaming:
            self.threads_used[self._set_threads()] += 1
            self._step(sized, t_end, box, since)
            self._feed_next_box(t_end)
            self._done = time.perf_counter()
            self.latency_ms.append((self._done - started) * 1e3)
            return
        frames, _ = self._frames(sized, t_end, box, since)
        self._pending.append((t_end, self._torch.from_numpy(frames), self._incremental.frame_ids, box, since))
        if len(self._pending) >= self.batch_size:
            self._flush()

    def _frames(self, sized: np.ndarray, t_end: int, box: tuple[int, int, int, int], since: int) -> tuple[np.ndarray, int]:
        """The ``(K, C, S, S)`` frames of the window ending at ``t_end`` and how many were encoded (the others are the
        previous window's, :class:`~neurova.streaming.IncrementalModelInput`), counted in :attr:`frames_encoded`."""
        frames, new = self._incremental(sized, t_end, box, since)
        self.frames_encoded += new
        return frames, new

    def _step(self, sized: np.ndarray, t_end: int, box: tuple[int, int, int, int], since: int) -> None:
        """One streaming prediction: the window's new frames encoded, the model stepped over them."""
        torch = self._torch
        frames, new = self._frames(sized, t_end, box, since)
        x = torch.from_numpy(frames)[None]
        self.domain.update(x)
        with torch.inference_mode():
            out = self._stepper(x.to(self.device), new)
        self._record([(t_end, box, since)], out)

    def _flush(self) -> None:
        """Offline: the pending windows in one batch, each frame they share through the trunk once."""
        if not self._pending:
            return
        torch = self._torch
        x = torch.stack([frames for _, frames, _, _, _ in self._pending])
        self.domain.update(x)
        ids = np.stack([frame_ids for _, _, frame_ids, _, _ in self._pending])  # (B, K)
        _, first, index = np.unique(ids, return_index=True, return_inverse=True)
        frames = x.flatten(0, 1)[torch.from_numpy(first)].to(self.device)  # each frame once
        self.threads_used[self._set_threads()] += len(self._pending)
        with torch.inference_mode():
            out = self._stepper.windows(frames, torch.from_numpy(index.reshape(ids.shape)),
                                       chunk=self.batch_size * self.k)
        self._done = time.perf_counter()
        self._record([(t_end, box, since) for t_end, _, _, box, since in self._pending], out)
        self._pending.clear()

    def _record(self, made: list[tuple[int, tuple[int, int, int, int], int]], out: Any) -> None:
        """Keep the ``(B, 2)`` outputs ``out`` of the predictions ``made`` (``(t_end, box, box_start)`` each)."""
        va = out.float().cpu().numpy().reshape(len(made), 2)
        for (t_end, box, since), row in zip(made, va):
            if not np.isfinite(row).all():
                raise ValueError(f"the model predicted NaN or infinite valence/arousal at {t_end} µs")
            self.times.append(t_end)
            self.outputs.append(row)
            self.boxes.append(box)
            self.box_starts.append(since)


# --- sources ---------------------------------------------------------------------------------------

_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def _contract_of(model: Any) -> InputContract:
    contract = getattr(model, "input_contract", None)
    if contract is None:
        raise InputContractError(
            f"{type(model).__name__} has no stored input contract, so neurova cannot know how to encode events for "
            "it; train it through a neurova datamodule or pass input_contract=... when building it"
        )
    if isinstance(contract, Mapping):
        contract = InputContract.from_dict(dict(contract))
    return contract


def _thread_chooser(threads: int | Literal["auto"] | None, streaming: bool,
                    tracks_faces: bool) -> Callable[[float | None], int]:
    """What sets (``"auto"``) or reads torch's thread count before each forward pass, given the seconds since the
    previous one ended, under :func:`neurova.streaming.intra_op_threads` ``(threads)``.

    ``"auto"``: :class:`~neurova.streaming.AutoThreads`; streaming: up to 2 threads, for predictions back to back,
    with a CPU kept for the face track's worker thread (``tracks_faces``); offline (batches): up to the caller's
    count, which it starts from and keeps where the system does not say.
    """
    import torch

    from neurova.streaming import AutoThreads

    if threads != "auto":
        return lambda idle_s: torch.get_num_threads()
    if streaming:
        return AutoThreads(reserve=int(tracks_faces))
    caller = torch.get_num_threads()
    return AutoThreads(most=caller, spin_s=None, initial=caller)


def _face_detector(detect_face: Any) -> Callable[[np.ndarray, SensorSize], Any] | None:
    """The detector ``predict(detect_face=...)`` asks for: None, :func:`neurova.faces.get_face_detector` or a callable."""
    if detect_face is None or detect_face is False:
        return None
    if detect_face is True:
        return faces.get_face_detector("auto")
    if isinstance(detect_face, str):
        return faces.get_face_detector(detect_face)
    if callable(detect_face):
        return detect_face
    raise TypeError(f"detect_face must be a bool, a detector name or a callable detector, got {detect_face!r}")


def _load_model(model: Any) -> Any:
    if isinstance(model, str | os.PathLike):
        from neurova.models import from_pretrained

        return from_pretrained(model)
    return model


def _is_chunk_stream(source: Any) -> bool:
    return not isinstance(source, str | os.PathLike | np.ndarray | Mapping) and (
        isinstance(source, Iterator) or (isinstance(source, Iterable) and not hasattr(source, "shape"))
    )


MEMORY_PER_FILE_BYTE = 16
"""Bytes of memory :func:`predict` may need per byte of an event file it reads whole: event files hold 1.5-13 bytes
per event (EVT 3.0 to plain arrays), an event takes 13 bytes in memory, and the whole-recording checks add
temporary arrays of up to 8 bytes per event."""


def _available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _too_large_to_read_whole(path: Path) -> bool:
    """Whether reading ``path`` whole could take more than half the available memory (then it is streamed, with
    a warning); False where the available memory is unknown."""
    available = _available_memory()
    size = path.stat().st_size
    need = size * MEMORY_PER_FILE_BYTE
    if available is None or need <= available // 2:
        return False
    warnings.warn(
        f"{path}: reading this {size / 2**30:.1f} GiB event file whole could take about "
        f"{need / 2**30:.0f} GiB of memory, more than half the {available / 2**30:.1f} GiB available: reading it in "
        "windows instead (stream=True; the same predictions, with bounded memory). Pass stream=False to read it "
        "whole (needed for drop_hot_pixels and the flicker warning)",
        LargeRecordingWarning, stacklevel=4,
    )
    return True


def _is_video(source: Any) -> bool:
    """Whether ``source`` is a video file or a folder of frames (simulated to events by :func:`predict`)."""
    if not isinstance(source, str | os.PathLike):
        return False
    from neurova import io

    path = Path(source)
    return path.is_dir() or path.suffix.lower() in _VIDEO_SUFFIXES or path.suffix.lower() not in io.supported_suffixes()


def _open_source(source: Any, sensor_size: Any, *, stream: bool | None, hop_us: int, preset: str,
                 fps: float | None) -> tuple[Iterable[np.ndarray], SensorSize, str | None, bool, bool]:
    """``(event chunks, sensor size, source path, streaming, simulated)`` for any supported source (``simulated``:
    a video or frame folder, simulated to events here)."""
    if hasattr(source, "events") and hasattr(source, "sensor_size") and not isinstance(source, np.ndarray):
        path = getattr(source, "path", None)
        size = SensorSize.of(sensor_size or source.sensor_size)
        validate_events(source.events, sensor_size=size, path=path)  # a Recording may be built by hand
        return [source.events], size, None if path is None else str(path), False, False
    if isinstance(source, str | os.PathLike):
        from neurova import io

        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such event file, video or frame folder")
        if _is_video(path):
            from neurova.simulator import read_video, simulate

            frames, stamps = read_video(path, fps=fps)
            events = simulate(frames, stamps, preset=preset)
            return [events], SensorSize(frames.shape[2], frames.shape[1]), str(path), False, True
        if stream is None:
            stream = _too_large_to_read_whole(path)
        if stream:  # the sensor before the events: a file that states none is scanned for it
            size = SensorSize.of(sensor_size) if sensor_size is not None else io.get_sensor_size(path)
            return io.iter_events(path, window_us=hop_us), size, str(path), True, False
        recording = io.read_recording(path, sensor_size=sensor_size)  # read once, its sensor with it
        return [recording.events], recording.sensor_size, str(path), False, False
    if _is_chunk_stream(source):
        if sensor_size is None:
            raise ValueError("predicting on a stream of event chunks needs sensor_size=(width, height)")
        size = SensorSize.of(sensor_size)
        return (as_events(chunk, sensor_size=size) for chunk in source), size, None, True, False
    if isinstance(source, np.ndarray) and source.dtype == EVENT_DTYPE:  # read as it is: checked, not copied
        validate_events(source, sensor_size=sensor_size)
        events = source.view()
        events.flags.writeable = False  # and never written to
    else:
        events = as_events(source, sensor_size=sensor_size)
    if len(events) == 0:
        raise EventFormatError("the event array is empty: nothing to predict")
    return [events], SensorSize.of(sensor_size) if sensor_size is not None else infer_sensor_size(events), None, False, False


def _describe_pixels(pixels: Any, limit: int) -> str:
    """``"(x, y), (x, y), ..."``: the first ``limit`` of ``(K, 2)`` pixels, with ``", ..."`` when there are more."""
    shown = ", ".join(f"({x}, {y})" for x, y in np.asarray(pixels).reshape(-1, 2)[:limit].tolist())
    return shown + (", ..." if len(pixels) > limit else "")


def _hot_pixels(chunks: Iterable[np.ndarray], size: SensorSize, path: str | None, streaming: bool,
                drop_rate_hz: float | None) -> tuple[Iterable[np.ndarray], Callable[[], np.ndarray]]:
    """``(chunks, hot)``: a whole recording's pixels above the rate, dropped with ``drop_rate_hz`` or else named by
    a :class:`HotPixelWarning` (recordings of at least :data:`HOT_PIXEL_MIN_SPAN_US`); a stream's pixels counted as
    its chunks pass, the warning at its end. ``hot()`` gives the ``(K, 2)`` pixels once the chunks are consumed."""
    if streaming:
        if drop_rate_hz is not None:
            raise ValueError("drop_hot_pixels= needs the whole recording (the pixels' mean rates over it): read it "
                             "whole (stream=False), or drop a sensor's known pixels from the chunks with "
                             "neurova.transforms.DropPixel(pixels=...)")
        counts = np.zeros(size.width * size.height, dtype=np.int64)
        span = [0, 0]  # first and last event times, µs
        found: list[np.ndarray] = [np.zeros((0, 2), dtype=np.int64)]

        def counted() -> Iterator[np.ndarray]:
            seen = False
            for chunk in chunks:
                if len(chunk):
                    counts[:] += _pixel_counts(chunk, size)
                    span[:] = [span[0] if seen else int(chunk["t"][0]), int(chunk["t"][-1])]
                    seen = True
                yield chunk
            found[0] = _above_rate(counts, span[1] - span[0] + 1, size.width, HOT_PIXEL_RATE_HZ)
            _warn_hot(found[0], span[1] - span[0], path)

        return counted(), lambda: found[0]
    (events,) = chunks
    hot = _hot_pixels_of_checked(events, size, HOT_PIXEL_RATE_HZ if drop_rate_hz is None else drop_rate_hz)
    if drop_rate_hz is not None:
        return [drop_pixels(events, hot)], lambda: hot
    _warn_hot(hot, int(events["t"][-1]) - int(events["t"][0]) if len(events) else 0, path)
    return chunks, lambda: hot


def _warn_hot(hot: np.ndarray, span_us: int, path: str | None) -> None:
    if len(hot) and span_us >= HOT_PIXEL_MIN_SPAN_US:
        warnings.warn(
            f"{path or 'predict'}: {len(hot)} pixel(s) fire above {HOT_PIXEL_RATE_HZ:g} Hz on average over the "
            f"recording, as faulty sensor pixels do ({_describe_pixels(hot, 5)}); pass drop_hot_pixels="
            f"{HOT_PIXEL_RATE_HZ:g} ('neurova predict --drop-hot-pixels') to drop their events (or, on a stream, "
            "neurova.transforms.DropPixel(pixels=...) on its chunks)",
            HotPixelWarning, stacklevel=4,
        )


def _flicker(chunks: Iterable[np.ndarray], size: SensorSize, path: str | None, streaming: bool,
             deflicker: bool | float, simulated: bool = False
             ) -> tuple[Iterable[np.ndarray], Callable[[], tuple[float | None, float | None]]]:
    """``(chunks, measured)``: the chunks without flicker with ``deflicker``; else, for a whole recording, the same
    chunks (:func:`~neurova.encodings.flicker_share` measures them) and a :class:`FlickerWarning` when more than
    :data:`FLICKER_WARN_FRACTION` of its events are flicker. ``measured()`` gives the share of flicker events and
    the frequency once the chunks are consumed (None, None: a stream, or events ``simulated`` from a video, without
    ``deflicker``)."""
    if deflicker is not False:
        flicker = FlickerFilter(size, None if deflicker is True else float(deflicker))

        def filtered() -> Iterator[np.ndarray]:
            for chunk in chunks:
                yield flicker(chunk)
            yield flicker.finish()

        combed = filtered() if streaming else [concat_events(list(filtered()))]
        return combed, lambda: (flicker.flicker_fraction, flicker.frequency_hz)
    if streaming or simulated:  # events simulated from frames carry no lamp flicker, only the frame clock's rhythm
        return chunks, lambda: (None, None)
    (events,) = chunks
    share, frequency = flicker_share(events, size)
    if share > FLICKER_WARN_FRACTION:
        warnings.warn(
            f"{path or 'predict'}: {share:.0%} of the events are flicker of a light at {frequency:.1f} Hz, which "
            "the training data never has; pass deflicker=True ('neurova predict --deflicker') to comb them out",
            FlickerWarning, stacklevel=3,
        )
    return chunks, lambda: (share, frequency)


def predict(
    model: Any,
    source: Any,
    *,
    sensor_size: SensorSize | tuple[int, ...] | None = None,
    hop_us: int | None = None,
    face_box: Any | None = None,
    detect_face: bool | str | Callable[[np.ndarray, SensorSize], Any] = False,
    detect_every_us: int = faces.DETECT_EVERY_US,
    detect_window_us: int = faces.DETECT_WINDOW_US,
    detect_lag_us: int = 0,
    face_margin: float = 0.0,
    emotions: Table = "ekman7",
    method: Method = "angle",
    neutral_radius: float | None = None,
    stream: bool | None = None,
    batch_size: int = 16,
    device: str = "cpu",
    preset: str = "clean",
    fps: float | None = None,
    threads: int | Literal["auto"] | None = "auto",
    drop_hot_pixels: float | None = None,
    denoise_us: int | None = None,
    deflicker: bool | float = False,
    raise_threshold: int | None = None,
) -> Prediction:
    """Predict valence, arousal and emotion over time from events.

    Args:
        model: a :mod:`neurova.models` model with a stored input contract, or the folder of a
            saved one (:func:`neurova.models.from_pretrained`).
        source: one of

            * an event array (any form :func:`neurova.events.as_events` reads; ``sensor_size``
              inferred from the events when not given; one of :data:`~neurova.events.EVENT_DTYPE` is read as it
              is, checked but neither copied nor written to) or a :class:`neurova.io.Recording`;
            * an event file (``.raw``, ``.aedat4``, ``.aedat``, ``.h5``, ``.dat``, ``.npz``, ``.npy``, ``.txt``,
              ``.csv``), read whole, or in windows of ``hop_us`` with bounded memory (``stream``; by default
              when it is too large to read whole);
            * a video file or a folder of frames, simulated first with :func:`neurova.simulator.simulate`
              (``preset``, ``fps``);
            * an iterator of time-ordered event chunks (a live camera, a file read in pieces):
              streaming, with bounded memory and per-prediction latency; needs ``sensor_size``.
        sensor_size: ``(width, height)`` of the sensor.
        hop_us: time between predictions (default: the contract's ``frame_interval_us``).
        face_box: ``(x0, y0, width, height)`` of the face on the sensor in the definition of the training
            crops (:func:`neurova.datasets.scenes.face_box`; should be square: it is resized to the model's
            square input), rounded to pixels and clipped to the sensor. Default: the largest centred square.
        detect_face: find the face on the events of the last ``detect_window_us`` every ``detect_every_us``
            and track it (:class:`neurova.faces.FaceTrack`, the rule :func:`neurova.faces.track_face_boxes`
            applies to whole recordings, e.g. NEFER's): ``True`` for
            :func:`neurova.faces.get_face_detector` ``("auto")``, a detector name, or any callable
            ``detector(events, sensor_size) -> box | None``. Until the first detection ``face_box`` is used;
            without one, the largest centred square, with a :class:`NoFaceWarning` (once) naming it.
        detect_lag_us: use each detection's box from the first prediction at least this many µs after its window
            (0, the default: from that prediction on; the first box always at once). Streaming then detects in a
            worker thread beside the predictions instead of within the one it falls on, so a live camera's
            predictions do not wait for it (docs/inference.md, "Streaming"); offline runs apply the same rule, so
            both give the same boxes.
        face_margin: enlarge each detection by this fraction of its side on each side (default 0: detectors
            return the box definition the training crops use).
        emotions, method, neutral_radius: emotion mapping (:func:`neurova.zero_shot.classify_emotion`).
        stream: read an event file in windows (True) or whole (False); None (the default): whole, unless that could
            take more than half the available memory (:data:`MEMORY_PER_FILE_BYTE` per byte of the file), then
            in windows, with a :class:`LargeRecordingWarning`. Both give the same predictions; reading whole
            adds ``drop_hot_pixels`` and the flicker warning.
        batch_size: predictions per forward pass offline, whose frames go through the trunk once each (streaming
            runs one at a time).
        device: torch device of the model.
        preset, fps: simulator preset and frame rate for video sources.
        threads: torch's intra-op thread count while predicting, restored afterwards (the setting is
            process-wide): ``"auto"`` (the default) chooses it before each forward pass from what the other
            processes leave free (:class:`neurova.streaming.AutoThreads`): streaming, 2 threads for predictions
            that follow one another, else 1; offline, up to the caller's count (the caller's count where the system
            does not say). An integer fixes it; ``None`` leaves it as the caller set it. Threads the other processes
            want made streamed predictions 50-90x slower on a loaded 2-core machine, offline runs 4-13x
            (docs/benchmarks.md, "Inference latency"). ``settings["threads_used"]`` counts the predictions made at
            each thread count.
        drop_hot_pixels: drop the events of the pixels whose mean rate over the whole recording is above this
            many Hz (:func:`neurova.encodings.hot_pixels`): the faulty, always-firing pixels of real sensors
            (simulated training data has none). Needs the whole recording: not with ``stream=True`` or a chunk
            stream (drop a sensor's known pixels from the chunks with :class:`neurova.transforms.DropPixel`
            instead). Without it, a recording (of at least :data:`HOT_PIXEL_MIN_SPAN_US`) with pixels above
            :data:`HOT_PIXEL_RATE_HZ` on average gives a :class:`HotPixelWarning` naming them (a stream's at its
            end). ``settings["hot_pixels"]`` lists the pixels above the rate (dropped or not).
        denoise_us: drop the events with no event of a neighbouring pixel in the ``denoise_us`` µs before them
            (:func:`neurova.encodings.denoise_chunks`, the background-activity filter; streams too), before the
            face is searched and the inputs are encoded. For a noisy sensor: on synthetic test faces with 20 Hz of
            shot noise per pixel, 5000 raised the shipped ``tiny_cnn_fusion`` model's CCC from 0.30 / 0.43 to
            0.51 / 0.60; on clean events it lowered valence from 0.81 to 0.66, since it also removes some of the
            face's own events (docs/inference.md, "Sensor noise"). Default: no filter.
        deflicker: comb a flickering lamp's events out (:class:`neurova.encodings.FlickerFilter`): ``True``
            estimates its frequency from the recording (a stream's first quarter second is then held back until
            it is complete), a number gives it in Hz (100 or 120 for lamps on 50 or 60 Hz mains); streams too.
            Applied first (a flickering pixel can fire above the hot-pixel rate), then the hot pixels and the
            background-activity filter. Without it, a whole
            recording with more than :data:`FLICKER_WARN_FRACTION` of flicker events gives a
            :class:`FlickerWarning`. ``settings["flicker_fraction"]`` / ``["flicker_hz"]``: the share of events
            found to be flicker and the frequency (None for streams and videos without the filter: events simulated
            from frames carry no lamp flicker, but their frame clock's harmonics can look like it; a recording
            longer than 1 s without the filter is measured on 4 windows of 250 ms, :func:`neurova.encodings.flicker_share`).
        raise_threshold: for a camera more sensitive than the model's training sensor: a whole number ``k``, the
            training sensor's contrast threshold over the camera's (2 for a camera at 0.1 log units: the shipped
            models were trained at 0.2). The events become those of the same camera with ``k`` times its thresholds
            (:func:`neurova.encodings.raise_threshold`; streams too), after the filters above. A camera twice as
            sensitive as the training sensor cut ``tiny_cnn_fusion.synthetic_faces``'s arousal CCC from 0.67 to
            0.38; ``raise_threshold=2`` restored 0.65 (docs/inference.md, "Contrast threshold"). Default: none.

    Returns:
        A :class:`Prediction`.

    Raises:
        InputContractError: the model has no stored input contract, or its ``check_input`` rejects it.
        EventFormatError: no events, a recording shorter than one prediction's history (the message gives the
            minimum length in ms), chunks out of order.
        ValueError: a ``face_box`` wholly outside the sensor, or a ``raise_threshold`` that is not a whole number
            >= 1.
        ValueError: the model predicts NaN.
    """
    from neurova.nets.layout import inference_layout
    from neurova.streaming import intra_op_threads

    model = _load_model(model)
    contract = _contract_of(model)
    check_input = getattr(model, "check_input", None)
    if callable(check_input):
        check_input(contract)
    hop = int(hop_us if hop_us is not None else contract.frame_interval_us)
    if hop <= 0:
        raise ValueError(f"hop_us must be positive, got {hop_us}")
    if detect_window_us <= 0 or detect_every_us < 0 or detect_lag_us < 0:
        raise ValueError(f"detect_window_us must be positive, detect_every_us and detect_lag_us non-negative, got "
                         f"{detect_window_us}, {detect_every_us}, {detect_lag_us}")
    if raise_threshold is not None:
        check_threshold_factor(raise_threshold)
    if stream is None and drop_hot_pixels is not None:
        stream = False  # dropping hot pixels needs the whole recording's rates
    chunks, size, path, streaming, simulated = _open_source(source, sensor_size, stream=stream, hop_us=hop,
                                                            preset=preset, fps=fps)
    chunks, flicker = _flicker(chunks, size, path, streaming, deflicker, simulated)  # first: they look hot
    chunks, hot = _hot_pixels(chunks, size, path, streaming, drop_hot_pixels)
    if denoise_us is not None:
        chunks = denoise_chunks(chunks, size, denoise_us)
    if raise_threshold is not None:
        chunks = map(EventResizer(size, tuple(size), raise_threshold), chunks)
    detector = _face_detector(detect_face)
    predictor = _Predictor(
        model, contract, size, hop_us=hop, face_box=face_box, detector=detector,
        detect_every_us=detect_every_us, detect_window_us=detect_window_us, detect_lag_us=detect_lag_us,
        face_margin=face_margin, batch_size=batch_size, device=device,
        streaming=streaming, source=path,
        choose_threads=_thread_chooser(threads, streaming, tracks_faces=detector is not None),
    )
    was_training = bool(getattr(model, "training", False))
    model.eval()
    model.to(device)
    try:
        layout = inference_layout(model, one_frame=streaming and predictor.steps_one_frame)
        with intra_op_threads(threads), layout:
            for chunk in chunks:
                predictor.push(chunk)
            predictor.finish()
    except EventFormatError as exc:
        if path is not None and exc.path is None:
            raise EventFormatError(str(exc), path) from exc
        raise
    finally:
        predictor.close()
        model.train(was_training)
    va = np.array(predictor.outputs, dtype=np.float32).reshape(-1, 2)
    return Prediction(
        timestamps_us=np.array(predictor.times, dtype=np.int64),
        valence=va[:, 0].copy(),
        arousal=va[:, 1].copy(),
        emotion=np.asarray(classify_emotion(va[:, 0], va[:, 1], emotions, method, neutral_radius=neutral_radius)),
        boxes=np.array(predictor.boxes, dtype=np.int64).reshape(-1, 4),
        sensor_size=size,
        contract=contract,
        latency_ms=np.array(predictor.latency_ms) if streaming else None,
        source=path,
        start_us=predictor.start_us,
        input_stats=predictor.domain.finish(),
        box_start_us=np.array(predictor.box_starts, dtype=np.int64),
        settings={"hop_us": hop, "detect_face": detect_face if isinstance(detect_face, bool | str) else
                  type(detect_face).__name__, "detect_every_us": detect_every_us, "detect_window_us": detect_window_us,
                  "detect_lag_us": detect_lag_us, "face_box": None if face_box is None else list(predictor.fixed_box),
                  "fallback_box": list(predictor.fixed_box), "fallback_predictions": predictor.fallback_predictions,
                  "empty_windows_skipped": predictor.empty_windows,
                  "emotions": emotions if isinstance(emotions, str) else "custom",
                  "method": method, "neutral_radius": neutral_radius, "streaming": streaming,
                  "threads": threads, "threads_used": dict(sorted(predictor.threads_used.items())),
                  "frames_encoded": predictor.frames_encoded,
                  "drop_hot_pixels": drop_hot_pixels, "hot_pixels": hot().tolist(), "denoise_us": denoise_us,
                  "deflicker": deflicker, "raise_threshold": raise_threshold,
                  "flicker_fraction": flicker()[0], "flicker_hz": flicker()[1]},
    )


def predict_file(
    path: PathLike,
    model: Any,
    out_csv: PathLike,
    plot: PathLike | None = None,
    **kwargs: Any,
) -> Prediction:
    """Predict on one event file (or video), write the CSV and optionally the figure.

    The figure (:func:`neurova.plotting.plot_va_over_time`) shows valence and arousal over time
    with eight encoded model inputs (newest frame of evenly spaced predictions) above. Keyword
    arguments go to :func:`predict`.
    """
    model = _load_model(model)
    prediction = predict(model, path, **kwargs)
    prediction.to_csv(out_csv)
    if plot is not None:
        from neurova import plotting

        picks, frames = _frames_for_plot(model, path, prediction, kwargs)
        fig = plotting.plot_va_over_time(prediction.timestamps_us, prediction.va, frames=frames,
                                         frame_timestamps=None if frames is None else prediction.timestamps_us[picks],
                                         start_us=prediction.start_us, title=Path(path).name)
        plotting.save_figure(fig, plot)
    return prediction


def _frames_for_plot(model: Any, path: PathLike, prediction: Prediction, kwargs: Mapping[str, Any],
                     n: int = 8) -> tuple[np.ndarray, np.ndarray | None]:
    """Indices of ``n`` evenly spaced predictions and their newest input frame, re-encoded from the file.

    The frames are ``None`` for videos (their events are not kept). Each box's events are resized once, from its
    start (``Prediction.box_start_us``) to its last pick. A file that :func:`predict` streamed (too large to read
    whole) is read again in chunks, keeping only the resized events of the picked windows.
    """
    from neurova import io
    from neurova.transforms import ToModelInput

    picks = np.unique(np.linspace(0, len(prediction) - 1, min(n, len(prediction))).round().astype(int))
    if Path(path).is_dir() or Path(path).suffix.lower() not in io.supported_suffixes():
        return picks, None
    holds: dict[tuple[tuple[int, ...], int], list[int]] = {}
    for i in picks:
        holds.setdefault((tuple(int(b) for b in prediction.boxes[i]), int(prediction.box_start_us[i])), []).append(i)
    chunks: Iterable[np.ndarray] = (io.iter_events(path) if prediction.settings.get("streaming")
                                    else [io.read_events(path, sensor_size=prediction.sensor_size)])
    sensors = [_PlotSensor(ToModelInput(prediction.contract, box), since, prediction.timestamps_us[members])
               for (box, since), members in holds.items()]
    end = max(sensor.end for sensor in sensors)
    for chunk in chunks:
        for sensor in sensors:
            sensor.push(chunk)
        if len(chunk) and chunk["t"][-1] >= end:
            break
    frames = {}
    for sensor, members in zip(sensors, holds.values()):
        frames.update(zip(members, sensor.newest_frames()))
    return picks, np.stack([frames[i] for i in picks])


class _PlotSensor:
    """The box sensor of one face box from its start to its last pick, fed the recording in time-ordered chunks;
    keeps the resized events of the picks' windows only (bounded memory for any recording length)."""

    def __init__(self, encoder: Any, since_us: int, ends_us: np.ndarray) -> None:
        self.encoder, self.since, self.ends = encoder, int(since_us), np.asarray(ends_us, dtype=np.int64)
        self.end = int(self.ends[-1])
        self.starts = self.ends - encoder.history_us
        self.resize = encoder.resizer()
        self.kept: list[np.ndarray] = []

    def push(self, chunk: np.ndarray) -> None:
        part = slice_time(chunk, self.since, self.end)
        if not len(part):
            return
        sized = self.resize(self.encoder.crop(part))
        t = sized["t"]
        # inside a pick's window [end - history, end): the last window starting at or before t ends after it
        window = np.searchsorted(self.starts, t, side="right") - 1
        inside = (window >= 0) & (t < self.ends[np.maximum(window, 0)])
        self.kept.append(take_events(sized, inside))

    def newest_frames(self) -> list[np.ndarray]:
        """The newest input frame ``(C, S, S)`` of each pick."""
        sized = concat_events(self.kept)
        return [self.encoder.encode_sized(sized, int(t_end))[-1] for t_end in self.ends]
