"""``MetaSearchCV``: a scikit-learn drop-in for ``RandomizedSearchCV`` that learns from the past.

    >>> from sklearn.svm import SVC
    >>> from jupyter_metahpo import MetaSearchCV
    >>> search = MetaSearchCV(SVC(), n_iter=20, cv=3, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> search.best_params_, search.best_score_                                   # doctest: +SKIP

It is scikit-learn's own ``BaseSearchCV`` with one search strategy plugged in
through ``_run_search`` (the hook scikit-learn documents for sequential,
model-based searches): every candidate is one trial of a :func:`jupyter_metahpo.tune`
study. So ``cv_results_``, ``best_*``, ``refit``, multi-metric scoring, ``error_score``,
``predict``/``score`` delegation and the estimator tags behave exactly as in
``RandomizedSearchCV``, while the candidates come from the same path ``tune`` uses:
a warm start from the bundled prior and the user's experience store (described by
the data's meta-features), then Gaussian-process refinement. Every trial is recorded in
the store.

Without ``space`` the built-in space of the estimator is used (the final step of a
``Pipeline``), in the parameter names of :mod:`jupyter_metahpo.builtin_spaces`, so the
bundled prior transfers to it; the candidates' estimator parameters are derived
from each configuration (for a pipeline, prefixed with the final step's name).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.base import clone
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._imports import LazyImport
from .api import tune
from .builtin_spaces import get_builtin_space, space_for_estimator
from .meta.estimator_text import objective_code, user_set_parameters
from .meta.source import SOURCE_ATTRIBUTE
from .parallel import check_parallel_options, dask_client
from .param_distributions import from_param_distributions
from .pipeline import prepare_study
from .result import TuningResult
from .samplers.batch import for_parallel_trials
from .space import SearchSpace, as_search_space
from .study import StopSignal, Study, StudyInterrupted
from .trial import Direction, FrozenTrial, TrialState

joblib = LazyImport("joblib", install="pip install joblib")

__all__ = ["MetaSearchCV"]


@dataclass(frozen=True)
class SearchPlan:
    """The space a search runs in, and how one of its configurations becomes estimator parameters."""

    space: SearchSpace
    to_params: Callable[[Mapping[str, Any]], dict[str, Any]]
    builtin: str | None = None
    #: The code of an objective that fits the estimator with the space's parameters set (an explicit space's, or a
    #: built-in space's whose names are all the estimator's parameters); the study reads it as the objective's
    #: source, to know which estimator each parameter belongs to and what the user fixed on it.
    source: str | None = None


def final_estimator(estimator: Any) -> tuple[Any, str]:
    """The estimator a space applies to, and the prefix of its parameters (``"step__"`` in a Pipeline)."""
    prefix = ""
    while hasattr(estimator, "steps") and estimator.steps:  # Pipelines, nested ones too
        name, step = estimator.steps[-1]
        prefix += f"{name}__"
        estimator = step
    return estimator, prefix


def builtin_plan(estimator: Any, name: str | None = None) -> SearchPlan:
    """Search in a built-in space: by ``name``, or the one for the (final) estimator's class.

    The built-in space's fixed settings (early stopping for gradient boosting, the
    saga solver for the elastic net ...) are applied too, because the prior was
    measured with them, except where the user set that parameter themselves.
    """
    final, prefix = final_estimator(estimator)
    builtin = get_builtin_space(name) if name is not None else space_for_estimator(final)
    valid = set(final.get_params(deep=False))
    user_set = user_set_parameters(final)
    tuned_names = set(builtin.space.names)

    def to_params(config: Mapping[str, Any]) -> dict[str, Any]:
        params = builtin.params(config)
        unknown = sorted(k for k in params if k not in valid)
        if unknown:
            raise ValueError(
                f"the built-in space {builtin.name!r} sets {unknown}, which {type(final).__name__} does not accept; "
                "pass `space=` for this estimator."
            )
        return {
            prefix + key: value
            for key, value in params.items()
            if key in tuned_names or key not in user_set  # a fixed setting never overrides the user's
        }

    # The source says which estimator the space's names set, and what the user fixed on it (SVC(kernel="poly") is
    # not the RBF SVM the prior ran); a built-in space whose names are not all the estimator's (the MLP's width
    # and depth) has none.
    paths = {name: prefix + name for name in builtin.space.names}
    every = set(estimator.get_params(deep=True))
    source = objective_code(estimator, builtin.space.names, paths) if set(paths.values()) <= every else None
    return SearchPlan(builtin.space, to_params, builtin.name, source)


def explicit_plan(estimator: Any, space: Mapping[str, Any] | SearchSpace) -> SearchPlan:
    """Search in the user's space; its names are the estimator's parameters (``step__param`` in a Pipeline). As
    ``RandomizedSearchCV``'s ``param_distributions``, it may give ``scipy.stats`` distributions and lists of values
    (:mod:`.param_distributions`)."""
    space = as_search_space(from_param_distributions(space))
    valid = set(estimator.get_params(deep=True))
    unknown = [name for name in space.names if name not in valid and not _sets_routed(estimator, name, space[name])]
    if unknown:
        hint = sorted(valid)[:20]
        raise ValueError(
            f"`space` names {unknown}, which are not parameters of {type(estimator).__name__}; use the names of "
            f"estimator.get_params() (for a Pipeline 'step__param'), for example {hint}."
        )
    return SearchPlan(space, lambda config: dict(config), None, objective_code(estimator, space.names))


def _sets_routed(estimator: Any, name: str, parameter: Any) -> bool:
    """Whether ``estimator.set_params`` takes ``name`` though ``get_params`` does not list it: SciKeras routes
    ``model__hidden`` to its model function and ``optimizer__learning_rate`` to its optimiser (as scikit-learn's own
    searches take them), checked on a clone with a value of the space."""
    try:
        clone(estimator).set_params(**{name: parameter.from_unit(0.5)})
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def resolve_plan(estimator: Any, space: Any) -> SearchPlan:
    if space is None:
        return builtin_plan(estimator)
    if isinstance(space, str):
        return builtin_plan(estimator, space)
    if isinstance(space, (Mapping, SearchSpace)):
        return explicit_plan(estimator, space)
    raise TypeError(
        "`space` must be None (the estimator's built-in space), the name of a built-in space, or a dict of "
        f"distributions such as {{'C': loguniform(1e-3, 1e3)}}, but got {type(space).__name__}."
    )


def _seed(random_state: Any) -> int | None:
    """An int seed for the study from scikit-learn's ``random_state`` (None, int or RandomState)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def task_data(X: Any, y: Any) -> tuple[Any, Any] | None:
    """``(X, y)`` when meta-features can describe the task, else ``None``.

    Sparse matrices, a missing ``y`` and fewer than 2 rows cannot be described by
    meta-features; the study is then described by its space alone, and the error
    about such data (if any) comes from scikit-learn, in its usual words.
    """
    if y is None or getattr(X, "ndim", 2) != 2:
        return None
    if scipy.sparse.issparse(X):
        return None
    if len(y) < 2:
        return None
    return X, y


