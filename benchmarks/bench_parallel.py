"""Parallel trials on Dask (issue 21): wall-clock speed-up, the sampler's share of it, and regret.

    nice -n 5 python benchmarks/bench_parallel.py                      # everything, ~50 min
    python benchmarks/bench_parallel.py --parts speedup --jobs 1 2     # a quick look
    nice -n 10 python benchmarks/bench_parallel.py --parts replay --pending-methods believer   # 5-10 min, no Dask

Four parts, each printed as a table and written to ``--out`` (benchmarks/results/parallel.md):

speed-up
    Sleep-bound objectives (``time.sleep(s)``, then Branin's value, so the sampler does
    its real work on real values): wall seconds of ``tune`` at 1, 2, 4 and 8 trials at
    once, side by side in the same run with Optuna's ``study.optimize(n_jobs=k)``
    (threads, its default TPE sampler). Ours at k = 1 is the sequential path
    (``n_jobs=1``, no Dask); at k > 1 the trials run on a ``LocalCluster`` of k worker
    processes started before the clock starts (``client=``), and the cluster's own
    start and close are timed apart (what ``tune(n_jobs=k)`` adds end to end). Speed-up
    is wall(k=1) / wall(k) of the same library; the goal is >= 0.8 k for 5 s objectives.
    Ours is tune's default for parallel trials (the kriging believer, ``BelieverSampler``
    with its defaults: the GP sampler's proposals); timed beside (``--speedup-methods``):
    the believer with its cheaper options on ("believer-cheap": hyperparameters kept for 4
    ended trials, a halved acquisition search while trials run) and BoTorch's qLogNEI
    (``DefaultSampler(refiner=QLogNEISampler(...))``).
    The sampler's share is the time the kernel spent in ``Study.ask_batch`` (every
    proposal, GP fits included) over the wall clock, twice: the wall seconds spent there,
    and the CPU seconds of the kernel's thread there (``time.thread_time``: the sampler's
    own time, which other jobs on a shared machine do not inflate; torch and BLAS run on
    that thread, limited to one); per batch, its median seconds. The load average is read
    before each run.
share
    The sampler's share alone, where it is largest (0.5 s trials at k = 4 and 8), over
    ``--share-repeats`` runs of each of tune's default (the believer, fitting at every
    proposal) and "believer-cheap" (its cheaper options on), alternating on one cluster:
    medians and ranges of both shares, the ``ask_batch`` calls and the hyperparameter fits
    (``fit_gp`` calls, counted).
regret
    Branin, Hartmann6 and the mixed space (benchmarks/_problems.py) at equal trial
    counts, read at half and at the whole budget (40, 60, 60 trials): ``tune`` sequential
    (GP sampler, analytic LogEI) against ``tune`` with ``--regret-jobs`` trials at once,
    each trial sleeping ``--regret-sleep`` seconds so that trials overlap, over
    ``--seeds`` seeds, with the ways of proposing while trials run (``--pending-methods``):
    the kriging believer (tune's default), the believer with its cheaper options on, and
    BoTorch's qLogNEI with the running trials as ``X_pending``; simple regret median [25%, 75%], mean, per-seed wins against the
    sequential study and a paired Wilcoxon test; then every seed's regret (to pool runs later).
replay
    The regret part without Dask (``--replay-seeds``, ``--replay-jobs``): :func:`replay_study` runs the loop
    a Dask study runs in the kernel, on a clock of its own (trial lengths drawn from the seed), so that it
    is deterministic and quick (a few seconds a study); then how many trials each parallel mode is behind
    the sequential study (:func:`lag_table`). ``benchmarks/parallel_variants.py`` screens other ways of
    proposing on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _command import command_line  # noqa: E402
from _problems import PROBLEMS, optuna_params  # noqa: E402

from jupyter_metahpo import tune  # noqa: E402
from jupyter_metahpo.samplers import DefaultSampler  # noqa: E402
from jupyter_metahpo.samplers.batch import PARALLEL_PROPOSALS, BelieverSampler, for_parallel_trials  # noqa: E402
from jupyter_metahpo.study import Study  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "parallel.md"


class SleepyProblem:
    """A test problem's objective that first sleeps ``seconds``: a trial bound by waiting, not CPU."""

    def __init__(self, problem: str, seconds: float) -> None:
        self.problem = problem
        self.seconds = seconds

    def __call__(self, **config: Any) -> float:
        time.sleep(self.seconds)
        return PROBLEMS[self.problem].objective(**config)


