"""The meta-learned pruner: past learning curves predict where a running trial will end.

Past curves on related tasks (the experience store's related studies, the bundled
prior's curves, and this study's own finished trials) form a
:class:`~jupyter_metahpo.pruners.curves.CurveLibrary`. At each report the model
(:class:`~jupyter_metahpo.pruners.curves.StepRegression` by default) predicts the
running trial's final value, with a spread, from its curve so far; the trial stops
when it ends worse than the best complete trial with probability ``p``. The verdict
says so: ``"predicted final 0.81 ± 0.02 < best 0.93, from 1,240 past curves"``.

The model (a least-squares line per step, :class:`~jupyter_metahpo.pruners.curves.StepRegression`)
and the checks at the 2nd, 3rd, 5th, 9th, 17th, ... report were chosen by measurement
(``benchmarks/bench_pruning.py --part sweep``, ``benchmarks/results/pruning.md``): a
trial asked at every step is tested dozens of times, and each test is a chance to
prune the trial that would have been best.

The past's spread of errors is an average over its tasks; the study's own complete
curves then calibrate it to this task (:func:`task_calibration`): a task whose curves
the past predicts well gets sharper predictions and prunes sooner, one it predicts
badly gets wider ones.

With no past curve at the trial's step (no related study reported one, and this
study has finished none yet) the pruner never prunes: it needs curves to learn from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..trial import Direction, FrozenTrial, TrialState, best_trial
from .base import KEEP, PruneDecision, Pruner
from .curves import PREDICTORS, CurveLibrary, FinalPrediction, LearningCurve

__all__ = ["MetaLearnedPruner", "own_curves", "task_calibration"]

#: The task name this study's own finished curves carry in the library.
OWN_TASK = "this study"


def _doubling(n_reports: int) -> bool:
    """The 2nd, 3rd, 5th, 9th, 17th, ... report: one past a power of two."""
    return n_reports >= 2 and (n_reports - 1) & (n_reports - 2) == 0


#: When a trial is judged, by how many values it has reported.
SCHEDULES = {"doubling": _doubling, "every": lambda n_reports: True}


class MetaLearnedPruner(Pruner):
    """Prune when past curves predict the trial ends worse than the best one, with probability ``p``.

    Parameters
    ----------
    p:
        How sure the prediction must be that the trial ends below the best trial
        (above it, when minimising) before the trial stops, in (0.5, 1).
    past:
        Past learning curves (:class:`~jupyter_metahpo.pruners.curves.LearningCurve`
        or a :class:`~jupyter_metahpo.pruners.curves.CurveLibrary`). ``tune`` adds
        those of related stored studies and of the bundled prior (:meth:`with_past`).
    model:
        The predictor: ``"regression"`` (default), ``"nearest"`` or ``"last"``
        (:data:`~jupyter_metahpo.pruners.curves.PREDICTORS`), or an object with
        ``fit(library)`` and ``predict(steps, values)``.
    schedule:
        When a trial is judged: ``"doubling"`` (default) at its 2nd, 3rd, 5th, 9th,
        17th, ... report (fewer tests, fewer wrong prunes), or ``"every"`` report.
    n_warmup_steps:
        No trial stops before this step (its first reports say little).
    n_startup_trials:
        No trial stops before this many trials are complete (the best needs to mean something).
    calibration:
        How many of this study's own complete curves weigh as much as the past in
        calibrating the prediction to this task (:func:`task_calibration`): the past's
        spread of errors is rescaled, and its bias corrected, by how well the model
        predicted this study's own curves from the same step, shrunk towards the past
        with this weight. ``0`` turns it off. The default, 10, was chosen on half the
        prior's datasets and lowered the epochs on the other half at no cost in regret
        (``benchmarks/bench_pruning.py --part select``).
    """

    name = "meta"

    def __init__(
        self,
        p: float = 0.8,
        past: Iterable[LearningCurve] | CurveLibrary = (),
        *,
        model: str | Any = "regression",
        schedule: str = "doubling",
        n_warmup_steps: int = 1,
        n_startup_trials: int = 1,
        calibration: float = 10.0,
    ) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.5 < p < 1:
            raise ValueError(f"`p` of MetaLearnedPruner must be a probability in (0.5, 1), but got p={p!r}.")
        if isinstance(model, str) and model not in PREDICTORS:
            raise ValueError(f"unknown curve model {model!r}; choose one of {sorted(PREDICTORS)}.")
        if schedule not in SCHEDULES:
            raise ValueError(f"`schedule` of MetaLearnedPruner must be one of {list(SCHEDULES)}, but got {schedule!r}.")
        for label, value in (("n_warmup_steps", n_warmup_steps), ("n_startup_trials", n_startup_trials)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{label}` of MetaLearnedPruner must be an integer >= 0, but got {label}={value!r}.")
        if isinstance(calibration, bool) or not isinstance(calibration, (int, float)) or not calibration >= 0:
            raise ValueError(
                f"`calibration` of MetaLearnedPruner must be a number >= 0 (0: off), but got calibration={calibration!r}."
            )
        self.p = float(p)
        self.past = past.curves if isinstance(past, CurveLibrary) else tuple(past)
        self.model = model
        self.schedule = schedule
        self.n_warmup_steps = n_warmup_steps
        self.n_startup_trials = n_startup_trials
        self.calibration = float(calibration)
        self._calibrations: dict[int, tuple[float, float]] = {}
        self._fitted_key: tuple | None = None
        self._fitted: Any = None
        self._past_library: CurveLibrary | None = None

    def with_past(self, curves: Iterable[LearningCurve]) -> MetaLearnedPruner:
        """A pruner with the same settings whose past also holds ``curves``."""
        return MetaLearnedPruner(
            self.p, (*self.past, *curves), model=self.model, schedule=self.schedule, n_warmup_steps=self.n_warmup_steps,
            n_startup_trials=self.n_startup_trials, calibration=self.calibration,
        )

    @property
    def n_past_tasks(self) -> int:
        return len({c.task for c in self.past})

    def decide(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction) -> PruneDecision:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps or not SCHEDULES[self.schedule](len(trial.intermediate_values)):
            return KEEP
        best = best_trial(trials, direction)
        n_complete = sum(t.state is TrialState.COMPLETE for t in trials)
        if best is None or n_complete < self.n_startup_trials:
            return KEEP
        model = self._model_for(trials, direction)
        sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
        steps = list(trial.intermediate_values)
        prediction = model.predict(steps, [sign * v for v in trial.intermediate_values.values()])
        if prediction is None:
            return KEEP
        if self.calibration > 0:
            prediction = self._calibrated(prediction, model, trials, direction, steps[-1])
        threshold = sign * best.value
        if prediction.probability_below(threshold) < self.p:
            return KEEP
        worse = "<" if direction is Direction.MAXIMIZE else ">"
        return PruneDecision(
            True,
            f"predicted final {sign * prediction.mean:.3g} ± {prediction.sd:.2g} {worse} best {best.value:.3g}, "
            f"from {prediction.n_curves:,} past curves",
        )

    def _model_for(self, trials: Sequence[FrozenTrial], direction: Direction) -> Any:
        """The model fitted on the past and this study's complete curves (refitted when one more completes)."""
        own = [(t.number, t.started_at) for t in trials if t.state is TrialState.COMPLETE and t.intermediate_values]
        key = (direction, tuple(own))
        if key != self._fitted_key:
            if self._past_library is None:
                self._past_library = CurveLibrary(self.past)
            library = self._past_library.plus(own_curves(trials, direction))
            model = PREDICTORS[self.model]() if isinstance(self.model, str) else self.model
            self._fitted, self._fitted_key = model.fit(library), key
            self._calibrations = {}
        return self._fitted

    def _calibrated(self, prediction: FinalPrediction, model: Any, trials: Sequence[FrozenTrial],
                    direction: Direction, step: int) -> FinalPrediction:
        """``prediction`` calibrated to this task by the model's errors on this study's own curves at ``step``."""
        if step not in self._calibrations:
            own = own_curves(trials, direction)
            self._calibrations[step] = task_calibration(model, own, step, direction, self.calibration)
        bias, scale = self._calibrations[step]
        return FinalPrediction(prediction.mean + bias, prediction.sd * scale, prediction.n_curves)

    def __repr__(self) -> str:
        return (
            f"MetaLearnedPruner(p={self.p}, past={len(self.past)} curves from {self.n_past_tasks} tasks, "
            f"model={self.model!r}, schedule={self.schedule!r}, n_warmup_steps={self.n_warmup_steps})"
        )


