"""The domain check: are a recording's model inputs like the inputs the model was trained on?

A model trained on one kind of input gives confident nonsense on another: on a real recording whose
face crops were a faint haze (38-47 % non-zero pixels, median non-zero value 0.025) where training
inputs were sparse and bright (6.5 %, 0.25), a model predicted its all-zero answer for every window.
This module measures model inputs the same way at training time and at prediction time and says when
they differ by more than a factor (2 by default).

Model inputs are arrays ``(N, K, C, S, S)`` (N inputs of K frames, C channels, S x S pixels; any
``(N, ...)`` shape works) of encoded values (TBR codes in [0, 1] for the default contract).
:class:`InputStats` holds, over all pixels of all inputs:

* ``nonzero_fraction``: the fraction of non-zero pixels (how dense the input is), and the 10th and
  90th percentiles of the per-input fractions;
* ``nonzero_median``: the median of the non-zero absolute values (how bright an active pixel is);
* ``mean``: the mean absolute value;
* ``samples``: a few representative inputs' newest frames ``(n, C, S, S)``, for figures.

:class:`InputStatsCollector` computes them over a stream of batches in bounded memory;
:func:`compare_stats` puts two sets side by side with ratios (the non-zero fraction and the mean against the
span of the training inputs' own fractions, so a model trained on sparse and dense inputs accepts both), and
:func:`check_inputs` /
:class:`DomainMonitor` warn with :class:`DomainWarning` naming the numbers.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_TOLERANCE",
    "DomainComparison",
    "DomainMonitor",
    "DomainWarning",
    "InputStats",
    "InputStatsCollector",
    "check_inputs",
    "compare_stats",
    "input_stats",
]

DEFAULT_TOLERANCE = 2.0
"""A statistic more than this factor above or below the training value is out of the model's domain."""

_STAT_KEYS = ("n_inputs", "nonzero_fraction", "nonzero_fraction_p10", "nonzero_fraction_p90", "nonzero_median",
              "mean")

# (attribute, label, unit format, power of the tolerance) of the statistics compared; each is a ratio-scale
# quantity. The mean is about the product of the other two (how many pixels are active times how bright):
# where each may move by the tolerance, the mean may move by its square. With the tolerance itself, content
# simulated like the training data but moving more (high arousal) was flagged: non-zero pixels 1.86x and
# median 1.00x gave a mean of 2.03x.
_COMPARED = (
    ("nonzero_fraction", "non-zero pixels", "percent", 1),
    ("nonzero_median", "median non-zero value", "value", 1),
    ("mean", "mean value", "value", 2),
)


class DomainWarning(UserWarning):
    """A recording's model inputs differ from the model's training inputs (see :func:`check_inputs`)."""


@dataclass(frozen=True)
class InputStats:
    """Statistics of a set of model inputs (see the module docstring).

    Attributes:
        n_inputs: inputs measured.
        nonzero_fraction: fraction of non-zero pixels over all inputs, frames and channels, in [0, 1].
        nonzero_fraction_p10, nonzero_fraction_p90: 10th and 90th percentiles of the per-input fractions.
        nonzero_median: median absolute value of the non-zero pixels; ``None`` when every pixel is zero.
        mean: mean absolute value over all pixels.
        samples: ``(n, C, S, S)`` float32 newest frames of a few representative inputs (closest to evenly
            spaced quantiles of the per-input non-zero fraction), or ``None``; not part of :meth:`to_dict`.
    """

    n_inputs: int
    nonzero_fraction: float
    nonzero_fraction_p10: float
    nonzero_fraction_p90: float
    nonzero_median: float | None
    mean: float
    samples: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The statistics as a JSON-friendly dict (without ``samples``)."""
        return {k: getattr(self, k) for k in _STAT_KEYS}

    @classmethod
    def from_dict(cls, data: Any, samples: np.ndarray | None = None) -> InputStats:
        """Read :meth:`to_dict`'s output; ``ValueError`` naming the problem for anything else."""
        if not isinstance(data, dict):
            raise ValueError(f"input statistics must be a mapping, got {type(data).__name__}")
        missing = [k for k in _STAT_KEYS if k not in data]
        unknown = sorted(set(data) - set(_STAT_KEYS))
        if missing or unknown:
            raise ValueError(f"input statistics lack the keys {missing} or have unknown keys {unknown}")
        values: dict[str, Any] = {}
        for key in _STAT_KEYS:
            value = data[key]
            if key == "nonzero_median" and value is None:
                values[key] = None
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"input statistic {key!r} must be a finite number >= 0, got {value!r}")
            values[key] = int(value) if key == "n_inputs" else float(value)
        if values["n_inputs"] != data["n_inputs"]:
            raise ValueError(f"input statistic 'n_inputs' must be an integer, got {data['n_inputs']!r}")
        if samples is not None:
            samples = np.asarray(samples, dtype=np.float32)
            if samples.ndim != 4:
                raise ValueError(f"input samples must have shape (n, C, S, S), got {samples.shape}")
        return cls(**values, samples=samples)

    def with_samples(self, samples: np.ndarray | None) -> InputStats:
        """A copy holding ``samples``."""
        return dataclasses.replace(self, samples=samples)


