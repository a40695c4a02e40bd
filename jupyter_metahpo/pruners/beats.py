"""A per-step classifier of "will this running trial end above the best complete one?".

The meta-learned pruner's default model. Rather than predict a running curve's final value
and compare it with the best trial's (the models of :mod:`.curves`), it learns the pruner's
question itself from past pools of curves: in each past task, a random handful of its curves
plays "the study so far" (their best is the incumbent), and every other curve of the task that
went past the step is one example, labelled by whether its final beat that incumbent. The
study's own complete curves join as one more pool as they come.

Features of a running curve at a step (in the metric's units, higher is better):

- its value now, and its best so far, minus the incumbent's final;
- its gain over the last two steps;
- its value now minus the incumbent's own value at the same step.

One logistic regression per step, fitted by Newton's method in numpy (a few thousand
examples and four features need nothing heavier). Chosen by measurement on the development
datasets (``benchmarks/bench_pruning.py --part classifier``; the variants in
``benchmarks/results/pruning_findings.md``): scaling the features by the study's spread of
finals, or by how far the incumbent's curve rose, pruned the eventual best more often; the
configuration's values as extra features lowered the cross-validated log loss by 1-2%;
checking at every step instead of the doubling schedule did not lower the epochs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .curves import CurveLibrary, curve_state, fitted_at

__all__ = ["BeatsBestClassifier", "BeatsBest", "Incumbent", "features"]

N_FEATURES = 4


@dataclass(frozen=True)
class Incumbent:
    """The best complete trial as the classifier sees it (higher is better): its final value and its
    curve (``curve[s]`` its value at step ``s``, NaN where it reported none; may be empty)."""

    final: float
    curve: np.ndarray

    def at(self, step: int) -> float:
        """Its value at ``step``: the last it reported up to there, or its final where it reported none."""
        reported = self.curve[: step + 1]
        reported = reported[np.isfinite(reported)]
        return float(reported[-1]) if len(reported) else self.final


def features(values: np.ndarray, step: int, incumbent: Incumbent) -> np.ndarray:
    """The features of running curves (rows of ``values``, higher is better, columns up to ``step``) at ``step``."""
    current, best_so_far, slope = curve_state(values, step)
    return np.column_stack([current - incumbent.final, best_so_far - incumbent.final, slope,
                            current - incumbent.at(step)])


def _logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray | None = None, ridge: float = 1e-2,
              iterations: int = 50) -> np.ndarray:
    """Weighted logistic regression with an intercept, by Newton's method from ``start`` (zeros when
    ``None``); ``ridge`` on the slopes only (it keeps the fit finite when the labels separate completely)."""
    X1 = np.column_stack([np.ones(len(X)), X])
    coef = np.zeros(X1.shape[1]) if start is None else start.copy()
    penalty = ridge * np.eye(X1.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(X1 @ coef, -30, 30)))
        gradient = X1.T @ (w * (p - y)) + penalty @ coef
        hessian = (X1 * (w * p * (1 - p))[:, None]).T @ X1 + penalty + 1e-9 * np.eye(len(coef))
        step = np.linalg.solve(hessian, gradient)
        coef -= step
        if np.abs(step).max() < 1e-8:
            break
    return coef


@dataclass(frozen=True)
class BeatsBest:
    """The chance that a running trial ends above the best complete one, and the curves it was learnt from."""

    probability: float
    n_curves: int


class BeatsBestClassifier:
    """Per step, the chance that a running curve ends above the incumbent, learnt from past pools.

    ``fit(library)`` takes the past (a :class:`~.curves.CurveLibrary`; its ``tasks`` group the
    curves into pools); ``with_own(library)`` adds the study's complete curves as one more
    pool; ``probability_beats(steps, values, incumbent)`` answers, or gives ``None`` while
    fewer than ``min_examples`` examples, or none of either label, reached the step.

    Each pool gives ``draws`` incumbents per step (the study's own pool ``own_draws``),
    each the best of a random 1 to ``max_study`` of its curves (how far into a study the
    question comes), and weighs the same as every other pool however many curves it has.
    """

    name = "classifier"

    def __init__(self, draws: int = 4, own_draws: int = 4, max_study: int = 31, min_examples: int = 50,
                 seed: int = 0) -> None:
        self.draws, self.own_draws, self.max_study = draws, own_draws, max_study
        self.min_examples, self.seed = min_examples, seed
        self.library_: CurveLibrary | None = None
        self.own_: CurveLibrary | None = None
        self._past: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}
        self._fits: dict[int, tuple[np.ndarray, int] | None] = {}
        self._last: dict[int, np.ndarray] = {}  # the step's latest coefficients: the next fit starts there

    def fit(self, library: CurveLibrary) -> BeatsBestClassifier:
        self.library_, self.own_, self._past, self._fits, self._last = library, None, {}, {}, {}
        return self

    def with_own(self, own: CurveLibrary) -> BeatsBestClassifier:
        """The study's complete curves as one more pool (the past's examples are kept, the fits redone)."""
        self.own_, self._fits = own, {}
        return self

    def _examples(self, library: CurveLibrary, step: int, rng: np.random.Generator, pools: Sequence[np.ndarray],
                  draws: int):
        """``(X, y, weight)``: per pool, ``draws`` incumbents against its other curves that went past ``step``."""
        X, y, weight = [], [], []
        width = library.values.shape[1]
        for rows in pools:
            if len(rows) < 2 or step + 1 >= width:
                continue
            # A curve that ends at the step has nothing left to decide.
            values = library.values[rows]
            going_on = rows[np.isfinite(values[:, step]) & np.isfinite(values[:, step + 1:]).any(axis=1)]
            if not len(going_on):
                continue
            for _ in range(draws):
                drawn = rng.choice(rows, min(int(rng.integers(1, self.max_study + 1)), len(rows) - 1), replace=False)
                best = drawn[np.argmax(library.finals[drawn])]
                others = going_on[~np.isin(going_on, drawn)]
                if not len(others):
                    continue
                incumbent = Incumbent(float(library.finals[best]), library.values[best])
                X.append(features(library.values[others, : step + 1], step, incumbent))
                y.append(library.finals[others] > incumbent.final)
                weight.append(np.full(len(others), 1.0 / (draws * len(rows))))
        if not X:
            return np.empty((0, N_FEATURES)), np.empty(0), np.empty(0)
        return np.concatenate(X), np.concatenate(y).astype(float), np.concatenate(weight)

    def _past_examples(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        if step not in self._past:
            library = self.library_
            if library is None or not len(library):
                self._past[step] = (np.empty((0, N_FEATURES)), np.empty(0), np.empty(0), 0)
            else:
                tasks = np.asarray(library.tasks, dtype=object)
                pools = [np.flatnonzero(tasks == task) for task in dict.fromkeys(library.tasks)]
                X, y, w = self._examples(library, step, np.random.default_rng([self.seed, step]), pools, self.draws)
                self._past[step] = (X, y, w, len(library.at_step(step)))
        return self._past[step]

    def _fit_step(self, step: int) -> tuple[np.ndarray, int] | None:
        X, y, w, n_curves = self._past_examples(step)
        if self.own_ is not None and len(self.own_):
            rng = np.random.default_rng([self.seed, step, len(self.own_)])
            own_X, own_y, own_w = self._examples(self.own_, step, rng, [np.arange(len(self.own_))], self.own_draws)
            X, y, w = np.concatenate([X, own_X]), np.concatenate([y, own_y]), np.concatenate([w, own_w])
            n_curves += len(self.own_.at_step(step))
        if len(y) < self.min_examples or y.all() or not y.any():
            return None
        coef = _logistic(X, y, w / w.mean(), self._last.get(step))
        self._last[step] = coef
        return coef, n_curves

    def probability_beats(self, steps: Sequence[int], values: Sequence[float], incumbent: Incumbent) -> BeatsBest | None:
        """The chance that the running curve (``values`` at ``steps``, higher is better) ends above ``incumbent``."""
        s, v = np.asarray(steps, dtype=int), np.asarray(values, dtype=float)
        if not len(s) or not math.isfinite(v[-1]):
            return None
        step = int(s[-1])
        fitted = fitted_at(self._fits, step, self._fit_step)
        if fitted is None:
            return None
        coef, n_curves = fitted
        row = np.full((1, step + 1), np.nan)
        row[0, s] = v
        z = float(np.clip(coef[0] + features(row, step, incumbent)[0] @ coef[1:], -30, 30))
        return BeatsBest(1.0 / (1.0 + math.exp(-z)), n_curves)
