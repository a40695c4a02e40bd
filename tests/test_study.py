"""The study loop: ask/tell invariants, failures, interrupts, budgets, reproducibility."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from jupyter_metahpo import (
    ObjectiveFailedError,
    RandomSampler,
    SobolSampler,
    StopSignal,
    Study,
    TrialState,
    choice,
    intrange,
    tune,
    uniform,
)
from jupyter_metahpo.samplers.base import History, Sampler, Suggestion
from jupyter_metahpo.trial import Origin

SPACE = {"x": uniform(-1.0, 1.0), "n": intrange(1, 4), "c": choice("a", "b")}


def quadratic(x, n, c):
    return x**2 + (n - 2) ** 2 + (0.5 if c == "b" else 0.0)


def make_study(**kwargs):
    kwargs.setdefault("sampler", RandomSampler(seed=0))
    return Study(SPACE, **kwargs)


# Ask / tell -------------------------------------------------------------------------------


def test_ask_marks_running_and_tell_finishes_once():
    study = make_study()
    trial = study.ask()
    assert trial.state is TrialState.RUNNING and trial.number == 0
    assert trial.origin.source == "random"
    assert study.history().pending == (trial.config,)
    done = study.tell(trial, 1.5)
    assert done.state is TrialState.COMPLETE and done.value == 1.5 and done.duration >= 0
    assert study.history().pending == ()
    with pytest.raises(ValueError, match="trial 0 is already complete; each trial is told once"):
        study.tell(trial, 2.0)
    with pytest.raises(ValueError, match="no trial number 7 in this study"):
        study.tell(7, 1.0)


def test_trials_are_frozen_snapshots():
    study = make_study()
    trial = study.ask()
    with pytest.raises(TypeError):
        trial.config["x"] = 3  # MappingProxyType
    with pytest.raises(AttributeError):
        trial.value = 2.0


def test_ask_batch_gives_distinct_pending_trials():
    study = Study(SPACE, sampler=SobolSampler(seed=0))
    batch = study.ask_batch(3)
    assert [t.number for t in batch] == [0, 1, 2]
    assert len(study.history().pending) == 3
    assert len({tuple(sorted(t.config.items())) for t in batch}) == 3


def test_tell_with_an_error_keeps_the_traceback():
    study = make_study()
    trial = study.ask()
    try:
        raise RuntimeError("diverged")
    except RuntimeError as exc:
        failed = study.tell(trial, error=exc)
    assert failed.state is TrialState.FAILED and failed.value is None
    assert "RuntimeError: diverged" in failed.error and "Traceback" in failed.error


@pytest.mark.parametrize(
    "value, fragment",
    [
        (math.nan, "nan, which is not a finite number"),
        (math.inf, "inf, which is not a finite number"),
        ("0.9", "must return a number, but returned '0.9' (str)"),
        (None, "must return a number, but returned None"),
        ({"acc": 0.9, "loss": 0.1}, "name the one to optimise with metric="),
    ],
)
def test_bad_values_fail_the_trial_with_a_reason(value, fragment):
    study = make_study()
    failed = study.tell(study.ask(), value)
    assert failed.state is TrialState.FAILED
    assert fragment in failed.error


def test_dict_results_use_the_named_metric_and_keep_all_metrics():
    study = make_study(metric="acc", direction="maximize")
    done = study.tell(study.ask(), {"acc": np.float32(0.75), "loss": 0.3})
    assert done.value == 0.75 and dict(done.metrics) == {"acc": 0.75, "loss": pytest.approx(0.3)}
    missing = study.tell(study.ask(), {"loss": 0.3})
    assert missing.state is TrialState.FAILED and "has no metric 'acc'" in missing.error


def test_numpy_and_zero_dim_values_are_accepted():
    study = make_study()
    assert study.tell(study.ask(), np.float64(1.25)).value == 1.25
    assert study.tell(study.ask(), np.array(2.5)).value == 2.5
    assert study.tell(study.ask(), np.array([1.0, 2.0])).state is TrialState.FAILED


# optimize ---------------------------------------------------------------------------------


def test_optimize_minimises_and_maximises():
    low = make_study()
    low.optimize(quadratic, 20)
    high = make_study(direction="maximize")
    high.optimize(quadratic, 20)
    assert len(low.trials) == len(high.trials) == 20
    assert low.best_value == min(t.value for t in low.trials)
    assert high.best_value == max(t.value for t in high.trials)


def test_failures_do_not_stop_the_search():
    calls = []

    def flaky(x, n, c):
        calls.append(x)
        if len(calls) % 3 == 0:
            raise ValueError("bad luck")
        if len(calls) % 3 == 1:
            return math.nan
        return x

    study = make_study()
    assert study.optimize(flaky, 9) == "finished"
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAILED) == 6 and states.count(TrialState.COMPLETE) == 3
    assert study.best_trial.state is TrialState.COMPLETE


def test_an_objective_that_always_fails_stops_early_with_its_error():
    def broken(x, n, c):
        raise ZeroDivisionError("division by zero in my loss")

    study = make_study()
    with pytest.raises(ObjectiveFailedError, match="failed on all of the first 5 trials") as info:
        study.optimize(broken, 100)
    assert "ZeroDivisionError: division by zero in my loss" in str(info.value)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert len(study.trials) == 5  # kept, not lost


def test_keyboard_interrupt_stops_cleanly_and_keeps_finished_trials():
    def objective(x, n, c):
        if len(study.trials) == 4:
            raise KeyboardInterrupt
        return x

    study = make_study()
    assert study.optimize(objective, 50) == "interrupted"
    assert len(study.trials) == 3
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_timeout_bounds_the_loop():
    import time

    study = make_study()
    status = study.optimize(lambda x, n, c: time.sleep(0.02) or x, timeout=0.15)
    assert status == "timeout"
    assert 1 <= len(study.trials) < 50


def test_stop_signal_ends_after_the_running_trial():
    stop = StopSignal()

    def objective(x, n, c):
        if len(study.trials) == 3:
            stop.set()
        return x

    study = make_study()
    assert study.optimize(objective, 50, stop=stop) == "stopped"
    assert len(study.trials) == 3 and study.trials[-1].state is TrialState.COMPLETE


def test_n_trials_counts_resumed_trials():
    first = make_study()
    first.optimize(quadratic, 4)
    again = Study(SPACE, sampler=RandomSampler(seed=1), trials=first.trials)
    again.optimize(quadratic, 6)
    assert len(again.trials) == 6
    assert [t.number for t in again.trials] == list(range(6))


def test_budget_is_validated():
    study = make_study()
    with pytest.raises(ValueError, match="`n_trials` must be a positive integer, but got n_trials=0"):
        study.optimize(quadratic, 0)
    with pytest.raises(ValueError, match="`timeout` must be a positive number of seconds, but got timeout=-1"):
        study.optimize(quadratic, timeout=-1)


def test_callbacks_receive_snapshots_in_order():
    events = []
    study = make_study()
    study.optimize(quadratic, 2, callbacks=[lambda snap: events.append((snap.event, len(snap.trials), snap.status))])
    assert [e[0] for e in events] == ["start", "trial_start", "trial_end", "trial_start", "trial_end", "end"]
    assert events[-1] == ("end", 2, "finished")


def test_seed_makes_a_study_reproducible():
    def run(seed):
        study = Study(SPACE, seed=seed, sampler=SobolSampler(seed=seed))
        study.optimize(quadratic, 6)
        return [dict(t.config) for t in study.trials]

    assert run(3) == run(3)
    assert run(3) != run(4)


# Calling the objective ------------------------------------------------------------------------


def test_objective_may_take_a_single_config_dict():
    seen = []
    study = make_study()
    study.optimize(lambda config: seen.append(config) or 0.0, 2)
    assert set(seen[0]) == {"x", "n", "c"}


def test_objective_that_misses_a_parameter_is_rejected_before_any_trial():
    study = make_study()
    with pytest.raises(TypeError, match=r"takes no argument for the space's parameters \['c'\]"):
        study.optimize(lambda x, n: x, 3)
    assert study.trials == ()


def test_objective_with_extra_required_argument_is_rejected():
    def objective(x, n, c, data):
        return x

    with pytest.raises(TypeError, match=r"requires \['data'\], which are not parameters of the search space"):
        make_study().optimize(objective, 3)


# Samplers must return what they are asked for --------------------------------------------------


class ShortSampler(Sampler):
    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        return []


def test_a_sampler_returning_too_few_suggestions_is_an_error():
    with pytest.raises(RuntimeError, match="returned 0 suggestions, but 1 were asked for"):
        Study(SPACE, sampler=ShortSampler()).ask()


def test_enqueue_runs_a_manual_configuration():
    study = make_study()
    trial = study.enqueue({"x": 0.0, "n": 2, "c": "a"})
    assert trial.origin == Origin("manual", "given by the user")
    assert study.tell(trial, 0.0).value == 0.0


# tune --------------------------------------------------------------------------------------


def test_tune_returns_a_result_with_dataframe_and_plot():
    result = tune(quadratic, SPACE, n_trials=8, sampler=RandomSampler(seed=0))
    assert result.status == "finished"
    frame = result.dataframe
    assert list(frame.columns[:6]) == ["number", "state", "value", "x", "n", "c"]
    assert len(frame) == 8 and frame["origin"].eq("random").all()
    assert result.best_value == frame["value"].min()
    assert result.best_config == dict(result.best_trial.config)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = result.plot()  # the figure, not its axes: a notebook prints no `<Axes: ...>` line
    assert isinstance(fig, Figure) and fig.axes[0].get_xlabel() == "trial"


def test_dataframe_keeps_a_none_option_as_none_not_nan():
    from jupyter_metahpo.result import TuningResult

    space = {"x": uniform(0.0, 1.0), "depth": choice(None, 2, 4), "penalty": choice(None, "l1", "l2")}
    study = Study(space, sampler=RandomSampler(seed=0))
    for depth, penalty in ((None, "l1"), (2, None), (4, "l2")):
        study.tell(study.enqueue({"x": 0.5, "depth": depth, "penalty": penalty}), 1.0)
    frame = TuningResult(space=study.space, direction=study.direction, trials=study.trials, status="finished").dataframe
    # pandas 3 would infer float / str here and show NaN; the options must come back as given.
    assert list(frame["depth"]) == [None, 2, 4] and [type(v) for v in frame["depth"]] == [type(None), int, int]
    assert list(frame["penalty"]) == ["l1", None, "l2"]
    assert frame["x"].dtype == float  # other columns keep their inferred dtype


def test_tune_prints_text_progress(capsys):
    tune(quadratic, SPACE, n_trials=3, sampler=RandomSampler(seed=0), progress=True)
    out = capsys.readouterr().out
    assert "[  3/3]" in out and "Best configuration:" in out


def test_importing_the_package_does_not_import_torch():
    code = "import sys, jupyter_metahpo, jupyter_metahpo.samplers; print(sorted(m for m in ('torch', 'botorch', 'gpytorch', 'pandas', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
