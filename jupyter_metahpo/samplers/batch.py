"""Proposals for trials that run in parallel: BoTorch's qLogNEI on the GP, with the running trials pending.

When trials run at once (``tune(n_jobs=k)``, :mod:`jupyter_metahpo.parallel`), the
study asks for configurations while others are still running; the sampler sees them
as ``history.pending``. :class:`QLogNEISampler` fits the GP sampler's GP on the
finished trials (:func:`~._gp.fit_gp`, the same model and priors as
:class:`~.gp.GPSampler`), hands it to BoTorch as a model (:class:`~.botorch_model.GPModel`)
and maximises BoTorch's ``qLogNoisyExpectedImprovement`` with the running trials as
``X_pending``: the Monte-Carlo expectation over the joint posterior of the proposal
*and* the pending points, so a proposal improves on what the running trials will
probably give, not on what is known now. The search is BoTorch's: ``optimize_acqf`` on
continuous spaces, ``optimize_acqf_mixed`` (one search per combination of categories,
see :meth:`QLogNEISampler._category_combinations`) when the space has categories;
integers are searched relaxed and snapped to their values (``post_processing_func``),
after which BoTorch scores the snapped points again. Several proposals at once are
chosen greedily, each one pending for the next (what ``optimize_acqf(sequential=True)``
does, and what BoTorch recommends over a joint search for batches).

Which one a parallel study uses: the kriging believer by default (:class:`BelieverSampler`,
the GP sampler that fakes each running trial as observed at the GP's predicted mean; it can
also keep its hyperparameters for a few ended trials, an option that costs regret); qLogNEI integrates over the running trials' unknown outcomes instead, and is
chosen by ``for_parallel_trials(proposals="qlognei")`` or
``sampler=DefaultSampler(refiner=QLogNEISampler())``. Measured with 4 trials at once
(``benchmarks/results/parallel.md``), qLogNEI explored more and ended with higher regret at
equal trials, at several times the CPU per proposal: see :func:`for_parallel_trials`.

Without BoTorch (an optional extra) the sampler falls back to the kriging believer,
that is :class:`~.gp.GPSampler` with the pending trials, and every such proposal's
origin says so (``details["pending_method"]``, and its reason).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._imports import LazyImport
from .._threads import limit_threads
from ..space import SearchSpace
from ..trial import Direction, Origin
from ._gp import ExactGP, GPParams, fit_gp
from .base import History, Sampler, Suggestion
from .default import DefaultSampler
from .gp import GPSampler, training_data
from .optimize import MixedDomain

_INSTALL = 'pip install "jupyter-metahpo[botorch]"'
torch = LazyImport("torch")
botorch_model = LazyImport("jupyter_metahpo.samplers.botorch_model", install=_INSTALL)
logei = LazyImport("botorch.acquisition.logei", install=_INSTALL)
optim = LazyImport("botorch.optim.optimize", install=_INSTALL)
normal = LazyImport("botorch.sampling.normal", install=_INSTALL)

__all__ = [
    "BelieverSampler",
    "QLogNEISampler",
    "botorch_available",
    "for_parallel_trials",
    "PARALLEL_PROPOSALS",
    "PENDING_FALLBACK",
    "REFIT_AFTER",
    "RUNNING_SEARCH",
]

#: What the fallback does with the running trials when BoTorch is missing.
PENDING_FALLBACK = "kriging believer"


def botorch_available() -> bool:
    """Whether BoTorch can be imported (without importing it)."""
    return importlib.util.find_spec("botorch") is not None


#: How a study proposes while trials run, when the sampler is tune's own: ``"believer"`` (the GP
#: sampler's kriging believer) or ``"qlognei"`` (:class:`QLogNEISampler`).
PARALLEL_PROPOSALS = ("believer", "qlognei")


def for_parallel_trials(sampler: Sampler | None, seed: int | None = None, proposals: str = "believer") -> Sampler:
    """The sampler a study uses when its trials run in parallel.

    By default (``proposals="believer"``), a :class:`~.default.DefaultSampler` whose
    refinement is the plain GP sampler gets a :class:`BelieverSampler` in its place (the
    same GP and settings: it conditions the GP on each running trial at its own
    prediction, the kriging believer, and proposes by analytic LogEI, as the GP sampler
    does; its cheaper options stay off, see :data:`REFIT_AFTER`).
    ``proposals="qlognei"`` puts a :class:`QLogNEISampler` there instead (the same GP;
    BoTorch's qLogNEI with the running trials as ``X_pending``). The warm start and the
    initial design stay as they are. Any other sampler (the transfer refinement, a sampler
    the user gave) is always kept: it sees the running trials as ``history.pending`` and
    handles them its own way.

    Why the believer by default, measured (``benchmarks/bench_parallel.py``, results in
    ``benchmarks/results/parallel.md``): with 4 trials at once, qLogNEI ended with higher
    regret than the believer at equal trials on Branin, Hartmann6 and the mixed space, and
    its proposals cost 0.1-1 s against the believer's 0.02-0.1 s, which for 0.5 s trials
    made the kernel the bottleneck (speed-up 1.2-1.6 at k = 2-8 against 1.9-7.0).
    """
    if proposals not in PARALLEL_PROPOSALS:
        raise ValueError(f"`proposals` must be one of {PARALLEL_PROPOSALS}, but got proposals={proposals!r}.")
    if sampler is None:
        sampler = DefaultSampler(seed=seed)
    if not (isinstance(sampler, DefaultSampler) and type(sampler.refiner) is GPSampler):
        return sampler
    refiner = BelieverSampler.like(sampler.refiner) if proposals == "believer" else QLogNEISampler(seed=sampler.seed)
    return DefaultSampler(seed=sampler.seed, n_initial=sampler.n_initial, warm_start=sampler.warm_start, refiner=refiner)


#: Ended trials after which :class:`BelieverSampler` refits the GP's hyperparameters while trials run
#: (1: at every proposal, as the GP sampler does). Keeping a fit for 4 ended trials (``refit_after=4``)
#: cut the sampler's CPU share with 0.5 s trials from 7.0% to 4.2% at k = 4 and from 8.3% to 6.6% at
#: k = 8, but in four Dask runs of the regret benchmark (10 seeds each, 4 trials at once) it ended above
#: fitting at every proposal at half the budget (Branin 20 trials: median 0.31 vs 0.12; Hartmann6 30:
#: 0.40 vs 0.31; mixed 30: 0.32 vs 0.20) and on the mixed space at 60 (0.0011 vs 0.0008), and an
#: in-process replay (40 seeds) agreed on the mixed space at 30 trials (p 0.04). So the default fits at
#: every proposal and the cheaper schedule is an option (``benchmarks/results/parallel.md``).
REFIT_AFTER = 1
#: The acquisition search of :class:`BelieverSampler` while trials run, ``(raw points, local searches)``;
#: ``None``: the GP sampler's (1,024 and 8). Halving them (``(512, 4)``) cut a proposal's CPU by 10-30%
#: and left the regret where it was in the replay (10 seeds, p >= 0.11), but in one Dask run it ended
#: above the sequential study on Branin at 40 trials (p 0.04): not enough to make it the default.
RUNNING_SEARCH: tuple[int | None, int | None] = (None, None)


class BelieverSampler(GPSampler):
    """The GP sampler for trials that run in parallel: the kriging believer, refitted every few trials.

    A parallel study asks for one configuration each time a trial ends, with the others
    still running (``history.pending``): the GP is conditioned on them at its own predicted
    mean, as :class:`~.gp.GPSampler` does with pending points. With its defaults it *is*
    the GP sampler (it fits at every proposal, and searches as much), whose origins also say
    which fit they used. Two options make a proposal cheaper while trials run, at a cost in
    regret measured in ``benchmarks/results/parallel.md`` (see :data:`REFIT_AFTER`):

    * ``refit_after=k``: the hyperparameters of the last fit are kept until ``k`` more
      trials have completed (or failed), or more than a quarter of the trials that fit saw
      (a fit on few trials moves most with each new one); the GP is rebuilt on every trial
      that has ended with them fixed (one Cholesky factorisation instead of two L-BFGS-B
      fits, which were two thirds of a proposal's CPU), then conditioned on the running ones;
    * ``running_raw_samples``, ``running_restarts``: a smaller acquisition search.

    With no trial running, every call fits and searches exactly as :class:`~.gp.GPSampler`
    does, whatever the options: a sequential study's proposals are the GP sampler's.

    Parameters
    ----------
    seed:
        As :class:`~.gp.GPSampler`'s.
    refit_after:
        Completed (or failed) trials after which the hyperparameters are fitted again
        while trials run; ``1`` fits at every proposal, as the GP sampler does.
    running_raw_samples, running_restarts:
        The acquisition search while trials run: raw points scored, and how many of the
        best start a local search (``n_raw_samples`` and ``n_restarts`` otherwise). ``None``
        (default): as many as otherwise.
    **options:
        The other settings of :class:`~.gp.GPSampler` (``acquisition``, ``n_restarts``, ...).

    The origin of each proposal says which fit it used (``details["hyperparameters"]``:
    ``"fitted"``, or ``"kept"`` with ``details["fitted_on"]``, the trials of the fit).
    """

    def __init__(self, seed: int | None = None, *, refit_after: int = REFIT_AFTER,
                 running_raw_samples: int | None = RUNNING_SEARCH[0], running_restarts: int | None = RUNNING_SEARCH[1],
                 **options: Any) -> None:
        super().__init__(seed, **options)
        self.refit_after = _check_positive_int("refit_after", refit_after)
        self.running_raw_samples = (
            None if running_raw_samples is None else _check_positive_int("running_raw_samples", running_raw_samples))
        self.running_restarts = (
            None if running_restarts is None else _check_positive_int("running_restarts", running_restarts))
        self._fitted_on: tuple[str, int] | None = None  # the space and the ended trials of the last fit
        self._ended = 0  # trials ended (complete and failed) in the history of the current call
        self._running = False  # whether trials run during the current call
        self._kept = False  # whether the current call kept the last fit's hyperparameters

    @classmethod
    def like(cls, sampler: GPSampler, **believer: Any) -> BelieverSampler:
        """A believer with ``sampler``'s settings (its seed, acquisition, search and fit options), and
        ``believer``'s own (``refit_after``, ``running_raw_samples``, ``running_restarts``)."""
        return cls(
            sampler.seed, **believer, acquisition=sampler.acquisition,
            n_raw_samples=sampler.n_raw_samples, n_restarts=sampler.n_restarts, fit_maxiter=sampler.fit_maxiter,
            warm_fit_maxiter=sampler.warm_fit_maxiter, refit_cold=sampler.refit_cold,
            acqf_maxiter=sampler.acqf_maxiter, torch_threads=sampler.torch_threads, learn_mean=sampler.learn_mean,
            max_points=sampler.max_points, subset=sampler.subset,
        )

    def __repr__(self) -> str:
        return f"BelieverSampler(seed={self.seed!r}, refit_after={self.refit_after!r})"

    def _refine(self, history: History, n: int) -> list[Suggestion]:
        # What _fit needs to decide, and cannot see: the trials ended so far (the GP may model a
        # subset of them past its point budget) and whether any run now.
        self._ended = len(history.complete) + len(history.failed)
        self._running = bool(history.pending)
        return super()._refine(history, n)

    def _fit(self, space: SearchSpace, X: np.ndarray, y: np.ndarray, domain: MixedDomain) -> ExactGP:
        self._kept = self._keeps_hyperparameters(space.to_json_string())
        if self._kept:
            return ExactGP(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)),
                           torch.from_numpy(np.ascontiguousarray(y, dtype=np.float64)),
                           torch.from_numpy(np.asarray(domain.categorical, dtype=bool)), self._last_params[1])
        gp = super()._fit(space, X, y, domain)
        self._fitted_on = (space.to_json_string(), self._ended)
        return gp

    def _search_budget(self, history: History) -> tuple[int, int]:
        if not history.pending:
            return self.n_raw_samples, self.n_restarts
        return self.running_raw_samples or self.n_raw_samples, self.running_restarts or self.n_restarts

    def _keeps_hyperparameters(self, key: str) -> bool:
        """Whether trials run and, since the last fit on this space, fewer than ``refit_after`` trials
        have ended and at most a quarter as many as that fit had."""
        if not self._running or self._fitted_on is None or self._last_params is None:
            return False
        space_key, ended = self._fitted_on
        new = self._ended - ended
        # A fit on few trials moves most with each new one: it is kept for at most a quarter of its trials.
        return space_key == key == self._last_params[0] and 0 <= new < self.refit_after and new <= ended // 4

    def _origin(self, model: ExactGP, *args: Any, **kwargs: Any) -> Origin:
        origin = super()._origin(model, *args, **kwargs)
        if not self._kept:
            return Origin(origin.source, origin.reason, {**origin.details, "hyperparameters": "fitted"})
        fitted_on = self._fitted_on[1]
        reason = f"{origin.reason}; its hyperparameters from the fit on {fitted_on} trials (refitted every {self.refit_after})"
        return Origin(origin.source, reason, {**origin.details, "hyperparameters": "kept", "fitted_on": fitted_on})


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, but got {name}={value!r}.")
    return int(value)


