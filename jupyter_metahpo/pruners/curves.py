"""Past learning curves, and models that predict a running curve's final value from its start.

A :class:`CurveLibrary` holds finished curves (each a value per step and the value the
trial finally scored), turned so that higher is better, in one NaN-padded matrix so
that a prediction is a few vectorised operations over every past curve at once. The
predictors share one small interface, ``fit(library)`` then ``predict(steps, values)``
-> :class:`FinalPrediction` (or ``None`` when the past says nothing at that step):

- :class:`StepRegression` (the meta-learned pruner's model): per step, a least-squares
  line from the running value, the best so far and the recent slope to the gain until
  the end, pooled over every past curve that reached the step; its spread is the
  residuals'. Chosen by measurement (``benchmarks/bench_pruning.py --part sweep``):
  its wider, better calibrated spread prunes the eventual best least often.
- :class:`NearestCurves`: the ``k`` past curves closest to the running one over its
  last few reported steps; the final is the running value plus their mean gain from
  that step to their end, its spread their spread.
- :class:`LastValue`: the final is the running value; the spread is that of past
  curves' gains from that step (a baseline).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trial import Direction

__all__ = [
    "LearningCurve",
    "CurveLibrary",
    "FinalPrediction",
    "NearestCurves",
    "StepRegression",
    "LastValue",
    "PREDICTORS",
    "MAX_STEPS",
    "curve_state",
    "fitted_at",
]

#: The longest curve a library keeps (``CurveLibrary``'s default ``max_steps``).
MAX_STEPS = 2_000


@dataclass(frozen=True)
class LearningCurve:
    """One finished learning curve: ``values[i]`` reported at ``steps[i]``, and its ``final`` result.

    Values are as reported (``direction`` says which are better); ``task`` names where the
    curve comes from (a dataset, a study), for the pruner's reason and for leave-one-out.
    """

    steps: tuple[int, ...]
    values: tuple[float, ...]
    final: float
    direction: Direction = Direction.MAXIMIZE
    task: str = ""

    @classmethod
    def from_mapping(cls, curve: Mapping[int, float], final: float, direction: Direction | str, task: str = "") -> LearningCurve:
        steps = tuple(sorted(int(s) for s in curve))
        return cls(steps, tuple(float(curve[s]) for s in steps), float(final), Direction.parse(direction), task)


@dataclass(frozen=True)
class FinalPrediction:
    """A running curve's predicted final value (higher is better), its spread and what it rests on."""

    mean: float
    sd: float
    n_curves: int

    def probability_below(self, threshold: float) -> float:
        """The probability that the final value ends below ``threshold`` (normal approximation)."""
        return 0.5 * math.erfc((self.mean - threshold) / (self.sd * math.sqrt(2.0)))


class CurveLibrary:
    """Finished learning curves in one matrix: ``values[i, s]`` is curve ``i`` at step ``s``
    (higher is better; NaN where it reported nothing or a non-finite value), ``finals[i]``
    its result.

    Curves longer than ``max_steps`` keep their first ``max_steps`` steps (their final is
    unchanged), so one very long curve does not blow up the matrix.
    """

    def __init__(self, curves: Iterable[LearningCurve], max_steps: int = MAX_STEPS) -> None:
        kept = [c for c in curves if c.steps and math.isfinite(c.final)]
        self.curves: tuple[LearningCurve, ...] = tuple(kept)
        self.max_steps = max_steps
        width = min(max((c.steps[-1] + 1 for c in kept), default=0), max_steps)
        self.values = np.full((len(kept), width), np.nan)
        self.finals = np.empty(len(kept))
        for i, curve in enumerate(kept):
            sign = 1.0 if curve.direction is Direction.MAXIMIZE else -1.0
            steps = np.asarray(curve.steps)
            inside = steps < width
            self.values[i, steps[inside]] = sign * np.asarray(curve.values)[inside]
            self.finals[i] = sign * curve.final
        self.tasks = tuple(c.task for c in kept)

    def plus(self, curves: Iterable[LearningCurve]) -> CurveLibrary:
        """This library with ``curves`` added; its matrix is reused, not rebuilt (the pruner adds the
        study's own curves to a large past each time a trial completes)."""
        extra = CurveLibrary(curves, self.max_steps)
        if not len(extra):
            return self
        joined = CurveLibrary((), self.max_steps)
        width = max(self.values.shape[1], extra.values.shape[1])
        joined.values = np.full((len(self) + len(extra), width), np.nan)
        joined.values[: len(self), : self.values.shape[1]] = self.values
        joined.values[len(self):, : extra.values.shape[1]] = extra.values
        joined.finals = np.concatenate([self.finals, extra.finals])
        joined.curves, joined.tasks = self.curves + extra.curves, self.tasks + extra.tasks
        return joined

    def __len__(self) -> int:
        return len(self.curves)

    @property
    def n_tasks(self) -> int:
        return len(set(self.tasks))

    def at_step(self, step: int) -> np.ndarray:
        """Indices of the curves with a finite value at ``step``."""
        if step >= self.values.shape[1]:
            return np.empty(0, dtype=int)
        return np.flatnonzero(np.isfinite(self.values[:, step]))

    def without(self, task: str) -> CurveLibrary:
        """The library less the curves of ``task`` (leave-one-task-out)."""
        return CurveLibrary(c for c in self.curves if c.task != task)

    def __add__(self, other: CurveLibrary) -> CurveLibrary:
        return CurveLibrary((*self.curves, *other.curves))

    def __repr__(self) -> str:
        return f"CurveLibrary({len(self)} curves from {self.n_tasks} tasks)"


def recent_gain(current: np.ndarray, before: np.ndarray) -> np.ndarray:
    """The gain over the last two steps (0 where a curve has no value two steps back)."""
    return np.where(np.isfinite(before), current - before, 0.0)


