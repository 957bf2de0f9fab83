"""A direct transcription of v2e's ``EventEmulator.generate_events`` (v2e 1.5), DVS pixel model only.

The reference the simulator benchmark times neurova against (when the real v2e is not
importable) and the tests check neurova's ``timestamp_mode="v2e"`` against. Every tensor
operation is v2e's, in v2e's order and with v2e's types, so torch's type promotion gives v2e's
precision in each regime:

* the frame becomes a float64 tensor; ``lin_log`` computes in float64, rounds to 1e-8 and
  returns **float32**; ``inten01 = (I + 20) / 275`` is float64;
* ``cutoff_hz = 0``: the filtered level is the float32 lin-log frame itself, so the memorised
  level ``M`` (initialised to it), ``D`` and the event counts are **float32**;
* ``cutoff_hz > 0``: ``(1 - eps) * lp + eps * L`` with a float64 ``eps`` is **float64**, and so
  are ``M`` and ``D``; v2e applies the filter on the first frame too (over the interval from its
  initial ``t_previous = 0``);
* thresholds are float32 tensors (``sigma_thres > 0``) or Python floats (``sigma_thres = 0``:
  float64 where they divide a float64 ``D``, rounded to float32 where they multiply the int32
  event counts); ``M`` moves by the float32 product ``count * threshold``;
* leak: ``delta_time * rate * pos_thres`` in float32; shot noise: float64 probabilities against
  float32 uniform draws, one ON/OFF event per pixel at the last grid time, ``M`` reset.

Omitted: v2e's outputs, logging, photoreceptor noise, CSDVS and SCIDVS (all off by default;
v2e's zero photoreceptor-noise term added to ``D`` changes no value). Randomness uses torch's
global generator as v2e does (``torch.randperm`` shuffles each event index's events).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from neurova.simulator.presets import DVSParams

__all__ = ["ReferenceEmulator", "run_reference"]


class ReferenceEmulator:
    """v2e's ``EventEmulator`` (v2e 1.5) DVS model; ``generate_events(frame, t_s)`` as v2e's.

    Args:
        params: the pixel-model parameters (``timestamp_mode`` is ignored: this is v2e's grid).
        seed: seeds torch's global generator, as v2e does for a non-zero seed.
    """

    def __init__(self, params: DVSParams, seed: int) -> None:
        self.p = params
        torch.manual_seed(seed)
        self.base: torch.Tensor | None = None
        self.t_previous = 0.0  # v2e: not updated by the first frame

    @staticmethod
    def lin_log(x: torch.Tensor) -> torch.Tensor:
        x = x.double()
        y = torch.where(x <= 20, x * ((1.0 / 20) * math.log(20)), torch.log(x))
        return (torch.round(y * 1e8) / 1e8).float()

    def _init(self, shape: tuple[int, ...]) -> None:
        p = self.p
        self.pos_thres: torch.Tensor | float = p.pos_thres
        self.neg_thres: torch.Tensor | float = p.neg_thres
        if p.sigma_thres > 0:
            self.pos_thres = torch.normal(p.pos_thres, p.sigma_thres, size=shape, dtype=torch.float32).clamp(min=0.01)
            self.neg_thres = torch.normal(p.neg_thres, p.sigma_thres, size=shape, dtype=torch.float32).clamp(min=0.01)
        self.pos_pre_prob = torch.div(p.pos_thres, self.pos_thres)
        self.neg_pre_prob = torch.div(p.neg_thres, self.neg_thres)
        if p.leak_rate_hz > 0:
            rates = torch.randn(shape, dtype=torch.float32)
            self.noise_rate_array = torch.exp(math.log(10) * p.noise_rate_cov_decades * rates)
        if p.refractory_period_s > 0:
            self.timestamp_mem = torch.zeros(shape, dtype=torch.float32) - p.refractory_period_s

    def generate_events(self, frame: np.ndarray, t_frame: float) -> np.ndarray | None:
        """Events ``(N, 4)`` float32 rows ``[t (s), x, y, p (+1/-1)]`` of the interval ending at ``t_frame`` (s)."""
        p = self.p
        delta_time = t_frame - self.t_previous
        new_frame = torch.tensor(frame, dtype=torch.float64)
        log_new_frame = self.lin_log(new_frame)
        inten01 = (new_frame + 20) / 275 if (p.cutoff_hz > 0 or p.shot_noise_rate_hz > 0) else None
        if self.base is None:
            self.lp_log_frame = log_new_frame
        if p.cutoff_hz > 0:  # runs on the first frame too
            assert inten01 is not None
            tau = 1 / (math.pi * 2 * p.cutoff_hz)
            eps = torch.clamp(inten01 * (delta_time / tau), max=1)
            self.lp_log_frame = (1 - eps) * self.lp_log_frame + eps * log_new_frame
        else:
            self.lp_log_frame = log_new_frame
        if self.base is None:
            self._init(tuple(frame.shape))
            self.base = self.lp_log_frame
            return None
        if p.leak_rate_hz > 0:
            rand = torch.randn(self.noise_rate_array.shape, dtype=torch.float32)
            leak = p.leak_rate_hz * self.noise_rate_array * (1 - p.leak_jitter_fraction * rand)
            self.base = self.base - delta_time * leak * self.pos_thres
        diff = self.lp_log_frame - self.base
        pos_evts = torch.div(F.relu(diff), self.pos_thres, rounding_mode="floor").type(torch.int32)
        neg_evts = torch.div(F.relu(-diff), self.neg_thres, rounding_mode="floor").type(torch.int32)
        k = int(max(pos_evts.max(), neg_evts.max()))
        events = torch.empty((0, 4), dtype=torch.float32)
        steps = k if k > 0 else 1
        ts_step = delta_time / steps
        ts = torch.linspace(self.t_previous + ts_step, t_frame, steps, dtype=torch.float32)
        final_pos = torch.zeros(pos_evts.shape, dtype=torch.int32)
        final_neg = torch.zeros(neg_evts.shape, dtype=torch.int32)
        for i in range(k):
            pos_cord = pos_evts >= i + 1
            neg_cord = neg_evts >= i + 1
            if p.refractory_period_s > ts_step:
                pos_cord = (pos_cord * ts[i] - self.timestamp_mem) > p.refractory_period_s
                neg_cord = (neg_cord * ts[i] - self.timestamp_mem) > p.refractory_period_s
                self.timestamp_mem = torch.where(pos_cord, ts[i], self.timestamp_mem)
                self.timestamp_mem = torch.where(neg_cord, ts[i], self.timestamp_mem)
            final_pos += pos_cord
            final_neg += neg_cord
            current = self._event_rows(pos_cord.nonzero(as_tuple=True), neg_cord.nonzero(as_tuple=True), ts[i])
            if current is not None:
                current = current[torch.randperm(current.shape[0])]
                events = torch.cat((events, current))
        if p.shot_noise_rate_hz > 0:
            assert inten01 is not None
            factor = (p.shot_noise_rate_hz / 2) * delta_time * ((0.25 - 1) * inten01 + 1)
            rand01 = torch.rand(inten01.shape, dtype=torch.float32)
            shot_on = torch.gt(rand01, 1 - factor * self.pos_pre_prob)
            shot_off = torch.lt(rand01, factor * self.neg_pre_prob)
            shot_on_xy, shot_off_xy = shot_on.nonzero(as_tuple=True), shot_off.nonzero(as_tuple=True)
            shot = self._event_rows(shot_on_xy, shot_off_xy, ts[-1])
            if shot is not None:
                events = torch.cat((events, shot))
        self.base += final_pos * self.pos_thres
        self.base -= final_neg * self.neg_thres
        if p.shot_noise_rate_hz > 0:
            self.base[shot_on_xy] = self.lp_log_frame[shot_on_xy]
            self.base[shot_off_xy] = self.lp_log_frame[shot_off_xy]
        self.t_previous = t_frame
        return events.numpy() if len(events) else None

    @staticmethod
    def _event_rows(
        pos_xy: tuple[torch.Tensor, ...], neg_xy: tuple[torch.Tensor, ...], t: torch.Tensor
    ) -> torch.Tensor | None:
        n_pos, n_neg = len(pos_xy[0]), len(neg_xy[0])
        if n_pos + n_neg == 0:
            return None
        rows = torch.ones((n_pos + n_neg, 4), dtype=torch.float32)
        rows[:, 0] *= t
        rows[:n_pos, 1], rows[:n_pos, 2] = pos_xy[1], pos_xy[0]
        rows[n_pos:, 1], rows[n_pos:, 2] = neg_xy[1], neg_xy[0]
        rows[n_pos:, 3] = -1
        return rows


def run_reference(frames: np.ndarray, times_us: np.ndarray, params: DVSParams, seed: int = 1) -> np.ndarray:
    """All events ``(N, 4)`` ``[t (s), x, y, p]`` of ``(T, H, W)`` frames at ``times_us`` (passed as ``t * 1e-6`` s)."""
    emulator = ReferenceEmulator(params, seed=seed)
    chunks = [emulator.generate_events(frame, t * 1e-6) for frame, t in zip(frames, times_us)]
    kept = [c for c in chunks if c is not None]
    return np.concatenate(kept) if kept else np.zeros((0, 4), dtype=np.float32)