# Timing the sampler ----------------------------------------------------------------------------------


@dataclass
class AskTimes:
    """Wall and CPU seconds of every ``Study.ask_batch`` call (every proposal the kernel made) while installed.

    The CPU seconds are the calling thread's (``time.thread_time``): the kernel's thread, where the
    sampler runs (its torch and BLAS pools limited to one thread), and not the Dask client's threads.
    """

    batches: list[tuple[int, float]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def install(self) -> Callable[[], None]:
        original = Study.ask_batch

        @functools.wraps(original)
        def timed(study, n, **kwargs):
            began, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(study, n, **kwargs)
            finally:
                self.batches.append((n, time.perf_counter() - began))
                self.cpu.append(time.thread_time() - cpu)

        Study.ask_batch = timed
        return lambda: setattr(Study, "ask_batch", original)

    @property
    def total(self) -> float:
        return sum(seconds for _, seconds in self.batches)

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu)


def warm_up() -> None:
    """Import torch and BoTorch in the kernel before any clock starts (seconds, once per process)."""
    from jupyter_metahpo.samplers.batch import QLogNEISampler

    problem = PROBLEMS["branin"]
    result = tune(problem.objective, problem.space, 7, seed=99, store=False, strategy="none")
    history = Study(problem.space, trials=result.trials).history()
    QLogNEISampler(seed=0).suggest(history, 1)


def start_cluster(jobs: int) -> tuple[Any, Any]:
    """A LocalCluster as ``tune(n_jobs=k)`` starts one, its workers up and their imports done."""
    import distributed

    cluster = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=40, scheduler_kwargs={"allowed_failures": 0})
    client = distributed.Client(cluster)
    client.wait_for_workers(jobs)
    client.run(__import__, "jupyter_metahpo.parallel")
    return cluster, client


# The speed-up part -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedRun:
    library: str
    seconds_per_trial: float
    jobs: int
    trials: int
    wall: float
    sampler: float | None = None  # seconds in ask_batch
    batches: tuple[float, ...] = ()  # seconds of each ask_batch call
    sampler_cpu: float | None = None  # CPU seconds of the kernel's thread in ask_batch
    batch_cpu: tuple[float, ...] = ()  # CPU seconds of each ask_batch call
    load: float | None = None  # the 1-minute load average before the run
    cluster_start: float | None = None
    cluster_close: float | None = None


#: The parallel proposals measured, by the names tune's own choice takes (``for_parallel_trials``):
#: the kriging believer (the default: the GP sampler's) and BoTorch's qLogNEI with the running trials
#: pending; and "believer-cheap", the believer with its cheaper options on (hyperparameters kept for 4
#: ended trials or a quarter of the fit's, the acquisition search halved while trials run).
PENDING_METHODS = (*PARALLEL_PROPOSALS, "believer-cheap")
METHOD_TITLES = {"qlognei": "qLogNEI", "believer-cheap": "believer, cheaper options"}


def parallel_sampler(method: str, seed: int) -> DefaultSampler:
    """The default sampler with the named way of proposing while trials run, given to tune explicitly."""
    if method == "believer-cheap":
        return DefaultSampler(seed=seed, refiner=BelieverSampler(seed=seed, refit_after=4, running_raw_samples=512,
                                                                 running_restarts=4))
    return for_parallel_trials(None, seed, proposals=method)