def _as_numpy(inputs: Any) -> np.ndarray:
    if type(inputs).__module__.startswith("torch"):
        inputs = inputs.detach().to("cpu").float().numpy()
    array = np.asarray(inputs, dtype=np.float32)
    if array.ndim < 2:
        raise ValueError(f"model inputs must have shape (N, ...), e.g. (N, K, C, S, S), got {array.shape}")
    return array


def _newest_frame(one_input: np.ndarray) -> np.ndarray:
    """``(C, S, S)`` newest frame of one input ``(K, C, S, S)``, ``(C, S, S)`` or ``(S, S)``."""
    if one_input.ndim == 2:
        return one_input[None]
    while one_input.ndim > 3:
        one_input = one_input[-1]
    return one_input


class InputStatsCollector:
    """Accumulates :class:`InputStats` over batches of model inputs in bounded memory.

    Counts and sums are exact. The median of the non-zero values is taken over a uniform random
    subsample of at most ``max_values`` of them (kept by decimation: each batch contributes a
    ``keep`` fraction of its values, drawn at random positions, and ``keep`` and the pool are halved
    whenever the pool is full), and the sample frames come from a
    reservoir of ``n_candidates`` inputs; both are seeded, so the result is deterministic.

    Args:
        max_inputs: stop taking inputs after this many (``None``: no limit).
        n_samples: representative frames kept for :attr:`InputStats.samples`.
        n_candidates: inputs among which the representative ones are chosen.
        max_values: size of the pool of non-zero values for the median.
        seed: seed of the subsampling.
    """

    def __init__(self, *, max_inputs: int | None = None, n_samples: int = 4, n_candidates: int = 32,
                 max_values: int = 1 << 18, seed: int = 0) -> None:
        if max_inputs is not None and max_inputs < 1:
            raise ValueError(f"max_inputs must be >= 1 or None, got {max_inputs}")
        if n_samples < 0 or n_candidates < n_samples or max_values < 2:
            raise ValueError("need 0 <= n_samples <= n_candidates and max_values >= 2")
        self.max_inputs = max_inputs
        self.n_samples = n_samples
        self.n_candidates = n_candidates
        self.max_values = max_values
        self._rng = np.random.default_rng(seed)
        self._pixels = 0
        self._nonzero = 0
        self._abs_sum = 0.0
        self._fractions: list[np.ndarray] = []
        self._pool: list[np.ndarray] = []
        self._pool_size = 0
        self._keep = 1.0
        self._candidates: list[tuple[float, np.ndarray]] = []
        self._offered = 0
        self.n_inputs = 0

    @property
    def full(self) -> bool:
        """True once ``max_inputs`` inputs have been taken."""
        return self.max_inputs is not None and self.n_inputs >= self.max_inputs

    def update(self, inputs: Any) -> None:
        """Take a batch ``(B, ...)`` (numpy or torch; e.g. ``(B, K, C, S, S)``); inputs past ``max_inputs`` are ignored."""
        array = _as_numpy(inputs)
        if self.max_inputs is not None:
            array = array[: max(0, self.max_inputs - self.n_inputs)]
        if len(array) == 0:
            return
        flat = np.abs(array.reshape(len(array), -1))
        counts = np.count_nonzero(flat, axis=1)
        self._pixels += flat.size
        self._nonzero += int(counts.sum())
        self._abs_sum += float(flat.sum(dtype=np.float64))
        fractions = counts / flat.shape[1]
        self._fractions.append(fractions)
        self._add_values(flat.reshape(-1))
        for i in range(len(array)):
            self._offer_candidate(float(fractions[i]), array[i])
        self.n_inputs += len(array)

    def _add_values(self, values: np.ndarray) -> None:
        """Pool the non-zero ones of ``values`` (absolute values, zeros included), each with probability ``keep``."""
        if self._keep < 1.0:  # a binomial count of random positions: cheaper than a mask over every value
            count = int(self._rng.binomial(len(values), self._keep))
            values = values[self._rng.integers(0, len(values), count)]
        values = values[values != 0]
        if len(values) == 0:
            return
        self._pool.append(values.astype(np.float32, copy=True))
        self._pool_size += len(values)
        while self._pool_size > self.max_values:
            pool = np.concatenate(self._pool)
            pool = pool[self._rng.random(len(pool)) < 0.5]
            self._pool, self._pool_size, self._keep = [pool], len(pool), self._keep / 2

    def _offer_candidate(self, fraction: float, one_input: np.ndarray) -> None:
        """Reservoir sampling (Algorithm R): every input offered so far is a candidate with equal chance."""
        self._offered += 1
        if len(self._candidates) < self.n_candidates:
            index = len(self._candidates)
        else:
            index = int(self._rng.integers(0, self._offered))
            if index >= self.n_candidates:
                return
        entry = (fraction, _newest_frame(one_input).astype(np.float32, copy=True))
        if index == len(self._candidates):
            self._candidates.append(entry)
        else:
            self._candidates[index] = entry

    def _samples(self, fractions: np.ndarray) -> np.ndarray | None:
        if not self._candidates or self.n_samples == 0:
            return None
        targets = np.quantile(fractions, (np.arange(self.n_samples) + 0.5) / self.n_samples)
        left = list(range(len(self._candidates)))
        chosen = []
        for target in targets:
            if not left:
                break
            best = min(left, key=lambda i: abs(self._candidates[i][0] - target))
            left.remove(best)
            chosen.append(best)
        chosen.sort(key=lambda i: self._candidates[i][0])
        return np.stack([self._candidates[i][1] for i in chosen])

    def compute(self) -> InputStats:
        """The statistics of every input taken so far; ``ValueError`` before the first one."""
        if self.n_inputs == 0:
            raise ValueError("no model inputs were measured")
        fractions = np.concatenate(self._fractions)
        pool = np.concatenate(self._pool) if self._pool else np.zeros(0, np.float32)
        p10, p90 = np.quantile(fractions, [0.1, 0.9])
        return InputStats(
            n_inputs=self.n_inputs,
            nonzero_fraction=self._nonzero / self._pixels,
            nonzero_fraction_p10=float(p10),
            nonzero_fraction_p90=float(p90),
            nonzero_median=float(np.median(pool)) if len(pool) else None,
            mean=self._abs_sum / self._pixels,
            samples=self._samples(fractions),
        )


