"""Live fits for the user-space benchmark: the user's cell itself, trained on held-out data.

The pool part of :mod:`benchmarks.bench_user_spaces` scores every configuration by the
nearest point of a pool the prior evaluated. Here each method calls the user's own cell
(``train(...)``: a scikit-learn model scored by ``cross_val_score(..., cv=5)``, balanced
accuracy), compiled from its text with the text registered in ``linecache``, as IPython
registers a cell's, so that ``tune`` reads the objective's source exactly as it reads a
notebook cell's. The data are datasets the bundled prior never saw
(:data:`benchmarks.bench_live.LIVE_DATASETS`); the cell's globals ``X`` and ``y`` are
that dataset. What the cells fix, their extra parameters (case d) and their kinds (case
e) act on the real fits, unlike on a pool.

Methods, with the same seeds and budget: ``ours: default`` (``tune(train, space,
data=(X, y))``: the bundled prior as the past, what a user gets), ``ours: cold``
(``strategy="none"``), random search and Optuna TPE on the user's space; on the
built-in space written as a cell (:func:`.user_spaces.exact_case`), ``exact space: ours
default`` and ``exact space: ours cold``. Regret is normalised per dataset between the
best and the worst score any run found there (all cases together), so it is relative,
as in ``bench_live.py``.
"""

from __future__ import annotations

import linecache
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .cache import RunCache
from .pool import trials_to_reach
from .runner import RunResult
from .user_runner import REFERENCE
from .user_spaces import UserCase, exact_case, family_cases

#: Live datasets used by default: held-out classification data small enough for a 2-core budget.
LIVE_USER_DATASETS = ("sk_wine", "keel_sonar", "wd_mroz")
LIVE_CASES = ("a", "b", "c", "d", "e")


