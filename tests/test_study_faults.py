"""What the objective does wrong, and what a person then sees (issue 19, items 1-3, 5, 8, 10).

Interrupts end ``tune()`` as interrupted (Run All and scripts must stop), a time budget
stops a running trial, failures say why, and the objective's prints and warnings are
kept per trial instead of burying the progress display.
"""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
import warnings

import pytest

from jupyter_metahpo import (
    ExperienceStore,
    ObjectiveFailedError,
    RandomSampler,
    Study,
    TrialState,
    choice,
    intrange,
    tune,
    uniform,
)
from jupyter_metahpo import _deadline
from jupyter_metahpo.progress import TextProgress
from jupyter_metahpo.study import StudyInterrupted

SPACE = {"x": uniform(-1.0, 1.0), "n": intrange(1, 4), "c": choice("a", "b")}


def quadratic(x, n, c):
    return x**2 + (n - 2) ** 2 + (0.5 if c == "b" else 0.0)


# 1. An interrupt ends tune() as interrupted ------------------------------------------------


def test_an_interrupt_ends_tune_with_the_finished_trials_kept(tmp_path):
    calls = []

    def objective(x, n, c):
        calls.append(x)
        if len(calls) == 4:
            raise KeyboardInterrupt  # what Ctrl-C or "interrupt the kernel" raises in the objective
        return x

    with pytest.raises(KeyboardInterrupt) as stopped:
        tune(objective, SPACE, n_trials=20, sampler=RandomSampler(seed=0), store=tmp_path, name="ctrl-c")
    assert isinstance(stopped.value, StudyInterrupted)
    result = stopped.value.result
    assert result.status == "interrupted" and len(result.trials) == 3
    assert "ctrl-c" in str(stopped.value) and "3 finished trials" in str(stopped.value)
    store = ExperienceStore(tmp_path)
    (record,) = store.studies("ctrl-c")
    assert record.status == "interrupted" and len(store.trials(record.id)) == 3


# 2. Why trials failed ----------------------------------------------------------------------------


def test_a_study_in_which_nothing_completed_ends_failed_and_its_table_says_why():
    def broken(x, n, c):
        raise ValueError(f"bad input for n={n}")

    result = tune(broken, SPACE, n_trials=3, sampler=RandomSampler(seed=0), store=False)
    assert result.status == "failed"
    assert list(result.dataframe["error"]) == [f"ValueError: bad input for n={t.config['n']}" for t in result.trials]


def test_a_dict_result_without_metric_names_its_keys_on_the_first_trial():
    def scores(x, n, c):
        return {"accuracy": 0.9, "loss": x**2}

    study = Study(SPACE, sampler=RandomSampler(seed=0))
    with pytest.raises(ObjectiveFailedError, match=r"keys \['accuracy', 'loss'\].*metric="):
        study.optimize(scores, 20)
    assert len(study.trials) == 1 and study.trials[0].state is TrialState.FAILED


def test_text_progress_ends_with_the_latest_error():
    def flaky(x, n, c):
        if n > 1:
            raise RuntimeError(f"diverged with n={n}")
        return x

    stream = io.StringIO()
    result = tune(flaky, SPACE, n_trials=6, sampler=RandomSampler(seed=0), store=False, callbacks=[TextProgress(stream)])
    failed = [t for t in result.trials if t.state is TrialState.FAILED]
    assert failed, "the seed must give failed trials"
    last = failed[-1]
    # the latest error is repeated at the end, where a person looks first
    assert stream.getvalue().splitlines()[-1] == (
        f"{len(failed)} of 6 trials failed; the latest (trial {last.number + 1}): "
        f"RuntimeError: diverged with n={last.config['n']}"
    )


# 3. One trial numbering -------------------------------------------------------------------------


def test_the_dataframe_counts_trials_from_one_like_every_display():
    result = tune(quadratic, SPACE, n_trials=4, sampler=RandomSampler(seed=0), store=False)
    assert list(result.dataframe["number"]) == [1, 2, 3, 4]
    assert [t.number for t in result.trials] == [0, 1, 2, 3]  # the stored index is unchanged


# 5. The objective's prints and warnings ----------------------------------------------------------


def test_prints_and_warnings_are_kept_per_trial_not_shown(capsys, tmp_path):
    def chatty(x, n, c):
        print(f"epoch 1 n={n}")
        print("a note on stderr", file=sys.stderr)
        warnings.warn("lbfgs failed to converge", RuntimeWarning)
        warnings.warn("lbfgs failed to converge", RuntimeWarning)  # the same warning twice: kept once
        return x

    result = tune(chatty, SPACE, n_trials=3, sampler=RandomSampler(seed=0), store=tmp_path, name="chatty")
    shown = capsys.readouterr()
    assert shown.out == "" and shown.err == ""
    for trial in result.trials:
        assert trial.output == f"epoch 1 n={trial.config['n']}\na note on stderr\n"
        assert trial.warnings == ("RuntimeWarning: lbfgs failed to converge",)
    # kept in the store: a resumed study reads them back
    again = tune(chatty, SPACE, n_trials=3, sampler=RandomSampler(seed=0), store=tmp_path, name="chatty")
    assert [t.warnings for t in again.trials] == [t.warnings for t in result.trials]
    assert [t.output for t in again.trials] == [t.output for t in result.trials]
    assert list(result.dataframe["warnings"]) == ["RuntimeWarning: lbfgs failed to converge"] * 3


