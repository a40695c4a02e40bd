"""GP refinement: a Gaussian process on the trials so far, then the point of highest log-EI.

This is our own exact GP (:mod:`._gp`), acquisition (:mod:`.acquisition`) and search
(:mod:`.optimize`), written in NumPy (with torch for the GP's Cholesky factorisation),
not BoTorch: stock ``SingleTaskGP`` + ``fit_gpytorch_mll`` + ``optimize_acqf`` took
seconds per suggestion where this takes a fraction of one
(``benchmarks/results/samplers_notes.md``). The acquisition numerics are BoTorch's,
and :class:`~.botorch_model.GPModel` shows the fitted GP to BoTorch, whose acquisition
functions and ``optimize_acqf`` then run on it.

Importing this module does not import torch: torch (a
:class:`~jupyter_metahpo._imports.LazyImport`) loads when the first GP is fitted.

What happens in one :meth:`GPSampler.suggest` call:

* inputs are the unit-cube encoding of the space (log parameters are already on a
  log scale there); scores are turned so that higher is better and standardised;
* failed trials enter the model at the worst score seen so far, so the model learns
  to avoid the region where the objective broke instead of proposing it again;
* past a point budget (``max_points``, :data:`MAX_POINTS` trials) the GP is fitted on
  that many chosen trials (:mod:`._subset`: by default the best ones and a
  space-filling spread of the rest), so a suggestion's cost stops growing with the
  study; studies within the budget see every trial, as before;
* the GP (Matern-5/2 ARD with Hamming distance on categorical columns, MAP
  hyperparameters, a fitted constant prior mean: ``learn_mean``) is warm-started from
  the previous call's hyperparameters and also refitted from the default ones,
  keeping the better MAP (``refit_cold``): the warm start alone could stay in a poor
  optimum of the marginal likelihood;
* the acquisition (``acquisition``, by default analytic log expected improvement) is
  maximised by a batched multi-start search that keeps integers and categories on
  valid values (:func:`~.optimize.maximize_acquisition`);
* batches (``n > 1``) and running trials are handled by conditioning the GP on each
  pending point at its predicted mean ("kriging believer"): the posterior variance
  collapses there, so the next point of the batch goes elsewhere. This costs one
  Cholesky factorisation of the (trials + pending)-sized covariance per batch member,
  where qLogNEI would need Monte-Carlo samples of the joint posterior over all trials;
  for q = 1 without pending points the acquisition is plain analytic LogEI, which
  qLogNEI would only approximate;
* a configuration that was already tried or is pending is skipped for the best
  untried candidate (in a space of at most 4096 configurations every one is scored,
  so nothing repeats while untried ones remain);
* torch and BLAS run on ``torch_threads`` threads during the call (one by default:
  faster for these small matrices), and the caller's settings are restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._imports import LazyImport
from .._threads import limit_threads
from ..space import SearchSpace
from ..trial import Direction, Origin
from ._gp import ExactGP, GPParams, fit_gp
from ._subset import DEFAULT_SUBSET, check_max_points, check_subset_rule, choose_subset, trust_region
from .acquisition import Acquisition, check_acquisition, make_acquisition
from .base import History, Sampler, Suggestion
from .models import standardize
from .optimize import MixedDomain, maximize_acquisition

# torch loads when the first GP is fitted, so that importing the samplers stays quick.
torch = LazyImport("torch")

__all__ = ["GPSampler", "believe_pending", "training_data", "MAX_POINTS"]

#: The GP sampler's point budget: past this many trials (complete and failed), its GP is
#: fitted on this many chosen ones (:mod:`._subset`). Continuing 2,000-trial studies, a
#: suggestion took 0.23 s of CPU at 256 points (0.14 s at 192, 0.50 s at 384) and the
#: mixed space's regret was 0.0000 (0.007 at 192, 0.0002 at 384); the smallest budget
#: that matched the larger one's regret. Uncapped, a suggestion took 0.8 s of CPU at 500
#: trials and ~36 s at 2,000 (``benchmarks/results/scale_budget.md``, ``scale_suggest.md``).
MAX_POINTS = 256


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, but got {name}={value!r}.")
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False, but got {name}={value!r}.")
    return value


class GPSampler(Sampler):
    """Bayesian optimisation with a Gaussian process and log expected improvement.

    Parameters
    ----------
    seed:
        Seeds the random starting points of the acquisition search; with the same
        seed and the same history, the same configurations are proposed.
    acquisition:
        A name from :data:`~.acquisition.ACQUISITIONS`: ``"logei"`` (log expected
        improvement, default) or ``"ucb"`` (upper confidence bound with ``beta=4``:
        mean + 2 standard deviations).
    n_raw_samples, n_restarts:
        Points on which the acquisition is first evaluated, and how many of the best
        of them start a local search.
    fit_maxiter, warm_fit_maxiter:
        L-BFGS-B iteration caps of a cold GP fit and of one warm-started from the
        previous call.
    refit_cold:
        Also refit the GP from the default hyperparameters at every call and keep the
        better of the two MAP fits. The warm start alone can keep an early, poor
        optimum of the marginal likelihood for the rest of the study.
    learn_mean:
        Fit the GP's constant prior mean with the other hyperparameters (as BoTorch's
        ``SingleTaskGP`` does) instead of fixing it at the observations' average. When
        most trials are poor and a few are good (the usual shape of a tuning problem),
        the fitted mean sits near the poor bulk, so regions far from every trial are
        predicted as poor rather than average; with the mean fixed, expected
        improvement there grows with the variance alone and sends late trials to the
        corners of the cube.
    acqf_maxiter:
        L-BFGS-B iteration cap of each continuous step of the acquisition search.
    max_points:
        The point budget: with more trials than this (complete and failed), the GP is
        fitted on ``max_points`` of them, chosen by ``subset``; ``None`` fits every
        trial, however long the study (its cost grows as the cube of the trials).
        Studies within the budget are not affected.
    subset:
        How the trials are chosen past the budget, a name from
        :data:`~._subset.SUBSET_RULES`: ``"best-spread"`` (default: the best trials
        plus a space-filling spread of the rest), ``"local"`` (the trials nearest the
        incumbent plus a spread) or ``"random"``.
    torch_threads:
        torch and BLAS threads during a suggestion (``None`` leaves the caller's
        settings).

    The measurements behind these defaults are in ``benchmarks/results/samplers_notes.md``.
    """

    name = "gp"

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
        max_points: int | None = MAX_POINTS,
        subset: str = DEFAULT_SUBSET,
    ) -> None:
        self.seed = seed
        self.acquisition = check_acquisition(acquisition)
        self.n_raw_samples = _check_positive_int("n_raw_samples", n_raw_samples)
        self.n_restarts = _check_positive_int("n_restarts", n_restarts)
        self.fit_maxiter = _check_positive_int("fit_maxiter", fit_maxiter)
        self.warm_fit_maxiter = _check_positive_int("warm_fit_maxiter", warm_fit_maxiter)
        self.refit_cold = _check_bool("refit_cold", refit_cold)
        self.learn_mean = _check_bool("learn_mean", learn_mean)
        self.acqf_maxiter = _check_positive_int("acqf_maxiter", acqf_maxiter)
        self.torch_threads = None if torch_threads is None else _check_positive_int("torch_threads", torch_threads)
        # At least two points: a GP needs two to be fitted.
        self.max_points = check_max_points(max_points, minimum=2)
        self.subset = check_subset_rule(subset)
        self._rng = np.random.default_rng(seed)
        # Hyperparameters of the last fit, keyed by the space they were fitted on.
        self._last_params: tuple[str, GPParams] | None = None
        self._domains: dict[str, MixedDomain] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r}, acquisition={self.acquisition!r})"

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        n = _check_positive_int("n", n)
        with limit_threads(self.torch_threads, torch=True):
            if len(history.complete) < 2:
                return self._random(history, n)
            return self._refine(history, n)

    # Steps ---------------------------------------------------------------------------
    def _random(self, history: History, n: int) -> list[Suggestion]:
        unit = self._rng.random((n, len(history.space)))
        origin = Origin(
            "random",
            f"drawn at random: the GP needs at least 2 complete trials, and there are {len(history.complete)}",
        )
        return [Suggestion(config, origin) for config in history.space.decode(unit)]

    def _domain(self, space: SearchSpace) -> MixedDomain:
        key = space.to_json_string()
        if key not in self._domains:
            self._domains[key] = MixedDomain.from_space(space)
        return self._domains[key]

    def _refine(self, history: History, n: int) -> list[Suggestion]:
        space = history.space
        domain = self._domain(space)
        X, y, y_mean, y_std = training_data(history)
        # Past the budget, trials are chosen in the metric of the previous fit (None before one).
        metric = self._metric(space)
        keep = self._modelled(X, y, domain, metric, _trial_order(history))
        gp = self._fit(space, X[keep], y[keep], domain)
        search = self._search_domain(X, y, domain, metric)
        seen = {_config_key(space, c) for c in history.seen_configs()}
        pending = space.encode(list(history.pending)) if history.pending else np.empty((0, len(space)))
        anchors = self._anchors(X, y, pending)
        out: list[Suggestion] = []
        n_raw, n_starts = self._search_budget(history)
        for _ in range(n):
            model, best_f = self._believe(gp, pending, y)
            acqf = make_acquisition(self.acquisition, model, best_f)
            candidates, values = maximize_acquisition(
                acqf, search, self._rng, gp.lengthscales, anchors,
                n_raw=n_raw, n_starts=n_starts, maxiter=self.acqf_maxiter,
            )
            x, value = _first_unseen(space, candidates, values, seen)
            config = space.decode(x[None, :])[0]
            seen.add(_config_key(space, config))
            pending = np.vstack([pending, x[None, :]])
            out.append(Suggestion(config, self._origin(model, acqf, x, value, y_mean, y_std, history, len(keep))))
        return out

    def _anchors(self, X: np.ndarray, y: np.ndarray, pending: np.ndarray) -> np.ndarray:
        """Points whose neighbourhoods seed a quarter of the acquisition search's raw points: the best trials."""
        return X[np.argsort(-y)[: min(5, len(y))]]

    def _believe(self, gp: ExactGP, pending: np.ndarray, y: np.ndarray) -> tuple[ExactGP, float]:
        """The model the acquisition sees with ``pending`` points (unit cube) running, and its incumbent."""
        return believe_pending(gp, pending, y)

    def _search_budget(self, history: History) -> tuple[int, int]:
        """Raw points and local searches of the acquisition search (a subclass may spend less)."""
        return self.n_raw_samples, self.n_restarts

    def _over_budget(self, X: np.ndarray) -> bool:
        return self.max_points is not None and len(X) > self.max_points

    def _modelled(
        self, X: np.ndarray, y: np.ndarray, domain: MixedDomain, metric: np.ndarray | None, order: np.ndarray
    ) -> np.ndarray:
        """Indices of the trials the GP is fitted on: all of them within the point budget."""
        if not self._over_budget(X):
            return np.arange(len(X))
        return choose_subset(
            X, y, self.max_points, self.subset, categorical=domain.categorical, lengthscales=metric, order=order
        )

    def _search_domain(
        self, X: np.ndarray, y: np.ndarray, domain: MixedDomain, metric: np.ndarray | None
    ) -> MixedDomain:
        """Where the acquisition is maximised: past the budget with the ``"local"`` subset, the
        trust region its GP has data all around (TuRBO confines its search so); else everywhere."""
        if self.subset != "local" or not self._over_budget(X):
            return domain
        lower, upper = trust_region(X, y, self.max_points, categorical=domain.categorical, lengthscales=metric)
        return domain.within(lower, upper)

    def _metric(self, space: SearchSpace) -> np.ndarray | None:
        """Length scales of the last fit on this space (None before one)."""
        last = self._last_params
        return np.exp(last[1].log_lengthscales) if last is not None and last[0] == space.to_json_string() else None

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

    def _origin(
        self, model: ExactGP, acqf: Acquisition, x: np.ndarray, value: float, y_mean: float, y_std: float,
        history: History, n_modelled: int,
    ) -> Origin:
        n_complete, n_failed = len(history.complete), len(history.failed)
        posterior = model.posterior_np(x[None, :])
        # Back to the objective's units and sign (scores are "higher is better").
        sign = 1.0 if history.direction is Direction.MAXIMIZE else -1.0
        fitted = f"a GP fitted on {n_complete} trials" + (f" and {n_failed} failed ones" if n_failed else "")
        if n_modelled < n_complete + n_failed:
            fitted = f"a GP fitted on {n_modelled} of {n_complete + n_failed} trials ({self.subset} subset)"
        phrase, acq_details = acqf.describe(value, y_std)
        details = {
            **acq_details,
            "predicted_value": sign * (float(posterior.mean[0]) * y_std + y_mean),
            "predicted_std": math.sqrt(float(posterior.var[0])) * y_std,
            "n_trials": n_complete,
            "n_failed": n_failed,
            "n_pending": len(model.y) - n_modelled,
            "n_modelled": n_modelled,
            "lengthscales": dict(zip(history.space.names, (float(v) for v in model.lengthscales))),
        }
        n_pending = details["n_pending"]
        if n_pending:  # trials still running (parallel trials, or earlier members of this batch)
            details["pending_method"] = "kriging believer"
            fitted += (f", with {n_pending} running trial{'s' * (n_pending != 1)} counted as observed at the GP's "
                       "prediction (kriging believer)")
        return Origin(self.name, f"{phrase} under {fitted}", details)


def training_data(history: History) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Unit-cube inputs, standardised scores (higher is better) and the mean and std used.

    Failed trials count as the worst score seen: the model then steers away from them.
    """
    trials, raw = history.modelled()
    X = history.space.encode([t.config for t in trials])
    y, y_mean, y_std = standardize(raw)
    return X, y, y_mean, y_std


def _trial_order(history: History) -> np.ndarray:
    """The trial numbers of the rows of :func:`training_data` (complete trials, then failed ones)."""
    return np.array([t.number for t in history.modelled()[0]], dtype=int)


def believe_pending(gp: ExactGP, pending: np.ndarray, y: np.ndarray) -> tuple[ExactGP, float]:
    """The GP conditioned on ``pending`` points (unit cube) at its own predicted mean
    (the "kriging believer"), and the incumbent ``best_f`` to improve on."""
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
