"""The pieces of streaming inference: events resized once, frames encoded once, trunks run once per frame.

Consecutive predictions of :func:`neurova.predict` one frame interval apart share K-1 of their K frames.
:class:`BoxStream` crops and resizes each event once while the face box holds (one emulated input sensor
over the box runs on, :class:`neurova.encodings.EventResizer`), :class:`IncrementalModelInput` encodes only
the new frames and reuses the others, :class:`FrameStepper` runs a net's trunk on the new frames only
(:meth:`neurova.nets.FrameFusionNet.step`, or the per-frame features of a :class:`neurova.nets.TemporalNet`),
and :func:`intra_op_threads` runs the whole at a small thread count, fixed or chosen as the stream runs from what
the rest of the machine uses (:class:`AutoThreads`), so a busy machine does not oversubscribe its cores. Each piece
gives what the full computation gives (:class:`~neurova.transforms.ToModelInput` with the box's start as
``since_us``, the model on the whole window).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from neurova.contract import InputContract, model_frames
from neurova.events import EVENT_DTYPE, EventBuffer, concat_events, slice_time
from neurova.nets.layout import channels_last as channels_last
from neurova.nets.layout import fold_batch_norm as fold_batch_norm
from neurova.nets.layout import folded_trunk as folded_trunk
from neurova.nets.layout import prefers_channels_last as prefers_channels_last
from neurova.transforms import ToModelInput

__all__ = ["AutoThreads", "BoxStream", "FrameStepper", "IncrementalModelInput", "intra_op_threads", "replay"]
# channels_last, fold_batch_norm, folded_trunk and prefers_channels_last live in neurova.nets.layout; they stay
# importable from here for code written before they moved

Box = tuple[int, int, int, int]


class BoxStream:
    """The events of a face box as the model's input sensor records them, each event cropped and resized once.

    Asked for the window of a prediction ending at ``t_end`` (times non-decreasing from call to call), it crops
    the events that arrived since the previous call to the box and resizes them
    (:meth:`ToModelInput.resizer <neurova.transforms.ToModelInput.resizer>`), keeping those of the last history.
    One emulated sensor over the box runs while the box holds; a new box, or a window that does not overlap the
    previous one (it starts at or after the previous one's end: predictions more than a history apart, or a gap of
    skipped windows), starts a new one at the window's start (:attr:`start_us`;
    :func:`~neurova.transforms.box_sensor_starts` gives the same starts for a whole recording).
    So the window's frames are ``ToModelInput(contract, box)(events, t_end, since_us=start_us)``.

    A sensor can also be started ahead of time (:meth:`starting`) for a box a live predictor will move to, and
    fed (:meth:`advance`) while the old box still holds: :meth:`window` then takes it over where it would start
    the same sensor, and resizes only the events it has not seen.
    """

    def __init__(self) -> None:
        self.box: Box | None = None
        self.start_us: int | None = None
        """µs at which the current box's sensor started (the start of its first window)."""
        self.upto_us: int | None = None
        """µs up to which (exclusive) the events have been resized."""
        self._crop: Callable[[np.ndarray], np.ndarray] | None = None
        self._resize: Callable[[np.ndarray], np.ndarray] | None = None
        self._sized = np.zeros(0, dtype=EVENT_DTYPE)

    @classmethod
    def starting(cls, encoder: ToModelInput, start_us: int) -> BoxStream:
        """A stream whose sensor over ``encoder.box`` starts at ``start_us`` (no event resized yet)."""
        stream = cls()
        stream._start(encoder, int(start_us))
        return stream

    def _start(self, encoder: ToModelInput, start_us: int) -> None:
        self.box, self.start_us, self.upto_us = encoder.box, start_us, start_us
        self._crop, self._resize = encoder.crop, encoder.resizer()
        self._sized = self._sized[:0]

    def advance(self, events: np.ndarray | EventBuffer, t_end: int) -> None:
        """Crop and resize the events of ``[upto_us, t_end)`` (nothing when ``t_end <= upto_us``).

        Args:
            events: time-ordered events (an array or an :class:`~neurova.events.EventBuffer`) holding at least
                those of ``[upto_us, t_end)``; others are ignored.
            t_end: µs.
        """
        if self._crop is None or self._resize is None or self.upto_us is None:
            raise RuntimeError("this BoxStream has no sensor to feed yet: start one with BoxStream.starting or window")
        t_end = int(t_end)
        if self.upto_us >= t_end:
            return
        arrived = events.between(self.upto_us, t_end) if isinstance(events, EventBuffer) else slice_time(
            events, self.upto_us, t_end)
        new = self._resize(self._crop(arrived))
        self._sized = concat_events([self._sized, new]) if len(self._sized) else new
        self.upto_us = t_end

    def window(self, encoder: ToModelInput, events: np.ndarray | EventBuffer, t_end: int,
               started: BoxStream | None = None) -> np.ndarray:
        """The resized events of ``[t_end - encoder.history_us, t_end)`` in ``encoder.box``.

        Args:
            encoder: the :class:`~neurova.transforms.ToModelInput` of the box.
            events: time-ordered events (an array or an :class:`~neurova.events.EventBuffer`) holding at least
                those since the previous call's ``t_end`` (all of the window's when the box is new, or those since
                ``started.upto_us``) up to ``t_end``; others are ignored.
            t_end: end of the window, µs.
            started: a stream started ahead of time (:meth:`starting`); taken over when this window starts a new
                sensor over the same box at the same time, and not fed beyond ``t_end``.
        """
        t_end = int(t_end)
        start = t_end - encoder.history_us
        if encoder.box != self.box or self._resize is None or start >= (self.upto_us or 0):  # box_sensor_starts' rule
            if (started is not None and started.box == encoder.box and started.start_us == start
                    and started.upto_us is not None and started.upto_us <= t_end):
                self.box, self.start_us, self.upto_us = started.box, started.start_us, started.upto_us
                self._crop, self._resize, self._sized = started._crop, started._resize, started._sized
            else:
                self._start(encoder, start)
        self._sized = slice_time(self._sized, start, None)
        self.advance(events, t_end)
        return slice_time(self._sized, start, t_end)


