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

All pixel state is float32: v2e's threshold comparisons often sit exactly on a
threshold boundary, and float32 state reproduces its event counts exactly.
Event emission is vectorised (no Python loop over event index): pixel indices
are repeated by their counts and the per-pixel event index comes from a cumsum.

Randomness: clip ``i`` of a batch draws every random number (thresholds, leak,
shot noise) from its own CPU :class:`torch.Generator` seeded with its seed, in
the same order as a single-clip run, so a batch gives the same events as ``B``
single runs and CPU and GPU runs draw identical numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from neurova.errors import VideoFormatError
from neurova.events import EVENT_DTYPE, SensorSize
from neurova.simulator.presets import DVSParams, resolve_params

__all__ = ["DVSSimulator", "inverse_lin_log", "lin_log", "simulate", "simulate_batch"]

LIN_LOG_THRESHOLD = 20.0
"""Intensity (0..255 scale) below which v2e's lin-log mapping is linear."""
_LIN_LOG_SLOPE = math.log(LIN_LOG_THRESHOLD) / LIN_LOG_THRESHOLD
_SHOT_NOISE_INTEN_FACTOR = 0.25  # v2e: shot-noise rate at full intensity relative to black
_TIME_KEY = 1 << 40  # µs; sort key b * _TIME_KEY + t keeps clips apart (t < 12.7 days)

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
_LIN_LOG_LUT_NP = _LIN_LOG_LUT.numpy()


