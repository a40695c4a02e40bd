"""The model protocol: every model's posterior, its gradients, and the one standardiser."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.samplers._gp import fit_gp
from jupyter_metahpo.samplers._rgpe import StackedEnsemble, WeightedEnsemble
from jupyter_metahpo.samplers._singletask_gp import fit_singletask_gp
from jupyter_metahpo.samplers.acquisition import (
    ACQUISITIONS,
    LogExpectedImprovement,
    UpperConfidenceBound,
    check_acquisition,
    make_acquisition,
)
from jupyter_metahpo.samplers.models import MIN_VARIANCE, PosteriorNP, standardize


def _data(seed: int, n: int = 18, d: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y, _, _ = standardize(np.sin(4 * X[:, 0] + seed) + X[:, 1] - X[:, 2] ** 2, ddof=1)
    return X, y


def _singletask(seed: int):
    return fit_singletask_gp(*_data(seed))


def _models():
    X, y = _data(0)
    past = [_singletask(1), _singletask(2)]
    return {
        "exact GP": fit_gp(X, y, np.zeros(3, bool), learn_mean=True),
        "SingleTaskGP": _singletask(0),
        "RGPE": WeightedEnsemble([*past, _singletask(0)], np.array([0.5, 0.2, 0.3])),
        "RGPE, a member without weight": WeightedEnsemble(past, np.array([1.0, 0.0])),
        "stacked RGPE": StackedEnsemble.fit(WeightedEnsemble(past, np.array([0.6, 0.4])), X[:8], y[:8]),
    }


MODELS = _models()


@pytest.mark.parametrize("name", list(MODELS))
def test_posterior_gradients_match_finite_differences(name):
    model = MODELS[name]
    X = np.random.default_rng(7).random((5, 3))
    d_mean, d_var = np.array([1.0, -0.5, 2.0, 0.3, 1.5]), np.array([0.7, 1.0, -1.2, 2.0, 0.4])

    def f(points):  # a weighted sum of means and variances: its gradient exercises both paths
        posterior = model.posterior_np(points)
        return d_mean * posterior.mean + d_var * posterior.var

    posterior = model.posterior_np(X, with_grad=True)
    np.testing.assert_array_equal(posterior.mean, model.posterior_np(X).mean)
    np.testing.assert_array_equal(posterior.var, model.posterior_np(X).var)
    grad = posterior.backward(d_mean, d_var)
    assert grad.shape == X.shape
    step = 1e-6
    for j in range(3):
        up, down = X.copy(), X.copy()
        up[:, j] += step
        down[:, j] -= step
        np.testing.assert_allclose(grad[:, j], (f(up) - f(down)) / (2 * step), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("acquisition", list(ACQUISITIONS))
def test_every_acquisition_runs_on_every_model(name, acquisition):
    acqf = make_acquisition(acquisition, MODELS[name], best_f=0.5)
    X = np.random.default_rng(8).random((4, 3))
    values, grad = acqf.value_and_grad(X)
    np.testing.assert_array_equal(values, acqf(X))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad)) and grad.shape == X.shape


def test_rgpe_posterior_is_the_weighted_sum_of_its_members():
    members = [_singletask(1), _singletask(2), _singletask(3)]
    weights = np.array([0.5, 0.0, 0.5])
    X = np.random.default_rng(9).random((2500, 3))  # more than one chunk
    posterior = WeightedEnsemble(members, weights).posterior_np(X)
    parts = [m.posterior_np(X) for m in members]
    np.testing.assert_allclose(posterior.mean, sum(w * p.mean for w, p in zip(weights, parts)), rtol=1e-12)
    np.testing.assert_allclose(posterior.var, sum(w**2 * p.var for w, p in zip(weights, parts)), rtol=1e-12)


def test_an_ensemble_without_weight_has_the_minimum_variance_and_no_variance_gradient():
    posterior = WeightedEnsemble([_singletask(1)], np.array([0.0])).posterior_np(np.full((2, 3), 0.5), with_grad=True)
    np.testing.assert_array_equal(posterior.var, [MIN_VARIANCE, MIN_VARIANCE])
    np.testing.assert_array_equal(posterior.backward(np.ones(2), np.ones(2)), np.zeros((2, 3)))


def test_a_gradient_needs_a_posterior_computed_with_grad():
    with pytest.raises(ValueError, match="with_grad=True"):
        PosteriorNP(np.zeros(1), np.ones(1)).backward(np.ones(1), np.ones(1))


@pytest.mark.parametrize("ddof", [0, 1])
def test_standardize_centres_and_scales_with_the_given_ddof(ddof):
    y = np.array([1.0, 2.0, 4.0, 7.0])
    z, mean, std = standardize(y, ddof=ddof)
    assert mean == pytest.approx(3.5) and std == pytest.approx(np.std(y, ddof=ddof))
    np.testing.assert_allclose(z * std + mean, y)
    assert np.std(z, ddof=ddof) == pytest.approx(1.0)


@pytest.mark.parametrize("y", [np.array([3.0, 3.0, 3.0]), np.array([3.0]), np.array([1.0, 1.0 + 1e-14])])
def test_standardize_leaves_the_scale_at_one_without_spread(y):
    z, mean, std = standardize(y, ddof=1)
    assert std == 1.0
    np.testing.assert_allclose(z, y - mean)


def test_acquisitions_are_looked_up_by_name_with_a_clear_error():
    assert isinstance(make_acquisition("logei", MODELS["exact GP"], 0.0), LogExpectedImprovement)
    assert isinstance(make_acquisition("ucb", MODELS["exact GP"], 0.0), UpperConfidenceBound)
    with pytest.raises(ValueError, match=r"`acquisition` must be one of \('logei', 'ucb'\), but got acquisition='ei'"):
        check_acquisition("ei")
    with pytest.raises(ValueError, match="but got acquisition=None"):
        check_acquisition(None)
