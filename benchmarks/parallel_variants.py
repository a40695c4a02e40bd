"""Ways of proposing while trials run, screened against the kriging believer on the in-process replay (no Dask).

    nice -n 10 python benchmarks/parallel_variants.py --problems mixed --seeds 30          # ~10 min per 3 variants
    nice -n 10 python benchmarks/parallel_variants.py --variants starts-2x --first-seed 30  # other seeds

Each variant is tune's believer (``BelieverSampler``, the GP sampler with the running trials as pending) with one
thing changed, run on :func:`bench_parallel.replay_study` (k slots, trial lengths drawn from the seed, the same
asks and tells as a Dask study; deterministic), beside the sequential study and the believer on the same seeds.
Printed: regret at half and the whole budget against the sequential study and against the believer (paired
Wilcoxon), and how many trials each is behind the sequential study (``bench_parallel.lag_table``). Results and
what they say: ``benchmarks/results/parallel.md`` ("Why the mixed space ends higher").

The variants test the causes the issue named: what the believer does with the running trials' outcomes
(pessimistic and median liars, a posterior draw instead of the mean, not raising the incumbent to the believed
values, not conditioning on them at all), the acquisition search while trials run (more local searches, more raw
points, the running configurations as anchors of the raw points) and the acquisition (GP-BUCB: UCB on the
believer's variances while trials run).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_parallel as bench  # noqa: E402
from _problems import PROBLEMS  # noqa: E402

from jupyter_metahpo._imports import LazyImport  # noqa: E402
from jupyter_metahpo.samplers import DefaultSampler  # noqa: E402
from jupyter_metahpo.samplers.batch import BelieverSampler  # noqa: E402
from jupyter_metahpo.samplers.base import History  # noqa: E402

torch = LazyImport("torch")  # loaded by the first GP fit, as in the samplers


class RealIncumbent(BelieverSampler):
    """The believer, but the incumbent stays the best observed score (not raised to the believed values)."""

    def _believe(self, gp, pending, y):
        return super()._believe(gp, pending, y)[0], float(y.max())


class ConstantLiar(BelieverSampler):
    """Each running trial conditioned on at a quantile of the observed (standardised) scores: 0 is pessimistic."""

    def __init__(self, seed: int | None = None, quantile: float = 0.0, **options: Any) -> None:
        super().__init__(seed, **options)
        self.quantile = quantile

    def _believe(self, gp, pending, y):
        if not len(pending):
            return gp, float(y.max())
        lie = np.full(len(pending), float(np.quantile(y, self.quantile)))
        return gp.condition_on(torch.from_numpy(pending), torch.from_numpy(lie)), float(y.max())


class NotConditioned(BelieverSampler):
    """The running trials are only excluded as exact duplicates; the GP does not see them."""

    def _believe(self, gp, pending, y):
        return gp, float(y.max())


class PosteriorDraw(BelieverSampler):
    """Each running trial conditioned on at a draw from its posterior (independent per trial) instead of the mean."""

    def _believe(self, gp, pending, y):
        if not len(pending):
            return gp, float(y.max())
        posterior = gp.posterior_np(pending)
        draw = posterior.mean + np.sqrt(np.maximum(posterior.var, 0.0)) * self._rng.standard_normal(len(pending))
        conditioned = gp.condition_on(torch.from_numpy(pending), torch.from_numpy(draw))
        return conditioned, max(float(y.max()), float(draw.max()))


class RunningAnchors(BelieverSampler):
    """The running configurations also anchor a quarter of the search's raw points (beside the best trials)."""

    def _anchors(self, X, y, pending):
        best = super()._anchors(X, y, pending)
        return np.vstack([best, pending]) if len(pending) else best


class StartPerRunning(BelieverSampler):
    """One more local search per running trial (each is a hole in the believed acquisition)."""

    def _search_budget(self, history: History) -> tuple[int, int]:
        return self.n_raw_samples, self.n_restarts + len(history.pending)


class BatchUCB(BelieverSampler):
    """GP-BUCB (Desautels et al. 2014): while trials run, UCB on the believer's variances; LogEI otherwise."""

    def _refine(self, history: History, n: int):
        self.acquisition = "ucb" if history.pending else "logei"
        return super()._refine(history, n)


