"""v2e's DVS pixel model in torch, batched over clips, on CPU or GPU.

:class:`DVSSimulator` holds the state of ``B`` same-size clips and turns each new
grayscale frame into events (neurova's :data:`~neurova.events.EVENT_DTYPE`).
Per pixel and frame interval it follows v2e's ``EventEmulator``:

1. lin-log intensity ``L = I * ln(20) / 20`` for ``I <= 20``, else ``ln(I)``
   (computed in float64, rounded to 1e-8, stored as float32, exactly as v2e);
2. optional intensity-dependent first-order low-pass (``cutoff_hz``);
3. per-pixel ON/OFF thresholds ``N(thres, sigma_thres)`` clipped at 0.01;
4. memorised level ``M`` (first frame: no events) with leak towards ON events;
5. ``floor(max(D, 0) / on)`` ON or ``floor(max(-D, 0) / off)`` OFF events, ``D = L_filtered - M``;
6. timestamps on v2e's grid (``"v2e"``) or at linearly interpolated crossings (``"linear"``);
7. refractory period; 8. shot noise.

State precision follows v2e's in each regime, because many differences sit exactly
on a threshold boundary and ``floor(D / threshold)`` there depends on the last bit:
without the low-pass (``cutoff_hz = 0``) v2e's state is float32 (the lin-log frame is
float32), and so is neurova's; with the low-pass on, v2e's filter mixes float64 terms
(the intensity-dependent weight) into the state, so the filtered level, the memorised
level ``M`` and ``D`` become float64, and neurova's do too (thresholds stay float32
values; ``M`` moves by the float32 product ``count * threshold`` as in v2e). Interval
lengths are computed like v2e's ``t_frame - t_previous`` in seconds (``t_us * 1e-6``).

Speed: only a few elementwise operations touch every pixel (lin-log and
per-intensity factors are 256-entry tables for uint8 frames; ``D`` and one
compare per polarity find the pixels that fire, since ``floor(D / on) >= 1``
exactly when ``D >= on``). Counts, the update of ``M``, timestamps and the event
array are computed on those pixels only, on numpy views of the CPU state (or
gathered from the device). On CPU each clip is split into bands of rows, one per
thread: phase 1 (:meth:`DVSSimulator._band_state`) runs the model band by band in a
thread pool, phase 2 (:meth:`DVSSimulator._write_band`) writes each band's events at
their places in the clip's time-ordered array; with several threads a step runs so, or
on one thread, whichever ran faster in the last trial (:mod:`~neurova.simulator.tuning`).
v2e's grid times come out in time order without a sort (:func:`_grid_order`), "linear"
times by one stable radix sort of their µs offsets within the interval
(:func:`_linear_order`; with shot noise, the noise's times join that sort), as are, with
a refractory period or a rare oversized v2e grid, the times of either mode.

Randomness: clip ``i`` of a batch draws its thresholds and leak terms from its own CPU
:class:`torch.Generator` and its shot noise (:mod:`~neurova.simulator.noise`) from its own
numpy generator, both seeded with its seed, in the same order as a single-clip run, so a
batch gives the same events as ``B`` single runs, any thread count gives the same events,
and CPU and GPU runs draw identical numbers. Leak and shot noise follow v2e's statistics,
not its random numbers.
"""

from __future__ import annotations

import functools
import importlib
import math
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch

from neurova._numeric import cumsum, stable_argsort
from neurova.errors import VideoFormatError
from neurova.events import EVENT_DTYPE, SensorSize
from neurova.simulator.noise import ShotNoise
from neurova.simulator.presets import DVSParams, resolve_params
from neurova.simulator.tuning import StepTuner

__all__ = ["DVSSimulator", "inverse_lin_log", "lin_log", "resolve_seeds"]

LIN_LOG_THRESHOLD = 20.0
"""Intensity (0..255 scale) below which v2e's lin-log mapping is linear."""
_LIN_LOG_SLOPE = math.log(LIN_LOG_THRESHOLD) / LIN_LOG_THRESHOLD
LEAK_JITTER_BLOCK = 16
"""Frames per draw of the leak jitter: the sum of a block's jitter terms is drawn once, at its last frame."""
# the x, y fields of an event (int16 at offsets 0 and 2) as one int32 field: writing both at once is faster
_XY_VIEW = np.dtype({"names": ["xy"], "formats": [np.int32], "offsets": [0], "itemsize": EVENT_DTYPE.itemsize})
assert EVENT_DTYPE.fields is not None and (EVENT_DTYPE.fields["x"][1], EVENT_DTYPE.fields["y"][1]) == (0, 2)
_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))  # an event as plain bytes
_TIME_KEY = 1 << 40  # µs; frame timestamps must stay below (12.7 days)

Seed = int | Sequence[int] | None


def lin_log(intensity: torch.Tensor) -> torch.Tensor:
    """v2e's lin-log mapping of intensities on a 0..255 scale, as float32.

    ``I * ln(20) / 20`` for ``I <= 20`` (linear near black, so dark noise does not
    explode), else ``ln(I)``; computed in float64 and rounded to 1e-8 like v2e.
    """
    x = intensity.to(torch.float64)
    y = torch.where(x <= LIN_LOG_THRESHOLD, x * _LIN_LOG_SLOPE, torch.log(x.clamp_min(1e-12)))
    return (torch.round(y * 1e8) / 1e8).to(torch.float32)


