"""A past study's scores at the values a new objective fixes: a model of the study, sliced there.

A user who tunes a subset of a built-in space fixes the rest in the objective
(``HistGradientBoostingClassifier(max_iter=100, learning_rate=lr, ...)``). A past study
that varied ``max_iter`` tells how good each of its configurations was *at its own*
``max_iter``, not at 100: where the parameters interact (a learning rate and the
number of boosting rounds), its best trials can be the wrong ones for the new cell.
Keeping only the past trials near the fixed values (:func:`.compat.near_fixed_settings`)
throws most of the study away when several continuous values are fixed and still
mixes trials run far from them. Instead, each past trial's score is *predicted at the
fixed values*: a Gaussian process of the study over its own whole space (Matérn 5/2,
one length scale per parameter chosen on a small grid by the marginal likelihood of
several studies of the same space) is
asked about the trial's configuration with the fixed parameters set to the cell's values.
The trials keep their tuned values; only their scores change.

The model is deliberately small (numpy, a grid instead of a gradient fit): a subset
cell may draw on a hundred past studies, and the whole compatibility pass must stay
within a fraction of a second (``benchmarks/bench_carry_over.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from .._threads import limit_threads
from ..space import Choice, LogUniform, SearchSpace

__all__ = [
    "FixedCost", "FixedSlice", "FixedSlicer", "fixed_position", "LENGTHSCALE_GRID", "NOISE_GRID", "POOLED_STUDIES",
    "fixed_slice",
]

#: Length scales (in the unit cube) tried for each parameter; the last one means "no effect".
LENGTHSCALE_GRID = (0.15, 0.3, 0.6, 1.2, 5.0)
#: Noise variance tried (on standardised scores).
NOISE_GRID = (0.01, 0.1)
#: Coordinate sweeps over the parameters.
SWEEPS = 2
#: Studies of one past space whose summed evidence chooses its hyperparameters.
POOLED_STUDIES = 4
#: A past study needs this many trials to be modelled.
MIN_TRIALS = 8
#: Trials per study that choose the hyperparameters (the grid search costs this cubed, per try).
CHOICE_POINTS = 48
#: Trials per study the model is fitted on (a long study of the store: its memory and time grow with the square
#: and the cube of this); the prior's studies have 64 or 128.
MODEL_POINTS = 256


@dataclass(frozen=True)
class FixedSlice:
    """Where a past space is cut: its columns the new objective fixes, at their unit positions."""

    columns: tuple[int, ...]
    units: tuple[float, ...]
    settings: tuple[str, ...]  # "max_iter=100", for the report

    @property
    def described(self) -> str:
        return ", ".join(self.settings)


@dataclass(frozen=True)
class FixedCost:
    """What one fixed value costs a past study, by its model: the best it could score with that value set.

    ``cost`` is the drop from the model's best over the study's trials to its best with
    the parameter at the fixed value (the other parameters as each trial ran them), as a
    share of the range of the study's measured scores (0: the fixed value is as good as
    the study's best; 0.3: a third of the way down to its worst). ``best`` is the value
    the study's best trial (by the model) ran, as the report shows it.
    """

    setting: str  # "class_weight=None"
    cost: float
    best: str  # "'balanced'"


def fixed_slice(past_space: SearchSpace, fixed: Mapping[str, Any]) -> FixedSlice | None:
    """The cut through ``past_space`` at ``fixed`` (past parameter name -> the value the new objective fixes).

    A value the past parameter cannot express (an option it never offered, a number
    far outside its range) leaves that parameter out: the model cannot say what
    happens there. ``None`` when nothing is left.
    """
    columns, units, settings = [], [], []
    for name, value in fixed.items():
        if name not in past_space:
            continue
        parameter = past_space[name]
        unit = _unit(parameter, value)
        if unit is None:
            continue
        columns.append(past_space.names.index(name))
        units.append(unit)
        settings.append(f"{name}={value!r}")
    if not columns:
        return None
    return FixedSlice(tuple(columns), tuple(units), tuple(settings))


class FixedSlicer:
    """Predicts past studies' scores at the values a new objective fixes.

    ``studies`` are the past studies it will be asked about. The model's hyperparameters
    are chosen once per past search space, on up to :data:`POOLED_STUDIES` of its studies
    together (the prior holds dozens of studies of one space, with the same parameters
    behaving alike), and every study of that space is then modelled with them: one
    Cholesky factorisation each.
    """

    def __init__(self, studies: Sequence[Any]) -> None:
        self._hyperparameters: dict[Any, tuple[np.ndarray, float]] = {}
        self._pools: dict[Any, list[Any]] = {}
        # id(study) -> (the study, kept alive so that its id stays its own; its model or None)
        self._models: dict[int, tuple[Any, _StudyModel | None]] = {}
        for study in studies:
            self._pools.setdefault(_space_key(study.space), []).append(study)

    def scores(self, study: Any, fixed: Mapping[str, Any]) -> tuple[np.ndarray, FixedSlice] | None:
        """``study``'s scores (higher is better) predicted at ``fixed`` (its parameter name -> value), and the cut."""
        cut = fixed_slice(study.space, fixed)
        model = self._model(study) if cut is not None else None
        if model is None:
            return None
        query = model.encoded.copy()
        query[:, list(cut.columns)] = cut.units
        return model.predict(query), cut

    def costs(self, study: Any, fixed: Mapping[str, Any]) -> tuple[FixedCost, ...]:
        """What each of the values ``fixed`` sets costs ``study`` (:class:`FixedCost`), by the same model."""
        cut = fixed_slice(study.space, fixed)
        model = self._model(study) if cut is not None else None
        if model is None:
            return ()
        measured = np.asarray(study.scores(), dtype=float)
        span = float(measured.max() - measured.min())
        own = model.predict(model.encoded)
        best_trial = int(np.argmax(own))
        out = []
        for column, unit, setting in zip(cut.columns, cut.units, cut.settings):
            query = model.encoded.copy()
            query[:, column] = unit
            drop = float(own.max() - model.predict(query).max())
            name = study.space.names[column]
            out.append(FixedCost(setting, min(max(drop / span, 0.0), 1.0) if span > 1e-12 else 0.0,
                                 repr(study.configs[best_trial][name])))
        return tuple(out)

    def _model(self, study: Any) -> _StudyModel | None:
        """The study's GP (hyperparameters chosen per past space), fitted once and kept for its other questions."""
        if len(study.configs) < MIN_TRIALS:
            return None
        if id(study) in self._models:
            return self._models[id(study)][1]
        key = _space_key(study.space)
        if key not in self._hyperparameters:
            pool = self._pools.get(key) or [study]
            picked = [pool[int(i)] for i in np.unique(np.linspace(0, len(pool) - 1, min(len(pool), POOLED_STUDIES)).astype(int))]
            modelled = [s for s in picked if len(s.configs) >= MIN_TRIALS] or [study]
            with limit_threads(1):
                self._hyperparameters[key] = _choose_hyperparameters(
                    [_standardised(s, _encoded(s), CHOICE_POINTS) for s in modelled]
                )
        lengthscales, noise = self._hyperparameters[key]
        encoded = _encoded(study)
        # The model is fitted on at most MODEL_POINTS trials (an even spread), and asked about every one.
        unit, y, categorical, centre, spread = _standardised(study, encoded, MODEL_POINTS)
        model = None
        if spread > 1e-12:
            with limit_threads(1):
                K = _matern52(_scaled(_squared_differences(unit, unit, categorical), lengthscales)) + noise * np.eye(len(y))
                weights = scipy.linalg.cho_solve(scipy.linalg.cho_factor(K, lower=True), y)
            model = _StudyModel(encoded, unit, weights, lengthscales, categorical, centre, spread)
        self._models[id(study)] = (study, model)
        return model