class LocalPenalisation:
    """LogEI on the GP of the ended trials, plus the log of González et al.'s (2016) local penaliser of each running
    trial: ``Phi((L d(x, x_j) - (M - mu_j)) / sigma_j)``, the probability that x lies outside the ball around x_j that
    cannot hold the maximum (M the best score, L a Lipschitz constant of the posterior mean). Distances in length
    scales (a differing category counts 1 / its length scale), L the largest gradient of the mean in that metric
    over 512 random points of the domain."""

    def __init__(self, model: Any, best_f: float, pending: np.ndarray, domain: Any, rng: np.random.Generator) -> None:
        from jupyter_metahpo.samplers.acquisition import LogExpectedImprovement

        self.logei = LogExpectedImprovement(model, best_f)
        self.pending = pending
        self.scale = np.asarray(model.lengthscales, dtype=float)
        self.categorical = np.asarray(domain.categorical, dtype=bool)
        posterior = model.posterior_np(pending)
        self.mu, self.sigma = posterior.mean, np.sqrt(np.maximum(posterior.var, 1e-12))
        self.best_f = best_f
        probe = domain.sample(rng, 512)
        slopes = model.posterior_np(probe, with_grad=True).backward(np.ones(len(probe)), np.zeros(len(probe)))
        lipschitz = float(np.max(np.linalg.norm(slopes * self.scale, axis=1)))
        self.lipschitz = lipschitz if lipschitz > 1e-7 else 10.0

    def _penalty(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.special import log_ndtr

        diff = X[:, None, :] - self.pending[None, :, :]  # (k, p, d)
        steps = np.where(self.categorical, (np.abs(diff) > 1e-9).astype(float), diff) / self.scale
        distance = np.sqrt(np.sum(steps**2, axis=2) + 1e-18)  # (k, p)
        z = (self.lipschitz * distance - (self.best_f - self.mu)) / self.sigma
        log_phi = log_ndtr(z)
        d_z = np.exp(-0.5 * z**2 - 0.5 * np.log(2 * np.pi) - log_phi)  # d log Phi / dz
        d_x = (d_z * self.lipschitz / self.sigma / distance)[:, :, None] * steps / self.scale
        d_x[:, :, self.categorical] = 0.0
        return log_phi.sum(axis=1), d_x.sum(axis=1)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.logei(X) + self._penalty(X)[0]

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, grad = self.logei.value_and_grad(X)
        penalty, d_penalty = self._penalty(X)
        return value + penalty, grad + d_penalty

    def describe(self, value: float, y_std: float) -> tuple[str, dict[str, Any]]:
        return "highest locally penalised log-EI", {"acquisition": "LP-LogEI", "value": float(value)}


class LocalPenaliser(BelieverSampler):
    """Local penalisation (González et al. 2016) of the running trials instead of the kriging believer."""

    def _believe(self, gp, pending, y):
        self._penalised = (pending, y)
        return gp, float(y.max())

    def _refine(self, history: History, n: int):
        # GPSampler has no hook for the acquisition itself (a screen does not justify one): its module's
        # make_acquisition is swapped for this call only, and put back after.
        import jupyter_metahpo.samplers.gp as gp_module

        real = gp_module.make_acquisition
        domain = self._domain(history.space)

        def make(name, model, best_f):
            pending, _ = self._penalised
            if not len(pending):
                return real(name, model, best_f)
            return LocalPenalisation(model, best_f, pending, domain, self._rng)

        gp_module.make_acquisition = make
        try:
            return super()._refine(history, n)
        finally:
            gp_module.make_acquisition = real


def _refiner(cls: type, **options: Any) -> Callable[[int], DefaultSampler]:
    return lambda seed: DefaultSampler(seed=seed, refiner=cls(seed=seed, **options))


#: The variants, by name: a function of the seed giving the study's sampler.
VARIANTS: dict[str, Callable[[int], DefaultSampler]] = {
    "real-incumbent": _refiner(RealIncumbent),
    "liar-min": _refiner(ConstantLiar, quantile=0.0),
    "liar-median": _refiner(ConstantLiar, quantile=0.5),
    "not-conditioned": _refiner(NotConditioned),
    "posterior-draw": _refiner(PosteriorDraw),
    "running-anchors": _refiner(RunningAnchors),
    "start-per-running": _refiner(StartPerRunning),
    "starts-2x": _refiner(BelieverSampler, running_restarts=16),
    "raw-2x": _refiner(BelieverSampler, running_raw_samples=2048),
    "search-2x": _refiner(BelieverSampler, running_raw_samples=2048, running_restarts=16),
    "batch-ucb": _refiner(BatchUCB),
    "local-penalisation": _refiner(LocalPenaliser),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=["mixed"])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    budgets = {"branin": 40, "hartmann6": 60, "mixed": 60}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    makers = {"sequential": (lambda seed: DefaultSampler(seed=seed), 1),
              f"replay k={args.jobs} believer": (lambda seed: bench.parallel_sampler("believer", seed), args.jobs)}
    makers.update({f"replay k={args.jobs} {name}": (VARIANTS[name], args.jobs) for name in args.variants})
    runs: list[bench.RegretRun] = []
    for problem in args.problems:
        for mode, (make, jobs) in makers.items():
            for seed in seeds:
                began = time.perf_counter()
                study, cpu, _ = bench.replay_study(problem, make(seed), jobs, budgets[problem], seed)
                values = [t.value for t in sorted(study.trials, key=lambda t: t.number)]
                regrets = {n: PROBLEMS[problem].regret(min(values[:n])) for n in range(1, budgets[problem] + 1)}
                runs.append(bench.RegretRun(problem, mode, seed, regrets, time.perf_counter() - began, cpu, cpu))
            print(f"  {problem} {mode}: done", flush=True)
    print("\n".join(bench.regret_table(runs, budgets)))
    print()
    print("\n".join(bench.regret_table(runs, budgets, base_mode=f"replay k={args.jobs} believer")))
    print()
    print("\n".join(bench.lag_table(runs, budgets)))


if __name__ == "__main__":
    main()
