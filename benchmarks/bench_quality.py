"""Simple regret after 20 and 50 evaluations: ours against random search, Optuna TPE
and Optuna's GPSampler, on Branin, Hartmann6 and a mixed space, same seeds.

    python benchmarks/bench_quality.py            # 10 seeds (slow: run it in the background)
    python benchmarks/bench_quality.py --quick    # 3 seeds
    python benchmarks/bench_quality.py --problems hartmann6 --first-seed 10 --seeds 10   # seeds 10-19
    python benchmarks/bench_quality.py --problems hartmann6 --methods ours-optuna-start
        # diagnostic: ours after exactly the 10 start-up points of Optuna's GPSampler (same seed)
    python benchmarks/bench_quality.py --shared-start   # every method starts from the same 10 points per seed

Prints one table of medians (and quartiles) over seeds, and the mean time each
method spent choosing a configuration. Needs the ``bench`` extra (optuna).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _problems import PROBLEMS, Problem, optuna_params  # noqa: E402

from jupyter_metahpo import Study  # noqa: E402
from jupyter_metahpo.samplers import DefaultSampler, RandomSampler  # noqa: E402
from jupyter_metahpo.samplers.base import History, Sampler, Suggestion  # noqa: E402
from jupyter_metahpo.trial import Origin  # noqa: E402

CHECKPOINTS = (20, 50)


N_SHARED = 10


def shared_start(problem: Problem, seed: int) -> list[dict]:
    """The seed's common initial design for ``--shared-start``: 10 uniformly random
    configurations from a generator that no method uses for anything else."""
    return list(problem.space.sample(np.random.default_rng([seed, 7919]), N_SHARED))


def run_ours(problem: Problem, seed: int, budget: int, random: bool = False,
             start: list[dict] | None = None) -> tuple[list[float], float]:
    if random:
        sampler: Sampler = RandomSampler(seed) if start is None else _GivenThen(start, RandomSampler(seed))
    else:
        sampler = DefaultSampler(seed=seed, warm_start=None if start is None else _Given(start))
    study = Study(problem.space, sampler=sampler)
    study.optimize(lambda **config: problem.objective(**config), budget)
    values = [t.value for t in study.trials]
    suggest = float(np.mean([t.suggest_seconds for t in study.trials]))
    return values, suggest


def optuna_initial_configs(problem: Problem, seed: int, n: int = 10) -> list[dict]:
    """The first ``n`` configurations Optuna's GPSampler(seed) evaluates (its random start-up trials)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    configs = []
    for _ in range(n):
        trial = study.ask()
        config = optuna_params(trial, problem.space)
        study.tell(trial, problem.objective(**config))
        configs.append(config)
    return configs


class _Given(Sampler):
    """Serves a fixed list of configurations, then nothing (a warm-start stage for DefaultSampler)."""

    name = "given"

    def __init__(self, configs: list[dict]) -> None:
        self.configs = list(configs)

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        out = [Suggestion(c, Origin("given", "a given start-up point")) for c in self.configs[:n]]
        del self.configs[: len(out)]
        return out


class _GivenThen(Sampler):
    """The given configurations first, then another sampler's."""

    name = "given-then"

    def __init__(self, configs: list[dict], then: Sampler) -> None:
        self.given = _Given(configs)
        self.then = then

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        out = self.given.suggest(history, n)
        return out + (self.then.suggest(history, n - len(out)) if len(out) < n else [])


def run_ours_from_optuna_start(problem: Problem, seed: int, budget: int, start: None = None) -> tuple[list[float], float]:
    """Ours after exactly the 10 random start-up points of Optuna's GPSampler with the same seed:
    separates the initial design's luck from what the two samplers do with it."""
    sampler = DefaultSampler(seed=seed, warm_start=_Given(optuna_initial_configs(problem, seed)))
    study = Study(problem.space, sampler=sampler)
    study.optimize(lambda **config: problem.objective(**config), budget)
    return [t.value for t in study.trials], float(np.mean([t.suggest_seconds for t in study.trials]))


def run_optuna(problem: Problem, seed: int, budget: int, kind: str,
               start: list[dict] | None = None) -> tuple[list[float], float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed) if kind == "tpe" else optuna.samplers.GPSampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    # Enqueued points are evaluated first and count as the samplers' 10 start-up trials.
    for config in start or []:
        study.enqueue_trial(dict(config))
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
    "ours": lambda p, s, b, start=None: run_ours(p, s, b, start=start),
    "random": lambda p, s, b, start=None: run_ours(p, s, b, random=True, start=start),
    "optuna-tpe": lambda p, s, b, start=None: run_optuna(p, s, b, "tpe", start=start),
    "optuna-gp": lambda p, s, b, start=None: run_optuna(p, s, b, "gp", start=start),
    # Not in the default table: a diagnostic (ours given Optuna's start-up points).
    "ours-optuna-start": run_ours_from_optuna_start,
}
DEFAULT_METHODS = ["ours", "random", "optuna-tpe", "optuna-gp"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of 10")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run from this one on (e.g. --first-seed 10 --seeds 10 adds seeds 10-19 to a 10-seed run)")
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--methods", nargs="*", default=DEFAULT_METHODS, choices=list(METHODS))
    parser.add_argument("--out", type=Path, default=None,
                        help="append one JSON line per (problem, method, seed) as it finishes, so a long run "
                             "that is stopped keeps what it measured")
    parser.add_argument("--shared-start", action="store_true",
                        help=f"every method begins from the same {N_SHARED} random configurations of the seed, "
                             "so the initial design's luck is common to all and only the search after it differs")
    args = parser.parse_args()
    if args.shared_start and "ours-optuna-start" in args.methods:
        parser.error("--shared-start already gives every method the same start; drop ours-optuna-start")
    n_seeds = args.seeds or (3 if args.quick else 10)
    budget = max(CHECKPOINTS)
    warnings.filterwarnings("ignore")

    print(f"simple regret (best value - known minimum), median [25%, 75%] over {n_seeds} seeds; "
          "suggest = mean seconds per suggestion"
          + (f"; every method starts from the same {N_SHARED} random points per seed" if args.shared_start else ""))
    header = f"{'problem':<10} {'method':<11} " + " ".join(f"{'regret@' + str(c):>30}" for c in CHECKPOINTS) + f" {'suggest s':>10}"
    print(header)
    print("-" * len(header))
    for name in args.problems:
        problem = PROBLEMS[name]
        medians: dict[str, float] = {}
        for method in args.methods:
            regrets = np.empty((n_seeds, len(CHECKPOINTS)))
            spent = []
            for seed in range(args.first_seed, args.first_seed + n_seeds):
                start = shared_start(problem, seed) if args.shared_start else None
                values, seconds = METHODS[method](problem, seed, budget, start=start)
                spent.append(seconds)
                if args.out is not None:
                    record = {"problem": name, "method": method, "seed": seed, "shared_start": args.shared_start,
                              "values": values,
                              "suggest_seconds": seconds,
                              "regret": {str(c): problem.regret(min(values[:c])) for c in CHECKPOINTS}}
                    with args.out.open("a") as f:
                        f.write(json.dumps(record) + "\n")
                for k, c in enumerate(CHECKPOINTS):
                    regrets[seed - args.first_seed, k] = problem.regret(min(values[:c]))
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
