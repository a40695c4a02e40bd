"""BoTorch refinement: a GP on the trials so far, then the point of highest log-EI.

Importing this module imports torch (the GP's tensors); :mod:`jupyter_metahpo.samplers`
imports it only when a :class:`BoTorchSampler` is first needed.

What happens in one :meth:`BoTorchSampler.suggest` call (latency measured against
Optuna's GPSampler by ``benchmarks/bench_latency.py``, quality by
``benchmarks/bench_quality.py``):

* inputs are the unit-cube encoding of the space (log parameters are already on a
  log scale there); scores are turned so that higher is better and standardised;
* failed trials enter the model at the worst score seen so far, so the model learns
  to avoid the region where the objective broke instead of proposing it again;
* the GP (:mod:`._gp`: Matern-5/2 ARD with Hamming distance on categorical columns,
  MAP hyperparameters, a fitted constant prior mean: ``learn_mean``) is warm-started
  from the previous call's hyperparameters and also refitted from the default ones,
  keeping the better MAP (``refit_cold``): the warm start alone could stay in a poor
  optimum of the marginal likelihood;
* the acquisition is the numerically stable log expected improvement of BoTorch's
  ``LogExpectedImprovement`` (same branches as ``_log_ei_helper``), written in NumPy
  with its exact gradient (:mod:`._acquisition`): the search calls it hundreds of times
  on a few points, where torch's autograd overhead cost more than the arithmetic;
* batches (``n > 1``) and running trials are handled by conditioning the GP on each
  pending point at its predicted mean ("kriging believer"): the posterior variance
  collapses there, so the next point of the batch goes elsewhere. This costs one
  Cholesky factorisation of the (trials + pending)-sized covariance per batch member, where qLogNEI would need Monte-Carlo samples of
  the joint posterior over all trials; for q = 1 without pending points the
  acquisition is plain analytic LogEI, which qLogNEI would only approximate;
* the acquisition is maximised by a batched multi-start search that keeps integers
  and categories on valid values (:mod:`._acqf_optim`);
* a configuration that was already tried or is pending is skipped for the best
  untried candidate (in a space of at most 4096 configurations every one is scored,
  so nothing repeats while untried ones remain);
* torch runs on one thread during the call (faster for these small matrices on a
  shared machine), and the caller's thread setting is restored afterwards.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from ..space import SearchSpace
from ..trial import Direction, Origin
from ._acqf_optim import Acquisition, MixedDomain, maximize_acquisition
from ._acquisition import LogExpectedImprovement, UpperConfidenceBound
from ._gp import ExactGP, GPParams, fit_gp, standardize
from .base import History, Sampler, Suggestion

__all__ = ["BoTorchSampler", "torch_threads"]

ACQUISITIONS = ("logei", "ucb")


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads and ``n`` BLAS threads (``None``: leave
    both as they are), then restore.

    The BLAS limit matters as much as torch's: SciPy's L-BFGS-B (GP fit, acquisition
    search) calls BLAS on vectors of a few entries, and OpenBLAS's spinning threads then
    cost more than the work. Measured at d=3, n=50 on 2 cores: 0.56 CPU-s per suggestion
    with OpenBLAS's 2 threads, 0.12 with one.
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, but got {name}={value!r}.")
    return int(value)


class BoTorchSampler(Sampler):
    """Bayesian optimisation with a Gaussian process and log expected improvement.

    Parameters
    ----------
    seed:
        Seeds the random starting points of the acquisition search; with the same
        seed and the same history, the same configurations are proposed.
    acquisition:
        ``"logei"`` (log expected improvement, default) or ``"ucb"`` (upper
        confidence bound with ``beta=4``: mean + 2 standard deviations).
    n_raw_samples, n_restarts:
        Points on which the acquisition is first evaluated, and how many of the best
        of them start a local search.
    fit_maxiter, warm_fit_maxiter:
        L-BFGS-B iteration caps of a cold GP fit and of one warm-started from the
        previous call.
    refit_cold:
        Also refit the GP from the default hyperparameters at every call and keep the
        better of the two MAP fits. The warm start alone can keep an early, poor
        optimum of the marginal likelihood for the rest of the study; on Hartmann6
        (``benchmarks/bench_quality.py``) the second fit rescued runs stuck that way.
    learn_mean:
        Fit the GP's constant prior mean with the other hyperparameters (as BoTorch's
        ``SingleTaskGP`` does) instead of fixing it at the observations' average. When
        most trials are poor and a few are good (the usual shape of a tuning problem),
        the fitted mean sits near the poor bulk, so regions far from every trial are
        predicted as poor rather than average. With the mean fixed, expected
        improvement there grew with the variance alone and sent a quarter to a half of
        the late trials of a Hartmann6 run to corners of the cube (all near 0, the
        worst value); see ``benchmarks/results/quality_hartmann6.txt``.
    acqf_maxiter:
        L-BFGS-B iteration cap of each continuous step of the acquisition search.
    torch_threads:
        torch and BLAS threads during a suggestion (``None`` leaves the caller's
        settings).
    """

    name = "botorch"

    def __init__(
        self,
        seed: int | None = None,
        acquisition: str = "logei",
        *,
        n_raw_samples: int = 1024,
        n_restarts: int = 8,
        fit_maxiter: int = 200,
        warm_fit_maxiter: int = 50,
        refit_cold: bool = True,
        acqf_maxiter: int = 100,
        torch_threads: int | None = 1,
        learn_mean: bool = True,
    ) -> None:
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"`acquisition` must be one of {ACQUISITIONS}, but got acquisition={acquisition!r}.")
        self.seed = seed
        self.acquisition = acquisition
        self.n_raw_samples = _check_positive_int("n_raw_samples", n_raw_samples)
        self.n_restarts = _check_positive_int("n_restarts", n_restarts)
        self.fit_maxiter = _check_positive_int("fit_maxiter", fit_maxiter)
        self.warm_fit_maxiter = _check_positive_int("warm_fit_maxiter", warm_fit_maxiter)
        if not isinstance(refit_cold, bool):
            raise ValueError(f"`refit_cold` must be True or False, but got refit_cold={refit_cold!r}.")
        self.refit_cold = refit_cold
        if not isinstance(learn_mean, bool):
            raise ValueError(f"`learn_mean` must be True or False, but got learn_mean={learn_mean!r}.")
        self.learn_mean = learn_mean
        self.acqf_maxiter = _check_positive_int("acqf_maxiter", acqf_maxiter)
        self.torch_threads = None if torch_threads is None else _check_positive_int("torch_threads", torch_threads)
        self._rng = np.random.default_rng(seed)
        # Hyperparameters of the last fit, keyed by the space they were fitted on.
        self._last_params: tuple[str, GPParams] | None = None
        self._domains: dict[str, MixedDomain] = {}

    def __repr__(self) -> str:
        return f"BoTorchSampler(seed={self.seed!r}, acquisition={self.acquisition!r})"

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        n = _check_positive_int("n", n)
        with torch_threads(self.torch_threads):
            return self._suggest(history, n)

    # Steps ---------------------------------------------------------------------------
    def _domain(self, space: SearchSpace) -> MixedDomain:
        key = space.to_json_string()
        if key not in self._domains:
            self._domains[key] = MixedDomain.from_space(space)
        return self._domains[key]

    def _suggest(self, history: History, n: int) -> list[Suggestion]:
        space = history.space
        complete, failed = history.complete, history.failed
        if len(complete) < 2:
            unit = self._rng.random((n, len(space)))
            origin = Origin(
                "random",
                f"drawn at random: the GP needs at least 2 complete trials, and there are {len(complete)}",
            )
            return [Suggestion(config, origin) for config in space.decode(unit)]

        domain = self._domain(space)
        scores = history.scores(complete)
        # Failed trials count as the worst score seen: the model then steers away from them.
        worst = float(scores.min())
        X = space.encode([t.config for t in complete] + [t.config for t in failed])
        raw_y = np.concatenate([scores, np.full(len(failed), worst)])
        y, y_mean, y_std = standardize(raw_y)

        gp = self._fit(space, X, y, domain)
        anchors = X[np.argsort(-y)[: min(5, len(y))]]
        seen = {_config_key(space, c) for c in history.seen_configs()}
        pending = space.encode(list(history.pending)) if history.pending else np.empty((0, len(space)))

        out: list[Suggestion] = []
        for _ in range(n):
            model, best_f = _believe_pending(gp, pending, y)
            acqf = self._acquisition_function(model, best_f)
            candidates, values = maximize_acquisition(
                acqf, domain, self._rng, gp.lengthscales, anchors,
                n_raw=self.n_raw_samples, n_starts=self.n_restarts, maxiter=self.acqf_maxiter,
            )
            x, value = _first_unseen(space, candidates, values, seen)
            config = space.decode(x[None, :])[0]
            seen.add(_config_key(space, config))
            pending = np.vstack([pending, x[None, :]])
            out.append(Suggestion(config, self._origin(model, x, value, y_mean, y_std, len(complete), len(failed), history, space)))
        return out

    def _fit(self, space: SearchSpace, X: np.ndarray, y: np.ndarray, domain: MixedDomain) -> ExactGP:
        key = space.to_json_string()
        start = self._last_params[1] if self._last_params is not None and self._last_params[0] == key else None
        maxiter = self.warm_fit_maxiter if start is not None else self.fit_maxiter
        gp = fit_gp(
            X, y, domain.categorical, start=start, maxiter=maxiter,
            refit_cold=self.refit_cold, cold_maxiter=self.fit_maxiter, learn_mean=self.learn_mean,
        )
        self._last_params = (key, gp.params)
        return gp

    def _acquisition_function(self, model: ExactGP, best_f: float) -> Acquisition:
        if self.acquisition == "ucb":
            return UpperConfidenceBound(model, beta=4.0)
        return LogExpectedImprovement(model, best_f)

    def _origin(
        self,
        model: ExactGP,
        x: np.ndarray,
        value: float,
        y_mean: float,
        y_std: float,
        n_complete: int,
        n_failed: int,
        history: History,
        space: SearchSpace,
    ) -> Origin:
        posterior = model.posterior_np(x[None, :])
        mean, var = posterior.mean, posterior.var
        # Back to the objective's units and sign (scores are "higher is better").
        score = float(mean[0]) * y_std + y_mean
        sign = 1.0 if history.direction is Direction.MAXIMIZE else -1.0
        predicted = sign * score
        predicted_std = math.sqrt(float(var[0])) * y_std
        fitted = f"a GP fitted on {n_complete} trials" + (f" and {n_failed} failed ones" if n_failed else "")
        if self.acquisition == "logei":
            improvement = math.exp(value) * y_std
            reason = f"expected improvement {improvement:.1e} under {fitted}"
            acq_details: dict[str, Any] = {"acquisition": "LogEI", "log_ei": float(value), "expected_improvement": improvement}
        else:
            reason = f"highest upper confidence bound under {fitted}"
            acq_details = {"acquisition": "UCB", "ucb": float(value)}
        lengthscales = dict(zip(space.names, (float(v) for v in model.lengthscales)))
        details = {
            **acq_details,
            "predicted_value": predicted,
            "predicted_std": predicted_std,
            "n_trials": n_complete,
            "n_failed": n_failed,
            "n_pending": len(model.y) - n_complete - n_failed,
            "lengthscales": lengthscales,
        }
        return Origin(self.name, reason, details)


def _believe_pending(gp: ExactGP, pending: np.ndarray, y: np.ndarray) -> tuple[ExactGP, float]:
    """The GP conditioned on pending points at its own predicted mean, and the incumbent."""
    best_f = float(y.max())
    if not len(pending):
        return gp, best_f
    mean = gp.posterior_np(pending).mean
    # The believed values also count as observed for the incumbent, so the
    # expected improvement at a pending point itself drops to about zero.
    return gp.condition_on(torch.from_numpy(pending), torch.from_numpy(mean)), max(best_f, float(mean.max()))


def _config_key(space: SearchSpace, config: Mapping[str, Any]) -> tuple:
    return tuple((name, repr(config[name])) for name in space.names)


def _first_unseen(
    space: SearchSpace, candidates: np.ndarray, values: np.ndarray, seen: set[tuple]
) -> tuple[np.ndarray, float]:
    """The best candidate whose configuration was not tried yet (the best one if all were)."""
    for x, value in zip(candidates, values):
        # Decoded one at a time: the first candidate is almost always new.
        if _config_key(space, space.decode(x[None, :])[0]) not in seen:
            return x, float(value)
    return candidates[0], float(values[0])
