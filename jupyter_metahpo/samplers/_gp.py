"""A lean exact Gaussian process, fitted by MAP with scipy's L-BFGS-B on a NumPy objective.

The model of the GP sampler (:mod:`.gp`), implementing :class:`~.models.SurrogateModel`.
It is the same kind of model as gpytorch's ``SingleTaskGP``, written as a handful of
dense array operations because gpytorch's per-call overhead (linear operators,
settings contexts, a module tree) made one suggestion take seconds where this takes a
fraction of a second (measurements: ``benchmarks/results/samplers_notes.md``). The
fitted model keeps torch tensors (the Cholesky factorisation, and the torch posterior
that :class:`~.botorch_model.GPModel` shows to BoTorch) and NumPy copies for the
acquisition search:

* Matern-5/2 kernel with one length scale per dimension (ARD) and an output scale;
  categorical dimensions use the Hamming distance (0 when equal, 1 when not), so
  their options are unordered and need no one-hot columns;
* a Gaussian likelihood with a learned noise variance bounded below by ``MIN_NOISE``;
* a constant prior mean, either fixed at 0 (the average of the standardised
  observations) or fitted with the other hyperparameters (``learn_mean``, as BoTorch's
  ``ConstantMean``), within the observed range and without a prior;
* MAP hyperparameters under the priors of Optuna's GPSampler (see :func:`_log_prior`
  for why not BoTorch's default priors);
* inputs are already in the unit cube (``SearchSpace.encode``), which is exactly what
  BoTorch's ``Normalize`` input transform would produce, so no input transform is
  applied; outputs are standardised by the caller (:func:`~.models.standardize`).

All tensors are float64. Shapes are given as ``(n, d)`` for training inputs and
``(..., d)`` for query points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from .._imports import LazyImport
from ._likelihood import pairwise_log_likelihood
from .models import MIN_VARIANCE, PosteriorNP

torch = LazyImport("torch")  # loaded when the first GP is fitted

__all__ = ["GPParams", "ExactGP", "fit_gp"]

#: Lower bound on the noise variance (standardised units): keeps the Cholesky
#: factorisation stable when the objective is deterministic.
MIN_NOISE = 1e-6
#: Shortest length scale allowed (unit-cube units), as BoTorch's default constraint.
LS_MIN = 0.025
_SQRT5 = math.sqrt(5.0)


@dataclass(frozen=True)
class GPParams:
    """Unconstrained hyperparameters: log length scales (d,), log output scale, log excess
    noise, and the constant prior mean (standardised units)."""

    log_lengthscales: np.ndarray
    log_outputscale: float
    log_noise: float
    mean: float = 0.0

    def as_vector(self) -> np.ndarray:
        return np.concatenate([self.log_lengthscales, [self.log_outputscale, self.log_noise, self.mean]])

    @classmethod
    def from_vector(cls, vector: np.ndarray) -> GPParams:
        return cls(np.array(vector[:-3], dtype=float), float(vector[-3]), float(vector[-2]), float(vector[-1]))

    @classmethod
    def default(cls, dim: int) -> GPParams:
        """The starting point of a cold fit: unit length and output scales, small noise."""
        return cls(np.zeros(dim), 0.0, math.log(1e-3))


def _log_prior(log_ls: np.ndarray, log_os: float, noise: float) -> tuple[float, np.ndarray, float, float]:
    """Log prior density of the hyperparameters (constants dropped), and its derivatives
    with respect to the log length scales, the log output scale and the noise variance.

    These are the priors of Optuna's GPSampler. BoTorch's dimension-scaled log-normal
    length-scale prior let length scales grow long with large output scales, so the
    posterior variance peaked at the corners of the cube
    (``benchmarks/results/samplers_notes.md``).
    """
    inverse_sq = np.exp(-2.0 * log_ls)
    outputscale = math.exp(log_os)
    # Penalises both very short and very long length scales (optimum at length 1).
    lengthscale_term = -float((0.1 / inverse_sq + 0.1 * inverse_sq).sum())
    outputscale_term = log_os - outputscale  # Gamma(2, 1)
    noise_term = 0.1 * math.log(noise) - 30.0 * noise  # Gamma(1.1, 30): small noise
    d_log_ls = -0.2 / inverse_sq + 0.2 * inverse_sq
    return lengthscale_term + outputscale_term + noise_term, d_log_ls, 1.0 - outputscale, 0.1 / noise - 30.0


def _matern52(squared_distance: torch.Tensor) -> torch.Tensor:
    # The clamp keeps the gradient of sqrt finite at zero distance (the diagonal),
    # where the kernel's true derivative with respect to the distance is zero.
    r = torch.sqrt(squared_distance.clamp_min(1e-30))
    sqrt5r = _SQRT5 * r
    return (1.0 + sqrt5r + (5.0 / 3.0) * squared_distance) * torch.exp(-sqrt5r)


class ExactGP:
    """A fitted GP: hyperparameters fixed, Cholesky factor cached for fast posteriors.

    ``X`` is ``(n, d)`` in the unit cube, ``y`` is ``(n,)`` standardised;
    ``categorical`` is a boolean ``(d,)`` mask of the dimensions compared by Hamming
    distance.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, categorical: torch.Tensor, params: GPParams) -> None:
        self.X = X
        self.y = y
        self.categorical = categorical
        self.params = params
        self.inv_lengthscales = torch.from_numpy(np.exp(-params.log_lengthscales))
        self.outputscale = math.exp(params.log_outputscale)
        self.noise = MIN_NOISE + math.exp(params.log_noise)
        self.mean = params.mean
        with torch.no_grad():
            K = self.kernel(X, X)
            K.diagonal().add_(self.noise)
            self.L = _robust_cholesky(K)
            self.alpha = torch.cholesky_solve((y - self.mean).unsqueeze(-1), self.L).squeeze(-1)
            # The inverse factor turns every posterior variance into one matrix product,
            # which is several times faster than a triangular solve per batch of points
            # (and stable here: K carries at least MIN_NOISE on its diagonal).
            eye = torch.eye(len(y), dtype=X.dtype)
            self.L_inv_T = torch.linalg.solve_triangular(self.L, eye, upper=False).T.contiguous()
        # NumPy views of the same quantities for the acquisition search (:meth:`posterior_np`).
        self._X_np = X.numpy()
        self._alpha_np = self.alpha.numpy()
        self._L_inv_T_np = self.L_inv_T.numpy()
        self._inverse_sq_np = np.exp(-2.0 * params.log_lengthscales)
        self._categorical_np = categorical.numpy().astype(bool)

    @property
    def lengthscales(self) -> np.ndarray:
        return np.exp(self.params.log_lengthscales)

    def kernel(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """Covariance between ``A`` (..., m, d) and ``B`` (k, d) or (..., k, d): shape (..., m, k)."""
        return self.outputscale * _matern52(_scaled_sqdist(A, B, self.inv_lengthscales, self.categorical))

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Marginal posterior mean and variance of the latent function at ``x`` (..., d)."""
        k = self.kernel(x.unsqueeze(-2), self.X).squeeze(-2)  # (..., n)
        mean = self.mean + k @ self.alpha
        v = k @ self.L_inv_T
        var = (self.outputscale - (v * v).sum(-1)).clamp_min(MIN_VARIANCE)
        return mean, var

    def joint_posterior(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint posterior mean (..., q) and covariance (..., q, q) of the latent function
        at ``X`` (..., q, d), differentiable in ``X`` (for :class:`~.botorch_model.GPModel`).

        The covariance is not clamped or jittered: a caller that factorises it adds
        jitter where rounding leaves it indefinite (BoTorch's ``psd_safe_cholesky`` does).
        """
        k = self.kernel(X, self.X)  # (..., q, n)
        mean = self.mean + k @ self.alpha
        v = k @ self.L_inv_T
        return mean, self.kernel(X, X) - v @ v.transpose(-1, -2)

    def posterior_np(self, x: np.ndarray, with_grad: bool = False) -> PosteriorNP:
        """Marginal posterior mean and variance at ``x`` (k, d), in NumPy.

        The same numbers as :meth:`posterior`, for the acquisition search, which calls
        this hundreds of times per suggestion on a few points at a time, where torch's
        per-operation and autograd overhead would dominate. With ``with_grad``, the
        result can map gradients with respect to the mean and variance back to ``x``
        (:meth:`~.models.PosteriorNP.backward`); implements :class:`~.models.SurrogateModel`.
        """
        diff = x[:, None, :] - self._X_np[None, :, :]  # (k, n, d)
        sq = diff * diff
        if self._categorical_np.any():
            sq = np.where(self._categorical_np, (sq > 0).astype(float), sq)
        r2 = sq @ self._inverse_sq_np
        r = np.sqrt(r2)
        decay = np.exp(-_SQRT5 * r)
        k = self.outputscale * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * decay
        mean = self.mean + k @ self._alpha_np
        v = k @ self._L_inv_T_np
        raw_var = self.outputscale - np.einsum("kn,kn->k", v, v)
        var = np.maximum(raw_var, MIN_VARIANCE)
        if not with_grad:
            return PosteriorNP(mean, var)
        return PosteriorNP(mean, var, _Backward(self, diff, r, decay, v, raw_var > MIN_VARIANCE))

    def condition_on(self, X_new: torch.Tensor, y_new: torch.Tensor) -> ExactGP:
        """The same GP with extra observations (used for pending points); no refit."""
        return ExactGP(torch.cat([self.X, X_new]), torch.cat([self.y, y_new]), self.categorical, self.params)


@dataclass(frozen=True)
class _Backward:
    """The chain rule from (mean, variance) back to the query points of :meth:`ExactGP.posterior_np`.

    Categorical columns get a zero gradient: their distance is 0 or 1, not smooth.
    """

    gp: ExactGP
    diff: np.ndarray  # (k, n, d) query minus training points
    r: np.ndarray  # (k, n) scaled distances
    decay: np.ndarray  # (k, n) exp(-sqrt5 r)
    v: np.ndarray  # (k, n) k(x, X) L^-T
    var_free: np.ndarray  # (k,) False where the variance was clamped (its gradient is 0)

    def __call__(self, d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
        gp = self.gp
        d_var = np.where(self.var_free, d_var, 0.0)
        # mean = m + k alpha and var = s - |k L^-T|^2, so d/dk = d_mean alpha - 2 d_var v L^-1.
        d_k = d_mean[:, None] * gp._alpha_np[None, :] - 2.0 * d_var[:, None] * (self.v @ gp._L_inv_T_np.T)
        # Matern-5/2: dk/d(r2) = -5/6 s (1 + sqrt5 r) exp(-sqrt5 r); d(r2)/dx_j = 2 diff_j / l_j^2.
        d_r2 = d_k * (-5.0 / 6.0) * gp.outputscale * (1.0 + _SQRT5 * self.r) * self.decay
        grad = 2.0 * gp._inverse_sq_np * np.einsum("kn,knd->kd", d_r2, self.diff)
        grad[:, gp._categorical_np] = 0.0
        return grad


def _scaled_sqdist(A: torch.Tensor, B: torch.Tensor, inv_ls: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
    diff = A.unsqueeze(-2) - B.unsqueeze(-3)  # (..., m, k, d); B is (k, d) or (..., k, d)
    sq = diff * diff
    if bool(categorical.any()):
        sq = torch.where(categorical, (sq > 0).to(sq.dtype), sq)
    return sq @ (inv_ls * inv_ls)


def _robust_cholesky(K: torch.Tensor) -> torch.Tensor:
    """Cholesky factor, adding jitter when rounding makes ``K`` slightly indefinite."""
    L, info = torch.linalg.cholesky_ex(K)
    jitter = 1e-8
    while int(info) != 0 and jitter < 1.0:
        K = K.clone()
        K.diagonal().add_(jitter)
        L, info = torch.linalg.cholesky_ex(K)
        jitter *= 10
    if int(info) != 0:
        raise torch.linalg.LinAlgError("the GP covariance matrix is not positive definite even with jitter")
    return L


def _negative_log_posterior(
    vector: np.ndarray, pair_sqdiff: np.ndarray, upper: tuple[np.ndarray, np.ndarray], y: np.ndarray
) -> tuple[float, np.ndarray]:
    """The MAP objective (negative log posterior per observation) and its gradient.

    ``pair_sqdiff`` holds the squared differences (Hamming indicators on categorical
    columns) of each pair ``i < j`` of training points, in the order of the
    upper-triangle indices ``upper``: the kernel is symmetric and its diagonal fixed,
    so only these pairs are computed.

    Written in NumPy with the gradient derived by hand (tested against finite
    differences): L-BFGS-B calls this 10-200 times per fit, and for these small
    matrices torch's per-operation and autograd overhead dominated
    (``benchmarks/results/samplers_notes.md``). With ``W = alpha alpha^T - K^-1``, the
    derivative of the log likelihood with respect to a hyperparameter ``t`` is
    ``tr(W dK/dt) / 2``.
    """
    dim = pair_sqdiff.shape[-1]
    n = len(y)
    log_ls, log_os, log_noise, mean = vector[:dim], float(vector[dim]), float(vector[dim + 1]), float(vector[dim + 2])
    inverse_sq = np.exp(-2.0 * log_ls)
    outputscale = math.exp(log_os)
    excess_noise = math.exp(log_noise)
    noise = MIN_NOISE + excess_noise
    r2 = pair_sqdiff @ inverse_sq
    r = np.sqrt(r2)
    decay = np.exp(-_SQRT5 * r)
    k_pairs = outputscale * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * decay
    fitted = pairwise_log_likelihood(k_pairs, outputscale + noise, upper, y - mean)
    if fitted is None:
        return math.inf, np.zeros_like(vector)
    log_likelihood, alpha, W = fitted
    log_prior, d_prior_ls, d_prior_os, d_prior_noise = _log_prior(log_ls, log_os, noise)

    W_pairs = W[upper]  # each pair stands for (i, j) and (j, i): the 1/2 of tr(W dK)/2 cancels
    half_trace_W = 0.5 * float(np.trace(W))
    # K = s k(r2) + noise I with r2 = sum_j sqdiff_j / l_j^2, and for Matern-5/2
    # dk/d(r2) = -5/6 (1 + sqrt5 r) exp(-sqrt5 r); d r2 / d log l_j = -2 sqdiff_j / l_j^2.
    d_r2 = W_pairs * (outputscale * (-5.0 / 6.0) * (1.0 + _SQRT5 * r) * decay)
    grad = np.empty_like(vector)
    grad[:dim] = -2.0 * inverse_sq * (d_r2 @ pair_sqdiff) + d_prior_ls
    # dK/dlog s = s k: the pairs, and s on the diagonal.
    grad[dim] = float(W_pairs @ k_pairs) + half_trace_W * outputscale + d_prior_os
    grad[dim + 1] = (half_trace_W + d_prior_noise) * excess_noise
    grad[dim + 2] = float(alpha.sum())
    return -(log_likelihood + log_prior) / n, -grad / n


def fit_gp(
    X: np.ndarray,
    y: np.ndarray,
    categorical: np.ndarray,
    start: GPParams | None = None,
    maxiter: int = 200,
    *,
    refit_cold: bool = False,
    cold_maxiter: int = 200,
    learn_mean: bool = False,
) -> ExactGP:
    """Fit hyperparameters by maximising the log posterior (MAP) with L-BFGS-B.

    ``start`` warm-starts the optimiser from an earlier fit (a few iterations then
    suffice, capped by ``maxiter``). ``learn_mean`` fits the constant prior mean too
    (its MAP is the generalised least-squares mean for the fitted kernel); otherwise it
    stays at 0. With ``refit_cold`` the fit is also run from the
    priors' modes (capped by ``cold_maxiter``) and the better MAP is kept: the marginal
    likelihood is multimodal, and a warm start alone can stay in the basin of an early,
    poor optimum for the whole study. Without ``start``, or if it fails, the fit starts
    at the priors' modes.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    categorical = np.asarray(categorical, dtype=bool)
    dim = X.shape[1]
    # Squared differences do not depend on the hyperparameters: compute them once, for
    # each pair i < j.
    upper = np.triu_indices(len(X), 1)
    diff = X[upper[0]] - X[upper[1]]
    pair_sqdiff = diff * diff
    if categorical.any():
        pair_sqdiff = np.where(categorical, (pair_sqdiff > 0).astype(float), pair_sqdiff)

    def loss_and_grad(vector: np.ndarray) -> tuple[float, np.ndarray]:
        return _negative_log_posterior(vector, pair_sqdiff, upper, y)

    cold = GPParams.default(dim)
    # Bounds keep length scales within [1e-3, 1e3] of the unit cube and the noise
    # and output scale within ranges where the Cholesky factorisation is reliable.
    bounds = [(math.log(LS_MIN), math.log(1e3))] * dim + [(math.log(1e-3), math.log(50.0)), (math.log(1e-9), math.log(2.0))]
    # The constant prior mean: fixed at 0 (the observations' mean after standardising), or
    # learned within the observed range.
    bounds.append((float(y.min()), float(y.max())) if learn_mean else (0.0, 0.0))
    starts = [(start, maxiter), (cold, cold_maxiter)] if start is not None else [(cold, maxiter)]
    best: np.ndarray | None = None
    best_loss = math.inf
    for initial, iterations in starts:
        x0 = np.clip(initial.as_vector(), [b[0] for b in bounds], [b[1] for b in bounds])
        result = scipy.optimize.minimize(
            loss_and_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": iterations, "gtol": 1e-4}
        )
        if np.isfinite(result.fun) and result.fun < best_loss:
            best, best_loss = result.x, float(result.fun)
        # The cold start is the fallback of a failed warm start, and otherwise runs
        # only when asked to compete with it.
        if best is not None and not refit_cold:
            break
    params = GPParams.from_vector(best if best is not None else cold.as_vector())
    return ExactGP(torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(categorical), params)
