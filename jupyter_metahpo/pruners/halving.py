"""Asynchronous successive halving (ASHA; Li et al. 2020), with Optuna's promotion rule.

Rungs stand at ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``
steps. A trial that reaches rung ``k`` goes on only if its value there is among the
top ``1 / reduction_factor`` of every trial that reached that rung so far (running,
pruned or complete ones; the best of them while fewer than ``reduction_factor`` are
there, as in Optuna, which cannot pause a trial to resume it later). Nobody waits for
a rung to fill: that is what makes it asynchronous, and what lets it run in parallel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..trial import Direction, FrozenTrial
from .base import KEEP, PruneDecision, Pruner

__all__ = ["SuccessiveHalvingPruner"]


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving: at each rung keep the top ``1 / reduction_factor``.

    Parameters as Optuna's ``SuccessiveHalvingPruner`` (``min_resource`` is a number of
    steps here, not ``"auto"``). A NaN value at a rung prunes the trial.
    """

    name = "halving"

    def __init__(self, min_resource: int = 1, reduction_factor: int = 4, min_early_stopping_rate: int = 0) -> None:
        for label, value, low in (
            ("min_resource", min_resource, 1), ("reduction_factor", reduction_factor, 2),
            ("min_early_stopping_rate", min_early_stopping_rate, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"`{label}` of SuccessiveHalvingPruner must be an integer >= {low}, but got {label}={value!r}."
                )
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_early_stopping_rate = min_early_stopping_rate
        # Rungs each running trial has passed: a promotion is never taken back when later
        # trials reach the rung (the asynchronous rule). Keyed by (number, start time).
        self._passed: dict[tuple[int, float | None], int] = {}

    def rung_step(self, rung: int) -> int:
        """The step at which rung ``rung`` (from 0) is judged."""
        return self.min_resource * self.reduction_factor ** (self.min_early_stopping_rate + rung)

    def decide(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction) -> PruneDecision:
        step = trial.last_step
        if step is None:
            return KEEP
        key = (trial.number, trial.started_at)
        rung = self._passed.get(key, 0)
        while step >= (rung_step := self.rung_step(rung)):
            value = _value_at_rung(trial, rung_step)
            if math.isnan(value):
                self._passed.pop(key, None)
                return PruneDecision(True, f"its value at step {rung_step} (rung {rung}) is NaN")
            others = [_value_at_rung(t, rung_step) for t in trials if t is not trial and t.number != trial.number
                      and t.last_step is not None and t.last_step >= rung_step]
            competing = [v for v in others if not math.isnan(v)] + [value]
            kept = max(len(competing) // self.reduction_factor, 1)
            ranked = sorted(competing, reverse=direction is Direction.MAXIMIZE)
            if direction.is_better(ranked[kept - 1], value):
                self._passed.pop(key, None)
                return PruneDecision(
                    True,
                    f"{value:.4g} at step {rung_step} (rung {rung}) is not in the top {kept} of the "
                    f"{len(competing)} trials that reached it (threshold {ranked[kept - 1]:.4g})",
                )
            rung += 1
            self._passed[key] = rung
        return KEEP

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalvingPruner(min_resource={self.min_resource}, reduction_factor={self.reduction_factor}, "
            f"min_early_stopping_rate={self.min_early_stopping_rate})"
        )


def _value_at_rung(trial: FrozenTrial, rung_step: int) -> float:
    """The value a trial had when it reached the rung: at the first reported step at or past it."""
    step = min(s for s in trial.intermediate_values if s >= rung_step)
    return trial.intermediate_values[step]