def task_calibration(model: Any, own: Sequence[LearningCurve], step: int, direction: Direction,
                     weight: float) -> tuple[float, float]:
    """How to correct the model's predictions at ``step`` for this task: ``(bias, scale)``.

    The model predicts each of the study's own complete curves that went past ``step``
    from its values up to ``step``; with their errors ``r`` and standardised errors
    ``z = r / sd`` (``n`` curves), the bias is ``sum(r) / (n + weight)`` and the scale
    ``sqrt((sum(z**2) + weight) / (n + weight))``: the past's calibration (no bias, scale 1)
    counts as ``weight`` curves. A task whose curves the past predicts better than its
    average task gets sharper predictions (and prunes sooner), one it predicts worse
    gets wider ones (and prunes less), each as its own curves show.
    """
    sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
    errors, squares = [], []
    for curve in own:
        steps = [s for s in curve.steps if s <= step]
        if not steps or steps[-1] != step or curve.steps[-1] <= step:
            continue  # a curve that ended at this step has nothing left to predict
        values = [sign * v for s, v in zip(curve.steps, curve.values) if s <= step]
        predicted = model.predict(steps, values)
        if predicted is None:
            continue
        error = sign * curve.final - predicted.mean
        errors.append(error)
        squares.append((error / predicted.sd) ** 2)
    n = len(errors)
    if n == 0:
        return 0.0, 1.0
    return sum(errors) / (n + weight), math.sqrt((sum(squares) + weight) / (n + weight))


def own_curves(trials: Sequence[FrozenTrial], direction: Direction, task: str = OWN_TASK) -> list[LearningCurve]:
    """The complete trials' curves, each ending at its result."""
    return [
        LearningCurve.from_mapping(t.intermediate_values, t.value, direction, task)
        for t in trials
        if t.state is TrialState.COMPLETE and t.intermediate_values and t.value is not None and math.isfinite(t.value)
    ]
