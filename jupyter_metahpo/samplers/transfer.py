"""Transfer during refinement: a ranking-weighted ensemble of per-task GPs (RGPE).

Feurer, Letham, Hutter & Bakshy (2018), "Scalable meta-learning for Bayesian
optimization using ranking-weighted Gaussian process ensembles". One GP is fitted
per compatible past study (once, then cached) and one on the current study's trials.
Their posteriors are combined with weights: the mean is ``sum_i w_i mu_i(x)`` and the
variance ``sum_i w_i^2 sigma_i^2(x)``. A weight is the share of posterior samples in
which that model ranks the current study's observations best (fewest misordered
pairs); the current study's own GP is judged on leave-one-out predictions so it does
not win by having seen the points. A past task that misleads on this task ranks the
new observations badly and loses its weight as evidence accumulates; past models
much worse than the current one are dropped altogether (the paper's guard against
weight dilution).

By default the current study is not one more member of that sum but a GP on its
residuals (stacking, as in Google Vizier's transfer learning, Golovin et al. 2017):
the mean is ``sum_i w_i mu_i(x) + r(x)``, where ``r`` is fitted to what the weighted
past models got wrong at this study's points, and the variance adds ``r``'s. The plain
RGPE mean ignores the study's own results wherever the past models carry the weight,
so a region they all recommend keeps being proposed after it has failed here; the
stacked mean follows the observations near them. ``stacking=False`` gives plain RGPE.
The next configuration maximises log expected improvement (BoTorch's
``LogExpectedImprovement`` numerics, :mod:`._acquisition`) under the ensemble, over a
candidate set of Sobol points and local perturbations of good points, snapped to valid
configurations so that integers and categories are scored as they will be evaluated.

The weights are visible: ``sampler.weights_`` after each call, and in every
suggestion's ``Origin("transfer", reason, {"weights": ..., ...})``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..meta.compat import TransferredStudy
from ..meta.strategies import TaskDescription, name_and_space_similarities, prepare, task_similarities
from ..space import SearchSpace
from ..trial import Origin
from .base import History, Sampler, Suggestion

__all__ = ["TransferSampler", "ranking_weights"]

CURRENT = "current study"

#: Candidates closer than this (L-inf, unit cube) to a tried or pending configuration are
#: not proposed: on a plateau of equal scores the acquisition would otherwise propose
#: near-copies of the incumbent again and again, and re-running a configuration that
#: differs by under 1% of every range teaches nothing on noisy objectives.
MIN_DISTANCE = 0.01


class TransferSampler(Sampler):
    """Bayesian refinement on a ranking-weighted ensemble of past-task GPs and the current GP.

    Parameters
    ----------
    past:
        Past studies; those compatible with the study's space are used.
    task:
        The new task's description, used to pick the most similar past studies when
        there are more than ``max_past``.
    seed:
        Seeds the candidate set and the ranking samples.
    max_past:
        At most this many past studies get a GP (the most similar ones). 16 rather
        than 8: on the 120 held-out prior pools that chose it (seed 0,
        ``benchmarks/results/ablation_refiner_32.md``) the default's regret at trial 10
        fell from 0.026 to 0.021; on the other 338 pools from 0.021 to 0.020 (and no
        worse at trials 1, 5 and 25). 32 did about as well for more time per suggestion.
    max_points_per_task:
        A past study's GP sees at most this many trials (its best half, and a spread
        of the rest).
    n_candidates:
        Sobol candidates scored by the acquisition function per suggestion.
    n_samples:
        Posterior samples used to compute the ranking weights.
    past_best_points:
        Also offer the acquisition this many best configurations of each past task
        with a weight above 0.05, unperturbed (0: only perturbations around their best).
    drop_worse_from:
        From this many results of the current study on, past models that rank them
        clearly worse than the current study's own GP get no weight. Keeping them
        until 10 results, or always, changed nothing on 120 held-out prior pools
        (``benchmarks/results/ablation_drop_worse.md``).
    stacking:
        Model the current study as a GP on the residuals of the weighted past models'
        mean (default) rather than as one more weighted member of the ensemble. Chosen
        on 120 held-out prior pools and checked on the 338 others with seeds 0 and 1:
        mean regret at trial 10 0.0176 against 0.0210 (paired standard error 0.0021),
        the same at trial 25 (over all 458 pools, lower in every family). The gain
        comes mostly from a few pools where the past tasks' favourite region scores at
        chance (``benchmarks/results/ablation_stacking_all.md``, ``..._seed1.md``).
    """

    name = "transfer"

    def __init__(
        self,
        past: Sequence[PastStudy],
        task: TaskDescription | None = None,
        seed: int | None = None,
        max_past: int = 16,
        max_points_per_task: int = 60,
        n_candidates: int = 2048,
        n_samples: int = 256,
        past_best_points: int = 0,
        drop_worse_from: int = 5,
        stacking: bool = True,
    ) -> None:
        for label, value, low in (
            ("max_past", max_past, 0),
            ("past_best_points", past_best_points, 0),
            ("drop_worse_from", drop_worse_from, 2),
            ("max_points_per_task", max_points_per_task, 2),
            ("n_candidates", n_candidates, 16),
            ("n_samples", n_samples, 8),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{label}` must be an integer >= {low}, but got {label}={value!r}.")
        if not isinstance(stacking, bool):
            raise ValueError(f"`stacking` must be True or False, but got stacking={stacking!r}.")
        self.past = list(past)
        self.task = task or TaskDescription()
        self.seed = seed
        self.max_past = max_past
        self.max_points_per_task = max_points_per_task
        self.n_candidates = n_candidates
        self.n_samples = n_samples
        self.past_best_points = past_best_points
        self.drop_worse_from = drop_worse_from
        self.stacking = stacking
        self._rng = np.random.default_rng(seed)
        self._space_key: str | None = None
        self._base: list[tuple[str, TransferredStudy, Any]] = []
        self.weights_: dict[str, float] = {}

    # -- past models ----------------------------------------------------------------
    def _base_models(self, space: SearchSpace) -> list[tuple[str, TransferredStudy, Any]]:
        key = space.to_json_string()
        if key == self._space_key:
            return self._base
        studies = [t for t in prepare(space, self.past) if len(t.scores) >= 3 and np.ptp(t.scores) > 0]
        similarity = task_similarities(self.task, studies)
        if similarity is None or not np.any(similarity > 0):
            similarity = name_and_space_similarities(self.task, studies)
        order = np.lexsort((-np.array([len(t.scores) for t in studies]), -similarity))[: self.max_past]
        labels = _unique_labels([studies[i] for i in order])
        self._base = []
        for label, i in zip(labels, order):
            t = studies[int(i)]
            keep = self._subset(t)
            self._base.append((label, t, _fit_gp(t.unit[keep], _standardise(t.scores[keep]))))
        self._space_key = key
        return self._base

    def _subset(self, t: TransferredStudy) -> np.ndarray:
        ranked = np.array(t.ranked())
        if len(ranked) <= self.max_points_per_task:
            return ranked
        half = self.max_points_per_task // 2
        rest = ranked[half:]
        spread = rest[np.linspace(0, len(rest) - 1, self.max_points_per_task - half).astype(int)]
        return np.concatenate([ranked[:half], spread])

    # -- suggest --------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        from ._acquisition import log_h
        from .botorch import torch_threads

        space = history.space
        complete = history.complete
        with torch_threads(1):
            base = self._base_models(space)
            x_target = space.encode([t.config for t in complete]) if complete else np.empty((0, len(space)))
            raw = history.scores() if complete else np.empty(0)
            y_target = _standardise(raw) if len(raw) else raw
            target_model = _fit_gp(x_target, y_target) if len(raw) >= 2 and np.ptp(raw) > 0 else None
            labels = [label for label, _, _ in base] + ([CURRENT] if target_model is not None else [])
            models = [m for _, _, m in base] + ([target_model] if target_model is not None else [])
            if not models:
                raise RuntimeError(
                    "the transfer sampler has neither a compatible past study nor two distinct results of this "
                    "study to model; use it after an initial design (DefaultSampler does)."
                )
            weights = ranking_weights(
                [m for _, _, m in base], target_model, x_target, y_target, self.n_samples, self._rng,
                drop_worse_from=self.drop_worse_from,
            )
            self.weights_ = {label: float(w) for label, w in zip(labels, weights)}
            # Without results of its own yet, improve on the past tasks' average (0 once standardised).
            best_f = float(y_target.max()) if len(y_target) else 0.0
            candidates = self._candidates(space, history, x_target, y_target, base, weights)
            if self.stacking and target_model is not None:
                means, variances = _stacked_posterior(models[:-1], weights[:-1], x_target, y_target, candidates)
            else:
                means, variances = _ensemble_posterior(models, weights, candidates)
            sigma = np.sqrt(np.maximum(variances, 1e-12))
            scores = log_h((means - best_f) / sigma) + np.log(sigma)  # log expected improvement
            chosen = _pick_diverse(candidates, scores, n)
        return [self._suggestion(space, candidates[c], means[c], raw, history) for c in chosen]

    def _candidates(self, space, history, x_target, y_target, base, weights) -> np.ndarray:
        """Sobol points plus perturbations of the best current points and of the weighted past bests."""
        from scipy.stats import qmc

        dim = len(space)
        sobol = qmc.Sobol(d=dim, scramble=True, seed=self._rng).random(self.n_candidates)
        parts = [sobol]
        centres = []
        if len(y_target):
            centres.extend(x_target[np.argsort(-y_target)[:5]])
        for (_, t, _), w in zip(base, weights):
            if w > 0.05:
                centres.append(t.unit[t.best_index])
                if self.past_best_points:  # its own best configurations too, as they are
                    parts.append(t.unit[t.ranked()[: self.past_best_points]])
        for centre in centres:
            for scale in (0.02, 0.08):
                parts.append(np.clip(centre + self._rng.normal(0, scale, (64, dim)), 0, 1))
        points = np.vstack(parts)
        snapped = space.encode(space.decode(points))  # score integers and categories as evaluated
        snapped = np.unique(np.round(snapped, 12), axis=0)
        seen = history.seen_configs()
        if seen:
            taken = space.encode([dict(c) for c in seen])
            distance = np.abs(snapped[:, None, :] - taken[None, :, :]).max(axis=2).min(axis=1)
            fresh = snapped[distance >= MIN_DISTANCE]
            if len(fresh):
                snapped = fresh
        return snapped

    def _suggestion(self, space, unit, mean, raw, history) -> Suggestion:
        config = space.decode(unit[None, :])[0]
        predicted = None
        if len(raw) >= 2 and np.std(raw) > 0:  # undo _standardise (the ensemble speaks in the current study's scale)
            predicted = float(mean * np.std(raw, ddof=1) + np.mean(raw))
            if history.direction.value == "minimize":
                predicted = -predicted
        top = sorted(self.weights_.items(), key=lambda item: -item[1])[:3]
        weight_text = ", ".join(f"{label} {weight:.2f}" for label, weight in top)
        model = "RGPE, this study's GP stacked on the past mean" if self.stacking else "RGPE"
        reason = f"transfer GP ensemble ({model}) maximised log expected improvement; weights: {weight_text}"
        past_weight = sum(w for label, w in self.weights_.items() if label != CURRENT)
        details = {
            "strategy": "rgpe",
            "weights": dict(self.weights_),
            "past_weight": float(past_weight),
            "source_task": [label for label, w in top if label != CURRENT and w > 0],
            "predicted": predicted,
        }
        return Suggestion(config, Origin(self.name, reason, details))

    def __repr__(self) -> str:
        return f"TransferSampler(past={len(self.past)} studies, seed={self.seed!r}, max_past={self.max_past})"


# ---------------------------------------------------------------------- weights


def ranking_weights(
    base_models: Sequence[Any],
    target_model: Any | None,
    x_target: np.ndarray,
    y_target: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    drop_worse_from: int = 5,
) -> np.ndarray:
    """RGPE weights of ``base_models`` (+ ``target_model`` last, when given), summing to 1.

    From ``drop_worse_from`` target observations on, past models clearly worse than the
    target's own GP get no weight (the paper's guard against weight dilution).

    With fewer than two target observations nothing can be ranked: the past models
    share the weight equally.
    """
    n_models = len(base_models) + (target_model is not None)
    if len(y_target) < 2:
        weights = np.zeros(n_models)
        weights[: len(base_models)] = 1.0 / max(len(base_models), 1)
        if not base_models:
            weights[-1] = 1.0
        return weights
    losses = []
    for model in base_models:
        mean, covariance = model.joint_posterior_np(x_target)
        # Drawn from ``rng``, so a seeded study repeats and no global generator is touched.
        factor = _psd_cholesky(covariance)
        samples = mean[None, :] + rng.standard_normal((n_samples, len(mean))) @ factor.T  # (S, n)
        losses.append(_misranked_pairs(samples, y_target))
    if target_model is not None:
        losses.append(_misranked_pairs(_loo_samples(target_model, n_samples, rng), y_target))
    loss = np.array(losses)  # (models, S)
    if target_model is not None and len(y_target) >= drop_worse_from:
        # Drop past models clearly worse than the current one (weight dilution guard).
        threshold = np.percentile(loss[-1], 95)
        worse = np.median(loss[:-1], axis=1) > threshold
        loss[:-1][worse] = np.iinfo(np.int64).max
    # Each sample votes for the model with the fewest misordered pairs; ties split at random.
    jitter = rng.random(loss.shape) * 0.5
    winners = np.argmin(loss + jitter, axis=0)
    return np.bincount(winners, minlength=n_models) / loss.shape[1]


def _misranked_pairs(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each sample row, the number of pairs ordered differently from ``y``."""
    truth = y[:, None] < y[None, :]
    predicted = samples[:, :, None] < samples[:, None, :]
    return (predicted ^ truth[None]).sum(axis=(1, 2)).astype(np.int64)


