"""Learning curves and pruning for trials on Dask workers: the worker reports, the kernel judges.

In a parallel study (:mod:`jupyter_metahpo.parallel`) the objective runs on a worker,
which never sees the study. Its ``trial`` handle reaches the kernel through Dask's
coordination primitives, so that the kernel stays the only writer of the store and the
only place the pruner runs:

- **reports go up one queue** (``distributed.Queue``, one per parallel run): the
  worker's ``trial.report(value, step)`` puts ``["report", number, step, value]`` on it,
  and ``trial.should_prune()`` puts ``["prune?", number, step]``. A put returns once the
  scheduler holds the message, so a trial's messages are in the queue, in order, before
  its task ends;
- **the kernel handles them in its wait loop** (:class:`ReportChannel`: a reader thread
  blocks on the queue and hands each message to the loop, which wakes at once): a
  report goes to :meth:`Study.report <jupyter_metahpo.study.Study.report>` (the running
  trial's curve, seen by the widget and the text progress as a ``"trial_report"``), a
  question to :meth:`Study.should_prune <jupyter_metahpo.study.Study.should_prune>`,
  whose pruner judges with every trial of the study, the other running ones included;
- **the verdict comes down a variable** (``distributed.Variable``, one per trial):
  ``{"step": s, "prune": bool}`` (or the pruner's ``"error"``, which fails the trial as
  it would in a sequential study). The worker waits for the verdict on the step it asked
  about at most :data:`PRUNE_WAIT_SECONDS`; when the kernel is busy (a sampler fitting
  its model) it goes on training and acts on the verdict at its next
  ``should_prune()``: pruning is asynchronous, never a stall.

A trial that raises ``TrialPruned`` on the worker comes back with state ``"pruned"``
and its curve (:class:`~jupyter_metahpo.parallel.TrialOutcome`), and the kernel tells
the study ``state="pruned"``. The outcome carries the whole curve, so a report lost on
the way (a channel that failed) is still recorded when the trial ends.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any

from ._imports import LazyImport
from .study import Study, _format_error
from .trial import FrozenTrial

distributed = LazyImport("distributed", install='pip install "jupyter-metahpo[dask]"')

__all__ = ["PRUNE_WAIT_SECONDS", "ChannelNames", "PrunerFailedError", "ReportChannel", "WorkerReporter", "record_curve"]

#: Seconds a worker's ``should_prune()`` waits for the kernel's verdict on the step it asked about.
PRUNE_WAIT_SECONDS = 0.5
#: Seconds between two reads of the verdict while the worker waits for it.
_VERDICT_POLL_SECONDS = 0.002
#: Seconds the kernel waits for the messages in flight when a trial ends (they are already queued: milliseconds).
_CATCH_UP_SECONDS = 5.0


#: The verdict when none came in time.
_GO_ON: dict[str, Any] = {"prune": False}


class PrunerFailedError(RuntimeError):
    """The study's pruner raised an error while judging a trial on a worker (the trial fails with it)."""


@dataclass(frozen=True)
class ChannelNames:
    """What travels with a trial's task: where its reports go and where its verdicts come from."""

    queue: str
    verdict: str


# The worker's side --------------------------------------------------------------------------------


