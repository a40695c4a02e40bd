"""The RGPE transfer ensemble as a model (:class:`~.models.SurrogateModel`), and its weights.

Feurer, Letham, Hutter & Bakshy (2018), "Scalable meta-learning for Bayesian
optimization using ranking-weighted Gaussian process ensembles". The members are
:class:`~._singletask_gp.SingleTaskGPNP` models, one per past study and one on the
current study's trials. :func:`ranking_weights` weighs them by how well they order the
current study's observations; :class:`WeightedEnsemble` is the plain RGPE posterior,
and :class:`StackedEnsemble` models the current study as a GP on the residuals of the
weighted past models (stacking, as in Google Vizier's transfer learning, Golovin et
al. 2017). The sampler that uses them is :class:`~.transfer.TransferSampler`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._singletask_gp import SingleTaskGPNP, fit_singletask_gp
from .models import MIN_VARIANCE, Backward, PosteriorNP, SurrogateModel, standardize

__all__ = ["MEMBER_DDOF", "WeightedEnsemble", "StackedEnsemble", "ranking_weights"]

#: Query points per member call when no gradient is asked for: bounds the (chunk, n, d)
#: differences a member forms while thousands of candidates are scored.
CHUNK = 1024

#: The ddof with which the members' scores are standardised (the unbiased std, as
#: BoTorch's ``Standardize``): see :func:`~.models.standardize`.
MEMBER_DDOF = 1


@dataclass(frozen=True)
class WeightedEnsemble:
    """RGPE's posterior: mean ``sum_i w_i mu_i(x)``, variance ``sum_i w_i^2 var_i(x)``.

    Members of weight 0 are not evaluated.
    """

    models: Sequence[SurrogateModel]
    weights: np.ndarray

    def posterior_np(self, x: np.ndarray, with_grad: bool = False) -> PosteriorNP:
        return _clamped(*self.moments(x, with_grad))

    def moments(self, x: np.ndarray, with_grad: bool = False) -> tuple[np.ndarray, np.ndarray, Backward | None]:
        """The weighted sums, unclamped, and their backward map when ``with_grad``."""
        mean = np.zeros(len(x))
        variance = np.zeros(len(x))
        used: list[tuple[float, PosteriorNP]] = []
        for model, weight in zip(self.models, self.weights):
            if weight <= 0:
                continue
            for rows in _row_slices(len(x), with_grad):
                posterior = model.posterior_np(x[rows], with_grad=with_grad)
                mean[rows] += weight * posterior.mean
                variance[rows] += weight**2 * posterior.var
                if with_grad:
                    used.append((float(weight), posterior))
        if not with_grad:
            return mean, variance, None

        def backward(d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
            grad = np.zeros_like(x, dtype=float)
            for weight, posterior in used:
                grad += posterior.backward(weight * d_mean, weight**2 * d_var)
            return grad

        return mean, variance, backward


@dataclass(frozen=True)
class StackedEnsemble:
    """The past models' weighted mean as the prior mean of a GP on the current study's residuals.

    Mean ``sum_i w_i mu_i(x) + r(x)`` and variance ``sum_i w_i^2 var_i(x) + var_r(x)``,
    where ``r`` is a GP fitted to ``y - sum_i w_i mu_i`` at the current study's points
    (standardised: ``r = centre + scale * residual``). Near those points the prediction
    follows what was observed; elsewhere it is the past models' (shifted). The weights
    are the past models' RGPE weights, which shrink as the current study's own GP wins
    the ranking: with all weight on it, this is the current study's plain GP.
    """

    past: WeightedEnsemble
    residual: SingleTaskGPNP
    centre: float
    scale: float

    @classmethod
    def fit(
        cls, past: WeightedEnsemble, x_target: np.ndarray, y_target: np.ndarray, min_scale: float = 0.0
    ) -> StackedEnsemble:
        """Fit the residual GP on the current study's points ``x_target`` and standardised scores ``y_target``.

        ``min_scale`` is a least scale of the residual GP (in ``y_target``'s standardised
        units): where the past mean happens to fit the first results closely, the fitted
        scale, and with it the ensemble's uncertainty away from the past's optimum, is
        tiny, and the study keeps following the past. With the floor, the residual GP's
        mean and spread are both scaled up to it: a result the past mispredicted by a
        little then moves the prediction near it as one it mispredicted by the floor
        would, and the uncertainty elsewhere stays at least the floor's.
        """
        if not min_scale >= 0.0:
            raise ValueError(f"`min_scale` must be a number >= 0, but got min_scale={min_scale!r}.")
        residual = y_target - past.moments(x_target)[0]
        z, centre, scale = standardize(residual, ddof=MEMBER_DDOF)
        return cls(past, fit_singletask_gp(x_target, z), centre, max(scale, min_scale))

    def posterior_np(self, x: np.ndarray, with_grad: bool = False) -> PosteriorNP:
        mean, variance, past_backward = self.past.moments(x, with_grad)
        own = self.residual.posterior_np(x, with_grad=with_grad)
        mean = mean + self.centre + self.scale * own.mean
        variance = variance + self.scale**2 * own.var
        if not with_grad:
            return _clamped(mean, variance, None)

        def backward(d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
            return past_backward(d_mean, d_var) + own.backward(self.scale * d_mean, self.scale**2 * d_var)

        return _clamped(mean, variance, backward)


def _row_slices(n: int, whole: bool) -> list[slice]:
    # A gradient needs one backward map per member, so gradient calls (a few points at
    # a time) are not chunked.
    if whole:
        return [slice(0, n)]
    return [slice(start, start + CHUNK) for start in range(0, n, CHUNK)]


def _clamped(mean: np.ndarray, variance: np.ndarray, backward: Backward | None) -> PosteriorNP:
    """The posterior with the variance clamped at :data:`~.models.MIN_VARIANCE` (no gradient where clamped)."""
    clamped = np.maximum(variance, MIN_VARIANCE)
    if backward is None:
        return PosteriorNP(mean, clamped)
    free = variance > MIN_VARIANCE

    def clamped_backward(d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
        return backward(d_mean, np.where(free, d_var, 0.0))

    return PosteriorNP(mean, clamped, clamped_backward)


# ---------------------------------------------------------------------- weights


def ranking_weights(
    base_models: Sequence[SingleTaskGPNP],
    target_model: SingleTaskGPNP | None,
    x_target: np.ndarray,
    y_target: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    drop_worse_from: int = 5,
) -> np.ndarray:
    """RGPE weights of ``base_models`` (+ ``target_model`` last, when given), summing to 1.

    A weight is the share of posterior samples in which that model ranks the current
    study's observations best (fewest misordered pairs); the target's own GP is judged
    on leave-one-out predictions so that it does not win by having seen the points.
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
    losses = [_misranked_pairs(_joint_samples(model, x_target, n_samples, rng), y_target) for model in base_models]
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


