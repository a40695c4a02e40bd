"""Widget state without a browser: rendering, throttling, Stop, static copies, comparison, race, pump."""

from __future__ import annotations

import math
import re

import comm
import pytest

from jupyter_metahpo import RandomSampler, StopSignal, Study, choice, intrange, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState
from jupyter_metahpo.widgets import _render as R
from jupyter_metahpo.racing import RaceInterrupted, race
from jupyter_metahpo.study import ClusterView
from jupyter_metahpo.widgets.compare import CompareWidget
from jupyter_metahpo.widgets.progress import ProgressWidget

SPACE = {"x": uniform(-1.0, 1.0), "n": intrange(1, 8), "kind": choice("a", "b")}


def objective(x, n, kind):
    return (x - 0.25) ** 2 + 0.01 * n + (0.1 if kind == "b" else 0.0)


class FakeClock:
    """Monotonic seconds that advance by ``step`` at every reading."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class RecordingComm:
    """Stands in for the kernel comm: records what would be sent to the front end."""

    instances: list = []

    def __init__(self, *args, **kwargs) -> None:
        self.comm_id = f"comm-{len(RecordingComm.instances)}"
        self.kernel = "recorded"
        self.messages: list = []
        RecordingComm.instances.append(self)

    def open(self, *args, **kwargs) -> None:
        pass

    def on_msg(self, *args, **kwargs) -> None:
        pass

    def send(self, data=None, metadata=None, buffers=None) -> None:
        self.messages.append(data)

    def close(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def recorded_comms(monkeypatch):
    RecordingComm.instances = []
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm())
    yield RecordingComm.instances


def run_study(view, n_trials=8, stop=None, seed=0):
    study = Study(SPACE, sampler=RandomSampler(seed), name="demo")
    status = study.optimize(objective, n_trials, callbacks=[view], stop=stop)
    return study, status


def test_progress_shows_count_best_config_table_and_origins():
    view = ProgressWidget(StopSignal(), min_interval=0.0)
    study, status = run_study(view, n_trials=8)
    best = study.best_trial
    assert status == "finished"
    assert view.bar.value == view.bar.max == 8
    assert "<b>8/8</b> trials" in view.stats.value
    assert "Finished" in view.title.value and "demo" in view.title.value
    assert R.format_value(best.value) in view.best.value
    for name in SPACE:
        assert f"<code>{name}</code>" in view.best.value
    assert view.table.value.count("<tr>") == 1 + 5  # header + top 5
    assert "random 8" in view.origins.value
    assert view.plot.value.count("<circle") == 8
    assert view.stop_button.disabled and view.stop_button.description == "Finished"


def test_progress_counts_failures_and_shows_the_estimate_while_running():
    view = ProgressWidget(min_interval=0.0)
    study = Study(SPACE, sampler=RandomSampler(1), name="failing")

    def sometimes_fails(x, n, kind):
        if n % 2:
            raise RuntimeError("odd n")
        return x

    study.optimize(sometimes_fails, 10, callbacks=[view], max_initial_failures=None)
    failed = sum(t.state is TrialState.FAILED for t in study.trials)
    assert failed > 0
    assert f"{failed} failed" in view.stats.value
    running = study.snapshot("trial_end", "running", n_trials=20, started_at=study.trials[0].started_at)
    assert "left" in view.render_parts(running)["stats"]


def test_a_parallel_study_shows_each_worker_its_trials_and_the_dashboard_link():
    study = Study(SPACE, sampler=RandomSampler(0), name="par")
    first, second, third = study.ask_batch(3)
    study.tell(first, 0.5)
    cluster = ClusterView(
        workers=("tcp://127.0.0.1:4001", "tcp://127.0.0.1:4002", "tcp://127.0.0.1:4003"),
        placement={second.number: "tcp://127.0.0.1:4001"},
        dashboard="http://127.0.0.1:8787/status",
    )
    snap = study.snapshot("trial_end", "running", n_trials=10, current=first, cluster=cluster)
    view = ProgressWidget(min_interval=0.0)
    view(snap)
    workers = view.workers.value
    assert "Dask: 3 workers, 2 trials running" in workers
    assert "href='http://127.0.0.1:8787/status'" in workers
    rows = re.findall(r"<tr><td[^>]*>([^<]*)</td><td>([^<]*)</td></tr>", workers)
    assert rows[0][0] == "127.0.0.1:4001" and rows[0][1].startswith(f"trial {second.number + 1} (")
    assert rows[1] == ("127.0.0.1:4002", "idle") and rows[2] == ("127.0.0.1:4003", "idle")
    assert rows[3] == ("not yet placed", f"trial {third.number + 1}")  # submitted, not yet on a worker
    assert "metahpo-workers" in view.static_html()
    # A sequential study (no cluster) and a finished one show no worker view.
    assert view.render_parts(study.snapshot("trial_end", "running"))["workers"] == ""
    assert view.render_parts(study.snapshot("end", "finished", cluster=cluster))["workers"] == ""


def test_estimate_of_time_left_uses_mean_trial_time_and_the_timeout():
    assert R.estimate_seconds_left(5, 10, 10.0, None) == pytest.approx(10.0)
    assert R.estimate_seconds_left(5, 10, 10.0, 12.0) == pytest.approx(2.0)
    assert R.estimate_seconds_left(0, 10, 3.0, None) is None
    assert R.estimate_seconds_left(0, None, 3.0, 5.0) == pytest.approx(2.0)
    assert R.format_seconds(75) == "1 min 15 s"


def test_stop_button_sets_the_signal_and_the_study_keeps_its_trials():
    stop = StopSignal()
    view = ProgressWidget(stop, min_interval=0.0)

    def click_after_three(snap):
        if snap.event == "trial_end" and snap.current.number == 2:
            view.stop_button.click()

    study = Study(SPACE, sampler=RandomSampler(0))
    status = study.optimize(objective, 50, callbacks=[view, click_after_three], stop=stop)
    assert stop.is_set()
    assert status == "stopped"
    assert len(study.trials) == 3 and all(t.state is TrialState.COMPLETE for t in study.trials)
    assert "Stopped by the user" in view.title.value


def test_a_thousand_fast_trials_send_a_bounded_number_of_messages(recorded_comms):
    # 1,000 trials of 10 ms (the fake clock advances 10 ms per reading, one reading per
    # event: two events per trial) with redraws at most every 0.25 s.
    clock = FakeClock(step=0.005)
    view = ProgressWidget(StopSignal(), min_interval=0.25, clock=clock)
    opened = len(recorded_comms)
    run_study(view, n_trials=1000)
    sent = sum(len(c.messages) for c in recorded_comms)
    expected_renders = 2 + math.ceil(1000 * 2 * clock.step / view.min_interval)
    assert view.n_renders <= expected_renders
    # Each redraw sends at most one message per child widget that changed.
    assert sent <= expected_renders * opened
    assert view.bar.value == 1000


def test_slow_trials_are_shown_as_soon_as_they_end():
    clock = FakeClock(step=0.0)
    view = ProgressWidget(min_interval=0.25, clock=clock)
    study = Study(SPACE, sampler=RandomSampler(0))
    # Trials last one second each on the trials' own clock: every result shows.
    for number in range(3):
        trial = study.ask()
        study._trials[number] = trial.finish(started_at=trial.started_at - 1.0)
        view(study.snapshot("trial_start", current=study.trials[number]))
        study.tell(number, 0.5)
        view(study.snapshot("trial_end", current=study.trials[number]))
    view(study.snapshot("trial_start", current=study.ask()))
    assert view.bar.value == 3


def test_saved_notebook_gets_a_static_html_and_text_copy():
    view = ProgressWidget(min_interval=0.0)
    study, _ = run_study(view, n_trials=6)
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert R.format_value(study.best_value) in bundle["text/plain"]
    assert "finished, 6 trials" in bundle["text/plain"]
    assert "<svg" in bundle["text/html"] and R.format_value(study.best_value) in bundle["text/html"]


def _trial(number, value, source="random", started=0.0, state=TrialState.COMPLETE, x=0.0):
    return FrozenTrial(
        number=number,
        config={"x": x, "kind": "a"},
        state=state,
        origin=Origin(source, f"because {source}"),
        value=value if state is TrialState.COMPLETE else None,
        error=None if state is TrialState.COMPLETE else "boom",
        started_at=started,
        finished_at=started + 1.0,
    )


def test_best_so_far_curve_is_a_step_line_through_improvements():
    trials = [_trial(0, 3.0), _trial(1, 5.0), _trial(2, 1.0, "warm-start"), _trial(3, None, state=TrialState.FAILED)]
    svg = R.best_so_far_svg(trials, Direction.MINIMIZE, n_total=10)
    assert svg.count("<circle") == 3
    assert "warm-start: because warm-start" in svg  # every point says where it came from
    path = re.search(r"<path d='([^']*)'", svg).group(1)
    assert path.startswith("M") and path.count("V") == 1  # one improvement after the first point


def test_curves_by_trial_and_by_time_and_configs_side_by_side():
    a = R.Series("a", Direction.MINIMIZE, (_trial(0, 2.0, started=100.0, x=0.1), _trial(1, 1.0, started=101.0, x=0.2)))
    b = R.Series("b", Direction.MINIMIZE, (_trial(0, 3.0, started=50.0, x=0.3), _trial(1, 0.5, started=52.0, x=0.4)))
    assert a.curve("trial") == [(1.0, 2.0), (2.0, 1.0)]
    assert a.curve("time") == [(1.0, 2.0), (2.0, 1.0)]
    assert b.curve("time") == [(1.0, 3.0), (3.0, 0.5)]
    view = CompareWidget([("a", "minimize", a.trials), ("b", "minimize", b.trials)])
    assert view.curves.value.count("<path") == 2
    view.by.value = "time"
    assert ">seconds<" in view.curves.value
    assert "<b>1</b>" in view.configs.value and "<b>0.5</b>" in view.configs.value
    assert view.parcoords.value.count("<polyline") == 4
    with pytest.raises(ValueError, match="`by` must be 'trial' or 'time'"):
        R.curves_svg([a], by="minutes")


def test_compare_picks_studies_from_a_real_store(tmp_path):
    from jupyter_metahpo.store import ExperienceStore

    store = ExperienceStore(tmp_path / "store")
    for name, seed in (("first", 0), ("second", 1)):
        session = store.open_study(name, SPACE, "minimize")
        study = Study(SPACE, sampler=RandomSampler(seed), recorder=session, name=name)
        study.optimize(objective, 4)
    view = CompareWidget.from_store(["first", "second"], store=store)
    assert [s.name for s in view.series] == ["first", "second"]
    assert all(len(s.trials) == 4 for s in view.series)
    assert len(view.selector.options) == 2
    view.selector.value = (view.selector.options[0][1],)
    assert len(view.series) == 1
    with pytest.raises(LookupError, match="no study named 'third'"):
        CompareWidget.from_store(["third"], store=store)


def test_race_gives_each_strategy_the_same_budget_and_draws_them_all(tmp_path):
    results = race(objective, SPACE, ("random", "sobol"), n_trials=6, seed=3, display=False, store=tmp_path / "s")
    assert set(results) == {"random", "sobol"}
    assert all(len(r.trials) == 6 and r.status == "finished" for r in results.values())
    assert {t.origin.source for t in results["sobol"].trials} == {"sobol"}
    again = race(objective, SPACE, ("random", "sobol"), n_trials=6, seed=3, display=False, store=False)
    assert [t.config for t in again["random"].trials] == [t.config for t in results["random"].trials]
    with pytest.raises(ValueError, match="unknown race strategy 'tpe'"):
        race(objective, SPACE, ("random", "tpe"), n_trials=2, display=False)
    with pytest.raises(ValueError, match="at least two strategies"):
        race(objective, SPACE, ("random",), n_trials=2, display=False)


def test_race_records_every_racer_as_a_study_tagged_as_a_race(tmp_path):
    from jupyter_metahpo.store import ExperienceStore
    from jupyter_metahpo.widgets.history import history_frame

    store = ExperienceStore(tmp_path / "store")
    results = race(objective, SPACE, ("random", "sobol"), n_trials=5, seed=1, name="lesson", store=store, display=False)
    records = {r.name: r for r in store.studies()}
    assert set(records) == {"lesson/random", "lesson/sobol"}
    for label, result in results.items():
        record = records[f"lesson/{label}"]
        assert result.study_id == record.id and result.name == record.name
        assert record.status == "finished"
        assert (record.settings["race"], record.settings["strategy"]) == ("lesson", label)
        stored = [t.trial for t in store.trials(record.id)]
        assert [t.config for t in stored] == [t.config for t in result.trials]
        assert [t.value for t in stored] == [t.value for t in result.trials]
    assert {s.task_name for s in store.summaries()} == {"lesson"}  # one task: the same objective
    # The magics' views show them like any study.
    table = history_frame(store)
    assert set(table["name"]) == {"lesson/random", "lesson/sobol"} and set(table["trials"]) == {5}
    view = CompareWidget.from_store(["lesson/random", "lesson/sobol"], store=store)
    assert [len(s.trials) for s in view.series] == [5, 5]
    # A second race of the same name starts fresh: both runs stay in the store.
    race(objective, SPACE, ("random", "sobol"), n_trials=2, seed=1, name="lesson", store=store, display=False)
    assert sorted(len(store.trials(r.id)) for r in store.studies(name="lesson/random")) == [2, 5]


def test_race_store_argument_follows_tune(tmp_path, _isolated_store):
    from jupyter_metahpo.store import ExperienceStore

    race(objective, SPACE, ("random", "sobol"), n_trials=2, display=False, store=False)
    assert len(ExperienceStore().studies()) == 0  # False: nothing recorded
    race(objective, SPACE, ("random", "sobol"), n_trials=2, display=False)  # None: the user's store
    assert {r.name for r in ExperienceStore(_isolated_store).studies()} == {"race/random", "race/sobol"}
    race(objective, SPACE, ("random", "sobol"), n_trials=2, display=False, store=str(tmp_path / "p"))
    assert len(ExperienceStore(tmp_path / "p").studies()) == 2
    with pytest.raises(TypeError, match="`store` must be None"):
        race(objective, SPACE, ("random", "sobol"), n_trials=2, display=False, store=3)
    with pytest.raises(ValueError, match="`direction` must be"):
        race(objective, SPACE, ("random", "sobol"), n_trials=2, display=False, store=tmp_path / "q", direction="up")
    assert not (tmp_path / "q").exists() or len(ExperienceStore(tmp_path / "q").studies()) == 0
    with pytest.raises(ValueError, match="`name` must be a non-empty string"):
        race(objective, SPACE, ("random", "sobol"), n_trials=2, display=False, name=" ")


def test_a_stopped_race_keeps_its_trials_in_the_store(tmp_path):
    from jupyter_metahpo.store import ExperienceStore

    store = ExperienceStore(tmp_path / "store")
    stop_after = {"calls": 0}

    def objective_then_interrupt(x, n, kind):
        stop_after["calls"] += 1
        if stop_after["calls"] == 5:
            raise KeyboardInterrupt  # what interrupting the kernel does inside the objective
        return objective(x, n, kind)

    # An interrupted race ends like an interrupted tune(): a KeyboardInterrupt (so a script ends and
    # "Run All" stops) that carries every racer's finished trials.
    with pytest.raises(RaceInterrupted) as interrupted:
        race(objective_then_interrupt, SPACE, ("random", "sobol"), n_trials=10, store=store, display=False)
    results = interrupted.value.results
    assert interrupted.value._render_traceback_() == [f"RaceInterrupted: {interrupted.value}"]
    assert {r.status for r in results.values()} == {"interrupted"}
    assert [len(r.trials) for r in results.values()] == [2, 2]  # the interrupted trial is not a result
    for record in store.studies():
        assert record.status == "interrupted" and len(store.trials(record.id)) == 2


def test_an_error_escaping_a_race_marks_its_studies_failed_and_keeps_their_trials(tmp_path):
    from jupyter_metahpo.samplers.base import Sampler
    from jupyter_metahpo.store import ExperienceStore

    class BreaksOnThirdCall(Sampler):
        def __init__(self):
            self.inner, self.calls = RandomSampler(0), 0

        def suggest(self, history, n=1):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("the sampler broke")
            return self.inner.suggest(history, n)

    store = ExperienceStore(tmp_path / "store")
    with pytest.raises(RuntimeError, match="the sampler broke"):
        race(objective, SPACE, {"ok": "random", "broken": BreaksOnThirdCall()}, n_trials=5, store=store, display=False)
    trials = {r.name: (r.status, len(store.trials(r.id))) for r in store.studies()}
    assert trials == {"race/ok": ("failed", 3), "race/broken": ("failed", 2)}


def test_warm_starts_learn_from_race_studies(tmp_path):
    from jupyter_metahpo import tune
    from jupyter_metahpo.store import ExperienceStore

    store = ExperienceStore(tmp_path / "store")
    results = race(objective, SPACE, ("random", "sobol"), n_trials=6, seed=0, name="quad", store=store, display=False)
    past = store.past_studies()
    assert {p.extra["name"] for p in past} == {"quad/random", "quad/sobol"}
    warm = tune(objective, SPACE, n_trials=2, store=store, name="later", task="quad", strategy="nearest", seed=0)
    # Each race study is a past study of the task "quad": its best config is proposed, with it as the source.
    assert [t.origin.source for t in warm.trials] == ["warm-start", "warm-start"]
    proposed = {t.origin.details["source_study"]: dict(t.config) for t in warm.trials}
    assert proposed == {r.study_id: dict(r.best_config) for r in results.values()}
    assert {t.origin.details["source_task"] for t in warm.trials} == {"quad"}


def _past_svm_like_studies(tmp_path):
    """Two small past studies over SPACE, each on a task described by meta-features."""
    from sklearn.datasets import make_classification

    from jupyter_metahpo import tune
    from jupyter_metahpo.store import ExperienceStore

    store = ExperienceStore(tmp_path / "past")
    for i in range(2):
        X, y = make_classification(n_samples=120, n_features=5, random_state=i)
        tune(objective, SPACE, 6, data=(X, y), store=store, name=f"past-{i}", seed=i, strategy="none")
    return store


def _new_task():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=100, n_features=5, random_state=7)


def test_race_default_racer_is_what_tune_does_for_the_task_and_none_is_warm_start_off(tmp_path):
    from jupyter_metahpo import tune

    past = _past_svm_like_studies(tmp_path).past_studies()
    data = _new_task()
    # No strategies: our default, warm start off, random search.
    results = race(objective, SPACE, n_trials=7, data=data, past=past, store=False, seed=0, display=False)
    assert list(results) == ["default", "none", "random"]
    warm = tune(objective, SPACE, 7, data=data, past=past, store=False, seed=0)
    cold = tune(objective, SPACE, 7, data=data, past=past, store=False, seed=0, strategy="none")
    configs = lambda r: [dict(t.config) for t in r.trials]  # noqa: E731
    sources = lambda r: [t.origin.source for t in r.trials]  # noqa: E731
    # The transfer refinement follows the warm start directly (ARCHITECTURE.md, "Through `tune`").
    assert sources(results["default"]) == sources(warm) == ["warm-start"] * 3 + ["transfer"] * 4
    assert configs(results["default"]) == configs(warm)  # the transfer stage included
    assert configs(results["none"]) == configs(cold)
    assert results["default"].trials[0].origin.source == "warm-start"  # it learned from the past studies
    info = results["default"].info
    assert info["n_past_studies"] == 2 and info["warm_start_strategy"] == "default"
    assert {t.origin.source for t in results["none"].trials} <= {"sobol", "gp"}
    assert {t.origin.source for t in results["random"].trials} == {"random"}
    # Names tune() accepts, "cold" as an alias of "none", display names in a dict.
    named = race(objective, SPACE, {"nearest tasks": "nearest", "cold": "cold"}, n_trials=2, data=data, past=past,
                 store=False, seed=0, display=False)
    assert [t.origin.source for t in named["nearest tasks"].trials] == ["warm-start", "warm-start"]
    assert named["nearest tasks"].info["warm_start_strategy"] == "nearest"
    assert [dict(t.config) for t in named["cold"].trials] == [dict(t.config) for t in cold.trials[:2]]


def test_race_strategy_errors_name_the_strategy_and_the_choices(tmp_path):
    with pytest.raises(ValueError, match=r"unknown race strategy 'warm'; known: \['default', 'nearest'.*'none'"):
        race(objective, SPACE, ("default", "warm"), n_trials=2, display=False, store=False)
    with pytest.raises(TypeError, match="a list of strategy names or a dict, but got the string 'default'"):
        race(objective, SPACE, "default", n_trials=2, display=False, store=False)
    with pytest.raises(TypeError, match="must return a Sampler"):
        race(objective, SPACE, {"a": "random", "b": lambda seed: 3}, n_trials=2, display=False, store=False)
    # Bad data fails before anything is written, as in tune().
    with pytest.raises((TypeError, ValueError)):
        race(objective, SPACE, n_trials=2, data="not data", display=False, store=tmp_path / "s")
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s" / "trials").glob("*.jsonl"))


def test_racers_learn_from_the_past_but_not_from_each_other(tmp_path):
    store = _past_svm_like_studies(tmp_path)
    data = _new_task()
    earlier = race(objective, SPACE, ("random", "sobol"), n_trials=4, seed=1, name="earlier", store=store,
                   data=data, display=False)
    results = race(objective, SPACE, ("default", "nearest", "none"), n_trials=4, seed=0, name="now", store=store,
                   data=data, display=False)
    before = {s.id for s in store.studies()} - {r.study_id for r in results.values()}
    assert {r.study_id for r in earlier.values()} <= before
    this_race = {r.study_id for r in results.values()}
    for label in ("default", "nearest"):
        sources = {t.origin.details["source_study"] for t in results[label].trials if t.origin.source == "warm-start"}
        assert sources and sources <= before and not sources & this_race
        # The past was gathered once, before the race: both warm racers saw the same studies.
        assert results[label].info["n_past_studies"] == 4  # two past studies and the earlier race's two racers
    # Every racer of this race shares one task, described by the data's meta-features.
    tasks = {s.task_name for s in store.summaries() if s.name.startswith("now/")}
    assert tasks == {"now"}
    (record,) = store.studies(name="now/nearest")
    assert record.settings["racer"] == "nearest" and record.settings["strategy"] == "nearest"


def _race_in_a_shell(run):
    """Run ``run()`` in a real IPython shell; returns what it displayed, in order, and its value."""
    from IPython.testing.globalipapp import get_ipython
    from IPython.utils.capture import capture_output

    get_ipython()
    with capture_output() as captured:
        value = run()
    return [o.data for o in captured.outputs], value


def _stop_button(bundle):
    from ipywidgets.widgets.widget import _instances  # every live widget by model id

    view = _instances[bundle["application/vnd.jupyter.widget-view+json"]["model_id"]]
    (button,) = [c for c in view.children if "metahpo-race-stop" in c._dom_classes]
    return button


def test_the_stop_button_says_how_the_race_ended_and_can_no_longer_be_clicked():
    shown, _ = _race_in_a_shell(
        lambda: race(objective, SPACE, ("random", "sobol"), n_trials=3, store=False, min_interval=0.0)
    )
    first, final = shown  # displayed once, then updated in place with the final state
    button = _stop_button(final)
    assert button.disabled and button.button_style == "" and button.description == "Race finished"
    assert first["application/vnd.jupyter.widget-view+json"] == final["application/vnd.jupyter.widget-view+json"]
    # A notebook saved without widget state shows the final race, and how it ended.
    assert "Race finished" in final["text/html"] and "Race finished" in final["text/plain"]
    assert "<svg" in final["text/html"] and "Race finished" not in first["text/html"]

    calls = {"n": 0}

    def objective_that_clicks_stop(x, n, kind):
        calls["n"] += 1
        if calls["n"] == 3:  # the user clicks Stop while the race runs
            from ipywidgets.widgets.widget import _instances

            (stop,) = [w for w in list(_instances.values()) if "metahpo-race-stop" in getattr(w, "_dom_classes", ())
                       and not w.disabled]
            stop.click()
        return objective(x, n, kind)

    shown, results = _race_in_a_shell(
        lambda: race(objective_that_clicks_stop, SPACE, ("random", "sobol"), n_trials=10, store=False)
    )
    button = _stop_button(shown[-1])
    assert {r.status for r in results.values()} == {"stopped"}
    assert button.disabled and button.description == "Race stopped by the user"

    def interrupted(x, n, kind):
        raise KeyboardInterrupt

    def interrupted_race():
        with pytest.raises(RaceInterrupted) as raised:
            race(interrupted, SPACE, ("random", "sobol"), n_trials=3, store=False)
        return raised.value.results

    shown, results = _race_in_a_shell(interrupted_race)
    assert _stop_button(shown[-1]).description == "Race interrupted"
    assert {r.status for r in results.values()} == {"interrupted"}


def _text_extents(svg):
    """(left, right, top, bottom, text) of every text line, with the width estimated from its characters."""
    out = []
    for anchor_attrs, inner in re.findall(r"<text([^>]*)>(.*?)</text>", svg):
        if "rotate(" in anchor_attrs:  # the y axis' title, drawn upwards along the axis' middle
            continue
        anchor = re.search(r"text-anchor='(\w+)'", anchor_attrs)
        anchor = anchor.group(1) if anchor else "start"
        title = re.sub(r"<title>.*?</title>", "", inner)
        lines = re.findall(r"<tspan x='([\d.]+)' y='([\d.]+)'>(.*?)</tspan>", title) or [
            (re.search(r"x='([-\d.]+)'", anchor_attrs).group(1), re.search(r"y='([-\d.]+)'", anchor_attrs).group(1),
             title)
        ]
        for x, y, text in lines:
            x, y, w = float(x), float(y), R.CHAR_WIDTH * len(text)
            left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
            out.append((left, left + w, y - 10, y + 2, text))
    return out


def test_parallel_coordinates_label_every_axis_readably():
    names = ["learning_rate", "min_samples_leaf", "l2_regularization", "class_weight", "max_leaf_nodes",
             "a_parameter_name_far_too_long_to_show_in_full_anywhere"]
    trials = tuple(
        FrozenTrial(number=i, config={n: float(i + k) for k, n in enumerate(names)}, state=TrialState.COMPLETE,
                    origin=Origin("random"), value=float(i))
        for i in range(3)
    )
    svg = R.parallel_coordinates_svg([R.Series("s", Direction.MINIMIZE, trials)], names)
    width = float(re.search(r"width='(\d+)'", svg).group(1))
    labels = re.findall(r"<text class='metahpo-axis-label'[^>]*><title>(.*?)</title>(.*?)</text>", svg)
    assert [full for full, _ in labels] == names  # the full name on hover, always
    shown = ["".join(re.findall(r">([^<]*)</tspan>", spans)) for _, spans in labels]
    assert shown[:5] == names[:5]  # wrapped onto lines, never cut, when two lines hold it
    assert shown[5].endswith("…") and len(shown[5]) < len(names[5])
    boxes = _text_extents(svg)
    assert all(left >= 0 and right <= width and top >= 0 for left, right, top, _, _ in boxes), (width, boxes)
    by_axis = sorted(boxes)
    for a, b in zip(by_axis, by_axis[1:]):  # no two labels overlap
        assert a[1] <= b[0] or a[3] <= b[2] or b[3] <= a[2], (a, b)


def test_comparison_plot_keeps_its_tick_labels_and_legend_clear_of_the_curves():
    long = "a study with a very long name that goes on"
    series = [R.Series(name, Direction.MAXIMIZE, (_trial(0, 0.9, x=0.1), _trial(1, 0.983317, x=0.2)))
              for name in ("default", "none", long)]
    svg = R.curves_svg(series)
    width, height = (float(v) for v in re.search(r"width='(\d+)' height='(\d+)'", svg).groups())
    plot_right = max(float(x) for x in re.findall(r"<line x1='\d+' y1='\d+' x2='(\d+)' y2='\d+' stroke='#999'", svg))
    boxes = _text_extents(svg)
    assert all(left >= 0 and right <= width and top >= 0 and bottom <= height for left, right, top, bottom, _ in boxes)
    legend = re.findall(r"<g class='metahpo-legend'><title>(.*?)</title><line x1='(\d+)'", svg)
    assert [name for name, _ in legend] == ["default", "none", long]
    assert all(float(x) > plot_right for _, x in legend)  # outside the plotted area: no curve hidden
    assert "…" in svg and f"<title>{long}</title>" in svg


# The between-trials pump, against real ZMQ sockets and a small fake kernel ------------------


class FakeKernel:
    """Records what the pump hands to the kernel; the sockets and messages are real."""

    def __init__(self, session) -> None:
        import contextvars

        self.session = session
        self.dispatched: list[str] = []
        self.replayed: list[str] = []
        self.scheduled: list = []
        self._shell_parent_ident = contextvars.ContextVar("ident", default=b"cell")
        self.parent = {"header": {"msg_id": "the-cell"}}
        self.io_loop = self

    def get_parent(self, channel):
        return self.parent

    def set_parent(self, ident, parent, channel="shell"):
        self.parent = parent

    def _get_shell_context_var(self, var):
        return var.get()

    def _type(self, frames):
        _, rest = self.session.feed_identities(frames, copy=False)
        return self.session.deserialize(rest, content=True, copy=False)

    async def dispatch_shell(self, frames, subshell_id=None, concurrent=False):
        msg = self._type(frames)
        self.parent = msg  # what ipykernel does: the pump must put the cell's parent back
        self.dispatched.append(msg["header"]["msg_type"])

    async def shell_main(self, subshell_id, frames):
        self.replayed.append(self._type(frames)["header"]["msg_type"])

    def add_callback(self, callback):
        self.scheduled.append(callback)


def test_pump_handles_widget_messages_now_and_hands_back_the_rest_in_order():
    import asyncio

    import zmq
    from jupyter_client.session import Session

    from jupyter_metahpo.widgets.kernel_pump import KernelCommPump, comm_pump_for

    context = zmq.Context()
    sender, receiver = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    sender.bind("inproc://metahpo-pump-test")
    receiver.connect("inproc://metahpo-pump-test")
    try:
        session = Session(key=b"secret")
        kernel = FakeKernel(session)
        pump = KernelCommPump(kernel, receiver)
        for msg_type in ("execute_request", "comm_msg", "complete_request", "comm_msg"):
            session.send(sender, msg_type, {"comm_id": "c", "data": {}})
        import time as _time

        deadline = _time.monotonic() + 5
        while pump.pump() == 0 and _time.monotonic() < deadline:
            _time.sleep(0.01)
        pump.pump()
        assert kernel.dispatched == ["comm_msg", "comm_msg"]
        assert kernel.parent == {"header": {"msg_id": "the-cell"}}  # the cell keeps its output
        assert kernel.replayed == [] and len(pump.deferred) == 2
        pump.release()
        assert len(kernel.scheduled) == 1
        asyncio.run(kernel.scheduled[0]())
        assert kernel.replayed == ["execute_request", "complete_request"]
    finally:
        sender.close(0)
        receiver.close(0)
        context.term()
    assert comm_pump_for(object()) is None  # no kernel (a terminal IPython): no pump


# What users ran into (issue 19) --------------------------------------------------------------


def test_the_widget_shows_the_latest_error_and_fails_when_nothing_completed():
    view = ProgressWidget(min_interval=0.0)
    study = Study(SPACE, sampler=RandomSampler(0), name="broken")

    def broken(x, n, kind):
        raise ValueError(f"no data for n={n}")

    status = study.optimize(broken, 3, callbacks=[view])
    assert status == "failed"
    last = study.trials[-1]
    parts = view.render_parts(view.last_snapshot)
    assert f"ValueError: no data for n={last.config['n']}" in parts["stats"]
    assert f"latest error (trial {last.number + 1})" in parts["stats"]
    assert "Failed" in parts["title"] and "Finished" not in parts["title"]
    assert "No trial completed" in parts["best"]
    assert view.stop_button.description == "Failed"


def test_the_trials_table_pads_its_cells_and_rounds_to_four_digits():
    trial = FrozenTrial(
        number=0,
        config={"lr": 0.000136619165, "hidden": 165, "kind": "relu"},
        state=TrialState.COMPLETE,
        origin=Origin("sobol", "initial design"),
        value=0.912345678,
    )
    table = R.top_trials_html([trial], Direction.MAXIMIZE, ["lr", "hidden", "kind"])
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table)
    assert cells[:5] == ["1", "<b>0.9123</b>", "0.0001366", "165", "&#x27;relu&#x27;"]
    assert "padding:" in table and table.count("text-align:right") >= 4  # numbers line up on the right


def test_the_widget_counts_warnings_and_keeps_the_output_collapsed():
    view = ProgressWidget(min_interval=0.0)
    study = Study(SPACE, sampler=RandomSampler(0), name="noisy")

    def noisy(x, n, kind):
        import warnings

        for epoch in range(200):
            print(f"epoch {epoch} loss {x:.3f}")
        warnings.warn("lbfgs failed to converge", RuntimeWarning)
        return x

    study.optimize(noisy, 4, callbacks=[view])
    parts = view.render_parts(view.last_snapshot)
    assert "4 warnings" in parts["stats"] and "output in 4 trials" in parts["stats"]
    details = parts["output"]
    assert details.startswith("<details") and "<summary>" in details and " open" not in details
    assert "RuntimeWarning: lbfgs failed to converge" in details and "trials 1–4" in details
    assert "epoch 199 loss" in details  # the latest trial's output, in a box that scrolls
    assert "max-height" in details and "overflow:auto" in details
    assert details in view.static_html()
    # live, a folded Accordion: it stays open or closed, as the user left it, across redraws
    assert view.output_box.titles == ("4 warnings, output in 4 trials",) and view.output_box.selected_index is None
    assert "epoch 199 loss" in view.output.value


def test_a_complete_study_resumed_says_its_budget_is_spent():
    view = ProgressWidget(min_interval=0.0)
    first = Study(SPACE, sampler=RandomSampler(0), name="done")
    first.optimize(objective, 3)
    again = Study(SPACE, sampler=RandomSampler(1), name="done", trials=first.trials)
    again.optimize(objective, 3, callbacks=[view])
    assert "already has 3 of 3 trials: raise the trial budget" in view.render_parts(view.last_snapshot)["title"]


def test_a_race_keeps_its_objectives_prints_and_warnings_out_of_the_cell(capsys):
    def noisy(x, n, kind):
        import warnings

        print("iteration log " * 20)
        warnings.warn("lbfgs failed to converge", RuntimeWarning)
        return x

    _, results = _race_in_a_shell(lambda: race(noisy, SPACE, ("random", "sobol"), n_trials=3, store=False))
    shown = capsys.readouterr()
    assert "iteration log" not in shown.out + shown.err and "lbfgs" not in shown.out + shown.err
    for result in results.values():
        assert all(t.warnings == ("RuntimeWarning: lbfgs failed to converge",) for t in result.trials)
