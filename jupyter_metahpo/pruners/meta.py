"""The meta-learned pruner: past learning curves say whether a running trial will beat the best.

Past curves on related tasks (the experience store's related studies, the bundled
prior's curves, and this study's own finished trials) form a
:class:`~jupyter_metahpo.pruners.curves.CurveLibrary`. The classifier,
:class:`~jupyter_metahpo.pruners.beats.BeatsBestClassifier`, learns from them, per step,
the chance that a curve like the running one ends above the best complete trial; the
trial stops when it ends below with probability ``p``, and the verdict says so:
``"P(beats best 0.93) = 0.04, from 1,240 past curves at this step"``.

The final-value models of :mod:`.curves` (``model="regression"``, ``"nearest"``, ``"last"``)
predict the running trial's final value with a spread instead; the trial stops when it
ends worse than the best with probability ``p``:
``"predicted final 0.81 ± 0.02 < best 0.93, from 1,240 past curves"``. The past's spread
of errors is an average over its tasks; the study's own complete curves then calibrate it
to this task (:func:`task_calibration`). The default, ``model="auto"``, is the classifier
when the past holds curves of at least :data:`MIN_CLASSIFIER_TASKS` tasks and the
regression with fewer (a user's store of a few related studies), where the classifier
pruned the eventual best more often (:func:`resolve_model`).

Both were chosen by measurement (``benchmarks/bench_pruning.py``, ``--part classifier``
and ``--part select``, ``benchmarks/results/pruning.md``), as were the checks at the 2nd,
3rd, 5th, 9th, 17th, ... report: a trial asked at every step is tested dozens of times,
and each test is a chance to prune the trial that would have been best.

With no past curve at the trial's step (no related study reported one, and this
study has finished none yet) the pruner never prunes: it needs curves to learn from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..trial import Direction, FrozenTrial, TrialState, best_trial
from .base import KEEP, PruneDecision, Pruner
from .beats import BeatsBestClassifier, Incumbent
from .curves import MAX_STEPS, PREDICTORS, CurveLibrary, FinalPrediction, LearningCurve

__all__ = ["MIN_CLASSIFIER_TASKS", "MetaLearnedPruner", "own_curves", "resolve_model", "task_calibration"]

#: The task name this study's own finished curves carry in the library.
OWN_TASK = "this study"


def _doubling(n_reports: int) -> bool:
    """The 2nd, 3rd, 5th, 9th, 17th, ... report: one past a power of two."""
    return n_reports >= 2 and (n_reports - 1) & (n_reports - 2) == 0


#: When a trial is judged, by how many values it has reported.
SCHEDULES = {"doubling": _doubling, "every": lambda n_reports: True}

#: The models by name: the classifier of "beats the best" (the default), and the final-value predictors.
MODELS = {BeatsBestClassifier.name: BeatsBestClassifier, **PREDICTORS}

#: ``p`` when none is given, per model: the classifier's chosen on the development datasets by the rule of
#: ``--part select`` (among 0.93, 0.95, 0.97 within no pruning's regret, the lowest epochs to no pruning's
#: regret of those that prune the eventual best no more often than the regression at 0.8: ``--part classifier``,
#: ``pruning_classifier.md``), the regression's by ``--part sweep``.
DEFAULT_P = {BeatsBestClassifier.name: 0.93}
DEFAULT_P_FINAL_VALUE = 0.8

#: ``model="auto"`` (the default) uses the classifier when the past holds curves of at least this many tasks,
#: the regression otherwise. With the prior's 96 other datasets (``bench_pruning.py``, 0.70 against 0.79) and
#: LCDB's 39 (best pruned 21% against 30%) the classifier was better; on notebook 3's digits CNN, whose past is
#: the two other digits tasks (``bench_pruning.py --live``), it pruned the eventual best in 3 of 9 runs where the
#: regression pruned it in none: a classifier of "beats the best" needs many tasks' incumbents to learn from.
#: Only 2 and 39+ tasks were measured; 10 lies between them.
MIN_CLASSIFIER_TASKS = 10
AUTO = "auto"


def resolve_model(model: str | Any, n_past_tasks: int) -> str | Any:
    """The model ``"auto"`` stands for with a past of ``n_past_tasks`` tasks (other models as given)."""
    if model != AUTO:
        return model
    return BeatsBestClassifier.name if n_past_tasks >= MIN_CLASSIFIER_TASKS else "regression"


def _is_classifier(model: Any) -> bool:
    return model == BeatsBestClassifier.name if isinstance(model, str) else hasattr(model, "probability_beats")


class MetaLearnedPruner(Pruner):
    """Prune when past curves predict the trial ends worse than the best one, with probability ``p``.

    Parameters
    ----------
    p:
        How sure the model must be that the trial ends below the best trial
        (above it, when minimising) before the trial stops, in (0.5, 1). Default:
        0.93 for the classifier, 0.8 for the final-value models (:data:`DEFAULT_P`), for
        the model ``"auto"`` resolves to.
    past:
        Past learning curves (:class:`~jupyter_metahpo.pruners.curves.LearningCurve`
        or a :class:`~jupyter_metahpo.pruners.curves.CurveLibrary`). ``tune`` adds
        those of related stored studies and of the bundled prior (:meth:`with_past`).
    model:
        ``"auto"`` (default): the classifier when the past holds curves of at least
        :data:`MIN_CLASSIFIER_TASKS` tasks, the regression otherwise (a user's own store often
        holds a few). ``"classifier"`` (:class:`~jupyter_metahpo.pruners.beats.BeatsBestClassifier`,
        the chance of beating the best learnt from past pools, the study's own curves added as
        they come), or a final-value predictor, ``"regression"``, ``"nearest"`` or ``"last"``
        (:data:`~jupyter_metahpo.pruners.curves.PREDICTORS`); or an object with ``fit(library)``
        and either ``probability_beats(steps, values, incumbent)`` (and ``with_own(library)``)
        or ``predict(steps, values)``.
    schedule:
        When a trial is judged: ``"doubling"`` (default) at its 2nd, 3rd, 5th, 9th,
        17th, ... report (fewer tests, fewer wrong prunes), or ``"every"`` report.
    n_warmup_steps:
        No trial stops before this step (its first reports say little).
    n_startup_trials:
        No trial stops before this many trials are complete (the best needs to mean something).
    calibration:
        For the final-value models only (the classifier learns from the study's own curves
        directly). How many of this study's own complete curves weigh as much as the past in
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
        p: float | None = None,
        past: Iterable[LearningCurve] | CurveLibrary = (),
        *,
        model: str | Any = AUTO,
        schedule: str = "doubling",
        n_warmup_steps: int = 1,
        n_startup_trials: int = 1,
        calibration: float = 10.0,
    ) -> None:
        if isinstance(model, str) and model != AUTO and model not in MODELS:
            raise ValueError(f"unknown curve model {model!r}; choose one of {sorted([AUTO, *MODELS])}.")
        self.past = past.curves if isinstance(past, CurveLibrary) else tuple(past)
        self.model = model
        #: The model that runs: ``"auto"`` resolved by the number of past tasks (known here: the past is fixed).
        self.resolved_model = resolve_model(model, self.n_past_tasks)
        self._p_given = p  # None: each model's default, also for the copies with_past() makes
        if p is None:
            resolved = self.resolved_model
            p = DEFAULT_P.get(resolved, DEFAULT_P_FINAL_VALUE) if isinstance(resolved, str) else DEFAULT_P_FINAL_VALUE
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.5 < p < 1:
            raise ValueError(f"`p` of MetaLearnedPruner must be a probability in (0.5, 1), but got p={p!r}.")
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
        self.schedule = schedule
        self.n_warmup_steps = n_warmup_steps
        self.n_startup_trials = n_startup_trials
        self.calibration = float(calibration)
        self._calibrations: dict[int, tuple[float, float]] = {}
        self._fitted_key: tuple | None = None
        self._fitted: Any = None
        self._past_library: CurveLibrary | None = None
        self._classifier: Any = None
        self._own_key: tuple | None = None

    def with_past(self, curves: Iterable[LearningCurve]) -> MetaLearnedPruner:
        """A pruner with the same settings whose past also holds ``curves``."""
        return MetaLearnedPruner(
            self._p_given, (*self.past, *curves), model=self.model, schedule=self.schedule, n_warmup_steps=self.n_warmup_steps,
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
        if _is_classifier(self.resolved_model):
            return self._classify(trial, trials, direction, best)
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

    def _classify(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction,
                  best: FrozenTrial) -> PruneDecision:
        """The classifier's verdict: stop when the trial beats the best with probability ``1 - p`` or less."""
        model = self._classifier_for(trials, direction)
        sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
        incumbent = Incumbent(sign * best.value, _row(best.intermediate_values, sign))
        steps = list(trial.intermediate_values)
        answer = model.probability_beats(steps, [sign * v for v in trial.intermediate_values.values()], incumbent)
        if answer is None or 1.0 - answer.probability < self.p:
            return KEEP
        chance = f"= {answer.probability:.2f}" if answer.probability >= 0.005 else "< 0.01"
        return PruneDecision(
            True, f"P(beats best {best.value:.3g}) {chance}, from {answer.n_curves:,} past curves at this step"
        )

    def _classifier_for(self, trials: Sequence[FrozenTrial], direction: Direction) -> Any:
        """The classifier fitted on the past once, and told this study's complete curves when one more completes."""
        if self._classifier is None or self._classifier[0] is not direction:
            chosen = self.resolved_model
            model = MODELS[chosen]() if isinstance(chosen, str) else chosen
            self._classifier, self._own_key = (direction, model.fit(CurveLibrary(self.past))), None
        model = self._classifier[1]
        own = _own_key(trials)
        if own != self._own_key:
            model.with_own(CurveLibrary(own_curves(trials, direction)))
            self._own_key = own
        return model

    def _model_for(self, trials: Sequence[FrozenTrial], direction: Direction) -> Any:
        """The model fitted on the past and this study's complete curves (refitted when one more completes)."""
        key = (direction, _own_key(trials))
        if key != self._fitted_key:
            if self._past_library is None:
                self._past_library = CurveLibrary(self.past)
            library = self._past_library.plus(own_curves(trials, direction))
            chosen = self.resolved_model
            model = PREDICTORS[chosen]() if isinstance(chosen, str) else chosen
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
            f"model={self.model!r}{'' if self.resolved_model == self.model else f' ({self.resolved_model})'}, schedule={self.schedule!r}, n_warmup_steps={self.n_warmup_steps})"
        )


def _own_key(trials: Sequence[FrozenTrial]) -> tuple:
    """Which of the study's trials are complete with a curve: a model learns their curves again when it changes."""
    return tuple((t.number, t.started_at) for t in trials if t.state is TrialState.COMPLETE and t.intermediate_values)


def _row(curve, sign: float) -> np.ndarray:
    """A reported curve (step -> value) as a row indexed by step, higher is better, NaN where nothing was reported."""
    kept = {s: v for s, v in curve.items() if 0 <= s < MAX_STEPS}  # the past has nothing further (CurveLibrary)
    row = np.full(max(kept, default=-1) + 1, np.nan)
    for step, value in kept.items():
        row[step] = sign * value
    return row


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