def run_ours(seconds: float, jobs: int, trials: int, seed: int, client: Any, method: str = "believer") -> SpeedRun:
    objective = SleepyProblem("branin", seconds)
    times = AskTimes()
    load = os.getloadavg()[0]
    restore = times.install()
    try:
        began = time.perf_counter()
        if jobs == 1:
            result = tune(objective, PROBLEMS["branin"].space, trials, seed=seed, store=False, strategy="none")
        else:
            result = tune(objective, PROBLEMS["branin"].space, trials, seed=seed, store=False, strategy="none",
                          n_jobs=jobs, client=client, sampler=parallel_sampler(method, seed))
        wall = time.perf_counter() - began
    finally:
        restore()
    assert result.status == "finished" and len(result.trials) == trials, result.status
    library = "ours" if method == "believer" else f"ours-{method}"
    return SpeedRun(library, seconds, jobs, trials, wall, times.total, tuple(s for _, s in times.batches),
                    sampler_cpu=times.cpu_total, batch_cpu=tuple(times.cpu), load=load)


def run_optuna(seconds: float, jobs: int, trials: int, seed: int) -> SpeedRun:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = PROBLEMS["branin"].space
    objective = SleepyProblem("branin", seconds)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    began = time.perf_counter()
    study.optimize(lambda trial: objective(**optuna_params(trial, space)), n_trials=trials, n_jobs=jobs)
    return SpeedRun("optuna", seconds, jobs, trials, time.perf_counter() - began)


def speedup_part(durations: Sequence[float], jobs_list: Sequence[int], trials_for: Callable[[float], int],
                 seed: int, others: Sequence[str]) -> list[SpeedRun]:
    runs: list[SpeedRun] = []
    for jobs in jobs_list:
        client = cluster = None
        start = close = None
        if jobs > 1:
            began = time.perf_counter()
            cluster, client = start_cluster(jobs)
            start = time.perf_counter() - began
        try:
            for seconds in durations:
                trials = trials_for(seconds)
                ours = run_ours(seconds, jobs, trials, seed, client)
                runs.append(dataclasses.replace(ours, cluster_start=start))
                print(_speed_line(runs[-1]), flush=True)
                for method in others if jobs > 1 else ():
                    runs.append(run_ours(seconds, jobs, trials, seed, client, method=method))
                    print(_speed_line(runs[-1]), flush=True)
                runs.append(run_optuna(seconds, jobs, trials, seed))
                print(_speed_line(runs[-1]), flush=True)
        finally:
            if cluster is not None:
                began = time.perf_counter()
                client.close()
                cluster.close()
                close = time.perf_counter() - began
                for i, run in enumerate(runs):
                    if run.library == "ours" and run.jobs == jobs:
                        runs[i] = dataclasses.replace(run, cluster_close=close)
    return runs


def _speed_line(run: SpeedRun) -> str:
    share = "" if run.sampler is None else (f"  sampler {run.sampler:.2f} s ({run.sampler / run.wall:.1%}), "
                                            f"CPU {run.sampler_cpu:.2f} s ({run.sampler_cpu / run.wall:.1%}), load {run.load:.1f}")
    return f"  {run.library:22s} {run.seconds_per_trial:>4g} s x {run.trials:2d} trials, k={run.jobs}: {run.wall:6.1f} s{share}"


