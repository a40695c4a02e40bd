"""The pruner interface: decide from learning curves whether a running trial should stop.

The study asks its pruner each time the objective calls ``trial.should_prune()``,
with a frozen snapshot of the running trial (its ``intermediate_values`` so far) and
of every trial of the study (finished ones, and others still running when trials run
in parallel). A pruner never stops anything itself: it returns a
:class:`PruneDecision`, and the objective raises ``TrialPruned`` when it says so.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..trial import Direction, FrozenTrial, TrialState

__all__ = ["Pruner", "PruneDecision", "NopPruner", "KEEP", "completed", "as_higher_is_better"]


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
def completed(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state is TrialState.COMPLETE]


def as_higher_is_better(values, direction: Direction) -> np.ndarray:
    """Values turned so that higher is always better (NaN stays NaN)."""
    array = np.asarray(values, dtype=float)
    return array if direction is Direction.MAXIMIZE else -array
