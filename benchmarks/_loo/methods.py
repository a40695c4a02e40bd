"""Every method of the benchmark behind one interface: choose ``budget`` pool points in order.

A method gets the held-out :class:`~.pool.PoolTask`, the past studies it may learn
from (never the held-out data, see :mod:`.split`), a budget and a seed, and returns
a :class:`PoolRun`: the pool indices it chose, in order, and the seconds each
suggestion took. Methods that propose arbitrary configurations are snapped to the
nearest unused pool point; the value they are told is that point's value.

Every method that proposes configurations is told the snapped point's value for the
configuration it proposed (the usual treatment of continuous optimisers on pool
benchmarks; told the snapped point instead, a sampler that does not find its own
proposal among the trials may propose it again, which the pool would turn into a
nearest-neighbour walk that no real study makes). Peers: random search (random
unused pool points), Optuna TPE and
GPSampler, FLAML CFO (its ask/tell ``Searcher``, started from the task's default
configuration as FLAML's AutoML starts it, or from a random point), FLAML's zero-shot
portfolios (``flaml/default/<learner>/<task>.json``, read directly because
``flaml.default`` needs FLAML's AutoML extras) followed by CFO started from them,
and a pure greedy portfolio. Ours: the default sampler with warm start off (cold
GP: a Sobol design, then our GP sampler), and the default sampler warm-started by
each strategy through the same sampler ``tune`` uses.
"""

from __future__ import annotations

import abc
import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.samplers.base import History, Sampler
from jupyter_metahpo.space import Choice, IntRange, LogUniform, SearchSpace, Uniform
from jupyter_metahpo.trial import FrozenTrial, TrialState

from .pool import PoolSnapper, PoolTask


@dataclass
class PoolRun:
    """The pool indices a method chose, in order, and the seconds each suggestion took."""

    chosen: list[int] = field(default_factory=list)
    suggest_seconds: list[float] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


class PoolMethod(abc.ABC):
    """A method compared in the benchmark."""

    name: str = "method"
    #: Whether its choices depend on the seed (deterministic methods run once per task).
    stochastic: bool = True
    #: Whether it learns from the past studies (if not, a grown prior does not make it run again).
    uses_past: bool = True
    #: Bumped when the method's choices change, so that stored runs of the old code are not reused.
    version: int = 1

    @property
    def identity(self) -> str:
        """The name its stored runs are kept under: the name, plus the version once bumped."""
        return self.name if self.version == 1 else f"{self.name}@{self.version}"

    def applies(self, task: PoolTask) -> bool:
        return True

    @abc.abstractmethod
    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        """Choose ``min(budget, pool size)`` distinct pool points."""


def task_description(task: PoolTask):
    """How the held-out task presents itself to a strategy: its meta-features, not its name.

    A user's new dataset has a name of its own, so the held-out task is described by
    its meta-features and fingerprint alone.
    """
    from jupyter_metahpo.meta.strategies import TaskDescription

    study = task.study
    return TaskDescription(None, study.meta_features, study.meta_feature_set, study.data_fingerprint)


# ---------------------------------------------------------------- our samplers on a pool


def run_sampler(sampler: Sampler, task: PoolTask, budget: int) -> PoolRun:
    """Drive a jupyter_metahpo ``Sampler`` over the pool as the study loop would, one trial at a time."""
    snapper = PoolSnapper(task.space, task.configs)
    trials: list[FrozenTrial] = []
    run = PoolRun()
    for number in range(min(budget, task.size)):
        history = History(task.space, task.study.direction, tuple(trials))
        began = time.perf_counter()
        suggestion = sampler.suggest(history, 1)[0]
        run.suggest_seconds.append(time.perf_counter() - began)
        index = snapper.snap(suggestion.config)
        run.chosen.append(index)
        run.sources.append(suggestion.origin.source)
        # Told the value of the snapped pool point for the configuration it proposed
        # (see the module docstring for why not the snapped configuration).
        trials.append(
            FrozenTrial(
                number=number,
                config=task.space.validate_config(suggestion.config),
                state=TrialState.COMPLETE,
                origin=suggestion.origin,
                value=float(task.study.values[index]),
            )
        )
    return run


class ColdGP(PoolMethod):
    """Our default sampler with warm start off: a Sobol design, then the GP sampler.

    Named "ours: cold BoTorch" until 2026-12-04 (the sampler never ran BoTorch); its
    stored runs are reused under the new name (``cache.RENAMED_METHODS``).
    """

    uses_past = False

    name = "ours: cold GP"

    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        from jupyter_metahpo.samplers.default import DefaultSampler

        return run_sampler(DefaultSampler(seed=seed), task, budget)