def speedup_table(runs: list[SpeedRun], others: Sequence[str]) -> list[str]:
    columns = [f"{METHOD_TITLES[m]}: wall s, speed-up, sampler share (wall, CPU)" for m in others]
    lines = [
        "| objective | trials | k | ours wall s | ours speed-up | goal 0.8k | sampler share of wall: wall s, CPU s | "
        "sampler s per batch (median, max) | sampler CPU s per batch (median) | load | cluster start + close s | "
        + "".join(f"{c} | " for c in columns) + "Optuna wall s | Optuna speed-up |",
        "|" + "---|" * (13 + len(others)),
    ]
    for seconds in sorted({r.seconds_per_trial for r in runs}):
        base = {lib: next((r.wall for r in runs if r.library == lib and r.seconds_per_trial == seconds and r.jobs == 1),
                          math.nan) for lib in ("ours", "optuna")}
        for jobs in sorted({r.jobs for r in runs}):
            ours = next((r for r in runs if r.library == "ours" and r.seconds_per_trial == seconds and r.jobs == jobs), None)
            theirs = next((r for r in runs if r.library == "optuna" and r.seconds_per_trial == seconds and r.jobs == jobs), None)
            if ours is None or theirs is None:
                continue
            other = ""
            for method in others:
                kb = next((r for r in runs if r.library == f"ours-{method}" and r.seconds_per_trial == seconds
                           and r.jobs == jobs), None)
                other += "- | " if kb is None else (f"{kb.wall:.1f}, {base['ours'] / kb.wall:.2f}, "
                                                    f"{kb.sampler / kb.wall:.1%}, {kb.sampler_cpu / kb.wall:.1%} | ")
            speed = base["ours"] / ours.wall
            met = "yes" if speed >= 0.8 * jobs else "no"
            batch = f"{statistics.median(ours.batches):.3f}, {max(ours.batches):.3f}" if ours.batches else "-"
            cluster = "-" if ours.cluster_start is None else f"{ours.cluster_start:.1f} + {ours.cluster_close or math.nan:.1f}"
            lines.append(
                f"| {seconds:g} s | {ours.trials} | {jobs} | {ours.wall:.1f} | {speed:.2f} | {met} | "
                f"{ours.sampler / ours.wall:.1%}, {ours.sampler_cpu / ours.wall:.1%} | {batch} | "
                f"{statistics.median(ours.batch_cpu):.3f} | {ours.load:.1f} | {cluster} | {other}{theirs.wall:.1f} | "
                f"{base['optuna'] / theirs.wall:.2f} |"
            )
    return lines


# The share part: the sampler's own time at k = 4 and 8, repeated -----------------------------------------


@dataclass
class FitCount:
    """Hyperparameter fits of the GP samplers (``fit_gp`` calls made by ``samplers.gp``) while installed."""

    n: int = 0

    def install(self) -> Callable[[], None]:
        import jupyter_metahpo.samplers.gp as gp

        original = gp.fit_gp

        @functools.wraps(original)
        def counted(*args, **kwargs):
            self.n += 1
            return original(*args, **kwargs)

        gp.fit_gp = counted
        return lambda: setattr(gp, "fit_gp", original)


@dataclass(frozen=True)
class ShareRun:
    method: str
    jobs: int
    seed: int
    wall: float
    sampler: float
    sampler_cpu: float
    asks: int
    fits: int
    load: float


def share_part(jobs_list: Sequence[int], seconds: float, trials: int, repeats: int, methods: Sequence[str]) -> list[ShareRun]:
    """Each method ``repeats`` times per k on one cluster (seeds 0, 1, ...; the methods alternate which goes
    first), so that the sampler's share is a median over runs, not one run on a noisy machine."""
    runs: list[ShareRun] = []
    for jobs in jobs_list:
        cluster, client = start_cluster(jobs)
        try:
            for seed in range(repeats):
                for method in (methods if seed % 2 == 0 else list(reversed(methods))):
                    times, fits = AskTimes(), FitCount()
                    load = os.getloadavg()[0]
                    restore_times, restore_fits = times.install(), fits.install()
                    began = time.perf_counter()
                    try:
                        result = tune(SleepyProblem("branin", seconds), PROBLEMS["branin"].space, trials, seed=seed,
                                      store=False, strategy="none", n_jobs=jobs, client=client,
                                      sampler=parallel_sampler(method, seed))
                    finally:
                        wall = time.perf_counter() - began
                        restore_fits()
                        restore_times()
                    assert result.status == "finished" and len(result.trials) == trials, result.status
                    run = ShareRun(method, jobs, seed, wall, times.total, times.cpu_total, len(times.batches), fits.n,
                                   load)
                    runs.append(run)
                    print(f"  {method:18s} k={jobs} seed {seed}: {wall:.2f} s, sampler {run.sampler:.2f} s "
                          f"({run.sampler / wall:.1%}), CPU {run.sampler_cpu:.2f} s ({run.sampler_cpu / wall:.1%}), "
                          f"{run.asks} asks, {run.fits} fits, load {load:.1f}", flush=True)
        finally:
            client.close()
            cluster.close()
    return runs


