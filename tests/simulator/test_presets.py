"""Tests of neurova.simulator.presets: v2e's defaults, the presets, parameter resolution and its errors."""

from __future__ import annotations

import dataclasses

import pytest

from neurova.simulator import (
    PRESETS,
    TIMESTAMP_MODES,
    V2E_DEFAULTS,
    DVSParams,
    DVSSimulator,
    checked_overrides,
    resolve_params,
    simulation_key,
)


def test_parameters_resolve_defaults_then_preset_then_arguments() -> None:
    assert (V2E_DEFAULTS.pos_thres, V2E_DEFAULTS.neg_thres, V2E_DEFAULTS.sigma_thres) == (0.2, 0.2, 0.03)
    assert resolve_params("noisy").shot_noise_rate_hz == PRESETS["noisy"]["shot_noise_rate_hz"] == 5.0
    assert resolve_params("clean", sigma_thres=0.0, cutoff_hz=None).sigma_thres == 0.0
    sim = DVSSimulator(2, 2, preset="noisy", refractory_period_s=0.01)
    assert (sim.params.cutoff_hz, sim.params.refractory_period_s) == (30.0, 0.01)
    with pytest.raises(ValueError, match="unknown DVS preset"):
        resolve_params("blurry")
    with pytest.raises(ValueError, match="unknown DVS parameter"):
        resolve_params(None, threshold=0.3)
    with pytest.raises(ValueError, match="timestamp_mode"):
        resolve_params(None, timestamp_mode="grid")
    with pytest.raises(ValueError, match="must be > 0"):
        resolve_params(None, pos_thres=0.0)


def test_every_preset_names_every_parameter_but_the_timestamp_mode() -> None:
    fields = {f.name for f in dataclasses.fields(DVSParams)} - {"timestamp_mode"}
    for name, values in PRESETS.items():
        assert set(values) == fields, name
        assert resolve_params(name).to_dict() == {**values, "timestamp_mode": "linear"}
    assert resolve_params(None) == V2E_DEFAULTS and resolve_params() == DVSParams()


def test_overrides_win_over_the_preset_and_none_means_not_given() -> None:
    params = resolve_params("noisy", shot_noise_rate_hz=1.5, cutoff_hz=None, timestamp_mode="v2e")
    assert (params.shot_noise_rate_hz, params.cutoff_hz, params.timestamp_mode) == (1.5, 30.0, "v2e")
    assert set(TIMESTAMP_MODES) == {"linear", "v2e"}
    assert DVSParams(**params.to_dict()) == params  # to_dict round-trips (HDF5 attributes)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("sigma_thres", -0.1, "sigma_thres must be >= 0"),
        ("leak_rate_hz", float("nan"), "leak_rate_hz must be a finite number"),
        ("cutoff_hz", float("inf"), "cutoff_hz must be a finite number"),
        ("refractory_period_s", True, "refractory_period_s must be a finite number"),
        ("neg_thres", "0.2", "neg_thres must be a finite number"),
        ("neg_thres", 0.0, "thresholds must be > 0"),
    ],
)
def test_invalid_values_are_refused_with_the_field_name(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DVSParams(**{field: value})
    with pytest.raises(ValueError, match=match):
        resolve_params("clean", **{field: value})


def test_params_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        V2E_DEFAULTS.pos_thres = 0.3  # type: ignore[misc]


def test_simulation_key_keeps_noise_free_keys_and_marks_timed_shot_noise() -> None:
    assert simulation_key("clean") == {"preset": "clean"}  # the key every clean cache always had
    assert simulation_key("clean", {"leak_rate_hz": 0.5}) == {"preset": "clean", "dvs_params": {"leak_rate_hz": 0.5}}
    noisy = simulation_key("noisy")
    assert noisy == {"preset": "noisy", "shot_noise_times": "uniform"}  # its caches before the change differ
    assert simulation_key("noisy", {"timestamp_mode": "v2e"}) == {  # v2e mode still stamps at the interval end
        "preset": "noisy", "dvs_params": {"timestamp_mode": "v2e"}}
    assert simulation_key("clean", {"shot_noise_rate_hz": 2.0, "cutoff_hz": 1.0})["dvs_params"] == {
        "cutoff_hz": 1.0, "shot_noise_rate_hz": 2.0}  # sorted
    with pytest.raises(ValueError, match="unknown DVS parameter"):
        simulation_key("clean", {"shot_rate": 1.0})
    with pytest.raises(ValueError, match="unknown DVS preset"):
        simulation_key("loud")
    assert checked_overrides("noisy", {}) is None and checked_overrides("noisy", None) is None
    assert list(checked_overrides("noisy", {"leak_rate_hz": 1.0, "cutoff_hz": 2.0})) == ["cutoff_hz", "leak_rate_hz"]
    with pytest.raises(ValueError, match="leak_rate_hz must be >= 0"):
        checked_overrides("noisy", {"leak_rate_hz": -1.0})
