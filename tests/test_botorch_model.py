"""GPModel: the GP sampler's GP as a BoTorch model, checked against BoTorch itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.acquisition import LogExpectedImprovement as BoTorchLogEI
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.optim import optimize_acqf

from jupyter_metahpo.samplers import GPModel
from jupyter_metahpo.samplers._gp import fit_gp
from jupyter_metahpo.samplers.acquisition import LogExpectedImprovement
from jupyter_metahpo.samplers.botorch_model import TorchAcquisition
from jupyter_metahpo.samplers.models import standardize
from jupyter_metahpo.samplers.optimize import MixedDomain, maximize_acquisition
from jupyter_metahpo.space import SearchSpace, choice, intrange

CATEGORICAL = np.array([False, False, True])


def _fitted(categorical=CATEGORICAL, n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    X[:, 2] = np.where(X[:, 2] > 0.5, 0.75, 0.25)  # a categorical column with two options
    y, _, _ = standardize(np.sin(5 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2])
    return fit_gp(X, y, categorical, learn_mean=True), y


def _queries(gp, k=400, seed=1):
    """Random points, plus points on and next to the training points (tiny variance)."""
    rng = np.random.default_rng(seed)
    X = rng.random((k, 3))
    X[:, 2] = np.where(X[:, 2] > 0.5, 0.75, 0.25)
    near = gp.X.numpy() + np.array([1e-4, -1e-4, 0.0])
    return np.vstack([X, gp.X.numpy(), np.clip(near, 0.0, 1.0)])


@pytest.mark.parametrize("categorical", [np.zeros(3, bool), CATEGORICAL], ids=["continuous", "mixed"])
def test_posterior_mean_and_variance_are_the_numpy_posteriors(categorical):
    gp, _ = _fitted(categorical)
    X = _queries(gp)
    posterior = GPModel(gp).posterior(torch.from_numpy(X).unsqueeze(-2))  # (k, q=1, d)
    assert posterior.mean.shape == (len(X), 1, 1)
    ours = gp.posterior_np(X)
    np.testing.assert_allclose(posterior.mean.detach().numpy().ravel(), ours.mean, rtol=1e-10, atol=1e-12)
    variance = posterior.variance.detach().numpy().ravel()
    np.testing.assert_allclose(np.maximum(variance, 1e-12), ours.var, rtol=1e-8, atol=1e-12)


def test_our_logei_equals_botorchs_logei_on_the_same_model():
    gp, y = _fitted()
    X = _queries(gp)
    best_f = float(y.max())
    ours = LogExpectedImprovement(gp, best_f)
    # A float64 tensor: a Python float would be stored as a float32 buffer and rounded.
    theirs = BoTorchLogEI(GPModel(gp), best_f=torch.tensor(best_f, dtype=torch.float64))
    x = torch.from_numpy(X).unsqueeze(-2).requires_grad_(True)
    values = theirs(x)
    (grad,) = torch.autograd.grad(values.sum(), x)
    our_values, our_grad = ours.value_and_grad(X)
    assert values.shape == (len(X),)
    assert our_values.min() < -20 and our_values.max() > -3  # far below and near the incumbent
    np.testing.assert_allclose(our_values, values.detach().numpy(), rtol=1e-9, atol=1e-9)
    continuous = ~CATEGORICAL  # ours is 0 on the categorical column (not smooth there)
    np.testing.assert_allclose(our_grad[:, continuous], grad.squeeze(-2).numpy()[:, continuous], rtol=1e-5, atol=1e-8)


def test_joint_covariance_agrees_with_conditioning_on_one_of_the_points():
    gp, _ = _fitted()
    query = torch.from_numpy(np.random.default_rng(2).random((4, 2, 3)))
    posterior = GPModel(gp).posterior(query)
    assert posterior.mean.shape == (4, 2, 1)
    cov = posterior.mvn.covariance_matrix[0]
    # Observing the first point of a pair shrinks the variance of the second by cov^2 / (var + noise).
    mean, _ = gp.posterior(query)
    _, var_after = gp.condition_on(query[0, :1], mean[0, :1]).posterior(query[0, 1:])
    expected = cov[1, 1] - cov[0, 1] ** 2 / (cov[0, 0] + gp.noise)
    assert float(var_after) == pytest.approx(float(expected), rel=1e-6)


def test_observation_noise_and_jitter_add_to_the_variance():
    gp, _ = _fitted()
    x = torch.from_numpy(np.random.default_rng(3).random((5, 1, 3)))
    latent = GPModel(gp).posterior(x).variance
    noisy = GPModel(gp).posterior(x, observation_noise=True).variance
    jittered = GPModel(gp, jitter=1e-3).posterior(x).variance
    torch.testing.assert_close(noisy - latent, torch.full_like(latent, gp.noise))
    torch.testing.assert_close(jittered - latent, torch.full_like(latent, 1e-3))


def test_bad_arguments_are_refused_with_the_rule():
    gp, _ = _fitted()
    model = GPModel(gp)
    x = torch.rand(2, 1, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="one output"):
        model.posterior(x, output_indices=[1])
    with pytest.raises(ValueError, match="must be True or False"):
        model.posterior(x, observation_noise=torch.ones(1))
    with pytest.raises(TypeError, match="must be a fitted ExactGP"):
        GPModel("not a gp")
    with pytest.raises(ValueError, match="`jitter` must be >= 0"):
        GPModel(gp, jitter=-1.0)
    assert model.num_outputs == 1 and model.batch_shape == torch.Size([])


def test_botorch_logei_maximised_by_our_search_picks_what_ours_picks():
    # A small all-discrete space is scored exhaustively: both acquisitions must rank the same point first.
    space = SearchSpace({"a": intrange(0, 9), "b": intrange(0, 9), "c": choice("u", "v")})
    domain = MixedDomain.from_space(space)
    rng = np.random.default_rng(4)
    X = space.encode(space.sample(4, 15))
    y, _, _ = standardize(-((X[:, :2] - 0.6) ** 2).sum(1) - 0.3 * X[:, 2])
    gp = fit_gp(X, y, domain.categorical)
    botorch_acqf = BoTorchLogEI(GPModel(gp), best_f=torch.tensor(float(y.max()), dtype=torch.float64))
    theirs, _ = maximize_acquisition(
        TorchAcquisition(lambda x: botorch_acqf(x.unsqueeze(-2))), domain, rng, gp.lengthscales, X[:3]
    )
    ours, _ = maximize_acquisition(LogExpectedImprovement(gp, float(y.max())), domain, rng, gp.lengthscales, X[:3])
    np.testing.assert_array_equal(theirs[0], ours[0])


@pytest.mark.slow
def test_optimize_acqf_runs_qlognei_with_q3_on_the_model():
    gp, _ = _fitted(np.zeros(3, bool), n=15)
    torch.manual_seed(0)
    acqf = qLogNoisyExpectedImprovement(GPModel(gp), X_baseline=gp.X, cache_root=False, prune_baseline=True)
    bounds = torch.stack([torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)])
    candidates, value = optimize_acqf(acqf, bounds, q=3, num_restarts=4, raw_samples=64, options={"maxiter": 30})
    assert candidates.shape == (3, 3)
    assert bool(((candidates >= 0) & (candidates <= 1)).all())
    assert torch.isfinite(value)
    # The three points are a batch: pairwise distinct.
    assert float(torch.cdist(candidates, candidates)[torch.triu_indices(3, 3, 1).unbind()].min()) > 1e-4
