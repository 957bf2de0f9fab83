"""Pixel-model parameters of the DVS simulator and v2e's named presets.

Parameters resolve in three layers, later ones winning: v2e's own defaults
(:data:`V2E_DEFAULTS`, the defaults of v2e's ``EventEmulator``), then a named
preset (:data:`PRESETS`, v2e's ``--dvs_params clean|noisy``), then the keyword
arguments a caller passes explicitly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESETS", "TIMESTAMP_MODES", "V2E_DEFAULTS", "DVSParams", "checked_overrides", "resolve_params",
           "simulation_key"]

TIMESTAMP_MODES = ("linear", "v2e")
"""``"linear"``: each threshold crossing at the time the linearly interpolated brightness reaches it, shot noise at
uniform times of the interval; ``"v2e"``: v2e's shared grid of ``k`` evenly spaced times per frame interval, shot
noise at the interval end."""


@dataclass(frozen=True)
class DVSParams:
    """Parameters of v2e's DVS pixel model (thresholds in natural-log intensity units).

    Attributes:
        pos_thres: nominal ON threshold (log units).
        neg_thres: nominal OFF threshold (log units).
        sigma_thres: standard deviation of the per-pixel threshold mismatch (log units).
        cutoff_hz: photoreceptor low-pass 3 dB cutoff at full intensity in Hz (0 = off).
        leak_rate_hz: nominal rate of leak (ON) events per pixel in Hz (0 = off).
        leak_jitter_fraction: relative per-frame jitter of the leak rate.
        noise_rate_cov_decades: spread (in decades) of the fixed per-pixel log-normal leak-rate factor.
        shot_noise_rate_hz: rate of shot-noise events (ON + OFF) per pixel in Hz at black (0 = off).
        refractory_period_s: minimal time between two events of a pixel in seconds (0 = off).
        timestamp_mode: ``"linear"`` or ``"v2e"`` (see :data:`TIMESTAMP_MODES`).
    """

    pos_thres: float = 0.2
    neg_thres: float = 0.2
    sigma_thres: float = 0.03
    cutoff_hz: float = 0.0
    leak_rate_hz: float = 0.1
    leak_jitter_fraction: float = 0.1
    noise_rate_cov_decades: float = 0.1
    shot_noise_rate_hz: float = 0.0
    refractory_period_s: float = 0.0
    timestamp_mode: str = "linear"

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "timestamp_mode":
                if value not in TIMESTAMP_MODES:
                    raise ValueError(f"timestamp_mode must be one of {TIMESTAMP_MODES}, got {value!r}")
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{field.name} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"{field.name} must be >= 0, got {value}")
        if self.pos_thres <= 0 or self.neg_thres <= 0:
            raise ValueError(f"thresholds must be > 0, got pos_thres={self.pos_thres}, neg_thres={self.neg_thres}")

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (e.g. for HDF5 attributes)."""
        return dataclasses.asdict(self)


V2E_DEFAULTS = DVSParams()
"""v2e ``EventEmulator``'s defaults: thresholds 0.2/0.2 ± 0.03, leak 0.1 Hz with jitter 0.1 and 0.1 decades."""

PRESETS: dict[str, dict[str, float]] = {
    "clean": {
        "pos_thres": 0.2,
        "neg_thres": 0.2,
        "sigma_thres": 0.02,
        "cutoff_hz": 0.0,
        "leak_rate_hz": 0.0,
        "leak_jitter_fraction": 0.0,
        "noise_rate_cov_decades": 0.0,
        "shot_noise_rate_hz": 0.0,
        "refractory_period_s": 0.0,
    },
    "noisy": {
        "pos_thres": 0.2,
        "neg_thres": 0.2,
        "sigma_thres": 0.05,
        "cutoff_hz": 30.0,
        "leak_rate_hz": 0.1,
        "leak_jitter_fraction": 0.1,
        "noise_rate_cov_decades": 0.1,
        "shot_noise_rate_hz": 5.0,
        "refractory_period_s": 0.0,
    },
}
"""v2e's ``--dvs_params`` presets (``EventEmulator.set_dvs_params``)."""


def resolve_params(preset: str | None = None, **overrides: Any) -> DVSParams:
    """Resolve v2e defaults ← preset ← explicit overrides into :class:`DVSParams`.

    Args:
        preset: ``"clean"``, ``"noisy"`` or ``None`` (v2e's ``EventEmulator`` defaults).
        **overrides: :class:`DVSParams` fields; ``None`` values are ignored (they mean "not given").

    Raises:
        ValueError: unknown preset or parameter name, or an invalid value.
    """
    values = V2E_DEFAULTS.to_dict()
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown DVS preset {preset!r}; choose one of {sorted(PRESETS)}")
        values.update(PRESETS[preset])
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ValueError(f"unknown DVS parameter(s) {unknown}; valid names: {sorted(values)}")
    values.update({name: value for name, value in overrides.items() if value is not None})
    return DVSParams(**values)


def checked_overrides(preset: str | None, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``params``, pixel-model parameters over ``preset``, as a dict sorted by name; None when there are none.

    The datasets' configs keep their ``dvs_params`` this way (one value per meaning, for equality and cache keys).

    Raises:
        ValueError: an unknown preset or parameter, or an invalid value (:func:`resolve_params`).
    """
    resolve_params(preset, **dict(params or {}))
    return dict(sorted((params or {}).items())) or None


def simulation_key(preset: str | None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The simulator settings a cache of simulated events is keyed by (the datasets' event caches).

    ``{"preset": preset}``, plus ``"dvs_params"`` (sorted) when explicit parameters are given, plus
    ``"shot_noise_times": "uniform"`` when the resolved parameters have shot noise in ``"linear"`` mode: since
    29 Nov 2026 that mode spreads shot noise over each interval instead of stamping it at the interval end, so
    the noisy caches built before hold other events and must not be reused. Noise-free settings keep the key
    they always had.

    Raises:
        ValueError: an unknown preset or parameter, or an invalid value (:func:`resolve_params`).
    """
    overrides = checked_overrides(preset, params)
    resolved = resolve_params(preset, **(overrides or {}))
    key: dict[str, Any] = {"preset": preset}
    if overrides:
        key["dvs_params"] = overrides
    if resolved.shot_noise_rate_hz > 0 and resolved.timestamp_mode == "linear":
        key["shot_noise_times"] = "uniform"
    return key