class IncrementalModelInput:
    """:class:`~neurova.transforms.ToModelInput` over consecutive windows of a :class:`BoxStream`, encoding only
    the new frames.

    A call for a window ending at ``t_end`` reuses the previous window's frames when the box and its sensor's
    start are the same and ``t_end`` is ``m`` frame intervals after the previous end, ``0 < m < K``: the K-m
    frames the windows share are kept and the m new ones encoded. Otherwise the whole window is encoded.
    Either way the frames equal ``ToModelInput(contract, box, K)(events, t_end, since_us=start_us)``.

    Each frame gets an id when it is encoded (:attr:`frame_ids`): frames of two windows with equal ids are the same
    frame, which :meth:`FrameStepper.windows` runs through the trunk once.

    Args:
        contract: the model's input contract.
        num_frames: K, frames per window.
    """

    def __init__(self, contract: InputContract, num_frames: int) -> None:
        self.contract = contract
        self.num_frames = int(num_frames)
        self._frames: np.ndarray | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._next_id = 0
        self._t_end: int | None = None
        self._key: tuple[Box, int] | None = None

    @property
    def frame_ids(self) -> np.ndarray:
        """``(K,)`` int64 ids of the last call's frames, oldest first: a new id for every frame encoded (read-only)."""
        return self._ids

    def new_frames(self, t_end: int, box: Box, start_us: int) -> int:
        """How many frames a window ending at ``t_end`` in ``box``, whose sensor started at ``start_us``, has to
        encode (K: all)."""
        if self._frames is None or (box, int(start_us)) != self._key:
            return self.num_frames
        shift = int(t_end) - int(self._t_end or 0)
        interval = self.contract.frame_interval_us
        if shift <= 0 or shift % interval:
            return self.num_frames
        return min(shift // interval, self.num_frames)

    def __call__(self, sized: np.ndarray, t_end: int, box: Box, start_us: int) -> tuple[np.ndarray, int]:
        """``(frames, new)``: float32 ``(K, C, S, S)`` frames ending at ``t_end`` and how many were encoded.

        ``sized`` holds the window's events as :meth:`BoxStream.window` gives them (at least those of the new
        frames' windows; others are ignored).
        """
        box = tuple(int(v) for v in box)  # type: ignore[assignment]
        new = self.new_frames(t_end, box, start_us)
        encoded = ToModelInput(self.contract, box, num_frames=new).encode_sized(sized, t_end)
        fresh = np.arange(self._next_id, self._next_id + new, dtype=np.int64)
        self._next_id += new
        if new < self.num_frames:
            assert self._frames is not None
            frames, ids = np.concatenate([self._frames[new:], encoded]), np.concatenate([self._ids[new:], fresh])
        else:
            frames, ids = encoded, fresh
        ids.flags.writeable = False
        self._frames, self._ids, self._t_end, self._key = frames, ids, int(t_end), (box, int(start_us))
        return frames, new


class FrameStepper:
    """Runs a valence/arousal model on consecutive windows, computing each frame's trunk features once.

    Three ways, each giving ``model(window)``'s output (a video model's last frame):

    * a frame model (``predicts_sequence`` false) whose ``net`` has ``step`` and a ``stream_window`` equal to
      the frames the model reads (:class:`neurova.nets.FrameFusionNet`) is stepped over the new frames;
    * a video model whose ``net`` has ``forward_features`` (per frame) and ``forward_temporal``
      (:class:`neurova.nets.TemporalNet`) keeps the window's per-frame features, computes those of the new
      frames and re-runs only the temporal model on the window;
    * any other model runs on the whole window.

    Args:
        model: a :mod:`neurova.models` model (or any module mapping ``(B, K, C, H, W)`` to ``(B, 2)``).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        sequence, frames_used = model_frames(model)
        net = getattr(model, "net", None)
        window = getattr(net, "stream_window", None)
        self.mode = "whole"
        if not sequence and callable(getattr(net, "step", None)) and window is not None and window == frames_used:
            self.mode = "step"
        elif sequence and callable(getattr(net, "forward_features", None)) and callable(
                getattr(net, "forward_temporal", None)):
            self.mode = "features"
        self._state: Any = None

    @property
    def incremental(self) -> bool:
        """True when the trunk runs on new frames only."""
        return self.mode != "whole"

    def windows(self, frames: torch.Tensor, index: torch.Tensor, *, chunk: int = 64) -> torch.Tensor:
        """``(B, 2)`` outputs of the model on the ``B`` windows ``frames[index]``, each frame's trunk run once.

        Windows that overlap (consecutive predictions offline, a clip slid over frame by frame) share their frames'
        trunk features: the trunk runs on each frame some window reads, ``chunk`` frames at a time, and the fusion
        or temporal model on each window. A model without per-frame features (:attr:`incremental` false) runs on
        whole windows, ``chunk // K`` (at least one) at a time. Stateless: a stream's :meth:`__call__` is not
        disturbed.

        Args:
            frames: ``(N, C, H, W)`` the frames the windows are made of.
            index: ``(B, K)`` int64 indices into ``frames``, each window's frames oldest first.
            chunk: frames per forward pass (bounds memory).
        """
        if self.mode == "whole":
            step = max(1, chunk // index.shape[1])
            out = torch.cat([self.model(frames[index[i : i + step]]) for i in range(0, len(index), step)])
            return out[:, -1] if out.ndim == 3 else out
        net = self.model.net
        if self.mode == "step":
            index = index[:, -net.stream_window :]
        used, where = torch.unique(index, return_inverse=True)  # where: (B, K) rows of ``features``
        features = torch.cat([net.forward_features(frames[used[i : i + chunk]][None])[0]
                              for i in range(0, len(used), chunk)])
        window = features[where]  # (B, K, F)
        return net.fuse(window) if self.mode == "step" else net.forward_temporal(window)[:, -1]

    def __call__(self, window: torch.Tensor, new: int) -> torch.Tensor:
        """``(B, 2)`` output for ``window`` ``(B, K, C, H, W)``, whose last ``new`` frames follow the previous window.

        ``new`` >= K (or a first call) starts afresh; a frame-fusion net then runs its trunk on the empty frame once
        for the frames without events at the window's start (a stream's first windows).
        """
        if self.mode == "whole":
            out = self.model(window)
            return out[:, -1] if out.ndim == 3 else out
        net = self.model.net
        if self.mode == "step":
            k = net.stream_window
            if self._state is None or new >= k:
                # frames with no event at the window's start (a stream's first windows) are the net's empty frame:
                # its features are computed once, not once per frame
                window = window[:, -k:]
                events = window.flatten(2).any(dim=2).any(dim=0).tolist()
                first = events.index(True) if True in events else k - 1
                out, self._state = net.step(window[:, first:], None)
            else:
                out, self._state = net.step(window[:, -new:], self._state)
            return out
        if self._state is None or new >= window.shape[1]:
            features = net.forward_features(window)
        else:
            features = torch.cat([self._state[:, new:], net.forward_features(window[:, -new:])], dim=1)
        self._state = features
        return net.forward_temporal(features)[:, -1]


def replay(events: np.ndarray, chunk_us: int, *, realtime: bool = False) -> Iterator[np.ndarray]:
    """A recording's time-ordered events as a live camera delivers them: consecutive chunks ``[s, s + chunk_us)``
    from the first event's time on (views; empty where no event falls), to feed :func:`neurova.predict` as a stream.

    Args:
        events: time-ordered events (:data:`~neurova.events.EVENT_DTYPE`).
        chunk_us: µs of recording per chunk (``> 0``).
        realtime: hand each chunk over when a camera would deliver it, its end in wall time since the call's first
            chunk was asked for (sleeping until then), so that latencies are those of a live camera; else at once.
    """
    if int(chunk_us) <= 0:
        raise ValueError(f"chunk_us must be positive, got {chunk_us}")
    if not len(events):
        return
    first, began = int(events["t"][0]), time.perf_counter()
    for start in range(first, int(events["t"][-1]) + 1, int(chunk_us)):
        if realtime:
            time.sleep(max(0.0, (start + chunk_us - first) / 1e6 - (time.perf_counter() - began)))
        yield slice_time(events, start, start + chunk_us)


@contextmanager
def intra_op_threads(threads: int | Literal["auto"] | None) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to ``threads`` (``None``: unchanged; ``"auto"``: left
    to an :class:`AutoThreads` in the block), then restore it.

    Raises:
        ValueError: ``threads`` is neither a positive integer, ``"auto"`` nor None.
    """
    if threads is None:
        yield
        return
    if threads != "auto" and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer, 'auto' or None, got {threads!r}")
    before = torch.get_num_threads()
    if threads != "auto":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _CpuSample(NamedTuple):
    wall_s: float  # time.monotonic()
    machine_busy_s: float  # CPU time the CPUs asked for spent busy, summed
    own_s: float  # this process's CPU time, all its threads


