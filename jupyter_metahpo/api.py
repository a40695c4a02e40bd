"""``tune``: everything the ``%%metatune`` magic does, as one plain-Python call.

``tune`` prepares the study through :mod:`jupyter_metahpo.pipeline` (task, store,
past experience and sampler, each once), then runs :meth:`Study.optimize` with the
observers it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .curve_sources import with_past_curves
from .experience import PastStudy
from .meta.declared_space import given_or_declared_space
from .meta.strategies import WarmStartStrategy
from .parallel import check_parallel_options, check_picklable, optimize_parallel
from .pipeline import prepare_study
from .progress import TextProgress
from .result import TuningResult
from .pruners import Pruner, as_pruner
from .samplers.base import Sampler
from .samplers.batch import for_parallel_trials
from .space import SearchSpace
from .study import Callback, StopSignal, Study, StudyInterrupted

__all__ = ["tune"]


def tune(
    objective: Callable[..., Any],
    space: SearchSpace | Mapping[str, Any] | None = None,
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
    strategy: str | WarmStartStrategy = "default",
    past: Iterable[PastStudy] | None = None,
    n_jobs: int = 1,
    client: Any = None,
    resources: Mapping[str, float] | None = None,
    pruner: Pruner | str | None = None,
) -> TuningResult:
    """Tune ``objective`` over ``space`` and return a :class:`TuningResult`.

    Ctrl-C (KeyboardInterrupt) ends the study with every finished trial recorded, then
    raises :class:`~jupyter_metahpo.study.StudyInterrupted` (a ``KeyboardInterrupt``
    whose ``result`` is the TuningResult), so that a script ends and a notebook stops
    running the cells queued after this one. What the objective prints and warns is
    kept on each trial (``output``, ``warnings``), not shown.

    Parameters
    ----------
    objective:
        A function called with one keyword argument per parameter (or with the whole
        configuration as a single dict argument). It returns a number, or a dict of
        numbers with ``metric`` naming the one to optimise. Raising, NaN or inf fails
        that trial and the search goes on.
    space:
        A dict of distributions (``uniform``, ``loguniform``, ``intrange``, ``choice``)
        or a :class:`SearchSpace`. Left out, it is read from an Optuna-style objective's
        ``trial.suggest_*`` calls (``def objective(trial): lr = trial.suggest_float("lr",
        1e-4, 1e-1, log=True)``; :mod:`jupyter_metahpo.suggest_calls`), before any trial runs.
    n_trials, timeout:
        The budget: number of trials and/or wall-clock seconds (``None`` for no limit
        of that kind; at least one must be set). A trial still running when the time
        runs out is stopped inside the objective and fails as timed out (C code that
        does not return to Python cannot be stopped; a message says so).
    direction:
        ``"minimize"`` or ``"maximize"``.
    seed:
        Makes the default sampler reproducible.
    sampler:
        Overrides the default (warm start and transfer refinement when past studies
        fit the space; else a Sobol initial design, then the GP sampler).
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
        weights show in each trial's origin). ``"meta-optimizer"``: the default's warm
        start, then steps from the incumbent by an update rule learned on the past
        studies (:mod:`jupyter_metahpo.meta.metaopt`). Ignored when ``sampler`` is given.
    past:
        Past studies (:class:`~jupyter_metahpo.experience.PastStudy`) to learn from,
        in addition to the experience store and the bundled prior.
    n_jobs:
        Trials at once. ``1`` (default) runs them one after another in this process;
        ``k > 1`` runs ``k`` at once on a Dask ``LocalCluster`` of ``k`` worker processes
        that ``tune`` starts and closes (``-1``: one per CPU core). The objective must
        then pickle (cloudpickle); see :mod:`jupyter_metahpo.parallel` for what happens
        when a worker dies, on Stop and at the time budget.
    client:
        A ``dask.distributed.Client`` (or a scheduler's address) whose cluster runs the
        trials, e.g. a SLURM cluster from dask-jobqueue; it is left running. With
        ``n_jobs=1`` every worker thread of the cluster runs a trial.
    resources:
        Dask worker resources each trial needs, e.g. ``{"GPU": 1}``: a trial then runs
        only on a worker that has them free.
    pruner:
        Stops unpromising trials early, for an objective with a ``trial`` parameter that
        reports its learning curve (``trial.report(value, step)``) and asks
        ``trial.should_prune()``: ``"median"``, ``"halving"`` (asynchronous successive
        halving), ``"meta"`` (the final value predicted from past learning curves of
        related studies: the store's, the bundled prior's, and this study's own;
        :mod:`jupyter_metahpo.curve_sources`), a :class:`~jupyter_metahpo.pruners.Pruner`,
        or ``None`` (default) to never prune.
    """
    space = given_or_declared_space(space, objective, "tune")
    pruner = as_pruner(pruner)  # a bad name fails before the store opens the study
    parallel = n_jobs != 1 or client is not None or resources is not None
    slots = None
    if parallel:  # before the store opens the study: a refused objective leaves nothing behind
        slots = check_parallel_options(n_jobs, client, resources)
        check_picklable(objective)
    settings = {"n_trials": n_trials, "timeout": timeout, "seed": seed}
    prepared = prepare_study(
        space, objective=objective, direction=direction, metric=metric, name=name, seed=seed, sampler=sampler,
        store=store, resume=resume, task=task, data=data, strategy=strategy, past=past,
        settings={**settings, "n_jobs": n_jobs} if parallel else settings,
        warm_start_k=slots,  # the first trials start together: as many warm-start proposals as run at once
    )
    study_sampler = prepared.sampler
    if parallel and sampler is None:  # ours, not the user's: the GP refinement proposes with the running trials
        study_sampler = for_parallel_trials(prepared.sampler, seed)
    pruner = with_past_curves(pruner, prepared.experience, prepared.store, prepared.direction)
    study = Study(space, direction=prepared.direction, metric=metric, sampler=study_sampler, seed=seed, name=name,
                  recorder=prepared.session, trials=prepared.resumed_trials, context=prepared.plan.context,
                  pruner=pruner)
    observers = list(callbacks)
    if progress is True:
        observers.append(TextProgress())
    elif callable(progress):
        observers.append(progress)
    if parallel:
        status = optimize_parallel(study, objective, n_trials, timeout=timeout, callbacks=observers, stop=stop,
                                   n_jobs=n_jobs, client=client, resources=resources)
    else:
        status = study.optimize(objective, n_trials, timeout=timeout, callbacks=observers, stop=stop)
    result = TuningResult(
        space=space,
        direction=study.direction,
        trials=study.trials,
        status=status,
        name=name,
        metric=metric,
        study_id=prepared.study_id,
        info=dict(study.context),
    )
    if status == "interrupted":
        # Every finished trial is recorded; the interrupt goes on, so that a script ends
        # and a notebook's "Run All" stops here (result: the exception's ``result``).
        raise StudyInterrupted(result)
    return result