def input_stats(inputs: Any, *, n_samples: int = 4) -> InputStats:
    """:class:`InputStats` of a batch of model inputs ``(N, ...)`` such as ``(N, K, C, S, S)`` (numpy or torch)."""
    collector = InputStatsCollector(n_samples=n_samples)
    collector.update(inputs)
    return collector.compute()


@dataclass(frozen=True)
class DomainComparison:
    """A recording's input statistics beside the training inputs' ones.

    Attributes:
        stats: the recording's (or any new data's) statistics.
        reference: the training inputs' statistics.
        tolerance: the factor beyond which a statistic is out of range (its square for the mean).
        rows: ``(label, value, reference value, ratio or None, out of range)`` per compared statistic:
            non-zero pixel fraction, median non-zero value, mean value. The ratio is value / reference
            (None when the reference is 0 or a value is undefined).
    """

    stats: InputStats
    reference: InputStats
    tolerance: float
    rows: tuple[tuple[str, float | None, float | None, float | None, bool], ...]

    @property
    def ok(self) -> bool:
        """True when every statistic is within ``tolerance`` of the training value."""
        return not any(row[4] for row in self.rows)

    def problems(self) -> list[str]:
        """One phrase per out-of-range statistic, naming both values and the ratio."""
        out = []
        for (label, value, ref, ratio, bad), (_, _, unit, _) in zip(self.rows, _COMPARED):
            if bad:
                how = f" ({ratio:.2g}x)" if ratio is not None else ""
                out.append(f"{label} {_fmt(value, unit)} vs {_fmt(ref, unit)} in training{how}")
        return out

    def table(self) -> str:
        """A plain-text table: statistic, recording, training, ratio, verdict."""
        header = ("statistic", "recording", "training", "ratio", "")
        lines = [header]
        for (label, value, ref, ratio, bad), (_, _, unit, _) in zip(self.rows, _COMPARED):
            lines.append((label, _fmt(value, unit), _fmt(ref, unit), "-" if ratio is None else f"{ratio:.2f}x",
                          "OUT OF RANGE" if bad else "ok"))
        spread = (f"{_fmt(self.stats.nonzero_fraction_p10, 'percent')}-{_fmt(self.stats.nonzero_fraction_p90, 'percent')}",
                  f"{_fmt(self.reference.nonzero_fraction_p10, 'percent')}-"
                  f"{_fmt(self.reference.nonzero_fraction_p90, 'percent')}")
        lines.append(("non-zero pixels, p10-p90", *spread, "", ""))
        lines.append(("inputs measured", str(self.stats.n_inputs), str(self.reference.n_inputs), "", ""))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
        text.insert(1, "  ".join("-" * w for w in widths[:-1]))
        factor = f"factor {self.tolerance:g}, {self.tolerance**2:g} for the mean"
        verdict = (f"within the training range ({factor})" if self.ok else
                   f"OUTSIDE the training range ({factor}): predictions may be meaningless")
        return "\n".join([*text, "", "inputs are " + verdict])

    def __str__(self) -> str:
        return self.table()


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.3g} %" if unit == "percent" else f"{value:.3g}"


