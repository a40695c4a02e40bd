"""The study: one ask / tell loop that every entry point shares.

``Study.optimize`` is only a loop over the public :meth:`Study.ask` and
:meth:`Study.tell`, so there is one code path to get right. Observers (progress
widgets, text progress, the experience store) receive frozen snapshots; none of
them can drive the optimiser.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._capture import CapturedOutput
from ._deadline import TrialDeadline, TrialTimeout
from .meta.declared_space import declares_by_calls
from .pruners import Pruner, as_pruner
from .reporting import Trial, observations_for_sampler, pruned_trial, reported_step, reported_value
from .result import trials_to_dataframe
from .samplers.base import History, Sampler
from .samplers.default import DefaultSampler
from .space import SearchSpace, as_search_space
from .suggest_calls import HANDLE_PARAMETERS
from .trial import BestTrialMixin, Direction, FrozenTrial, Origin, TrialState, pruned_exceptions

__all__ = [
    "Study",
    "StudySnapshot",
    "ClusterView",
    "StopSignal",
    "ObjectiveFailedError",
    "StudyInterrupted",
    "TrialRecorder",
    "last_error_line",
]

#: Stop after this many failures in a row when no trial has completed yet: an
#: objective that raises every time should show its error once, not a hundred times.
DEFAULT_MAX_INITIAL_FAILURES = 5


class ObjectiveFailedError(RuntimeError):
    """Raised by ``optimize`` when the objective fails on every one of the first trials, or
    returns a result it cannot score (a dict of several numbers without ``metric=``)."""


class StudyInterrupted(KeyboardInterrupt):
    """Raised by ``tune`` after an interrupt (Ctrl-C, the kernel's interrupt) ended its study.

    A ``KeyboardInterrupt``, so that a script ends and a notebook stops running the
    cells queued after this one ("Run All"). Every finished trial was recorded before
    this is raised; ``result`` holds them (status ``"interrupted"``). In a notebook it
    shows as one line, without a traceback.
    """

    def __init__(self, result: Any) -> None:
        self.result = result
        n = len(result.trials)
        where = " in the experience store" if getattr(result, "study_id", None) else ""
        again = f"; run it again under the same name to go on" if where and result.name else ""
        name = f"the study {result.name!r}" if result.name else "the study"
        super().__init__(f"{name} was interrupted after {n} finished trial{'s' * (n != 1)}, kept{where}{again}.")

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class StopSignal:
    """A thread-safe flag that asks a running study to stop after the current trial.

    Give the same signal to ``Study.optimize`` (or ``tune``) and to whatever offers a
    Stop button; the study checks it between trials and ends cleanly.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        self._event.clear()


class TrialRecorder(Protocol):
    """Where a study writes each finished trial before the next one starts.

    A recorder that several processes share (the experience store, when each resumes
    one study by name) may also have ``claim_trial(n_trials) -> int | None``: the number
    of the next trial, claimed among all of them, or ``None`` once ``n_trials`` trials
    are recorded or running there. The study then asks it before the sampler, so that
    the processes share one budget and never record the same number.
    """

    def record_trial(self, trial: FrozenTrial) -> None: ...

    def finish(self, state: str) -> None: ...


@dataclass(frozen=True)
class ClusterView:
    """Where a parallel study's trials run, for observers (:mod:`jupyter_metahpo.parallel`).

    ``workers`` are the cluster's worker addresses (the order Dask lists them);
    ``placement`` maps each running trial's number to the worker running it, as last read
    from the scheduler (a trial just submitted has none yet); ``dashboard`` is the link to
    the Dask dashboard, when the cluster serves one.
    """

    workers: tuple[str, ...]
    placement: Mapping[int, str]
    dashboard: str | None = None


@dataclass(frozen=True)
class StudySnapshot:
    """The state of a study at one moment, for observers.

    ``event`` says what just happened: ``"start"``, ``"trial_start"``,
    ``"trial_report"`` (the running trial, ``current``, reported a step of its
    learning curve), ``"trial_end"``, ``"workers"`` (trials on Dask: which worker runs which
    changed, see ``cluster``) or ``"end"``. ``status`` is ``"running"`` until the end, then
    ``"finished"``, ``"stopped"``, ``"timeout"``, ``"interrupted"`` or ``"failed"``.
    """

    event: str
    status: str
    name: str | None
    direction: Direction
    metric: str | None
    space: SearchSpace
    trials: tuple[FrozenTrial, ...]
    n_trials: int | None
    timeout: float | None
    started_at: float
    now: float
    best_trial: FrozenTrial | None
    current: FrozenTrial | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    cluster: ClusterView | None = None  # trials running on Dask: which worker runs which

    @property
    def elapsed(self) -> float:
        return self.now - self.started_at

    @property
    def n_finished(self) -> int:
        return sum(1 for t in self.trials if t.state.is_finished)

    @property
    def latest_failure(self) -> FrozenTrial | None:
        """The most recent failed trial (its ``error`` says why), or ``None``."""
        return next((t for t in reversed(self.trials) if t.state is TrialState.FAILED), None)

    def budget_already_spent(self) -> str | None:
        """At the start of a resumed study whose trial budget is already spent, what to do about it."""
        if self.event != "start" or self.n_trials is None or len(self.trials) < self.n_trials:
            return None
        who = f"The study {self.name!r}" if self.name else "The study"
        return (
            f"{who} already has {len(self.trials)} of {self.n_trials} trials: raise the trial budget "
            "(n_trials=, or --trials in %%metatune) to continue."
        )


Callback = Callable[[StudySnapshot], None]


class Study(BestTrialMixin):
    """An optimisation over a search space: ask for configurations, tell their results.

    Parameters
    ----------
    space:
        A :class:`~jupyter_metahpo.space.SearchSpace` or a dict of distributions.
    direction:
        ``"minimize"`` (default) or ``"maximize"``.
    metric:
        When the objective returns a dict of numbers, the key to optimise.
    sampler:
        Where configurations come from; by default a Sobol initial design followed by
        GP refinement (:class:`~jupyter_metahpo.samplers.DefaultSampler`).
    seed:
        Seeds the default sampler, making the study reproducible. Ignored when a
        sampler is given (seed the sampler instead).
    name:
        A name for the study (used by the experience store to resume it).
    recorder:
        Receives every finished trial before the next one starts (the store).
    trials:
        Finished trials of an earlier run of this study, when resuming.
    pruner:
        Answers ``trial.should_prune()`` (:mod:`jupyter_metahpo.pruners`): a pruner or
        its name (``"median"``, ``"halving"``, ``"meta"``); ``None`` never prunes.
    """

    def __init__(
        self,
        space: SearchSpace | Mapping[str, Any],
        *,
        direction: str | Direction = "minimize",
        metric: str | None = None,
        sampler: Sampler | None = None,
        seed: int | None = None,
        name: str | None = None,
        recorder: TrialRecorder | None = None,
        trials: Iterable[FrozenTrial] = (),
        context: Mapping[str, Any] | None = None,
        pruner: Pruner | str | None = None,
    ) -> None:
        self.space = as_search_space(space)
        self.direction = Direction.parse(direction)
        if metric is not None and not isinstance(metric, str):
            raise TypeError(f"`metric` must be a string naming a key of the objective's result, but got {metric!r}.")
        self.metric = metric
        if sampler is None:
            sampler = DefaultSampler(seed=seed)
        elif not isinstance(sampler, Sampler):
            raise TypeError(f"`sampler` must be a jupyter_metahpo Sampler, but got {sampler!r}.")
        self.sampler = sampler
        self.pruner = as_pruner(pruner)
        self.seed = seed
        self.name = name
        self.recorder = recorder
        self.context = dict(context or {})
        self._trials: list[FrozenTrial] = []
        for trial in trials:
            if not trial.state.is_finished:
                continue  # a trial that was running when the kernel died is lost, by design
            self._trials.append(trial.finish(number=len(self._trials)))
        self._lock = threading.RLock()

    # Inspection -------------------------------------------------------------------
    @property
    def trials(self) -> tuple[FrozenTrial, ...]:
        with self._lock:
            return tuple(self._trials)

    def history(self) -> History:
        trials = self.trials
        return History(
            space=self.space,
            direction=self.direction,
            trials=observations_for_sampler([t for t in trials if t.state.is_finished]),
            pending=tuple(t.config for t in trials if t.state is TrialState.RUNNING),
            context=self.context,
        )

    # Ask / tell ---------------------------------------------------------------------
    def ask(self, *, number: int | None = None) -> FrozenTrial:
        """Start one trial: the sampler proposes a configuration, marked running.

        ``number`` is the trial's number when the recorder claimed one for it (a study
        shared by several processes, see :class:`TrialRecorder`); by default the next.
        """
        return self.ask_batch(1, first_number=number)[0]

    def ask_batch(self, n: int, *, first_number: int | None = None) -> list[FrozenTrial]:
        """Start ``n`` trials at once; running trials count as pending for the sampler."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"`n` must be a positive integer, but got n={n!r}.")
        history = self.history()
        began = time.perf_counter()
        suggestions = self.sampler.suggest(history, n)
        latency = (time.perf_counter() - began) / max(len(suggestions), 1)
        if len(suggestions) != n:
            raise RuntimeError(f"{self.sampler!r} returned {len(suggestions)} suggestions, but {n} were asked for.")
        started: list[FrozenTrial] = []
        with self._lock:
            for suggestion in suggestions:
                config = self.space.validate_config(suggestion.config)
                trial = FrozenTrial(
                    number=self._next_number() if first_number is None else first_number + len(started),
                    config=config,
                    state=TrialState.RUNNING,
                    origin=suggestion.origin,
                    started_at=time.time(),
                    suggest_seconds=latency,
                )
                self._trials.append(trial)
                started.append(trial)
        return started

    def enqueue(
        self, config: Mapping[str, Any], reason: str = "given by the user", *, origin: Origin | None = None,
        number: int | None = None,
    ) -> FrozenTrial:
        """Start a trial with a configuration chosen by hand (origin ``manual``, or ``origin``:
        a configuration tried again keeps the source that first chose it)."""
        config = self.space.validate_config(config)
        with self._lock:
            trial = FrozenTrial(
                number=self._next_number() if number is None else number,
                config=config,
                state=TrialState.RUNNING,
                origin=origin or Origin("manual", reason),
                started_at=time.time(),
            )
            self._trials.append(trial)
        return trial

    def tell(
        self,
        trial: FrozenTrial | int,
        value: float | Mapping[str, float] | None = None,
        *,
        error: BaseException | str | None = None,
        output: str | None = None,
        warnings: Sequence[str] = (),
        state: TrialState | str | None = None,
        prune_reason: str | None = None,
    ) -> FrozenTrial:
        """Finish a running trial with its result, or with the error that ended it.

        A value that is not a finite number (NaN, inf, a string) fails the trial with
        the reason kept in ``error``. ``output`` and ``warnings`` are what the objective
        printed and warned (kept with the trial). ``state="pruned"`` ends it as pruned,
        with its last reported value (``value`` is then ignored, as in Optuna) and
        ``prune_reason`` unless the pruner gave one. Returns the finished snapshot.
        """
        number = trial.number if isinstance(trial, FrozenTrial) else trial
        with self._lock:
            position = self._position(number)
            if position is None:
                raise ValueError(f"no trial number {number!r} in this study (it has {len(self._trials)} trials).")
            current = self._trials[position]
            if current.state.is_finished:
                raise ValueError(f"trial {number} is already {current.state.value}; each trial is told once.")
            current = current.finish(output=output or None, warnings=tuple(warnings))
            if state is not None and TrialState(state) is TrialState.PRUNED:
                finished = pruned_trial(current, prune_reason, time.time())
            elif error is not None:
                finished = current.finish(
                    state=TrialState.FAILED, error=_format_error(error), finished_at=time.time()
                )
            else:
                finished = self._finish_with_value(current, value)
            self._trials[position] = finished
        if self.recorder is not None:
            self.recorder.record_trial(finished)
        return finished

    def _finish_with_value(self, trial: FrozenTrial, value: Any) -> FrozenTrial:
        now = time.time()
        try:
            score, metrics = _parse_result(value, self.metric)
        except ValueError as problem:
            return trial.finish(state=TrialState.FAILED, error=str(problem), finished_at=now)
        # A trial the pruner would have stopped but that ran to its end is complete: no verdict stays on it.
        return trial.finish(state=TrialState.COMPLETE, value=score, metrics=metrics, finished_at=now, prune_reason=None)

    # Learning curves and pruning (the ``trial`` handle calls these) -------------------------------
    def report(self, trial: FrozenTrial | int, value: float, step: int) -> FrozenTrial | None:
        """Record a point of a running trial's learning curve; returns the updated snapshot.

        ``None`` when that step was reported already (its first value stays). The
        objective's ``trial.report(value, step)`` calls this.
        """
        number = trial.number if isinstance(trial, FrozenTrial) else trial
        step, value = reported_step(step), reported_value(value)
        with self._lock:
            position = self._running_position(number)
            current = self._trials[position]
            if step in current.intermediate_values:
                return None
            updated = current.finish(intermediate_values={**current.intermediate_values, step: value})
            self._trials[position] = updated
        return updated

    def should_prune(self, trial: FrozenTrial | int) -> bool:
        """Whether the pruner stops this running trial now; its reason is kept on the trial."""
        number = trial.number if isinstance(trial, FrozenTrial) else trial
        with self._lock:
            trials = tuple(self._trials)
            current = trials[self._running_position(number)]
        decision = self.pruner.decide(current, trials, self.direction)
        if decision:
            with self._lock:
                position = self._running_position(number)
                self._trials[position] = self._trials[position].finish(prune_reason=decision.reason or None)
        return bool(decision)

    def _running_position(self, number: Any) -> int:
        position = self._position(number)
        if position is None or self._trials[position].state.is_finished:
            state = "not in this study" if position is None else f"already {self._trials[position].state.value}"
            raise ValueError(f"trial {number!r} is {state}; only a running trial reports or asks to be pruned.")
        return position

    def _next_number(self) -> int:
        # One past the last: numbers are in order, with gaps where a shared study's other processes ran trials.
        return self._trials[-1].number + 1 if self._trials else 0

    def _position(self, number: Any) -> int | None:
        """Where trial ``number`` is in the list (its own index, unless a shared study left gaps)."""
        if not isinstance(number, int):
            return None
        if 0 <= number < len(self._trials) and self._trials[number].number == number:
            return number
        return next((i for i in range(len(self._trials) - 1, -1, -1) if self._trials[i].number == number), None)

    def _claim_number(self, n_trials: int | None) -> int | None:
        """The next trial's number: claimed from a shared recorder, None once its budget is spent."""
        claim = getattr(self.recorder, "claim_trial", None)
        return self._next_number() if claim is None else claim(n_trials)

    def _discard_running(self, trial: FrozenTrial) -> None:
        """Forget a trial that never finished (interrupted): it is not a result."""
        with self._lock:
            position = self._position(trial.number)
            if position is not None and not self._trials[position].state.is_finished:
                del self._trials[position]

    # One trial ----------------------------------------------------------------------------
    def run_trial(self, objective: Callable[..., Any]) -> FrozenTrial:
        """Run one trial: ask for a configuration, evaluate ``objective`` on it, tell the result.

        Returns the finished trial. An exception (or NaN, inf, a non-number) fails the
        trial and is kept in its ``error``; KeyboardInterrupt forgets the running trial
        (it has no result) and propagates. The study is not marked as ended: a caller
        that runs trials one by one (a race) tells its recorder when it is over, as
        ``optimize`` does at its end.
        """
        finished, _ = self._run_trial(bind_objective(objective, self.space), _ignore)
        return finished

    def _run_trial(
        self,
        call: Callable[[dict[str, Any]], Any],
        notify: Callable[..., None],
        n_trials: int | None = None,
        deadline: float | None = None,
        timeout: float | None = None,
    ) -> tuple[FrozenTrial | None, BaseException | None]:
        """One trial with ``call`` (a bound objective): the finished trial, and the exception that failed it.

        ``(None, None)`` when a shared recorder says the ``n_trials`` budget is spent, or
        when the sampler's proposal took what was left of the time budget. With a
        ``deadline`` (``time.monotonic()`` seconds) the objective is stopped there
        (:mod:`jupyter_metahpo._deadline`) and the trial fails as timed out. What the
        objective prints and warns is kept with the trial, not shown.
        """
        number = self._claim_number(n_trials)
        if number is None:
            return None, None
        trial = self.ask(number=number)
        if deadline is not None and time.monotonic() >= deadline:
            self._discard_running(trial)  # never started: not a result
            return None, None
        notify("trial_start", current=trial)
        # Made before the capture starts: its warning that a trial cannot be stopped must be seen.
        guard = TrialDeadline(deadline) if deadline is not None else None
        captured = CapturedOutput()
        began = time.monotonic()
        error: BaseException | None = None
        outcome: Any = None
        handle = Trial(trial.number, trial.config, self, lambda updated: notify("trial_report", current=updated))
        try:
            with captured:
                config = dict(trial.config)
                outcome = guard.run(call, config, handle) if guard is not None else call(config, handle)
        except KeyboardInterrupt:
            self._discard_running(trial)
            raise
        except pruned_exceptions() as stopped:
            finished = self._tell_captured(trial, captured, state=TrialState.PRUNED, prune_reason=str(stopped) or None)
        except TrialTimeout as stopped:
            reason = guard.message(time.monotonic() - began, timeout) if guard is not None else "timed out"
            finished, error = self._tell_captured(trial, captured, error=reason), stopped
        except Exception as exc:  # noqa: BLE001 - any error of the user's code fails only this trial
            finished, error = self._tell_captured(trial, captured, error=exc), exc
        else:
            finished = self._tell_captured(trial, captured, value=outcome)
        notify("trial_end", current=finished)
        if error is None and _metric_left_unnamed(outcome, self.metric):
            # The same on every trial: say it now, not after five failures.
            raise ObjectiveFailedError(finished.error)
        return finished, error

    def _tell_captured(self, trial: FrozenTrial, captured: CapturedOutput, **result: Any) -> FrozenTrial:
        return self.tell(trial, result.get("value"), error=result.get("error"), output=captured.output,
                         warnings=captured.warnings, state=result.get("state"), prune_reason=result.get("prune_reason"))

    # The loop ---------------------------------------------------------------------------
    def optimize(
        self,
        objective: Callable[..., Any],
        n_trials: int | None = None,
        *,
        timeout: float | None = None,
        callbacks: Sequence[Callback] = (),
        stop: StopSignal | None = None,
        max_initial_failures: int | None = DEFAULT_MAX_INITIAL_FAILURES,
    ) -> str:
        """Run ``objective`` on suggested configurations until a budget is spent.

        ``n_trials`` counts every trial of the study, including resumed ones; at least
        one of ``n_trials``, ``timeout`` or ``stop`` should bound the loop. Exceptions,
        NaN and inf fail the trial and the search goes on; KeyboardInterrupt ends the
        loop cleanly, keeping every finished trial. With ``timeout`` a trial still
        running at the deadline is stopped inside the objective and fails as timed out
        (:mod:`jupyter_metahpo._deadline` says how, and what cannot be stopped). Returns
        the final status: ``"finished"``, ``"timeout"``, ``"stopped"``, ``"interrupted"``,
        or ``"failed"`` when the trial budget was spent without one complete trial.
        """
        _check_budget(n_trials, timeout)
        call = bind_objective(objective, self.space)
        stop = stop or StopSignal()
        started_at = time.time()
        deadline = None if timeout is None else time.monotonic() + timeout
        status = "running"
        notify = functools.partial(
            self._notify, callbacks, status=status, n_trials=n_trials, timeout=timeout, started_at=started_at
        )
        notify("start")
        failures = _InitialFailures(max_initial_failures, any(t.state is TrialState.COMPLETE for t in self.trials))
        try:
            while (status := self._budget_status(stop, n_trials, deadline)) == "running":
                try:
                    finished, error = self._run_trial(call, notify, n_trials, deadline, timeout)
                except KeyboardInterrupt:
                    status = "interrupted"
                    break
                if finished is None and not (deadline is not None and time.monotonic() >= deadline):
                    status = "finished"  # other processes of a shared study ran the rest of the budget
                    break
                if finished is None or isinstance(error, TrialTimeout):
                    continue  # the time budget ran out: the next check ends the study as "timeout"
                if failures.too_many(finished):
                    status = "failed"
                    raise ObjectiveFailedError(
                        f"the objective failed on all of the first {failures.in_a_row} trials, so the study "
                        f"stopped early. The last error was:\n{finished.error}"
                    ) from error
        except KeyboardInterrupt:
            # Raised while the sampler was busy: nothing is running that could be kept.
            status = "interrupted"
            for trial in self.trials:
                if trial.state is TrialState.RUNNING:
                    self._discard_running(trial)
        finally:
            if status == "running":  # an unexpected error escaped the loop
                status = "failed"
            if status == "finished" and not any(t.state is TrialState.COMPLETE for t in self.trials):
                status = "failed"  # the budget is spent and no trial completed: nothing was found
            notify("end", status=status)
            if self.recorder is not None:
                self.recorder.finish(status)
        return status

    def _budget_status(self, stop: StopSignal, n_trials: int | None, deadline: float | None) -> str:
        """"running" while the budget lasts, else how the study ends."""
        if stop.is_set():
            return "stopped"
        if n_trials is not None and len(self.trials) >= n_trials:
            return "finished"
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        return "running"

    def snapshot(
        self,
        event: str = "now",
        status: str = "running",
        n_trials: int | None = None,
        timeout: float | None = None,
        started_at: float | None = None,
        current: FrozenTrial | None = None,
        cluster: ClusterView | None = None,
    ) -> StudySnapshot:
        now = time.time()
        return StudySnapshot(
            event=event,
            status=status,
            name=self.name,
            direction=self.direction,
            metric=self.metric,
            space=self.space,
            trials=self.trials,
            n_trials=n_trials,
            timeout=timeout,
            started_at=now if started_at is None else started_at,
            now=now,
            best_trial=self.best_trial,
            current=current,
            info=self.context,
            cluster=cluster,
        )

    def _notify(
        self, callbacks: Sequence[Callback], event: str, status: str, n_trials, timeout, started_at, current=None,
        cluster: ClusterView | None = None,
    ) -> None:
        if not callbacks:
            return
        snap = self.snapshot(event, status, n_trials, timeout, started_at, current, cluster)
        for callback in callbacks:
            callback(snap)

    def trials_dataframe(self):
        """All trials as a pandas DataFrame: one row per trial, one column per parameter."""
        return trials_to_dataframe(self.trials, self.space)

    def __repr__(self) -> str:
        return (
            f"Study(name={self.name!r}, direction={self.direction.value!r}, trials={len(self.trials)}, "
            f"best_value={self.best_value!r})"
        )


def _ignore(event: str, current: FrozenTrial | None = None) -> None:
    """No observers: ``run_trial`` alone notifies nobody."""


class _InitialFailures:
    """Counts failures in a row before the first complete trial: an objective that fails on each of
    its first ``limit`` trials should show its error once, not a hundred times."""

    def __init__(self, limit: int | None, ever_completed: bool) -> None:
        self.limit = limit
        self.ever_completed = ever_completed
        self.in_a_row = 0

    def too_many(self, trial: FrozenTrial) -> bool:
        if trial.state is TrialState.PRUNED:
            return False  # stopped on purpose: not a sign that the objective is broken
        if trial.state is TrialState.COMPLETE:
            self.ever_completed = True
            self.in_a_row = 0
            return False
        self.in_a_row += 1
        return self.limit is not None and not self.ever_completed and self.in_a_row >= self.limit


def _check_budget(n_trials: int | None, timeout: float | None) -> None:
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1):
        raise ValueError(f"`n_trials` must be a positive integer, but got n_trials={n_trials!r}.")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"`timeout` must be a positive number of seconds, but got timeout={timeout!r}.")