def share_table(runs: list[ShareRun]) -> list[str]:
    lines = [
        "| k | proposals | runs | wall s | sampler share of wall: wall s in ask_batch, median [min, max] | "
        "CPU s in ask_batch / wall, median [min, max] | ask_batch calls | hyperparameter fits | CPU ms per "
        "ask_batch call | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.1%} [{min(values):.1%}, {max(values):.1%}]"

    for jobs in sorted({r.jobs for r in runs}):
        for method in dict.fromkeys(r.method for r in runs):
            chosen = [r for r in runs if r.jobs == jobs and r.method == method]
            lines.append(
                f"| {jobs} | {method} | {len(chosen)} | {statistics.median(r.wall for r in chosen):.2f} | "
                f"{spread([r.sampler / r.wall for r in chosen])} | {spread([r.sampler_cpu / r.wall for r in chosen])} | "
                f"{statistics.median(r.asks for r in chosen):g} | {statistics.median(r.fits for r in chosen):g} | "
                f"{statistics.median(1e3 * r.sampler_cpu / r.asks for r in chosen):.1f} | "
                f"{statistics.median(r.load for r in chosen):.1f} |"
            )
    return lines


# The regret part ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegretRun:
    problem: str
    mode: str  # "sequential" or "parallel k=K <method>"
    seed: int
    regrets: dict[int, float]  # simple regret after the first n trials (by trial number), per checkpoint
    wall: float
    sampler: float
    sampler_cpu: float


def checkpoints(budget: int) -> tuple[int, int]:
    """Regret is read at half the budget and at the whole budget: small budgets are where waiting for
    running trials costs most (the proposals of the last k - 1 trials never see each other's results)."""
    return budget // 2, budget


def regret_part(problems: Sequence[str], budgets: dict[str, int], seeds: Sequence[int], jobs: int,
                sleep: float, methods: Sequence[str]) -> list[RegretRun]:
    cluster, client = start_cluster(jobs)
    runs: list[RegretRun] = []
    try:
        for name in problems:
            problem = PROBLEMS[name]
            for seed in seeds:
                for mode in ("sequential", *(f"parallel k={jobs} {method}" for method in methods)):
                    times = AskTimes()
                    restore = times.install()
                    began = time.perf_counter()
                    try:
                        if mode == "sequential":
                            result = tune(problem.objective, problem.space, budgets[name], seed=seed, store=False,
                                          strategy="none")
                        else:
                            result = tune(SleepyProblem(name, sleep), problem.space, budgets[name], seed=seed,
                                          store=False, strategy="none", n_jobs=jobs, client=client,
                                          sampler=parallel_sampler(mode.split()[-1], seed))
                    finally:
                        restore()
                    values = [t.value for t in sorted(result.trials, key=lambda t: t.number)]
                    regrets = {n: problem.regret(min(v for v in values[:n] if v is not None))
                               for n in checkpoints(budgets[name])}
                    run = RegretRun(name, mode, seed, regrets, time.perf_counter() - began, times.total,
                                    times.cpu_total)
                    runs.append(run)
                    print(f"  {name:10s} {mode:24s} seed {seed}: regret "
                          + " / ".join(f"{r:.3g} at {n}" for n, r in regrets.items())
                          + f" ({run.wall:.1f} s, sampler {run.sampler:.1f} s)", flush=True)
    finally:
        client.close()
        cluster.close()
    return runs


def replay_study(problem: str, sampler: Any, jobs: int, budget: int, seed: int,
                 together: float = 0.02) -> tuple[Study, float, int]:
    """The parallel loop replayed in the kernel, without Dask: the same asks and tells, on a clock of our own.

    ``jobs`` slots; each trial lasts a time drawn from the seed (uniform in [0.8, 1.2] units), the trials
    that end within ``together`` units of the first to end are told together, then the free slots are
    asked for in one ``ask_batch`` call, as ``_ParallelRun`` fills them. Deterministic: two replays of one
    seed give the same trials, so ways of proposing compare on equal schedules (a Dask run's pending
    trials depend on the machine's timing). With ``jobs=1`` it is the sequential study. Returns the
    study, the CPU seconds of its ``ask_batch`` calls and their count.
    """
    durations = np.random.default_rng(10_000 + seed)
    objective = PROBLEMS[problem].objective
    study = Study(PROBLEMS[problem].space, sampler=sampler, seed=seed)
    running: list[tuple[float, Any]] = []  # (end, trial)
    now, cpu, asks = 0.0, 0.0, 0
    while len(study.trials) < budget or running:
        free = min(jobs - len(running), budget - len(study.trials))
        if free > 0:
            began = time.thread_time()
            started = study.ask_batch(free)
            cpu += time.thread_time() - began
            asks += 1
            running += [(now + durations.uniform(0.8, 1.2), trial) for trial in started]
        now = min(end for end, _ in running)
        for _, trial in sorted((r for r in running if r[0] <= now + together), key=lambda r: r[0]):
            study.tell(trial, objective(**trial.config))
        running = [r for r in running if r[0] > now + together]
    return study, cpu, asks


def replay_part(problems: Sequence[str], budgets: dict[str, int], seeds: Sequence[int], jobs: int,
                methods: Sequence[str]) -> list[RegretRun]:
    """Regret at equal trials of the in-process replay (:func:`replay_study`): the sequential study and
    ``jobs`` trials at once with each way of proposing, on the same seeds."""
    runs: list[RegretRun] = []
    for name in problems:
        for seed in seeds:
            for mode in ("sequential", *(f"replay k={jobs} {method}" for method in methods)):
                sampler = DefaultSampler(seed=seed) if mode == "sequential" else parallel_sampler(mode.split()[-1], seed)
                began = time.perf_counter()
                study, cpu, _ = replay_study(name, sampler, 1 if mode == "sequential" else jobs, budgets[name], seed)
                values = [t.value for t in sorted(study.trials, key=lambda t: t.number)]
                # Every trial count, not only the checkpoints: lag_table reads the whole curve.
                regrets = {n: PROBLEMS[name].regret(min(values[:n])) for n in range(1, budgets[name] + 1)}
                runs.append(RegretRun(name, mode, seed, regrets, time.perf_counter() - began, cpu, cpu))
                print(f"  {name:10s} {mode:28s} seed {seed}: regret "
                      + " / ".join(f"{regrets[n]:.3g} at {n}" for n in checkpoints(budgets[name]))
                      + f" (CPU {cpu:.1f} s)", flush=True)
    return runs


def seed_table(runs: list[RegretRun], budgets: dict[str, int]) -> list[str]:
    """Every seed's regret, so that later runs can be pooled with this one (the tables above keep only summaries)."""
    seeds = sorted({r.seed for r in runs})
    lines = ["| problem | trials | mode | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "|---|---|---|" + "---|" * len(seeds)]
    for name in dict.fromkeys(r.problem for r in runs):
        for n in checkpoints(budgets[name]):
            for mode in dict.fromkeys(r.mode for r in runs if r.problem == name):
                by_seed = {r.seed: r.regrets[n] for r in runs if r.problem == name and r.mode == mode}
                lines.append(f"| {name} | {n} | {mode} | "
                             + " | ".join(f"{by_seed[s]:.3g}" if s in by_seed else "-" for s in seeds) + " |")
    return lines


def lag_table(runs: list[RegretRun], budgets: dict[str, int], every: int = 10) -> list[str]:
    """How many trials behind the sequential study each parallel mode is: at trial count n, the first count m
    at which the sequential study's regret (geometric mean over the seeds, so that no one seed rules) is at
    most the parallel mode's at n; the lag is n - m (negative, or "ahead" where sequential never gets there
    within the budget: the parallel study is ahead)."""
    lines = ["| problem | mode | " + " | ".join(f"n = {n}" for n in range(every, max(budgets.values()) + 1, every))
             + " |"]
    lines.append("|---|---|" + "---|" * (len(lines[0].split("|")) - 4))
    for name in dict.fromkeys(r.problem for r in runs):
        budget = budgets[name]

        def curve(mode: str) -> np.ndarray:
            chosen = [r for r in runs if r.problem == name and r.mode == mode]
            return np.mean([[math.log10(r.regrets[n] + 1e-12) for n in range(1, budget + 1)] for r in chosen], axis=0)

        sequential = curve("sequential")
        for mode in dict.fromkeys(r.mode for r in runs if r.problem == name and r.mode != "sequential"):
            parallel = curve(mode)
            cells = []
            for n in range(every, max(budgets.values()) + 1, every):
                reached = np.flatnonzero(sequential <= parallel[n - 1]) if n <= budget else np.array([])
                cells.append("" if n > budget else ("ahead" if not len(reached) else f"{n - (reached[0] + 1)}"))
            lines.append(f"| {name} | {mode} | " + " | ".join(cells) + " |")
    return lines


def paired_p_value(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the per-seed differences (1 when all are equal)."""
    from scipy.stats import wilcoxon

    differences = np.asarray(ours) - np.asarray(theirs)
    if not np.any(differences):
        return 1.0
    return float(wilcoxon(differences, zero_method="zsplit").pvalue)


def regret_table(runs: list[RegretRun], budgets: dict[str, int], base_mode: str = "sequential") -> list[str]:
    """Per problem, checkpoint and mode: regret median [quartiles], mean, paired comparison with sequential
    (or with ``base_mode``).

    "no worse beyond noise" holds where the parallel median is not above sequential's, or the
    paired Wilcoxon test does not tell them apart (p >= 0.05)."""
    lines = [
        "| problem | trials | mode | seeds | regret median [25%, 75%] | mean | lower / higher than "
        f"{base_mode} (seeds) | Wilcoxon p | no worse beyond noise | wall s (median) | sampler s (median) | "
        "sampler CPU s (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r.problem for r in runs):
        modes = list(dict.fromkeys(r.mode for r in runs if r.problem == name))
        for n in checkpoints(budgets[name]):
            base = {r.seed: r.regrets[n] for r in runs if r.problem == name and r.mode == base_mode}
            for mode in modes:
                chosen = sorted((r for r in runs if r.problem == name and r.mode == mode), key=lambda r: r.seed)
                regrets = np.array([r.regrets[n] for r in chosen])
                q1, med, q3 = np.percentile(regrets, [25, 50, 75])
                if mode == base_mode:
                    paired = p_text = verdict = "-"
                else:
                    seq = np.array([base[r.seed] for r in chosen])
                    p = paired_p_value(regrets, seq)
                    paired = f"{int(np.sum(regrets < seq))} / {int(np.sum(regrets > seq))}"
                    p_text = f"{p:.3f}"
                    verdict = "yes" if med <= np.median(seq) or p >= 0.05 else "**no**"
                lines.append(
                    f"| {name} | {n} | {mode} | {len(chosen)} | {med:.3g} [{q1:.3g}, {q3:.3g}] | {regrets.mean():.3g} | "
                    f"{paired} | {p_text} | {verdict} | {statistics.median(r.wall for r in chosen):.1f} | "
                    f"{statistics.median(r.sampler for r in chosen):.1f} | "
                    f"{statistics.median(r.sampler_cpu for r in chosen):.1f} |"
                )
    return lines


# Main ------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=("speedup", "share", "regret", "replay"),
                        default=["speedup", "share", "regret", "replay"])
    parser.add_argument("--durations", nargs="+", type=float, default=[0.5, 5.0], help="seconds per trial")
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2, 4, 8], help="trials at once (1 comes first)")
    parser.add_argument("--trials-short", type=int, default=32, help="trials of objectives under 1 s")
    parser.add_argument("--trials-long", type=int, default=16, help="trials of objectives of 1 s or more")
    parser.add_argument("--seed", type=int, default=0, help="seed of the speed-up runs")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the regret runs")
    parser.add_argument("--pending-methods", nargs="+", choices=PENDING_METHODS, default=list(PENDING_METHODS),
                        help="how parallel proposals treat the running trials, in the regret part")
    parser.add_argument("--speedup-methods", nargs="+", choices=[m for m in PENDING_METHODS if m != "believer"],
                        default=["believer-cheap", "qlognei"],
                        help="parallel proposals timed beside tune's default, in the speed-up part")
    parser.add_argument("--share-repeats", type=int, default=10, help="runs per method and k, in the share part")
    parser.add_argument("--share-jobs", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--regret-jobs", type=int, default=4)
    parser.add_argument("--regret-sleep", type=float, default=0.2)
    parser.add_argument("--replay-seeds", type=int, default=30, help="seeds of the replay part (no Dask)")
    parser.add_argument("--replay-jobs", type=int, default=4)
    parser.add_argument("--problems", nargs="+", default=["branin", "hartmann6", "mixed"], choices=list(PROBLEMS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    budgets = {"branin": 40, "hartmann6": 60, "mixed": 60}  # regret read at half and at the whole budget
    header = [
        "# Parallel trials on Dask: speed-up, the sampler's share, regret",
        "",
        f"command: `{command_line(__file__, argv)}`",
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} cores shared with "
        f"other jobs (load average at start {os.getloadavg()[0]:.1f})",
        "",
    ]
    body: list[str] = []
    warm_up()
    if "speedup" in args.parts:
        print("speed-up:", flush=True)
        trials_for = lambda s: args.trials_short if s < 1 else args.trials_long  # noqa: E731
        runs = speedup_part(args.durations, sorted(args.jobs), trials_for, args.seed, args.speedup_methods)
        table = speedup_table(runs, args.speedup_methods)
        print("\n".join(table), flush=True)
        body += ["## Wall-clock speed-up (Branin, sleep-bound objectives)", "", *table, ""]
    if "share" in args.parts:
        print("share:", flush=True)
        runs = share_part(args.share_jobs, 0.5, args.trials_short, args.share_repeats, ["believer", "believer-cheap"])
        table = share_table(runs)
        print("\n".join(table), flush=True)
        body += [f"## The sampler's share at 0.5 s trials ({args.trials_short} Branin trials, {args.share_repeats} "
                 "runs each)", "", *table, ""]
    if "regret" in args.parts:
        print("regret:", flush=True)
        runs = regret_part(args.problems, budgets, list(range(args.seeds)), args.regret_jobs, args.regret_sleep,
                           args.pending_methods)
        table = regret_table(runs, budgets) + ["", "Each seed's regret:", ""] + seed_table(runs, budgets)
        print("\n".join(table), flush=True)
        body += [f"## Regret at equal trial counts ({args.seeds} seeds)", "", *table, ""]
    if "replay" in args.parts:
        print("replay:", flush=True)
        runs = replay_part(args.problems, budgets, list(range(args.replay_seeds)), args.replay_jobs,
                           args.pending_methods)
        table = regret_table(runs, budgets) + ["", "Trials behind the sequential study (see `lag_table`):", ""] + lag_table(
            runs, budgets)
        print("\n".join(table), flush=True)
        body += [f"## Regret at equal trial counts, in-process replay ({args.replay_seeds} seeds, "
                 f"{args.replay_jobs} at once, no Dask)", "", *table, ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header + body) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
