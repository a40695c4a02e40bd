"""Trials in parallel on Dask (issue 21): ask and tell in the kernel, the objective on workers.

Most tests share one small ``LocalCluster`` (2 worker processes, one thread each) made
for this module; its scheduler reports a dead worker at once, as the cluster ``tune``
starts itself does. The tests that start their own cluster through ``n_jobs`` are slow.
"""

from __future__ import annotations

import functools
import gc
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from jupyter_metahpo import ExperienceStore, ObjectiveFailedError, StopSignal, tune, uniform  # noqa: E402
from jupyter_metahpo.space import as_search_space  # noqa: E402
from jupyter_metahpo.meta.synthetic import make_family, past_study, synthetic_space  # noqa: E402
from jupyter_metahpo.parallel import (  # noqa: E402
    UnpicklableObjectiveError,
    check_parallel_options,
    check_picklable,
    run_on_worker,
)
from jupyter_metahpo.samplers import RandomSampler  # noqa: E402
from jupyter_metahpo.samplers.base import History, Sampler  # noqa: E402
from jupyter_metahpo.study import StudyInterrupted  # noqa: E402
from jupyter_metahpo.trial import TrialState  # noqa: E402

from helpers import parallel_objectives as objectives  # noqa: E402

SPACE = {"x": uniform(0.0, 1.0), "y": uniform(0.0, 1.0)}

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def shared_client():
    """Two worker processes of one thread each; a worker that dies is reported at once."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        scheduler_kwargs={"allowed_failures": 0}, resources={"slot": 1},
    )
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


@pytest.fixture
def client(shared_client):
    """The shared cluster, with both workers up (a test may have killed one: its nanny starts another)."""
    shared_client.wait_for_workers(2, timeout=60)
    return shared_client


def _scheduler_tasks(client) -> list[str]:
    """Keys of the trial tasks the scheduler still holds."""
    return [
        str(key) for key in client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
        if "metahpo-trial" in str(key)
    ]


def _wait_until(condition, seconds=30.0):
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "the condition did not hold in time"
        time.sleep(0.05)


def _wait_for_no_trial_tasks(client, seconds=30.0):
    """Until the scheduler holds no trial task; else fail naming each task left, its state and who holds it."""
    def left(dask_scheduler):
        return [(str(key), task.state, sorted(c.client_key for c in task.who_wants))
                for key, task in dask_scheduler.tasks.items() if "metahpo-trial" in str(key)]

    try:
        _wait_until(lambda: _scheduler_tasks(client) == [], seconds)
    except AssertionError:
        raise AssertionError(f"trial tasks left on the scheduler: {client.run_on_scheduler(left)}") from None


class RecordingSampler(Sampler):
    """Random proposals; records how many were asked for and how many trials were pending each time."""

    name = "random"

    def __init__(self, after_second_call=None) -> None:
        self.inner = RandomSampler(seed=0)
        self.calls: list[tuple[int, int, int]] = []  # (n asked, pending, finished)
        self.after_second_call = after_second_call

    def suggest(self, history: History, n: int = 1):
        self.calls.append((n, len(history.pending), len(history.trials)))
        if len(self.calls) == 2 and self.after_second_call is not None:
            self.after_second_call()
        return self.inner.suggest(history, n)


# Checks before anything starts -----------------------------------------------------------------


def test_bad_parallel_options_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="n_jobs"):
        check_parallel_options(0, None, None)
    with pytest.raises(ValueError, match="n_jobs"):
        check_parallel_options(2.5, None, None)
    with pytest.raises(ValueError, match="resources"):
        check_parallel_options(2, None, {"GPU": -1})
    with pytest.raises(ValueError, match="n_jobs > 1 or client="):
        check_parallel_options(1, None, {"GPU": 1})
    with pytest.raises(TypeError, match="scheduler address"):
        check_parallel_options(1, 42, None)
    assert check_parallel_options(-1, None, None) == os.cpu_count()
    assert check_parallel_options(1, "tcp://127.0.0.1:8786", None) is None  # every thread of that cluster


def test_an_objective_holding_a_lock_is_refused_before_the_store_opens_a_study(tmp_path):
    lock = threading.Lock()

    def objective(x, y):
        with lock:
            return x + y

    with pytest.raises(UnpicklableObjectiveError) as refused:
        tune(objective, SPACE, n_trials=4, n_jobs=2, store=tmp_path, name="locked")
    message = str(refused.value)
    assert "the closure variable 'lock'" in message and "lock" in message.split("(")[1]
    assert "n_jobs=1" in message
    assert ExperienceStore(tmp_path).studies() == ()  # nothing was recorded: no trial started


class _Model:
    def __init__(self) -> None:
        self.weights = [1.0, 2.0]
        self.log = open(os.devnull, "w")  # noqa: SIM115 - the point is an object holding a file


def test_the_error_names_the_attribute_of_a_global_that_cannot_be_pickled():
    namespace = {"model": _Model()}
    exec("def objective(x, y):\n    return model.weights[0] * x + y", namespace)  # a notebook cell's global
    with pytest.raises(UnpicklableObjectiveError, match=r"the global 'model' -> the attribute 'log' \(TextIOWrapper\)"):
        check_picklable(namespace["objective"])
    namespace["model"].log.close()


def test_a_picklable_objective_passes_the_check():
    check_picklable(functools.partial(objectives.dies_once, marker="x"))
    check_picklable(lambda x, y: np.sqrt(x) + y)


# The worker's side, without a cluster --------------------------------------------------------


def test_a_worker_returns_plain_numbers_and_what_the_objective_printed():
    import cloudpickle

    outcome = run_on_worker(cloudpickle.dumps(lambda config: np.float32(config["x"]) * 2), {"x": 0.25}, None, None, None)
    assert outcome.error is None and outcome.value == 0.5 and type(outcome.value) is float
    chatty = cloudpickle.dumps(lambda config: objectives.chatty_bowl(**config))
    outcome = run_on_worker(chatty, {"x": 0.3, "y": 0.7}, None, None, None)
    assert outcome.value == pytest.approx(0.0) and f"pid {os.getpid()}" in outcome.output
    assert outcome.warnings == ("UserWarning: a warning from the worker",)


def test_a_worker_turns_failures_into_text():
    import cloudpickle

    failing = cloudpickle.dumps(lambda config: objectives.always_fails(**config))
    outcome = run_on_worker(failing, {"x": 0.5, "y": 0.1}, None, None, None)
    assert outcome.value is None and "ValueError: no good at x=0.500" in outcome.error
    assert "Traceback" in outcome.error
    several = cloudpickle.dumps(lambda config: objectives.several_metrics(**config))
    unnamed = run_on_worker(several, {"x": 0.5, "y": 0.1}, None, None, None)
    assert unnamed.metric_unnamed and "metric=" in unnamed.error
    named = run_on_worker(several, {"x": 0.5, "y": 0.1}, "loss", None, None)
    assert named.value == {"loss": pytest.approx(0.2**2 + 0.6**2), "other": 1.0}
    nan = run_on_worker(cloudpickle.dumps(lambda config: float("nan")), {}, None, None, None)
    assert "not a finite number" in nan.error


def test_a_worker_stops_a_python_loop_at_the_deadline():
    import cloudpickle

    def spin(config):
        while True:
            pass

    began = time.monotonic()
    outcome = run_on_worker(cloudpickle.dumps(spin), {}, None, time.time() + 0.3, 0.3)
    assert "timed out after" in outcome.error and "timeout=0.3 s" in outcome.error
    assert time.monotonic() - began < 30  # it returned: the loop was stopped


# On a cluster ------------------------------------------------------------------------------------


def test_trials_run_on_the_workers_and_the_kernel_records_each(client, tmp_path):
    result = tune(objectives.chatty_bowl, SPACE, n_trials=6, client=client, store=tmp_path, name="par", seed=0)
    assert result.status == "finished" and len(result.trials) == 6
    assert all(t.state is TrialState.COMPLETE for t in result.trials)
    pids = {t.output.split()[1] for t in result.trials}
    assert str(os.getpid()) not in pids  # every objective call ran in a worker process
    assert all(t.warnings == ("UserWarning: a warning from the worker",) for t in result.trials)
    store = ExperienceStore(tmp_path)
    (record,) = store.studies("par")
    stored = store.trials(record.id)
    assert sorted(t.trial.number for t in stored) == list(range(6))
    assert record.settings["n_jobs"] == 1  # with client=: every thread of the cluster
    refined = [t.origin for t in result.trials if t.origin.source == "gp"]
    # Proposed while the other slot's trial ran: the GP sampler counted it at its prediction.
    assert refined and any(o.details.get("pending_method") == "kriging believer" for o in refined)
    # tune's own sampler for parallel trials: the believer that says which hyperparameter fit it used.
    assert all(o.details.get("hyperparameters") in ("fitted", "kept") for o in refined)


def test_the_sampler_sees_the_running_trials_as_pending(client, tmp_path):
    # The first call returns at once; the others wait until the sampler has been asked twice,
    # so that the second proposal is asked for while a trial runs.
    objective = functools.partial(objectives.quick_then_waits, folder=str(tmp_path), quick=1)
    sampler = RecordingSampler(after_second_call=lambda: (tmp_path / "release").touch())
    try:
        result = tune(objective, SPACE, n_trials=6, client=client, sampler=sampler, store=False)
    finally:
        (tmp_path / "release").touch()
    assert len(result.trials) == 6
    assert sampler.calls[0] == (2, 0, 0)  # two slots: the first two asked for at once
    assert sampler.calls[1] == (1, 1, 1)  # one finished, one running: pending for the sampler
    assert all(n + pending <= 2 for n, pending, _ in sampler.calls)
    assert sum(n for n, _, _ in sampler.calls) == 6


def test_the_warm_start_first_proposals_start_together(client):
    tasks = make_family("related", 7, seed=0)
    past = [past_study(t, seed=0) for t in tasks[1:]]
    result = tune(tasks[0].objective, synthetic_space(), n_trials=4, client=client, past=past, store=False, seed=0)
    first, second = result.trials[:2]
    assert first.origin.source == second.origin.source == "warm-start"
    assert second.started_at < first.finished_at  # dispatched before the first one ended


def test_resources_go_with_each_trial(client):
    result = tune(objectives.bowl, SPACE, n_trials=3, client=client, resources={"slot": 1}, store=False)
    assert result.status == "finished" and len(result.trials) == 3


def test_a_worker_that_dies_fails_its_trial_and_its_configuration_runs_again(client, tmp_path):
    marker = tmp_path / "died"
    objective = functools.partial(objectives.dies_once, marker=str(marker))
    gc.disable()  # the lost trial's task must leave the cluster without the cycle collector's help
    try:
        result = tune(objective, SPACE, n_trials=5, client=client, sampler=RandomSampler(seed=1), store=tmp_path,
                      name="killed")
        _wait_for_no_trial_tasks(client)
    finally:
        gc.enable()
    assert marker.exists()  # a worker process was killed
    failed = [t for t in result.trials if t.state is TrialState.FAILED]
    assert len(failed) == 1 and "Dask worker running this trial died" in failed[0].error
    assert "tried once more" in failed[0].error
    (retry,) = [t for t in result.trials if t.origin.details.get("retry_of") == failed[0].number]
    assert retry.state is TrialState.COMPLETE and dict(retry.config) == dict(failed[0].config)
    assert retry.origin.source == failed[0].origin.source and "again" in retry.origin.reason
    # Nothing lost: the budget's five trials are there, and the retry after them.
    assert len(result.trials) == 6 and result.status == "finished"
    store = ExperienceStore(tmp_path)
    (record,) = store.studies("killed")
    assert len(store.trials(record.id)) == 6


def test_stop_cancels_the_running_trials_and_keeps_the_finished_ones(client, tmp_path):
    stop = StopSignal()

    def stop_while_two_wait(snapshot):
        running = sum(t.state is TrialState.RUNNING for t in snapshot.trials)
        complete = sum(t.state is TrialState.COMPLETE for t in snapshot.trials)
        if snapshot.event == "trial_start" and complete >= 2 and running == 2:
            stop.set()  # what the widget's Stop button does

    objective = functools.partial(objectives.quick_then_waits, folder=str(tmp_path), quick=2)
    try:
        result = tune(objective, SPACE, n_trials=10, client=client, store=tmp_path / "store", name="stop",
                      sampler=RandomSampler(seed=0), stop=stop, callbacks=[stop_while_two_wait])
    finally:
        (tmp_path / "release").touch()  # the cancelled tasks' threads end
    assert result.status == "stopped"
    assert len(result.trials) == 2 and all(t.state is TrialState.COMPLETE for t in result.trials)
    store = ExperienceStore(tmp_path / "store")
    (record,) = store.studies("stop")
    assert record.status == "stopped" and len(store.trials(record.id)) == 2
    _wait_for_no_trial_tasks(client)  # the running tasks were cancelled


def test_ctrl_c_cancels_the_running_trials_and_keeps_the_finished_ones(client, tmp_path):
    def interrupt_after_two(snapshot):
        if snapshot.event == "trial_end" and sum(t.state.is_finished for t in snapshot.trials) == 2:
            raise KeyboardInterrupt  # what Ctrl-C raises in the kernel while it waits

    with pytest.raises(StudyInterrupted) as interrupted:
        tune(objectives.sleepy_bowl, SPACE, n_trials=10, client=client, store=tmp_path, name="ctrl-c",
             sampler=RandomSampler(seed=0), callbacks=[interrupt_after_two])
    result = interrupted.value.result
    assert result.status == "interrupted"
    assert len(result.trials) == 2 and all(t.state is TrialState.COMPLETE for t in result.trials)
    store = ExperienceStore(tmp_path)
    (record,) = store.studies("ctrl-c")
    assert record.status == "interrupted" and len(store.trials(record.id)) == 2
    _wait_for_no_trial_tasks(client)


def test_the_time_budget_cancels_the_running_futures(client):
    def spin(x, y):
        end = time.monotonic() + 120
        while time.monotonic() < end:
            pass
        return x

    began = time.monotonic()
    result = tune(spin, SPACE, n_trials=10, timeout=1.5, client=client, store=False, sampler=RandomSampler(seed=0))
    assert result.status == "timeout"
    # Cancelled by the kernel at the deadline (or, a second later, stopped by the worker itself).
    assert len(result.trials) == 2 and all("timed out after" in t.error for t in result.trials)
    assert all("timeout=1.5 s" in t.error for t in result.trials)
    _wait_for_no_trial_tasks(client)
    # The workers stopped the loops at the deadline: both are free again long before the 120 s.
    assert client.submit(sum, [1, 2], pure=False).result(timeout=60) == 3
    assert time.monotonic() - began < 100


def test_an_objective_that_always_fails_ends_the_study_with_its_error(client):
    with pytest.raises(ObjectiveFailedError, match="no good at x="):
        tune(objectives.always_fails, SPACE, n_trials=20, client=client, store=False)


def test_a_dict_result_without_metric_ends_the_study_at_once(client):
    with pytest.raises(ObjectiveFailedError, match="metric="):
        tune(objectives.several_metrics, SPACE, n_trials=20, client=client, store=False)
    result = tune(objectives.several_metrics, SPACE, n_trials=3, metric="loss", client=client, store=False)
    assert all(t.metrics["other"] == 1.0 for t in result.trials)


@pytest.mark.slow
def test_n_jobs_starts_a_cluster_and_closes_it(tmp_path):
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = tune(objectives.chatty_bowl, SPACE, n_trials=4, n_jobs=2, store=tmp_path, name="own", seed=0)
    assert result.status == "finished" and len(result.trials) == 4
    assert str(os.getpid()) not in {t.output.split()[1] for t in result.trials}
    _wait_until(lambda: {p.pid for p in psutil.Process().children(recursive=True)} - before == set())


# Learning curves and pruning on the workers (parallel_reports) ------------------------------------


def test_a_worker_sends_back_the_curve_and_a_pruned_trial_as_pruned():
    import cloudpickle

    from jupyter_metahpo import TrialPruned
    from jupyter_metahpo.study import bind_objective

    def stops_itself(x, trial):
        for step in range(3):
            trial.report(x + step, step)
        raise TrialPruned("enough")

    call = bind_objective(stops_itself, as_search_space({"x": uniform(0.0, 1.0)}))
    outcome = run_on_worker(cloudpickle.dumps(call), {"x": 0.5}, None, None, None, 0)
    assert outcome.state == "pruned" and outcome.error is None and outcome.prune_reason == "enough"
    assert outcome.curve == {0: 0.5, 1: 1.5, 2: 2.5} and outcome.value == 2.5
    finished = run_on_worker(cloudpickle.dumps(bind_objective(objectives.reporting_bowl, as_search_space(SPACE))),
                             {"x": 0.3, "y": 0.7}, None, None, None, 1)  # no channel: it keeps its curve, never prunes
    assert finished.state is None and finished.value == pytest.approx(0.0) and len(finished.curve) == 6


def test_a_channel_that_cannot_reach_the_kernel_warns_once_and_the_curve_comes_back(monkeypatch):
    import cloudpickle

    from jupyter_metahpo.parallel_reports import ChannelNames
    from jupyter_metahpo.study import bind_objective

    # As on a process with no Dask client (other tests of this module keep one open here): the
    # handle's first report cannot reach any queue.
    def no_client(*args, **kwargs):
        raise ValueError("No global client found and no address provided")

    from jupyter_metahpo import parallel_reports

    # On the module's lazy import of Dask (its first use copies the module's names: patching
    # ``distributed`` itself before that would leave the fake behind for later tests).
    monkeypatch.setattr(parallel_reports.distributed, "Queue", no_client)
    call = bind_objective(objectives.reporting_bowl, as_search_space(SPACE))
    outcome = run_on_worker(cloudpickle.dumps(call), {"x": 0.3, "y": 0.7}, None, None, None, 4,
                            ChannelNames("nowhere-reports", "nowhere-verdict"))
    assert outcome.error is None and outcome.state is None and sorted(outcome.curve) == list(range(6))
    (warning,) = outcome.warnings  # once, not at every report
    assert warning.startswith("RuntimeWarning: this trial's reports could not reach the study")


def _reports_in_order(events: list[tuple[int, int]]) -> bool:
    """Each trial's "trial_report" events came with its steps in increasing order."""
    by_trial: dict[int, list[int]] = {}
    for number, step in events:
        by_trial.setdefault(number, []).append(step)
    return all(steps == sorted(steps) and len(set(steps)) == len(steps) for steps in by_trial.values())


