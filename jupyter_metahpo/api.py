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
    store: Any = None,
    resume: bool = True,
    task: Any = None,
    data: Any = None,
    strategy: Any = "default",
    past: Any = None,
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
    store:
        Where every finished trial is recorded before the next starts: ``None`` for the
        user's experience store, a folder path, an
        :class:`~jupyter_metahpo.store.ExperienceStore`, or ``False`` to record nothing.
    resume:
        With a ``name`` already in the store, ``True`` (default) continues that study
        (its finished trials count toward ``n_trials``); ``False`` starts a fresh one.
    task:
        What describes the task in the store: a name, a dict or a
        :class:`~jupyter_metahpo.store.TaskInfo` (meta-features, data fingerprint).
    data:
        ``(X, y)``: describes the task by its meta-features (numpy or pandas, numeric
        and categorical columns, missing values allowed), which are stored with the
        task and used to find similar past tasks. Without it the task is described by
        its name and search space.
    strategy:
        How past studies choose the first trials: ``"default"``, ``"nearest"``,
        ``"neural"``, ``"portfolio"``, or ``"none"`` for a cold start. With compatible
        past studies, refinement also uses them (a ranking-weighted GP ensemble whose
        weights show in each trial's origin). Ignored when ``sampler`` is given.
    past:
        Past studies (:class:`~jupyter_metahpo.experience.PastStudy`) to learn from,
        in addition to the experience store and the bundled prior.
    """
    space = as_search_space(space)
    from .meta.tuning import plan_task

    plan = plan_task(name, task, data, strategy)  # meta-features first: bad data fails before anything is stored
    session = _open_store_session(store, name, space, direction, metric, objective, plan.store_task, resume,
                                  {"n_trials": n_trials, "timeout": timeout, "seed": seed, "sampler": sampler})
    if sampler is None:
        sampler = _meta_sampler(plan, space, past, store, session, seed)
    study = Study(space, direction=direction, metric=metric, sampler=sampler, seed=seed, name=name,
                  recorder=session, trials=() if session is None else session.trials, context=plan.context)
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
        study_id=None if session is None else session.study_id,
        info=dict(study.context),
    )


def _meta_sampler(plan, space, past, store, session, seed):
    """Warm start + transfer from past studies (explicit, the store, the prior); None for strategy "none"."""
    from .meta.gather import check_past, gather_past_studies
    from .meta.tuning import meta_sampler

    if plan.strategy == "none":
        check_past(past)
        return None
    exclude = () if session is None else (session.study_id,)
    studies = gather_past_studies(past=past, store=False if session is None else store, exclude=exclude)
    return meta_sampler(plan, space, studies, seed)


def _open_store_session(store, name, space, direction, metric, objective, task, resume, settings):
    """The experience store's recorder for this study, or None when ``store=False``."""
    from .store import open_store
    from .trial import Direction

    experience = open_store(store)
    if experience is None:
        return None
    direction = Direction.parse(direction)  # fail on a bad direction before anything is written
    return experience.open_study(
        name, space, direction, metric=metric, objective=getattr(objective, "__name__", None),
        settings=settings, task=task, resume=resume,
    )
