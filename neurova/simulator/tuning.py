"""Choosing, by timing, between ways of running a step that give equal results: the simulator's thread count.

On CPU, :class:`~neurova.simulator.DVSSimulator` can run a step in bands of rows on several threads or whole on
one; the events are the same either way, the speed is not. Bands pay where each numpy operation is long beside
the handing over of Python's GIL between threads: on a 2-core virtual machine two threads ran a block texture
at 640x480 1.7-2.4x as fast as one, but a face at 346x260 0.4-0.9x as fast (docs/benchmarks.md, "Simulator
threads"). Which side a clip falls on depends on the machine, its load and the content, so :class:`StepTuner`
measures it as the clip runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["StepTuner"]

Choice = TypeVar("Choice", bound=Hashable)


class StepTuner(Generic[Choice]):
    """Picks, among ``choices`` whose steps give equal results, the one whose steps take the least time.

    Steps come in rounds of ``period``. Each round opens with a trial: every choice in turn runs ``warmup + trials``
    steps in a row, of which the last ``trials`` are timed (a change of choice costs its first step: threads that
    slept must wake, caches refill; on a 2-core virtual machine the first of four such steps took up to 5x as long
    as the next ones). The rest of the round runs the choice whose timed trial steps had the
    lowest median. Trials recur, so the choice follows the content and the load of the machine; a choice slower by
    a factor ``r`` costs about ``(r - 1) * (warmup + trials) / period`` of a round (4 trial steps in 256 at 3x: 3 %).

    Call :meth:`choose` before a step and :meth:`record` with its duration after it.

    Args:
        choices: the ways to run a step (at least one; the first also runs before any trial has ended).
        trials: timed steps of each choice per trial (their median decides).
        warmup: untimed steps of each choice before its timed ones.
        period: steps per round, trial included.
    """

    def __init__(self, choices: Sequence[Choice], *, trials: int = 3, warmup: int = 1, period: int = 256) -> None:
        if not choices or len(set(choices)) != len(choices):
            raise ValueError(f"choices must be distinct and at least one, got {list(choices)!r}")
        if trials < 1 or warmup < 0 or period < (warmup + trials) * len(choices):
            raise ValueError(f"trials must be >= 1, warmup >= 0 and period >= (warmup + trials) * {len(choices)} "
                             f"choices, got {trials!r}, {warmup!r}, {period!r}")
        self.choices, self.trials, self.warmup, self.period = tuple(choices), int(trials), int(warmup), int(period)
        self.best: Choice = self.choices[0]
        """The choice of the steps outside trials: the fastest of the last trial."""
        self._step = 0  # steps chosen so far
        self._current: Choice = self.best
        self._seconds: dict[Choice, list[float]] = {choice: [] for choice in self.choices}

    @property
    def in_trial(self) -> bool:
        """Whether the next step belongs to a trial."""
        return self._step % self.period < (self.warmup + self.trials) * len(self.choices)

    def choose(self) -> Choice:
        """The choice to run the next step with."""
        if self.in_trial:
            self._current = self.choices[self._step % self.period // (self.warmup + self.trials)]
        else:
            self._current = self.best
        return self._current

    def record(self, seconds: float) -> None:
        """The duration of the step just run with the last :meth:`choose`; a trial's last step decides."""
        if self.in_trial:
            position = self._step % self.period
            if position % (self.warmup + self.trials) >= self.warmup:
                self._seconds[self._current].append(float(seconds))
            if position == (self.warmup + self.trials) * len(self.choices) - 1:
                self.best = min(self.choices, key=lambda choice: statistics.median(self._seconds[choice]))
                for times in self._seconds.values():
                    times.clear()
        self._step += 1