def _cpu_sample(cpus: Collection[int] | None = None, stat: str = "/proc/stat") -> _CpuSample | None:
    """The CPU times :class:`AutoThreads` compares, or None where the system does not give them (not Linux).

    ``stat``'s ``cpuN`` lines of the CPUs ``cpus`` (None: its ``cpu`` line, all CPUs): user, nice, system, idle,
    iowait, irq, softirq and steal time, in clock ticks; busy is all but idle and iowait (steal included: a virtual
    machine's host ran something else). Only the CPUs this process may run on count: in a container pinned to some
    of a busy host's CPUs, the others' work does not take this process's.
    """
    names = {b"cpu"} if cpus is None else {b"cpu%d" % cpu for cpu in cpus}
    busy, found = 0, 0
    try:
        with open(stat, "rb") as f:
            for line in f:
                if not line.startswith(b"cpu"):
                    break
                fields = line.split()
                if fields[0] in names:
                    ticks = [int(v) for v in fields[1:9]]
                    if len(ticks) < 8:
                        return None
                    busy += sum(ticks) - ticks[3] - ticks[4]
                    found += 1
        tick_s = 1 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    if found != len(names):
        return None
    return _CpuSample(time.monotonic(), busy * tick_s, time.process_time())


class AutoThreads:
    """torch's intra-op thread count for each forward pass of :func:`neurova.predict` (``threads="auto"``, the
    default): as many threads as the other processes leave CPUs free, up to ``most``, and for streamed predictions
    only where they follow one another; else one.

    * **Free CPUs.** Every ``interval_s`` (the first time after a fifth of it) it measures the CPUs the other
      processes used on average since the last measurement: the busy CPU time of the CPUs this process may run on
      (Linux's ``/proc/stat``) less this process's (all its threads, so its own thread pool counts as its own).
      Those CPUs less that, rounded to the nearest, are free: threads beyond them wait for each other
      behind the other processes (two threads beside two busy processes on 2 cores: ``resnet18_fusion``'s streamed
      predictions 352 ms against 7-12 ms at one).
    * **Back to back** (``spin_s``). The previous pass must have ended less than ``spin_s`` before (``idle_s``):
      torch's pool threads spin for a few ms after their work and then sleep, and on a 2-core virtual machine the
      first 2-thread call after a 35 ms pause took 12 ms where it takes 0.3 ms back to back. A stream paced by a
      live camera (a prediction every 40 ms, idle between them) runs on one thread; one that falls behind, or a
      recording streamed as fast as it is read, on more.

    Until the first measurement, and where the system does not say (not Linux), ``initial`` threads (within the
    pause condition). Call it before each pass: it sets torch's thread count (process-wide) and
    returns it. Figures: docs/benchmarks.md, "Inference latency".

    Args:
        most: the most threads (2, streaming's: a streamed prediction is a batch of one frame; two threads ran
            ``resnet18_fusion``'s back to back 1.4x faster than one on a quiet 2-core machine, more were not
            measured).
        interval_s: seconds between two measurements of the other processes (``/proc/stat`` counts in clock ticks
            of 10 ms).
        spin_s: the longest pause after a pass for the next one to take more than one thread; None: no such
            condition (offline batches, each long beside a wake-up).
        reserve: CPUs this process's own other threads keep busy, counted as taken (a streamed face track's worker
            thread: beside it, two threads made ``resnet18_fusion``'s streamed predictions slower on 2 cores, a
            median of 10.3 against 6.3 ms at one).
        initial: the thread count before the first measurement (offline: the caller's, so that a quiet machine
            sees no change of count at all).
    """

    def __init__(self, most: int = 2, interval_s: float = 0.25, spin_s: float | None = 0.002,
                 reserve: int = 0, initial: int = 1) -> None:
        if (isinstance(most, bool) or not isinstance(most, int) or most < 1 or not interval_s > 0
                or (spin_s is not None and not spin_s >= 0) or not reserve >= 0 or not initial >= 1):
            raise ValueError(f"most must be a positive integer, interval_s positive, spin_s non-negative or None, "
                             f"reserve non-negative and initial positive, got {most!r}, {interval_s!r}, {spin_s!r}, "
                             f"{reserve!r}, {initial!r}")
        self.most, self.interval_s, self.spin_s, self.reserve = most, float(interval_s), spin_s, reserve
        self._wait_s = self.interval_s / 5  # the first measurement comes sooner: 50 ms are 5 clock ticks per CPU
        self._free = initial  # CPUs the other processes left free at the last measurement
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        self._affinity = None if affinity is None else frozenset(affinity)
        self._cpus = len(affinity) if affinity is not None else os.cpu_count() or 1
        self._last = _cpu_sample(self._affinity)

    def __call__(self, idle_s: float | None = None) -> int:
        """Set and return the thread count of the next pass; ``idle_s``: seconds since the previous one ended (None:
        no previous one)."""
        if self._last is not None and time.monotonic() - self._last.wall_s >= self._wait_s:
            now = _cpu_sample(self._affinity)
            if now is not None:
                others = ((now.machine_busy_s - self._last.machine_busy_s) - (now.own_s - self._last.own_s)) / (
                    now.wall_s - self._last.wall_s)
                self._free = math.floor(self._cpus - self.reserve - others + 0.5)
                self._last, self._wait_s = now, self.interval_s
        threads = max(1, min(self.most, self._free))
        if self.spin_s is not None and (idle_s is None or idle_s >= self.spin_s):
            threads = 1
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return threads
