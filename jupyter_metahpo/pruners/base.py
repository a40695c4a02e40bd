"""The pruner interface: decide from learning curves whether a running trial should stop.

The study asks its pruner each time the objective calls ``trial.should_prune()``,
with a frozen snapshot of the running trial (its ``intermediate_values`` so far) and
of every trial of the study (finished ones, and others still running when trials run
in parallel). A pruner never stops anything itself: it returns a
:class:`PruneDecision`, and the objective raises ``TrialPruned`` when it says so.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..trial import Direction, FrozenTrial, TrialState

__all__ = ["Pruner", "PruneDecision", "NopPruner", "KEEP", "finite_curve", "last_value", "value_at_or_before"]


@dataclass(frozen=True)
class PruneDecision:
    """A pruner's verdict on one running trial: prune or not, and why (one sentence for a person)."""

    prune: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.prune


#: The verdict "go on", without a reason to show.
KEEP = PruneDecision(False)


class Pruner(abc.ABC):
    """Decides whether a running trial should stop early.

    Subclasses implement :meth:`decide`. It is called by the study whenever the
    objective asks ``trial.should_prune()``; ``trial`` is the running trial as reported
    so far, ``trials`` every trial of the study (the running one included) and
    ``direction`` says which values are better. A pruner keeps only its own settings
    and caches between calls; everything about the study comes in through the arguments.
    """

    #: The name ``tune(pruner=...)`` and ``%%metatune --pruner`` know it by.
    name: str = "pruner"

    @abc.abstractmethod
    def decide(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction) -> PruneDecision:
        """Whether ``trial`` should stop now, and why."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NopPruner(Pruner):
    """Never prunes: every trial runs to its end (the default)."""

    name = "none"

    def decide(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction) -> PruneDecision:
        return KEEP


# Helpers shared by the pruners ------------------------------------------------------------
def finite_curve(trial: FrozenTrial) -> dict[int, float]:
    """The trial's reported values that are finite numbers, by step."""
    return {step: value for step, value in trial.intermediate_values.items() if math.isfinite(value)}


def last_value(trial: FrozenTrial) -> float | None:
    """The value the trial reported last (NaN when it was not finite), or ``None`` before any report."""
    step = trial.last_step
    return None if step is None else trial.intermediate_values[step]


def value_at_or_before(trial: FrozenTrial, step: int) -> float | None:
    """The value the trial reported at ``step``, or at the latest step before it; ``None`` if none."""
    steps = [s for s in trial.intermediate_values if s <= step]
    return trial.intermediate_values[max(steps)] if steps else None


def completed(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state is TrialState.COMPLETE]


def as_higher_is_better(values, direction: Direction) -> np.ndarray:
    """Values turned so that higher is always better (NaN stays NaN)."""
    array = np.asarray(values, dtype=float)
    return array if direction is Direction.MAXIMIZE else -array