class OursWarm(PoolMethod):
    """Our default sampler warm-started by a strategy, built by ``make_sampler(strategy, task, past, seed)``."""

    def __init__(
        self,
        name: str,
        make_sampler: Callable[[Any, PoolTask, Sequence[PastStudy], int], Sampler],
        strategy: Any,
        version: int = 1,
    ) -> None:
        self.name = name
        self.make_sampler = make_sampler
        self.strategy = strategy
        self.version = version

    def applies(self, task: PoolTask) -> bool:
        # Without the held-out task's meta-features these strategies have nothing to
        # compare: nearest would rank past tasks by an arbitrary tie and neural falls
        # back to nearest. The default strategy has its own answer (the portfolio).
        return self.strategy not in NEEDS_META_FEATURES or task.study.meta_features is not None

    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        return run_sampler(self.make_sampler(self.strategy, task, past, seed), task, budget)


#: Strategies that cannot run on a task described by no meta-features.
NEEDS_META_FEATURES = frozenset({"nearest", "neural"})


# ---------------------------------------------------------------- simple peers


class RandomSearch(PoolMethod):
    """Random search: distinct pool points drawn uniformly (the pool is itself a space-filling sample)."""

    uses_past = False

    name = "random search"

    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        rng = np.random.default_rng(seed)
        order = rng.permutation(task.size)[:budget]
        return PoolRun([int(i) for i in order], [0.0] * len(order), ["random"] * len(order))


class ProposalList(PoolMethod):
    """A zero-shot list of configurations tried in order, then random unused pool points.

    ``propose(task, past, k)`` returns configurations; each is snapped to the pool.
    """

    stochastic = True  # the random fill after the list depends on the seed

    def __init__(
        self, name: str, propose: Callable[[PoolTask, Sequence[PastStudy], int], list[Mapping[str, Any]]], version: int = 1
    ) -> None:
        self.name = name
        self.propose = propose
        self.version = version

    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        budget = min(budget, task.size)
        snapper = PoolSnapper(task.space, task.configs)
        run = PoolRun()
        began = time.perf_counter()
        configs = self.propose(task, past, budget)[:budget]
        per = (time.perf_counter() - began) / max(len(configs), 1)
        for config in configs:
            run.chosen.append(snapper.snap(config))
            run.suggest_seconds.append(per)
            run.sources.append("list")
        rng = np.random.default_rng(seed)
        while len(run.chosen) < budget:
            run.chosen.append(snapper.random_unused(rng))
            run.suggest_seconds.append(0.0)
            run.sources.append("random fill")
        return run


def greedy_portfolio_list(task: PoolTask, past: Sequence[PastStudy], k: int) -> list[Mapping[str, Any]]:
    from jupyter_metahpo.meta.strategies import GreedyPortfolio

    return [p.config for p in GreedyPortfolio().propose(task_description(task), task.space, past, k)]


# ---------------------------------------------------------------- Optuna


def optuna_distributions(space: SearchSpace) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, Uniform):
            out[name] = FloatDistribution(p.low, p.high)
        elif isinstance(p, LogUniform):
            out[name] = FloatDistribution(p.low, p.high, log=True)
        elif isinstance(p, IntRange):
            out[name] = IntDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Choice):
            out[name] = CategoricalDistribution(list(p.options))
        else:  # pragma: no cover - every parameter type is listed above
            raise TypeError(f"no Optuna distribution for {p!r}")
    return out


class OptunaMethod(PoolMethod):
    """Optuna's TPE or GP sampler through ask/tell, each asked configuration snapped to the pool."""

    uses_past = False

    def __init__(self, kind: str) -> None:
        if kind not in ("tpe", "gp"):
            raise ValueError(f"`kind` must be 'tpe' or 'gp', but got {kind!r}.")
        self.kind = kind
        self.name = "Optuna TPE" if kind == "tpe" else "Optuna GPSampler"

    def _sampler(self, seed: int):
        import optuna

        if self.kind == "tpe":
            return optuna.samplers.TPESampler(seed=seed)
        return optuna.samplers.GPSampler(seed=seed)

    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        distributions = optuna_distributions(task.space)
        study = optuna.create_study(direction="maximize", sampler=self._sampler(seed))
        snapper = PoolSnapper(task.space, task.configs)
        scores = task.scores
        run = PoolRun()
        for _ in range(min(budget, task.size)):
            began = time.perf_counter()
            trial = study.ask(distributions)
            run.suggest_seconds.append(time.perf_counter() - began)
            index = snapper.snap(dict(trial.params))
            study.tell(trial, float(scores[index]))
            run.chosen.append(index)
            run.sources.append(self.kind)
        return run


# ---------------------------------------------------------------- FLAML


