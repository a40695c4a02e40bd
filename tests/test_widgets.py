"""Widget state without a browser: rendering, throttling, Stop, static copies, comparison, race, pump."""

from __future__ import annotations

import math
import re

import comm
import pytest

from jupyter_metahpo import RandomSampler, StopSignal, Study, choice, intrange, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState
from jupyter_metahpo.widgets import _render as R
from jupyter_metahpo.widgets.compare import CompareWidget, race
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


def test_race_gives_each_strategy_the_same_budget_and_draws_them_all():
    results = race(objective, SPACE, ("random", "sobol"), n_trials=6, seed=3, display=False)
    assert set(results) == {"random", "sobol"}
    assert all(len(r.trials) == 6 and r.status == "finished" for r in results.values())
    assert {t.origin.source for t in results["sobol"].trials} == {"sobol"}
    again = race(objective, SPACE, ("random", "sobol"), n_trials=6, seed=3, display=False)
    assert [t.config for t in again["random"].trials] == [t.config for t in results["random"].trials]
    with pytest.raises(ValueError, match="unknown race strategy 'tpe'"):
        race(objective, SPACE, ("random", "tpe"), n_trials=2, display=False)
    with pytest.raises(ValueError, match="at least two strategies"):
        race(objective, SPACE, ("random",), n_trials=2, display=False)


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