def compare_stats(stats: InputStats, reference: InputStats, tolerance: float = DEFAULT_TOLERANCE,
                  ) -> DomainComparison:
    """Compare ``stats`` (new data) with ``reference`` (training inputs).

    A statistic is out of range when its ratio to the reference is above ``tolerance`` or below
    ``1 / tolerance``; for the mean, the product of the other two, ``tolerance ** 2``. The non-zero pixel
    fraction is compared with the span of the training inputs' own fractions instead (their 10th to 90th
    percentile, widened to the overall fraction when that lies outside): out of range more than ``tolerance``
    below its low end or above its high end, and the mean (density times brightness) likewise with the span
    scaled to it. A model trained on sparse and dense inputs alike (e.g. on clean and noisy sensors) has seen
    both, so neither is foreign to it; the ratios shown stay those to the overall values. Inputs with no non-zero
    pixel at all (an undefined median) are out of range unless the reference has none either.
    """
    if not tolerance > 1:
        raise ValueError(f"tolerance must be > 1, got {tolerance}")
    rows = []
    # the span of the training inputs' own non-zero fractions, as factors of the overall fraction (1, 1 when
    # unknown); the mean, about density times brightness, may spread by the same factors
    spread_low = spread_high = 1.0
    if reference.nonzero_fraction > 0:
        spread_low = min(1.0, reference.nonzero_fraction_p10 / reference.nonzero_fraction)
        spread_high = max(1.0, reference.nonzero_fraction_p90 / reference.nonzero_fraction)
    for key, label, _, power in _COMPARED:
        value, ref = getattr(stats, key), getattr(reference, key)
        if value is None or ref is None:
            rows.append((label, value, ref, None, (value is None) != (ref is None)))
            continue
        if ref == 0:
            rows.append((label, value, ref, None, value != 0))
            continue
        ratio, limit = value / ref, tolerance**power
        low, high = (ref * spread_low, ref * spread_high) if key != "nonzero_median" else (ref, ref)
        rows.append((label, value, ref, ratio, not low / limit <= value <= high * limit))
    return DomainComparison(stats, reference, float(tolerance), tuple(rows))