def inverse_lin_log(level: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`lin_log`: lin-log levels back to intensities (0..255 scale), float32."""
    x = level.to(torch.float64)
    y = torch.where(x <= math.log(LIN_LOG_THRESHOLD), x / _LIN_LOG_SLOPE, torch.exp(x))
    return y.to(torch.float32)


_LIN_LOG_LUT = lin_log(torch.arange(256))  # exact v2e values of every uint8 intensity
_INTEN01_F64 = (torch.arange(256, dtype=torch.float64) + 20) / 275  # v2e's (I + 20) / 275 of every uint8 intensity
# the lin-log values of every pair of adjacent uint8 pixels, as one 8-byte item per uint16 (in memory byte order):
# looking frames up two pixels at a time halves the gathers
_LIN_LOG_PAIRS = _LIN_LOG_LUT.numpy()[np.arange(1 << 16, dtype=np.uint16).view(np.uint8)].view(np.float64)


def _lin_log_uint8(frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`lin_log` of a C-contiguous uint8 array by table lookup, float32 of the same shape (into ``out``)."""
    if out is None:
        out = np.empty(frames.shape, dtype=np.float32)
    # mode="wrap" (the indices are in range): numpy's checked "raise" mode is 1.5x slower for small index types
    if frames.size % 2:
        return _LIN_LOG_LUT.numpy().take(frames, out=out, mode="wrap")
    _LIN_LOG_PAIRS.take(frames.reshape(-1).view(np.uint16), out=out.reshape(-1).view(np.float64), mode="wrap")
    return out


def resolve_seeds(seed: Seed, batch_size: int) -> list[int]:
    """One seed per clip: ``seed + i`` for an int, the given list, or (``None``) drawn from torch's generator."""
    if seed is None:
        base = int(torch.randint(0, 2**62, (1,)).item())  # follows torch.manual_seed when the user set one
        return [base + i for i in range(batch_size)]
    if isinstance(seed, int | np.integer):
        return [int(seed) + i for i in range(batch_size)]
    seeds = [int(s) for s in seed]
    if len(seeds) != batch_size:
        raise ValueError(f"got {len(seeds)} seeds for a batch of {batch_size} clips")
    return seeds


_LOW_PASS_MEMO = 4  # interval lengths whose low-pass tables are kept
_LEAK_MEMO = 2  # interval lengths whose mean leak (one state-sized array per band) is kept
_MIN_BAND_PIXELS = 1 << 13  # a clip is split into bands of rows (one per thread) only above twice this size


class _Shots(NamedTuple):
    """One clip's shot-noise events of an interval, by pixel.

    ``pix``: pixel indices within the clip's frame, ascending; ``on``: polarity; ``offset``: µs after the interval
    start (``"linear"`` mode: a uniform tick of the interval, ``1 .. dt``), or None: all at the interval end (v2e's).
    """

    pix: np.ndarray
    on: np.ndarray
    offset: np.ndarray | None = None

    def by_time(self) -> _Shots:
        """The same events in time order (ties: by pixel)."""
        if self.offset is None:
            return self
        order = stable_argsort(self.offset)
        return _Shots(self.pix.take(order), self.on.take(order), self.offset.take(order))


_NO_SHOT = _Shots(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


@functools.cache
def _executor(threads: int) -> ThreadPoolExecutor:
    """The thread pool shared by every simulator running on ``threads`` threads."""
    return ThreadPoolExecutor(threads, thread_name_prefix="neurova-dvs")


@dataclass(frozen=True)
class _Band:
    """Rows of one clip: flat pixel indices ``[start, stop)`` over ``B*H*W``; ``alone``: the clip's only band."""

    clip: int
    start: int
    stop: int
    alone: bool


@dataclass(eq=False)
class _Frame:
    """Flat (``B*H*W``) numpy views of one step's input and state buffers, shared by the bands."""

    intensity: np.ndarray
    level: np.ndarray | None  # lin-log of float frames (uint8 frames: looked up per band)
    lp_prev: np.ndarray
    lp: np.ndarray
    base_prev: np.ndarray
    base: np.ndarray
    dt_us: np.ndarray
    low_pass: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (B, 256) pairs (uint8) or (B,) gains
    leak_dt: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # (B,) float32 s
    jitter: tuple[np.ndarray, np.ndarray] | None = None  # leak jitter normals (B*H*W,) and (B,) scales


@dataclass(eq=False)
class _BandState:
    """One band's active pixels (``local``: indices from the band's start, ascending) and their events."""

    band: _Band
    local: np.ndarray
    on: np.ndarray
    thres: np.ndarray
    diff: np.ndarray
    d_start: np.ndarray | None
    counts: np.ndarray
    slot: np.ndarray | None = None  # the events in time order: index into ``local`` ...
    offset: np.ndarray | None = None  # ... and µs after the interval start
    in_order: bool = True
    n_events: int = 0
    grid: np.ndarray | None = None  # v2e's grid over several bands: times of the levels ...
    levels: np.ndarray | None = None  # ... and (start in the clip's array, size) of each level's events
    others: list[_BandState] | None = None  # "linear" over several bands: the clip's bands
    merged: _BandState | None = None  # the whole clip ordered at once (first band only)
    shot: _Shots = _NO_SHOT  # "linear" shot noise sorted with the events of a clip's only band


class DVSSimulator:
    """v2e's DVS pixel model for a batch of ``B`` same-size grayscale videos.

    Parameters resolve as v2e ``EventEmulator`` defaults ← ``preset`` ← explicit
    keyword arguments (``None`` = not given); see :mod:`neurova.simulator.presets`.
    The defaults are v2e's: ``pos_thres = neg_thres = 0.2``, ``sigma_thres = 0.03``,
    ``leak_rate_hz = 0.1``, ``leak_jitter_fraction = 0.1``,
    ``noise_rate_cov_decades = 0.1``, everything else 0, ``timestamp_mode="linear"``.

    Args:
        height, width: frame size in pixels.
        batch_size: number of clips ``B`` simulated side by side.
        preset: ``"clean"``, ``"noisy"`` or ``None``.
        pos_thres, neg_thres: nominal ON / OFF thresholds (natural-log intensity units).
        sigma_thres: standard deviation of the per-pixel threshold mismatch.
        cutoff_hz: photoreceptor low-pass cutoff in Hz (0 = off).
        leak_rate_hz: leak-event rate per pixel in Hz (0 = off).
        leak_jitter_fraction: relative per-frame jitter of the leak.
        noise_rate_cov_decades: spread in decades of the fixed per-pixel leak-rate factor.
        shot_noise_rate_hz: shot-noise rate (ON + OFF) per pixel in Hz at black (0 = off).
        refractory_period_s: dead time of a pixel after an event in seconds (0 = off).
        timestamp_mode: ``"linear"`` (crossing times of linearly interpolated brightness) or
            ``"v2e"`` (v2e's grid; reproduces v2e's events).
        seed: an int (clip ``i`` uses ``seed + i``), one seed per clip, or ``None`` (drawn from
            torch's global generator, so ``torch.manual_seed`` makes it reproducible).
        device: torch device of the pixel state (``"cpu"``, ``"cuda"``, ...).
        threads: the most CPU threads (``None``: 1); each clip is split into bands of rows, one per thread.
            The events do not depend on it. With more than one, every 256 steps open with a trial: 4 steps in
            a row on the threads, then 4 on one thread, the last 3 of each timed
            (:class:`~neurova.simulator.tuning.StepTuner`), and the rest run the faster way: on a 2-core
            virtual machine two threads ran a block texture at 640x480 1.7-2.4x as fast as one, a face at
            346x260 0.4-0.9x as fast (docs/benchmarks.md, "Simulator threads"). One is the default: on small
            sensors the trials alone cost more than threads give.

    Example:
        >>> sim = DVSSimulator(260, 346, preset="clean", seed=0)
        >>> for frame, t in zip(frames, timestamps_us):     # frames: (T, 260, 346) uint8
        ...     events = sim.step(frame[None], int(t))[0]
    """

    def __init__(
        self,
        height: int,
        width: int,
        *,
        batch_size: int = 1,
        preset: str | None = None,
        pos_thres: float | None = None,
        neg_thres: float | None = None,
        sigma_thres: float | None = None,
        cutoff_hz: float | None = None,
        leak_rate_hz: float | None = None,
        leak_jitter_fraction: float | None = None,
        noise_rate_cov_decades: float | None = None,
        shot_noise_rate_hz: float | None = None,
        refractory_period_s: float | None = None,
        timestamp_mode: str | None = None,
        seed: Seed = None,
        device: str | torch.device = "cpu",
        threads: int | None = None,
    ) -> None:
        if height <= 0 or width <= 0 or batch_size <= 0:
            raise ValueError(f"height, width and batch_size must be positive, got {height}, {width}, {batch_size}")
        if width > np.iinfo(np.int16).max + 1 or height > np.iinfo(np.int16).max + 1:
            raise ValueError(f"frames of {width}x{height} exceed the int16 event coordinates")
        self.params: DVSParams = resolve_params(
            preset,
            pos_thres=pos_thres,
            neg_thres=neg_thres,
            sigma_thres=sigma_thres,
            cutoff_hz=cutoff_hz,
            leak_rate_hz=leak_rate_hz,
            leak_jitter_fraction=leak_jitter_fraction,
            noise_rate_cov_decades=noise_rate_cov_decades,
            shot_noise_rate_hz=shot_noise_rate_hz,
            refractory_period_s=refractory_period_s,
            timestamp_mode=timestamp_mode,
        )
        self.height, self.width, self.batch_size = int(height), int(width), int(batch_size)
        self.device = torch.device(device)
        self.seeds = resolve_seeds(seed, self.batch_size)
        self.threads = 1 if threads is None else int(threads)
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self._lut = _LIN_LOG_LUT.to(self.device)
        self._dtype = torch.float64 if self.params.cutoff_hz > 0 else torch.float32  # v2e's state precision
        xy = np.zeros(self.height * self.width, dtype=EVENT_DTYPE)[["x", "y"]]  # (x, y) of every pixel
        xy["y"], xy["x"] = (a.reshape(-1) for a in np.indices((self.height, self.width)))
        self._pixel_xy = xy.view(_XY_VIEW)["xy"].copy()  # int32 with the bytes of an (x, y) pair
        self._layouts = {n: self._make_bands(n) for n in {self.threads, 1}}  # the bands of each thread count
        self._threads_now = self.threads  # the thread count of the step running
        # several threads: each step on them or on one, whichever the recent steps ran faster on (same events)
        threaded = self.threads > 1 and (len(self._bands[0]) > 1 or self.batch_size > 1)
        self._tuner: StepTuner[int] | None = StepTuner((self.threads, 1)) if threaded else None
        self.reset()

    @property
    def _bands(self) -> list[list[_Band]]:
        """The bands of rows of each clip for the step running (on ``self._threads_now`` threads)."""
        return self._layouts[self._threads_now]

    @property
    def sensor_size(self) -> SensorSize:
        """``(width, height)`` of the simulated sensor."""
        return SensorSize(self.width, self.height)

    @property
    def thresholds(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Per-pixel ``(on, off)`` thresholds ``(B, H, W)`` float32, drawn at the first frame (``None`` before)."""
        if self._pos_thres is None or self._neg_thres is None:
            return None
        return self._pos_thres, self._neg_thres

    def reset(self) -> None:
        """Forget all pixel state and reseed: the next :meth:`step` starts the clips again from scratch."""
        self._generators = [torch.Generator().manual_seed(s) for s in self.seeds]
        self._t_prev: np.ndarray | None = None  # (B,) int64 µs
        self._lp: torch.Tensor | None = None  # filtered lin-log level (B, H, W), state dtype
        self._lp_spare: torch.Tensor | None = None  # the low-pass writes here, then the two swap
        self._base: torch.Tensor | None = None  # memorised level M (B, H, W), state dtype
        self._pos_thres: torch.Tensor | None = None  # float32
        self._neg_thres: torch.Tensor | None = None
        # the thresholds D is compared with and divided by, in the state dtype (float64: v2e's promotion of a
        # float32 threshold, or the float64 nominal threshold when sigma_thres = 0); OFF negated
        self._pos_cmp: torch.Tensor | None = None
        self._neg_cmp_neg: torch.Tensor | None = None
        self._shot: list[ShotNoise] = []  # one shot-noise sampler per clip
        self._leak_amp: torch.Tensor | None = None  # leak_rate_hz * per-pixel log-normal factor * pos_thres, float32
        self._leak_amount: torch.Tensor | None = None  # buffer of this interval's leak
        self._base_spare: torch.Tensor | None = None  # the leak writes M here, then the two swap
        self._jitter_s2 = np.zeros(self.batch_size)  # sum of dt**2 (s**2) of the frames since the last jitter draw
        self._jitter_frames = 0
        self._diff: torch.Tensor | None = None  # buffers of D and of the active-pixel masks
        self._active: torch.Tensor | None = None
        self._off: torch.Tensor | None = None
        self._last_spike: np.ndarray | None = None  # (B*H*W,) int64 µs, refractory only
        # CPU bands: the uint8 low-pass tables of the last few interval lengths (frame times rounded to µs
        # alternate between two lengths at 30 fps), by the bytes of the (B,) gains
        self._low_pass_memo: dict[bytes, np.ndarray] = {}
        self._views: dict[int, np.ndarray] = {}  # flat numpy views of the CPU state tensors (:meth:`_flat`), by id
        # likewise each band's mean leak ``amp * dt``: the float32 products as float64 (exact), by band and dt
        self._leak_memo: dict[tuple[int, int, float], np.ndarray] = {}

    # -- random draws: one CPU generator per clip, moved to the device ------------------------
    def _draw(self, kind: Callable[..., torch.Tensor], *args: float) -> torch.Tensor:
        shape = (self.height, self.width)
        draws = [kind(*args, size=shape, generator=g, dtype=torch.float32) for g in self._generators]
        return (draws[0][None] if len(draws) == 1 else torch.stack(draws)).to(self.device)

    def _randn(self) -> torch.Tensor:
        return self._draw(lambda size, generator, dtype: torch.randn(size, generator=generator, dtype=dtype))

    # -- input handling ----------------------------------------------------------------------------
    def _as_frames(self, frames: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(intensity, lin-log float32), both (B, H, W) contiguous on the device; uint8 intensity stays uint8."""
        if frames.ndim == 2 and self.batch_size == 1:
            frames = frames[None]
        expected = (self.batch_size, self.height, self.width)
        if tuple(frames.shape) != expected:
            raise VideoFormatError(f"frames must have shape (B, H, W) = {expected}, got {tuple(frames.shape)}")
        if isinstance(frames, np.ndarray) and frames.dtype == np.uint8:  # numpy's table lookup is the fastest
            frames = np.ascontiguousarray(frames)
            level = torch.from_numpy(_lin_log_uint8(frames))
            return torch.from_numpy(frames).to(self.device), level.to(self.device)
        tensor = torch.as_tensor(frames).to(self.device).contiguous()
        if tensor.dtype == torch.uint8:
            return tensor, self._lut[tensor.long()]
        if not tensor.is_floating_point():
            raise VideoFormatError(f"frames must be uint8 or float intensities 0..255, got dtype {tensor.dtype}")
        return tensor, lin_log(tensor)

    def _as_times(self, t_us: int | Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
        if isinstance(t_us, int) and self.batch_size == 1 and 0 <= t_us < _TIME_KEY:  # the common case, quickly
            return np.array([t_us], dtype=np.int64)
        if isinstance(t_us, torch.Tensor):
            t_us = t_us.cpu().numpy()
        t = np.asarray(t_us, dtype=np.int64).reshape(-1)
        if t.size == 1 and self.batch_size > 1:
            t = np.repeat(t, self.batch_size)
        if t.size != self.batch_size:
            raise VideoFormatError(f"expected one timestamp or {self.batch_size}, got {t.size}")
        if t.min() < 0 or t.max() >= _TIME_KEY:
            raise VideoFormatError(f"frame timestamps must lie in [0, 2**40) µs, got {t.tolist()}")
        return t

    # -- the pixel model ---------------------------------------------------------------------------
    def _init_state(self, intensity: torch.Tensor, level: torch.Tensor, t: np.ndarray) -> None:
        p = self.params
        # v2e's previous-frame time starts at 0 and is not set by the first frame
        self._t_prev = np.zeros_like(t) if p.timestamp_mode == "v2e" else t.copy()
        self._lp = level.to(self._dtype)  # a new tensor (the frame's level may be a view of the caller's data)
        self._lp_spare = torch.empty_like(self._lp)
        if p.cutoff_hz > 0:  # v2e filters the first frame too, over the interval from t_prev (float64 from here on)
            self._low_pass(intensity, level, self._dt_seconds(t))
        self._base = self._lp.clone()
        shape = level.shape
        if p.sigma_thres > 0:
            draw = lambda mean: self._draw(  # noqa: E731
                lambda size, generator, dtype: torch.normal(mean, p.sigma_thres, size, generator=generator, dtype=dtype)
            )
            self._pos_thres = draw(p.pos_thres).clamp_min(0.01)
            self._neg_thres = draw(p.neg_thres).clamp_min(0.01)
        else:
            self._pos_thres = torch.full(shape, p.pos_thres, dtype=torch.float32, device=self.device)
            self._neg_thres = torch.full(shape, p.neg_thres, dtype=torch.float32, device=self.device)
        if self._dtype == torch.float32:
            self._pos_cmp, self._neg_cmp_neg = self._pos_thres, -self._neg_thres
        elif p.sigma_thres > 0:
            self._pos_cmp, self._neg_cmp_neg = self._pos_thres.double(), -self._neg_thres.double()
        else:  # v2e divides by the Python float: the float64 nominal threshold
            self._pos_cmp = torch.full(shape, p.pos_thres, dtype=torch.float64, device=self.device)
            self._neg_cmp_neg = torch.full(shape, -p.neg_thres, dtype=torch.float64, device=self.device)
        if p.leak_rate_hz > 0:
            rate = p.leak_rate_hz * torch.exp(math.log(10) * p.noise_rate_cov_decades * self._randn())
            self._leak_amp = rate.mul_(self._pos_thres)  # float32, as v2e's ``delta_time * rate * pos_thres``
            self._leak_amount = torch.empty_like(self._leak_amp)
            self._base_spare = torch.empty_like(self._lp)
        if p.shot_noise_rate_hz > 0:  # v2e's pos_pre_prob, neg_pre_prob: nominal / actual threshold (float32)
            pre = [(p.pos_thres / t).cpu().numpy().astype(np.float64) for t in (self._pos_thres, self._neg_thres)]
            self._shot = [
                ShotNoise(pos.reshape(-1), neg.reshape(-1), p.shot_noise_rate_hz, np.random.default_rng([seed, 1]))
                for pos, neg, seed in zip(*pre, (s & (1 << 64) - 1 for s in self.seeds))
            ]
        self._diff = torch.empty_like(self._lp)
        self._active = torch.empty(shape, dtype=torch.bool, device=self.device)
        self._off = torch.empty_like(self._active)
        if p.refractory_period_s > 0:
            self._last_spike = np.full(level.numel(), -(1 << 62), dtype=np.int64)

    def _dt_seconds(self, t: np.ndarray) -> np.ndarray:
        """``(B,)`` float64 interval lengths in seconds as v2e computes them: ``t_frame - t_previous`` of times in s."""
        assert self._t_prev is not None
        return t * 1e-6 - self._t_prev * 1e-6

    def _low_pass(self, intensity: torch.Tensor, level: torch.Tensor, dt_s: np.ndarray) -> None:
        """v2e's low-pass step in float64: ``lp = (1 - eps) * lp + eps * L``, ``eps = min(1, inten01 * dt / tau)``.

        ``inten01 = (I + 20) / 275`` in float64 as v2e's; for uint8 frames ``1 - eps`` and ``eps * L`` are
        per-intensity tables (the same elementwise operations, so the same values), looked up as one
        16-byte pair per pixel on CPU. Writes into the spare buffer and swaps, so the previous level stays
        readable (``"linear"`` mode) until the next step.
        """
        assert self._lp is not None and self._lp_spare is not None
        tau = 1 / (math.pi * 2 * self.params.cutoff_hz)
        gain = torch.from_numpy(dt_s / tau).view(-1, 1)  # v2e: inten01 * (delta_time / tau)
        out, self._lp_spare = self._lp_spare, self._lp
        if intensity.dtype == torch.uint8 and intensity.device.type == "cpu":
            eps = (_INTEN01_F64.view(1, 256) * gain).clamp_max_(1.0)  # (B, 256)
            pairs = torch.stack([torch.rsub(eps, 1.0), eps.mul_(_LIN_LOG_LUT.double())], dim=-1)  # (B, 256, 2)
            tables = pairs.numpy().view(np.complex128)[..., 0]
            index, terms = intensity.numpy(), np.empty(intensity.shape, dtype=np.complex128)
            for b in range(self.batch_size):
                tables[b].take(index[b], out=terms[b], mode="wrap")
            keep_add = terms.view(np.float64).reshape(*intensity.shape, 2)
            lp = np.multiply(keep_add[..., 0], self._lp.numpy(), out=out.numpy())
            np.add(lp, keep_add[..., 1], out=lp)
        else:
            eps = ((intensity.to(torch.float64) + 20) / 275 * gain.to(self.device).view(-1, 1, 1)).clamp_max_(1.0)
            torch.add(torch.rsub(eps, 1.0).mul_(self._lp), eps.mul_(level), out=out)
        self._lp = out

    def _leak(self, dt_s: np.ndarray) -> None:
        """v2e's leak: ``M -= dt * rate * (1 - leak_jitter_fraction * n) * pos_thres``, written to the spare buffer.

        The mean part ``dt * a`` (``a = rate * pos_thres``, float32 like v2e's) leaks every frame. The jitter
        terms ``dt_i * a * fraction * n_i`` of a block of :data:`LEAK_JITTER_BLOCK` frames sum to
        ``a * fraction * sqrt(sum dt_i**2) * n`` with one normal ``n``: drawn once, at the block's last frame,
        so ``M`` has v2e's distribution at every block end (in between it lacks the partial jitter, a few
        1e-5 log units at v2e's defaults) for one normal draw per pixel every 16 frames instead of every frame.
        The previous ``M`` stays readable (``"linear"`` mode) until the next step.
        """
        assert self._base is not None and self._base_spare is not None
        assert self._leak_amp is not None and self._leak_amount is not None
        dt = torch.from_numpy(dt_s.astype(np.float32)).to(self.device).view(-1, 1, 1)
        amount = torch.mul(self._leak_amp, dt, out=self._leak_amount)
        jitter = self._leak_jitter(dt_s)
        if jitter is not None:
            amount.addcmul_(self._leak_amp, jitter[0].to(self.device).mul_(jitter[1].to(self.device).view(-1, 1, 1)))
        out, self._base_spare = self._base_spare, self._base
        self._base = torch.sub(self._base_spare, amount, out=out)

    def _leak_jitter(self, dt_s: np.ndarray) -> tuple[torch.Tensor, torch.Tensor] | None:
        """At a jitter block's last frame, ``(B, H, W)`` CPU normals and ``(B,)`` float32 scales
        ``-leak_jitter_fraction * sqrt(sum dt**2)``: the leak amount grows by ``a * normal * scale``. Else ``None``."""
        self._jitter_s2 += dt_s * dt_s
        self._jitter_frames += 1
        if self._jitter_frames < LEAK_JITTER_BLOCK:
            return None
        scale = torch.from_numpy(np.sqrt(self._jitter_s2) * -self.params.leak_jitter_fraction).float()
        self._jitter_s2[:] = 0
        self._jitter_frames = 0
        shape = (self.height, self.width)
        normals = [torch.randn(shape, generator=g, dtype=torch.float32) for g in self._generators]
        return torch.stack(normals), scale

    def step(self, frames: Any, t_us: int | Sequence[int] | np.ndarray | torch.Tensor) -> list[np.ndarray]:
        """Feed the next frame of every clip; return the events of the interval ending at ``t_us``.

        Args:
            frames: ``(B, H, W)`` numpy array or tensor, uint8 or float intensities on a 0..255
                scale (``(H, W)`` is accepted when ``B == 1``); colour must be converted first
                (:func:`neurova.image.to_gray`).
            t_us: the frames' time in µs, one int for all clips or one per clip; strictly
                increasing from call to call.

        Returns:
            ``B`` event arrays of :data:`~neurova.events.EVENT_DTYPE`, each sorted by ``t``, with
            timestamps in ``(t_previous, t_us]``. The first frame initialises the pixels and
            returns no events.
        """
        t = self._as_times(t_us)
        if self._base is None:
            self._init_state(*self._as_frames(frames), t)
            return [np.zeros(0, dtype=EVENT_DTYPE) for _ in range(self.batch_size)]
        assert self._t_prev is not None
        dt_us = t - self._t_prev
        if dt_us.min() <= 0:
            raise VideoFormatError(
                f"frame timestamps must increase: got {t.tolist()} µs after {self._t_prev.tolist()} µs"
            )
        if self.device.type == "cpu" and self._tuner is not None:
            self._threads_now = self._tuner.choose()
            start = time.perf_counter()
            events = self._step_bands(self._as_numpy_frames(frames), t)
            self._tuner.record(time.perf_counter() - start)
        elif self.device.type == "cpu":
            events = self._step_bands(self._as_numpy_frames(frames), t)
        else:
            events = self._step_device(*self._as_frames(frames), t)
        self._t_prev = t
        return events

    # -- CPU: bands of rows, in threads ------------------------------------------------------------------
    def _as_numpy_frames(self, frames: Any) -> np.ndarray:
        """``(B, H, W)`` C-contiguous numpy intensities: uint8 as given, other types as float32 or float64."""
        if frames.ndim == 2 and self.batch_size == 1:
            frames = frames[None]
        expected = (self.batch_size, self.height, self.width)
        if tuple(frames.shape) != expected:
            raise VideoFormatError(f"frames must have shape (B, H, W) = {expected}, got {tuple(frames.shape)}")
        array = frames.cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
        if array.dtype != np.uint8 and array.dtype.kind != "f":
            raise VideoFormatError(f"frames must be uint8 or float intensities 0..255, got dtype {array.dtype}")
        return np.ascontiguousarray(array)

    def _make_bands(self, threads: int) -> list[list[_Band]]:
        """The bands of rows of each clip on ``threads`` threads: one per thread (one per clip with a refractory
        period, whose filter runs over a whole clip), at most one per row."""
        hw = self.height * self.width
        n = 1 if self.params.refractory_period_s > 0 or hw < 2 * _MIN_BAND_PIXELS else threads
        n = min(n, self.height)
        rows = [round(i * self.height / n) for i in range(n + 1)]
        return [
            [_Band(b, b * hw + rows[i] * self.width, b * hw + rows[i + 1] * self.width, n == 1) for i in range(n)]
            for b in range(self.batch_size)
        ]

    def _run(self, work: Callable[[_Item], _Result], items: list[_Item]) -> Callable[[], list[_Result]]:
        """Start ``work`` on every item, spread over the threads; returns the function that waits for the results
        (in item order). With one thread the work is done at once, in this thread."""
        if self._threads_now == 1 or len(items) == 1:
            results = [work(item) for item in items]
            return lambda: results
        n = min(self._threads_now, len(items))
        futures = [_executor(self.threads).submit(lambda part: [work(item) for item in part], items[i::n]) for i in range(n)]

        def wait() -> list[_Result]:
            out: list[Any] = [None] * len(items)
            for i, future in enumerate(futures):
                out[i::n] = future.result()
            return out

        return wait

    def _step_bands(self, frames: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
        """One step on CPU: the pixel model of each band of rows, then each clip's events merged in time order.

        Phase 1 (per band, in threads): lin-log, low-pass, leak, ``D``, the active pixels, their counts and the
        update of ``M``, and the time order of the band's events where it needs no other band (``"linear"``
        mode, single bands). The shot noise is drawn meanwhile in this thread, clip by clip. Phase 2 (per
        band, in threads): v2e's grid of each clip (``k`` over all its bands) and the writing of each band's
        events at their places in the clip's array. Every number is computed elementwise or per clip, so the
        events do not depend on the number of threads.
        """
        assert self._t_prev is not None and self._lp is not None and self._lp_spare is not None
        assert self._base is not None
        p = self.params
        dt_us, dt_s = t - self._t_prev, self._dt_seconds(t)
        flat = frames.reshape(-1)
        frame = _Frame(
            intensity=flat,
            level=None if flat.dtype == np.uint8 else lin_log(torch.from_numpy(flat)).numpy(),
            lp_prev=self._flat(self._lp),
            lp=self._flat(self._lp_spare),
            base_prev=self._flat(self._base),
            base=self._flat(self._base if self._base_spare is None else self._base_spare),
            dt_us=dt_us,
        )
        if p.cutoff_hz > 0:
            gain = dt_s * (2 * math.pi * p.cutoff_hz)  # v2e: inten01 * (delta_time / tau)
            frame.low_pass = self._low_pass_tables(gain) if flat.dtype == np.uint8 else gain
        if p.leak_rate_hz > 0:
            frame.leak_dt = dt_s.astype(np.float32)
            jitter = self._leak_jitter(dt_s)
            if jitter is not None:
                frame.jitter = (jitter[0].numpy().reshape(-1), jitter[1].numpy())
        # on one thread clip by clip (each clip's state stays in cache through both phases), else all at once
        clips = list(range(self.batch_size))
        groups = [[b] for b in clips] if self._threads_now == 1 else [clips]
        events = [np.zeros(0, dtype=EVENT_DTYPE)] * self.batch_size
        for group in groups:
            self._step_clips(group, frame, frames.reshape(self.batch_size, -1), dt_s, t, events)
        self._lp, self._lp_spare = self._lp_spare, self._lp
        if self._base_spare is not None:
            self._base, self._base_spare = self._base_spare, self._base
        return events

    def _step_clips(
        self, group: list[int], frame: _Frame, frames: np.ndarray, dt_s: np.ndarray, t: np.ndarray, out: list[np.ndarray]
    ) -> None:
        """Both phases of :meth:`_step_bands` for the clips ``group``; their event arrays go to ``out``."""
        p = self.params
        wait = self._run(partial(self._band_state, frame), [band for b in group for band in self._bands[b]])
        shots = {b: _NO_SHOT for b in group}
        if p.shot_noise_rate_hz > 0:  # drawn while the bands run
            shots = {b: self._timed(b, self._shot[b].sample(float(dt_s[b]), frames[b].take), int(frame.dt_us[b]))
                     for b in group}
        states = wait()
        if p.shot_noise_rate_hz > 0:  # v2e resets M of the noisy pixels after the signal events' update
            hw = self.height * self.width
            parts = [(shot.pix + b * hw if b else shot.pix) for b, shot in shots.items()]
            reset = parts[0] if len(parts) == 1 else np.concatenate(parts)
            frame.base[reset] = frame.lp.take(reset)  # (``put`` takes twice as long)
        n_bands = len(self._bands[0])
        for i, b in enumerate(group):
            clip = states[i * n_bands : (i + 1) * n_bands]
            self._plan_clip(clip, int(frame.dt_us[b]))
            n_signal = sum(state.n_events for state in clip)
            out[b] = np.empty(n_signal + len(shots[b].pix), dtype=EVENT_DTYPE)
            if n_bands == 1:  # a clip's only band writes its shot noise too
                clip[0].shot = shots.pop(b)
        dts = frame.dt_us.tolist()
        wait = self._run(lambda state: self._write_band(state, out[state.band.clip], dts[state.band.clip]), states)
        for b, shot in shots.items():  # several bands: the shot noise at the end of each clip's array, meanwhile
            if len(shot.pix):
                shots[b] = shot = shot.by_time()
                self._write_shots(out[b], shot, int(t[b] - frame.dt_us[b]), int(frame.dt_us[b]))
        wait()
        for b, shot in shots.items():  # ... and in "linear" mode among the signal events, by time
            if shot.offset is not None and len(shot.pix):
                out[b] = _interleave_shots(out[b], shot.offset, int(t[b] - frame.dt_us[b]), int(frame.dt_us[b]))

    def _flat(self, state: torch.Tensor) -> np.ndarray:
        """The flat numpy view ``(B*H*W,)`` of a CPU state tensor, made once per tensor (``.numpy()`` costs a few µs)."""
        view = self._views.get(id(state))
        if view is None:
            view = self._views[id(state)] = state.numpy().reshape(-1)  # holds the tensor: its id stays its own
        return view

    def _low_pass_tables(self, gain: np.ndarray) -> np.ndarray:
        """``(B, 256)`` complex128 per-intensity pairs ``(1 - eps, eps * L)`` of v2e's low-pass for uint8 frames.

        ``eps = min(1, inten01 * gain)`` with ``inten01 = (I + 20) / 275`` in float64 as v2e's: the same
        elementwise operations as on the frame, so the same values, looked up as one 16-byte pair per pixel.
        """
        key = gain.tobytes()
        tables = self._low_pass_memo.get(key)
        if tables is None:
            eps = np.minimum(_INTEN01_F64.numpy()[None] * gain[:, None], 1.0)
            pairs = np.stack([1.0 - eps, eps * _LIN_LOG_LUT.numpy().astype(np.float64)], axis=-1)  # (B, 256, 2)
            tables = pairs.view(np.complex128)[..., 0]
            if len(self._low_pass_memo) >= _LOW_PASS_MEMO:
                self._low_pass_memo.clear()
            self._low_pass_memo[key] = tables
        return tables

    def _band_state(self, frame: _Frame, band: _Band) -> _BandState:
        """Phase 1 of one band: the dense pixel model over its rows, then its active pixels and their events."""
        p = self.params
        assert self._pos_cmp is not None and self._neg_cmp_neg is not None and self._diff is not None
        assert self._active is not None and self._off is not None
        rows, b = slice(band.start, band.stop), band.clip
        intensity, lp, lp_prev = frame.intensity[rows], frame.lp[rows], frame.lp_prev[rows]
        if p.cutoff_hz == 0:
            if frame.level is None:
                _lin_log_uint8(intensity, out=lp)
            else:
                lp[:] = frame.level[rows]
        elif frame.level is None:  # uint8: (1 - eps, eps * L) pairs by intensity
            keep_add = frame.low_pass[b].take(intensity, mode="wrap").view(np.float64).reshape(-1, 2)
            np.multiply(keep_add[:, 0], lp_prev, out=lp)
            np.add(lp, keep_add[:, 1], out=lp)
        else:  # v2e's (1 - eps) * lp + eps * L in float64
            eps = np.minimum((intensity.astype(np.float64) + 20) / 275 * frame.low_pass[b], 1.0)
            np.multiply(1.0 - eps, lp_prev, out=lp)
            lp += eps * frame.level[rows]
        base_prev, base = frame.base_prev[rows], frame.base[rows]
        if p.leak_rate_hz > 0:
            assert self._leak_amp is not None
            amp = self._flat(self._leak_amp)[rows]
            if frame.jitter is None:
                amount = self._mean_leak(band, amp, frame.leak_dt[b])
            else:
                amount = np.multiply(amp, frame.leak_dt[b])  # float32 like v2e's ``delta_time * rate * pos_thres``
                amount += amp * (frame.jitter[0][rows] * frame.jitter[1][b])
            np.subtract(base_prev, amount, out=base)
        pos_cmp, neg_cmp_neg = self._flat(self._pos_cmp)[rows], self._flat(self._neg_cmp_neg)[rows]
        diff = np.subtract(lp, base, out=self._flat(self._diff)[rows])
        active = np.greater_equal(diff, pos_cmp, out=self._flat(self._active)[rows])
        active |= np.less_equal(diff, neg_cmp_neg, out=self._flat(self._off)[rows])
        local = active.nonzero()[0]
        d = diff.take(local)
        on = d > 0
        # the threshold each pixel crossed, signed like D (-OFF threshold for OFF pixels): D / thres >= 1
        thres = np.where(on, pos_cmp.take(local), neg_cmp_neg.take(local))
        counts = _floor_div(d, thres)
        d_start = None
        if p.timestamp_mode == "linear":
            d_start = lp_prev.take(local) - base_prev.take(local)
        state = _BandState(band, local, on, thres, d, d_start, counts)
        dt, t_prev = int(frame.dt_us[b]), int(self._t_prev[b])  # type: ignore[index]
        if band.alone:  # the whole clip: its events in time order at once (refractory filter included)
            state.slot, state.offset, counts, state.in_order = self._clip_signal_events(
                local + band.start, counts, on, thres, d, d_start, dt, t_prev
            )
        elif p.timestamp_mode == "linear":
            assert d_start is not None
            state.slot, state.offset = _linear_order(counts, on, thres, d, d_start, dt)
        state.counts, state.n_events = counts, int(counts.sum())
        # v2e's ``base += count * threshold`` (``-=`` for OFF: the sign is exact): a float32 product (the float32
        # threshold, or the nominal one rounded to float32 as torch rounds a Python float), added in the state dtype
        base[local] = base.take(local) + counts.astype(np.float32) * thres.astype(np.float32, copy=False)
        return state

    def _mean_leak(self, band: _Band, amp: np.ndarray, dt: np.float32) -> np.ndarray:
        """The mean leak ``amp * dt`` of ``band``: the float32 products (v2e's ``delta_time * rate * pos_thres``)
        as float64, so that ``M`` (float64 with the low-pass on) loses them in one type, 3-4x faster than a
        mixed-type subtraction; kept for the last two interval lengths (frame times rounded to µs alternate
        between two) of the bands of every thread count the steps run on."""
        key = (band.start, band.stop, float(dt))
        amount = self._leak_memo.get(key)
        if amount is None:
            amount = np.multiply(amp, dt)
            if self._dtype == torch.float64:
                amount = amount.astype(np.float64)
            if len(self._leak_memo) >= _LEAK_MEMO * sum(len(b) for bands in self._layouts.values() for b in bands):
                self._leak_memo.clear()
            self._leak_memo[key] = amount
        return amount

    def _plan_clip(self, clip: list[_BandState], dt: int) -> None:
        """Between the phases: where each band's events go in its clip's array (several bands only).

        v2e's grid: band ``u``'s events of level ``j`` (the pixels with more than ``j`` events) follow the
        level's events of the bands before it, one contiguous run per level. ``"linear"``:
        positions come from the other bands' sorted times (phase 2). An oversized v2e grid is ordered here
        over the whole clip, as a single band.
        """
        if len(clip) == 1:
            return
        if self.params.timestamp_mode == "v2e":
            k = max(int(state.counts.max(initial=0)) for state in clip)
            if k == 0:
                return
            if k <= dt:
                grid = _v2e_grid(dt, k)[1:]
                # (bands, k): pixels with more than j events
                sizes = np.stack([np.bincount(s.counts, minlength=k + 1)[::-1].cumsum()[::-1][1:] for s in clip])
                level_start = np.cumsum(sizes.sum(axis=0)) - sizes.sum(axis=0)
                before = np.cumsum(sizes, axis=0) - sizes  # the level's events in earlier bands
                for u, state in enumerate(clip):
                    state.grid, state.levels = grid, np.stack([level_start + before[u], sizes[u]], axis=1)
                return
        else:
            for state in clip:
                state.others = clip
            return
        start = clip[0].band.start
        merged = _BandState(
            _Band(clip[0].band.clip, start, clip[-1].band.stop, True),
            np.concatenate([s.local + (s.band.start - start) for s in clip]),
            *(np.concatenate([getattr(s, name) for s in clip]) for name in ("on", "thres", "diff")),
            None if clip[0].d_start is None else np.concatenate([s.d_start for s in clip]),  # type: ignore[misc]
            np.concatenate([s.counts for s in clip]),
        )
        b = clip[0].band.clip
        merged.slot, merged.offset, _, merged.in_order = self._clip_signal_events(
            merged.local + clip[0].band.start, merged.counts, merged.on, merged.thres, merged.diff,
            merged.d_start, dt, int(self._t_prev[b]),  # type: ignore[index]
        )  # fmt: skip
        clip[0].merged = merged
        clip[0].n_events = merged.n_events = int(merged.counts.sum())
        for state in clip[1:]:
            state.n_events = 0

    def _write_band(self, state: _BandState, events: np.ndarray, dt: int) -> None:
        """Phase 2 of one band: its events' times and places in the clip's array (interval of ``dt`` µs), written
        there; a clip's only band writes the clip's shot noise too (``state.shot``)."""
        b = state.band.clip
        t_prev = int(self._t_prev[b])  # type: ignore[index]
        if state.merged is not None:
            state = state.merged
        if state.n_events == 0 and not len(state.shot.pix):
            return
        slot, offset = state.slot, state.offset
        if state.levels is not None:  # v2e's grid over several bands: level j's events follow earlier bands'
            assert state.grid is not None
            slot, level = _grid_order(state.counts, np.arange(len(state.grid)))
            own = self._event_array(state, slot, state.grid.take(level), t_prev).view(_RECORD)
            at, dest = 0, events.view(_RECORD)  # plain records: slices copy as memory, not field by field
            for start, size in state.levels[state.levels[:, 1] > 0].tolist():
                dest[start : start + size] = own[at : at + size]
                at += size
            return
        assert slot is not None and offset is not None
        if state.others is not None:  # "linear" over several bands: merge by time, ties to the earlier band
            pos = np.arange(len(offset))
            me = state.others.index(state)
            for u, other in enumerate(state.others):
                if u != me:
                    pos += np.searchsorted(other.offset, offset, side="right" if u < me else "left")
            events.view(_RECORD)[pos] = self._event_array(state, slot, offset, t_prev).view(_RECORD)
            return
        self._write_events(events, self._band_xy(state), state.on, slot, offset, state.shot, t_prev,
                           dt, in_order=state.in_order)  # fmt: skip

    def _band_xy(self, state: _BandState) -> np.ndarray:
        """``(P,)`` packed x and y (:data:`_XY_VIEW`) of the band's active pixels."""
        first = state.band.start - state.band.clip * self.height * self.width  # the band's first pixel in its clip
        return self._pixel_xy[first : first + state.band.stop - state.band.start].take(state.local)

    def _event_array(self, state: _BandState, slot: np.ndarray, offset: np.ndarray, t_prev: int) -> np.ndarray:
        """The events ``slot`` (into the band's active pixels) at ``offset`` µs after ``t_prev``, in this order."""
        out = np.empty(len(slot), dtype=EVENT_DTYPE)
        self._write_events(out, self._band_xy(state), state.on, slot, offset, _NO_SHOT, t_prev, 0, in_order=True)
        return out

    def _write_events(
        self,
        out: np.ndarray,
        xy: np.ndarray,
        on: np.ndarray,
        slot: np.ndarray,
        offset: np.ndarray,
        shot: _Shots,
        t_prev: int,
        dt: int,
        *,
        in_order: bool,
    ) -> None:
        """Write one clip's (or band's) events in time order to ``out`` (``len(slot) + len(shot.pix)`` events).

        Args:
            xy, on: ``(P,)`` packed x and y (:data:`_XY_VIEW`) and polarity of each active pixel.
            slot, offset: ``(N,)`` source (index into ``xy``) and time (µs after ``t_prev``) of each signal event.
            shot: shot noise (:meth:`_timed`): at the interval end, ``dt``, after every signal event (``"v2e"``
                mode), or at its own times, sorted with the signal events in one pass (``"linear"``; ties: signal
                events first, as :func:`_interleave_shots` merges them).
            in_order: the signal events are in time order already (else grouped by pixel in time order).
        """
        n = len(slot)
        if shot.offset is not None and len(shot.pix):
            xy = np.concatenate([xy, self._pixel_xy.take(shot.pix)])
            on = np.concatenate([on, shot.on])
            slot = np.concatenate([slot, np.arange(len(on) - len(shot.pix), len(on))])
            offset = np.concatenate([offset, shot.offset])
            in_order, n = False, len(slot)
        if not in_order:
            order = stable_argsort(offset)
            slot, offset = slot.take(order), offset.take(order)
        out.view(_XY_VIEW)["xy"][:n] = xy.take(slot)  # x and y in one int32 write
        out["p"][:n] = on.take(slot)
        np.add(offset, t_prev, out=out["t"][:n], dtype=np.int64)  # into the field: no event-sized temporary
        if shot.offset is None and len(shot.pix):
            self._write_shots(out, shot, t_prev, dt)

    # -- other devices: the dense model there, the events on the host ---------------------------------
    def _step_device(self, intensity: torch.Tensor, level: torch.Tensor, t: np.ndarray) -> list[np.ndarray]:
        """One step on a non-CPU device: dense operations there, the active pixels' events on the host."""
        assert self._t_prev is not None and self._lp is not None and self._pos_cmp is not None
        assert self._neg_cmp_neg is not None
        p = self.params
        dt_us, dt_s64 = t - self._t_prev, self._dt_seconds(t)
        lp_prev = self._lp
        if p.cutoff_hz > 0:
            self._low_pass(intensity, level, dt_s64)
        else:
            self._lp = level
        base_prev = self._base  # the leak replaces it, so it keeps M before the leak ("linear" mode needs it)
        if p.leak_rate_hz > 0:
            self._leak(dt_s64)

        pix = self._active_pixels()
        diff = self._gather(self._diff, pix)
        on = diff > 0
        # the threshold each pixel crossed, signed like D (-OFF threshold for OFF pixels): D / thres >= 1
        thres = np.where(on, self._gather(self._pos_cmp, pix), self._gather(self._neg_cmp_neg, pix))
        counts = _floor_div(diff, thres)
        base = self._gather(self._base, pix)
        d_start = None
        if p.timestamp_mode == "linear":
            d_start = self._gather(lp_prev, pix) - (base if base_prev is self._base else self._gather(base_prev, pix))

        # the events of each clip from its slice of the active pixels (``pix`` ascends, so clip b's pixels are
        # contiguous): a batch runs exactly the single-clip code per clip, so it gives the same events
        hw = self.height * self.width
        bounds = np.searchsorted(pix, np.arange(self.batch_size + 1) * hw) if self.batch_size > 1 else [0, len(pix)]
        clips = []
        for b in range(self.batch_size):
            part = slice(bounds[b], bounds[b + 1])
            clips.append(
                self._clip_signal_events(
                    pix[part], counts[part], on[part], thres[part], diff[part],
                    None if d_start is None else d_start[part], int(dt_us[b]), int(self._t_prev[b]),
                )
            )  # fmt: skip
        if p.refractory_period_s > 0:  # suppressed crossings do not move M
            counts = np.concatenate([clip_counts for _, _, clip_counts, _ in clips])
        # v2e's ``base += count * threshold`` (``-=`` for OFF: the sign is exact): a float32 product (the float32
        # threshold, or the nominal one rounded to float32 as torch rounds a Python float), added in the state dtype
        self._scatter(self._base, pix, base + counts.astype(np.float32) * thres.astype(np.float32, copy=False))

        shots = [_NO_SHOT] * self.batch_size
        if p.shot_noise_rate_hz > 0:  # one event per noisy pixel, in the interval ("linear") or at its end ("v2e")
            shots = self._shot_noise(intensity, dt_s64, dt_us)
        events = []
        for b, ((slot, offset, _, in_order), shot) in enumerate(zip(clips, shots)):
            part = slice(bounds[b], bounds[b + 1])
            events.append(
                self._clip_array(pix[part] - b * hw, on[part], slot, offset, shot, int(dt_us[b]), int(self._t_prev[b]),
                                 in_order=in_order)
            )  # fmt: skip
        return events

    def _active_pixels(self) -> np.ndarray:
        """Store ``D = L_filtered - M`` and return the flat indices of the pixels with at least one event (device).

        ``floor(D / on) >= 1`` exactly when ``D >= on`` (and likewise OFF), so one compare per polarity finds them.
        """
        assert self._lp is not None and self._base is not None and self._pos_thres is not None
        assert self._neg_cmp_neg is not None and self._pos_cmp is not None and self._diff is not None
        assert self._active is not None and self._off is not None
        torch.sub(self._lp, self._base, out=self._diff)
        torch.ge(self._diff, self._pos_cmp, out=self._active)
        self._active |= torch.le(self._diff, self._neg_cmp_neg, out=self._off)
        return self._nonzero(self._active)

    def _clip_signal_events(
        self,
        pix: np.ndarray,
        counts: np.ndarray,
        on: np.ndarray,
        thres: np.ndarray,
        diff: np.ndarray,
        d_start: np.ndarray | None,
        dt: int,
        t_prev: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """The threshold crossings of one clip's active pixels, after the refractory filter.

        Args:
            pix: ``(P,)`` flat indices (over ``B*H*W``) of the clip's pixels with events, ascending.
            counts: ``(P,)`` events of each pixel (>= 1); ``on``: ``(P,)`` polarity.
            thres: ``(P,)`` the threshold each pixel crossed, signed like ``D``; ``diff``: ``(P,)`` ``D`` at the frame.
            d_start: ``(P,)`` ``D`` at the previous frame (``"linear"`` mode only).
            dt, t_prev: the clip's interval length and start (µs).

        Returns:
            ``slot`` (index into ``pix``) and ``offset`` (µs after ``t_prev``, in ``[1, dt]``) of every event,
            the counts left after the refractory filter, and whether the events are in time order already
            (else they are grouped by pixel).
        """
        p = self.params
        k = int(counts.max(initial=0))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), counts, True
        if p.refractory_period_s == 0:
            if p.timestamp_mode == "v2e" and k <= dt:
                # v2e's grid: the events come out in time order, no sort needed (a strictly increasing grid,
                # dt >= k µs, keeps the order identical to sorting by time)
                return (*_grid_order(counts, _v2e_grid(dt, k)[1:]), counts, True)
            # "linear" times, sorted at once; with shot noise, sorted with it when written (:meth:`_write_events`)
            if d_start is not None and p.shot_noise_rate_hz == 0:
                return (*_linear_order(counts, on, thres, diff, d_start, dt), counts, True)
        slot, offset = self._signal_events(counts, on, thres, diff, d_start, dt)
        if p.refractory_period_s > 0:
            keep = self._refractory(pix[slot], np.add(offset, t_prev, dtype=np.int64))
            slot, offset = slot[keep], offset[keep]
            counts = np.bincount(slot, minlength=len(pix))
        return slot, offset, counts, False

    def _signal_events(
        self,
        counts: np.ndarray,
        on: np.ndarray,
        thres: np.ndarray,
        diff: np.ndarray,
        d_start: np.ndarray | None,
        dt: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every threshold crossing of one clip's active pixels (arguments of :meth:`_clip_signal_events`).

        Returns:
            ``slot`` and ``offset`` of the events (µs after the start of the interval, in ``[1, dt]``),
            grouped by pixel in ``pix`` order with non-decreasing times.
        """
        if self.params.timestamp_mode == "linear":
            assert d_start is not None
            return _linear_ticks(counts, on, thres, diff, d_start, dt)
        # v2e: k = the largest count of any pixel of the clip; event j (1-based) takes grid time j of k
        slot, jp1 = _expand(counts)
        return slot, _v2e_grid(dt, int(counts.max()))[jp1]

    def _refractory(self, pix: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Greedy dead-time filter: keep an event only if it comes > refractory period after the pixel's last one.

        Events are grouped by pixel with non-decreasing times. Each round accepts, for every pixel
        still active, its first event past its dead time (one ``searchsorted``); rounds are bounded by
        the number of events a pixel can fire in one interval, not by the event count.
        """
        assert self._last_spike is not None
        refractory_us = self.params.refractory_period_s * 1e6
        starts = np.flatnonzero(np.r_[True, pix[1:] != pix[:-1]])
        groups = pix[starts]
        ends = np.r_[starts[1:], len(pix)]
        lo = int(t.min()) - 1
        span = int(t.max()) - lo + 2
        key = np.repeat(np.arange(len(groups)), np.diff(np.r_[starts, len(pix)])) * span + (t - lo)
        last = self._last_spike[groups]
        dead_until = np.clip(np.floor((last - lo) + refractory_us), -1, span - 1).astype(np.int64)
        keep = np.zeros(len(pix), dtype=bool)
        active = np.arange(len(groups))
        while len(active):
            idx = np.searchsorted(key, active * span + dead_until[active], side="right")
            found = idx < ends[active]
            active, idx = active[found], idx[found]
            keep[idx] = True
            last[active] = t[idx]
            dead_until[active] = np.minimum(np.floor((t[idx] - lo) + refractory_us), span - 1).astype(np.int64)
        self._last_spike[groups] = last
        return keep

    def _shot_noise(self, intensity: torch.Tensor, dt_s: np.ndarray, dt_us: np.ndarray) -> list[_Shots]:
        """v2e's shot noise: at most one ON and one OFF event per pixel (:meth:`_timed`); ``M`` resets.

        Sampled clip by clip by :class:`~neurova.simulator.noise.ShotNoise` (v2e's statistics, not its random
        numbers). ``dt_s``, ``dt_us``: ``(B,)`` interval lengths in s (float64) and µs.
        """
        assert self._base is not None and self._lp is not None
        hw = self.height * self.width
        flat = intensity.reshape(self.batch_size, hw)
        shots = [self._timed(b, sampler.sample(float(dt_s[b]), partial(self._gather, flat[b])), int(dt_us[b]))
                 for b, sampler in enumerate(self._shot)]
        reset = np.concatenate([shot.pix + b * hw for b, shot in enumerate(shots)])
        self._scatter(self._base, reset, self._gather(self._lp, reset))
        return shots

    def _timed(self, clip: int, sampled: tuple[np.ndarray, np.ndarray], dt_us: int) -> _Shots:
        """The shot noise ``(pixels, ON)`` of ``clip`` in an interval of ``dt_us`` µs, with its times.

        ``"v2e"`` mode stamps every event at the interval end, as v2e does. ``"linear"`` mode, whose signal events
        come at their crossing times, draws each one a uniform µs tick of the interval (``1 .. dt_us`` after its
        start, from the clip's noise generator): shot noise is a Poisson process in time, and stamping it at
        frame times would put all of it into one TBR bin per frame.
        """
        pix, on = sampled
        if self.params.timestamp_mode == "v2e" or not len(pix):
            return _Shots(pix, on)
        # 1 + floor(u * dt / 2^32) of raw 32-bit uniforms u (bias below dt / 2^32), 4.5x faster than rng.integers
        raw = self._shot[clip].rng.bit_generator.random_raw((len(pix) + 1) // 2).view(np.uint32)[: len(pix)]
        offset = (raw.astype(np.uint64) * np.uint64(dt_us) >> np.uint64(32)).astype(_offset_dtype(dt_us)) + 1
        return _Shots(pix, on, offset)

    def _write_shots(self, events: np.ndarray, shot: _Shots, t_prev: int, dt: int) -> None:
        """Write ``shot``'s events at the end of the clip's ``events`` (after its signal events)."""
        n = len(events) - len(shot.pix)
        events.view(_XY_VIEW)["xy"][n:] = self._pixel_xy.take(shot.pix)
        events["p"][n:] = shot.on
        if shot.offset is None:  # the interval end, from an array: a scalar fill of the unaligned field is 10x slower
            events["t"][n:] = np.full(len(shot.pix), t_prev + dt)
        else:
            np.add(shot.offset, t_prev, out=events["t"][n:], dtype=np.int64)

    def _clip_array(
        self,
        within: np.ndarray,
        on: np.ndarray,
        slot: np.ndarray,
        offset: np.ndarray,
        shot: _Shots,
        dt: int,
        t_prev: int,
        *,
        in_order: bool,
    ) -> np.ndarray:
        """One clip's event array sorted by time (ties: signal events by pixel index, then shot noise by pixel);
        ``within``: ``(P,)`` index within the clip's frame of each active pixel, the rest as :meth:`_write_events`."""
        events = np.empty(len(slot) + len(shot.pix), dtype=EVENT_DTYPE)
        self._write_events(events, self._pixel_xy.take(within), on, slot, offset, shot, t_prev, dt, in_order=in_order)
        return events

    # -- dense state <-> the sparse set of active pixels (numpy views on CPU, gathers on other devices) --------
    @staticmethod
    def _nonzero(mask: np.ndarray | torch.Tensor) -> np.ndarray:
        """Flat indices (int64, ascending) of the true elements of ``mask``."""
        if isinstance(mask, np.ndarray):
            return np.flatnonzero(mask)
        if mask.device.type == "cpu":
            return np.flatnonzero(mask.numpy())
        return mask.reshape(-1).nonzero().squeeze(1).cpu().numpy()

    @staticmethod
    def _gather(state: np.ndarray | torch.Tensor, pix: np.ndarray) -> np.ndarray:
        """``state.flatten()[pix]`` as numpy (a view of the state on CPU, a small transfer elsewhere)."""
        if isinstance(state, torch.Tensor) and state.device.type == "cpu":
            state = state.numpy()
        if isinstance(state, np.ndarray):
            return state.reshape(-1)[pix]
        return state.reshape(-1)[torch.from_numpy(pix).to(state.device)].cpu().numpy()

    @staticmethod
    def _scatter(state: torch.Tensor, pix: np.ndarray, values: np.ndarray) -> None:
        """``state.flatten()[pix] = values`` in place (``pix`` without repeats)."""
        if state.device.type == "cpu":
            state.numpy().reshape(-1)[pix] = values
        else:
            state.view(-1)[torch.from_numpy(pix).to(state.device)] = torch.from_numpy(values).to(state.device)



@functools.lru_cache(maxsize=256)
def _v2e_grid(dt: int, k: int) -> np.ndarray:
    """``(k + 1,)`` v2e's grid offsets (µs) in an interval of ``dt`` µs: ``round(dt * n / k)``, exact in integers.

    Offset ``n`` (``1..k``) is the time of event index ``n - 1``; offset 0 is the interval start. Read-only:
    the grids of recent ``(dt, k)`` are kept (a frame rate has few interval lengths, a clip few ``k``).
    """
    grid = (2 * dt * np.arange(k + 1) + k) // (2 * k)
    grid.flags.writeable = False
    return grid


_GRID_ORDER_TAIL = 256  # pixels left with more events: sort those few instead of one level at a time


def _grid_order(counts: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The events of pixels with ``counts`` (>= 1) sorted by event index ``j``, then by pixel.

    Returns ``slot`` (index into ``counts``) and ``grid[j]`` of every event (``grid``: ``(max(counts),)``).
    Level ``j`` holds the pixels with more than ``j`` events, so levels shrink fast; the long tail of a few
    pixels with many events is expanded and sorted at once.
    """
    parts, level = [], 0
    slots, left = np.arange(len(counts)), counts
    while len(slots) > _GRID_ORDER_TAIL:
        parts.append(slots)
        level += 1
        more = (left > level).nonzero()[0]  # indices: two gathers beat two boolean compressions
        slots, left = slots[more], left[more]
    values = [np.repeat(grid[:level], [len(part) for part in parts])]
    if len(slots):
        n = left - level
        tail_slot = np.repeat(slots, n)
        tail_j = level + np.arange(len(tail_slot)) - np.repeat(np.cumsum(n) - n, n)
        order = np.argsort(tail_j, kind="stable")
        parts.append(tail_slot[order])
        values.append(grid[tail_j[order]])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64), np.concatenate(values)


def _crossing_terms(
    on: np.ndarray, thres: np.ndarray, diff: np.ndarray, d_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel float64 ``(threshold, D_start, slope)`` of the ``"linear"`` crossing times (all ``(P,)``).

    Crossing ``j`` (1-based) of a pixel lies at the fraction ``(j * threshold - D_start) / slope`` of
    the interval, ``slope = D - D_start`` (float64 maths of float32 values); ``D`` moving away from the
    threshold gives a slope of ``inf`` (fraction 0).
    """
    change = diff - d_start  # float32: > 0 exactly when diff > d_start
    away = np.not_equal(change > 0, on)  # ON: change <= 0; OFF: change > 0 ...
    away |= change == 0  # ... or 0
    slope = change.astype(np.float64)
    slope[away] = np.inf
    return thres.astype(np.float64), d_start.astype(np.float64), slope  # exact


def _crossing_ticks(num: np.ndarray, slope: np.ndarray, dt: int | np.ndarray) -> np.ndarray:
    """µs offsets (float64 integers in ``[1, dt]``) of crossings at fractions ``num / slope``, computed in ``num``.

    A crossing is stamped at the first µs tick at or after it, inside ``(t_prev, t]``: the fraction
    clipped to ``[0, 1]`` gives the same tick as clipping the tick to ``[1, dt]``.
    """
    np.divide(num, slope, out=num)
    np.ceil(np.multiply(num, dt, out=num), out=num)
    return np.clip(num, 1, dt, out=num)


def _linear_ticks(
    counts: np.ndarray, on: np.ndarray, thres: np.ndarray, diff: np.ndarray, d_start: np.ndarray, dt: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every ``"linear"`` crossing of one clip's active pixels, grouped by pixel (crossings in order).

    Args:
        counts: ``(P,)`` events of each pixel (>= 1); ``on``: ``(P,)`` polarity; ``thres``: ``(P,)`` the
            threshold each pixel crossed, signed like ``D``; ``diff``, ``d_start``: ``(P,)`` ``D`` at the frame
            and at the previous frame; ``dt``: the interval length (µs).

    Returns:
        ``slot`` (int64 index into ``counts``) and ``offset`` (µs after the interval start, in ``[1, dt]``,
        :func:`_offset_dtype`) of every event, non-decreasing within a pixel.
    """
    level, d_start, slope = _crossing_terms(on, thres, diff, d_start)
    if int(counts.sum()) == len(counts):  # one event per pixel
        slot, num = np.arange(len(counts)), np.subtract(level, d_start, out=level)
    else:
        # per event: (j * threshold - D_start) / slope, in place: three event-sized arrays at most (fresh memory
        # costs a page fault per 4 kB, as much as the arithmetic)
        slot, j = _expand(counts)
        num = level.take(slot)
        num *= j
        scratch = j.view(np.float64)
        # mode="wrap" (the slots are in range): with ``out``, numpy buffers the checked "raise" mode (2x slower)
        np.subtract(num, d_start.take(slot, out=scratch, mode="wrap"), out=num)
        slope = slope.take(slot, out=scratch, mode="wrap")
    return slot, _crossing_ticks(num, slope, dt).astype(_offset_dtype(dt))


def _linear_order(
    counts: np.ndarray, on: np.ndarray, thres: np.ndarray, diff: np.ndarray, d_start: np.ndarray, dt: int
) -> tuple[np.ndarray, np.ndarray]:
    """``"linear"`` events of one clip in time order: ``slot`` (index into ``counts``) and µs ``offset`` of each.

    Ordered by time, then pixel, then crossing (crossings of one pixel at one tick are identical events):
    the pixel-grouped crossings of :func:`_linear_ticks` take one stable sort of their offsets, a radix
    sort of uint16 for intervals up to 65 535 µs (about 2.5x faster than one sort of ``tick << bits | pixel``
    keys on 85 k events, which numpy does not radix-sort).
    """
    slot, offset = _linear_ticks(counts, on, thres, diff, d_start, dt)
    order = stable_argsort(offset)
    return slot.take(order), offset.take(order)


def _offset_dtype(dt_us: int) -> type[np.integer]:
    """The integer type of event times within an interval of ``dt_us`` µs: uint16 where it fits (cheaper to sort)."""
    return np.uint16 if dt_us <= 0xFFFF else np.int64


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``counts.sum()`` events of pixels with ``counts`` (>= 1), grouped by pixel: each one's pixel and index
    (from 1), both int64.

    Two cumulative sums of step arrays (``np.repeat`` is slow for many short runs), by torch's kernel
    (:func:`neurova._numeric.cumsum`).
    """
    total = int(counts.sum())
    starts = np.cumsum(counts[:-1])  # first event of every pixel but the first
    slot = np.zeros(total, dtype=np.int64)
    slot[starts] = 1
    jp1 = np.ones(total, dtype=np.int64)
    jp1[starts] = 1 - counts[:-1]
    return cumsum(slot, out=slot), cumsum(jp1, out=jp1)


def _floor_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``floor(num / den)`` (int64) of ``num / den >= 0`` (``den != 0``) exactly as v2e's
    ``torch.div(rounding_mode="floor")`` in the dtype of ``num`` (float32 or float64).

    float32: the float64 quotient of two float32 values is the exact one rounded; an exact quotient
    below an integer ``n`` lies more than ``2**-24`` below it (both significands have 24 bits), far
    more than float64's rounding error for ``n < 2**29``: the floor of the rounded quotient is exact.
    About 3x faster than ``np.floor_divide``, whose ``fmod`` is slow. float64: where the rounded
    quotient is not an integer, its floor is the exact one (rounding is monotonic and integers are
    representable); where it is one, ``np.floor_divide`` decides (the ``fmod``-based algorithm torch's
    floor division follows).
    """
    if num.dtype == np.float64:
        q = np.divide(num, den)
        floor = np.floor(q)
        tie = (floor == q).nonzero()[0]
        floor[tie] = np.floor_divide(num.take(tie), den.take(tie))
        return floor.astype(np.int64)
    q = np.divide(num, den, dtype=np.float64)
    return np.floor(q, out=q).astype(np.int64)


def _interleave_shots(events: np.ndarray, offset: np.ndarray, t_prev: int, dt: int) -> np.ndarray:
    """A clip's ``events`` of one interval, signal events then shot noise (each in time order), merged by time.

    ``offset``: the shot noise's µs after ``t_prev`` (sorted, ``1 .. dt``). At equal times the signal events come
    first. Returns a new array.
    """
    n = len(events) - len(offset)
    if n == 0:
        return events
    signal_offset = np.ascontiguousarray(events["t"][:n]) - t_prev  # 0 .. dt
    # each noise event goes after the signal events at or before its time: a count per µs, not a search
    at = cumsum(np.bincount(signal_offset, minlength=dt + 1)).take(offset) + np.arange(len(offset))
    signal = np.ones(len(events), dtype=bool)
    signal[at] = False
    record = np.dtype((np.void, events.dtype.itemsize))  # whole records: 7x faster than structured assignment
    merged = np.empty_like(events)
    merged.view(record)[at] = events.view(record)[n:]
    merged.view(record)[signal] = events.view(record)[:n]
    return merged


_MOVED = {"simulate", "simulate_batch"}


def __getattr__(name: str) -> Any:
    """Deprecated: ``simulate`` and ``simulate_batch`` live in :mod:`neurova.simulator.pipeline`."""
    if name in _MOVED:
        warnings.warn(
            f"neurova.simulator.dvs.{name} moved to neurova.simulator.pipeline.{name} "
            f"(also importable as neurova.simulator.{name})",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("neurova.simulator.pipeline"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