def _metric_left_unnamed(outcome: Any, metric: str | None) -> bool:
    """The objective returned a dict of several values and no ``metric`` says which to optimise."""
    return metric is None and isinstance(outcome, Mapping) and len(outcome) != 1


def last_error_line(error: str | None) -> str:
    """The line of a trial's error that says what went wrong (a traceback's last line)."""
    lines = (error or "").strip().splitlines()
    return lines[-1] if lines else ""


#: The package's folder: a failed trial's traceback starts below its frames, at the user's code.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _format_error(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            tb = tb.tb_next
        return "".join(traceback.format_exception(type(error), error, tb)).rstrip()
    return str(error)


def _parse_result(value: Any, metric: str | None) -> tuple[float, dict[str, float]]:
    """Turn what an objective returned into (score, all metrics); ValueError says why not."""
    if isinstance(value, Mapping):
        metrics: dict[str, float] = {}
        for key, item in value.items():
            if _is_number(item):
                metrics[str(key)] = float(item)
        if metric is None:
            if len(value) == 1:
                metric = next(iter(value))
            else:
                raise ValueError(
                    f"the objective returned a dict with keys {sorted(map(str, value))}; name the one to "
                    "optimise with metric='...' (--metric in the magic)."
                )
        if metric not in value:
            raise ValueError(f"the objective's result has no metric {metric!r}; it has {sorted(map(str, value))}.")
        score = value[metric]
    else:
        metrics = {}
        score = value
        if metric is not None and _is_number(score):
            metrics[metric] = float(score)
    if not _is_number(score):
        raise ValueError(f"the objective must return a number, but returned {score!r} ({type(score).__name__}).")
    score = float(score)
    if not math.isfinite(score):
        raise ValueError(f"the objective returned {score!r}, which is not a finite number.")
    return score, metrics


