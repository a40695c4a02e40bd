"""Warm-start strategies and the transfer surrogate on synthetic families of related tasks.

For each family (``related``: meta-features reveal where the optimum is; ``shared``:
all optima in one region, meta-features are noise; ``unrelated``: nothing transfers)
and each seed, one task is held out and the others become finished past studies.
Every method then runs the same budget on the held-out task:

- ``random``: random search;
- ``cold``: Sobol initial design + GP refinement (no past);
- ``nearest`` / ``portfolio`` / ``neural`` / ``default``: that warm-start strategy
  (3 trials), then Sobol + the same GP refinement;
- ``default+rgpe``: the default warm start, then RGPE transfer refinement right
  away (what ``tune(..., past=...)`` does).

Printed: median (over seeds) normalised regret of the best-so-far after 1, 5 and 10
trials, the ratio to cold start, and the win rate against cold at trial 10. With
``--fit-timing``: the time to fit/propose each strategy with 1,000 past studies.

    python benchmarks/bench_meta_synthetic.py                 # 5 seeds, all families
    python benchmarks/bench_meta_synthetic.py --seeds 3 --families related
    python benchmarks/bench_meta_synthetic.py --fit-timing --no-quality
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from jupyter_metahpo.meta.neural import NeuralMetaModel
from jupyter_metahpo.meta.strategies import DefaultStrategy, GreedyPortfolio, NearestTasks, TaskDescription
from jupyter_metahpo.meta.synthetic import FAMILIES, SYNTHETIC_FEATURE_SET, make_family, past_study, synthetic_space
from jupyter_metahpo.samplers import DefaultSampler, RandomSampler
from jupyter_metahpo.samplers.transfer import TransferSampler
from jupyter_metahpo.samplers.warm_start import WarmStartSampler
from jupyter_metahpo.study import Study

METHODS = ("random", "cold", "nearest", "portfolio", "neural", "default", "default+rgpe")
CHECKPOINTS = (1, 5, 10)
WARM_START_K = 3


def build_sampler(method: str, past, task: TaskDescription, seed: int, candidates: int):
    """The sampler of one method; every GP-based one uses the same refiner settings."""
    if method == "random":
        return RandomSampler(seed)
    cold_refiner = TransferSampler([], seed=seed, n_candidates=candidates)
    if method == "cold":
        return DefaultSampler(seed=seed, refiner=cold_refiner)
    strategy = {"nearest": NearestTasks(), "portfolio": GreedyPortfolio(), "neural": NeuralMetaModel(seed=seed),
                "default": DefaultStrategy(seed=seed), "default+rgpe": DefaultStrategy(seed=seed)}[method]
    warm = WarmStartSampler(strategy, past, task, k=WARM_START_K)
    if method == "default+rgpe":  # as meta_sampler builds it: the transfer refinement right after the warm start
        refiner = TransferSampler(past, task, seed=seed, n_candidates=candidates)
        return DefaultSampler(seed=seed, n_initial=WARM_START_K, warm_start=warm, refiner=refiner)
    return DefaultSampler(seed=seed, warm_start=warm, refiner=cold_refiner)


def run_quality(families, seeds: int, n_tasks: int, budget: int, methods, candidates: int) -> dict:
    results: dict[tuple[str, str], list[list[float]]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    for family in families:
        for seed in range(seeds):
            tasks = make_family(family, n_tasks, seed=seed)
            held_out, others = tasks[0], tasks[1:]
            past = [past_study(t, seed=seed) for t in others]
            description = TaskDescription(held_out.name, held_out.meta_features, SYNTHETIC_FEATURE_SET)
            for method in methods:
                began = time.perf_counter()
                study = Study(synthetic_space(), sampler=build_sampler(method, past, description, seed, candidates))
                study.optimize(held_out.objective, budget)
                curve = np.minimum.accumulate([t.value for t in study.trials])
                regrets = [held_out.regret(curve[c - 1]) for c in CHECKPOINTS if c <= budget]
                results.setdefault((family, method), []).append(regrets)
                seconds.setdefault((family, method), []).append(time.perf_counter() - began)
            print(f"  done {family} seed {seed}", flush=True)
    return {"regret": results, "seconds": seconds}


def print_quality(out: dict, families, methods, budget: int) -> None:
    regret = out["regret"]
    header = "family     method        " + "".join(f"  @{c:<2} med (x cold)" for c in CHECKPOINTS if c <= budget)
    print("\nMedian normalised regret of the best so far (lower is better); ratio to cold start in brackets")
    print(header + f"   win@{budget} vs cold   s/run")
    for family in families:
        cold = np.median(np.array(regret[(family, "cold")]), axis=0) if (family, "cold") in regret else None
        cold_runs = np.array(regret.get((family, "cold"), []))
        for method in methods:
            runs = np.array(regret[(family, method)])
            median = np.median(runs, axis=0)
            cells = []
            for j, value in enumerate(median):
                ratio = "" if cold is None or cold[j] <= 0 else f"({value / cold[j]:.2f})"
                cells.append(f"  {value:8.4f} {ratio:>7}")
            wins = "" if not len(cold_runs) else f"{np.mean(runs[:, -1] < cold_runs[:, -1]):.2f}"
            secs = np.median(out["seconds"][(family, method)])
            print(f"{family:<10} {method:<13}" + "".join(cells) + f"   {wins:>6}          {secs:6.1f}")
        print()


def run_fit_timing(n_past: int = 1000, repeats: int = 3) -> None:
    """Time to propose with each strategy when the store holds ``n_past`` past studies."""
    tasks = make_family("related", n_past + 1, seed=123)
    past = [past_study(t, n_trials=30) for t in tasks[1:]]
    task = TaskDescription(tasks[0].name, tasks[0].meta_features, SYNTHETIC_FEATURE_SET)
    space = synthetic_space()
    print(f"\nFit/propose time with {n_past} past studies of 30 trials (median of {repeats}, seconds)")
    for name, make in (
        ("nearest", NearestTasks),
        ("portfolio", GreedyPortfolio),
        ("neural (refit)", lambda: NeuralMetaModel(seed=0)),
        ("default", lambda: DefaultStrategy(seed=0)),
    ):
        times = []
        for _ in range(repeats):
            strategy = make()  # a fresh object: nothing cached, the model refits
            began = time.perf_counter()
            strategy.propose(task, space, past, 5)
            times.append(time.perf_counter() - began)
        print(f"  {name:<16} {np.median(times):7.3f}")
    model = NeuralMetaModel(seed=0)
    model.fit(task, space, past)
    print(f"  neural network training alone: {model.model_.fit_seconds:.3f} s ({model.epochs} full-batch epochs)")
    sampler = TransferSampler(past, task, seed=0)
    began = time.perf_counter()
    sampler._base_models(space)
    print(f"  RGPE past-task GPs ({sampler.max_past} most similar of {n_past}): {time.perf_counter() - began:.3f} s, once per study")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--tasks", type=int, default=26, help="tasks per family (one held out)")
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=512, help="acquisition candidates per GP step")
    parser.add_argument("--fit-timing", action="store_true", help="also time the strategies at 1,000 past studies")
    parser.add_argument("--no-quality", action="store_true", help="skip the regret table")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if not args.no_quality:
        out = run_quality(args.families, args.seeds, args.tasks, args.budget, args.methods, args.candidates)
        print_quality(out, args.families, args.methods, args.budget)
    if args.fit_timing:
        run_fit_timing()


if __name__ == "__main__":
    main()
