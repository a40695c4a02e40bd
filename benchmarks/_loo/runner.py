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


def _task_jobs(task: PoolTask, past: list[PastStudy], methods: Sequence[PoolMethod], seeds: Sequence[int], budget: int) -> list[RunResult]:
    out = []
    for method in methods:
        if not method.applies(task):
            continue
        method_seeds = seeds if method.stochastic else seeds[:1]
        for seed in method_seeds:
            result = run_one(method, task, past, budget, seed)
            if not method.stochastic:  # one run stands for every seed
                out.extend(RunResult(**{**result.__dict__, "seed": s}) for s in seeds)
            else:
                out.append(result)
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
) -> list[RunResult]:
    """Every method on every task: in this process, or over ``jobs`` worker processes (one task each).

    ``on_task`` receives the results so far after each held-out task (to save
    partial results of a long run); ``within_family`` is :func:`leave_one_out_jobs`'s.
    """
    work = leave_one_out_jobs(tasks, studies, within_family)
    results: list[RunResult] = []
    began = time.perf_counter()
    if jobs <= 1:
        methods = methods_factory()
        for i, (task, past) in enumerate(work):
            results.extend(_task_jobs(task, past, methods, seeds, budget))
            progress(f"[{i + 1}/{len(work)}] {task.key}: {len(past)} past studies ({time.perf_counter() - began:.0f} s)")
            if on_task is not None:
                on_task(list(results))
        return results
    # Past studies hold read-only mappings that do not pickle: forked workers inherit
    # the work list instead and receive only its index.
    _FORKED["work"] = work
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_limit_threads) as pool:
        futures = [pool.submit(_worker, methods_factory, i, seeds, budget) for i in range(len(work))]
        for i, ((task, past), future) in enumerate(zip(work, futures)):
            results.extend(future.result())
            progress(f"[{i + 1}/{len(work)}] {task.key}: {len(past)} past studies ({time.perf_counter() - began:.0f} s)")
            if on_task is not None:
                on_task(list(results))
    _FORKED.clear()
    return results


#: What forked workers read (set just before the pool starts).
_FORKED: dict[str, Any] = {}


def _limit_threads() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _worker(methods_factory, index, seeds, budget):
    task, past = _FORKED["work"][index]
    return _task_jobs(task, past, methods_factory(), seeds, budget)
