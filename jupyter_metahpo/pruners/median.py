"""Median pruning: stop a trial whose best value so far is worse than the median of the
complete trials at the same step (Optuna's ``MedianPruner`` rule, with its defaults)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..trial import Direction, FrozenTrial
from .base import KEEP, PruneDecision, Pruner, as_higher_is_better, completed

__all__ = ["MedianPruner"]


class MedianPruner(Pruner):
    """Prune when the trial's best value so far is worse than the median of the complete
    trials' values at its current step.

    As Optuna's ``MedianPruner``: no pruning until ``n_startup_trials`` trials are
    complete, before step ``n_warmup_steps``, between every ``interval_steps`` steps, or
    while fewer than ``n_min_trials`` complete trials reported the current step; a
    trial whose reports are all NaN is pruned. Pruned trials are not among the trials
    the median is taken over (their curves stop early, so they would pull it down).
    """

    name = "median"

    def __init__(
        self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1, n_min_trials: int = 1
    ) -> None:
        for label, value, low in (
            ("n_startup_trials", n_startup_trials, 0), ("n_warmup_steps", n_warmup_steps, 0),
            ("interval_steps", interval_steps, 1), ("n_min_trials", n_min_trials, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{label}` of MedianPruner must be an integer >= {low}, but got {label}={value!r}.")
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.interval_steps = interval_steps
        self.n_min_trials = n_min_trials

    def decide(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction) -> PruneDecision:
        step = trial.last_step
        finished = completed(trials)
        if step is None or len(finished) < self.n_startup_trials or step < self.n_warmup_steps:
            return KEEP
        if (step - self.n_warmup_steps) % self.interval_steps:
            return KEEP
        own = as_higher_is_better(list(trial.intermediate_values.values()), direction)
        if np.all(np.isnan(own)):
            return PruneDecision(True, f"every value it reported by step {step} is NaN")
        best = float(np.nanmax(own))
        at_step = [t.intermediate_values[step] for t in finished if step in t.intermediate_values]
        if len(at_step) < self.n_min_trials:
            return KEEP
        median = float(np.nanmedian(as_higher_is_better(at_step, direction)))
        if math.isnan(median) or best >= median:
            return KEEP
        sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
        return PruneDecision(
            True,
            f"best {sign * best:.4g} by step {step} is worse than the median {sign * median:.4g} "
            f"of {len(at_step)} complete trial{'s' * (len(at_step) != 1)} at that step",
        )

    def __repr__(self) -> str:
        return (
            f"MedianPruner(n_startup_trials={self.n_startup_trials}, n_warmup_steps={self.n_warmup_steps}, "
            f"interval_steps={self.interval_steps}, n_min_trials={self.n_min_trials})"
        )
