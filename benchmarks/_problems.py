"""Test functions for the benchmarks: each is a search space, an objective to
minimise, and its known global minimum (so regret is exact)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform


@dataclass(frozen=True)
class Problem:
    name: str
    space: SearchSpace
    objective: Callable[..., float]  # keyword arguments, one per parameter
    minimum: float

    def regret(self, best_value: float) -> float:
        return max(best_value - self.minimum, 0.0)


def _branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN = Problem("branin", SearchSpace({"x1": uniform(-5, 10), "x2": uniform(0, 15)}), _branin, 0.397887357729738)

_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def _hartmann6(**x: float) -> float:
    v = np.array([x[f"x{i}"] for i in range(6)])
    return float(-(_H6_ALPHA * np.exp(-(_H6_A * (v - _H6_P) ** 2).sum(axis=1))).sum())


HARTMANN6 = Problem("hartmann6", SearchSpace({f"x{i}": uniform(0, 1) for i in range(6)}), _hartmann6, -3.322368011415515)

# A hyperparameter-like mixed space: where the continuous optimum lies depends on the
# categories (x1 on c1, the log learning rate on c2), integers have interior optima,
# and each category adds its own cost. The minimum, 0, is at c1="b", c2="gelu",
# x1=0.5, x2=0.25, lr=10**-2.2, n1=12, n2=32.
_SHIFT_1 = {"a": -1.0, "b": 0.5, "c": 1.5}
_COST_1 = {"a": 0.3, "b": 0.0, "c": 0.6}
_SHIFT_2 = {"relu": 0.0, "tanh": 0.5, "sigmoid": -0.5, "gelu": 0.2}
_COST_2 = {"relu": 0.1, "tanh": 0.4, "sigmoid": 0.8, "gelu": 0.0}


def _mixed(x1: float, x2: float, lr: float, n1: int, n2: int, c1: str, c2: str) -> float:
    t = math.log10(lr)
    return (
        (x1 - _SHIFT_1[c1]) ** 2
        + 2.0 * (x2 - 0.5 * x1) ** 2
        + 0.5 * (t + 2.0 + _SHIFT_2[c2]) ** 2
        + 0.05 * (n1 - 12) ** 2
        + 0.3 * (math.log2(n2) - 5) ** 2
        + _COST_1[c1]
        + _COST_2[c2]
    )


MIXED = Problem(
    "mixed",
    SearchSpace(
        {
            "x1": uniform(-2, 2),
            "x2": uniform(-2, 2),
            "lr": loguniform(1e-3, 1.0),
            "n1": intrange(1, 20),
            "n2": intrange(2, 256, log=True),
            "c1": choice("a", "b", "c"),
            "c2": choice("relu", "tanh", "sigmoid", "gelu"),
        }
    ),
    _mixed,
    0.0,
)

PROBLEMS = {p.name: p for p in (BRANIN, HARTMANN6, MIXED)}


def optuna_params(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Ask an Optuna trial for one value per parameter of ``space`` (same distributions)."""
    from jupyter_metahpo.space import Choice, IntRange, LogUniform, Uniform

    config: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, Uniform):
            config[name] = trial.suggest_float(name, p.low, p.high)
        elif isinstance(p, LogUniform):
            config[name] = trial.suggest_float(name, p.low, p.high, log=True)
        elif isinstance(p, IntRange):
            config[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
        elif isinstance(p, Choice):
            config[name] = trial.suggest_categorical(name, list(p.options))
        else:  # pragma: no cover - every kind of the space is listed above
            raise TypeError(f"no Optuna distribution for {p!r}")
    return config