def _resolve_seeds(seed: Seed, batch_size: int) -> list[int]:
    if seed is None:
        base = int(torch.randint(0, 2**62, (1,)).item())  # follows torch.manual_seed when the user set one
        return [base + i for i in range(batch_size)]
    if isinstance(seed, int | np.integer):
        return [int(seed) + i for i in range(batch_size)]
    seeds = [int(s) for s in seed]
    if len(seeds) != batch_size:
        raise ValueError(f"got {len(seeds)} seeds for a batch of {batch_size} clips")
    return seeds


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
        self.seeds = _resolve_seeds(seed, self.batch_size)
        self._lut = _LIN_LOG_LUT.to(self.device)
        self.reset()

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
        self._lp: torch.Tensor | None = None  # filtered lin-log level (B, H, W)
        self._base: torch.Tensor | None = None  # memorised level M (B, H, W)
        self._pos_thres: torch.Tensor | None = None
        self._neg_thres: torch.Tensor | None = None
        self._leak_factor: torch.Tensor | None = None
        self._last_spike: np.ndarray | None = None  # (B*H*W,) int64 µs, refractory only

    # -- random draws: one CPU generator per clip, moved to the device ------------------------
    def _draw(self, kind: Callable[..., torch.Tensor], *args: float) -> torch.Tensor:
        shape = (self.height, self.width)
        draws = [kind(*args, size=shape, generator=g, dtype=torch.float32) for g in self._generators]
        return torch.stack(draws).to(self.device)

    def _randn(self) -> torch.Tensor:
        return self._draw(lambda size, generator, dtype: torch.randn(size, generator=generator, dtype=dtype))

    # -- input handling ----------------------------------------------------------------------------
    def _as_frames(self, frames: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(intensity, lin-log float32), both (B, H, W) on the device; uint8 intensity stays uint8."""
        if frames.ndim == 2 and self.batch_size == 1:
            frames = frames[None]
        expected = (self.batch_size, self.height, self.width)
        if tuple(frames.shape) != expected:
            raise VideoFormatError(f"frames must have shape (B, H, W) = {expected}, got {tuple(frames.shape)}")
        if isinstance(frames, np.ndarray) and frames.dtype == np.uint8:  # numpy's table lookup is the fastest
            return torch.from_numpy(frames).to(self.device), torch.from_numpy(_LIN_LOG_LUT_NP[frames]).to(self.device)
        tensor = torch.as_tensor(frames).to(self.device)
        if tensor.dtype == torch.uint8:
            return tensor, self._lut[tensor.long()]
        if not tensor.is_floating_point():
            raise VideoFormatError(f"frames must be uint8 or float intensities 0..255, got dtype {tensor.dtype}")
        return tensor, lin_log(tensor)

    def _as_times(self, t_us: int | Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
        if isinstance(t_us, torch.Tensor):
            t_us = t_us.cpu().numpy()
        t = np.asarray(t_us, dtype=np.int64).reshape(-1)
        if t.size == 1:
            t = np.repeat(t, self.batch_size)
        if t.size != self.batch_size:
            raise VideoFormatError(f"expected one timestamp or {self.batch_size}, got {t.size}")
        if (t < 0).any() or (t >= _TIME_KEY).any():
            raise VideoFormatError(f"frame timestamps must lie in [0, 2**40) µs, got {t.tolist()}")
        return t

    def _to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        return tensor.numpy() if tensor.device.type == "cpu" else tensor.cpu().numpy()

    # -- the pixel model ---------------------------------------------------------------------------
    def _init_state(self, level: torch.Tensor, t: np.ndarray) -> None:
        p = self.params
        self._lp = level
        self._base = level.clone()
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
        if p.leak_rate_hz > 0:
            self._leak_factor = torch.exp(math.log(10) * p.noise_rate_cov_decades * self._randn())
        if p.refractory_period_s > 0:
            self._last_spike = np.full(level.numel(), -(1 << 62), dtype=np.int64)
        # v2e's previous-frame time starts at 0 and is not set by the first frame
        self._t_prev = np.zeros_like(t) if p.timestamp_mode == "v2e" else t.copy()

    def step(self, frames: Any, t_us: int | Sequence[int] | np.ndarray | torch.Tensor) -> list[np.ndarray]:
        """Feed the next frame of every clip; return the events of the interval ending at ``t_us``.

        Args:
            frames: ``(B, H, W)`` numpy array or tensor, uint8 or float intensities on a 0..255
                scale (``(H, W)`` is accepted when ``B == 1``); colour must be converted first
                (:func:`neurova.simulator.video.to_gray`).
            t_us: the frames' time in µs, one int for all clips or one per clip; strictly
                increasing from call to call.

        Returns:
            ``B`` event arrays of :data:`~neurova.events.EVENT_DTYPE`, each sorted by ``t``, with
            timestamps in ``(t_previous, t_us]``. The first frame initialises the pixels and
            returns no events.
        """
        intensity, level = self._as_frames(frames)
        t = self._as_times(t_us)
        if self._base is None:
            self._init_state(level, t)
            return [np.zeros(0, dtype=EVENT_DTYPE) for _ in range(self.batch_size)]
        assert self._t_prev is not None and self._lp is not None and self._pos_thres is not None
        assert self._neg_thres is not None
        if (t <= self._t_prev).any():
            raise VideoFormatError(
                f"frame timestamps must increase: got {t.tolist()} µs after {self._t_prev.tolist()} µs"
            )
        p = self.params
        dt_us = t - self._t_prev
        dt_s = torch.from_numpy((dt_us * 1e-6).astype(np.float32)).to(self.device).view(-1, 1, 1)
        inten01 = None
        if p.cutoff_hz > 0 or p.shot_noise_rate_hz > 0:
            inten01 = (intensity.to(torch.float32) + 20.0) / 275.0

        lp_prev = self._lp
        if p.cutoff_hz > 0:
            assert inten01 is not None
            tau = 1.0 / (2.0 * math.pi * p.cutoff_hz)
            eps = (inten01 * (dt_s / tau)).clamp_max(1.0)
            self._lp = (1 - eps) * lp_prev + eps * level
        else:
            self._lp = level
        d_start = lp_prev - self._base if p.timestamp_mode == "linear" else None

        if p.leak_rate_hz > 0:
            assert self._leak_factor is not None
            rate = p.leak_rate_hz * self._leak_factor * (1 - p.leak_jitter_fraction * self._randn())
            self._base = self._base - dt_s * rate * self._pos_thres

        diff = self._lp - self._base
        n_on = torch.div(F.relu(diff), self._pos_thres, rounding_mode="floor").to(torch.int32)
        n_off = torch.div(F.relu(-diff), self._neg_thres, rounding_mode="floor").to(torch.int32)

        pix, ev_t, ev_on = self._signal_events(n_on, n_off, diff, d_start, dt_us)
        if p.refractory_period_s > 0 and len(pix):
            keep = self._refractory(pix, ev_t)
            pix, ev_t, ev_on = pix[keep], ev_t[keep], ev_on[keep]
            numel = n_on.numel()
            n_on = torch.from_numpy(np.bincount(pix[ev_on], minlength=numel).astype(np.int32))
            n_off = torch.from_numpy(np.bincount(pix[~ev_on], minlength=numel).astype(np.int32))
            n_on, n_off = n_on.view(self._base.shape).to(self.device), n_off.view(self._base.shape).to(self.device)
        self._base += n_on * self._pos_thres
        self._base -= n_off * self._neg_thres

        if p.shot_noise_rate_hz > 0:
            assert inten01 is not None
            shot = self._shot_noise(inten01, dt_s, t)
            pix, ev_t, ev_on = (np.concatenate([a, b]) for a, b in zip((pix, ev_t, ev_on), shot))

        events = self._split(pix, ev_t, ev_on, t_start=self._t_prev, duration=dt_us)
        self._t_prev = t
        return events

    def _signal_events(
        self,
        n_on: torch.Tensor,
        n_off: torch.Tensor,
        diff: torch.Tensor,
        d_start: torch.Tensor | None,
        dt_us: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat pixel index, time (µs) and polarity of every threshold crossing, grouped by pixel.

        Pixel-level quantities are gathered on the device; the per-event expansion (repeat by
        count, per-pixel event index ``j`` from a cumsum) runs in numpy.
        """
        assert self._t_prev is not None
        counts = (n_on + n_off).view(-1)  # a pixel has ON or OFF events, never both
        if counts.device.type == "cpu":
            pix_np = np.flatnonzero(counts.numpy())
            pix = torch.from_numpy(pix_np)
        else:
            pix = counts.nonzero().squeeze(1)
            pix_np = pix.cpu().numpy()
        n = self._to_numpy(counts[pix]).astype(np.int64)
        on_pix = self._to_numpy(n_on.view(-1)[pix] > 0)
        pix_ev = np.repeat(pix_np, n)
        j = np.arange(len(pix_ev), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)  # 0-based index in pixel
        on = np.repeat(on_pix, n)
        hw = self.height * self.width
        clip = pix_ev // hw if self.batch_size > 1 else np.zeros(len(pix_ev), dtype=np.int64)
        t_prev, dt = self._t_prev[clip], dt_us[clip]
        if self.params.timestamp_mode == "v2e":
            # v2e: k = the largest count of any pixel of the clip; the j-th event takes grid time j+1 of k
            k_clip = np.zeros(self.batch_size, dtype=np.int64)
            np.maximum.at(k_clip, pix_np // hw, n)
            k = k_clip[clip]
            offset = (2 * dt * (j + 1) + k) // (2 * k)  # round(dt * (j + 1) / k), exact in integers
        else:
            assert d_start is not None
            thres = torch.where(n_on.view(-1)[pix] > 0, self._pos_thres.view(-1)[pix], -self._neg_thres.view(-1)[pix])
            thres, d0, d1 = (
                np.repeat(self._to_numpy(a), n) for a in (thres, d_start.view(-1)[pix], diff.view(-1)[pix])
            )
            rising = np.where(on, d1 > d0, d1 < d0)
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(rising, ((j + 1) * thres - d0) / np.where(rising, d1 - d0, 1.0), 0.0)
            # a crossing is stamped at the first µs tick at or after it, inside (t_prev, t]
            offset = np.minimum(np.ceil(np.clip(frac, 0.0, 1.0) * dt).astype(np.int64).clip(min=1), dt)
        return pix_ev, t_prev + offset, on

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

    def _shot_noise(
        self, inten01: torch.Tensor, dt_s: torch.Tensor, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """v2e's shot noise: at most one ON and one OFF event per pixel, at the interval end; M resets."""
        p = self.params
        assert self._base is not None and self._lp is not None
        factor = (p.shot_noise_rate_hz / 2) * dt_s * ((_SHOT_NOISE_INTEN_FACTOR - 1) * inten01 + 1)
        rand01 = self._draw(lambda size, generator, dtype: torch.rand(size, generator=generator, dtype=dtype))
        shot_on = rand01 > 1 - factor * (p.pos_thres / self._pos_thres)
        shot_off = rand01 < factor * (p.neg_thres / self._neg_thres)
        self._base = torch.where(shot_on | shot_off, self._lp, self._base)
        on_pix = np.flatnonzero(self._to_numpy(shot_on))
        off_pix = np.flatnonzero(self._to_numpy(shot_off))
        pix = np.concatenate([on_pix, off_pix])
        on = np.concatenate([np.ones(len(on_pix), dtype=bool), np.zeros(len(off_pix), dtype=bool)])
        return pix, t[pix // (self.height * self.width)], on

    def _split(
        self, pix: np.ndarray, t: np.ndarray, on: np.ndarray, *, t_start: np.ndarray, duration: np.ndarray
    ) -> list[np.ndarray]:
        """Per-clip event arrays sorted by time (ties: signal events by pixel index, then shot noise)."""
        hw = self.height * self.width
        clip = pix // hw
        order = _stable_argsort(clip * (int(duration.max()) + 1) + (t - t_start[clip]))
        pix, t, on, clip = pix[order], t[order], on[order], clip[order]
        events = np.empty(len(pix), dtype=EVENT_DTYPE)
        within = pix - clip * hw
        events["y"], events["x"] = np.divmod(within, self.width)
        events["t"] = t
        events["p"] = on
        if self.batch_size == 1:
            return [events]
        bounds = np.cumsum(np.bincount(clip, minlength=self.batch_size))[:-1]
        return [part.copy() for part in np.split(events, bounds)]


def _stable_argsort(key: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative int64 keys by LSD radix passes over 16-bit digits (numpy radix-sorts uint16)."""
    order = np.arange(len(key))
    if len(key) == 0:
        return order
    top = int(key.max())
    shift = 0
    while True:
        digit = ((key[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


# -- whole clips --------------------------------------------------------------------------------------


def _run_group(
    streams: list[Iterable[tuple[np.ndarray, int]]],
    sim: DVSSimulator,
    *,
    total: int | None,
    progress: bool,
) -> list[np.ndarray]:
    """Step ``sim`` through frame streams of equal length; concatenate each clip's events."""
    from tqdm.auto import tqdm

    chunks: list[list[np.ndarray]] = [[] for _ in streams]
    for items in tqdm(zip(*streams), total=total, disable=not progress, desc="simulate", unit="frame"):
        frames = np.stack([np.asarray(frame) for frame, _ in items])
        for chunk, events in zip(chunks, sim.step(frames, [t for _, t in items])):
            if len(events):
                chunk.append(events)
    return [np.concatenate(c) if c else np.zeros(0, dtype=EVENT_DTYPE) for c in chunks]


def simulate(
    source: Any,
    timestamps_us: Sequence[int] | np.ndarray | None = None,
    *,
    fps: float | None = None,
    preset: str | None = "clean",
    upsample: int | None = None,
    max_step_px: float | None = None,
    interpolator: Callable[[np.ndarray, np.ndarray, int], np.ndarray] | None = None,
    crop: tuple[int, int, int, int] | None = None,
    size: tuple[int, int] | None = None,
    seed: int | None = 0,
    device: str | torch.device = "cpu",
    backend: str = "neurova",
    progress: bool = False,
    **params: Any,
) -> np.ndarray:
    """Simulate the events of one clip.

    Args:
        source: ``(T, H, W)`` grayscale or ``(T, H, W, 3)`` RGB array or tensor (uint8 or float
            0..255), a list of such frames, a video file, or a folder of PNG/JPEG frames
            (sorted by name, see :func:`neurova.simulator.video.read_video`).
        timestamps_us: ``(T,)`` frame times in µs, strictly increasing; default ``i * 1e6 / fps``
            (a video file's own frame rate when ``fps`` is not given).
        fps: frame rate for arrays and frame folders (default
            :data:`~neurova.simulator.video.DEFAULT_FPS` = 25) and overriding a video file's.
        preset: ``"clean"`` (default), ``"noisy"`` or ``None`` (v2e ``EventEmulator`` defaults).
        upsample: integer temporal upsampling factor (``factor - 1`` frames interpolated per interval).
        max_step_px: upsample each interval so that the estimated motion per frame stays below this
            many pixels (see :mod:`neurova.simulator.interpolate`); exclusive with ``upsample``.
        interpolator: ``(frame_a, frame_b, n) -> (n, H, W)`` intermediate frames (float 0..255);
            default: linear interpolation in the lin-log domain.
        crop: ``(x0, y0, w, h)`` box cut from every frame before resizing.
        size: ``(width, height)`` to resize to (after ``crop``), antialiased.
        seed: random seed of thresholds and noise (``None``: not reproducible).
        device: torch device of the simulation.
        backend: ``"neurova"`` or ``"v2e"`` (run v2e's own ``EventEmulator``; needs v2e installed).
        progress: show a progress bar over frames.
        **params: pixel-model parameters overriding the preset (see :class:`DVSSimulator`).

    Returns:
        Events of :data:`~neurova.events.EVENT_DTYPE` sorted by ``t`` (µs, frame time base).
    """
    return simulate_batch(
        [source],
        None if timestamps_us is None else [timestamps_us],
        fps=fps,
        preset=preset,
        upsample=upsample,
        max_step_px=max_step_px,
        interpolator=interpolator,
        crop=crop,
        size=size,
        seed=seed,
        device=device,
        backend=backend,
        progress=progress,
        **params,
    )[0]


def simulate_batch(
    sources: Sequence[Any],
    timestamps_us: Sequence[Sequence[int] | np.ndarray | None] | None = None,
    *,
    fps: float | None = None,
    preset: str | None = "clean",
    upsample: int | None = None,
    max_step_px: float | None = None,
    interpolator: Callable[[np.ndarray, np.ndarray, int], np.ndarray] | None = None,
    crop: tuple[int, int, int, int] | None = None,
    size: tuple[int, int] | None = None,
    seed: int | Sequence[int] | None = 0,
    device: str | torch.device = "cpu",
    backend: str = "neurova",
    batch_size: int | None = None,
    progress: bool = False,
    **params: Any,
) -> list[np.ndarray]:
    """Simulate several clips, batched in one :class:`DVSSimulator` where they fit together.

    Clips with the same frame size and number of (upsampled) frames run side by side, at most
    ``batch_size`` at a time (default: all); their timestamps may differ. Clip ``i`` uses seed
    ``seed + i`` (or ``seed[i]`` for a list), so the result equals ``simulate(sources[i],
    seed=seed + i)`` clip by clip. Arguments are those of :func:`simulate`.

    Returns:
        One event array per source, in input order.
    """
    from neurova.simulator import interpolate, video

    if backend not in ("neurova", "v2e"):
        raise ValueError(f"backend must be 'neurova' or 'v2e', got {backend!r}")
    if timestamps_us is not None and len(timestamps_us) != len(sources):
        raise ValueError(f"got {len(timestamps_us)} timestamp arrays for {len(sources)} sources")
    seeds = _resolve_seeds(seed, len(sources))
    clips = []
    for i, source in enumerate(sources):
        frames, times = video.load_frames(source, None if timestamps_us is None else timestamps_us[i], fps=fps)
        frames = video.crop_and_resize(frames, crop=crop, size=size)
        factors = interpolate.upsample_factors(frames, upsample=upsample, max_step_px=max_step_px)
        clips.append((frames, times, factors))
    if backend == "v2e":
        from neurova.simulator.v2e import simulate_v2e

        resolved = resolve_params(preset, **params)
        return [
            simulate_v2e(interpolate.iter_frames(f, t, k, interpolator), f.shape[1:], resolved, seed=s, device=device)
            for (f, t, k), s in zip(clips, seeds)
        ]

    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, (frames, _, factors) in enumerate(clips):
        groups.setdefault((int(np.sum(factors)) + 1, *frames.shape[1:3]), []).append(i)
    results: list[np.ndarray] = [np.zeros(0, dtype=EVENT_DTYPE)] * len(sources)
    limit = batch_size or len(sources)
    for (n_frames, height, width), members in groups.items():
        for start in range(0, len(members), limit):
            chunk = members[start : start + limit]
            sim = DVSSimulator(
                height,
                width,
                batch_size=len(chunk),
                preset=preset,
                seed=[seeds[i] for i in chunk],
                device=device,
                **params,
            )
            streams = [interpolate.iter_frames(*clips[i], interpolator) for i in chunk]
            for i, events in zip(chunk, _run_group(streams, sim, total=n_frames, progress=progress)):
                results[i] = events
    return results