def flaml_space(space: SearchSpace) -> dict[str, Any]:
    from flaml import tune

    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, Uniform):
            out[name] = tune.uniform(p.low, p.high)
        elif isinstance(p, LogUniform):
            out[name] = tune.loguniform(p.low, p.high)
        elif isinstance(p, IntRange):
            out[name] = (tune.lograndint if p.log else tune.randint)(p.low, p.high + 1)  # upper bound excluded
        elif isinstance(p, Choice):
            out[name] = tune.choice(list(p.options))
    return out


def _from_flaml(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, p in space.items():
        value = config[name]
        if isinstance(p, Choice):
            out[name] = p.options[p.index(value)] if p.contains(value) else p.options[0]
        else:
            out[name] = p.clip(value)  # type: ignore[attr-defined]
    return out


def task_default_config(task: PoolTask) -> dict[str, Any] | None:
    """The held-out task's default configuration: the task's own, else its built-in space's; None if none."""
    default = task.info.get("default_config")
    if default:
        return task.space.validate_config(default)
    space_name = task.info.get("space_name")
    if space_name:
        from jupyter_metahpo.builtin_spaces import BUILTIN_SPACES

        if space_name in BUILTIN_SPACES:
            return dict(BUILTIN_SPACES[space_name].default_config)
    return None


def default_start_points(task: PoolTask) -> list[dict[str, Any]]:
    """CFO's first point: the task's default configuration ([] when it has none).

    FLAML starts CFO where its AutoML starts every learner, at the learner's default
    (``init_value``) configuration with the cost-driving parameters at their low-cost
    values; without a start, CFO draws one random point per seed, the same on every
    task, and a local search from a bad one can stay in a flat region for the whole
    budget (benchmarks/results/cfo_check.md).
    """
    default = task_default_config(task)
    return [default] if default else []


class FlamlCFO(PoolMethod):
    """FLAML's CFO through its ask/tell ``Searcher`` interface, started from ``start_points(task)``.

    By default CFO starts at the task's default configuration (see
    :func:`default_start_points`), with the task's ``cfo_low_cost`` values (if any) as
    its ``low_cost_partial_config``; ``start_points=None`` leaves the start to CFO (a
    random point). ``only_with_start`` makes the method apply only to tasks that have
    start points (FLAML's zero-shot portfolios exist for some families only).

    When CFO has nothing to suggest (it converged) a random unused pool point is
    taken instead, as a restart would. A proposal whose nearest pool point was
    already used goes to the nearest unused one (as for every method); looking the
    used point up for free instead was measured and changes nothing
    (benchmarks/results/cfo_check.md).
    """

    uses_past = False

    def __init__(
        self,
        name: str = "FLAML CFO",
        start_points: Callable[[PoolTask], list[dict[str, Any]]] | None = default_start_points,
        only_with_start: bool = False,
    ) -> None:
        self.name = name
        self.start_points = start_points
        self.only_with_start = only_with_start

    def applies(self, task: PoolTask) -> bool:
        return not self.only_with_start or bool(self.start_points and self.start_points(task))

    def run(self, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        logging.getLogger("flaml").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from flaml.tune.searcher.blendsearch import CFO

        points = (self.start_points(task) if self.start_points else None) or None
        low_cost = dict(task.info.get("cfo_low_cost") or {}) or None
        snapper = PoolSnapper(task.space, task.configs)
        rng = np.random.default_rng(seed)
        scores = task.scores
        run = PoolRun()
        n_trials = min(budget, task.size)
        known: float | None = None
        if points is not None and len(points) > 1:
            # A zero-shot list is tried in order, as flaml.default's starting points are, and
            # CFO goes on from the best of them: CFO itself fails with more than one
            # points_to_evaluate (KeyError in flow2.suggest, FLAML 2.x).
            tried = []
            for config in points[:n_trials]:
                run.suggest_seconds.append(0.0)
                index = snapper.snap(config)
                run.chosen.append(index)
                run.sources.append("zero-shot")
                tried.append((float(scores[index]), config))
            known, best = max(tried, key=lambda item: item[0])
            points = [best]
        searcher = CFO(
            metric="score", mode="max", space=flaml_space(task.space), seed=seed,
            points_to_evaluate=points, low_cost_partial_config=low_cost,
        )
        number = 0
        while len(run.chosen) < n_trials:
            trial_id = f"t{number}"
            number += 1
            began = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                config = searcher.suggest(trial_id)
            if known is not None and config is not None:
                # CFO's start is the best zero-shot point, already evaluated: tell it, free.
                searcher.on_trial_complete(trial_id, {"score": known, "config": config})
                known = None
                continue
            run.suggest_seconds.append(time.perf_counter() - began)
            if config is None:
                index = snapper.random_unused(rng)
                run.sources.append("random restart")
            else:
                index = snapper.snap(_from_flaml(task.space, config))
                run.sources.append("cfo")
                searcher.on_trial_complete(trial_id, {"score": float(scores[index]), "config": config})
            run.chosen.append(index)
        return run


#: Our families whose estimator has a FLAML zero-shot portfolio, and FLAML's learner name.
FLAML_LEARNERS = {"random_forest": "rf", "hgb": "lgbm"}


def _flaml_portfolio(learner: str, flaml_task: str) -> dict[str, Any]:
    import flaml

    path = Path(flaml.__file__).parent / "default" / learner / f"{flaml_task}.json"
    return json.loads(path.read_text())


def _flaml_task(task: PoolTask) -> str | None:
    info = task.info
    if info.get("task") == "regression":
        return "regression"
    n_classes = info.get("n_classes")
    if n_classes is None:
        return None
    return "binary" if int(n_classes) <= 2 else "multiclass"


def flaml_zero_shot_configs(task: PoolTask) -> list[dict[str, Any]]:
    """FLAML's zero-shot configurations for the task, mapped into our space ([] where none applies).

    Follows ``flaml.default.suggest.suggest_config``: FLAML's four meta-features
    (rows, features, classes, share of numeric features), scaled by the portfolio's
    preprocessing, pick the nearest neighbour, whose ordered choices are the configs.
    An empty FLAML config means the learner's defaults: our space's default config.
    """
    learner = FLAML_LEARNERS.get(task.family)
    flaml_task = _flaml_task(task)
    info = task.info
    if learner is None or flaml_task is None or not info.get("n_rows") or not info.get("n_features"):
        return []
    predictor = _flaml_portfolio(learner, flaml_task)
    values = {
        "NumberOfInstances": float(info["n_rows"]),
        "NumberOfFeatures": float(info["n_features"]),
        "NumberOfClasses": float(info.get("n_classes") or 0) if flaml_task != "regression" else 0.0,
        "PercentageOfNumericFeatures": float(info.get("n_numeric", info["n_features"])) / float(info["n_features"]),
    }
    feature = np.array([values[n] for n in predictor["meta_feature_names"]])
    prep = predictor["preprocessing"]
    feature = (feature - np.array(prep["center"])) / np.array(prep["scale"])
    neighbours = np.array([n["features"] for n in predictor["neighbors"]])
    nearest = int(np.argmin(((neighbours - feature[None, :]) ** 2).sum(axis=1)))
    choice = predictor["neighbors"][nearest]["choice"]
    out = []
    for i in choice:
        hyper = predictor["portfolio"][i].get("hyperparameters") or {}
        out.append(_map_flaml_config(task, learner, hyper))
    return out


def _map_flaml_config(task: PoolTask, learner: str, hyper: Mapping[str, Any]) -> dict[str, Any]:
    """A FLAML learner config in our family's space; settings our space lacks keep our defaults."""
    from jupyter_metahpo.builtin_spaces import get_builtin_space

    space_name = task.info.get("space_name")
    base = dict(get_builtin_space(space_name).default_config) if space_name else dict(task.configs[0])
    if learner == "rf":
        renames = {"n_estimators": "n_estimators", "max_features": "max_features"}
    else:  # lgbm -> HistGradientBoosting
        renames = {
            "n_estimators": "max_iter",
            "num_leaves": "max_leaf_nodes",
            "min_child_samples": "min_samples_leaf",
            "learning_rate": "learning_rate",
            "reg_lambda": "l2_regularization",
            "colsample_bytree": "max_features",
        }
    for theirs, ours in renames.items():
        if theirs in hyper and ours in task.space:
            p = task.space[ours]
            base[ours] = p.clip(hyper[theirs])  # type: ignore[attr-defined]
    return task.space.validate_config(base)


def flaml_start_points(task: PoolTask) -> list[dict[str, Any]]:
    return flaml_zero_shot_configs(task)


def tpe_maximise(score, space, budget: int, seed: int, failures: tuple[type[BaseException], ...] = (Exception,)):
    """Optuna TPE maximising ``score(config)`` for ``budget`` trials by ask/tell, on real evaluations.

    Returns each trial's value (``None`` where ``score`` raised one of ``failures``: the
    trial is told as failed) and the seconds each ``ask`` took.
    """
    import time

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    distributions = optuna_distributions(space)
    values, seconds = [], []
    for _ in range(budget):
        began = time.perf_counter()
        trial = study.ask(distributions)
        seconds.append(time.perf_counter() - began)
        try:
            value = score(trial.params)
        except failures:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            values.append(None)
            continue
        study.tell(trial, value)
        values.append(value)
    return values, seconds