def test_a_warning_the_user_silenced_stays_silent():
    def noisy(x, n, c):
        warnings.warn("ignore me", UserWarning)
        return x

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ignore me")
        result = tune(noisy, SPACE, n_trials=2, sampler=RandomSampler(seed=0), store=False)
    assert all(t.warnings == () for t in result.trials)


def test_a_long_output_is_cut_to_its_end():
    def verbose(x, n, c):
        for i in range(20_000):
            print(f"line {i}")
        return x

    result = tune(verbose, SPACE, n_trials=1, sampler=RandomSampler(seed=0), store=False)
    output = result.trials[0].output
    assert len(output) < 5_000 and output.endswith("line 19999\n") and "cut" in output.splitlines()[0]


# 8. Resuming a study that is already complete ---------------------------------------------------


def test_resuming_a_complete_study_says_so(tmp_path):
    tune(quadratic, SPACE, n_trials=3, sampler=RandomSampler(seed=0), store=tmp_path, name="done")
    stream = io.StringIO()
    result = tune(quadratic, SPACE, n_trials=3, store=tmp_path, name="done", callbacks=[TextProgress(stream)])
    assert len(result.trials) == 3
    assert "already has 3 of 3 trials: raise the trial budget" in stream.getvalue()


# 10. The time budget stops a running trial --------------------------------------------------------


def _spin(x, n, c):
    while True:  # a Python loop that never ends
        pass


def _sleep(x, n, c):
    time.sleep(600)


@pytest.mark.parametrize("objective", [_spin, _sleep], ids=["python-loop", "sleep"])
def test_the_time_budget_stops_a_running_trial(objective, tmp_path):
    result = tune(objective, SPACE, n_trials=5, timeout=0.5, sampler=RandomSampler(seed=0), store=tmp_path, name="t")
    assert result.status == "timeout"
    (trial,) = result.trials
    assert trial.state is TrialState.FAILED and trial.error.startswith("timed out after ")
    assert "timeout=0.5" in trial.error
    store = ExperienceStore(tmp_path)
    (record,) = store.studies("t")
    assert record.status == "timeout"


def test_the_time_budget_stops_a_python_loop_outside_the_main_thread():
    outcome = {}

    def run():
        outcome["result"] = tune(_spin, SPACE, n_trials=5, timeout=0.5, sampler=RandomSampler(seed=0), store=False)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)
    assert not worker.is_alive()
    result = outcome["result"]
    assert result.status == "timeout" and result.trials[0].error.startswith("timed out after ")


class _Flag(io.StringIO):
    """A stderr that says when something was written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)


def test_code_that_cannot_be_interrupted_is_named_as_such(monkeypatch):
    # Outside the main thread a trial is stopped by an asynchronous exception, which Python
    # raises only when the objective runs Python code again: a blocking call in C (here a
    # lock's wait, as a compiled model fit would be) runs on. The study says so while the
    # trial overruns, and in the trial's error.
    monkeypatch.setattr(_deadline, "UNINTERRUPTIBLE_AFTER", 0.1)
    stderr = _Flag()
    monkeypatch.setattr(sys, "stderr", stderr)
    outcome = {}

    def in_c(x, n, c):
        stderr.written.wait(120)  # blocks in C until the study has said that it cannot stop it
        return x

    def run():
        outcome["result"] = tune(in_c, SPACE, n_trials=5, timeout=0.3, sampler=RandomSampler(seed=0), store=False)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)
    result = outcome["result"]
    assert result.status == "timeout"
    (trial,) = result.trials
    assert trial.state is TrialState.FAILED and "cannot interrupt" in trial.error
    assert "cannot interrupt" in stderr.getvalue() and "C extension" in stderr.getvalue()


def test_a_trial_that_returns_in_time_is_not_touched_by_the_budget():
    result = tune(quadratic, SPACE, n_trials=3, timeout=60, sampler=RandomSampler(seed=0), store=False)
    assert result.status == "finished" and all(t.state is TrialState.COMPLETE for t in result.trials)


def test_a_failed_trial_keeps_the_traceback_of_the_users_code_only():
    def broken(x, n, c):
        raise ValueError("bad")

    result = tune(broken, SPACE, n_trials=1, sampler=RandomSampler(seed=0), store=False)
    error = result.trials[0].error
    assert error.startswith("Traceback") and "in broken" in error and error.endswith("ValueError: bad")
    assert "jupyter_metahpo" not in error  # no frames of the study's own loop


def test_code_that_hands_on_stdout_still_runs_while_output_is_kept():
    import subprocess

    def runs_a_tool(x, n, c):
        print("before")
        subprocess.run([sys.executable, "-c", "pass"], stdout=sys.stdout, check=True)  # needs stdout.fileno()
        return x

    result = tune(runs_a_tool, SPACE, n_trials=1, sampler=RandomSampler(seed=0), store=False)
    assert result.trials[0].state is TrialState.COMPLETE and result.trials[0].output == "before\n"


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX timers")
def test_the_budget_gives_back_an_alarm_someone_else_set():
    # pytest-timeout, for one, keeps its own SIGALRM timer running while a test runs.
    def theirs(signum, frame):
        pass

    saved = signal.signal(signal.SIGALRM, theirs), signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        tune(quadratic, SPACE, n_trials=2, timeout=60, sampler=RandomSampler(seed=0), store=False)
        assert signal.getsignal(signal.SIGALRM) is theirs
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, *saved[1])
        signal.signal(signal.SIGALRM, saved[0])
