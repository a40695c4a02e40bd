"""Scale: what a suggestion costs, and how good it is, as studies grow.

    python benchmarks/bench_scale.py --part suggest            # the full run (~25 min on 2 busy cores)
    python benchmarks/bench_scale.py --part suggest --quick    # a small run (~3 min)
    python benchmarks/bench_scale.py --part budget             # how the point budget was chosen (~8 min)
    python benchmarks/bench_scale.py --part store              # store sizes 0 to 1M trials, import (~15 min)
    python benchmarks/bench_scale.py --part warm               # a warm start with ~100 past studies (~3 min)

Parts (``--part``, several allowed; each writes its own results file; all parts by default):

* ``store``: time to the first trial and peak memory with stores of 0 / 1k / 10k / 100k /
  1M trials, ``metahpo list``, ``past_studies()`` and import throughput beside Optuna's
  SQLite storage (``bench_scale_store.py``, which also runs alone). Results:
  ``benchmarks/results/scale_store.md``.

* ``suggest``: suggestion time (median, max), peak memory and the quality of continued
  optimisation at study sizes 100 / 500 / 2,000 / 5,000 trials, ours side by side with
  Optuna's GPSampler and TPE on the same histories. Results:
  ``benchmarks/results/scale_suggest.md``.

  For each size N, problem (Hartmann6 and the mixed space of ``_problems.py``) and seed, one
  history of N trials is made (:func:`study_history`: a long study's shape, a spread start
  then trials around the best so far; the shorter histories of a seed are the starts of
  the longer ones), and every method continues that study for k more
  trials, one suggestion at a time, as a resumed study would: its first suggestion
  starts from nothing (no previous fit to warm-start from), which is what a user
  resuming a study waits for. Measured per method and size: the seconds of each of those
  suggestions (median and max over all), the regret of the best trial after N+k (the
  study's result) and of the best of the k new trials alone (how good the proposals
  are, which the history's best would otherwise hide), and the peak resident memory
  of the process that ran them (each method and size run in a fresh process).

  Methods: ours as ``tune`` runs a study without past studies (``DefaultSampler``, whose GP
  fits at most ``GPSampler.max_points`` trials), the same with the other subset rules
  ("local": a trust region around the incumbent; "random": the control) and our GP with
  no point budget (these three only where they differ from the default, past 256
  trials; the uncapped GP only at 500: at 2,000 it took ~36 s per suggestion), ours
  warm (``DefaultSampler`` refined by the RGPE ``TransferSampler`` on 20 related past
  studies of 100 trials, as a warm ``tune`` runs), Optuna's GPSampler and Optuna's TPE.
  Optuna's GPSampler takes seconds to minutes per suggestion past 1,000 trials, so from
  500 on it runs fewer seeds and continued trials (the tables say so), and at 5,000 it is
  stopped after ``OPTUNA_GP_LIMIT_S`` seconds if its one suggestion has not come.

* ``warm``: a warm study's start with ~100 past studies (a store of 100 studies, and the
  bundled prior's 97 SVC and SVR tasks): the transfer sampler's first suggestion and the
  ones after it with the past GPs fitted at every start, and with their hyperparameters
  kept between studies (``samplers/_past_models.py``), side by side in one process; and
  whether the proposals are the same. Results: ``benchmarks/results/scale_warm.md``.

* ``budget``: the point budget's trade of time for quality at 2,000 trials, our GP
  sampler at ``max_points`` 128 / 192 / 256 / 384 and the warm study's transfer sampler
  at 100 / 150 / 200 of the current study's points. Results:
  ``benchmarks/results/scale_budget.md``.

The command and the date head each results file. Needs the ``bench`` extra (optuna).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _command import command_line  # noqa: E402
from _problems import PROBLEMS, Problem  # noqa: E402

from jupyter_metahpo.experience import PastStudy  # noqa: E402
from jupyter_metahpo.samplers.base import History, Sampler  # noqa: E402
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# ================================================================ the suggest part

SIZES = (100, 500, 2000, 5000)
QUICK_SIZES = (100, 500)
SCALE_PROBLEMS = ("hartmann6", "mixed")


@dataclass(frozen=True)
class Plan:
    """How many seeds and continued trials one method runs at one size."""

    seeds: int
    k: int
    note: str = ""
    #: Stop the cell after this many seconds (None: no limit).
    limit_s: float | None = None


@dataclass(frozen=True)
class Method:
    """A sampler compared in the suggest part.

    ``make(problem, seed)`` returns a :class:`Continuation`; ``plan(size, quick)`` says
    how much it runs at a size (``None``: not at that size).
    """

    name: str
    make: Callable[[Problem, int], Continuation]
    plan: Callable[[int, bool], Plan | None]


class Continuation:
    """Continues one study: told its history once, then asked and told one trial at a time."""

    def start(self, history: Sequence[tuple[dict, float]]) -> None:
        raise NotImplementedError

    def ask(self) -> dict:
        raise NotImplementedError

    def tell(self, config: dict, value: float) -> None:
        raise NotImplementedError


class OursContinuation(Continuation):
    """One of our samplers driven as the study loop drives it: a frozen History per suggestion."""

    def __init__(self, problem: Problem, sampler: Sampler) -> None:
        self.problem = problem
        self.sampler = sampler
        self.trials: list[FrozenTrial] = []

    def start(self, history: Sequence[tuple[dict, float]]) -> None:
        for config, value in history:
            self.tell(config, value)

    def ask(self) -> dict:
        history = History(self.problem.space, Direction.MINIMIZE, tuple(self.trials))
        return dict(self.sampler.suggest(history, 1)[0].config)

    def tell(self, config: dict, value: float) -> None:
        trial = FrozenTrial(len(self.trials), config, TrialState.COMPLETE, Origin("bench"), value=value)
        self.trials.append(trial)


class OptunaContinuation(Continuation):
    """An Optuna study given the same history with ``add_trials``, then continued by ask/tell."""

    def __init__(self, problem: Problem, sampler: Any) -> None:
        import optuna

        from _loo.methods import optuna_distributions

        self.optuna = optuna
        self.distributions = optuna_distributions(problem.space)
        self.study = optuna.create_study(sampler=sampler)
        self.trial: Any = None

    def start(self, history: Sequence[tuple[dict, float]]) -> None:
        create = self.optuna.trial.create_trial
        self.study.add_trials([create(params=dict(c), distributions=self.distributions, value=v) for c, v in history])

    def ask(self) -> dict:
        self.trial = self.study.ask(self.distributions)
        return dict(self.trial.params)

    def tell(self, config: dict, value: float) -> None:
        self.study.tell(self.trial, value)


def study_history(problem: Problem, n: int, seed: int) -> list[tuple[dict, float]]:
    """The first ``n`` trials of a long study on ``problem``: a spread start, then mostly trials near the best.

    20 uniform trials, then batches of 10, each trial a Gaussian step (scale
    log-uniform in [0.01, 0.3] of the unit cube) from one of the 10 best so far, or
    uniform with probability 0.3. Nothing depends on ``n``, so the 500-trial history is
    the start of the 5,000-trial one (the longer study knows all the shorter one knows).
    Running a real optimiser to 5,000 trials would take hours for each peer; this
    keeps the histories cheap, identical for every method, and as clustered around good
    regions as a long study's are.
    """
    space = problem.space
    rng = np.random.default_rng([seed, SCALE_PROBLEMS.index(problem.name) if problem.name in SCALE_PROBLEMS else 9])
    dim = len(space)
    unit = space.encode(space.decode(rng.random((20, dim))))
    configs = space.decode(unit)
    values = [problem.objective(**c) for c in configs]
    while len(configs) < n:
        best = np.argsort(values, kind="stable")[:10]
        centres = unit[best[rng.integers(len(best), size=10)]]
        scale = np.exp(rng.uniform(np.log(0.01), np.log(0.3), size=(10, 1)))
        points = np.clip(centres + scale * rng.standard_normal((10, dim)), 0.0, 1.0)
        uniform = rng.random(10) < 0.3
        points[uniform] = rng.random((int(uniform.sum()), dim))
        new = space.decode(points)
        unit = np.vstack([unit, space.encode(new)])
        configs.extend(new)
        values.extend(problem.objective(**c) for c in new)
    return list(zip(configs, values))[:n]


def related_past_studies(problem: Problem, count: int = 20, size: int = 100) -> list[PastStudy]:
    """``count`` past studies of tasks related to ``problem``: its objective plus a random
    linear tilt of the unit-cube coordinates (a tenth of the objective's spread), on
    uniform configurations, as a store of earlier studies of similar tasks holds."""
    space = problem.space
    rng = np.random.default_rng(12345)
    out = []
    for j in range(count):
        configs = space.decode(rng.random((size, len(space))))
        base = np.array([problem.objective(**c) for c in configs])
        tilt = space.encode(configs) @ rng.standard_normal(len(space))
        values = base + 0.1 * np.ptp(base) * (tilt - tilt.mean()) / max(float(np.std(tilt)), 1e-12)
        out.append(PastStudy.from_arrays(f"past-{j}", f"{problem.name}-related-{j}", space, "minimize", configs, list(values)))
    return out


def _ours(**gp_options: Any) -> Callable[[Problem, int], Continuation]:
    def make(problem: Problem, seed: int) -> Continuation:
        from jupyter_metahpo.samplers import DefaultSampler
        from jupyter_metahpo.samplers.gp import GPSampler

        refiner = GPSampler(seed=seed, **gp_options)
        return OursContinuation(problem, DefaultSampler(seed=seed, refiner=refiner))

    return make


def _ours_warm_with(**transfer_options: Any) -> Callable[[Problem, int], Continuation]:
    def make(problem: Problem, seed: int) -> Continuation:
        from jupyter_metahpo.samplers import DefaultSampler
        from jupyter_metahpo.samplers.transfer import TransferSampler

        refiner = TransferSampler(related_past_studies(problem), seed=seed, **transfer_options)
        return OursContinuation(problem, DefaultSampler(seed=seed, refiner=refiner))

    return make


def _optuna(kind: str) -> Callable[[Problem, int], Continuation]:
    def make(problem: Problem, seed: int) -> Continuation:
        import optuna

        sampler = optuna.samplers.GPSampler(seed=seed) if kind == "gp" else optuna.samplers.TPESampler(seed=seed)
        return OptunaContinuation(problem, sampler)

    return make


def _full_plan(size: int, quick: bool) -> Plan:
    if quick:
        return Plan(seeds=2, k=5)
    return Plan(seeds=4, k=12) if size <= 500 else Plan(seeds=3, k=12)


def _past_the_budget(size: int, quick: bool) -> Plan | None:
    """Subset rules differ only past the GP's point budget (256): at 100 trials they are the default."""
    return _full_plan(size, quick) if size > 256 else None


def _uncapped_plan(size: int, quick: bool) -> Plan | None:
    """Only where it differs from the default (past 256 trials) and is affordable (at 2,000: ~36 s a suggestion)."""
    return _full_plan(size, quick) if 256 < size <= 500 else None


def _optuna_gp_plan(size: int, quick: bool) -> Plan | None:
    """Optuna's GPSampler took ~2 s per suggestion at 100 trials and ~9 s at 500 here: fewer seeds."""
    if quick:
        return _full_plan(size, quick) if size <= 100 else Plan(seeds=1, k=3, note="1 seed, k=3")
    if size <= 100:
        return Plan(seeds=2, k=12, note="2 seeds")
    if size <= 500:
        return Plan(seeds=1, k=6, note="1 seed, k=6")
    if size <= 2000:
        return Plan(seeds=1, k=2, note="1 seed of hartmann6, k=2: time only")
    return Plan(seeds=1, k=1, note="1 seed of hartmann6, k=1: time only", limit_s=OPTUNA_GP_LIMIT_S)


#: Seconds the Optuna GPSampler cell at 5,000 trials may run (adding the trials takes ~1 s);
#: past it the cell is stopped and the table shows the bound.
OPTUNA_GP_LIMIT_S = 300


METHODS = (
    Method("ours (best-spread subset)", _ours(), _full_plan),
    Method("ours, local subset", _ours(subset="local"), _past_the_budget),
    Method("ours, random subset", _ours(subset="random"), _past_the_budget),
    Method("ours, no point budget", _ours(max_points=None), _uncapped_plan),
    Method("ours warm (RGPE, 20 past)", _ours_warm_with(), _full_plan),
    Method("optuna GPSampler", _optuna("gp"), _optuna_gp_plan),
    Method("optuna TPE", _optuna("tpe"), _full_plan),
)


@dataclass
class CellResult:
    """What one method did at one size: every suggestion's seconds (wall clock, and the CPU time of
    the process: all its threads), and per (problem, seed) the regrets."""

    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    start: dict[tuple[str, int], float] = field(default_factory=dict)
    final: dict[tuple[str, int], float] = field(default_factory=dict)
    new_best: dict[tuple[str, int], float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    wall_s: float = 0.0
    #: Set when the cell ran past its plan's limit and was stopped (nothing else is then known).
    stopped_after_s: float | None = None


def run_cell(method_index: int, size: int, plan: Plan) -> CellResult:
    """One method at one size, over the plan's problems and seeds (run in a fresh process)."""
    warnings.filterwarnings("ignore")
    import optuna
    import scipy.stats.qmc  # noqa: F401
    import torch  # noqa: F401

    # Loaded before the clock starts: both GP samplers import torch (and ours scipy's
    # Sobol sequences) at their first suggestion, a one-off cost of the session, not of
    # the study's size.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    method = METHODS[method_index]
    began = time.perf_counter()
    result = CellResult()
    problems = SCALE_PROBLEMS[:1] if "1 seed of hartmann6" in plan.note else SCALE_PROBLEMS
    for name in problems:
        problem = PROBLEMS[name]
        for seed in range(plan.seeds):
            _continue(method.make(problem, seed), problem, study_history(problem, size, seed), plan.k, seed, result)
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result.wall_s = time.perf_counter() - began
    return result


#: What the suggest part measured: (method name, size) -> (its plan, its result).
Cells = dict[tuple[str, int], tuple[Plan, CellResult]]


def _continue(
    continuation: Continuation, problem: Problem, history: list[tuple[dict, float]], k: int, seed: int, result: CellResult
) -> None:
    """Continue one study for ``k`` trials; add the suggestions' seconds and the regrets to ``result``."""
    continuation.start(history)
    new_values = []
    for _ in range(k):
        began, began_cpu = time.perf_counter(), time.process_time()
        config = continuation.ask()
        result.seconds.append(time.perf_counter() - began)
        result.cpu_seconds.append(time.process_time() - began_cpu)
        value = problem.objective(**config)
        continuation.tell(config, value)
        new_values.append(value)
    start = min(v for _, v in history)
    result.start[(problem.name, seed)] = problem.regret(start)
    result.final[(problem.name, seed)] = problem.regret(min(start, min(new_values)))
    result.new_best[(problem.name, seed)] = problem.regret(min(new_values))


def imports_only_rss() -> float:
    """Peak memory of a process that imported what every cell imports, and ran nothing."""
    import optuna  # noqa: F401
    import torch  # noqa: F401

    from jupyter_metahpo.samplers import gp, transfer  # noqa: F401

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def in_fresh_process(function: Callable[..., Any], *args: Any, limit_s: float | None = None) -> Any:
    """``function(*args)`` in a new interpreter, so that its peak memory is its own; ``None``
    when it runs past ``limit_s`` seconds (the process is then stopped)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:  # leaving the block terminates the worker, finished or not
        pending = pool.apply_async(function, args)
        try:
            return pending.get(limit_s)
        except multiprocessing.TimeoutError:
            return None


def run_suggest(args: argparse.Namespace) -> list[str]:
    """The suggest part: every method at every size; returns the markdown sections."""
    sizes = QUICK_SIZES if args.quick else SIZES
    baseline = in_fresh_process(imports_only_rss)
    cells: Cells = {}
    for size in sizes:
        for index, method in enumerate(METHODS):
            plan = method.plan(size, args.quick)
            if plan is None or (args.methods and method.name not in args.methods):
                continue
            result = in_fresh_process(run_cell, index, size, plan, limit_s=plan.limit_s)
            if result is None:
                result = CellResult(stopped_after_s=plan.limit_s)
                print(f"{method.name:<28} N={size:>5}  stopped after {plan.limit_s:.0f} s", flush=True)
                cells[(method.name, size)] = (plan, result)
                continue
            cells[(method.name, size)] = (plan, result)
            print(
                f"{method.name:<28} N={size:>5}  median {np.median(result.seconds):7.3f} s  max {max(result.seconds):7.3f} s"
                f"  peak {result.peak_rss_mb:6.0f} MB  ({result.wall_s:.0f} s)",
                flush=True,
            )
    return suggest_report(cells, sizes, baseline)


# ---------------------------------------------------------------- the suggest report


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _cell_text(cells: Cells, name: str, size: int, render: Callable[[CellResult], str]) -> str:
    if (name, size) not in cells:
        return "-"
    plan, result = cells[(name, size)]
    if result.stopped_after_s is not None:
        return f"stopped: no suggestion within {result.stopped_after_s:.0f} s ({plan.note})"
    return render(result) + (f" ({plan.note})" if plan.note else "")


def _regrets(result: CellResult, attribute: str, problem: str) -> list[float]:
    return [v for (p, _), v in getattr(result, attribute).items() if p == problem]


def _regret_text(values: list[float]) -> str:
    """The median, or "-" for a cell that did not run this problem."""
    return f"{_median(values):.4f}" if values else "-"


def suggest_report(cells: Cells, sizes: Sequence[int], baseline: float) -> list[str]:
    names = [m.name for m in METHODS if any((m.name, s) in cells for s in sizes)]
    header = ["method", *(f"N = {size:,}" for size in sizes)]
    plans = sorted({(p.seeds, p.k) for (n, _), (p, _) in cells.items() if not p.note})
    lines = [
        "Each cell: a study of N trials (Hartmann6 and the mixed space), continued for k trials by the method; "
        "seeds x k: " + ", ".join(f"{seeds} x {k}" for seeds, k in plans) + " (4 x 12 up to 500 trials, 3 x 12 "
        "beyond, in the full run), other plans noted in the cell. The other subset rules and the uncapped GP run "
        "only past the GP's 256-point budget: within it they propose exactly what the default does.",
        "",
    ]
    for title, attribute, text in (
        ("Suggestion time, wall clock", "seconds",
         "Seconds per suggestion on this machine (2 cores shared with other jobs), median / max over every "
         "continued trial of every seed and problem; the first suggestion of each continued study has no "
         "previous fit to start from."),
        ("Suggestion time, CPU", "cpu_seconds",
         "CPU seconds of the process per suggestion, median / max: what the wall clock would read on an idle "
         "core for our samplers (one thread); a sampler that runs several threads (torch in Optuna's "
         "GPSampler) adds theirs up."),
    ):
        lines += [f"## {title}", "", text, ""]
        rows = [
            [name, *(_cell_text(cells, name, size, lambda r, a=attribute: f"{_median(getattr(r, a)):.3f} / "
                                f"{max(getattr(r, a)):.3f}") for size in sizes)]
            for name in names
        ]
        lines += _table(header, rows) + [""]
    lines += ["## Peak memory", "",
              "Peak resident memory (MB) of the fresh process that ran the method at that size; a process that "
              f"only imports torch, optuna and the samplers peaks at {baseline:.0f} MB.", ""]
    rows = [[name, *(_cell_text(cells, name, size, lambda r: f"{r.peak_rss_mb:.0f}") for size in sizes)] for name in names]
    lines += _table(header, rows)
    for problem in SCALE_PROBLEMS:
        for label, attribute in (("after N+k trials", "final"), ("of the best of the k new trials alone", "new_best")):
            lines += ["", f"## Regret on {problem}, {label}", "",
                      "Median over seeds; the first row is the regret of the history's best, before any "
                      "continued trial.", ""]
            rows = [["(history at N)", *(_start_regret(cells, size, problem) for size in sizes)]]
            rows += [
                [name, *(_cell_text(cells, name, size, lambda r: _regret_text(_regrets(r, attribute, problem)))
                         for size in sizes)]
                for name in names
            ]
            lines += _table(header, rows)
    lines += ["", *goal_lines(cells, sizes)]
    return lines


def _start_regret(cells: Cells, size: int, problem: str) -> str:
    """The history's regret at ``size``, from the cell that ran the most seeds there (histories are shared)."""
    starts = [
        [v for (p, _), v in result.start.items() if p == problem] for (_, s), (_, result) in cells.items() if s == size
    ]
    starts = [values for values in starts if values]
    return f"{_median(max(starts, key=len)):.4f}" if starts else "-"


def goal_lines(cells: Cells, sizes: Sequence[int]) -> list[str]:
    """The issue's goals, each with the measured figures and whether it is met (wall clock and CPU)."""
    lines = ["## Goals", ""]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    for name in ("ours (best-spread subset)", "ours warm (RGPE, 20 past)"):
        picked = [cells[(name, s)][1] for s in sizes if s <= 2000 and (name, s) in cells]
        if not picked:
            continue
        wall = [t for r in picked for t in r.seconds]
        cpu = [t for r in picked for t in r.cpu_seconds]
        lines.append(
            f"- {name}, up to 2,000 trials (goal: median <= 0.3 s, max <= 1 s): wall median {_median(wall):.3f} s, "
            f"max {max(wall):.3f} s ({verdict(_median(wall) <= 0.3 and max(wall) <= 1.0)}); CPU median "
            f"{_median(cpu):.3f} s, max {max(cpu):.3f} s ({verdict(_median(cpu) <= 0.3 and max(cpu) <= 1.0)})."
        )
    ours, optuna_gp = cells.get(("ours (best-spread subset)", 5000)), cells.get(("optuna GPSampler", 5000))
    if ours and optuna_gp:
        a = _median(ours[1].seconds)
        stopped = optuna_gp[1].stopped_after_s
        b = stopped if stopped is not None else _median(optuna_gp[1].seconds)
        peer = f"over {b:.0f} s (stopped)" if stopped is not None else f"{b:.1f} s"
        lines.append(f"- At 5,000 trials (goal: no slower than Optuna's GPSampler): ours {a:.3f} s, Optuna's "
                     f"GPSampler {peer} per suggestion, wall clock: {verdict(a <= b)}.")
    uncapped = cells.get(("ours, no point budget", 500))
    if ours and uncapped:
        for problem in SCALE_PROBLEMS:
            a = _median(_regrets(ours[1], "final", problem))
            b = _median(_regrets(uncapped[1], "final", problem))
            lines.append(f"- {problem} (goal: regret at 5,000 with the point budget no worse than the uncapped GP's "
                         f"at 500): {a:.4f} after 5,000+k, {b:.4f} after 500+k: {verdict(a <= b)}.")
    peaks = [(c[1].peak_rss_mb, n, s) for (n, s), c in cells.items() if n.startswith("ours")]
    if peaks:
        peak, name, size = max(peaks)
        lines.append(f"- Peak memory of our samplers' processes (goal: under 500 MB): at most {peak:.0f} MB "
                     f"({name}, N = {size:,}): {verdict(peak < 500)}.")
    return lines


# ================================================================ the budget part

BUDGET_SIZE = 2000
GP_BUDGETS = (128, 192, 256, 384)
TRANSFER_BUDGETS = (100, 150, 200)


def run_budget(args: argparse.Namespace) -> list[str]:
    """The budget part: how the point budget trades time for quality at 2,000 trials.

    Our GP sampler (best-spread subset) at several ``max_points``, and the warm study's
    transfer sampler at several budgets of the current study's points, continuing the
    same histories as the suggest part; all in this one process, budgets interleaved
    seed by seed so that they share the machine's load.
    """
    warnings.filterwarnings("ignore")
    import scipy.stats.qmc  # noqa: F401
    import torch  # noqa: F401

    seeds, k = (1, 4) if args.quick else (3, 10)
    candidates = [("GPSampler", b) for b in GP_BUDGETS] + [("TransferSampler", b) for b in TRANSFER_BUDGETS]
    results = {c: CellResult() for c in candidates}
    for name in SCALE_PROBLEMS:
        problem = PROBLEMS[name]
        for seed in range(seeds):
            history = study_history(problem, BUDGET_SIZE, seed)
            for kind, budget in candidates:
                make = _ours(max_points=budget) if kind == "GPSampler" else _ours_warm_with(max_points=budget)
                _continue(make(problem, seed), problem, history, k, seed, results[(kind, budget)])
            print(f"{name} seed {seed} done", flush=True)
    lines = [f"## The point budget at {BUDGET_SIZE:,} trials", "",
             f"{seeds} seeds per problem, {k} continued trials each; seconds per suggestion (median / max; wall "
             "clock on this shared machine, and CPU) and median regret after N+k and of the best new trial.", ""]
    header = ["sampler", "max_points", "wall s", "CPU s", *(f"{p} after N+k / new" for p in SCALE_PROBLEMS)]
    rows = []
    for (kind, budget), result in results.items():
        row = [kind, str(budget), f"{_median(result.seconds):.3f} / {max(result.seconds):.3f}",
               f"{_median(result.cpu_seconds):.3f} / {max(result.cpu_seconds):.3f}"]
        for problem in SCALE_PROBLEMS:
            final = _median([v for (p, _), v in result.final.items() if p == problem])
            new = _median([v for (p, _), v in result.new_best.items() if p == problem])
            row.append(f"{final:.4f} / {new:.4f}")
        rows.append(row)
    return lines + _table(header, rows)


# ================================================================ the warm part

WARM_REPEATS = 5
WARM_CONTINUED = 10


@dataclass
class WarmSetting:
    """A warm study's past: where it comes from, and how a study of that setting is continued."""

    name: str
    #: () -> (past studies, read afresh as a new study reads them; the cache they are kept in)
    past: Callable[[bool], tuple[list[PastStudy], Any]]
    space: Any
    objective: Callable[[dict], float]
    direction: Direction
    start: list[tuple[dict, float]]


def _store_setting(folder: Path) -> WarmSetting:
    """100 related past studies of Hartmann6 (100 trials each) in a store, their GPs' hyperparameters
    kept in the store's model states."""
    import pandas as pd

    from jupyter_metahpo.samplers._past_models import PastModelCache
    from jupyter_metahpo.store import ExperienceStore

    problem = PROBLEMS["hartmann6"]
    store = ExperienceStore(folder / "store")
    with store.bulk_import() as batch:
        for study in related_past_studies(problem, count=100, size=100):
            frame = pd.DataFrame([dict(c, value=v) for c, v in zip(study.configs, study.values)])
            batch.import_dataframe(frame, space=problem.space, name=study.study_id, task=study.task_name)

    def past(cached: bool) -> tuple[list[PastStudy], Any]:
        opened = ExperienceStore(store.path)  # as a new study opens it
        return opened.past_studies(), PastModelCache(opened) if cached else None

    start = study_history(problem, 5, seed=7)
    return WarmSetting("store: 100 past studies of Hartmann6 tasks", past, problem.space,
                       lambda c: problem.objective(**c), Direction.MINIMIZE, start)


def _prior_setting(folder: Path) -> WarmSetting:
    """The bundled prior's SVC and SVR tasks (97) for a held-out SVC task, the prior's GPs kept in a
    user cache folder; the held-out task's objective is its score at the nearest pool configuration."""
    from jupyter_metahpo.prior import load_prior, load_prior_table
    from jupyter_metahpo.samplers._past_models import PastModelCache

    table = load_prior_table("svc")
    held_out = table.tasks[0].name
    finished = np.flatnonzero(np.isfinite(table.scores[0]))
    pool_unit = table.space.encode([table.pool[i] for i in finished])
    pool_scores = table.scores[0, finished]

    def objective(config: dict) -> float:
        nearest = int(np.argmin(((pool_unit - table.space.encode([config])[0]) ** 2).sum(axis=1)))
        return float(pool_scores[nearest])

    def past(cached: bool) -> tuple[list[PastStudy], Any]:
        studies = [p for p in load_prior(["svc", "svr"]) if p.task_name != held_out]
        return studies, PastModelCache(cache_dir=folder / "cache") if cached else None

    rng = np.random.default_rng(7)
    start = [(dict(table.pool[i]), float(table.scores[0, i])) for i in rng.choice(finished, 5, replace=False)]
    return WarmSetting(f"prior: {len(past(False)[0])} SVC and SVR tasks", past, table.space, objective,
                       Direction.MAXIMIZE, start)


@dataclass
class WarmResult:
    """Seconds (wall, CPU) of reading the past, of the first suggestion and of each later one; the proposals."""

    read: list[tuple[float, float]] = field(default_factory=list)
    first: list[tuple[float, float]] = field(default_factory=list)
    later: list[tuple[float, float]] = field(default_factory=list)
    fitted: list[int] = field(default_factory=list)
    proposals: list[list[dict]] = field(default_factory=list)


def _timed(function: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
    began, began_cpu = time.perf_counter(), time.process_time()
    out = function()
    return out, (time.perf_counter() - began, time.process_time() - began_cpu)


def _warm_study(setting: WarmSetting, cached: bool, seed: int, result: WarmResult) -> None:
    """One warm study: read the past, then the transfer sampler's first suggestion and ``WARM_CONTINUED`` more."""
    from jupyter_metahpo.meta.compat import transfer_studies
    from jupyter_metahpo.samplers.transfer import TransferSampler

    def read_and_carry() -> tuple[list[Any], Any]:
        # As a study's start does: read the past, carry it into the space once (the sampler reuses that).
        past, cache = setting.past(cached)
        return transfer_studies(past, setting.space)[0], cache

    (carried, cache), read = _timed(read_and_carry)
    sampler = TransferSampler(carried, seed=seed, model_cache=cache)
    trials = [
        FrozenTrial(i, c, TrialState.COMPLETE, Origin("bench"), value=v) for i, (c, v) in enumerate(setting.start)
    ]
    proposals = []
    for step in range(1 + WARM_CONTINUED):
        history = History(setting.space, setting.direction, tuple(trials))
        suggestion, seconds = _timed(lambda: sampler.suggest(history, 1)[0])
        (result.first if step == 0 else result.later).append(seconds)
        config = dict(suggestion.config)
        proposals.append(config)
        value = setting.objective(config)
        trials.append(FrozenTrial(len(trials), config, TrialState.COMPLETE, Origin("bench"), value=value))
    result.read.append(read)
    result.fitted.append(-1 if cache is None else cache.n_fitted)
    result.proposals.append(proposals)


def run_warm(args: argparse.Namespace) -> list[str]:
    """The warm part: a warm study's start with ~100 past studies, the past GPs fitted (before the
    cache, or on its first use) or read back (after), side by side in this one process."""
    import tempfile

    warnings.filterwarnings("ignore")
    import scipy.stats.qmc  # noqa: F401

    repeats = 2 if args.quick else WARM_REPEATS
    modes = ("no cache (fitted at every start)", "cache, first start (fitted and kept)", "cache, later start (read)")
    lines = [
        "## A warm study's start with ~100 past studies", "",
        "The transfer sampler (RGPE, at most 16 past GPs of at most 60 points each) after 5 warm-start trials: the "
        "seconds to read the past and carry it into the study's space (wall / CPU), of its first suggestion (the "
        f"past GPs fitted or read) and of the {WARM_CONTINUED} after it; medians over {repeats} studies (seeds), the three kinds of start interleaved "
        "seed by seed. \"Same proposals\": every proposal of a study with the cache read equals that of the same "
        "seed without the cache.", "",
    ]
    header = ["past", "start", "read past s", "first suggestion s", "later suggestions s", "GPs fitted",
              "same proposals"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for make in (_store_setting, _prior_setting):
            setting = make(Path(folder))
            results = {mode: WarmResult() for mode in modes}
            for seed in range(repeats):
                for mode in modes:
                    if mode == modes[1]:  # each seed's first start with the cache finds it empty
                        _clear_cache(Path(folder))
                    _warm_study(setting, mode != modes[0], seed, results[mode])
            for mode, result in results.items():
                same = "-" if mode == modes[0] else (
                    "yes" if result.proposals == results[modes[0]].proposals else "NO")
                fitted = "-" if mode == modes[0] else f"{np.median(result.fitted):.0f}"
                rows.append([setting.name, mode, _wall_cpu(result.read), _wall_cpu(result.first),
                             _wall_cpu(result.later), fitted, same])
                print(" | ".join(rows[-1]), flush=True)
    return lines + _table(header, rows)


def _clear_cache(folder: Path) -> None:
    """Remove every kept past GP: the store's model states and the prior's cache files."""
    for path in [*folder.glob("store/trials/*.model.json"), *folder.glob("cache/prior-models/*.json")]:
        path.unlink()


def _wall_cpu(pairs: Sequence[tuple[float, float]]) -> str:
    return f"{_median([w for w, _ in pairs]):.3f} / {_median([c for _, c in pairs]):.3f}"


# ================================================================ entry point

#: Each part: (what it measures, the function that runs it, its results file).
def run_store(args: argparse.Namespace) -> list[str]:
    """Time to first trial and memory as the store grows, and import throughput (``bench_scale_store.py``)."""
    from bench_scale_store import render, run

    return render(run(quick=args.quick)).splitlines()


PARTS: dict[str, tuple[str, Callable[[argparse.Namespace], list[str]], str]] = {
    "suggest": ("suggestion time, memory and quality as a study grows", run_suggest, "scale_suggest.md"),
    "budget": ("the point budget's trade of time for quality", run_budget, "scale_budget.md"),
    "store": ("time to the first trial, memory and import as the store grows", run_store, "scale_store.md"),
    "warm": ("a warm study's start with ~100 past studies, the past GPs fitted or kept", run_warm, "scale_warm.md"),
}


def write_results(part: str, sections: list[str], argv: Sequence[str] | None, seconds: float) -> Path:
    title, _, filename = PARTS[part]
    path = RESULTS / filename
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    header = [f"# Scale: {title}", "", f"Command: `{command_line(__file__, argv)}` ({stamp}, {seconds / 60:.1f} min; "
              f"load average at the end {load} on {os.cpu_count()} cores).", ""]
    path.write_text("\n".join(header + sections) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", action="append", choices=sorted(PARTS), help="what to measure (default: every part)")
    parser.add_argument("--quick", action="store_true", help="a small run: fewer sizes, seeds and trials")
    parser.add_argument("--methods", nargs="*", default=None, help="suggest part: only these methods (by name)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results files alone")
    args = parser.parse_args(argv)
    for part in args.part or sorted(PARTS):
        began = time.perf_counter()
        sections = PARTS[part][1](args)
        print("\n".join(sections))
        if not args.no_write:
            print(f"written: {write_results(part, sections, argv, time.perf_counter() - began)}")


if __name__ == "__main__":
    main()
