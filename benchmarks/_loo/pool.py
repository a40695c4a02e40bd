"""A held-out task as a pool of evaluated configurations, and exact regret on it.

Every method chooses from the held-out task's pool, so each trial's value is known
exactly (the prior evaluated every pool point); a method that proposes arbitrary
values is snapped to the nearest pool point it has not used yet, measured in the
unit-cube encoding of the space (the same encoding every sampler works in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.space import SearchSpace


@dataclass(frozen=True)
class PoolTask:
    """One held-out task: its pool of configurations and their scores (higher is better).

    ``study`` is the task's own record (the pool and its values, as a past study);
    ``group`` names the data behind it, so that near-duplicates share a group and are
    held out together (the same dataset under two names, the same data fingerprint).
    """

    key: str
    family: str
    dataset: str
    study: PastStudy
    group: str
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def space(self) -> SearchSpace:
        return self.study.space

    @property
    def configs(self) -> tuple[Mapping[str, Any], ...]:
        return self.study.configs

    @property
    def scores(self) -> np.ndarray:
        return self.study.scores()

    @property
    def size(self) -> int:
        return len(self.study.configs)

    def unit(self) -> np.ndarray:
        return self.space.encode(self.configs)


def normalised_regret_curve(scores: np.ndarray, chosen: Sequence[int]) -> np.ndarray:
    """Regret ``(best - incumbent) / (best - worst)`` after each chosen pool index.

    ``best`` and ``worst`` are over the whole pool, so 0 means the pool's best was found
    and 1 that nothing better than the pool's worst was. A pool whose points all score
    the same has regret 0 throughout.
    """
    scores = np.asarray(scores, dtype=float)
    if len(chosen) == 0:
        return np.empty(0)
    best, worst = float(scores.max()), float(scores.min())
    incumbent = np.maximum.accumulate(scores[np.asarray(chosen, dtype=int)])
    if best - worst <= 1e-12:
        return np.zeros(len(chosen))
    return (best - incumbent) / (best - worst)


def trials_to_reach(curve: np.ndarray, threshold: float = 0.01) -> int | None:
    """The first trial (1-based) whose regret is ``<= threshold``; ``None`` if never reached."""
    hits = np.flatnonzero(np.asarray(curve) <= threshold + 1e-12)
    return int(hits[0]) + 1 if len(hits) else None


def extend_curve(curve: np.ndarray, budget: int) -> np.ndarray:
    """Pad a shorter curve with its last value (a method that stopped early keeps its incumbent)."""
    curve = np.asarray(curve, dtype=float)
    if len(curve) >= budget:
        return curve[:budget]
    if len(curve) == 0:
        return np.ones(budget)
    return np.concatenate([curve, np.full(budget - len(curve), curve[-1])])


class PoolSnapper:
    """Maps proposed configurations to the nearest unused point of a pool."""

    def __init__(self, space: SearchSpace, configs: Sequence[Mapping[str, Any]]) -> None:
        self.space = space
        self.unit = space.encode(configs)
        self.used = np.zeros(len(configs), dtype=bool)

    @property
    def n_left(self) -> int:
        return int((~self.used).sum())

    def snap(self, config: Mapping[str, Any]) -> int:
        """The index of the unused pool point nearest to ``config`` (and mark it used)."""
        point = self.space.encode([config])[0]
        return self.snap_unit(point)

    def snap_unit(self, point: np.ndarray) -> int:
        if self.n_left == 0:
            raise ValueError("the pool is exhausted: every point has been used.")
        distance = np.sqrt(((self.unit - np.asarray(point, dtype=float)[None, :]) ** 2).sum(axis=1))
        distance[self.used] = np.inf
        index = int(np.argmin(distance))  # ties: the lowest index, deterministic
        self.used[index] = True
        return index

    def take(self, index: int) -> int:
        """Mark a pool index used directly (a method that picks by index)."""
        if self.used[index]:
            raise ValueError(f"pool point {index} was already used.")
        self.used[index] = True
        return index

    def random_unused(self, rng: np.random.Generator) -> int:
        return self.take(int(rng.choice(np.flatnonzero(~self.used))))
