"""Objectives that the parallel tests send to Dask workers.

They live in an importable module (``helpers.parallel_objectives``: the workers inherit
the test process's ``sys.path``), so that cloudpickle sends them by reference.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from pathlib import Path


def bowl(x: float, y: float) -> float:
    """A smooth bowl with its minimum 0 at (0.3, 0.7)."""
    return (x - 0.3) ** 2 + (y - 0.7) ** 2


def chatty_bowl(x: float, y: float) -> float:
    """``bowl`` that prints and warns, and says which process ran it."""
    print(f"pid {os.getpid()}")
    warnings.warn("a warning from the worker", UserWarning)
    return bowl(x, y)


def sleepy_bowl(x: float, y: float, seconds: float = 0.5) -> float:
    time.sleep(seconds)
    return bowl(x, y)


def several_metrics(x: float, y: float) -> dict[str, float]:
    return {"loss": bowl(x, y), "other": 1.0}


def always_fails(x: float, y: float) -> float:
    raise ValueError(f"no good at x={x:.3f}")


def dies_once(x: float, y: float, marker: str = "") -> float:
    """Kills the worker process running it, the first time only (``marker`` records that it did)."""
    path = Path(marker)
    try:
        path.touch(exist_ok=False)
    except FileExistsError:
        return bowl(x, y)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)
    return bowl(x, y)  # never reached


def quick_then_waits(x: float, y: float, folder: str = "", quick: int = 2) -> float:
    """The first ``quick`` calls (counted across processes in ``folder``) return at once; later
    calls wait until the file ``folder/release`` exists."""
    path = Path(folder)
    index = 0
    while True:  # claim the next call number: exclusive creation is atomic across processes
        try:
            (path / f"call-{index}").touch(exist_ok=False)
            break
        except FileExistsError:
            index += 1
    while index >= quick and not (path / "release").exists():
        time.sleep(0.05)
    return bowl(x, y)


def reporting_bowl(x: float, y: float, trial, steps: int = 6, seconds: float = 0.02) -> float:
    """``bowl`` with a learning curve that falls towards it, ranked as the final values at every step;
    it asks ``should_prune()`` after each report but the last (nothing is left to save then), as a training
    loop does. Asked after the last one too, whether the median pruner stops a trial there depended on how
    many other trials the workers had finished by then: a timing race, not a rule the tests could hold."""
    from jupyter_metahpo import TrialPruned

    final = bowl(x, y)
    for step in range(steps):
        trial.report(final + 0.5 / (step + 1), step)
        if step < steps - 1 and trial.should_prune():
            raise TrialPruned()
        time.sleep(seconds)
    return final


def reporting_dies_once(x: float, y: float, trial, marker: str = "") -> float:
    """Reports two steps, then kills its worker process the first time (see ``dies_once``)."""
    trial.report(bowl(x, y) + 1.0, 0)
    trial.report(bowl(x, y) + 0.5, 1)
    return dies_once(x, y, marker=marker)


def optuna_style_bowl(trial) -> float:
    """``bowl`` written Optuna's way: the space is read from these calls, the worker's handle answers them."""
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    trial.report(bowl(x, y) + 1.0, 0)
    return bowl(x, y)


def optuna_pruned_bowl(trial) -> float:
    """Reports one point, then stops the way an objective written for Optuna does: ``raise optuna.TrialPruned()``."""
    import optuna

    x = trial.suggest_float("x", 0.0, 1.0)
    trial.report(x, 0)
    if x > 0.5:
        raise optuna.TrialPruned("above the half")
    return bowl(x, trial.suggest_float("y", 0.0, 1.0))