def _loo_samples(model: Any, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Leave-one-out predictive samples of a fitted exact GP at its own training points
    (closed form: :meth:`~._singletask_gp.SingleTaskGPNP.loo_predictions`)."""
    mean, variance = model.loo_predictions()
    return mean[None, :] + np.sqrt(variance)[None, :] * rng.standard_normal((n_samples, len(mean)))


def _psd_cholesky(covariance: np.ndarray) -> np.ndarray:
    """A Cholesky factor of a posterior covariance, with jitter where rounding made it indefinite."""
    jitter = 1e-10 * max(float(np.mean(np.diag(covariance))), 1e-12)
    for _ in range(8):
        try:
            return np.linalg.cholesky(covariance + jitter * np.eye(len(covariance)))
        except np.linalg.LinAlgError:
            jitter *= 10.0
    # Still indefinite: keep the marginal variances, drop the correlations.
    return np.diag(np.sqrt(np.maximum(np.diag(covariance), 0.0)))


# ---------------------------------------------------------------------- models


def _standardise(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    # ddof=1, as for the gpytorch SingleTaskGPs this ensemble was measured with (BoTorch checks for it).
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return (values - values.mean()) / (std if std > 0 else 1.0)


def _fit_gp(x: np.ndarray, y: np.ndarray):
    """BoTorch's default ``SingleTaskGP`` model on already standardised targets, fitted in
    NumPy (:mod:`._singletask_gp`: the same model, milliseconds instead of ~1 s)."""
    from ._singletask_gp import fit_singletask_gp

    return fit_singletask_gp(x, y)


def _ensemble_posterior(models: Sequence[Any], weights: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGPE's marginal posterior at ``x``: mean ``sum_i w_i mu_i``, variance ``sum_i w_i^2 var_i``."""
    mean = np.zeros(len(x))
    variance = np.zeros(len(x))
    for model, weight in zip(models, weights):
        if weight <= 0:
            continue
        for start in range(0, len(x), 1024):  # bounded memory: (chunk, n, d) differences
            posterior = model.posterior_np(x[start : start + 1024])
            mean[start : start + 1024] += weight * posterior.mean
            variance[start : start + 1024] += weight**2 * posterior.var
    return mean, variance


def _stacked_posterior(
    past_models: Sequence[Any], past_weights: np.ndarray, x_target: np.ndarray, y_target: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The past models' weighted mean as the prior mean of a GP on the current study's residuals.

    Mean ``sum_i w_i mu_i(x) + r(x)`` and variance ``sum_i w_i^2 var_i(x) + var_r(x)``, where
    ``r`` is a GP fitted to ``y - sum_i w_i mu_i`` at the current study's points. Near
    those points the prediction follows what was observed; elsewhere it is the past
    models' (shifted). The weights are the past models' RGPE weights, which shrink as
    the current study's own GP wins the ranking: with all weight on it, this is the
    current study's plain GP.
    """
    residual = y_target - _ensemble_posterior(past_models, past_weights, x_target)[0]
    centre, scale = residual.mean(), residual.std(ddof=1)
    scale = scale if scale > 0 else 1.0
    residual_model = _fit_gp(x_target, (residual - centre) / scale)
    means, variances = _ensemble_posterior(past_models, past_weights, x)
    posterior = residual_model.posterior_np(x)
    return means + centre + scale * posterior.mean, variances + scale**2 * posterior.var


def _pick_diverse(candidates: np.ndarray, scores: np.ndarray, n: int, radius: float = 0.02) -> list[int]:
    """The ``n`` best-scoring candidates, each at least ``radius`` (L-inf) from those picked before."""
    chosen: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if len(chosen) >= n:
            break
        if all(np.abs(candidates[index] - candidates[c]).max() >= radius for c in chosen):
            chosen.append(int(index))
    for index in np.argsort(-scores, kind="stable"):  # too few far apart: fill with the next best
        if len(chosen) >= n:
            break
        if int(index) not in chosen:
            chosen.append(int(index))
    return chosen


def _unique_labels(studies: Sequence[TransferredStudy]) -> list[str]:
    labels = []
    counts: dict[str, int] = {}
    for t in studies:
        counts[t.study.task_name] = counts.get(t.study.task_name, 0) + 1
    for t in studies:
        name = t.study.task_name
        labels.append(name if counts[name] == 1 else f"{name} ({t.study.study_id})")
    return labels

