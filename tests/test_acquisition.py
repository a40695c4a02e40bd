"""The NumPy acquisition functions: the same values as BoTorch's, exact gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.acquisition.analytic import _log_ei_helper

from jupyter_metahpo.samplers._gp import fit_gp
from jupyter_metahpo.samplers.acquisition import LogExpectedImprovement, UpperConfidenceBound, log_h, log_h_and_grad
from jupyter_metahpo.samplers.models import standardize


def test_log_h_matches_botorch_from_far_below_to_far_above_the_incumbent():
    z = np.concatenate([-np.logspace(100, -3, 400), [0.0], np.logspace(-3, 2, 100)])
    expected = _log_ei_helper(torch.from_numpy(z)).numpy()
    assert np.all(np.isfinite(log_h(z)))
    np.testing.assert_allclose(log_h(z), expected, rtol=1e-9, atol=1e-12)


def test_log_h_derivative_matches_a_high_precision_reference():
    import mpmath

    mpmath.mp.dps = 60
    z = np.concatenate([-np.logspace(8, -3, 120), [0.0], np.logspace(-3, 1.5, 30)])
    # h'(z) = Phi(z), so d log h / dz = Phi / (phi + z Phi).
    reference = np.array([float(mpmath.ncdf(v) / (mpmath.npdf(v) + v * mpmath.ncdf(v))) for v in map(mpmath.mpf, z)])
    _, grad = log_h_and_grad(z)
    np.testing.assert_allclose(grad, reference, rtol=1e-9)


def _fitted_gp(categorical: np.ndarray):
    rng = np.random.default_rng(4)
    X = rng.random((30, 3))
    X[:, 1] = rng.integers(3, size=30) / 2.0
    y, _, _ = standardize(np.sin(5 * X[:, 0]) + X[:, 1] - X[:, 2] ** 2)
    return fit_gp(X, y, categorical, learn_mean=True), y


@pytest.mark.parametrize("categorical", [np.zeros(3, bool), np.array([False, True, False])])
def test_numpy_posterior_equals_the_torch_posterior(categorical):
    gp, _ = _fitted_gp(categorical)
    x = np.random.default_rng(5).random((50, 3))
    with torch.no_grad():
        mean, var = gp.posterior(torch.from_numpy(x))
    posterior = gp.posterior_np(x)
    np.testing.assert_allclose(posterior.mean, mean.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(posterior.var, var.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("categorical", [np.zeros(3, bool), np.array([False, True, False])])
@pytest.mark.parametrize("make", [lambda gp, y: LogExpectedImprovement(gp, float(y.max())),
                                  lambda gp, y: UpperConfidenceBound(gp, beta=4.0)], ids=["logei", "ucb"])
def test_acquisition_gradients_match_finite_differences(categorical, make):
    gp, y = _fitted_gp(categorical)
    acqf = make(gp, y)
    X = np.random.default_rng(6).random((6, 3))
    X[:, 1] = np.array([0.0, 0.5, 1.0, 0.0, 0.5, 1.0])  # valid options of the categorical column
    values, grad = acqf.value_and_grad(X)
    np.testing.assert_allclose(values, acqf(X), rtol=1e-12)
    step = 1e-6
    continuous = [j for j in range(3) if not categorical[j]]
    for j in continuous:
        up, down = X.copy(), X.copy()
        up[:, j] += step
        down[:, j] -= step
        numeric = (acqf(up) - acqf(down)) / (2 * step)
        np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-4, atol=1e-6)
    assert np.all(grad[:, categorical] == 0.0)  # not smooth there: the search sweeps options instead
