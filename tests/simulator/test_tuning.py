"""Tests of the step tuner (neurova.simulator.tuning): trial order, warm-up, the choice by median, recurring trials."""

from __future__ import annotations

import pytest

from neurova.simulator.tuning import StepTuner


def run(tuner: StepTuner[int], seconds: dict[int, float], steps: int) -> list[int]:
    """The choices of ``steps`` steps, each taking ``seconds[choice]``."""
    chosen = []
    for _ in range(steps):
        choice = tuner.choose()
        chosen.append(choice)
        tuner.record(seconds[choice])
    return chosen


def test_a_trial_runs_each_choice_in_a_row_then_the_fastest() -> None:
    tuner = StepTuner((2, 1), trials=2, warmup=1, period=10)
    chosen = run(tuner, {2: 0.030, 1: 0.010}, 10)
    assert chosen == [2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    assert tuner.best == 1


def test_the_first_choice_stays_where_it_is_faster() -> None:
    tuner = StepTuner((2, 1), trials=2, warmup=0, period=8)
    assert run(tuner, {2: 0.010, 1: 0.030}, 8) == [2, 2, 1, 1, 2, 2, 2, 2]


def test_warmup_steps_are_not_timed_and_the_median_decides() -> None:
    tuner = StepTuner(("bands", "whole"), trials=3, warmup=1, period=8)
    steps = [("bands", 0.5), ("bands", 0.5), ("bands", 0.01), ("bands", 0.01),  # a slow wake-up, then one slow step
             ("whole", 0.001), ("whole", 0.02), ("whole", 0.02), ("whole", 0.02)]  # a fast first step, not timed
    for choice, seconds in steps:
        assert tuner.choose() == choice
        tuner.record(seconds)
    assert tuner.best == "bands"


def test_trials_recur_and_follow_a_change() -> None:
    tuner = StepTuner((2, 1), trials=1, warmup=0, period=4)
    assert run(tuner, {2: 0.01, 1: 0.02}, 4) == [2, 1, 2, 2]
    assert run(tuner, {2: 0.03, 1: 0.02}, 4) == [2, 1, 1, 1]  # the machine got busy: threads now lose
    assert tuner.in_trial


def test_a_single_choice_is_always_chosen() -> None:
    assert run(StepTuner((1,), trials=2, period=5), {1: 0.01}, 7) == [1] * 7


@pytest.mark.parametrize(("choices", "trials", "warmup", "period"),
                         [((), 1, 0, 4), ((1, 1), 1, 0, 4), ((2, 1), 0, 0, 4), ((2, 1), 1, -1, 4), ((2, 1), 2, 1, 5)])
def test_bad_settings_are_refused(choices: tuple[int, ...], trials: int, warmup: int, period: int) -> None:
    with pytest.raises(ValueError, match=r"choices|trials"):
        StepTuner(choices, trials=trials, warmup=warmup, period=period)
