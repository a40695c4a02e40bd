"""The learning-curve API: ``trial.report``, ``trial.should_prune``, ``TrialPruned`` and ``tune(pruner=)``.

The pruners here are small fakes with a rule written in the test (the real pruners
are tested in ``test_pruners.py``); five trials or fewer stay in the Sobol design, so
no test here fits a GP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

import jupyter_metahpo as jm
from jupyter_metahpo import Study, TrialPruned, TrialState, tune, uniform
from jupyter_metahpo.pruners import PruneDecision, Pruner, as_pruner
from jupyter_metahpo.reporting import observations_for_sampler
from jupyter_metahpo.study import bind_objective
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin

SPACE = {"x": uniform(0.0, 1.0)}


class PruneAtStep(Pruner):
    """Prunes every trial whose configuration has x > 0.5 once it reached ``step``."""

    name = "fake"

    def __init__(self, step: int) -> None:
        self.step = step
        self.calls: list[tuple[int, int, int]] = []

    def decide(self, trial: FrozenTrial, trials: Sequence[FrozenTrial], direction: Direction) -> PruneDecision:
        self.calls.append((trial.number, trial.last_step, len(trials)))
        if trial.config["x"] > 0.5 and trial.last_step >= self.step:
            return PruneDecision(True, f"x={trial.config['x']:.2f} is over 0.5")
        return PruneDecision(False)


def train(x, trial):
    value = 0.0
    for epoch in range(6):
        value = x * (epoch + 1)
        trial.report(value, epoch)
        if trial.should_prune():
            raise TrialPruned()
    return value


def test_a_pruned_trial_keeps_its_curve_its_last_value_and_the_pruners_reason():
    pruner = PruneAtStep(2)
    result = tune(train, SPACE, n_trials=5, store=False, seed=0, pruner=pruner, direction="maximize")
    pruned = [t for t in result.trials if t.state is TrialState.PRUNED]
    complete = [t for t in result.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete  # the Sobol design puts points on both sides of 0.5
    for t in pruned:
        assert dict(t.intermediate_values) == {s: pytest.approx(t.config["x"] * (s + 1)) for s in range(3)}
        assert t.value == pytest.approx(t.config["x"] * 3)  # the last reported value
        assert t.prune_reason == f"x={t.config['x']:.2f} is over 0.5"
    for t in complete:
        assert len(t.intermediate_values) == 6 and t.prune_reason is None
    # A pruned trial is never the best, though its value may be higher.
    assert result.best_trial.state is TrialState.COMPLETE
    assert all(t.config["x"] <= 0.5 for t in complete)
    # Asked at every step of every trial, with the running trial among the trials.
    assert len(pruner.calls) == sum(len(t.intermediate_values) for t in result.trials)


def test_the_objective_may_prune_itself_and_say_why():
    def quits(x, trial):
        trial.report(x, 0)
        if x > 0.5:
            raise TrialPruned("diverged")
        return x

    result = tune(quits, SPACE, n_trials=5, store=False, seed=0)
    pruned = [t for t in result.trials if t.state is TrialState.PRUNED]
    assert pruned and all(t.prune_reason == "diverged" for t in pruned)
    silent = tune(lambda x, trial: (_ for _ in ()).throw(TrialPruned()), SPACE, n_trials=2, store=False, seed=0)
    assert [t.prune_reason for t in silent.trials] == ["pruned by the objective"] * 2
    assert [t.value for t in silent.trials] == [None, None]  # nothing reported: no value
    assert silent.status == "failed"  # the budget is spent with no complete trial


def test_without_a_pruner_should_prune_is_always_false():
    seen = []

    def objective(x, trial):
        trial.report(x, 0)
        seen.append(trial.should_prune())
        return x

    tune(objective, SPACE, n_trials=3, store=False, seed=0)
    assert seen == [False, False, False]


@pytest.mark.parametrize(
    "objective",
    [
        lambda trial: trial.params["x"],
        lambda config, trial: config["x"] + 0 * len(trial.params),
        lambda x, trial=None: x if trial.params == {"x": x} else -1.0,
        lambda trial, **config: config["x"] if trial.number is not None else -1.0,
    ],
    ids=["trial-alone", "config-dict", "keywords", "kwargs"],
)
def test_every_way_of_taking_the_configuration_also_takes_the_trial(objective):
    result = tune(objective, SPACE, n_trials=2, store=False, seed=0)
    assert [t.value for t in result.trials] == [t.config["x"] for t in result.trials]


def test_a_space_parameter_named_trial_is_a_parameter_not_the_handle():
    result = tune(lambda trial: trial * 2, {"trial": uniform(0, 1)}, n_trials=2, store=False, seed=0)
    assert [t.value for t in result.trials] == [2 * t.config["trial"] for t in result.trials]


def test_a_trial_run_outside_a_study_gets_a_handle_that_keeps_its_curve_and_never_prunes():
    handles = []

    def objective(x, trial):
        trial.report(1.0, 0)
        handles.append(trial)
        return x if not trial.should_prune() else -1.0

    call = bind_objective(objective, jm.SearchSpace(SPACE))
    assert call({"x": 0.25}) == 0.25  # as a worker calls it: no study to report to
    assert handles[0].intermediate_values == {0: 1.0} and handles[0].params == {"x": 0.25}


def test_reports_are_checked_as_optuna_checks_them():
    def objective(x, trial):
        trial.report(float("inf"), 0)  # a diverged loss: kept as NaN
        trial.report(x, 1)
        trial.report(99.0, 1)  # the same step again: ignored, with a warning
        return x

    (t,) = tune(objective, SPACE, n_trials=1, store=False, seed=0).trials
    assert math.isnan(t.intermediate_values[0]) and t.intermediate_values[1] == t.config["x"]
    assert any("already reported step 1" in w for w in t.warnings)
    for bad, error, words in [
        (lambda trial: trial.report(1.0, 1.5), TypeError, "`step` must be an integer"),
        (lambda trial: trial.report(1.0, -1), ValueError, "`step` must be >= 0"),
        (lambda trial: trial.report("high", 0), TypeError, "needs a number"),
    ]:
        (failed,) = tune(bad, SPACE, n_trials=1, store=False, seed=0, ).trials
        assert failed.state is TrialState.FAILED and error.__name__ in failed.error and words in failed.error


def test_observers_see_the_curve_grow():
    events = []

    def watch(snap):
        if snap.event == "trial_report":
            events.append((snap.current.number, dict(snap.current.intermediate_values)))

    tune(train, SPACE, n_trials=1, store=False, seed=0, callbacks=[watch])
    assert [len(curve) for _, curve in events] == [1, 2, 3, 4, 5, 6]
    assert {number for number, _ in events} == {0}


def test_pruned_trials_reach_the_sampler_within_the_complete_trials_range():
    def finished(number, state, value):
        return FrozenTrial(number, {"x": 0.1}, state, Origin("sobol"), value=value)

    trials = [
        finished(0, TrialState.COMPLETE, 0.4),
        finished(1, TrialState.COMPLETE, 0.8),
        finished(2, TrialState.PRUNED, 0.1),  # pruned after its first epoch: far below every finished trial
        finished(3, TrialState.PRUNED, 0.6),
        finished(4, TrialState.PRUNED, None),  # pruned before reporting anything
    ]
    seen = observations_for_sampler(trials)
    assert [(t.state, t.value) for t in seen] == [
        (TrialState.COMPLETE, 0.4), (TrialState.COMPLETE, 0.8), (TrialState.COMPLETE, 0.4),
        (TrialState.COMPLETE, 0.6), (TrialState.FAILED, None),
    ]
    # With no complete trial there is no range to place them in: they count as failed.
    assert [t.state for t in observations_for_sampler(trials[2:4])] == [TrialState.FAILED] * 2


def test_ask_tell_users_prune_through_tell():
    study = Study(SPACE, pruner=PruneAtStep(0), direction="maximize")
    trial = study.ask()
    study.enqueue({"x": 0.9})
    study.report(trial, 0.5, 0)
    study.report(trial, 0.7, 1)
    finished = study.tell(trial, state="pruned", prune_reason="my own rule")
    assert (finished.state, finished.value, finished.prune_reason) == (TrialState.PRUNED, 0.7, "my own rule")
    with pytest.raises(ValueError, match="only a running trial reports"):
        study.report(trial, 0.8, 2)
    running = study.trials[1]
    with pytest.raises(TypeError, match="`step` must be an integer"):
        study.report(running, 0.3, "first")  # ask/tell users get the handle's checks too
    study.report(running, 0.3, 0)
    assert study.should_prune(running) is True  # x = 0.9: the fake prunes it, and its reason stays
    assert study.trials[1].prune_reason == "x=0.90 is over 0.5"
    assert study.tell(running, state="pruned").prune_reason == "x=0.90 is over 0.5"


def test_a_trial_the_pruner_condemned_but_that_finished_is_complete_without_a_verdict():
    def stubborn(x, trial):
        trial.report(x, 0)
        trial.should_prune()  # asked, ignored
        return x

    result = tune(stubborn, SPACE, n_trials=4, store=False, seed=0, pruner=PruneAtStep(0))
    assert all(t.state is TrialState.COMPLETE and t.prune_reason is None for t in result.trials)


def test_pruned_trials_are_not_failures_of_the_objective():
    def prunes_everything(x, trial):
        trial.report(x, 0)
        raise TrialPruned()

    result = tune(prunes_everything, SPACE, n_trials=7, store=False, seed=0)  # more than 5 in a row: no error
    assert len(result.trials) == 7 and result.n_failed == 0


def test_pruner_names_and_bad_values_are_explained():
    assert type(as_pruner("median")).__name__ == "MedianPruner"
    assert type(as_pruner("ASHA")).__name__ == "SuccessiveHalvingPruner"
    assert type(as_pruner(None)).__name__ == "NopPruner"
    with pytest.raises(ValueError, match=r"unknown pruner 'medain'; choose one of \['none', 'median'"):
        tune(train, SPACE, n_trials=1, store=False, pruner="medain")
    with pytest.raises(TypeError, match="`pruner` must be a pruner's name"):
        tune(train, SPACE, n_trials=1, store=False, pruner=3)


def test_the_pruner_is_asked_with_the_running_trial_among_the_trials():
    pruner = PruneAtStep(10)
    tune(train, SPACE, n_trials=2, store=False, seed=0, pruner=pruner)
    # Trial 0 sees only itself; trial 1 sees trial 0 (finished) and itself.
    assert {n for n, _, count in pruner.calls if count == 1} == {0}
    assert {n for n, _, count in pruner.calls if count == 2} == {1}
