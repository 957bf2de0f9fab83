"""Choosing, by timing, between ways of running a step that give equal results: the simulator's thread count.

On CPU, :class:`~neurova.simulator.DVSSimulator` can run a step in bands of rows on several threads or whole on
one; the events are the same either way, the speed is not. Bands pay where each numpy operation is long beside
the handing over of Python's GIL between threads: on a 2-core virtual machine two threads ran event-heavy
640x480 frames 1.75-1.84x faster than one, but sparse or 346x260 frames 0.3-0.8x as fast
(docs/benchmarks.md, "Simulator threads"). Which side a clip falls on depends on the machine, its load and the
content, so :class:`StepTuner` measures it as the clip runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["StepTuner"]

Choice = TypeVar("Choice", bound=Hashable)


class StepTuner(Generic[Choice]):
    """Picks, among ``choices`` whose steps give equal results, the one whose steps take the least time.

    Steps come in rounds of ``period``. Each round opens with a trial: ``trials`` steps of every choice, in turn
    (choice 0, 1, ..., 0, 1, ...: neighbouring frames, so the content changes alike for all of them); the rest of
    the round runs the choice whose trial steps had the lowest median. Trials recur, so the choice follows the
    content and the load of the machine; a choice slower by a factor ``r`` costs about
    ``(r - 1) * trials / period`` of a round (3 trial steps in 256 at 3x: 2 %).

    Call :meth:`choose` before a step and :meth:`record` with its duration after it.

    Args:
        choices: the ways to run a step (at least one; the first also runs before any trial has ended).
        trials: steps of each choice per trial (their median decides).
        period: steps per round, trial included.
    """

    def __init__(self, choices: Sequence[Choice], *, trials: int = 3, period: int = 256) -> None:
        if not choices or len(set(choices)) != len(choices):
            raise ValueError(f"choices must be distinct and at least one, got {list(choices)!r}")
        if trials < 1 or period < trials * len(choices):
            raise ValueError(f"trials must be >= 1 and period >= trials * {len(choices)} choices, got {trials!r}, "
                             f"{period!r}")
        self.choices, self.trials, self.period = tuple(choices), int(trials), int(period)
        self.best: Choice = self.choices[0]
        """The choice of the steps outside trials: the fastest of the last trial."""
        self._step = 0  # steps chosen so far
        self._current: Choice = self.best
        self._seconds: dict[Choice, list[float]] = {choice: [] for choice in self.choices}

    @property
    def in_trial(self) -> bool:
        """Whether the next step belongs to a trial."""
        return self._step % self.period < self.trials * len(self.choices)

    def choose(self) -> Choice:
        """The choice to run the next step with."""
        self._current = self.choices[self._step % len(self.choices)] if self.in_trial else self.best
        return self._current

    def record(self, seconds: float) -> None:
        """The duration of the step just run with the last :meth:`choose`; a trial's last step decides."""
        if self.in_trial:
            self._seconds[self._current].append(float(seconds))
            if self._step % self.period == self.trials * len(self.choices) - 1:
                self.best = min(self.choices, key=lambda choice: statistics.median(self._seconds[choice]))
                for times in self._seconds.values():
                    times.clear()
        self._step += 1