def run_cell(text: str, filename: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run ``text`` in ``namespace`` as IPython runs a cell: compiled under ``filename``, its lines in
    ``linecache``, so that ``inspect`` (and ``tune``) read the source of what it defines."""
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - the benchmarks' own cell text
    return namespace


def cell_function(case: UserCase, X: Any, y: Any, tag: str) -> Callable[..., float]:
    """The cell's ``train`` function, its source readable by ``inspect`` (as for a notebook cell)."""
    namespace = {"__name__": f"user_cell_{tag}", "X": X, "y": y}
    return run_cell(case.cell, f"<user-cell {tag}>", namespace)["train"]


def _run_tune(train, space, X, y, budget, seed, strategy) -> tuple[list[float | None], list[float]]:
    from jupyter_metahpo import tune

    result = tune(train, space, n_trials=budget, direction="maximize", seed=seed, store=False,
                  data=(X, y), strategy=strategy)
    return [t.value for t in result.trials], [t.suggest_seconds or 0.0 for t in result.trials]


def _run_random(train, space, X, y, budget, seed, strategy=None):
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(budget):
        try:
            values.append(float(train(**space.sample(rng))))
        except Exception:  # noqa: BLE001 - a failed fit is a failed trial, as in tune
            values.append(None)
    return values, [0.0] * budget


def _run_tpe(train, space, X, y, budget, seed, strategy=None):
    from .methods import tpe_maximise

    # Exception: a failed fit is a failed trial, as in tune
    return tpe_maximise(lambda config: float(train(**config)), space, budget, seed, (Exception,))


#: name in the tables -> (runner, tune strategy, on the exact space?)
LIVE_METHODS = {
    "ours: default": (_run_tune, "default", False),
    "ours: cold": (_run_tune, "none", False),
    "random search": (_run_random, None, False),
    "Optuna TPE": (_run_tpe, None, False),
    "exact space: ours default": (_run_tune, "default", True),
    "exact space: ours cold": (_run_tune, "none", True),
}


def run_live(
    family: str, datasets: Sequence[str], cases: Sequence[str], seeds: Sequence[int], budget: int,
    log: Callable[[str], None] = print,
) -> list[RunResult]:
    """Every method on every case, dataset and seed; regret curves normalised per dataset."""
    import warnings

    from benchmarks.bench_live import load_live_dataset

    user_cases = {c: case for c, case in family_cases(family).items() if c in cases}
    raw: dict[tuple[str, str, str, int], tuple[list, list]] = {}
    for name in datasets:
        dataset = load_live_dataset(name)
        X, y = np.asarray(dataset.X, dtype=float), np.asarray(dataset.y)
        for seed in seeds:
            for method, (runner, strategy, exact) in LIVE_METHODS.items():
                targets = [(REFERENCE, exact_case(family))] if exact else list(user_cases.items())
                for case, user_case in targets:
                    began = time.perf_counter()
                    train = cell_function(user_case, X, y, f"{family}-{case}-{name}")
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        raw[(method, case, name, seed)] = runner(train, user_case.space, X, y, budget, seed, strategy)
                    log(f"{name} seed {seed} {method} ({case}): {time.perf_counter() - began:.1f} s")
    return normalised_curves(raw, family, budget)


def normalised_curves(raw, family: str, budget: int) -> list[RunResult]:
    """Regret per run between the best and worst score any run found on its dataset."""
    scores: dict[str, list[float]] = {}
    for (_, _, name, _), (values, _) in raw.items():
        scores.setdefault(name, []).extend(v for v in values if v is not None)
    failed = sorted(name for name, found in scores.items() if not found)
    if failed:
        raise RuntimeError(f"no fit of any method scored on {failed}: the cell fails on that data (missing values, "
                           "a class too small for 5 folds?); leave it out with --live-datasets, or fix the cell.")
    out = []
    for (method, case, name, seed), (values, seconds) in raw.items():
        best, worst = max(scores[name]), min(scores[name])
        incumbent, curve = -np.inf, []
        for v in values:
            if v is not None:
                incumbent = max(incumbent, v)
            curve.append(1.0 if not np.isfinite(incumbent) else float((best - incumbent) / max(best - worst, 1e-12)))
        curve += [curve[-1]] * (budget - len(curve))
        out.append(RunResult(method, f"{case}/{name}", family, seed, tuple(curve), tuple(seconds),
                             trials_to_reach(np.array(curve)), 0))
    return out


# Live fits on the prior's own datasets, leave one task out -------------------------------

#: Every fit of a cell, by dataset, cell and configuration (:func:`fit_key`, a :class:`.cache.RunCache` file): fits
#: are deterministic (``random_state=0``), so a rerun (or another seed proposing the same configuration) reads the
#: score instead of fitting again.
LOO_FIT_CACHE_NAME = "user_live_loo_fits.jsonl"

#: Methods of the leave-one-task-out live part: name -> (method class in .user_runner, on the exact space?)
LOO_METHODS = {
    "ours: default": ("UserOurs", False),
    "ours: cold": ("UserCold", False),
    "exact space: ours default": ("UserOurs", True),
    "exact space: ours cold": ("UserCold", True),
}


def fit_key(dataset: str, cell: str, config: dict[str, Any]) -> str:
    """The key of one fit of ``cell`` at ``config`` on ``dataset`` in the fit cache (a :class:`.cache.RunCache`)."""
    import hashlib
    import json

    payload = json.dumps([dataset, cell, config], sort_keys=True, default=repr)
    return hashlib.sha1(payload.encode()).hexdigest()


def cached_score(cache: RunCache, key: str, fit: Callable[[], float]) -> float | None:
    """The stored score of the fit ``key`` (None: it failed), or ``fit()``'s, stored as soon as it ends."""
    stored = cache.get(key)
    if stored is not None:
        return stored["score"]
    try:
        value: float | None = float(fit())
    except Exception:  # noqa: BLE001 - a failed fit is a failed trial, as in tune
        value = None
    cache.add([(key, {"score": value})])
    return value


def numeric_matrix(frame: Any) -> np.ndarray:
    """The dataset's columns as floats, categorical ones one-hot encoded (the cells take a plain matrix)."""
    import pandas as pd

    return pd.get_dummies(frame, dtype=float).to_numpy(dtype=float)


def run_live_loo(
    family: str, work: Sequence[tuple[Any, Sequence[Any]]], cases: Sequence[str], seeds: Sequence[int], budget: int,
    fit_cache: RunCache, log: Callable[[str], None] = print, load: Callable[[str], Any] | None = None,
) -> list[RunResult]:
    """The user's cells trained live on the prior's own datasets, each held out from the past in turn.

    ``work`` pairs each held-out pool (:class:`.pool.PoolTask`) with the past studies of
    every other dataset (:func:`.runner.leave_one_out_jobs`), as the pool part holds
    tasks out. Each method's sampler is the one the pool part drives (``UserOurs``: the
    warm start and transfer refinement ``tune`` builds for the cell, from that past;
    ``UserCold``: the same sampler without it), but every configuration is scored by
    training the cell on the held-out dataset, so what the cell fixes and its kinds act
    on real fits, not on the nearest pool point. ``load`` reads a dataset by name (default:
    the prior's own loader, :func:`jupyter_metahpo.prior.datasets.load_dataset`).
    """
    import warnings

    from jupyter_metahpo.prior.datasets import load_dataset

    from . import user_runner
    from .user_runner import UserTask

    user_cases = {c: case for c, case in family_cases(family).items() if c in cases}
    raw: dict[tuple[str, str, str, int], tuple[list, list]] = {}
    for held_out, past in work:
        dataset = (load or load_dataset)(held_out.dataset)
        X, y = numeric_matrix(dataset.X), np.asarray(dataset.y)
        name = held_out.dataset
        for seed in seeds:
            for method, (class_name, exact) in LOO_METHODS.items():
                targets = [(REFERENCE, exact_case(family))] if exact else list(user_cases.items())
                for case, user_case in targets:
                    began = time.perf_counter()
                    train = cell_function(user_case, X, y, f"{family}-{case}-{name}")
                    task = UserTask(user_case, held_out, held_out)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ask, tell = getattr(user_runner, class_name)().start(task, past, seed)
                        values, seconds = [], []
                        for _ in range(budget):
                            asked = time.perf_counter()
                            config = dict(ask())
                            seconds.append(time.perf_counter() - asked)
                            key = fit_key(name, user_case.cell, config)
                            value = cached_score(fit_cache, key, lambda: train(**config))
                            values.append(value)
                            # A failed fit is told as the worst score so far (the sampler needs a number).
                            told = value if value is not None else min([v for v in values if v is not None] or [0.0])
                            tell(config, told)
                    raw[(method, case, name, seed)] = (values, seconds)
                    log(f"{name} seed {seed} {method} ({case}): {time.perf_counter() - began:.1f} s")
    return normalised_curves(raw, family, budget)
