"""The NumPy copy of BoTorch's default SingleTaskGP used by the RGPE transfer ensemble."""

from __future__ import annotations

import math

import numpy as np
import torch

from jupyter_metahpo.samplers._singletask_gp import SingleTaskGPNP, _negative_log_posterior, fit_singletask_gp


def _data(n=25, d=3, seed=8):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(5 * X[:, 0]) + X[:, 1] - X[:, 2] ** 2
    return X, (y - y.mean()) / y.std(ddof=1)


def test_map_objective_gradient_matches_finite_differences(assert_gradient_matches_finite_differences):
    X, y = _data(15)
    upper = np.triu_indices(15, 1)
    diff = X[upper[0]] - X[upper[1]]
    vector = np.array([-0.7, 0.3, 0.1, math.log(1e-2), 0.2])
    assert np.isfinite(_negative_log_posterior(vector, diff * diff, upper, y)[0])
    assert_gradient_matches_finite_differences(lambda v: _negative_log_posterior(v, diff * diff, upper, y), vector)


def test_fit_matches_botorch_singletaskgp_fitted_by_gpytorch():
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    X, y = _data(30)
    ours = fit_singletask_gp(X, y)
    model = SingleTaskGP(torch.from_numpy(X), torch.from_numpy(y).unsqueeze(-1), outcome_transform=None)
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    model.eval()
    x = np.random.default_rng(1).random((40, 3))
    with torch.no_grad():
        posterior = model.posterior(torch.from_numpy(x))
    theirs_mean = posterior.mean.squeeze(-1).numpy()
    theirs_std = posterior.variance.squeeze(-1).sqrt().numpy()
    mine = ours.posterior_np(x)
    # Same model and MAP objective; the two L-BFGS-B runs stop at slightly different points.
    np.testing.assert_allclose(ours.lengthscales, model.covar_module.lengthscale.detach().numpy().ravel(), rtol=0.05)
    assert np.abs(mine.mean - theirs_mean).max() < 0.02
    assert np.abs(np.sqrt(mine.var) - theirs_std).max() < 0.02


def test_joint_posterior_agrees_with_the_marginals_and_is_a_covariance():
    X, y = _data()
    gp = fit_singletask_gp(X, y)
    x = np.random.default_rng(9).random((12, 3))
    mean, covariance = gp.joint_posterior_np(x)
    marginal = gp.posterior_np(x)
    np.testing.assert_allclose(mean, marginal.mean, rtol=1e-12)
    np.testing.assert_allclose(np.diag(covariance), marginal.var, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(covariance, covariance.T, atol=1e-12)
    assert np.linalg.eigvalsh(covariance).min() > -1e-9


def test_leave_one_out_closed_form_equals_conditioning_on_the_other_points():
    X, y = _data()
    gp = fit_singletask_gp(X, y)
    mean, variance = gp.loo_predictions()
    for i in (0, 7, 24):
        keep = np.arange(len(y)) != i
        without = SingleTaskGPNP(X[keep], y[keep], gp.lengthscales, gp.noise, gp.mean)
        posterior = without.posterior_np(X[i : i + 1])
        assert abs(mean[i] - posterior.mean[0]) < 1e-8
        assert abs(variance[i] - (posterior.var[0] + gp.noise)) < 1e-8  # the LOO variance includes the noise