def _is_number(value: Any) -> bool:
    """A real number: Python and numpy scalars, 0-d arrays and one-element tensors."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _is_number(item())
        except (ValueError, RuntimeError, TypeError):  # arrays of several elements
            return False
    return False


def bind_objective(objective: Callable[..., Any], space: SearchSpace) -> Callable[..., Any]:
    """Decide how to call ``objective`` with a configuration: returns ``call(config, trial=None)``.

    An objective whose parameters are named like the space's (or that takes
    ``**kwargs``) is called with keyword arguments; an objective with a single
    parameter that is not a space name receives the configuration as one dict. A
    parameter named ``trial`` (or KerasTuner's ``hp`` in an objective that makes KerasTuner's calls; not a space
    name) receives the trial's handle
    (:class:`~jupyter_metahpo.reporting.Trial`: ``report``, ``should_prune``,
    ``params``), so ``def objective(trial)`` alone reads its configuration from
    ``trial.params``. Called without a handle, such an objective gets one that keeps
    its curve and never prunes (a Dask worker passes its own: :func:`takes_trial_handle`).
    """
    if not callable(objective):
        raise TypeError(f"the objective must be a function, but got {objective!r} ({type(objective).__name__}).")
    try:
        params = dict(inspect.signature(objective).parameters)
    except (TypeError, ValueError):  # builtins without a signature: pass keywords
        return lambda config, trial=None: objective(**config)
    handle = _handle_parameter(params, space, objective)
    if handle is None:
        call = _bind_config(objective, space, params)
        return lambda config, trial=None: call(config)
    del params[handle]
    call = _bind_config(objective, space, params, alone_ok=True)
    return lambda config, trial=None: call(config, **{handle: trial if trial is not None else Trial(None, config)})


def takes_trial_handle(objective: Callable[..., Any], space: SearchSpace) -> bool:
    """Whether :func:`bind_objective` gives ``objective`` the trial's handle (a parameter named ``trial`` or ``hp``)."""
    try:
        params = dict(inspect.signature(objective).parameters)
    except (TypeError, ValueError):
        return False
    return _handle_parameter(params, space, objective) is not None


