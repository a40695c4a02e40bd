"""``tune``: everything the ``%%metatune`` magic does, as one plain-Python call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .result import TuningResult
from .samplers.base import Sampler
from .space import SearchSpace, as_search_space
from .study import Callback, StopSignal, Study

__all__ = ["tune"]


def tune(
    objective: Callable[..., Any],
    space: SearchSpace | Mapping[str, Any],
    n_trials: int | None = 30,
    *,
    timeout: float | None = None,
    direction: str = "minimize",
    metric: str | None = None,
    seed: int | None = None,
    sampler: Sampler | None = None,
    name: str | None = None,
    callbacks: Sequence[Callback] = (),
    stop: StopSignal | None = None,
    progress: bool | Callback = False,
) -> TuningResult:
    """Tune ``objective`` over ``space`` and return a :class:`TuningResult`.

    Parameters
    ----------
    objective:
        A function called with one keyword argument per parameter (or with the whole
        configuration as a single dict argument). It returns a number, or a dict of
        numbers with ``metric`` naming the one to optimise. Raising, NaN or inf fails
        that trial and the search goes on.
    space:
        A dict of distributions (``uniform``, ``loguniform``, ``intrange``, ``choice``)
        or a :class:`SearchSpace`.
    n_trials, timeout:
        The budget: number of trials and/or wall-clock seconds (``None`` for no limit
        of that kind; at least one must be set).
    direction:
        ``"minimize"`` or ``"maximize"``.
    seed:
        Makes the default sampler reproducible.
    sampler:
        Overrides the default (Sobol initial design, then BoTorch).
    callbacks:
        Called with a :class:`~jupyter_metahpo.study.StudySnapshot` at the start, before
        and after each trial, and at the end.
    stop:
        A :class:`~jupyter_metahpo.study.StopSignal`; setting it ends the study after
        the running trial.
    progress:
        ``True`` prints a line per trial; a callable is used as an extra callback.
    """
    space = as_search_space(space)
    study = Study(space, direction=direction, metric=metric, sampler=sampler, seed=seed, name=name)
    observers = list(callbacks)
    if progress is True:
        from .progress import TextProgress

        observers.append(TextProgress())
    elif callable(progress):
        observers.append(progress)
    status = study.optimize(objective, n_trials, timeout=timeout, callbacks=observers, stop=stop)
    return TuningResult(
        space=space,
        direction=study.direction,
        trials=study.trials,
        status=status,
        name=name,
        metric=metric,
    )