@dataclass(frozen=True)
class _StudyModel:
    """One past study's fitted GP: its posterior mean at any configuration of its space (in its units)."""

    encoded: np.ndarray  # every trial, in the study's unit cube
    unit: np.ndarray  # the trials it was fitted on
    weights: np.ndarray  # K^-1 y
    lengthscales: np.ndarray
    categorical: np.ndarray
    centre: float
    spread: float

    def predict(self, query: np.ndarray) -> np.ndarray:
        with limit_threads(1):
            cross = _matern52(_scaled(_squared_differences(query, self.unit, self.categorical), self.lengthscales))
        return self.centre + self.spread * (cross @ self.weights)


def _space_key(space: SearchSpace) -> Any:
    return tuple((name, repr(parameter)) for name, parameter in space.items())


def _encoded(study: Any) -> np.ndarray:
    """The study's trials in its own unit cube."""
    return np.asarray(study.space.encode(list(study.configs)), dtype=float)


def _standardised(
    study: Any, unit: np.ndarray, at_most: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """An even spread of at most ``at_most`` of the study's trials (``unit``: all of them encoded, in the order
    they ran), their scores standardised, which columns are compared as equal or not, and the scaling."""
    scores = np.asarray(study.scores(), dtype=float)
    if len(scores) > at_most:
        keep = np.unique(np.linspace(0, len(scores) - 1, at_most).astype(int))
        unit, scores = unit[keep], scores[keep]
    categorical = study.space.categorical_mask()
    centre, spread = float(scores.mean()), float(scores.std())
    y = (scores - centre) / spread if spread > 1e-12 else np.zeros_like(scores)
    return unit, y, categorical, centre, spread


def _unit(parameter: Any, value: Any) -> float | None:
    if isinstance(parameter, Choice):
        return float(parameter.to_unit(value)) if parameter.contains(value) else None
    position = fixed_position(parameter, value)
    # A value beyond the past's range: the model would extrapolate; clip to the edge within one range-width.
    if position is None or not -1.0 <= position <= 2.0:
        return None
    return min(max(position, 0.0), 1.0)


def fixed_position(parameter: Any, value: Any) -> float | None:
    """Where a number an objective fixes lies on a past numeric parameter's unit scale (None: it cannot say).

    Zero, which a log scale cannot hold, is read as the scale's low end: an objective that
    leaves sklearn's ``l2_regularization=0`` (or writes ``weight_decay=0``) runs what the past's
    smallest value approximates (the prior ran HGB's 0 as 1e-6).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value == 0 and isinstance(parameter, LogUniform):
        return 0.0
    try:
        position = float(parameter.to_unit(value))
    except (TypeError, ValueError):
        return None
    return position if np.isfinite(position) else None


def _squared_differences(A: np.ndarray, B: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """Per-column squared differences, (len(A), len(B), columns); choices count 0 or 1."""
    diff = A[:, None, :] - B[None, :, :]
    squared = diff * diff
    if np.any(categorical):
        squared[:, :, categorical] = (squared[:, :, categorical] > 1e-12).astype(float)
    return squared


def _scaled(squared: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    return squared @ (1.0 / lengthscales**2)


def _matern52(r2: np.ndarray) -> np.ndarray:
    r = np.sqrt(np.maximum(r2, 0.0) * 5.0)
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def _log_evidence(squared: np.ndarray, y: np.ndarray, lengthscales: np.ndarray, noise: float) -> float:
    """Log marginal likelihood of a zero-mean GP, its output scale at its best value (closed form)."""
    K = _matern52(_scaled(squared, lengthscales)) + noise * np.eye(len(y))
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return -np.inf
    z = scipy.linalg.solve_triangular(L, y, lower=True)
    scale = max(float(z @ z) / len(y), 1e-12)
    return float(-0.5 * len(y) * (np.log(2 * np.pi * scale) + 1.0) - np.sum(np.log(np.diag(L))))


def _choose_hyperparameters(pooled: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]) -> tuple[np.ndarray, float]:
    """Length scales (one per column) and noise by coordinate search on the studies' summed log evidence."""
    data = [(_squared_differences(unit, unit, categorical), y) for unit, y, categorical, _, spread in pooled if spread > 1e-12]
    dim = pooled[0][0].shape[1]

    def evidence(lengthscales: np.ndarray, noise: float) -> float:
        return sum(_log_evidence(squared, y, lengthscales, noise) for squared, y in data)

    lengthscales = np.full(dim, LENGTHSCALE_GRID[2])
    noise = NOISE_GRID[0]
    if not data:
        return lengthscales, noise
    best = evidence(lengthscales, noise)
    for _ in range(SWEEPS):
        changed = False
        for column in range(dim):
            for value in LENGTHSCALE_GRID:
                if value == lengthscales[column]:
                    continue
                trial = lengthscales.copy()
                trial[column] = value
                score = evidence(trial, noise)
                if score > best + 1e-9:
                    best, lengthscales, changed = score, trial, True
        for value in NOISE_GRID:
            if value != noise:
                score = evidence(lengthscales, value)
                if score > best + 1e-9:
                    best, noise, changed = score, value, True
        if not changed:
            break
    return lengthscales, noise