def _score_key(results: Mapping[str, Any], refit: Any) -> str:
    """The ``cv_results_`` column the study optimises: the single score, or the refit metric."""
    if "mean_test_score" in results:
        return "mean_test_score"
    if isinstance(refit, str) and f"mean_test_{refit}" in results:
        return f"mean_test_{refit}"
    return sorted(k for k in results if k.startswith("mean_test_"))[0]


class MetaSearchCV(BaseSearchCV):
    """Hyperparameter search with cross-validation, warm-started from past studies.

    A drop-in for :class:`sklearn.model_selection.RandomizedSearchCV`: the same
    ``fit``, ``cv_results_``, ``best_params_``, ``best_score_``, ``best_estimator_``,
    ``refit`` and delegation of ``predict``, ``predict_proba``, ``score`` ... The
    ``n_iter`` candidates come from a :func:`jupyter_metahpo.tune` study: first the
    configurations a meta-learning strategy picks from the bundled prior and the
    user's experience store for data like ``X, y``, then Gaussian-process refinement.

    Parameters
    ----------
    estimator:
        A scikit-learn estimator or Pipeline.
    space:
        ``None`` (default): the built-in space of the estimator (of a Pipeline's
        final step); a built-in space's name (``"svc"``); or a dict of distributions
        named by the estimator's parameters (``"step__param"`` in a Pipeline).
    n_iter:
        Number of candidates (trials).
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score:
        As in ``RandomizedSearchCV``. The study maximises the mean test score (the
        ``refit`` metric with several scorers). With ``n_jobs`` of ``None`` or 1 the
        candidates run one after another, each informed by the last. With
        ``n_jobs=k > 1`` (``-1``: one per CPU core) they run ``k`` at a time on a
        Dask ``LocalCluster`` of ``k`` worker processes that the search starts and
        closes: the study proposes ``k`` candidates at once (each pending for the
        others, as ``tune(n_jobs=k)`` does), and scikit-learn's own evaluation fits
        their folds on the cluster through joblib's Dask backend, so ``cv_results_``
        is scikit-learn's. Each batch waits for its slowest fit (``tune(n_jobs=k)``
        starts a new trial as soon as one ends).
    random_state:
        Seeds the study (an int, a ``RandomState`` or ``None``).
    strategy:
        The warm-start strategy: ``"default"``, ``"nearest"``, ``"portfolio"``,
        ``"neural"``, a ``WarmStartStrategy``, or ``None`` for no warm start.
    store:
        Where the study is recorded and past studies come from: ``None`` for the
        user's experience store, a folder, an ``ExperienceStore``, or ``False``.
    name:
        The study's name in the store. Each ``fit`` records a new study (it never
        resumes an earlier one of the same name).

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_,
    n_splits_, refit_time_, multimetric_:
        As in ``RandomizedSearchCV``. ``cv_results_`` also holds ``config`` (each
        candidate in the space's own names) and ``origin`` (``"warm-start"``,
        ``"sobol"``, ``"gp"`` ...).
    study_:
        The :class:`~jupyter_metahpo.TuningResult` of the search.
    search_space_:
        The :class:`~jupyter_metahpo.SearchSpace` searched.
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "space": [None, str, dict, SearchSpace],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "strategy": "no_validation",  # a name or a WarmStartStrategy: checked by the strategy layer
        "store": "no_validation",  # None, False, a path or an ExperienceStore: checked by the store
        "name": [None, str],
    }

    def __init__(
        self,
        estimator,
        space=None,
        *,
        n_iter=20,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        strategy="default",
        store=None,
        name=None,
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.space = space
        self.n_iter = n_iter
        self.random_state = random_state
        self.strategy = strategy
        self.store = store
        self.name = name

    def fit(self, X, y=None, **params):
        """Run the search on ``X, y`` (``params`` go to the estimator's fit, as in scikit-learn)."""
        # _run_search receives only the evaluation callback; the data it needs to
        # describe the task is kept here for the duration of the fit.
        self._search_data = (X, y)
        try:
            return super().fit(X, y, **params)
        finally:
            del self._search_data

    @property
    def best_config_(self) -> dict[str, Any]:
        """The best candidate in the search space's own parameter names."""
        return dict(self.cv_results_["config"][self.best_index_])

    def _run_search(self, evaluate_candidates):
        plan = resolve_plan(self.estimator, self.space)
        X, y = self._search_data
        state: dict[str, Any] = {"origin": None, "key": None, "evaluated": 0, "error": None, "last_error": None}
        stop = StopSignal()
        raise_errors = isinstance(self.error_score, str) and self.error_score == "raise"

        def note_origin(snapshot) -> None:
            if snapshot.event == "trial_start" and snapshot.current is not None:
                state["origin"] = snapshot.current.origin.source

        def objective(config: dict[str, Any]) -> float:
            params = plan.to_params(config)
            try:
                results = evaluate_candidates(
                    [params], more_results={"config": [dict(config)], "origin": [state["origin"]]}
                )
            except Exception as error:
                state["last_error"] = error
                if raise_errors:
                    state["error"] = error
                    stop.set()
                raise  # the study records this candidate as a failed trial
            state["evaluated"] += 1
            state["key"] = state["key"] or _score_key(results, self.refit)
            return float(results[state["key"]][-1])  # NaN (error_score) fails the trial

        if plan.source is not None:  # the estimator this objective fits, as code (``Pipeline(...SVC(C=svc__C))``)
            setattr(objective, SOURCE_ATTRIBUTE, plan.source)

        options = dict(
            n_trials=self.n_iter,
            direction="maximize",
            seed=_seed(self.random_state),
            name=self.name,
            store=self.store,
            resume=False,  # every fit is a new search of n_iter candidates, as in scikit-learn
            strategy="none" if self.strategy is None else self.strategy,
            data=task_data(X, y),
        )
        if self.n_jobs in (None, 1):
            result = tune(objective, plan.space, callbacks=[note_origin], stop=stop, **options)
        else:
            result = _search_in_batches(evaluate_candidates, objective, plan, self.n_jobs, self.refit, options, state,
                                        raise_errors)
        if state["error"] is not None:
            raise state["error"]
        if state["evaluated"] == 0:
            raise ValueError(
                f"every one of the {len(result.trials)} candidates failed in all folds, so there is no best one; "
                f"the last error was: {state['last_error']}"
            ) from state["last_error"]
        self.study_ = result
        self.search_space_ = plan.space

    # A fitted search pickles like any scikit-learn estimator (joblib.dump): the
    # study's frozen trials hold read-only mappings, so they travel as plain dicts.
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ may return __dict__ itself
        study = state.pop("study_", None)
        if study is not None:
            state["_study_state"] = {
                "space": study.space.to_json(),
                "direction": study.direction.value,
                "trials": [t.to_dict() for t in study.trials],
                "status": study.status,
                "name": study.name,
                "metric": study.metric,
                "study_id": study.study_id,
                "info": _plain(study.info),
            }
        return state

    def __setstate__(self, state):
        study = state.pop("_study_state", None)
        super().__setstate__(state)
        if study is not None:
            self.study_ = TuningResult(
                space=SearchSpace.from_json(study["space"]),
                direction=Direction.parse(study["direction"]),
                trials=tuple(FrozenTrial.from_dict(t) for t in study["trials"]),
                status=study["status"],
                name=study["name"],
                metric=study["metric"],
                study_id=study["study_id"],
                info=study["info"],
            )


def _search_in_batches(evaluate_candidates: Callable, objective: Callable, plan: SearchPlan, n_jobs: int,
                       refit: Any, options: dict[str, Any], state: dict[str, Any], raise_errors: bool) -> TuningResult:
    """``n_jobs`` candidates at a time: proposed together, their folds fitted on a Dask cluster.

    The study is prepared as ``tune`` prepares it (same pipeline, store and parallel
    sampler); scikit-learn's ``evaluate_candidates`` runs each batch with joblib's Dask
    backend, so every fold of every candidate of the batch is one task on the cluster.
    """
    jobs = check_parallel_options(n_jobs, None, None)
    seed, n_iter = options["seed"], options["n_trials"]
    prepared = prepare_study(
        plan.space, objective=objective, direction="maximize", metric=None, name=options["name"], seed=seed,
        sampler=None, store=options["store"], resume=False, task=None, data=options["data"],
        strategy=options["strategy"], past=None, settings={"n_trials": n_iter, "seed": seed, "n_jobs": n_jobs},
        warm_start_k=jobs,
    )
    study = Study(plan.space, direction="maximize", sampler=for_parallel_trials(prepared.sampler, seed), seed=seed,
                  name=options["name"], recorder=prepared.session, context=prepared.plan.context)
    status = "failed"
    try:
        with dask_client(jobs, None, None), joblib.parallel_config(backend="dask"):
            while len(study.trials) < n_iter:
                batch = study.ask_batch(min(jobs, n_iter - len(study.trials)))
                _evaluate_batch(study, batch, evaluate_candidates, plan, refit, state, raise_errors)
        status = "finished" if any(t.state is TrialState.COMPLETE for t in study.trials) else "failed"
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        for trial in study.trials:
            if trial.state is TrialState.RUNNING:  # a batch that never ended: no result
                study._discard_running(trial)
        if study.recorder is not None:
            study.recorder.finish(status)
    result = TuningResult(space=plan.space, direction=study.direction, trials=study.trials, status=status,
                          name=options["name"], metric=None, study_id=prepared.study_id, info=dict(study.context))
    if status == "interrupted":
        raise StudyInterrupted(result)
    return result


def _evaluate_batch(study: Study, trials: list[FrozenTrial], evaluate_candidates: Callable, plan: SearchPlan,
                    refit: Any, state: dict[str, Any], raise_errors: bool) -> None:
    """One batch through scikit-learn's evaluation; each candidate's mean score told to the study.

    As in the sequential search, a batch whose evaluation raises (every fit failed) is a
    batch of failed trials, and with ``error_score="raise"`` the error goes on up.
    """
    configs = [dict(t.config) for t in trials]
    try:
        results = evaluate_candidates(
            [plan.to_params(c) for c in configs],
            more_results={"config": configs, "origin": [t.origin.source for t in trials]},
        )
    except Exception as error:
        state["last_error"] = error
        for trial in trials:
            study.tell(trial, error=error)
        if raise_errors:
            state["error"] = error
            raise
        return
    state["evaluated"] += len(trials)
    scores = results[_score_key(results, refit)][-len(trials):]
    for trial, score in zip(trials, scores):
        study.tell(trial, float(score))  # NaN (error_score) fails the trial


def _plain(value: Any) -> Any:
    """Mappings (read-only ones too) as dicts, recursively, so that they pickle."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value