def curve_state(values: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curves (rows of ``values``, steps as columns) at ``step``: the value now, the best so far, the recent gain."""
    current = values[:, step]
    best = np.nanmax(values[:, : step + 1], axis=1)
    before = values[:, step - 2] if step >= 2 else np.full(len(values), np.nan)
    return current, best, recent_gain(current, before)


def fitted_at(fits: dict, step: int, fit: Callable[[int], Any]) -> Any:
    """A per-step model's fit at ``step``, made on first use and kept (``None`` too: too few curves there)."""
    if step not in fits:
        fits[step] = fit(step)
    return fits[step]


def _prefix(steps: Sequence[int], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The running curve's finite points (higher is better already), in step order."""
    s, v = np.asarray(steps, dtype=int), np.asarray(values, dtype=float)
    keep = np.isfinite(v)
    return s[keep], v[keep]


class NearestCurves:
    """The final value of the ``k`` nearest past curves, each moved to start from the running value.

    Distance: the root mean square difference over the running curve's last ``window``
    reported steps (level and recent shape at once; in the metric's own units).
    Prediction: running value + the nearest curves' mean gain from the current step to
    their end; spread: the standard deviation of those gains (at least ``min_sd``).
    ``None`` while fewer than ``min_curves`` past curves reached the current step.
    """

    name = "nearest"

    def __init__(self, k: int = 15, window: int = 3, min_curves: int = 5, min_sd: float = 0.005) -> None:
        self.k, self.window, self.min_curves, self.min_sd = k, window, min_curves, min_sd
        self.library_: CurveLibrary | None = None

    def fit(self, library: CurveLibrary) -> NearestCurves:
        self.library_ = library
        return self

    def predict(self, steps: Sequence[int], values: Sequence[float]) -> FinalPrediction | None:
        library = self.library_
        s, v = _prefix(steps, values)
        if library is None or not len(s):
            return None
        step = int(s[-1])
        rows = library.at_step(step)
        if len(rows) < self.min_curves:
            return None
        window = s[-self.window:]
        past = library.values[np.ix_(rows, window)]
        with np.errstate(invalid="ignore"):
            distance = np.sqrt(np.nanmean((past - v[-len(window):]) ** 2, axis=1))
        nearest = rows[np.argsort(distance, kind="stable")[: self.k]]
        gains = library.finals[nearest] - library.values[nearest, step]
        sd = float(np.std(gains, ddof=1)) if len(gains) > 1 else math.inf
        return FinalPrediction(float(v[-1] + gains.mean()), max(sd, self.min_sd), len(nearest))


class StepRegression:
    """Per step, a least-squares line from (running value, best so far, recent slope) to the
    gain until the end, fitted on every past curve that reached the step; the spread is the
    residuals' standard deviation."""

    name = "regression"

    def __init__(self, min_curves: int = 20, min_sd: float = 0.005, ridge: float = 1e-3) -> None:
        self.min_curves, self.min_sd, self.ridge = min_curves, min_sd, ridge
        self.library_: CurveLibrary | None = None
        self._fits: dict[int, tuple[np.ndarray, float, int] | None] = {}

    def fit(self, library: CurveLibrary) -> StepRegression:
        self.library_, self._fits = library, {}
        return self

    @staticmethod
    def _features(current: np.ndarray, best: np.ndarray, gain: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones_like(current), current, best - current, gain])

    def _fit_step(self, step: int) -> tuple[np.ndarray, float, int] | None:
        library = self.library_
        rows = library.at_step(step)
        if len(rows) < self.min_curves:
            return None
        current, best, gain = curve_state(library.values[rows], step)
        X = self._features(current, best, gain)
        y = library.finals[rows] - current
        coef = np.linalg.solve(X.T @ X + self.ridge * np.eye(X.shape[1]), X.T @ y)
        residual = y - X @ coef
        return coef, float(np.std(residual, ddof=X.shape[1])), len(rows)

    def predict(self, steps: Sequence[int], values: Sequence[float]) -> FinalPrediction | None:
        s, v = _prefix(steps, values)
        if self.library_ is None or not len(s):
            return None
        step = int(s[-1])
        fitted = fitted_at(self._fits, step, self._fit_step)
        if fitted is None:
            return None
        coef, sd, n = fitted
        before = v[-3] if len(v) >= 3 and s[-3] == step - 2 else np.nan
        current = np.array([v[-1]])
        x = self._features(current, np.array([v.max()]), recent_gain(current, np.array([before])))[0]
        return FinalPrediction(float(v[-1] + x @ coef), max(sd, self.min_sd), n)


class LastValue:
    """The running value as the final; the spread of past curves' gains from that step."""

    name = "last"

    def __init__(self, min_curves: int = 5, min_sd: float = 0.005) -> None:
        self.min_curves, self.min_sd = min_curves, min_sd
        self.library_: CurveLibrary | None = None

    def fit(self, library: CurveLibrary) -> LastValue:
        self.library_ = library
        return self

    def predict(self, steps: Sequence[int], values: Sequence[float]) -> FinalPrediction | None:
        s, v = _prefix(steps, values)
        if self.library_ is None or not len(s):
            return None
        rows = self.library_.at_step(int(s[-1]))
        if len(rows) < self.min_curves:
            return None
        gains = self.library_.finals[rows] - self.library_.values[rows, int(s[-1])]
        return FinalPrediction(float(v[-1]), max(float(np.std(gains, ddof=1)), self.min_sd), len(rows))


#: The predictors by name, for the benchmark and ``MetaLearnedPruner(model=...)``.
PREDICTORS = {cls.name: cls for cls in (NearestCurves, StepRegression, LastValue)}