def _handle_parameter(params: Mapping[str, inspect.Parameter], space: SearchSpace,
                      objective: Callable[..., Any]) -> str | None:
    """The objective's parameter that receives the handle: the first of :data:`HANDLE_PARAMETERS` it takes by name
    that is not a space parameter (``hp`` only when the objective makes KerasTuner's or Optuna's calls: a
    ``def train(hp)`` reading ``hp["lr"]`` takes its configuration); None when it takes none."""
    for name in HANDLE_PARAMETERS:
        param = params.get(name)
        if param is None or name in space.names or param.kind in _NOT_BY_NAME:
            continue
        if name == "trial" or declares_by_calls(objective):
            return name
    return None


#: Parameter kinds that cannot receive the trial's handle by name.
_NOT_BY_NAME = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _bind_config(
    objective: Callable[..., Any], space: SearchSpace, params: Mapping[str, inspect.Parameter], alone_ok: bool = False
) -> Callable[..., Any]:
    """``call(config, **extra)`` for the objective's parameters other than ``trial`` (see :func:`bind_objective`).

    ``alone_ok``: with no parameter left (``def objective(trial)``), the objective gets the extra keywords only.
    """
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return lambda config, **extra: objective(**config, **extra)
    if alone_ok and not params:
        return lambda config, **extra: objective(**extra)
    names = set(space.names)
    positional = [
        p for p in params.values() if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) == 1 and positional and positional[0].name not in names:
        return lambda config, **extra: objective(config, **extra)
    accepted = {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL}
    missing = sorted(names - accepted)
    if missing:
        raise TypeError(
            f"the objective {getattr(objective, '__name__', objective)!r} takes no argument for the space's "
            f"parameters {missing}. Give it a parameter for each ({', '.join(space.names)}), or **kwargs, "
            "or a single `config` parameter that receives the whole configuration as a dict."
        )
    required = [
        n
        for n, p in params.items()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and n not in names
    ]
    if required:
        raise TypeError(
            f"the objective {getattr(objective, '__name__', objective)!r} requires {required}, which are not "
            "parameters of the search space; give them defaults or add them to the space."
        )
    return lambda config, **extra: objective(**config, **extra)
