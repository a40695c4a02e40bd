"""Suggestion latency: our GPSampler against Optuna's GPSampler on the same histories.

    python benchmarks/bench_latency.py            # 5 repeats per size
    python benchmarks/bench_latency.py --quick    # 2 repeats, fewer sizes
    python benchmarks/bench_latency.py --threads  # cold GP fit (d=12, n=100) on 1 vs 2 torch threads

For every size, each repeat draws one history (random configurations of the space,
values of a smooth random test function) and times one suggestion of each sampler
on it, after a warm-up suggestion on the same history minus its last trial, as in a
running study where both samplers reuse the previous step's GP hyperparameters.
Prints median seconds per suggestion of both and the ratio ours / Optuna.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _loo.methods import optuna_distributions  # noqa: E402

from jupyter_metahpo.samplers.base import History  # noqa: E402
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform  # noqa: E402
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState  # noqa: E402


def continuous_space(d: int) -> SearchSpace:
    return SearchSpace({f"x{i}": uniform(0.0, 1.0) for i in range(d)})


MIXED_SPACE = SearchSpace(
    {
        "x0": uniform(-1.0, 1.0),
        "x1": uniform(-1.0, 1.0),
        "lr": loguniform(1e-4, 1e-1),
        "depth": intrange(1, 12),
        "width": intrange(8, 512, log=True),
        "optimizer": choice("adam", "sgd", "rmsprop"),
        "activation": choice("relu", "tanh", "gelu", "silu"),
    }
)


def make_history(space: SearchSpace, n: int, seed: int) -> list[tuple[dict, float]]:
    """``n`` random configurations with the values of a random smooth function of them."""
    rng = np.random.default_rng(seed)
    configs = space.sample(rng, n)
    X = space.encode(configs)
    w = rng.normal(size=(3, X.shape[1]))
    values = np.sin(3.0 * X @ w.T).sum(axis=1) + 0.5 * ((X - 0.3) ** 2).sum(axis=1)
    return list(zip(configs, values.tolist()))


def time_ours(space: SearchSpace, data: list[tuple[dict, float]], seed: int) -> float:
    from jupyter_metahpo.samplers.gp import GPSampler

    trials = tuple(
        FrozenTrial(i, config, TrialState.COMPLETE, Origin("bench"), value=value) for i, (config, value) in enumerate(data)
    )
    sampler = GPSampler(seed=seed)
    sampler.suggest(History(space, Direction.MINIMIZE, trials[:-1]))  # warm-up: previous step
    began = time.perf_counter()
    sampler.suggest(History(space, Direction.MINIMIZE, trials))
    return time.perf_counter() - began


def time_optuna(space: SearchSpace, data: list[tuple[dict, float]], seed: int) -> float:
    import optuna

    distributions = optuna_distributions(space)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    study.add_trials(
        [optuna.trial.create_trial(params=dict(c), distributions=distributions, value=v) for c, v in data[:-1]]
    )
    warm = study.ask(distributions)  # warm-up: previous step
    study.tell(warm, state=optuna.trial.TrialState.FAIL)  # failed trials are ignored by GPSampler
    config, value = data[-1]
    study.add_trial(optuna.trial.create_trial(params=dict(config), distributions=distributions, value=value))
    began = time.perf_counter()
    study.ask(distributions)
    return time.perf_counter() - began


def compare_threads(repeats: int) -> None:
    """Why the sampler runs torch on one thread: time a cold GP fit with 1 and 2 threads."""
    import torch

    from jupyter_metahpo.samplers._gp import fit_gp
    from jupyter_metahpo.samplers.models import standardize

    rng = np.random.default_rng(0)
    X = rng.random((100, 12))
    y, _, _ = standardize(np.sin(X @ rng.normal(size=12)))
    before = torch.get_num_threads()
    times: dict[int, list[float]] = {1: [], 2: []}
    try:
        for _ in range(repeats):
            for threads in times:  # interleaved, so both see the same machine load
                torch.set_num_threads(threads)
                began = time.perf_counter()
                fit_gp(X, y, np.zeros(12, dtype=bool))
                times[threads].append(time.perf_counter() - began)
    finally:
        torch.set_num_threads(before)
    one, two = float(np.median(times[1])), float(np.median(times[2]))
    print(f"cold GP fit d=12 n=100, median of {repeats}: 1 thread {one:.3f} s, 2 threads {two:.3f} s, "
          f"ratio 2/1 = {two / one:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 repeats and fewer sizes")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", action="store_true", help="only compare 1 and 2 torch threads")
    args = parser.parse_args()
    if args.threads:
        compare_threads(args.repeats or 3)
        return
    warnings.filterwarnings("ignore")
    import optuna
    import torch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    repeats = args.repeats or (2 if args.quick else 5)
    dims = (3, 6, 12)
    sizes = (10, 50, 100) if args.quick else (10, 25, 50, 100, 200)
    cases = [(f"continuous d={d}", continuous_space(d), n) for d in dims for n in sizes]
    cases += [("mixed 3c+2i+2cat", MIXED_SPACE, n) for n in ((25, 50) if args.quick else (25, 50, 100))]

    print(f"median seconds per suggestion over {repeats} repeats (torch threads at start: {torch.get_num_threads()})")
    header = f"{'space':<18} {'n':>4} {'ours s':>8} {'optuna-gp s':>12} {'ours/optuna':>12}"
    print(header)
    print("-" * len(header))
    ratios = []
    for label, space, n in cases:
        ours, peer = [], []
        for rep in range(repeats):
            data = make_history(space, n, seed=1000 * rep + n)
            ours.append(time_ours(space, data, rep))
            peer.append(time_optuna(space, data, rep))
        a, b = float(np.median(ours)), float(np.median(peer))
        ratios.append(a / b)
        print(f"{label:<18} {n:>4} {a:>8.3f} {b:>12.3f} {a / b:>12.2f}", flush=True)
    print(f"geometric mean ratio ours/optuna: {float(np.exp(np.mean(np.log(ratios)))):.2f}; "
          f"worst ratio: {max(ratios):.2f}")


if __name__ == "__main__":
    main()
