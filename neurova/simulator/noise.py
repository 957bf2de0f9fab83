"""v2e's shot noise, sampled cheaply: the same per-pixel statistics from fewer and cheaper random numbers.

v2e draws one float32 uniform ``V`` per pixel and frame and fires a spurious ON event where
``V > 1 - f * pos_pre`` and an OFF event where ``V < f * neg_pre``, with
``f = (rate / 2) * dt * ((0.25 - 1) * (I + 20) / 275 + 1)`` (``I`` on 0..255) and
``pos_pre = pos_thres_nominal / pos_thres`` (likewise OFF). At 30 fps and 5 Hz about 10 % of the
pixels fire, at 240 fps about 1 %.

:class:`ShotNoise` draws the same Bernoulli events in two stages. Each pixel's event probability
``f * (pos_pre + neg_pre)`` is at most ``q = (rate / 2) * dt * (pos_pre + neg_pre)`` (``f`` is largest at
black); a raw 8-bit uniform ``v`` per pixel (an eighth of a 64-bit draw, the cheapest random number
there is) makes the pixel a candidate when ``v < k = ceil(256 * q)``, with probability ``k / 256 >= q``
(at most ``1 / (256 q)`` more candidates than events could need: 2 % at 30 fps and 5 Hz, 25 % at 240 fps,
where candidates are few). A candidate's ``w = (v + U) / 256`` (``U`` a fresh uniform on [0, 1)) is then
uniform on ``[0, k / 256)``, and it fires OFF if ``w < f * neg_pre``, else ON if
``w < f * (neg_pre + pos_pre)``: each pixel fires OFF with probability ``f * neg_pre`` and ON with
``f * pos_pre``, never both, independently of every other pixel, which is v2e's distribution wherever
``q < 1`` (there v2e's ``V > 1 - f * pos_pre`` and ``V < f * neg_pre`` exclude each other too). Pixels with
``q > 255 / 256`` (very low thresholds, long intervals) take v2e's own rule with one uniform each, where both
events can fire. The random numbers are not v2e's (they cannot be: v2e's event shuffle consumes the same
generator), the statistics are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["SHOT_NOISE_INTEN_FACTOR", "ShotNoise"]

SHOT_NOISE_INTEN_FACTOR = 0.25
"""v2e: the shot-noise rate at full intensity relative to black."""

_LEVELS = 256  # values of a candidate draw (uint8)
_MAX_SPARSE_Q = (_LEVELS - 1) / _LEVELS  # pixels with a larger bound q take v2e's rule (one uniform each)

IntensityOf = Callable[[np.ndarray], np.ndarray]
"""``intensity_of(pix)``: the current frame's intensities (uint8 or float, 0..255) of the clip's pixels ``pix``."""


class ShotNoise:
    """Shot-noise sampler of one clip: :meth:`sample` returns the pixels that fire ON and OFF in an interval.

    Args:
        pos_pre, neg_pre: ``(N,)`` float64 per-pixel ``nominal / actual`` thresholds (v2e's
            ``pos_pre_prob``, ``neg_pre_prob``) over the clip's ``N`` pixels (flat).
        rate_hz: ``shot_noise_rate_hz`` (ON + OFF at black).
        rng: the clip's numpy generator (every draw of this sampler comes from it, in frame order).
    """

    def __init__(self, pos_pre: np.ndarray, neg_pre: np.ndarray, rate_hz: float, rng: np.random.Generator) -> None:
        self.pos_pre, self.neg_pre = pos_pre, neg_pre
        self.pre_sum = pos_pre + neg_pre
        self.rate_hz, self.rng = float(rate_hz), rng
        self._dt_s = -1.0  # the interval length the candidate bounds below hold up to
        self._bound = np.zeros(len(pos_pre), dtype=np.uint8)  # k of each pixel (0: dense rule)
        self._table = (-1.0, np.zeros(256))  # (dt_s, 256 f of every uint8 intensity) of the last interval
        self._dense_pix = np.zeros(0, dtype=np.int64)  # pixels with q > 255/256 ...
        self._dense_pre: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))  # ... and their pos_pre, neg_pre

    def factor(self, intensity: np.ndarray, dt_s: float) -> np.ndarray:
        """v2e's ``f`` (float64) of intensities on a 0..255 scale, for an interval of ``dt_s`` seconds.

        uint8 intensities are looked up in a 256-entry table of the same float64 values.
        """
        if intensity.dtype == np.uint8:
            return self.factor(np.arange(256, dtype=np.float64), dt_s).take(intensity, mode="wrap")
        inten01 = (np.asarray(intensity, dtype=np.float64) + 20) / 275
        return (self.rate_hz / 2) * dt_s * ((SHOT_NOISE_INTEN_FACTOR - 1) * inten01 + 1)

    def sample(self, dt_s: float, intensity_of: IntensityOf) -> tuple[np.ndarray, np.ndarray]:
        """The shot-noise events of an interval of ``dt_s`` s: pixels (flat indices, ascending) and polarity (ON).

        A pixel with both an ON and an OFF event (possible only where ``q >= 1``) comes twice, ON first.
        """
        if not 0.95 * self._dt_s <= dt_s <= self._dt_s:  # bounds for up to 1 % longer intervals, reused
            self._prepare(dt_s * 1.01)
        n = len(self.pre_sum)
        v = self.rng.bit_generator.random_raw((n + 7) // 8).view(np.uint8)[:n]
        cand = (v < self._bound).nonzero()[0]  # (np.flatnonzero costs 1.5 µs more)
        f = self._factor_256(intensity_of(cand), dt_s)  # w and f both scaled by 256 (exact)
        w = v.take(cand) + self.rng.random(len(cand))  # 256 w
        hit = (w < f * self.pre_sum.take(cand)).nonzero()[0]  # an event of either polarity
        pix = cand.take(hit)
        on = w.take(hit) >= f.take(hit) * self.neg_pre.take(pix)  # else OFF
        if len(self._dense_pix):
            more, more_on = self._dense(dt_s, intensity_of)
            if len(more):  # merged into the ascending ``pix`` (disjoint); a pixel's ON event stays before its OFF one
                at = pix.searchsorted(more) + np.arange(len(more))  # their places in the merged arrays
                rest = np.ones(len(pix) + len(more), dtype=bool)
                rest[at] = False
                merged, merged_on = np.empty(len(rest), dtype=pix.dtype), np.empty(len(rest), dtype=bool)
                merged[at], merged_on[at] = more, more_on
                merged[rest], merged_on[rest] = pix, on
                pix, on = merged, merged_on
        return pix, on

    def _factor_256(self, intensity: np.ndarray, dt_s: float) -> np.ndarray:
        """``256 f`` (exact scaling) of intensities, at most its value at black; uint8 ones from a table kept
        for the last interval length."""
        if intensity.dtype == np.uint8:
            if self._table[0] != dt_s:
                self._table = (dt_s, self.factor(np.arange(256, dtype=np.float64), dt_s) * _LEVELS)
            return self._table[1].take(intensity, mode="wrap")
        f = self.factor(intensity, dt_s)
        np.minimum(f, (self.rate_hz / 2) * dt_s, out=f)  # f <= its value at black unless I < -20
        f *= _LEVELS
        return f

    def _prepare(self, dt_s: float) -> None:
        """Candidate bounds ``k = ceil(256 * q)`` for intervals up to ``dt_s`` s; pixels with ``k > 255`` go dense."""
        q = (self.rate_hz / 2) * dt_s * self.pre_sum
        dense = q > _MAX_SPARSE_Q
        self._bound = np.where(dense, 0, np.ceil(q * _LEVELS)).astype(np.uint8)
        self._dense_pix = np.flatnonzero(dense)
        self._dense_pre = (self.pos_pre[self._dense_pix], self.neg_pre[self._dense_pix])
        self._dt_s = dt_s

    def _dense(self, dt_s: float, intensity_of: IntensityOf) -> tuple[np.ndarray, np.ndarray]:
        """v2e's rule with one uniform per pixel where ``q`` is near 1 or above: events as :meth:`sample` returns them."""
        pix = self._dense_pix
        f = self._factor_256(intensity_of(pix), dt_s)
        v = self.rng.random(len(pix)) * _LEVELS  # v2e's V > 1 - f * pos_pre and V < f * neg_pre, times 256 (exact)
        fired = np.empty((len(pix), 2), dtype=bool)  # per pixel: ON, OFF
        np.greater(v, _LEVELS - f * self._dense_pre[0], out=fired[:, 0])
        np.less(v, f * self._dense_pre[1], out=fired[:, 1])
        fired = fired.reshape(-1)
        return np.repeat(pix, 2)[fired], np.tile(np.array([True, False]), len(pix))[fired]
