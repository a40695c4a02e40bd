"""BoTorch's default ``SingleTaskGP`` model, in NumPy: the GPs of the RGPE transfer ensemble.

The model is that of BoTorch 0.18's ``SingleTaskGP`` with ``fit_gpytorch_mll``
(Hvarfner et al. 2024, "Vanilla Bayesian optimization performs great in high
dimensions"):

* an RBF kernel with one length scale per dimension and no output scale (targets are
  standardised by the caller), length scales at least 0.025 under a
  ``LogNormal(sqrt2 + log(d) / 2, sqrt3)`` prior;
* a Gaussian likelihood with noise at least 1e-4 under a ``LogNormal(-4, 1)`` prior;
* a fitted constant mean without a prior;
* MAP by L-BFGS-B from the priors' modes, the objective divided by the number of
  points, as gpytorch's ``ExactMarginalLogLikelihood`` is.

Why not gpytorch itself: its fits took about a second each, and the transfer sampler
fits one per past study before its first step and one at every step; here a fit takes
milliseconds. Why not the GP sampler's GP (:mod:`._gp`, Matern-5/2 with an output scale
and Optuna's priors): in the RGPE ensemble it was measured worse on unrelated tasks,
while this model matched gpytorch's. Figures: ``benchmarks/results/samplers_notes.md``.

Inputs are unit-cube encodings, as BoTorch's ``Normalize`` would give; every column is
treated as continuous, as the gpytorch model did.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize

from ._likelihood import pairwise_log_likelihood
from .models import MIN_VARIANCE, PosteriorNP

__all__ = ["SingleTaskGPNP", "fit_singletask_gp", "fit_key", "FIT_VERSION"]

#: Names the model and its fit (priors, bounds, starting point, optimiser settings):
#: change it whenever :func:`fit_singletask_gp` would fit other hyperparameters on the
#: same points, so that hyperparameters kept from an earlier fit (:func:`fit_key`) are
#: not reused.
FIT_VERSION = "singletask-gp/1"

MIN_NOISE = 1e-4  # BoTorch's MIN_INFERRED_NOISE_LEVEL
LS_MIN = 0.025
_NOISE_PRIOR_LOC, _NOISE_PRIOR_SCALE = -4.0, 1.0


def _lengthscale_prior(dim: int) -> tuple[float, float]:
    return math.sqrt(2.0) + 0.5 * math.log(dim), math.sqrt(3.0)


class SingleTaskGPNP:
    """A fitted GP: hyperparameters fixed, the inverse Cholesky factor cached."""

    def __init__(self, X: np.ndarray, y: np.ndarray, lengthscales: np.ndarray, noise: float, mean: float) -> None:
        self.X = np.ascontiguousarray(X, dtype=float)
        self.y = np.ascontiguousarray(y, dtype=float)
        self.lengthscales = np.asarray(lengthscales, dtype=float)
        self.noise = float(noise)
        self.mean = float(mean)
        self._inverse_sq = 1.0 / self.lengthscales**2
        K = self.kernel(self.X, self.X)
        K[np.diag_indices(len(self.X))] += self.noise
        L = np.linalg.cholesky(K)  # the noise (>= 1e-4) keeps it positive definite
        self._L_inv_T = scipy.linalg.solve_triangular(L, np.eye(len(L)), lower=True).T
        self._alpha = self._L_inv_T @ (self._L_inv_T.T @ (self.y - self.mean))

    def hyperparameters(self) -> dict[str, Any]:
        """The fitted hyperparameters as plain JSON data (for :meth:`from_hyperparameters`)."""
        return {"lengthscales": [float(v) for v in self.lengthscales], "noise": self.noise, "mean": self.mean}

    @classmethod
    def from_hyperparameters(cls, X: np.ndarray, y: np.ndarray, state: Mapping[str, Any]) -> SingleTaskGPNP | None:
        """The GP on ``X``, ``y`` with kept hyperparameters; ``None`` when ``state`` is not a
        valid set of them for ``X`` (a damaged or foreign cache entry is refitted, not trusted)."""
        try:
            lengthscales = np.asarray(state["lengthscales"], dtype=float)
            noise, mean = float(state["noise"]), float(state["mean"])
        except (KeyError, TypeError, ValueError):
            return None
        valid = (
            lengthscales.shape == (np.shape(X)[1],) and np.all(np.isfinite(lengthscales)) and np.all(lengthscales > 0)
            and math.isfinite(noise) and noise >= MIN_NOISE and math.isfinite(mean)
        )
        if not valid:
            return None
        try:
            return cls(X, y, lengthscales, noise, mean)
        except np.linalg.LinAlgError:
            return None

    def kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """RBF covariance between ``A`` (m, d) and ``B`` (k, d): shape (m, k)."""
        return self._kernel_of(A[:, None, :] - B[None, :, :])

    def _kernel_of(self, diff: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((diff**2) @ self._inverse_sq))

    def posterior_np(self, x: np.ndarray, with_grad: bool = False) -> PosteriorNP:
        """Marginal posterior mean and variance of the latent function at ``x`` (k, d)
        (:class:`~.models.SurrogateModel`)."""
        diff = x[:, None, :] - self.X[None, :, :]  # (k, n, d)
        k = self._kernel_of(diff)
        v = k @ self._L_inv_T
        raw_var = 1.0 - np.einsum("kn,kn->k", v, v)
        posterior = PosteriorNP(self.mean + k @ self._alpha, np.maximum(raw_var, MIN_VARIANCE))
        if not with_grad:
            return posterior
        return PosteriorNP(posterior.mean, posterior.var, _RBFBackward(self, diff, k, v, raw_var > MIN_VARIANCE))

    def joint_posterior_np(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean (m,) and full covariance (m, m) of the latent function at ``x``."""
        k = self.kernel(x, self.X)
        v = k @ self._L_inv_T
        return self.mean + k @ self._alpha, self.kernel(x, x) - v @ v.T

    def loo_predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out predictive means and variances (noise included) at the training
        points, in closed form (Rasmussen & Williams, eq. 5.12): with
        ``alpha = K^-1 (y - m)``, ``y_i - alpha_i / [K^-1]_ii`` and ``1 / [K^-1]_ii``."""
        inverse_diagonal = np.maximum(np.einsum("ij,ij->i", self._L_inv_T, self._L_inv_T), 1e-12)
        return self.y - self._alpha / inverse_diagonal, 1.0 / inverse_diagonal


class _RBFBackward:
    """The chain rule from (mean, variance) back to the query points of :meth:`SingleTaskGPNP.posterior_np`."""

    def __init__(self, gp: SingleTaskGPNP, diff: np.ndarray, k: np.ndarray, v: np.ndarray, var_free: np.ndarray) -> None:
        self.gp, self.diff, self.k, self.v, self.var_free = gp, diff, k, v, var_free

    def __call__(self, d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
        gp = self.gp
        d_var = np.where(self.var_free, d_var, 0.0)  # a clamped variance does not move
        # mean = m + k alpha and var = 1 - |k L^-T|^2, so d/dk = d_mean alpha - 2 d_var v L^-1.
        d_k = d_mean[:, None] * gp._alpha[None, :] - 2.0 * d_var[:, None] * (self.v @ gp._L_inv_T.T)
        # RBF: dk/dx_j = -k (x_j - X_j) / l_j^2.
        return -gp._inverse_sq * np.einsum("kn,knd->kd", d_k * self.k, self.diff)


def _negative_log_posterior(
    vector: np.ndarray, pair_sqdiff: np.ndarray, upper: tuple[np.ndarray, np.ndarray], y: np.ndarray
) -> tuple[float, np.ndarray]:
    """MAP objective per point and its gradient, in the unconstrained parameters
    ``(log length scales, log(noise - MIN_NOISE), mean)``; ``pair_sqdiff`` holds the
    squared differences of each pair ``i < j`` (the kernel is symmetric, its diagonal 1).

    With ``W = alpha alpha^T - K^-1``, d(log likelihood)/dt = tr(W dK/dt) / 2.
    """
    dim = pair_sqdiff.shape[-1]
    n = len(y)
    log_ls, raw_noise, mean = vector[:dim], float(vector[dim]), float(vector[dim + 1])
    inverse_sq = np.exp(-2.0 * log_ls)
    excess_noise = math.exp(raw_noise)
    noise = MIN_NOISE + excess_noise
    k_pairs = np.exp(-0.5 * (pair_sqdiff @ inverse_sq))
    fitted = pairwise_log_likelihood(k_pairs, 1.0 + noise, upper, y - mean)
    if fitted is None:
        return math.inf, np.zeros_like(vector)
    log_likelihood, alpha, W = fitted

    loc, scale = _lengthscale_prior(dim)
    log_noise = math.log(noise)
    # LogNormal densities of the length scales and of the noise (constants dropped).
    log_prior = float((-((log_ls - loc) ** 2) / (2 * scale * scale) - log_ls).sum())
    log_prior += -((log_noise - _NOISE_PRIOR_LOC) ** 2) / (2 * _NOISE_PRIOR_SCALE**2) - log_noise

    grad = np.empty_like(vector)
    # dK/dlog l_j = k * sqdiff_j / l_j^2 on each pair (counted twice in tr(W dK), so the 1/2 cancels).
    grad[:dim] = inverse_sq * ((W[upper] * k_pairs) @ pair_sqdiff) - (log_ls - loc) / (scale * scale) - 1.0
    d_noise = 0.5 * float(np.trace(W)) + (-(log_noise - _NOISE_PRIOR_LOC) / _NOISE_PRIOR_SCALE**2 - 1.0) / noise
    grad[dim] = d_noise * excess_noise
    grad[dim + 1] = float(alpha.sum())
    return -(log_likelihood + log_prior) / n, -grad / n


def fit_key(X: np.ndarray, y: np.ndarray) -> str:
    """What determines the hyperparameters :func:`fit_singletask_gp` fits on ``X``, ``y``: a
    digest of the exact points and targets, and of :data:`FIT_VERSION`.

    The fit is deterministic, so hyperparameters kept under this key are the ones a new fit
    on the same points would give; any change of the points (another subset, another
    mapping into a new space, a trial more) changes the key.
    """
    X = np.ascontiguousarray(X, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    digest = hashlib.sha256(FIT_VERSION.encode())
    digest.update(np.array(X.shape, dtype=np.int64).tobytes())
    digest.update(X.tobytes())
    digest.update(y.tobytes())
    return digest.hexdigest()[:32]


def fit_singletask_gp(X: np.ndarray, y: np.ndarray) -> SingleTaskGPNP:
    """MAP fit on already standardised targets ``y``, from the priors' modes (as
    ``fit_gpytorch_mll`` starts from gpytorch's initial values, which BoTorch sets there)."""
    X = np.ascontiguousarray(X, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    dim = X.shape[1]
    upper = np.triu_indices(len(X), 1)
    diff = X[upper[0]] - X[upper[1]]
    pair_sqdiff = diff * diff
    loc, scale = _lengthscale_prior(dim)
    noise_mode = math.exp(_NOISE_PRIOR_LOC - _NOISE_PRIOR_SCALE**2)
    x0 = np.concatenate([np.full(dim, max(loc - scale * scale, math.log(LS_MIN))), [math.log(noise_mode - MIN_NOISE)], [0.0]])
    bounds = [(math.log(LS_MIN), math.log(1e4))] * dim + [(math.log(1e-9), math.log(10.0)), (float(y.min()), float(y.max()))]
    result = scipy.optimize.minimize(
        _negative_log_posterior, x0, args=(pair_sqdiff, upper, y), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 200},
    )
    v = result.x if np.isfinite(result.fun) else x0
    return SingleTaskGPNP(X, y, np.exp(v[:dim]), MIN_NOISE + math.exp(v[dim]), float(v[dim + 1]))