def test_workers_report_to_the_kernel_whose_pruner_stops_the_bad_trials(client, tmp_path):
    events: list[tuple[int, int]] = []

    def on_report(snapshot):
        if snapshot.event == "trial_report":
            events.append((snapshot.current.number, snapshot.current.last_step))

    result = tune(objectives.reporting_bowl, SPACE, n_trials=14, client=client, pruner="median",
                  sampler=RandomSampler(seed=3), store=tmp_path, name="pruned-on-workers", callbacks=[on_report])
    assert result.status == "finished" and len(result.trials) == 14
    pruned = [t for t in result.trials if t.state is TrialState.PRUNED]
    assert pruned, "the median pruner stopped no trial"
    for trial in pruned:  # stopped early, by the kernel's pruner, with the curve and the last value kept
        assert 1 <= len(trial.intermediate_values) < 6
        assert trial.value == trial.intermediate_values[trial.last_step]
        assert "median" in trial.prune_reason
    best_config = min(result.trials, key=lambda t: objectives.bowl(**t.config))
    assert best_config.state is TrialState.COMPLETE and best_config is result.best_trial
    assert all(len(t.intermediate_values) == 6 for t in result.trials if t.state is TrialState.COMPLETE)
    # Every point reached the kernel while its trial ran, in order.
    assert len(events) == sum(len(t.intermediate_values) for t in result.trials)
    assert _reports_in_order(events)
    store = ExperienceStore(tmp_path)
    (record,) = store.studies("pruned-on-workers")
    stored = {t.trial.number: t.trial for t in store.trials(record.id)}
    assert {n for n, t in stored.items() if t.state is TrialState.PRUNED} == {t.number for t in pruned}
    assert all(stored[t.number].intermediate_values == t.intermediate_values for t in result.trials)


