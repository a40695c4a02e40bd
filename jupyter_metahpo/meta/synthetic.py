"""Small synthetic families of related tasks, for tests and benchmarks of transfer.

Each task has a hidden parameter ``theta`` in ``[0, 1]^2`` that places its optimum in
a fixed 4-parameter space (a log-scale float, an integer, a float and a category).
Families differ in how tasks relate:

- ``"related"``: optima spread over the space, and the meta-features reveal
  ``theta`` (with noise): similar meta-features mean similar optima. Transfer by
  meta-features must help here.
- ``"shared"``: every task's optimum sits in the same small region, and the
  meta-features are noise: a portfolio must help, meta-features cannot.
- ``"unrelated"``: optima spread over the space and meta-features are noise:
  nothing transfers, and a warm start must not make things worse than a cold one.

Objectives are minimised, cost nothing to evaluate, and have a known optimum of 0,
so normalised regret is exact.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..space import SearchSpace, choice, intrange, loguniform, uniform

__all__ = ["FAMILIES", "SYNTHETIC_FEATURE_SET", "SyntheticTask", "synthetic_space", "make_family", "past_study"]

FAMILIES = ("related", "shared", "unrelated")
SYNTHETIC_FEATURE_SET = "synthetic-v1"
_N_FEATURES = 6
_WEIGHTS = np.array([1.0, 1.0, 0.6])


def synthetic_space() -> SearchSpace:
    return SearchSpace(
        {
            "learning_rate": loguniform(1e-4, 1.0),
            "depth": intrange(1, 16),
            "subsample": uniform(0.1, 1.0),
            "booster": choice("gbtree", "dart", "linear"),
        }
    )


@dataclass(frozen=True)
class SyntheticTask:
    name: str
    theta: tuple[float, float]
    meta_features: dict[str, float]
    worst: float

    @property
    def optimum_unit(self) -> np.ndarray:
        t0, t1 = self.theta
        return np.array([t0, t1, 0.25 + 0.5 * t0])

    @property
    def best_option(self) -> int:
        return min(int(self.theta[1] * 3), 2)

    def value_at_unit(self, unit: np.ndarray) -> np.ndarray:
        """Objective at unit-cube points of :func:`synthetic_space` (columns in space order)."""
        unit = np.atleast_2d(unit)
        continuous = unit[:, [0, 1, 2]]
        option = np.minimum((unit[:, 3] * 3).astype(int), 2)
        distance = ((continuous - self.optimum_unit) ** 2 * _WEIGHTS).sum(axis=1)
        return distance + 0.25 * (option != self.best_option)

    def objective(self, config: dict[str, Any]) -> float:
        return float(self.value_at_unit(synthetic_space().encode([config]))[0])

    def regret(self, value: float) -> float:
        """Normalised regret of a value: 0 at the optimum, 1 at the worst of a large random sample."""
        return float(np.clip(value / self.worst, 0.0, 1.0))


def make_family(kind: str, n_tasks: int, seed: int = 0) -> list[SyntheticTask]:
    """``n_tasks`` tasks of one family; the same ``(kind, seed)`` gives the same tasks."""
    if kind not in FAMILIES:
        raise ValueError(f"`kind` must be one of {FAMILIES}, but got kind={kind!r}.")
    rng = np.random.default_rng([seed, FAMILIES.index(kind)])
    tasks = []
    probe = rng.random((4000, 4))
    mixing = rng.normal(size=(2, _N_FEATURES))
    for i in range(n_tasks):
        if kind == "shared":
            theta = np.clip(rng.normal([0.3, 0.75], 0.05), 0, 1)
        else:
            theta = rng.random(2)
        if kind == "related":
            raw = (theta - 0.5) @ mixing + rng.normal(0, 0.05, _N_FEATURES)
        else:
            raw = rng.normal(0, 0.3, _N_FEATURES)
        features = {f"f{j}": float(v) for j, v in enumerate(raw)}
        task = SyntheticTask(f"{kind}-{seed}-{i}", (float(theta[0]), float(theta[1])), features, worst=1.0)
        worst = float(np.max(task.value_at_unit(probe)))
        tasks.append(SyntheticTask(task.name, task.theta, features, worst))
    return tasks


def past_study(task: SyntheticTask, n_trials: int = 30, seed: int = 0, source: str = "store") -> PastStudy:
    """A finished study of ``task``: mostly random trials, a few near its optimum (as an optimiser finds)."""
    space = synthetic_space()
    rng = np.random.default_rng([seed, zlib.crc32(task.name.encode())])
    n_local = max(1, n_trials // 5)
    unit = rng.random((n_trials, 4))
    local = np.clip(task.optimum_unit + rng.normal(0, 0.05, (n_local, 3)), 0, 1)
    unit[:n_local, :3] = local
    unit[:n_local, 3] = (task.best_option + 0.5) / 3
    configs = space.decode(unit)
    values = [task.objective(c) for c in configs]
    return PastStudy.from_arrays(
        study_id=f"study-{task.name}-{seed}",
        task_name=task.name,
        space=space,
        direction="minimize",
        configs=configs,
        values=values,
        meta_features=task.meta_features,
        meta_feature_set=SYNTHETIC_FEATURE_SET,
        source=source,
    )
