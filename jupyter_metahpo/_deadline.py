"""Stopping a running trial when its study's time budget runs out.

A study with ``timeout=`` checks the clock between trials, and a trial that runs past
the deadline is stopped inside the objective, by raising :class:`TrialTimeout` there:

- in the main thread (POSIX), by a ``SIGALRM`` timer (``signal.setitimer``), whose
  handler raises. It interrupts Python code at once and blocking system calls too
  (``time.sleep``, reads, waits on a lock), as Ctrl-C does. A notebook's cells run in
  the kernel's main thread, so this is what a ``%%metatune`` cell gets.
- in any other thread (signals are only handled in the main thread), and where there
  is no ``SIGALRM`` (Windows), by an asynchronous exception
  (``PyThreadState_SetAsyncExc``), which Python raises when the thread next runs
  bytecode: a Python loop stops at once, a blocking call in C runs to its end first.

Neither can stop C code that never returns to the interpreter (a compiled model fit,
a long linear-algebra call). A watchdog says so on stderr once the trial has overrun
the deadline by :data:`UNINTERRUPTIBLE_AFTER` seconds, and the trial's error says so
when the call finally returns.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["TrialTimeout", "TrialDeadline", "UNINTERRUPTIBLE_AFTER"]

#: Seconds past the deadline after which a trial that is still running is said to be
#: in code that Python cannot interrupt.
UNINTERRUPTIBLE_AFTER = 1.0


class TrialTimeout(BaseException):
    """Raised inside the objective when the study's time budget runs out.

    A ``BaseException``, like ``KeyboardInterrupt``: an objective's own ``except
    Exception`` (a fit retried on error) must not swallow the end of the budget.
    """


def _can_use_signals() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


class TrialDeadline:
    """Runs one objective call that must stop at ``deadline`` (``time.monotonic()`` seconds).

    ``run(call, *args)`` returns what ``call`` returns, or raises :class:`TrialTimeout`
    once the deadline passes. Afterwards ``overran`` says whether the call was still
    running :data:`UNINTERRUPTIBLE_AFTER` seconds past the deadline (it was in code
    Python cannot interrupt); the watchdog then wrote why to ``warn_to``.
    """

    def __init__(self, deadline: float, *, warn_to: TextIO | None = None) -> None:
        self.deadline = deadline
        self.warn_to = warn_to if warn_to is not None else sys.stderr
        self.fired = False
        self.overran = False
        self._active = False
        self._lock = threading.Lock()
        self._thread_id = 0
        self._signal_armed = False
        self._old_handler: Any = None
        self._old_timer: tuple[float, float] = (0.0, 0.0)
        self._armed_at = 0.0
        self._timers: list[threading.Timer] = []

    def run(self, call: Callable[..., Any], *args: Any) -> Any:
        self._start()
        try:
            try:
                return call(*args)
            finally:
                self._stop()
        finally:
            # Again: the timeout can fire once, and may have cut the first stop short.
            self._stop()

    # Arming and disarming ---------------------------------------------------------------
    def _start(self) -> None:
        remaining = max(self.deadline - time.monotonic(), 0.0)
        self._thread_id = threading.get_ident()
        self._active = True
        if _can_use_signals():
            self._old_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-4))
            self._armed_at = time.monotonic()
            self._signal_armed = True
        else:
            self._timers.append(self._timer(remaining, self._raise_in_thread))
        self._timers.append(self._timer(remaining + UNINTERRUPTIBLE_AFTER, self._say_it_cannot_be_stopped))

    @staticmethod
    def _timer(seconds: float, action: Callable[[], None]) -> threading.Timer:
        timer = threading.Timer(seconds, action)
        timer.daemon = True  # a stuck trial must not keep the interpreter from exiting
        timer.start()
        return timer

    def _stop(self) -> None:
        with self._lock:
            self._active = False
        for timer in self._timers:
            timer.cancel()
        if self._signal_armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler)
            self._signal_armed = False
            if self._old_timer[0] > 0:  # someone else's alarm (pytest-timeout's) was running: give back what is left
                left = self._old_timer[0] - (time.monotonic() - self._armed_at)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-4), self._old_timer[1])
        if self.fired and not _can_use_signals():
            # A timeout raised after the call returned must not surface later, elsewhere.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)

    # What the timers do --------------------------------------------------------------------
    def _on_alarm(self, signum: int, frame: Any) -> None:
        # Runs in the main thread, between two bytecodes of whatever runs there: no lock here.
        if self._active:
            self.fired = True
            raise TrialTimeout

    def _raise_in_thread(self) -> None:
        with self._lock:
            if self._active:
                self.fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), ctypes.py_object(TrialTimeout))

    def _say_it_cannot_be_stopped(self) -> None:
        with self._lock:
            if not self._active:
                return
            self.overran = True
        print(
            f"metatune: the running trial is {UNINTERRUPTIBLE_AFTER:g} s past the study's time budget and Python "
            "cannot interrupt it: it is inside a call that does not return to Python (a C extension, such as a "
            "compiled model fit, or a blocking call outside the main thread). It stops when that call returns.",
            file=self.warn_to,
            flush=True,
        )

    def message(self, seconds: float, timeout: float | None) -> str:
        """The failed trial's error: how long it ran, why it stopped, and whether it could be stopped in time."""
        budget = f" (timeout={timeout:g} s)" if timeout is not None else ""
        text = f"timed out after {seconds:.1f} s: the study's time budget{budget} ran out while this trial ran."
        if self.overran:
            late = max(time.monotonic() - self.deadline, 0.0)
            text += (
                " Python cannot interrupt the call the objective was in (a C extension, or a blocking call outside "
                f"the main thread), so it ran {late:.1f} s past the budget, until that call returned."
            )
        return text