class QLogNEISampler(Sampler):
    """GP proposals by BoTorch's qLogNEI, with the running trials as ``X_pending``.

    Parameters
    ----------
    seed:
        Seeds the Monte-Carlo samples and the search's starting points.
    num_restarts, raw_samples, maxiter:
        BoTorch's search: points scored to pick the starts, local searches (L-BFGS-B),
        and the iteration cap of each.
    mc_samples:
        Quasi-Monte-Carlo samples of the joint posterior (BoTorch's default is 512;
        fewer keep a proposal quick while other trials wait for it).
    max_category_combinations:
        How many combinations of categorical values ``optimize_acqf_mixed`` searches,
        one local search each: all of them when there are at most this many, else
        those of the best trials, then random ones.
    torch_threads:
        torch and BLAS threads during a proposal (one: faster for these small matrices).
    """

    name = "gp"

    def __init__(
        self,
        seed: int | None = None,
        *,
        num_restarts: int = 4,
        raw_samples: int = 256,
        maxiter: int = 50,
        mc_samples: int = 128,
        max_category_combinations: int = 6,
        torch_threads: int | None = 1,
    ) -> None:
        self.seed = seed
        self.num_restarts = _check_positive_int("num_restarts", num_restarts)
        self.raw_samples = _check_positive_int("raw_samples", raw_samples)
        self.maxiter = _check_positive_int("maxiter", maxiter)
        self.mc_samples = _check_positive_int("mc_samples", mc_samples)
        self.max_category_combinations = _check_positive_int("max_category_combinations", max_category_combinations)
        self.torch_threads = None if torch_threads is None else _check_positive_int("torch_threads", torch_threads)
        self._rng = np.random.default_rng(seed)
        self._believer = GPSampler(seed=seed, torch_threads=torch_threads)
        self._last_params: tuple[str, GPParams] | None = None

    def __repr__(self) -> str:
        return f"QLogNEISampler(seed={self.seed!r})"

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        n = _check_positive_int("n", n)
        if len(history.complete) < 2:
            return self._believer.suggest(history, n)  # nothing to model yet: its random draws say so
        if not botorch_available():
            return self._believed(history, n)
        with limit_threads(self.torch_threads, torch=True), warnings.catch_warnings():
            # BoTorch's Cholesky adds jitter where rounding leaves a joint covariance not quite
            # positive definite (pending points near tried ones), and warns each time: noise in a notebook.
            warnings.filterwarnings("ignore", message=".*not p.d., added jitter.*")
            return self._qlognei(history, n)

    # Without BoTorch -------------------------------------------------------------------
    def _believed(self, history: History, n: int) -> list[Suggestion]:
        """The GP sampler's proposals, its kriging believer handling the running trials; the origin says why."""
        out = []
        for suggestion in self._believer.suggest(history, n):
            origin = suggestion.origin
            reason = f"{origin.reason}; BoTorch is not installed, so qLogNEI could not run ({_INSTALL})"
            details = {**origin.details, "pending_method": PENDING_FALLBACK}
            out.append(dataclasses.replace(suggestion, origin=Origin(origin.source, reason, details)))
        return out

    # With BoTorch ------------------------------------------------------------------------
    def _qlognei(self, history: History, n: int) -> list[Suggestion]:
        space = history.space
        domain = MixedDomain.from_space(space)
        X, y, y_mean, y_std = training_data(history)
        gp = self._fit(space, X, y, domain)
        pending = space.encode([dict(c) for c in history.pending]) if history.pending else np.empty((0, len(space)))
        seen = {_config_key(space, c) for c in history.seen_configs()}
        seed = int(self._rng.integers(2**31))
        acqf = logei.qLogNoisyExpectedImprovement(
            botorch_model.GPModel(gp),
            X_baseline=torch.from_numpy(X),
            sampler=normal.SobolQMCNormalSampler(sample_shape=torch.Size([self.mc_samples]), seed=seed),
            # cache_root needs a gpytorch model: GPModel's joint posterior is computed afresh instead.
            cache_root=False,
            prune_baseline=True,
        )
        fixed = self._category_combinations(space, domain, history)
        out: list[Suggestion] = []
        chosen = np.empty((0, len(space)))
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            for _ in range(n):  # greedy: each proposal is pending for the next
                both = np.vstack([pending, chosen])
                acqf.set_X_pending(torch.from_numpy(both) if len(both) else None)
                x, value = self._best_unseen(acqf, space, fixed, seen)
                if x is None:  # every start ended on a tried configuration (a small discrete space)
                    current = dataclasses.replace(history, pending=history.pending + tuple(
                        space.decode(chosen) if len(chosen) else ()))
                    suggestion = self._believed(current, 1)[0]
                    x = space.encode([dict(suggestion.config)])[0]
                else:
                    suggestion = Suggestion(
                        space.decode(x[None, :])[0],
                        self._origin(gp, x, value, y_mean, y_std, history, n_pending=len(both), batch=n),
                    )
                seen.add(_config_key(space, suggestion.config))
                chosen = np.vstack([chosen, x[None, :]])
                out.append(suggestion)
        return out

    def _fit(self, space: SearchSpace, X: np.ndarray, y: np.ndarray, domain: MixedDomain) -> ExactGP:
        """The GP sampler's model and fit: warm-started from the last call's hyperparameters, refitted cold too."""
        key = space.to_json_string()
        start = self._last_params[1] if self._last_params is not None and self._last_params[0] == key else None
        gp = fit_gp(X, y, domain.categorical, start=start, maxiter=50 if start is not None else 200,
                    refit_cold=True, cold_maxiter=200, learn_mean=True)
        self._last_params = (key, gp.params)
        return gp

    def _best_unseen(
        self, acqf: Any, space: SearchSpace, fixed: list[dict[int, float]], seen: set[tuple]
    ) -> tuple[np.ndarray | None, float]:
        """BoTorch's search for one point; the best of its starts whose configuration is new."""
        dim = len(space)
        bounds = torch.stack([torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)])
        common = dict(
            acq_function=acqf, bounds=bounds, q=1, num_restarts=self.num_restarts, raw_samples=self.raw_samples,
            options={"maxiter": self.maxiter}, post_processing_func=_snapper(space), return_best_only=False,
        )
        if fixed:
            candidates, values = optim.optimize_acqf_mixed(fixed_features_list=fixed, **common)
        else:
            candidates, values = optim.optimize_acqf(**common)
        candidates = candidates.detach().reshape(-1, dim).numpy()
        values = values.detach().reshape(-1).numpy()
        for i in np.argsort(-values):
            if _config_key(space, space.decode(candidates[i : i + 1])[0]) not in seen:
                return candidates[i], float(values[i])
        return None, float("nan")

    def _category_combinations(self, space: SearchSpace, domain: MixedDomain, history: History) -> list[dict[int, float]]:
        """Fixed values of the categorical columns, one ``optimize_acqf`` search each.

        Every combination when there are at most ``max_category_combinations``; else
        the combinations of the best trials first (where the GP expects improvement
        most), then random others, up to that many.
        """
        columns = [j for j in range(len(space)) if domain.categorical[j]]
        if not columns:
            return []
        grids = [domain.grids[list(domain.discrete).index(j)] for j in columns]
        total = int(np.prod([len(g) for g in grids]))
        if total <= self.max_category_combinations:
            return [dict(zip(columns, map(float, values))) for values in itertools.product(*grids)]
        ranked = sorted(history.complete, key=lambda t: t.value, reverse=history.direction is Direction.MAXIMIZE)
        combos: list[tuple[float, ...]] = []
        for trial in ranked:
            unit = space.encode([dict(trial.config)])[0]
            combo = tuple(float(unit[j]) for j in columns)
            if combo not in combos:
                combos.append(combo)
            if len(combos) >= (self.max_category_combinations + 1) // 2:
                break
        while len(combos) < self.max_category_combinations:
            combo = tuple(float(g[self._rng.integers(len(g))]) for g in grids)
            if combo not in combos:
                combos.append(combo)
        return [dict(zip(columns, combo)) for combo in combos]

    def _origin(self, gp: ExactGP, x: np.ndarray, value: float, y_mean: float, y_std: float, history: History,
                *, n_pending: int, batch: int) -> Origin:
        n_complete, n_failed = len(history.complete), len(history.failed)
        posterior = gp.posterior_np(x[None, :])
        sign = 1.0 if history.direction is Direction.MAXIMIZE else -1.0  # back to the objective's units and sign
        fitted = f"a GP fitted on {n_complete} trials" + (f" and {n_failed} failed ones" if n_failed else "")
        pending = f", with {n_pending} running trial{'s' * (n_pending != 1)} pending" if n_pending else ""
        details = {
            "acquisition": "qlognei",
            "value": value,
            "predicted_value": sign * (float(posterior.mean[0]) * y_std + y_mean),
            "predicted_std": float(np.sqrt(posterior.var[0])) * y_std,
            "n_trials": n_complete,
            "n_failed": n_failed,
            "n_pending": n_pending,
            "batch": batch,
            "pending_method": "qLogNEI X_pending",
            "lengthscales": dict(zip(history.space.names, (float(v) for v in gp.lengthscales))),
        }
        return Origin(self.name, f"highest qLogNEI (BoTorch) under {fitted}{pending}", details)


def _snapper(space: SearchSpace):
    """BoTorch's ``post_processing_func``: unit-cube points moved to the valid configurations nearest them."""

    def snap(X: Any) -> Any:
        flat = X.detach().reshape(-1, X.shape[-1]).numpy()
        snapped = space.encode(space.decode(np.clip(flat, 0.0, 1.0)))
        return torch.from_numpy(np.asarray(snapped, dtype=np.float64)).reshape(X.shape).to(X)

    return snap


def _config_key(space: SearchSpace, config: Mapping[str, Any]) -> tuple:
    return tuple((name, repr(config[name])) for name in space.names)
