"""The Gaussian marginal likelihood both NumPy GPs maximise (:mod:`._gp`, :mod:`._singletask_gp`).

Kept apart from the models so that the transfer ensemble's GP, which is NumPy only,
does not import torch through the GP sampler's.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["pairwise_log_likelihood"]


def pairwise_log_likelihood(
    k_pairs: np.ndarray, diagonal: float, upper: tuple[np.ndarray, np.ndarray], residual: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Gaussian log marginal likelihood (constants dropped) of ``residual`` under the
    covariance with ``k_pairs`` at the pairs ``upper`` (i < j) and ``diagonal`` on the
    diagonal, with ``alpha = K^-1 residual`` and ``W = alpha alpha^T - K^-1`` (the
    derivative of the log likelihood with respect to K is W / 2); ``None`` when K is
    not positive definite.
    """
    n = len(residual)
    K = np.empty((n, n))
    K[upper] = k_pairs
    K.T[upper] = k_pairs
    np.fill_diagonal(K, diagonal)
    try:
        factor = scipy.linalg.cho_factor(K, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    K_inv = scipy.linalg.cho_solve(factor, np.eye(n), check_finite=False)
    alpha = K_inv @ residual
    log_likelihood = -0.5 * float(residual @ alpha) - float(np.log(np.diag(factor[0])).sum())
    return log_likelihood, alpha, np.outer(alpha, alpha) - K_inv