class WorkerReporter:
    """The :class:`~jupyter_metahpo.reporting.Reporter` of a ``trial`` handle on a Dask worker.

    It sends each report and each question to the kernel (see the module's docstring).
    A channel that fails (the study ended and released its queue, a scheduler without
    Dask's queues) warns once and is left: the handle keeps its curve, which travels back
    with the trial's outcome, and ``should_prune()`` then says go on.
    """

    def __init__(self, names: ChannelNames) -> None:
        self.names = names
        self._queue: Any = None
        self._variable: Any = None
        self._last_step: int | None = None
        self._broken = False

    def report(self, trial: int, value: float, step: int) -> FrozenTrial | None:
        self._last_step = step if self._last_step is None else max(step, self._last_step)
        # A diverged value (NaN) travels as None, which every encoder of Dask's messages keeps.
        self._send(["report", trial, step, value if not math.isnan(value) else None])
        return None  # the kernel holds the study's snapshot, and tells the observers itself

    def should_prune(self, trial: int) -> bool:
        step = self._last_step
        if step is None or not self._send(["prune?", trial, step]):
            return False
        verdict = self._verdict_on(step)
        if verdict.get("error"):  # the pruner failed in the kernel: this trial fails with its error, as it would there
            raise PrunerFailedError(f"the study's pruner failed on this trial's curve:\n{verdict['error']}")
        return bool(verdict.get("prune"))

    def close(self) -> None:
        """Let go of the queue (the scheduler counts who holds it)."""
        if self._queue is not None:
            with contextlib.suppress(Exception):
                self._queue.close()
            self._queue = None

    def _send(self, message: list[Any]) -> bool:
        if self._broken:
            return False
        try:
            if self._queue is None:
                self._queue = distributed.Queue(self.names.queue)
            self._queue.put(message)
        except Exception as problem:  # noqa: BLE001 - a failed channel must not fail the user's trial
            self._break(problem)
            return False
        return True

    def _verdict_on(self, step: int) -> dict[str, Any]:
        """The kernel's verdict: waits for the one on ``step`` at most PRUNE_WAIT_SECONDS (then "go on").

        A verdict to stop on an earlier step (which came too late for that step's
        question) stops the trial too.
        """
        end = time.monotonic() + PRUNE_WAIT_SECONDS
        try:
            if self._variable is None:
                self._variable = distributed.Variable(self.names.verdict)
            while (left := end - time.monotonic()) > 0:
                try:
                    verdict = self._variable.get(timeout=left)
                except (TimeoutError, distributed.TimeoutError):
                    break
                if verdict.get("prune") or verdict.get("error") or verdict.get("step", -1) >= step:
                    return verdict
                time.sleep(min(_VERDICT_POLL_SECONDS, max(end - time.monotonic(), 0.0)))
        except Exception as problem:  # noqa: BLE001 - see _send
            self._break(problem)
        return _GO_ON

    def _break(self, problem: BaseException) -> None:
        self._broken = True
        warnings.warn(
            f"this trial's reports could not reach the study ({type(problem).__name__}: {problem}); its curve is "
            "kept and sent with its result, and it is no longer pruned.",
            RuntimeWarning,
            stacklevel=4,
        )


# The kernel's side --------------------------------------------------------------------------------


