"""Flickering light: find a lamp's flicker frequency in events, and comb the flicker out of them.

Lamps on AC mains flicker at twice the mains frequency (100 Hz on 50 Hz mains, 120 Hz on 60 Hz), LED drivers
and dimmers often at hundreds of Hz. Video averages flicker out, so training data simulated from video never has
it, but an event camera fires on it: every lit pixel emits a burst of ON events and a burst of OFF events in
each period, and at 100 Hz every 5 ms bin of a TBR frame is set. A real DAVIS346 recording of an indoor scene
(``../shared``) has 100 Hz flicker in about a fifth of its events.

**Frequency** (:func:`estimate_flicker_frequency`): the strongest peak of the ON events' rate spectrum in
``[min_freq_hz, max_freq_hz]`` (90 Hz to 1 kHz: above the 25-30 fps frame clocks whose harmonics events
simulated from video carry), measured against the spectrum within ±30 % of it; a peak at half (or a third) of
it that also stands out is preferred (a burst train's harmonics can stand out more than its fundamental).

**Flickering pixels** (:func:`flicker_mask`): at a flickering pixel, each burst of one polarity starts at about
the same phase of the flicker period. A burst starts with an event that has no event of its pixel and polarity
in the half period before it. The last ``cycles`` burst starts of a pixel and polarity are *coherent* when they
lie within ``span`` periods and the length of the mean of their phase vectors ``exp(2 pi i t f)`` is at least
``coherence`` (1: identical phases; about ``1 / sqrt(cycles)`` for random ones); the events of a burst whose
start ends a coherent run are flicker events. Motion, blinks and sensor noise fire at random phases.

**The comb filter** (:func:`deflicker_events`, :class:`FlickerFilter`): a flicker event marks its pixel, and
those within 2 pixels of it, as lit by the lamp from then on. Over a whole period the lamp's light returns to
where it was, so a marked pixel's events over one period add up to the change of the scene itself. Its events
are replaced by the events of its brightness averaged over each period ``[k / f, (k + 1) / f)`` (integrated
events, averaged over time, emitted at the period's end whenever the average is a whole event away from what
was emitted: a boxcar of one period, whose zeros fall on the flicker and its harmonics). An OFF event counts
as the pixel's ON / OFF count ratio of ON events, since a real pixel's two thresholds differ (with a mismatch
of 0.02 on 0.2 the flicker's net events drift by half an event per period otherwise). The scene's events keep
their polarity and pixel, at the time resolution of one period. Other pixels' events pass unchanged; without
flicker the events come back as they were.

**Streams** (:class:`FlickerFilter`): with a known ``frequency_hz`` each chunk is combed at once (a marked
pixel's last, incomplete period waits for the next chunk), using the last ``span + 2`` periods of events before
it, so the result equals :func:`deflicker_events`' of the whole stream. Without one, the frequency is estimated
over consecutive windows of ``estimate_us`` from the first event: the first window is held back until it is
complete and combed with its own estimate; while no flicker has been found, each later window passes unchanged
and is estimated in turn, and the first frequency found holds for the rest of the stream. :func:`deflicker_events`
follows the same rule, so both agree exactly.

What it cannot do: the first ``cycles`` bursts of a pixel pass before it is marked, and a pixel that fires in
too few periods to show a rhythm, with no marked pixel near it, is never marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from neurova._numeric import stable_argsort
from neurova.encodings.filters import _check_positive_int, _events
from neurova.errors import EventFormatError
from neurova.events import (
    EVENT_DTYPE,
    SensorSize,
    concat_events,
    copy_events,
    search_times,
    take_events,
    validate_events,
)

__all__ = [
    "FlickerFilter",
    "deflicker_chunks",
    "deflicker_events",
    "estimate_flicker_frequency",
    "flicker_mask",
    "flicker_share",
]

MIN_FREQ_HZ = 90.0
MAX_FREQ_HZ = 1000.0
MIN_PEAK = 8.0
"""A spectral peak must stand this many times above the spectrum around it to count as flicker."""
ESTIMATE_US = 250_000
SHARE_SAMPLES = 4
"""Windows of :data:`ESTIMATE_US` that :func:`flicker_share` measures, spread over a longer recording."""
_PAD = 8  # zero-padding of the rate spectrum: a finer grid for the peak


def _check_band(min_freq_hz: float, max_freq_hz: float) -> None:
    if not 0 < min_freq_hz < max_freq_hz:
        raise ValueError(f"need 0 < min_freq_hz < max_freq_hz, got {min_freq_hz} and {max_freq_hz}")


def _rate_bin_us(max_freq_hz: float) -> int:
    return max(1, int(1e6 / (4 * max_freq_hz)))  # four bins per period of the highest frequency


def _frequency_from_counts(counts: np.ndarray, bin_us: int, min_freq_hz: float, max_freq_hz: float,
                           min_peak: float) -> float | None:
    """The flicker frequency of ON-event counts per ``bin_us`` bin (see the module docstring), or None."""
    if len(counts) < 8 or counts.sum() < 16:
        return None
    size = 1 << int(np.ceil(np.log2(len(counts) * _PAD)))
    spectrum = np.abs(np.fft.rfft(counts - counts.mean(), size))
    freqs = np.fft.rfftfreq(size, bin_us * 1e-6)
    step = freqs[1]
    band = np.flatnonzero((freqs >= min_freq_hz) & (freqs <= max_freq_hz))
    if len(band) == 0:
        return None

    def prominence(index: int) -> float:
        around = (np.abs(freqs - freqs[index]) <= 0.3 * freqs[index]) & (np.abs(freqs - freqs[index]) > 3 * _PAD * step)
        background = np.median(spectrum[around]) if around.any() else 0.0
        return float(spectrum[index] / background) if background > 0 else 0.0

    def local_peak(frequency: float) -> int:
        centre = round(frequency / step)
        lobe = np.arange(max(centre - _PAD, 1), min(centre + _PAD + 1, len(spectrum) - 1))
        return int(lobe[np.argmax(spectrum[lobe])])

    candidates = band[np.argsort(spectrum[band])[::-1][:20]]  # the highest bins, then the most prominent
    best = max(candidates, key=prominence)
    if prominence(best) < min_peak:
        return None
    for divisor in (2, 3):
        if freqs[best] / divisor >= min_freq_hz:
            lower = local_peak(freqs[best] / divisor)
            if prominence(lower) >= min_peak:
                best = lower
                break
    best = int(np.clip(best, 1, len(spectrum) - 2))
    a, b, c = spectrum[best - 1:best + 2]
    offset = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c != 0 else 0.0  # parabolic peak
    return float(freqs[best] + offset * step)


def _on_counts(events: np.ndarray, origin_us: int, bin_us: int, n_bins: int | None = None) -> np.ndarray:
    t = events["t"][events["p"] > 0].astype(np.int64) - origin_us
    return np.bincount(t // bin_us, minlength=n_bins or 0).astype(np.float64)


def estimate_flicker_frequency(events: Any, *, min_freq_hz: float = MIN_FREQ_HZ, max_freq_hz: float = MAX_FREQ_HZ,
                               min_peak: float = MIN_PEAK) -> float | None:
    """The frequency of a lamp's flicker in ``events`` (Hz), or None when none stands out.

    Args:
        events: ``(N,)`` events sorted by ``t`` (µs); a quarter of a second is enough at 100 Hz.
        min_freq_hz, max_freq_hz: the band searched (default 90 Hz to 1 kHz).
        min_peak: how many times the peak must stand above the spectrum within ±30 % of it.

    Returns:
        The frequency in Hz (e.g. 99.8 for a lamp on 50 Hz mains), or None.
    """
    _check_band(min_freq_hz, max_freq_hz)
    events = _events(events)
    if len(events) == 0:
        return None
    bin_us = _rate_bin_us(max_freq_hz)
    counts = _on_counts(events, int(events["t"][0]), bin_us)
    return _frequency_from_counts(counts, bin_us, min_freq_hz, max_freq_hz, min_peak)


def _flicker(events: np.ndarray, width: int, frequency_hz: float, cycles: int, span: int,
             coherence: float) -> np.ndarray:
    """``(N,)`` bool: the flicker events of ``events`` (sorted by ``t``, validated; see the module docstring)."""
    n = len(events)
    if n == 0:
        return np.zeros(0, dtype=bool)
    group = (events["y"].astype(np.int64) * width + events["x"]) * 2 + (events["p"] > 0)
    order = stable_argsort(group)  # by pixel and polarity, then time (the input is in time order)
    group = group.take(order)
    t = np.ascontiguousarray(events["t"], dtype=np.int64).take(order)  # gathered from 8-byte, not record, strides
    first = np.ones(n, dtype=bool)  # each burst's first event: none of its group in the half period before
    first[1:] = (group[1:] != group[:-1]) | (t[1:] - t[:-1] > 0.5e6 / frequency_hz)
    heads = np.flatnonzero(first)
    head_group = group[heads]
    turns = t[heads] * (frequency_hz * 1e-6)
    total = np.empty(len(heads) + 1, dtype=np.complex128)  # 0, then the prefix sums of the phase vectors
    total[0] = 0
    phase = total[1:]  # the phase vectors, exp(2πi · the fraction of a turn), summed in place
    fraction = np.floor(turns)
    np.multiply(np.subtract(turns, fraction, out=fraction), 2j * np.pi, out=phase)
    np.cumsum(np.exp(phase, out=phase), out=phase)
    index = np.arange(len(heads))
    begin = np.maximum(index - cycles + 1, 0)
    coherent = ((index >= cycles - 1) & (head_group[begin] == head_group) & (turns - turns[begin] <= span)
                & (np.abs(total[1:] - total[begin]) >= coherence * cycles))
    latest = np.full(n, -1, dtype=np.int64)
    latest[heads] = index
    mask = np.empty(n, dtype=bool)
    mask[order] = coherent[np.maximum.accumulate(latest)]
    return mask


def _first_of_each(key: np.ndarray) -> np.ndarray:
    """The index of each distinct non-negative ``key``'s first occurrence, by key (``np.unique``'s
    ``return_index``, by radix passes)."""
    order = stable_argsort(key)
    ordered = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return order[first]


_PRIOR = 1.0
"""Pseudo-counts of each polarity in a pixel's ON / OFF ratio before it has fired."""
_SPREAD = 2
"""A flicker event starts the comb filter in the pixels up to this far from it (a lamp lights an area; a pixel
near the threshold fires in too few cycles to show its own rhythm)."""


