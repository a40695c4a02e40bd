"""Run every method on every held-out task with the same seeds and budget."""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from jupyter_metahpo.experience import PastStudy

from .cache import RunCache, past_digest, run_key, task_digest
from .methods import PoolMethod
from .pool import PoolTask, extend_curve, normalised_regret_curve, trials_to_reach
from .split import duplicate_groups, meta_train


@dataclass(frozen=True)
class RunResult:
    """One method on one held-out task with one seed."""

    method: str
    task: str
    family: str
    seed: int
    curve: tuple[float, ...]  # normalised regret after each trial, padded to the budget
    suggest_seconds: tuple[float, ...]
    trials_to_001: int | None
    n_past: int
    error: str | None = None


def run_one(method: PoolMethod, task: PoolTask, past: Sequence[PastStudy], budget: int, seed: int) -> RunResult:
    """Run a method once; an error is recorded (and shown in the report) instead of stopping the run."""
    try:
        with warnings.catch_warnings():
            # Numerical notes of GP fits (jitter added, convergence) would bury the progress lines.
            warnings.simplefilter("ignore")
            run = method.run(task, past, budget, seed)
    except Exception as exc:  # noqa: BLE001 - one broken method must not end a benchmark of hours
        return RunResult(method.name, task.key, task.family, seed, tuple(np.ones(budget)), (), None, len(past), f"{type(exc).__name__}: {exc}")
    if len(set(run.chosen)) != len(run.chosen):
        raise AssertionError(f"{method.name} chose a pool point twice on {task.key}")
    curve = extend_curve(normalised_regret_curve(task.scores, run.chosen), budget)
    return RunResult(
        method.name, task.key, task.family, seed, tuple(float(x) for x in curve),
        tuple(run.suggest_seconds), trials_to_reach(curve), len(past),
    )


def _task_jobs(
    task: PoolTask,
    past: list[PastStudy],
    methods: Sequence[PoolMethod],
    seeds: Sequence[int],
    budget: int,
    cached: dict[tuple[str, int], tuple[str, dict[str, Any] | None]] | None = None,
) -> tuple[list[RunResult], list[tuple[str, dict[str, Any]]]]:
    """Every method on one task; runs stored in ``cached`` ((method, seed) -> (key, stored or None)) are reused.

    Returns the results and the new runs to store, as ``(key, fields)`` pairs.
    """
    cached = cached or {}
    out: list[RunResult] = []
    fresh: list[tuple[str, dict[str, Any]]] = []
    for method in methods:
        if not method.applies(task):
            continue
        method_seeds = seeds if method.stochastic else seeds[:1]
        for seed in method_seeds:
            key, stored = cached.get((method.name, seed), (None, None))
            if stored is not None:
                result = RunResult(**{**stored, "curve": tuple(stored["curve"]), "suggest_seconds": tuple(stored["suggest_seconds"])})
            else:
                result = run_one(method, task, past, budget, seed)
                if key is not None:
                    fresh.append((key, dict(result.__dict__)))
            if not method.stochastic:  # one run stands for every seed
                out.extend(RunResult(**{**result.__dict__, "seed": s}) for s in seeds)
            else:
                out.append(result)
    return out, fresh


def _cached_runs(
    task: PoolTask, past: Sequence[PastStudy], methods: Sequence[PoolMethod], seeds: Sequence[int], budget: int, cache: RunCache
) -> dict[tuple[str, int], tuple[str, dict[str, Any] | None]]:
    """(method, seed) -> (its cache key, the stored result or None) for one held-out task.

    The past studies enter the key only as far as they are usable in the task's space,
    and only for methods that learn from them, so a growing prior reruns no more than
    what it can change.
    """
    from jupyter_metahpo.meta.compat import transfer_studies

    usable = [t.study for t in transfer_studies(past, task.space)[0]]
    task_hash, past_hash = task_digest(task), past_digest(usable)
    out = {}
    for method in methods:
        for seed in seeds:
            key = run_key(method.identity, task, seed, budget, task_hash, past_hash if method.uses_past else "no-past")
            out[(method.name, seed)] = (key, cache.get(key))
    return out


def leave_one_out_jobs(
    tasks: Sequence[PoolTask], studies: Sequence[PastStudy], within_family: bool = False
) -> list[tuple[PoolTask, list[PastStudy]]]:
    """Each held-out task with the past studies its meta-models may see.

    ``within_family``: only past studies of the held-out task's own family
    (``extra["family"]``), for benchmarks whose families are separate worlds.
    """
    groups = duplicate_groups(studies)
    jobs = []
    for task in tasks:
        group = groups.get(task.dataset, task.group)
        past = meta_train(group, studies, groups)
        if within_family:
            past = [s for s in past if (s.extra or {}).get("family") == task.family]
        jobs.append((task, past))
    return jobs


def run_benchmark(
    tasks: Sequence[PoolTask],
    studies: Sequence[PastStudy],
    methods_factory: Callable[[], Sequence[PoolMethod]],
    seeds: Sequence[int],
    budget: int,
    jobs: int = 1,
    progress: Callable[[str], None] = print,
    within_family: bool = False,
    on_task: Callable[[list[RunResult]], None] | None = None,
    cache: RunCache | None = None,
) -> list[RunResult]:
    """Every method on every task: in this process, or over ``jobs`` worker processes (one task each).

    ``on_task`` receives the results so far after each held-out task (to save
    partial results of a long run); ``within_family`` is :func:`leave_one_out_jobs`'s.
    With a ``cache``, runs already in it are reused and each task's new runs are
    stored as soon as the task is done (see :mod:`.cache`).
    """
    work = leave_one_out_jobs(tasks, studies, within_family)
    methods = methods_factory()
    cached = [
        _cached_runs(task, past, methods, seeds, budget, cache) if cache is not None else {}
        for task, past in work
    ]
    results: list[RunResult] = []
    began = time.perf_counter()

    def finished(i: int, task_results: list[RunResult], fresh: list[tuple[str, dict[str, Any]]]) -> None:
        results.extend(task_results)
        if cache is not None:
            cache.add(fresh)
        task, past = work[i]
        reused = sum(stored is not None for _, stored in cached[i].values())
        note = f"; {reused} runs reused" if reused else ""
        progress(f"[{i + 1}/{len(work)}] {task.key}: {len(past)} past studies{note} ({time.perf_counter() - began:.0f} s)")
        if on_task is not None:
            on_task(list(results))

    if jobs <= 1:
        for i, (task, past) in enumerate(work):
            finished(i, *_task_jobs(task, past, methods, seeds, budget, cached[i]))
        return results
    # Past studies hold read-only mappings that do not pickle: forked workers inherit
    # the work list instead and receive only its index.
    _FORKED["work"] = work
    _FORKED["cached"] = cached
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_limit_threads) as pool:
        futures = [pool.submit(_worker, methods_factory, i, seeds, budget) for i in range(len(work))]
        for i, future in enumerate(futures):
            finished(i, *future.result())
    _FORKED.clear()
    return results


#: What forked workers read (set just before the pool starts).
_FORKED: dict[str, Any] = {}


def _limit_threads() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _worker(methods_factory, index, seeds, budget):
    task, past = _FORKED["work"][index]
    return _task_jobs(task, past, methods_factory(), seeds, budget, _FORKED["cached"][index])
