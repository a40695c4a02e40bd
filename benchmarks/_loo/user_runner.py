"""Run every method on user-written spaces over held-out prior pools (see :mod:`.user_spaces`).

A :class:`UserTask` is one case of one held-out pool: the methods search the *user's*
space, each configuration they propose is mapped into the built-in space by the
case's transform and snapped to the nearest unused pool point there (as
:func:`.methods.run_sampler` does for the built-in space), and the method is told that
point's value for the configuration it proposed. Regret is the harness's, normalised
by the pool's best and worst.

Our warm start sees what ``tune`` sees for a notebook cell: the held-out task's
meta-features and task type, the cell's source read by ``describe_objective``, and no
study handed over (``explicit`` empty). Case ``f`` is a toy function: no data, so no
meta-features.

Reference runs on the built-in space itself (the exact-space warm start, the cold
start and random search) are the harness's own methods on the same pool.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.base import TaskDescription
from jupyter_metahpo.meta.relatedness import StudyContext
from jupyter_metahpo.samplers.base import History, Sampler
from jupyter_metahpo.trial import FrozenTrial, TrialState

from .cache import RESULTS_VERSION, RunCache, past_digest, task_digest
from .methods import ColdGP, OursWarm, PoolMethod, PoolRun, RandomSearch, optuna_distributions, task_description
from .pool import PoolSnapper, PoolTask, extend_curve, normalised_regret_curve, trials_to_reach
from .runner import RunResult, leave_one_out_jobs, run_one
from .user_spaces import CASES_VERSION, UserCase, toy_case_for, toy_pool

__all__ = [
    "UserTask",
    "UserMethod",
    "user_tasks",
    "user_methods",
    "reference_methods",
    "diagnose",
    "run_user_benchmark",
    "REFERENCE",
]

#: The task-key prefix of the reference runs on the built-in space.
REFERENCE = "ref"


@dataclass(frozen=True)
class UserTask:
    """One case on one held-out pool: the user's space, the pool that scores it, what ``tune`` knows."""

    case: UserCase
    pool: PoolTask  # scores the user's configurations (the held-out prior pool; case f: its toy pool)
    held_out: PoolTask  # the held-out prior pool (its meta-features, its task type)

    @property
    def key(self) -> str:
        return f"{self.case.case}/{self.held_out.key}"

    @property
    def family(self) -> str:
        return self.case.family

    @property
    def n_features(self) -> float:
        """The held-out dataset's columns (what ``"sqrt"`` and ``"log2"`` count), from its meta-features."""
        features = self.held_out.study.meta_features or {}
        if "log_n_columns" in features:
            return float(np.exp(float(features["log_n_columns"])))
        return float(self.held_out.info.get("n_features") or 1)

    def to_pool(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The pool-space configuration that ``config`` (in the user's space) is scored as."""
        if self.case.synthetic:
            return self.case.space.validate_config(config)
        return self.case.to_builtin(config, self.n_features)

    def description(self) -> TaskDescription:
        """The task as the warm start sees it: meta-features of the data, none for a toy function."""
        return TaskDescription() if self.case.synthetic else task_description(self.held_out)

    def context(self) -> StudyContext:
        """What ``tune`` knows of a notebook cell's study: data, task type, the cell's source, nothing handed over."""
        from jupyter_metahpo.meta.source import describe_objective

        source = describe_objective(self.case.cell, self.case.space.names)
        task_type = None if self.case.synthetic else self.held_out.info.get("task")
        return StudyContext(task=self.description(), source=source, task_type=task_type, explicit=frozenset())

    def experience(self, past: Sequence[PastStudy]):
        from jupyter_metahpo.pipeline import Experience

        return Experience.of(self.case.space, past, self.context())


def user_tasks(held_out: PoolTask, cases: Mapping[str, UserCase]) -> list[UserTask]:
    """The cases of ``held_out``'s family on it (case f on a toy pool of its own)."""
    out = []
    for case in cases.values():
        if case.synthetic:
            out.append(UserTask(toy_case_for(case, held_out.key), toy_pool(case, held_out), held_out))
        else:
            out.append(UserTask(case, held_out, held_out))
    return out


# Methods on the user's space ----------------------------------------------------------


Ask = Callable[[], Mapping[str, Any]]
Tell = Callable[[Mapping[str, Any], float], None]


class UserMethod:
    """A method that searches the user's space; ``ask``/``tell`` come from :meth:`start`."""

    name = "method"
    uses_past = False
    version = 1

    #: Case letter -> the version of this method's behaviour on that case, where a change altered some cases only.
    case_versions: Mapping[str, int] = {}

    @property
    def identity(self) -> str:
        return self._identity(self.version)

    def identity_for(self, case: str, family: str | None = None) -> str:
        """The identity of this method's runs on ``case`` of ``family`` (its cache key's method part): a version
        given to ``"case/family"`` (one family's cell changed), else to ``case``, else the method's."""
        version = self.case_versions.get(f"{case}/{family}", self.case_versions.get(case, self.version))
        return self._identity(version)

    def _identity(self, version: int) -> str:
        return self.name if version == 1 else f"{self.name}@{version}"

    def start(self, task: UserTask, past: Sequence[PastStudy], seed: int) -> tuple[Ask, Tell]:
        """``ask()`` proposes a configuration of the user's space; ``tell(config, value)`` reports its score."""
        raise NotImplementedError

    def run(self, task: UserTask, past: Sequence[PastStudy], budget: int, seed: int) -> PoolRun:
        """Choose ``min(budget, pool size)`` distinct pool points, each the nearest unused one to a proposal."""
        ask, tell = self.start(task, past, seed)
        snapper = PoolSnapper(task.pool.space, task.pool.configs)
        run = PoolRun()
        for _ in range(min(budget, task.pool.size)):
            began = time.perf_counter()
            config = ask()
            run.suggest_seconds.append(time.perf_counter() - began)
            index = snapper.snap(task.to_pool(config))
            run.chosen.append(index)
            run.sources.append(self.name)
            # Told the snapped point's value for the configuration it proposed (see .methods).
            tell(config, float(task.pool.study.values[index]))
        return run


class _SamplerMethod(UserMethod):
    """One of our samplers, driven as the study loop drives it (one trial at a time)."""

    def sampler(self, task: UserTask, past: Sequence[PastStudy], seed: int) -> Sampler:
        raise NotImplementedError

    def start(self, task, past, seed):
        sampler = self.sampler(task, past, seed)
        space, direction = task.case.space, task.pool.study.direction
        trials: list[FrozenTrial] = []
        pending: list[Any] = []

        def ask():
            suggestion = sampler.suggest(History(space, direction, tuple(trials)), 1)[0]
            pending.append(suggestion)
            return suggestion.config

        def tell(config, value):
            suggestion = pending.pop()
            trials.append(FrozenTrial(number=len(trials), config=space.validate_config(config),
                                      state=TrialState.COMPLETE, origin=suggestion.origin, value=value))

        return ask, tell


def run_cell_imports(cell: str) -> None:
    """Run the cell's top-level import statements (only those): what reading its estimators' defaults needs."""
    import ast

    imports = [node for node in ast.parse(cell).body if isinstance(node, (ast.Import, ast.ImportFrom))]
    exec(compile(ast.Module(body=imports, type_ignores=[]), "<cell imports>", "exec"), {})  # noqa: S102


class UserOurs(_SamplerMethod):
    """Our default: the warm start and transfer refinement ``tune`` builds for the user's cell."""

    name = "ours: default"
    uses_past = True
    # 2: past trials kept near the values the cell fixes (compat.near_fixed_settings); 3: also values clipped
    # within one range-width, estimator defaults for unseen parameters, the task-type rule on task-specific ones;
    # 4, 5: past scores predicted at the fixed values (meta/slicing.py; 5 with 48 trials per study choosing the
    # model's hyperparameters); 6: a choice of numbers in order modelled by position (Choice.ordinal)
    version = 6
    # 7 on case c: a least residual scale for the transfer refinement when the past was sliced
    # (transfer.SLICED_MIN_RESIDUAL_SCALE); 7 on case e: a past share of the features far from every option's share
    # has no counterpart (matching.SHARE_OPTION_TOLERANCE). The other cases' cells fix nothing the past varied and
    # turn no share into options, so their runs are the same (checked run by run:
    # benchmarks/user_spaces_unchanged.py). 7 on case d of the torch MLP: its cell chooses its activation through a
    # table, now read (meta/torch_choices.py), and the prior's configurations run in "relu", as the prior ran them.
    case_versions = {"c": 7, "e": 7, "d/torch_mlp": 7}

    def sampler(self, task, past, seed):
        from jupyter_metahpo.pipeline import TaskPlan, build_sampler

        run_cell_imports(task.case.cell)  # as in the notebook, where the cell's imports ran before tune read it
        plan = TaskPlan(task.description(), None, None, "default", {})
        return build_sampler(plan, task.case.space, task.experience(past), seed)


class UserCold(_SamplerMethod):
    """Our default sampler with the warm start off (``strategy="none"``): a Sobol design, then the GP."""

    name = "ours: cold"
    # 2: a choice of numbers in order modelled by position (Choice.ordinal)
    version = 2

    def sampler(self, task, past, seed):
        from jupyter_metahpo.samplers.default import DefaultSampler

        return DefaultSampler(seed=seed)


class UserRandom(UserMethod):
    """Random search over the user's space (what a user's own random search would draw)."""

    name = "random search"

    def start(self, task, past, seed):
        rng = np.random.default_rng(seed)
        return (lambda: task.case.space.sample(rng)), (lambda config, value: None)


class UserTPE(UserMethod):
    """Optuna's TPE over the user's space, through ask/tell."""

    name = "Optuna TPE"

    def start(self, task, past, seed):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        distributions = optuna_distributions(task.case.space)
        asked: list[Any] = []

        def ask():
            asked.append(study.ask(distributions))
            return dict(asked[-1].params)

        def tell(config, value):
            study.tell(asked.pop(), value)

        return ask, tell


def user_methods() -> list[UserMethod]:
    return [UserOurs(), UserCold(), UserRandom(), UserTPE()]


#: Reference methods on the built-in space: name in the tables -> the harness's method.
def reference_methods() -> dict[str, PoolMethod]:
    from benchmarks.bench_prior_loo import STRATEGY_VERSIONS, ours_sampler

    return {
        "exact space: ours default": OursWarm(
            "ours: default", ours_sampler, "default", version=STRATEGY_VERSIONS["default"]),
        "exact space: ours cold": ColdGP(),
        "exact space: random search": RandomSearch(),
    }


# Running ------------------------------------------------------------------------------


def _run(
    method: Any, task: Any, past: Sequence[PastStudy], budget: int, seed: int, name: str, key: str, family: str
) -> RunResult:
    """One run as a :class:`RunResult` under ``name`` and task ``key`` (an error is recorded, as the harness does)."""
    if isinstance(method, PoolMethod):
        result = run_one(method, task, past, budget, seed)
        return RunResult(**{**result.__dict__, "method": name, "task": key, "family": family})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = method.run(task, past, budget, seed)
    except Exception as exc:  # noqa: BLE001 - one failed run must not end the benchmark
        error = f"{type(exc).__name__}: {exc}"
        return RunResult(name, key, family, seed, tuple(np.ones(budget)), (), None, len(past), error)
    if len(set(run.chosen)) != len(run.chosen):
        raise AssertionError(f"{name} chose a pool point twice on {key}")
    curve = extend_curve(normalised_regret_curve(task.pool.scores, run.chosen), budget)
    return RunResult(name, key, family, seed, tuple(float(x) for x in curve), tuple(run.suggest_seconds),
                     trials_to_reach(curve), len(past))


def _digest(payload: Any) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_key(
    case: str, identity: str, key: str, seed: int, budget: int, pool_hash: str, past_hash: str, case_hash: str
) -> str:
    return (f"v{RESULTS_VERSION}|user-spaces-v{CASES_VERSION}|{case}|{identity}|{key}|seed={seed}|budget={budget}|"
            f"{pool_hash}|{past_hash}|{case_hash}")


@dataclass(frozen=True)
class _Job:
    """One run to make: which method on which task, and its cache key."""

    case: str  # a case letter, or REFERENCE
    name: str
    key: str  # the task key in the results
    seed: int
    cache_key: str


def _jobs_for(held_out: PoolTask, past: Sequence[PastStudy], cases: Mapping[str, UserCase], seeds: Sequence[int],
              budget: int, references: bool) -> list[_Job]:
    past_hash = past_digest(past)
    jobs = []
    for task in user_tasks(held_out, cases):
        pool_hash, case_hash = task_digest(task.pool), _digest([task.case.space.to_json(), task.case.cell])
        for method in user_methods():
            for seed in seeds:
                identity = method.identity_for(task.case.case, task.case.family)
                key = run_key(task.case.case, identity, task.key, seed, budget, pool_hash,
                              past_hash if method.uses_past else "no-past", case_hash)
                jobs.append(_Job(task.case.case, method.name, task.key, seed, key))
    if references:
        pool_hash = task_digest(held_out)
        for name, method in reference_methods().items():
            for seed in seeds:
                key = run_key(REFERENCE, method.identity, held_out.key, seed, budget, pool_hash,
                              past_hash if method.uses_past else "no-past", "-")
                jobs.append(_Job(REFERENCE, name, f"{REFERENCE}/{held_out.key}", seed, key))
    return jobs


def diagnose(task: UserTask, past: Sequence[PastStudy]) -> dict[str, Any]:
    """What the compatibility pass made of one case (uncached: it also times ``Experience.of``)."""
    began = time.perf_counter()
    experience = task.experience(past)
    seconds = time.perf_counter() - began
    report = experience.report
    links: Counter = Counter()
    spaces: Counter = Counter()
    filled: set[str] = set()
    for moved in experience.usable:
        spaces[str(moved.study.extra.get("space_name", "?"))] += 1
        filled.update(moved.filled)
        if moved.match is None:
            links["all by name"] += 1
        for link in moved.match.links if moved.match is not None else ():
            conversion = f", {link.conversion}" if link.conversion else ""
            links[f"{link.new}<-{'+'.join(link.pasts)} ({link.how}{conversion})"] += 1
    outside = [entry["outside"] for entry in report.sources.values()]
    space_of = {s.study_id: str(s.extra.get("space_name", "?")) for s in past}
    unrelated_spaces = Counter(space_of.get(sid, "?") for sid in report.unrelated)
    return {
        "case": task.case.case, "family": task.family, "task": task.key, "seconds": seconds, "n_past": len(past),
        "n_sources": len(experience.usable), "source_spaces": dict(spaces), "links": dict(links),
        "filled": sorted(filled), "outside_mean": float(np.mean(outside)) if outside else None,
        "clipped_trials": report.clipped_trials, "dropped_trials": report.dropped_trials,
        "dropped": dict(report.dropped), "n_unrelated": len(report.unrelated),
        "unrelated_spaces": dict(unrelated_spaces),
        "unrelated_example": next(iter(report.unrelated.values()), None),
        "cold": experience.summary()["cold"],
    }


def _held_out_runs(held_out: PoolTask, past: list[PastStudy], cases: Mapping[str, UserCase], seeds: Sequence[int],
                   budget: int, stored: Mapping[str, dict[str, Any] | None], references: bool
                   ) -> tuple[list[RunResult], list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """Every run of one held-out pool (stored ones reused), the new runs to store, and the diagnostics."""
    tasks = {task.key: task for task in user_tasks(held_out, cases)}
    methods: dict[str, Any] = {m.name: m for m in user_methods()}
    refs = reference_methods() if references else {}
    results, fresh = [], []
    for job in _jobs_for(held_out, past, cases, seeds, budget, references):
        record = stored.get(job.cache_key)
        if record is not None:
            result = RunResult(**{**record, "curve": tuple(record["curve"]),
                                  "suggest_seconds": tuple(record["suggest_seconds"])})
        elif job.case == REFERENCE:
            result = _run(refs[job.name], held_out, past, budget, job.seed, job.name, job.key, held_out.family)
            fresh.append((job.cache_key, dict(result.__dict__)))
        else:
            task = tasks[job.key]
            result = _run(methods[job.name], task, past, budget, job.seed, job.name, job.key, task.family)
            fresh.append((job.cache_key, dict(result.__dict__)))
        results.append(result)
    diagnostics = [diagnose(task, past) for task in tasks.values()]
    return results, fresh, diagnostics


def run_user_benchmark(
    held_out: Sequence[PoolTask],
    studies: Sequence[PastStudy],
    cases_of: Callable[[str], Mapping[str, UserCase]],
    seeds: Sequence[int],
    budget: int,
    jobs: int = 1,
    cache: RunCache | None = None,
    references: bool = True,
    progress: Callable[[str], None] = print,
) -> tuple[list[RunResult], list[dict[str, Any]]]:
    """Every case of every held-out pool's family, every method, every seed; the runs and the diagnostics.

    Each held-out pool's methods see the prior's other datasets only (leave one task
    out, :func:`.runner.leave_one_out_jobs`). With a ``cache``, stored runs are reused
    and each pool's new runs are stored as soon as the pool is done.
    """
    work = leave_one_out_jobs(held_out, studies)
    stored = []
    for task, past in work:
        keys = [job.cache_key for job in _jobs_for(task, past, cases_of(task.family), seeds, budget, references)]
        stored.append({key: cache.get(key) if cache is not None else None for key in keys})
    results: list[RunResult] = []
    diagnostics: list[dict[str, Any]] = []
    began = time.perf_counter()

    def finished(i: int, runs, fresh, diagnosed) -> None:
        results.extend(runs)
        diagnostics.extend(diagnosed)
        if cache is not None:
            cache.add(fresh)
        reused = len(runs) - len(fresh)
        note = f"; {reused} runs reused" if reused and cache is not None else ""
        progress(f"[{i + 1}/{len(work)}] {work[i][0].key}: {len(work[i][1])} past studies{note} "
                 f"({time.perf_counter() - began:.0f} s)")

    if jobs <= 1:
        for i, (task, past) in enumerate(work):
            finished(i, *_held_out_runs(task, past, cases_of(task.family), seeds, budget, stored[i], references))
        return results, diagnostics
    # Past studies hold read-only mappings that do not pickle: forked workers inherit the work.
    _FORKED.update(work=work, stored=stored, cases_of=cases_of)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_limit_threads) as pool:
        futures = [pool.submit(_worker, i, seeds, budget, references) for i in range(len(work))]
        for i, future in enumerate(futures):
            finished(i, *future.result())
    _FORKED.clear()
    return results, diagnostics


_FORKED: dict[str, Any] = {}


def _limit_threads() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _worker(index: int, seeds: Sequence[int], budget: int, references: bool):
    task, past = _FORKED["work"][index]
    cases = _FORKED["cases_of"](task.family)
    return _held_out_runs(task, past, cases, seeds, budget, _FORKED["stored"][index], references)