class ReportChannel:
    """The kernel's end of the channel for one parallel run: records reports, answers questions.

    A reader thread blocks on the queue and hands each message to the kernel's loop,
    which handles it in the kernel's thread (:meth:`wait`): so the loop wakes as soon as
    a worker asks, and the study, the store and the observers are only touched there.
    Blocking in a thread, rather than asking the scheduler with a timeout, also keeps the
    scheduler's log clean (it logs every queue read that times out as an error).
    ``notify(event, current=trial)`` tells the study's observers of each recorded point
    (``"trial_report"``), as the sequential loop does.
    """

    def __init__(self, client: Any, study: Study, notify: Callable[..., None]) -> None:
        self.client = client
        self.study = study
        self.notify = notify
        self.prefix = f"metahpo-{os.urandom(6).hex()}"
        self.queue = distributed.Queue(f"{self.prefix}-reports", client=client)
        self._inbox: SimpleQueue[list[Any]] = SimpleQueue()
        self._verdicts: dict[int, Any] = {}
        self._watched: set[str] = set()
        self._markers = itertools.count()
        self._reader = threading.Thread(target=self._read, name="metahpo-trial-reports", daemon=True)
        self._reader.start()

    def names_for(self, trial: FrozenTrial) -> ChannelNames:
        """The names a trial's task is given; its verdict variable is set to "go on" here, before the task
        starts, so that the worker's reads never wait for a variable that does not exist yet."""
        variable = distributed.Variable(f"{self.prefix}-verdict-{trial.number}", client=self.client)
        variable.set({"step": -1, "prune": False})
        self._verdicts[trial.number] = variable
        return ChannelNames(self.queue.name, variable.name)

    def wait(self, futures: Iterable[Any], seconds: float) -> None:
        """Wait at most ``seconds`` for a message or for one of ``futures`` to end; handle the messages that came."""
        for future in futures:
            if future.key not in self._watched:
                self._watched.add(future.key)
                future.add_done_callback(lambda _: self._inbox.put(["ended"]))
        try:
            self._handle(self._inbox.get(timeout=max(seconds, 0.0)))
        except Empty:
            return
        while True:
            try:
                self._handle(self._inbox.get_nowait())
            except Empty:
                return

    def catch_up(self) -> None:
        """Handle every message sent before now (a trial that ended sent all of its before its task
        ended): a marker put on the queue comes back behind them."""
        marker = ["marker", next(self._markers)]
        try:
            self.queue.put(marker)
        except Exception:  # noqa: BLE001 - a channel that failed has nothing more to give
            return
        end = time.monotonic() + _CATCH_UP_SECONDS
        while (left := end - time.monotonic()) > 0:
            try:
                message = self._inbox.get(timeout=left)
            except Empty:
                return
            if message == marker:
                return
            self._handle(message)

    def forget(self, trial: FrozenTrial) -> None:
        """The trial ended: its verdict variable goes."""
        variable = self._verdicts.pop(trial.number, None)
        if variable is not None:
            with contextlib.suppress(Exception):  # a cluster already gone has nothing to delete
                variable.delete()

    def close(self) -> None:
        """Stop the reader and release the queue and the variables left (before the cluster closes)."""
        for number in list(self._verdicts):
            variable = self._verdicts.pop(number)
            with contextlib.suppress(Exception):
                variable.delete()
        with contextlib.suppress(Exception):
            self.queue.put(["end"])
        self._reader.join(timeout=_CATCH_UP_SECONDS)
        with contextlib.suppress(Exception):
            self.queue.close()

    def _read(self) -> None:
        """The reader thread: hands the queue's messages to the kernel's loop until told to end."""
        while True:
            try:
                message = list(self.queue.get())  # msgpack brings lists back as tuples
            except Exception:  # noqa: BLE001 - the cluster went away: nothing more will come
                return
            if message == ["end"]:
                return
            self._inbox.put(message)

    def _handle(self, message: list[Any]) -> None:
        kind = message[0]
        if kind == "report":
            _, number, step, value = message
            self._record(number, step, math.nan if value is None else value)
        elif kind == "prune?":
            _, number, step = message
            self._answer(number, step)
        # "ended" (a future ended: the loop looks at the futures) and stale markers need nothing here

    def _is_running(self, number: int) -> bool:
        position = self.study._position(number)
        return position is not None and not self.study.trials[position].state.is_finished

    def _record(self, number: int, step: int, value: float) -> None:
        try:
            updated = self.study.report(number, value, step)
        except ValueError:  # the trial was told already (timed out, cancelled): a late report is not a result
            return
        if updated is not None:
            self.notify("trial_report", current=updated)

    def _answer(self, number: int, step: int) -> None:
        variable = self._verdicts.get(number)
        if variable is None:
            return
        verdict: dict[str, Any] = {"step": step, "prune": False}
        if self._is_running(number):  # else its task is being cancelled: go on, it is stopped anyway
            try:
                verdict["prune"] = bool(self.study.should_prune(number))
            except Exception as problem:  # noqa: BLE001 - a failing pruner fails the trial, as in a sequential study
                verdict["error"] = _format_error(problem)
        with contextlib.suppress(Exception):  # the verdict is advice: a failed set lets the trial go on
            variable.set(verdict)


def record_curve(study: Study, trial: FrozenTrial, curve: dict[int, float]) -> None:
    """Record the points of ``curve`` the study lacks (reports lost on the way) before the trial is told."""
    for step, value in sorted(curve.items()):
        with contextlib.suppress(ValueError):  # no longer running in the kernel: nothing to add to
            study.report(trial.number, value, step)  # a step the study has already keeps its value
