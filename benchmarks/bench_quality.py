"""Simple regret after 20 and 50 evaluations: ours against random search, Optuna TPE
and Optuna's GPSampler, on Branin, Hartmann6 and a mixed space, same seeds.

    python benchmarks/bench_quality.py            # 10 seeds (slow: run it in the background)
    python benchmarks/bench_quality.py --quick    # 3 seeds

Prints one table of medians (and quartiles) over seeds, and the mean time each
method spent choosing a configuration. Needs the ``bench`` extra (optuna).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _problems import PROBLEMS, Problem, optuna_params  # noqa: E402

from jupyter_metahpo import Study  # noqa: E402
from jupyter_metahpo.samplers import DefaultSampler, RandomSampler  # noqa: E402

CHECKPOINTS = (20, 50)


def run_ours(problem: Problem, seed: int, budget: int, random: bool = False) -> tuple[list[float], float]:
    sampler = RandomSampler(seed) if random else DefaultSampler(seed=seed)
    study = Study(problem.space, sampler=sampler)
    study.optimize(lambda **config: problem.objective(**config), budget)
    values = [t.value for t in study.trials]
    suggest = float(np.mean([t.suggest_seconds for t in study.trials]))
    return values, suggest


def run_optuna(problem: Problem, seed: int, budget: int, kind: str) -> tuple[list[float], float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed) if kind == "tpe" else optuna.samplers.GPSampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    values, spent = [], 0.0
    for _ in range(budget):
        began = time.perf_counter()
        trial = study.ask()
        config = optuna_params(trial, problem.space)
        spent += time.perf_counter() - began
        value = problem.objective(**config)
        study.tell(trial, value)
        values.append(value)
    return values, spent / budget


METHODS = {
    "ours": lambda p, s, b: run_ours(p, s, b),
    "random": lambda p, s, b: run_ours(p, s, b, random=True),
    "optuna-tpe": lambda p, s, b: run_optuna(p, s, b, "tpe"),
    "optuna-gp": lambda p, s, b: run_optuna(p, s, b, "gp"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of 10")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    args = parser.parse_args()
    n_seeds = args.seeds or (3 if args.quick else 10)
    budget = max(CHECKPOINTS)
    warnings.filterwarnings("ignore")

    print(f"simple regret (best value - known minimum), median [25%, 75%] over {n_seeds} seeds; "
          "suggest = mean seconds per suggestion")
    header = f"{'problem':<10} {'method':<11} " + " ".join(f"{'regret@' + str(c):>30}" for c in CHECKPOINTS) + f" {'suggest s':>10}"
    print(header)
    print("-" * len(header))
    for name in args.problems:
        problem = PROBLEMS[name]
        medians: dict[str, float] = {}
        for method in args.methods:
            regrets = np.empty((n_seeds, len(CHECKPOINTS)))
            spent = []
            for seed in range(n_seeds):
                values, seconds = METHODS[method](problem, seed, budget)
                spent.append(seconds)
                for k, c in enumerate(CHECKPOINTS):
                    regrets[seed, k] = problem.regret(min(values[:c]))
            cells = []
            for k in range(len(CHECKPOINTS)):
                q1, med, q3 = np.percentile(regrets[:, k], [25, 50, 75])
                cells.append(f"{med:.2e} [{q1:.1e}, {q3:.1e}]")
            medians[method] = float(np.median(regrets[:, -1]))
            print(f"{name:<10} {method:<11} " + " ".join(f"{c:>30}" for c in cells) + f" {np.mean(spent):>10.3f}", flush=True)
        best = min(medians.values())
        ranked = sorted(medians, key=medians.get)
        print(f"{'':<10} best median at {budget}: {ranked[0]} ({best:.2e}); ours / best = "
              f"{medians.get('ours', float('nan')) / best if best > 0 else float('nan'):.2f}", flush=True)


if __name__ == "__main__":
    main()