class _Demodulator:
    """The comb filter of flickering pixels (see the module docstring), fed ``(events, flicker mask)`` pieces in
    time order; per pixel: when it started flickering, its integrated brightness, the level it has emitted, and its
    ON and OFF counts."""

    def __init__(self, size: SensorSize, frequency_hz: float) -> None:
        n = size.width * size.height
        self.width, self.frequency_hz = size.width, frequency_hz
        self.since = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # time of a pixel's first flicker event
        self.brightness = np.zeros(n)  # integrated events, OFF weighted by the pixel's ON / OFF ratio
        self.level = np.zeros(n)  # integrated emitted events
        self.n_on = np.zeros(n)
        self.n_off = np.zeros(n)
        self.held = np.zeros(0, dtype=EVENT_DTYPE)  # flickering pixels' events of the cycle not yet complete
        self.replaced = 0

    def _cycle(self, t: np.ndarray) -> np.ndarray:
        return np.floor(t * (self.frequency_hz * 1e-6)).astype(np.int64)

    def push(self, events: np.ndarray, mask: np.ndarray, final: bool = False) -> np.ndarray:
        if len(events):
            pixel = events["y"].astype(np.int64) * self.width + events["x"]
            self._start(take_events(events, mask))
            comb = events["t"] >= self.since[pixel]  # a pixel is combed from its first flicker event on
            self.replaced += int(comb.sum())
            taken = take_events(events, comb)
            combed = concat_events([self.held, taken]) if len(self.held) else taken
            passed = take_events(events, ~comb)
        else:
            combed, passed = self.held, events
        if final or not len(events):
            complete, self.held = (combed, combed[:0]) if final else (combed[:0], combed)
        else:  # the cycles before the last event's are complete
            last = self._cycle(events["t"][-1:])[0]
            split = int(np.searchsorted(self._cycle(combed["t"]), last, side="left"))
            complete, self.held = combed[:split], combed[split:]
        emitted = self._emit(complete)
        both = concat_events([emitted, passed])  # emitted first at equal times: the same for any chunking
        return both.take(np.argsort(both["t"], kind="stable"))

    def _start(self, flicker: np.ndarray) -> None:
        """Comb the pixels within :data:`_SPREAD` of each flicker event from its time on."""
        height = len(self.since) // self.width
        # each pixel's first flicker event (the events are in time order) is the one that counts, by pixel
        first = _first_of_each(flicker["y"].astype(np.int64) * self.width + flicker["x"])
        x, y, t = flicker["x"][first].astype(np.int64), flicker["y"][first].astype(np.int64), flicker["t"][first]
        for dx in range(-_SPREAD, _SPREAD + 1):
            for dy in range(-_SPREAD, _SPREAD + 1):
                inside = (x + dx >= 0) & (x + dx < self.width) & (y + dy >= 0) & (y + dy < height)
                np.minimum.at(self.since, (y[inside] + dy) * self.width + x[inside] + dx, t[inside])

    def _emit(self, events: np.ndarray) -> np.ndarray:
        """The events of the flickering pixels' brightness averaged over each (complete) cycle."""
        if not len(events):
            return events[:0]
        pixel = events["y"].astype(np.int64) * self.width + events["x"]
        order = stable_argsort(pixel)
        pixel, t, on = pixel[order], events["t"][order], events["p"][order].astype(np.float64)
        period_us = 1e6 / self.frequency_hz
        cycle = self._cycle(t)
        weight = ((cycle + 1) * period_us - t) / period_us  # share of the cycle after the event
        new = np.ones(len(t), dtype=bool)
        new[1:] = (pixel[1:] != pixel[:-1]) | (cycle[1:] != cycle[:-1])
        starts = np.flatnonzero(new)
        n_on = np.add.reduceat(on, starts)
        n_off = np.add.reduceat(1.0 - on, starts)
        on_part = np.add.reduceat(weight * on, starts)
        off_part = np.add.reduceat(weight * (1.0 - on), starts)
        group_pixel, group_cycle = pixel[starts], cycle[starts]
        index = np.arange(len(starts))
        first = np.ones(len(starts), dtype=bool)
        first[1:] = group_pixel[1:] != group_pixel[:-1]
        rank = index - np.maximum.accumulate(np.where(first, index, 0))
        by_rank = stable_argsort(rank)
        bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
        steps = np.zeros(len(starts))
        for r in range(rank.max() + 1):  # each pixel's cycles in order, all pixels at once
            j = by_rank[bounds[r]:bounds[r + 1]]
            p = group_pixel[j]
            ratio = (self.n_on[p] + _PRIOR) / (self.n_off[p] + _PRIOR)  # an OFF event is worth this many ON
            mean = self.brightness[p] + on_part[j] - ratio * off_part[j]  # over the cycle
            step = np.trunc(mean - self.level[p])  # whole events, once the mean is one away from the level
            self.level[p] += step
            steps[j] = step
            self.brightness[p] += n_on[j] - ratio * n_off[j]
            self.n_on[p] += n_on[j]
            self.n_off[p] += n_off[j]
        count = np.abs(steps).astype(np.int64)
        which = np.repeat(index, count)
        out = np.empty(len(which), dtype=EVENT_DTYPE)
        out["x"] = group_pixel[which] % self.width
        out["y"] = group_pixel[which] // self.width
        out["t"] = np.ceil((group_cycle[which] + 1) * period_us).astype(np.int64)  # at the cycle's end
        out["p"] = steps[which] > 0
        # by time: a cycle's end grows with the cycle, so its cycle (from the first) sorts them in the same order
        cycles = group_cycle[which]
        return out[stable_argsort(cycles - cycles.min(initial=0))]