def check_inputs(stats: InputStats, reference: InputStats | None, *, source: str | None = None,
                 tolerance: float = DEFAULT_TOLERANCE, stacklevel: int = 2) -> DomainComparison | None:
    """Warn (:class:`DomainWarning`) when ``stats`` fall outside ``reference`` by more than ``tolerance``.

    The message names the source, each out-of-range statistic with both values and the ratio, and
    what to check. Returns the comparison, or ``None`` when there is no reference (a model saved
    without input statistics).
    """
    if reference is None:
        return None
    comparison = compare_stats(stats, reference, tolerance)
    if not comparison.ok:
        where = f"{source}: " if source else ""
        warnings.warn(
            f"{where}the model's inputs differ from its training inputs by more than {tolerance:g}x "
            f"({tolerance**2:g}x for the mean): "
            f"{'; '.join(comparison.problems())} (over {stats.n_inputs} input(s)). Predictions may be meaningless "
            "(e.g. one emotion everywhere); check the face box (face_box=, detect_face=) and run "
            "'neurova check RECORDING --model MODEL' for a figure. A camera noisier, more or less sensitive than the "
            "training sensor: a model trained on several sensors copes best (the shipped "
            "tiny_cnn_fusion.synthetic_faces_cameras was trained on ten), and raise_threshold= matches a known, more "
            "sensitive one (docs/inference.md).",
            DomainWarning, stacklevel=stacklevel,
        )
    return comparison


class DomainMonitor:
    """Watches the model inputs of a prediction run and warns once when they are out of the training range.

    The check runs once ``warn_after`` inputs have been seen (early, so a live stream warns within
    about a second at 25 predictions/s), or at :meth:`finish` for a shorter run; :attr:`stats`
    covers every input seen.

    Args:
        reference: the model's training input statistics (``model.input_stats``); ``None`` disables the check.
        source: named in the warning (a file path).
        warn_after: inputs measured before the check.
        tolerance: see :func:`compare_stats`.
    """

    def __init__(self, reference: InputStats | None, *, source: str | None = None, warn_after: int = 32,
                 tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.reference = reference
        self.source = source
        self.warn_after = int(warn_after)
        self.tolerance = float(tolerance)
        self.collector = InputStatsCollector()
        self.comparison: DomainComparison | None = None
        self._checked = False

    def update(self, inputs: Any) -> None:
        """Measure a batch of model inputs ``(B, K, C, S, S)``; checks once ``warn_after`` have been seen."""
        self.collector.update(inputs)
        if not self._checked and self.collector.n_inputs >= self.warn_after:
            self._check()

    def finish(self) -> InputStats | None:
        """Check now if not done yet; the statistics of every input seen (``None`` if none)."""
        if self.collector.n_inputs == 0:
            return None
        if not self._checked:
            self._check()
        return self.stats

    @property
    def stats(self) -> InputStats:
        return self.collector.compute()

    def _check(self) -> None:
        self._checked = True
        self.comparison = check_inputs(self.collector.compute(), self.reference, source=self.source,
                                       tolerance=self.tolerance, stacklevel=4)