def test_without_a_pruner_the_workers_curves_are_kept_and_nothing_is_pruned(client):
    result = tune(objectives.reporting_bowl, SPACE, n_trials=6, client=client, sampler=RandomSampler(seed=3),
                  store=False)
    assert [t.state for t in result.trials] == [TrialState.COMPLETE] * 6
    assert all(sorted(t.intermediate_values) == list(range(6)) for t in result.trials)


def test_a_dead_workers_trial_keeps_its_reports_and_its_configuration_runs_again(client, tmp_path):
    objective = functools.partial(objectives.reporting_dies_once, marker=str(tmp_path / "died"))
    result = tune(objective, SPACE, n_trials=3, client=client, pruner="median", sampler=RandomSampler(seed=1),
                  store=False)
    (failed,) = [t for t in result.trials if t.state is TrialState.FAILED]
    assert "Dask worker running this trial died" in failed.error
    assert sorted(failed.intermediate_values) == [0, 1]  # reported before the worker died
    (retry,) = [t for t in result.trials if t.origin.details.get("retry_of") == failed.number]
    assert retry.state is TrialState.COMPLETE and sorted(retry.intermediate_values) == [0, 1]


def test_a_pruner_that_fails_in_the_kernel_fails_the_trial_on_the_worker(client):
    from jupyter_metahpo.pruners import Pruner

    class Broken(Pruner):
        def decide(self, trial, trials, direction):
            raise ArithmeticError("no rule for this curve")

    result = tune(objectives.reporting_bowl, SPACE, n_trials=2, client=client, pruner=Broken(), store=False,
                  sampler=RandomSampler(seed=0))
    assert [t.state for t in result.trials] == [TrialState.FAILED] * 2
    assert all("PrunerFailedError" in t.error and "ArithmeticError: no rule for this curve" in t.error
               for t in result.trials)
    assert all(sorted(t.intermediate_values) == [0] for t in result.trials)  # its first report was kept