class FlickerFilter:
    """:func:`deflicker_events` over a stream of time-ordered chunks, in bounded memory, with counts.

    Args:
        sensor_size: ``(width, height)`` of the events in pixels.
        frequency_hz: the flicker frequency, if known (100 or 120 for mains lamps); None: estimated from the
            stream (the module docstring says how).
        min_freq_hz, max_freq_hz, min_peak: the estimate's band and threshold
            (:func:`estimate_flicker_frequency`).
        cycles: coherent bursts a pixel's polarity must fire before they are flicker events (>= 2).
        span: the most periods those may spread over (>= ``cycles``: a pixel may skip periods).
        coherence: the least mean phase-vector length of those bursts, in (0, 1].
        estimate_us: the windows of the frequency estimate, µs.

    Attributes:
        frequency_hz: the flicker frequency used (None while none is known).
        events_seen: events pushed so far.
        flicker_events: those found in a flickering pixel's coherent bursts (:func:`flicker_mask`).
        combed_events: those of flickering pixels, replaced by the comb filter's events.
    """

    def __init__(self, sensor_size: SensorSize | tuple[int, ...] | str, frequency_hz: float | None = None, *,
                 min_freq_hz: float = MIN_FREQ_HZ, max_freq_hz: float = MAX_FREQ_HZ, min_peak: float = MIN_PEAK,
                 cycles: int = 4, span: int = 10, coherence: float = 0.85, estimate_us: int = ESTIMATE_US) -> None:
        _check_band(min_freq_hz, max_freq_hz)
        if frequency_hz is not None and not frequency_hz > 0:
            raise ValueError(f"frequency_hz must be positive, got {frequency_hz!r}")
        if isinstance(cycles, bool) or not isinstance(cycles, int | np.integer) or cycles < 2:
            raise ValueError(f"cycles must be an integer >= 2, got {cycles!r}")
        if isinstance(span, bool) or not isinstance(span, int | np.integer) or span < cycles:
            raise ValueError(f"span must be an integer >= cycles ({cycles}), got {span!r}")
        if not 0 < coherence <= 1:
            raise ValueError(f"coherence must be in (0, 1], got {coherence!r}")
        _check_positive_int(estimate_us, "estimate_us")
        self.size = SensorSize.of(sensor_size)
        self.frequency_hz = None if frequency_hz is None else float(frequency_hz)
        self.band = (float(min_freq_hz), float(max_freq_hz), float(min_peak))
        self.cycles, self.span, self.coherence, self.estimate_us = int(cycles), int(span), float(coherence), int(estimate_us)
        self.events_seen = 0
        self.flicker_events = 0
        self._demodulator: _Demodulator | None = None
        self._tail = np.zeros(0, dtype=EVENT_DTYPE)
        self._origin: int | None = None  # the first event's time: the estimate windows start there
        self._window = 0  # the estimate window being counted (while no frequency is known)
        self._counts = np.zeros(0)
        self._held: list[np.ndarray] = []  # the first window's events, until its estimate

    @property
    def flicker_fraction(self) -> float:
        """Share of the events seen that were flicker (0 before any event)."""
        return self.flicker_events / self.events_seen if self.events_seen else 0.0

    @property
    def combed_events(self) -> int:
        """Events of the flickering pixels (from their first flicker event on) that the comb filter replaced."""
        return 0 if self._demodulator is None else self._demodulator.replaced

    def __call__(self, chunk: Any) -> np.ndarray:
        """``chunk`` with its flickering pixels' events replaced by the comb filter's, sorted by ``t``.

        Events come out up to the last complete flicker cycle of a flickering pixel (its later events with the
        next chunk); while the frequency is estimated, the first window's events come out together once it is
        complete (earlier calls return no events).

        Raises:
            EventFormatError: the chunk is unsorted, earlier than the one before it, or outside the sensor.
        """
        return self._comb(self.push(chunk), final=False)

    def finish(self) -> np.ndarray:
        """The events still held back: the last flicker cycle, or a stream shorter than one estimate window."""
        return self._comb(self.push_finish(), final=True)

    def _comb(self, pieces: list[tuple[np.ndarray, np.ndarray]], final: bool) -> np.ndarray:
        out = []
        for events, mask in pieces:
            if self._demodulator is None and self.frequency_hz is not None and mask.any():
                self._demodulator = _Demodulator(self.size, self.frequency_hz)
            out.append(events if self._demodulator is None else self._demodulator.push(events, mask))
        if final and self._demodulator is not None:
            out.append(self._demodulator.push(np.zeros(0, dtype=EVENT_DTYPE), np.zeros(0, dtype=bool), final=True))
        joined = concat_events(out)
        return copy_events(joined) if len(out) == 1 else joined  # a new array, never a view of the input

    def push(self, chunk: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """The detection alone: ``chunk`` as ``(events, flicker mask)`` pieces in the input order (the first
        estimate window's events once it is complete), the comb filter's input."""
        chunk = _events(chunk)
        if not len(chunk):
            return []
        validate_events(chunk, sensor_size=self.size)
        last = self._held[-1] if self._held else self._tail
        if len(last) and chunk["t"][0] < last["t"][-1]:
            raise EventFormatError(f"event chunks out of order: a chunk starts at {chunk['t'][0]} µs, before the "
                                   f"previous chunk's last event at {last['t'][-1]} µs")
        self.events_seen += len(chunk)
        if self._origin is None:
            self._origin = int(chunk["t"][0])
        out: list[tuple[np.ndarray, np.ndarray]] = []
        while len(chunk) and self.frequency_hz is None:
            end = self._origin + (self._window + 1) * self.estimate_us
            split = search_times(chunk["t"], end, side="left")
            piece, chunk = chunk[:split], chunk[split:]
            self._count(piece)
            if self._window == 0:
                self._held.append(piece)
            elif len(piece):
                out.append(self._pass(piece))
            if len(chunk):  # the window is complete
                self._estimate()
                out[:0] = self._release()
        if len(chunk):
            out.append(self._filter(chunk))
        return out

    def push_finish(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The detection alone: the events :meth:`push` still holds, as ``(events, flicker mask)`` pieces."""
        if not self._held:
            return []
        self._estimate()
        return self._release()

    def _release(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if not self._held:
            return []
        held, self._held = concat_events(self._held), []
        if not len(held):
            return []
        return [self._filter(held) if self.frequency_hz is not None else self._pass(held)]

    def _count(self, events: np.ndarray) -> None:
        bin_us = _rate_bin_us(self.band[1])
        n_bins = -(-self.estimate_us // bin_us)
        origin = self._origin + self._window * self.estimate_us  # type: ignore[operator]
        counts = _on_counts(events, origin, bin_us, n_bins)[:n_bins]
        self._counts = counts if not len(self._counts) else self._counts + counts

    def _estimate(self) -> None:
        min_freq, max_freq, min_peak = self.band
        self.frequency_hz = _frequency_from_counts(self._counts, _rate_bin_us(max_freq), min_freq, max_freq,
                                                   min_peak)
        self._window += 1
        self._counts = np.zeros(0)

    def _history_us(self) -> int:
        return int(np.ceil((self.span + 2) * 1e6 / (self.frequency_hz or self.band[0])))

    def _keep_tail(self, events: np.ndarray) -> None:
        self._tail = events[search_times(events["t"], int(events["t"][-1]) - self._history_us(), side="left"):]

    def _pass(self, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tail = self._tail
        self._keep_tail(concat_events([tail, events]) if len(tail) else events)
        return events, np.zeros(len(events), dtype=bool)

    def _filter(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.frequency_hz is not None
        tail = self._tail
        both = concat_events([tail, chunk]) if len(tail) else chunk
        mask = _flicker(both, self.size.width, self.frequency_hz, self.cycles, self.span, self.coherence)[len(tail):]
        self.flicker_events += int(mask.sum())
        self._keep_tail(both)
        return chunk, mask


def flicker_mask(events: Any, sensor_size: SensorSize | tuple[int, ...] | str, frequency_hz: float | None = None,
                 **options: Any) -> np.ndarray:
    """Which events are flicker events (see the module docstring): ``(N,)`` bool, in the input order.

    Args:
        events: ``(N,)`` events sorted by ``t`` (µs), on ``sensor_size``.
        sensor_size: ``(width, height)`` of the events in pixels.
        frequency_hz: the flicker frequency, if known; None: estimated as :class:`FlickerFilter` does.
        **options: :class:`FlickerFilter`'s other arguments.

    Raises:
        EventFormatError: events unsorted, negative, or outside ``sensor_size``.
    """
    events = _events(events)
    flicker = FlickerFilter(sensor_size, frequency_hz, **options)
    masks = [mask for _, mask in flicker.push(events) + flicker.push_finish()]
    return np.concatenate(masks) if masks else np.zeros(0, dtype=bool)


def flicker_share(events: Any, sensor_size: SensorSize | tuple[int, ...] | str, *, samples: int = SHARE_SAMPLES,
                  **options: Any) -> tuple[float, float | None]:
    """``(share, frequency_hz)``: the share of a recording's events that are flicker, and the flicker frequency.

    A recording no longer than ``samples`` estimate windows (:data:`ESTIMATE_US` each, 1 s by default) is
    measured whole, as :class:`FlickerFilter` measures it. A longer one is measured on ``samples`` windows spread
    evenly from its start to its end, each with its own frequency estimate and mask, counting the events after
    the first ``cycles + 1`` periods of each window (a pixel's first bursts cannot show their rhythm yet): a
    lamp flickers all along, and the mask costs about 200 ns per event (3 s for 16 M events) where the samples
    cost a few hundred ms at most. ``frequency_hz`` is the frequency of the window with the most flicker
    events (None when none was found).

    Args:
        events: ``(N,)`` events sorted by ``t`` (µs), on ``sensor_size``.
        sensor_size: ``(width, height)`` of the events in pixels.
        samples: windows measured in a longer recording (>= 1).
        **options: :class:`FlickerFilter`'s other arguments.

    Raises:
        EventFormatError: events unsorted, negative, or outside ``sensor_size``.
    """
    _check_positive_int(samples, "samples")
    events = _events(events)
    estimate_us = int(options.get("estimate_us", ESTIMATE_US))
    if not len(events) or int(events["t"][-1]) - int(events["t"][0]) < samples * estimate_us:
        whole = FlickerFilter(sensor_size, **options)
        whole.push(events)
        whole.push_finish()
        return whole.flicker_fraction, whole.frequency_hz
    first, last = int(events["t"][0]), int(events["t"][-1]) + 1 - estimate_us
    counted = flicker = 0
    found: list[tuple[int, float]] = []
    for start in np.linspace(first, last, samples).astype(np.int64):
        window = events[search_times(events["t"], int(start)):search_times(events["t"], int(start) + estimate_us)]
        sample = FlickerFilter(sensor_size, **options)
        masks = [mask for _, mask in sample.push(window) + sample.push_finish()]
        if sample.frequency_hz is None or not masks:
            counted += len(window)
            continue
        warm = search_times(window["t"], int(start) + int(np.ceil((sample.cycles + 1) * 1e6 / sample.frequency_hz)))
        n_flicker = int(np.concatenate(masks)[warm:].sum())
        counted += len(window) - warm
        flicker += n_flicker
        found.append((n_flicker, sample.frequency_hz))
    return (flicker / counted if counted else 0.0), (max(found)[1] if found else None)


def deflicker_events(events: Any, sensor_size: SensorSize | tuple[int, ...] | str, frequency_hz: float | None = None,
                     **options: Any) -> np.ndarray:
    """``events`` with the flicker combed out (see the module docstring): a new array sorted by ``t``.

    Args: as :func:`flicker_mask`. Without flicker (none found, or no pixel flickering) the events come back
    unchanged.
    """
    flicker = FlickerFilter(sensor_size, frequency_hz, **options)
    return concat_events([flicker(events), flicker.finish()])


def deflicker_chunks(chunks: Iterable[Any], sensor_size: SensorSize | tuple[int, ...] | str,
                     frequency_hz: float | None = None, **options: Any) -> Iterator[np.ndarray]:
    """:func:`deflicker_events` over a stream of time-ordered chunks (:class:`FlickerFilter`): an iterator of
    each chunk's combed events ``(M,)`` (empty while the first estimate window is held back), then the rest."""
    flicker = FlickerFilter(sensor_size, frequency_hz, **options)  # checks the arguments now

    def run() -> Iterator[np.ndarray]:
        for chunk in chunks:
            yield flicker(chunk)
        rest = flicker.finish()
        if len(rest):
            yield rest

    return run()