def _joint_samples(model: SingleTaskGPNP, x: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Samples ``(S, n)`` of the model's joint posterior at ``x``."""
    mean, covariance = model.joint_posterior_np(x)
    # Drawn from ``rng``, so a seeded study repeats and no global generator is touched.
    factor = _psd_cholesky(covariance)
    return mean[None, :] + rng.standard_normal((n_samples, len(mean))) @ factor.T


#: Sample rows compared at once by :func:`_misranked_pairs`: bounds its (rows, n, n)
#: comparison to ~2 MB at 256 observations, which stays in cache (all 256 rows at once
#: made a 256 x n x n array: 1 GB at 2,000 observations, and 2-3x slower at 256).
_RANK_CHUNK = 32


def _misranked_pairs(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each sample row, the number of ordered pairs ``(i, j)`` on which ``samples[i] < samples[j]``
    and ``y[i] < y[j]`` disagree."""
    truth = y[:, None] < y[None, :]
    counts = np.empty(len(samples), dtype=np.int64)
    for start in range(0, len(samples), _RANK_CHUNK):
        rows = samples[start : start + _RANK_CHUNK]
        disagree = rows[:, :, None] < rows[:, None, :]
        np.logical_xor(disagree, truth[None], out=disagree)
        counts[start : start + len(rows)] = np.count_nonzero(disagree.reshape(len(rows), -1), axis=1)
    return counts


def _loo_samples(model: SingleTaskGPNP, n_samples: int, rng: np.random.Generator) -> np.ndarray:
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