# The GPU check script (benchmarks/gpu_check.py) ------------------------------------------------------

GPU_CHECK = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


def _no_gpu() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the check would run for real (run it by hand)")


def test_the_gpu_check_says_there_is_no_gpu_and_exits_0():
    _no_gpu()
    done = subprocess.run([sys.executable, str(GPU_CHECK)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no GPU is visible" in done.stdout


@pytest.mark.slow
def test_the_gpu_check_runs_its_path_on_cpu_workers():
    _no_gpu()
    done = subprocess.run(
        [sys.executable, str(GPU_CHECK), "--cpu-workers", "2", "--trials-per-gpu", "1", "--epochs", "1"],
        capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 trials in" in done.stdout and done.stdout.count("device=cpu") == 2


def test_observers_see_which_worker_runs_which_trial_and_the_dashboard(client, tmp_path):
    # Both slots hold a trial that waits for the release file; the test releases them once
    # the observers were told where both run.
    snapshots = []

    def observe(snap):
        snapshots.append(snap)
        if snap.cluster is not None and len(snap.cluster.placement) == 2:
            (tmp_path / "release").touch()

    objective = functools.partial(objectives.quick_then_waits, folder=str(tmp_path), quick=0)
    try:
        result = tune(objective, SPACE, n_trials=4, client=client, store=False, seed=0, callbacks=[observe])
    finally:
        (tmp_path / "release").touch()
    assert result.status == "finished"
    told = [s for s in snapshots if s.event == "workers"]
    assert told, "no snapshot said where the trials run"
    both = next(s.cluster for s in told if len(s.cluster.placement) == 2)
    assert set(both.workers) == set(client.nthreads())
    assert set(both.placement.values()) == set(client.nthreads())  # one trial on each worker
    running = {t.number for t in next(s for s in told if s.cluster is both).trials if t.state is TrialState.RUNNING}
    assert set(both.placement) == running
    assert snapshots[-1].event == "end" and snapshots[-1].cluster.placement == {}
    assert both.dashboard == client.dashboard_link


def test_qlognei_proposals_run_on_the_cluster_when_chosen(client):
    from jupyter_metahpo.samplers.batch import for_parallel_trials

    sampler = for_parallel_trials(None, seed=0, proposals="qlognei")
    result = tune(objectives.bowl, SPACE, n_trials=7, client=client, sampler=sampler, store=False, seed=0)
    refined = [t.origin for t in result.trials if t.origin.source == "gp"]
    assert refined and all(o.details["acquisition"] == "qlognei" and "BoTorch" in o.reason for o in refined)


def test_a_race_runs_each_racer_n_jobs_at_a_time_on_the_cluster(client, tmp_path):
    from jupyter_metahpo.racing import race

    objective = functools.partial(objectives.sleepy_bowl, seconds=0.3)
    results = race(objective, SPACE, ["none", "random"], n_trials=4, n_jobs=2, client=client, store=tmp_path,
                   display=False, name="prace")
    assert set(results) == {"none", "random"}
    for label, result in results.items():
        assert result.status == "finished" and len(result.trials) == 4
        assert all(t.state is TrialState.COMPLETE for t in result.trials)
        first, second = sorted(result.trials, key=lambda t: t.number)[:2]
        assert second.started_at < first.finished_at  # two of this racer's trials ran at once
    store = ExperienceStore(tmp_path)
    for label in ("none", "random"):
        (record,) = store.studies(f"prace/{label}")
        assert record.status == "finished" and len(store.trials(record.id)) == 4


def test_a_race_refuses_an_unpicklable_objective_before_any_racer_opens(client, tmp_path):
    from jupyter_metahpo.racing import race

    lock = threading.Lock()

    def holds_a_lock(x, y):
        with lock:
            return x + y

    with pytest.raises(UnpicklableObjectiveError):
        race(holds_a_lock, SPACE, ["none", "random"], n_trials=2, n_jobs=2, client=client, store=tmp_path, display=False)
    assert not ExperienceStore(tmp_path).studies()


def test_an_optuna_style_objective_runs_on_workers_whose_handles_answer_its_suggest_calls(client):
    result = tune(objectives.optuna_style_bowl, n_trials=4, client=client, sampler=RandomSampler(seed=3), store=False)
    assert result.space == as_search_space(SPACE)  # read from the calls in the kernel, before any trial ran
    assert [t.state for t in result.trials] == [TrialState.COMPLETE] * 4
    for trial in result.trials:  # each worker's handle answered with the configuration the kernel chose
        assert trial.value == pytest.approx(objectives.bowl(**trial.config))
        assert trial.intermediate_values == {0: pytest.approx(trial.value + 1.0)}


def test_optunas_trial_pruned_raised_on_a_worker_prunes_its_trial(client):
    pytest.importorskip("optuna")
    result = tune(objectives.optuna_pruned_bowl, n_trials=6, client=client, sampler=RandomSampler(seed=3), store=False)
    states = {t.state for t in result.trials}
    assert states <= {TrialState.COMPLETE, TrialState.PRUNED} and TrialState.PRUNED in states
    for trial in result.trials:
        if trial.state is TrialState.PRUNED:  # stopped by the objective, its curve and last value kept
            assert trial.config["x"] > 0.5 and trial.prune_reason == "above the half"
            assert trial.value == trial.intermediate_values[0]
        else:
            assert trial.config["x"] <= 0.5
