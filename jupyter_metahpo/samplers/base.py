"""The sampler interface: propose configurations from the history of a study.

The study calls :meth:`Sampler.suggest` each time it needs new configurations: once
per ``ask()`` (``n=1``), or once for a batch when trials run in parallel (``n > 1``,
with the running trials passed as ``pending``). A sampler never evaluates anything
and never sees a UI; it receives a frozen :class:`History` and returns
:class:`Suggestion` objects, each carrying the :class:`~jupyter_metahpo.trial.Origin`
that explains it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..space import SearchSpace
from ..trial import Direction, FrozenTrial, Origin, TrialState

__all__ = ["History", "Suggestion", "Sampler"]


@dataclass(frozen=True)
class History:
    """What a sampler may know about a study when it is asked for suggestions.

    ``trials`` are the finished trials (complete and failed) in the order they were
    made; ``pending`` are the configurations of trials still running, which a batch
    sampler should treat as already taken.
    """

    space: SearchSpace
    direction: Direction
    trials: tuple[FrozenTrial, ...] = ()
    pending: tuple[Mapping[str, Any], ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state is TrialState.COMPLETE]

    @property
    def failed(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state is TrialState.FAILED]

    @property
    def n_taken(self) -> int:
        """Trials finished or running: how far into its budget the study is."""
        return len(self.trials) + len(self.pending)

    def scores(self, trials: Sequence[FrozenTrial] | None = None) -> np.ndarray:
        """Values of complete trials turned so that higher is always better."""
        trials = self.complete if trials is None else trials
        values = np.array([t.value for t in trials], dtype=float)
        return values if self.direction is Direction.MAXIMIZE else -values

    def modelled(self) -> tuple[list[FrozenTrial], np.ndarray]:
        """The trials a surrogate model is fitted on and their scores (higher is better): the complete ones, then
        the failed ones at the worst score seen, so that the model steers away from where the objective broke.
        None of either before a trial completes."""
        complete = self.complete
        if not complete:
            return [], np.empty(0)
        scores = self.scores(complete)
        failed = self.failed
        return [*complete, *failed], np.concatenate([scores, np.full(len(failed), float(scores.min()))])

    def seen_configs(self) -> list[Mapping[str, Any]]:
        return [t.config for t in self.trials] + list(self.pending)


@dataclass(frozen=True)
class Suggestion:
    """A configuration to try and the origin that explains it."""

    config: Mapping[str, Any]
    origin: Origin


class Sampler(abc.ABC):
    """Proposes configurations.

    Subclasses implement :meth:`suggest`. It is called by the study before every new
    trial (or batch of trials) with a frozen snapshot of the history, and must return
    exactly ``n`` suggestions whose configurations lie in ``history.space`` as plain
    Python values. A sampler keeps only its own random state and caches between
    calls; everything about the study comes in through ``history``.
    """

    #: Short name recorded as the origin's ``source`` of what this sampler proposes.
    name: str = "sampler"

    @abc.abstractmethod
    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        """Return ``n`` configurations to evaluate next."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
