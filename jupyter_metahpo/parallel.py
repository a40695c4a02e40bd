"""Trials in parallel on Dask: several at once, with ask and tell kept in the kernel.

``tune(..., n_jobs=k)`` runs ``k`` trials at once on a ``dask.distributed.LocalCluster``
(``k`` worker processes of one thread each) that it starts and closes;
``tune(..., client=client)`` uses a cluster the user started (a ``Client``, or a
scheduler's address), which it leaves running. Both go through :func:`optimize_parallel`.
Dask is the scheduler: nothing here queues, places or restarts work itself.

Who does what:

- **the kernel** asks the study's sampler for configurations (the running trials are
  ``pending`` in the sampler's :class:`~jupyter_metahpo.samplers.base.History`; the
  first ``k`` are asked for at once, so a warm start's first ``k`` proposals start
  together), submits each to Dask as one task, and tells the study each result as its
  future ends. Only the kernel writes the experience store, one trial as it ends;
- **a worker** runs the objective on one configuration (:func:`run_on_worker`) and
  returns a :class:`TrialOutcome`: the result as plain numbers or the error's text,
  and what the objective printed and warned. It never sees the study or the store: an
  objective's ``trial.report`` and ``trial.should_prune`` go to the kernel, which records
  the curve and asks its pruner (:mod:`jupyter_metahpo.parallel_reports`).

Faults, and what happens:

- *a worker dies* (killed, out of memory, a crash in C code): its trial fails, with a
  reason naming the worker, and its configuration is tried once more as a new trial
  (even when that goes one past ``n_trials``: nothing is lost). On the cluster ``tune``
  starts, Dask reports the death at once (``allowed-failures`` 0); on a user's cluster
  Dask's scheduler first retries the task itself, as configured there;
- *Stop* (the :class:`~jupyter_metahpo.study.StopSignal`) and *Ctrl-C* cancel the
  running futures; their trials have no result and are dropped; every finished trial
  is kept (and recorded);
- *the time budget* (``timeout``): futures still running at the deadline are cancelled
  and their trials fail as timed out; on the worker the objective is also stopped at
  the deadline where Python can stop it (:mod:`jupyter_metahpo._deadline`);
- *an objective that cannot be pickled* (by ``cloudpickle``, which sends it to the
  workers) raises :class:`UnpicklableObjectiveError`, naming what holds the part that
  cannot be pickled, before the store opens the study or any trial starts.

``dask`` and ``distributed`` load on first use (``pip install "jupyter-metahpo[dask]"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._capture import CapturedOutput
from ._deadline import TrialDeadline, TrialTimeout
from ._imports import LazyImport
from .parallel_reports import ChannelNames, ReportChannel, WorkerReporter, record_curve
from .reporting import Trial
from .study import (
    DEFAULT_MAX_INITIAL_FAILURES,
    Callback,
    ClusterView,
    ObjectiveFailedError,
    StopSignal,
    Study,
    _check_budget,
    _format_error,
    _InitialFailures,
    _parse_result,
    bind_objective,
    takes_trial_handle,
)
from .trial import FrozenTrial, Origin, TrialState, pruned_exceptions

_INSTALL = 'pip install "jupyter-metahpo[dask]"'
distributed = LazyImport("distributed", install=_INSTALL)
cloudpickle = LazyImport("cloudpickle", install=_INSTALL)

__all__ = [
    "TrialOutcome",
    "UnpicklableObjectiveError",
    "check_parallel_options",
    "check_picklable",
    "dask_client",
    "optimize_parallel",
    "run_on_worker",
]

#: Seconds the kernel waits for a future before it looks at the Stop signal and the clock again.
POLL_SECONDS = 0.1
#: Seconds between two reads of which worker runs which trial (for the live view).
PLACEMENT_READ_SECONDS = 1.0
#: Seconds past the study's deadline at which a worker stops the objective itself. The kernel
#: cancels the trial at the deadline; this only frees the worker's thread, and never races the kernel.
WORKER_GRACE_SECONDS = 1.0


class UnpicklableObjectiveError(TypeError):
    """The objective cannot be sent to Dask workers: ``cloudpickle`` cannot pickle something it holds."""


# Checks made before anything starts -----------------------------------------------------------


def check_parallel_options(n_jobs: Any, client: Any, resources: Any) -> int | None:
    """``n_jobs`` as a number of trials at once (``None``: as many as the client's cluster has threads).

    ``n_jobs=-1`` means one per CPU core. ``resources`` (Dask worker resources per trial,
    e.g. ``{"GPU": 1}``) need the parallel path.
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or (n_jobs < 1 and n_jobs != -1):
        raise ValueError(
            f"`n_jobs` must be a positive integer (trials at once) or -1 (one per CPU core), but got n_jobs={n_jobs!r}."
        )
    if resources is not None:
        if not isinstance(resources, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
            for k, v in resources.items()
        ):
            raise ValueError(
                "`resources` must map Dask resource names to positive amounts per trial, such as "
                f"resources={{'GPU': 1}}, but got resources={resources!r}."
            )
        if n_jobs == 1 and client is None:
            raise ValueError(
                "`resources` are Dask worker resources: they need trials on Dask, so pass n_jobs > 1 or client=."
            )
    if client is not None and not isinstance(client, str) and not hasattr(client, "submit"):
        raise TypeError(
            "`client` must be a dask.distributed Client or a scheduler address such as 'tcp://10.0.0.5:8786', "
            f"but got {client!r}."
        )
    if n_jobs == -1:
        return os.cpu_count() or 1
    if client is not None and n_jobs == 1:
        return None  # as many as the cluster has threads (counted once connected)
    return n_jobs


def check_picklable(objective: Callable[..., Any]) -> None:
    """Raise :class:`UnpicklableObjectiveError` when ``cloudpickle`` cannot send ``objective``
    to a worker, naming the global, closure variable, default or attribute that holds the
    part it cannot pickle."""
    try:
        cloudpickle.dumps(objective)
    except Exception as problem:  # noqa: BLE001 - pickling raises TypeError, PicklingError, AttributeError ...
        path, culprit, error = _find_unpicklable(objective, problem)
        name = getattr(objective, "__qualname__", None) or type(objective).__name__
        held = f"{path} ({type(culprit).__name__})" if path else f"it ({type(objective).__name__})"
        raise UnpicklableObjectiveError(
            f"the objective {name!r} cannot be sent to the Dask workers: cloudpickle cannot pickle {held}: "
            f"{type(error).__name__}: {error}. Make that object inside the objective (each worker then builds "
            "its own), or tune with n_jobs=1, which runs in this process and pickles nothing."
        ) from problem


def _pickled(call: Callable[..., Any], objective: Callable[..., Any]) -> bytes:
    """``call`` (the bound objective) cloudpickled; when that fails, the error of :func:`check_picklable`."""
    try:
        return cloudpickle.dumps(call)
    except Exception:  # noqa: BLE001 - see check_picklable, which says what holds the culprit
        check_picklable(objective)
        raise


def _find_unpicklable(obj: Any, error: BaseException, depth: int = 3) -> tuple[str, Any, BaseException]:
    """The path to the innermost part of ``obj`` that cannot be pickled, that part and its error."""
    if depth == 0:
        return "", obj, error
    for label, part in _parts(obj):
        try:
            cloudpickle.dumps(part)
        except Exception as inner:  # noqa: BLE001 - see check_picklable
            deeper, culprit, cause = _find_unpicklable(part, inner, depth - 1)
            return (f"{label} -> {deeper}" if deeper else label), culprit, cause
    return "", obj, error


def _parts(obj: Any) -> Iterator[tuple[str, Any]]:
    """What pickling ``obj`` pickles in turn, each with a label a person can find in their code."""
    if isinstance(obj, functools.partial):
        yield "the partial's function", obj.func
        yield from ((f"the partial's argument {i}", a) for i, a in enumerate(obj.args))
        yield from ((f"the partial's argument {k!r}", v) for k, v in obj.keywords.items())
    elif inspect.ismethod(obj):
        yield f"the object {type(obj.__self__).__name__!r} the method is bound to", obj.__self__
    elif inspect.isfunction(obj):
        code = obj.__code__
        for name, cell in zip(code.co_freevars, obj.__closure__ or ()):
            with contextlib.suppress(ValueError):  # an empty cell
                yield f"the closure variable {name!r}", cell.cell_contents
        for name in sorted(_global_names(code)):
            if name in obj.__globals__:
                yield f"the global {name!r}", obj.__globals__[name]
        for i, value in enumerate(obj.__defaults__ or ()):
            yield f"the default of argument {i}", value
        for name, value in (obj.__kwdefaults__ or {}).items():
            yield f"the default of {name!r}", value
    elif isinstance(obj, Mapping):
        yield from ((f"the item {k!r}", v) for k, v in list(obj.items())[:1000])
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from ((f"the element {i}", v) for i, v in enumerate(list(obj)[:1000]))
    elif hasattr(obj, "__dict__"):
        yield from ((f"the attribute {k!r}", v) for k, v in vars(obj).items())


def _global_names(code: Any) -> set[str]:
    """Global names a function's code (and the code of the functions it defines) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _global_names(const)
    return names


# The cluster -------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(n_jobs: int | None, client: Any, resources: Mapping[str, float] | None) -> Iterator[Any]:
    """The client trials are submitted through.

    ``client=None``: a ``LocalCluster`` of ``n_jobs`` worker processes with one thread
    each (and ``resources`` each), started here and closed on the way out, whose
    scheduler reports a dead worker at once (``allowed-failures`` 0: the study retries
    the configuration itself). A string: a client connected to that scheduler, closed on
    the way out (the cluster stays). A client: used as it is.
    """
    if client is not None and not isinstance(client, str):
        yield client
        return
    if isinstance(client, str):
        with distributed.Client(client) as connected:
            yield connected
        return
    cluster = distributed.LocalCluster(
        n_workers=n_jobs,
        threads_per_worker=1,
        processes=True,
        resources=dict(resources) if resources else None,
        # A dead worker's task is reported at once: the study retries the configuration itself.
        scheduler_kwargs={"allowed_failures": 0},
        dashboard_address=":0",  # a free port: another cluster (or Jupyter's proxy) may hold Dask's 8787
        silence_logs=logging.ERROR,
    )
    try:
        with distributed.Client(cluster) as started:
            yield started
    finally:
        cluster.close()


# The worker's side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialOutcome:
    """What a worker sends back for one trial: plain values only, never the objective's objects.

    ``value`` is the result as a float, or a dict of floats (the numeric entries of a dict
    result); ``error`` the text that fails the trial; ``metric_unnamed`` that the result was
    a dict of several numbers and no ``metric`` says which to optimise.
    ``state`` is ``"pruned"`` when the objective raised ``TrialPruned`` (``value`` is
    then its last reported value, ``prune_reason`` the text it gave); ``curve`` is what
    the trial reported, by step.
    """

    value: float | dict[str, float] | None
    error: str | None
    output: str | None
    warnings: tuple[str, ...]
    worker: str
    seconds: float
    metric_unnamed: bool = False
    state: str | None = None
    curve: dict[int, float] = field(default_factory=dict)
    prune_reason: str | None = None


def run_on_worker(payload: bytes, config: dict[str, Any], metric: str | None, deadline: float | None,
                  timeout: float | None, number: int | None = None,
                  channel: ChannelNames | None = None) -> TrialOutcome:
    """Run one trial on a Dask worker: the objective (``payload``, cloudpickled) on ``config``.

    ``deadline`` is the study's end as ``time.time()`` seconds: the objective is stopped
    there (a worker's task runs outside the main thread, so by an asynchronous
    exception: Python code stops at once, a blocking call when it returns).
    With the trial's ``number``, ``payload`` is a bound objective
    (:func:`~jupyter_metahpo.study.bind_objective`) given the ``trial`` handle, whose
    curve comes back with the outcome; with a ``channel`` too, the handle sends its
    reports to the kernel and asks it whether to stop
    (:mod:`jupyter_metahpo.parallel_reports`), without one it never prunes.
    """
    worker = _worker_address()
    began = time.monotonic()
    captured = CapturedOutput()
    guard = None if deadline is None else TrialDeadline(began + (deadline - time.time()))
    reporter = None if channel is None else WorkerReporter(channel)
    handle = None if number is None else Trial(number, config, reporter)
    arguments = (config,) if handle is None else (config, handle)
    try:
        call = cloudpickle.loads(payload)
        with captured:
            result = guard.run(call, *arguments) if guard is not None else call(*arguments)
    except pruned_exceptions() as stopped:
        return _pruned_outcome(handle, str(stopped) or None, captured, worker, began)
    except TrialTimeout:
        return _outcome(None, guard.message(time.monotonic() - began, timeout), captured, worker, began, handle)
    except Exception as exc:  # noqa: BLE001 - any error of the user's code fails only this trial
        return _outcome(None, _format_error(exc), captured, worker, began, handle)
    finally:
        if reporter is not None:
            reporter.close()
    try:
        _parse_result(result, metric)
    except ValueError as problem:
        unnamed = metric is None and isinstance(result, Mapping) and len(result) != 1
        return dataclasses.replace(_outcome(None, str(problem), captured, worker, began, handle), metric_unnamed=unnamed)
    return _outcome(_plain_result(result), None, captured, worker, began, handle)


def _outcome(value: Any, error: str | None, captured: CapturedOutput, worker: str, began: float,
             handle: Trial | None = None) -> TrialOutcome:
    curve = {} if handle is None else handle.intermediate_values
    return TrialOutcome(value, error, captured.output, tuple(captured.warnings), worker, time.monotonic() - began,
                        curve=curve)


def _pruned_outcome(handle: Trial | None, reason: str | None, captured: CapturedOutput, worker: str,
                    began: float) -> TrialOutcome:
    """The objective raised ``TrialPruned``: its last reported value (when finite) and its curve."""
    curve = {} if handle is None else handle.intermediate_values
    last = curve[max(curve)] if curve else None
    value = last if last is not None and math.isfinite(last) else None
    return dataclasses.replace(_outcome(value, None, captured, worker, began, handle), state="pruned",
                               prune_reason=reason)


def _plain_result(result: Any) -> float | dict[str, float]:
    """A result that parsed, as floats: a tensor on a GPU or a numpy scalar must not travel back."""
    if isinstance(result, Mapping):
        plain = {}
        for key, item in result.items():
            with contextlib.suppress(TypeError, ValueError, RuntimeError):
                number = float(item.item() if hasattr(item, "item") else item)
                if not isinstance(item, bool):
                    plain[str(key)] = number
        return plain
    return float(result.item() if hasattr(result, "item") else result)


def _worker_address() -> str:
    try:
        return distributed.get_worker().address
    except ValueError:  # not on a worker (called directly, as the tests do)
        return "this process"


# The kernel's side --------------------------------------------------------------------------------


@dataclass
class _Running:
    """A trial whose task is on the cluster."""

    trial: FrozenTrial
    is_retry: bool


def optimize_parallel(
    study: Study,
    objective: Callable[..., Any],
    n_trials: int | None = None,
    *,
    timeout: float | None = None,
    callbacks: Sequence[Callback] = (),
    stop: StopSignal | None = None,
    n_jobs: int = 1,
    client: Any = None,
    resources: Mapping[str, float] | None = None,
    max_initial_failures: int | None = DEFAULT_MAX_INITIAL_FAILURES,
) -> str:
    """:meth:`Study.optimize` with ``n_jobs`` trials at once on Dask; returns the study's final status.

    The budget, the statuses and the observers are those of :meth:`Study.optimize`;
    how faults end is in this module's docstring. ``n_jobs`` counts trials at once
    (``-1``: one per CPU core; with ``client`` and ``n_jobs=1``: every worker thread of
    the cluster; without a client, a ``LocalCluster`` of ``n_jobs`` workers).
    ``resources`` are Dask resources each trial needs (``{"GPU": 1}``). The objective
    travels with each task (cloudpickled once here), so what it holds is sent that often.
    """
    _check_budget(n_trials, timeout)
    slots = check_parallel_options(n_jobs, client, resources)
    payload = _pickled(bind_objective(objective, study.space), objective)
    run = _ParallelRun(study, payload, n_trials, timeout, callbacks, stop or StopSignal(), max_initial_failures,
                       resources)
    run.reports_wanted = takes_trial_handle(objective, study.space)
    run.notify("start")
    try:
        with dask_client(slots, client, resources) as connected:
            try:
                run.go(connected, slots)
            finally:
                run.cancel_running()  # before the cluster closes
                run.close_reports()
    except KeyboardInterrupt:
        run.status = "interrupted"
    finally:
        run.end()
    return run.status


class _ParallelRun:
    """One parallel run of a study: keeps ``slots`` trials on the cluster until the budget ends."""

    def __init__(self, study: Study, payload: bytes, n_trials: int | None, timeout: float | None,
                 callbacks: Sequence[Callback], stop: StopSignal, max_initial_failures: int | None,
                 resources: Mapping[str, float] | None) -> None:
        self.study = study
        self.payload = payload
        self.n_trials = n_trials
        self.timeout = timeout
        self.stop = stop
        self.resources = dict(resources) if resources else None
        self.started_at = time.time()
        self.deadline = None if timeout is None else self.started_at + timeout
        self.status = "running"
        self.client: Any = None
        self._threads, self._threads_read_at = 0, -math.inf
        self._workers: tuple[str, ...] = ()
        self._placement: dict[int, str] = {}
        self._placement_read_at = -math.inf
        self._dashboard: str | None = None
        self.running: dict[Any, _Running] = {}
        self.reports_wanted = False  # the objective takes a `trial` handle: its reports reach the study
        self.reports: ReportChannel | None = None
        self.retries: deque[FrozenTrial] = deque()  # trials whose worker died: their configurations go again
        self.budget_spent = False  # a shared recorder gave no more numbers
        self.failures = _InitialFailures(
            max_initial_failures, any(t.state is TrialState.COMPLETE for t in study.trials)
        )
        self._observed = bool(callbacks)  # without observers, where trials run is not read at all
        self._notify = functools.partial(
            study._notify, list(callbacks), n_trials=n_trials, timeout=timeout, started_at=self.started_at
        )

    def notify(self, event: str, current: FrozenTrial | None = None, status: str = "running") -> None:
        self._notify(event, status=status, current=current, cluster=self._cluster_view())

    def _cluster_view(self) -> ClusterView | None:
        """Which worker runs which trial, as last read (:meth:`_watch_placement`); ``None`` before the cluster."""
        if self.client is None:
            return None
        running = {r.trial.number for r in self.running.values()}
        placement = {number: worker for number, worker in self._placement.items() if number in running}
        return ClusterView(self._workers, placement, self._dashboard)

    def _watch_placement(self) -> None:
        """Read from the scheduler, at most once a second, which worker runs which trial; tell the
        observers (event ``"workers"``) when that changed. A trial is placed after it is submitted,
        so without this the live view would wait for the next trial's end to show where it runs."""
        now = time.monotonic()
        if not self._observed or now - self._placement_read_at < PLACEMENT_READ_SECONDS:
            return
        self._placement_read_at = now
        try:
            workers, placement = _placement(self.client, self.running)
        except Exception:  # noqa: BLE001 - a scheduler that does not answer now leaves the last view
            return
        if (workers, placement) != (self._workers, self._placement):
            self._workers, self._placement = workers, placement
            self.notify("workers")

    # The loop -------------------------------------------------------------------------------
    def go(self, client: Any, n_jobs: int | None) -> None:
        """Keep ``n_jobs`` trials on the cluster (``None``: one per worker thread, counted as workers come and go)."""
        self.client = client
        self._dashboard = _dashboard_link(client)
        self._open_reports()
        while self.status == "running":
            if self.stop.is_set() or (self.deadline is not None and time.time() >= self.deadline):
                for future in [f for f in self.running if f.done()]:
                    self._settle(future)  # what finished before the end counts
                self.status = "stopped" if self.stop.is_set() else "timeout"
                return
            self._fill(n_jobs if n_jobs is not None else self._cluster_threads())
            if not self.running and not self._budget_left():
                self.status = "finished"
                return
            for future in self._wait():
                self._settle(future)
            self._watch_placement()

    def _cluster_threads(self) -> int:
        """The cluster's worker threads, read at most once a second (a batch system starts workers late)."""
        now = time.monotonic()
        if now - self._threads_read_at >= 1.0:
            self._threads = sum(self.client.nthreads().values())
            self._threads_read_at = now
        return self._threads

    def _budget_left(self) -> bool:
        if self.retries:
            return True
        return not self.budget_spent and (self.n_trials is None or len(self.study.trials) < self.n_trials)

    def _fill(self, slots: int) -> None:
        """Start trials until ``slots`` run: retries first, then new configurations, asked for together."""
        while self.retries and len(self.running) < slots:
            self._submit(self._retry(self.retries.popleft()), is_retry=True)
        wanted = slots - len(self.running)
        if self.n_trials is not None:
            wanted = min(wanted, self.n_trials - len(self.study.trials))
        if wanted <= 0 or self.budget_spent:
            return
        if getattr(self.study.recorder, "claim_trial", None) is None:
            trials = self.study.ask_batch(wanted)
        else:
            trials = self._ask_claimed(wanted)
        for trial in trials:
            self._submit(trial, is_retry=False)

    def _ask_claimed(self, wanted: int) -> list[FrozenTrial]:
        """Trials numbered by a shared recorder's claims (see :class:`~jupyter_metahpo.study.TrialRecorder`)."""
        numbers: list[int] = []
        while len(numbers) < wanted:
            number = self.study._claim_number(self.n_trials)
            if number is None:
                self.budget_spent = True
                break
            numbers.append(number)
        if not numbers:
            return []
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return self.study.ask_batch(len(numbers), first_number=numbers[0])
        return [self.study.ask(number=number) for number in numbers]  # other processes took numbers between

    def _retry(self, failed: FrozenTrial) -> FrozenTrial:
        number = self.study._claim_number(None)
        origin = failed.origin
        retry_origin = Origin(
            origin.source,
            f"the configuration of trial {failed.number + 1} again, whose Dask worker died; first chosen: {origin.reason}",
            {**origin.details, "retry_of": failed.number},
        )
        return self.study.enqueue(failed.config, origin=retry_origin, number=number)

    def _submit(self, trial: FrozenTrial, *, is_retry: bool) -> None:
        self.notify("trial_start", current=trial)
        future = self.client.submit(
            run_on_worker, self.payload, dict(trial.config), self.study.metric,
            None if self.deadline is None else self.deadline + WORKER_GRACE_SECONDS, self.timeout,
            trial.number, self._report_names(trial),
            key=f"metahpo-trial-{trial.number}-{os.urandom(4).hex()}", pure=False, resources=self.resources,
        )
        self.running[future] = _Running(trial, is_retry)

    def _wait(self) -> list[Any]:
        """The futures that ended, after at most :data:`POLL_SECONDS` (then the Stop signal and the clock are read again)."""
        seconds = POLL_SECONDS if self.deadline is None else max(min(POLL_SECONDS, self.deadline - time.time()), 0.0)
        if not self.running:  # waiting for the cluster's first workers
            time.sleep(seconds)
            return []
        if self.reports is not None:
            return self._wait_reporting(seconds)
        try:
            done, _ = distributed.wait(list(self.running), timeout=seconds, return_when="FIRST_COMPLETED")
        except (TimeoutError, distributed.TimeoutError):
            return []
        return [future for future in self.running if future in done]

    def _settle(self, future: Any) -> None:
        """Tell the study how one trial ended (the store records it there)."""
        running = self.running.pop(future)
        if future.status == "finished":
            outcome: TrialOutcome = future.result()
            future.release()  # the cluster may forget it now, even while a traceback still holds the future
            finished = self._tell_outcome(running.trial, outcome)
            self.notify("trial_end", current=finished)
            if outcome.metric_unnamed:
                raise ObjectiveFailedError(finished.error)
        else:
            finished = self._tell_lost(running, future)
            # A lost trial's future can sit in a reference cycle (seen after a worker died): without this the
            # scheduler kept its task, and the user's cluster its error, until Python's cycle collector ran.
            future.release()
        if self.failures.too_many(finished):
            raise ObjectiveFailedError(
                f"the objective failed on all of the first {self.failures.in_a_row} trials, so the study "
                f"stopped early. The last error was:\n{finished.error}"
            )

    def _tell_lost(self, running: _Running, future: Any) -> FrozenTrial:
        """A task that ended without an outcome: its worker died, or Dask could not run it."""
        error = future.exception() if future.status == "error" else None
        if error is None or isinstance(error, distributed.KilledWorker):
            again = "" if running.is_retry else "; its configuration is tried once more as a new trial"
            reason = f"the Dask worker running this trial died ({_one_line(error) or future.status}){again}."
            if not running.is_retry:
                self.retries.append(running.trial)
        else:
            reason = (
                f"Dask could not run this trial: {type(error).__name__}: {_one_line(error)}. Is jupyter-metahpo "
                "(and everything the objective imports) installed where the workers run?"
            )
        finished = self.study.tell(running.trial, error=reason)
        self.notify("trial_end", current=finished)
        return finished

    # Learning curves and pruning on the workers (parallel_reports) ---------------------------------
    def _open_reports(self) -> None:
        """The channel the workers' ``trial`` handles report through, when the objective takes one."""
        if self.reports_wanted and self.reports is None:
            self.reports = ReportChannel(self.client, self.study, self.notify)

    def _report_names(self, trial: FrozenTrial) -> ChannelNames | None:
        return None if self.reports is None else self.reports.names_for(trial)

    def _wait_reporting(self, seconds: float) -> list[Any]:
        """:meth:`_wait` while the workers report: blocks on their messages (a question is answered at
        once), then takes the futures that ended, after the messages their trials sent before ending."""
        self.reports.wait(self.running, seconds)
        done = [future for future in self.running if future.done()]
        if done:
            self.reports.catch_up()  # a trial's messages are all queued before its task ends
        return done

    def _tell_outcome(self, trial: FrozenTrial, outcome: TrialOutcome) -> FrozenTrial:
        """Tell the study a worker's outcome: its curve first (points lost on the way), then the result."""
        record_curve(self.study, trial, outcome.curve)
        if self.reports is not None:
            self.reports.forget(trial)
        if outcome.state == "pruned":
            return self.study.tell(trial, state="pruned", prune_reason=outcome.prune_reason, output=outcome.output,
                                   warnings=outcome.warnings)
        return self.study.tell(trial, outcome.value, error=outcome.error, output=outcome.output,
                               warnings=outcome.warnings)

    def close_reports(self) -> None:
        """Release the channel's queue and variables (before the cluster closes)."""
        if self.reports is not None:
            self.reports.close()
            self.reports = None

    # The end -----------------------------------------------------------------------------------
    def cancel_running(self) -> None:
        """Cancel the tasks still on the cluster. At the time budget their trials fail as timed out;
        otherwise (stopped, interrupted, an error) they have no result and are dropped."""
        if not self.running:
            return
        with contextlib.suppress(Exception):  # a cluster already gone has nothing left to cancel
            self.client.cancel(list(self.running))
        for running in self.running.values():
            if self.status == "timeout":
                self._tell_timed_out(running.trial)
            else:
                self.study._discard_running(running.trial)
        self.running.clear()

    def end(self) -> None:
        """Mark the study's end: its status, the observers, the recorder."""
        if self.status == "running":  # an unexpected error escaped the loop
            self.status = "failed"
        if self.status == "finished" and not any(t.state is TrialState.COMPLETE for t in self.study.trials):
            self.status = "failed"  # the budget is spent and no trial completed: nothing was found
        self.notify("end", status=self.status)
        if self.study.recorder is not None:
            self.study.recorder.finish(self.status)

    def _tell_timed_out(self, trial: FrozenTrial) -> None:
        seconds = time.time() - (trial.started_at or self.started_at)
        finished = self.study.tell(
            trial,
            error=f"timed out after {seconds:.1f} s: the study's time budget (timeout={self.timeout:g} s) ran out "
            "while this trial ran; its Dask task was cancelled.",
        )
        self.notify("trial_end", current=finished)


def _placement(client: Any, running: Mapping[Any, _Running]) -> tuple[tuple[str, ...], dict[int, str]]:
    """The cluster's workers, and the worker each running trial's task is on (the scheduler's ``processing``)."""
    numbers = {future.key: r.trial.number for future, r in running.items()}
    processing = client.processing()
    placement = {numbers[key]: worker for worker, keys in processing.items() for key in keys if key in numbers}
    return tuple(processing), placement


def _dashboard_link(client: Any) -> str | None:
    """The Dask dashboard's address, when the cluster serves one (it needs bokeh)."""
    with contextlib.suppress(Exception):
        link = client.dashboard_link
        return str(link) if link else None
    return None


def _one_line(error: BaseException | None) -> str:
    text = " ".join(str(error or "").split())
    return text if len(text) <= 300 else text[:297] + "..."
