"""GPSampler: real GP fits on small problems (no mocks of the model or optimiser)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jupyter_metahpo import Study
from jupyter_metahpo._threads import limit_threads
from jupyter_metahpo.samplers import DefaultSampler
from jupyter_metahpo.samplers import gp as gp_module
from jupyter_metahpo.samplers._gp import GPParams, fit_gp
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.samplers.gp import GPSampler
from jupyter_metahpo.samplers.models import standardize
from jupyter_metahpo.space import SearchSpace, choice, intrange, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState


def _trials(space, configs, values):
    return tuple(
        FrozenTrial(i, c, TrialState.COMPLETE if v is not None else TrialState.FAILED, Origin("test"), value=v,
                    error=None if v is not None else "failed")
        for i, (c, v) in enumerate(zip(configs, values))
    )


@pytest.mark.slow
def test_refinement_improves_on_the_initial_design_of_a_quadratic():
    space = {"x": uniform(-1.0, 1.0), "y": uniform(-1.0, 1.0)}
    study = Study(space, sampler=DefaultSampler(seed=0, n_initial=5))
    study.optimize(lambda x, y: (x - 0.3) ** 2 + (y + 0.2) ** 2, n_trials=13)
    initial = [t for t in study.trials if t.origin.source == "sobol"]
    refined = [t for t in study.trials if t.origin.source == "gp"]
    assert len(initial) == 5 and len(refined) == 8
    best_initial = min(t.value for t in initial)
    best_refined = min(t.value for t in refined)
    # 8 random points reach 1e-2 with probability ~6% (area pi*0.01/4 of the square).
    assert best_refined < 1e-2
    assert best_refined < best_initial / 10
    details = refined[-1].origin.details
    assert details["acquisition"] == "LogEI" and details["n_trials"] == 12
    assert "under a GP fitted on 12 trials" in refined[-1].origin.reason
    assert details["predicted_std"] >= 0 and math.isfinite(details["predicted_value"])


@pytest.mark.slow
def test_mixed_space_finds_the_right_category_and_integer():
    space = {"x": uniform(0.0, 1.0), "n": intrange(1, 9), "kind": choice("bad", "good", "ugly")}
    penalty = {"bad": 1.0, "good": 0.0, "ugly": 2.0}
    study = Study(space, sampler=DefaultSampler(seed=1, n_initial=6))
    study.optimize(lambda x, n, kind: (x - 0.7) ** 2 + 0.1 * (n - 6) ** 2 + penalty[kind], n_trials=16)
    for trial in study.trials:
        assert type(trial.config["n"]) is int and trial.config["kind"] in penalty
    best = study.best_config
    assert best["kind"] == "good"
    assert abs(best["n"] - 6) <= 1


def test_batch_with_pending_points_gives_distinct_points_away_from_pending():
    space = SearchSpace({"x": uniform(0.0, 1.0), "y": uniform(0.0, 1.0)})
    configs = space.sample(0, 8)
    values = [(c["x"] - 0.5) ** 2 + (c["y"] - 0.5) ** 2 for c in configs]
    pending = ({"x": 0.5, "y": 0.5},)
    history = History(space, Direction.MINIMIZE, _trials(space, configs, values), pending=pending)
    suggestions = GPSampler(seed=0).suggest(history, 3)
    points = np.array([[s.config["x"], s.config["y"]] for s in suggestions] + [[0.5, 0.5]])
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)[np.triu_indices(4, k=1)]
    assert distances.min() > 1e-3, "batch members and the pending point must differ"
    assert [s.origin.details["n_pending"] for s in suggestions] == [1, 2, 3]


def test_discrete_space_never_repeats_a_configuration():
    space = {"a": choice(1, 2, 3), "b": intrange(0, 3)}  # 12 configurations
    study = Study(space, sampler=DefaultSampler(seed=0, n_initial=3))
    study.optimize(lambda a, b: (a - 2) ** 2 + (b - 1) ** 2, n_trials=12)
    seen = [(t.config["a"], t.config["b"]) for t in study.trials]
    assert len(set(seen)) == 12


def test_failed_trials_steer_the_search_away():
    # Maximise x, but the objective fails for x > 0.6: the model must learn that the
    # region of failures is bad instead of following the trend into it.
    space = SearchSpace({"x": uniform(0.0, 1.0), "y": uniform(0.0, 1.0)})
    rng = np.random.default_rng(0)
    configs = [{"x": float(x), "y": float(y)} for x, y in rng.random((16, 2))]
    values = [c["x"] if c["x"] <= 0.6 else None for c in configs]
    assert values.count(None) >= 4
    history = History(space, Direction.MAXIMIZE, _trials(space, configs, values))
    suggestion = GPSampler(seed=0).suggest(history, 1)[0]
    assert suggestion.origin.details["n_failed"] == values.count(None)
    assert "failed" in suggestion.origin.reason
    assert suggestion.config["x"] < 0.7


def test_same_seed_makes_a_study_reproducible():
    space = {"x": uniform(-1.0, 1.0), "k": choice("p", "q")}

    def run():
        study = Study(space, sampler=DefaultSampler(seed=5, n_initial=4))
        study.optimize(lambda x, k: x**2 + (k == "q"), n_trials=7)
        return [dict(t.config) for t in study.trials]

    assert run() == run()


def test_torch_threads_are_one_during_the_call_and_restored_after(monkeypatch):
    # BLAS too: SciPy's L-BFGS-B on a handful of variables ran ~4x slower in CPU with
    # OpenBLAS's threads spinning on a 2-core machine.
    import threadpoolctl

    seen_threads, seen_blas = [], []
    blas_before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    real_fit = gp_module.fit_gp

    def spying_fit(*args, **kwargs):
        seen_threads.append(torch.get_num_threads())
        seen_blas.extend(info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(gp_module, "fit_gp", spying_fit)
    space = SearchSpace({"x": uniform(0.0, 1.0)})
    configs = space.sample(0, 5)
    history = History(space, Direction.MINIMIZE, _trials(space, configs, [c["x"] for c in configs]))
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        GPSampler(seed=0).suggest(history, 1)
        assert seen_threads == [1]
        assert torch.get_num_threads() == 3
        assert seen_blas and set(seen_blas) == {1}
        assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == blas_before
        with pytest.raises(RuntimeError):
            with limit_threads(1):
                raise RuntimeError("boom")
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_too_few_complete_trials_fall_back_to_random_and_say_so():
    space = SearchSpace({"x": uniform(0.0, 1.0)})
    history = History(space, Direction.MINIMIZE, _trials(space, [{"x": 0.2}], [1.0]))
    (suggestion,) = GPSampler(seed=0).suggest(history, 1)
    assert suggestion.origin.source == "random"
    assert "at least 2 complete trials" in suggestion.origin.reason


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"acquisition": "ei"}, "`acquisition` must be one of ('logei', 'ucb'), but got acquisition='ei'."),
        ({"n_restarts": 0}, "`n_restarts` must be a positive integer, but got n_restarts=0."),
        ({"torch_threads": -1}, "`torch_threads` must be a positive integer, but got torch_threads=-1."),
        ({"refit_cold": "yes"}, "`refit_cold` must be True or False, but got refit_cold='yes'."),
        ({"learn_mean": 1}, "`learn_mean` must be True or False, but got learn_mean=1."),
    ],
)
def test_bad_settings_are_rejected_with_the_rule(kwargs, message):
    with pytest.raises(ValueError) as info:
        GPSampler(**kwargs)
    assert str(info.value) == message


def test_ucb_acquisition_also_works():
    space = SearchSpace({"x": uniform(0.0, 1.0)})
    configs = space.sample(0, 6)
    history = History(space, Direction.MINIMIZE, _trials(space, configs, [(c["x"] - 0.4) ** 2 for c in configs]))
    (suggestion,) = GPSampler(seed=0, acquisition="ucb").suggest(history, 1)
    assert suggestion.origin.details["acquisition"] == "UCB"
    assert 0.0 <= suggestion.config["x"] <= 1.0


def test_gp_interpolates_and_warm_start_reaches_the_same_fit():
    rng = np.random.default_rng(0)
    X = rng.random((20, 2))
    y, _, _ = standardize(np.sin(6 * X[:, 0]) + X[:, 1])
    with limit_threads(1):
        cold = fit_gp(X, y, np.zeros(2, bool))
    with torch.no_grad():
        mean, var = cold.posterior(torch.from_numpy(X))
    assert np.abs(mean.numpy() - y).max() < 0.1
    assert var.max() < 0.05
    with limit_threads(1):
        warm = fit_gp(X, y, np.zeros(2, bool), start=cold.params, maxiter=5)
    assert np.allclose(warm.lengthscales, cold.lengthscales, rtol=0.05)
    # Conditioning on a pending point collapses the variance there.
    x_new = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    with torch.no_grad():
        before = cold.posterior(x_new)[1].item()
        after = cold.condition_on(x_new, cold.posterior(x_new)[0]).posterior(x_new)[1].item()
    assert after < before / 10


@pytest.mark.parametrize("categorical", [np.zeros(3, bool), np.array([False, True, False])])
def test_map_objective_gradient_matches_finite_differences(categorical, assert_gradient_matches_finite_differences):
    from jupyter_metahpo.samplers._gp import ExactGP, _log_prior, _negative_log_posterior

    rng = np.random.default_rng(3)
    X = rng.random((15, 3))
    X[:, 1] = rng.integers(3, size=15) / 2.0  # a categorical column takes few values
    y, _, _ = standardize(np.sin(5 * X[:, 0]) + X[:, 1] - X[:, 2] ** 2)
    upper = np.triu_indices(15, 1)
    diff = X[upper[0]] - X[upper[1]]
    sqdiff = np.where(categorical, (diff * diff > 0).astype(float), diff * diff)
    vector = np.array([-0.7, 0.3, 0.1, 0.4, math.log(1e-2), 0.2])  # 3 log length scales, log s, log noise, mean

    def objective(v):
        return _negative_log_posterior(v, sqdiff, upper, y)

    loss, grad = objective(vector)
    # The loss is the negative log posterior the torch GP would give: check it against a dense computation.
    gp = ExactGP(torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(categorical), GPParams.from_vector(vector))
    dense_nll = 0.5 * float(gp.alpha @ (gp.y - gp.mean)) + float(torch.log(torch.diagonal(gp.L)).sum())
    assert loss * len(y) == pytest.approx(dense_nll - _log_prior(vector[:3], vector[3], gp.noise)[0], rel=1e-10)
    assert np.isfinite(loss)
    assert_gradient_matches_finite_differences(objective, vector)


def test_cold_refit_escapes_a_poor_warm_start():
    rng = np.random.default_rng(1)
    X = rng.random((25, 2))
    y, _, _ = standardize(np.sin(6 * X[:, 0]) + X[:, 1])
    categorical = np.zeros(2, bool)
    with limit_threads(1):
        cold = fit_gp(X, y, categorical)
        # Very long length scales and a large noise: a basin where the data look like noise.
        poor = GPParams(np.log([50.0, 50.0]), 0.0, math.log(1.5))
        stuck = fit_gp(X, y, categorical, start=poor, maxiter=1)
        rescued = fit_gp(X, y, categorical, start=poor, maxiter=1, refit_cold=True)
    assert stuck.noise > 10 * cold.noise  # one iteration cannot leave the poor basin
    assert np.allclose(rescued.lengthscales, cold.lengthscales)
    assert rescued.noise == cold.noise


def _peaked_history(dim: int, seed: int) -> tuple[History, np.ndarray]:
    """A study shaped like most tuning problems: poor almost everywhere (value ~0), one
    narrow good region around 0.3 that is already well sampled."""
    from scipy.stats import qmc

    rng = np.random.default_rng(seed)
    X = np.vstack([qmc.Sobol(dim, scramble=True, seed=seed).random(16),
                   np.clip(0.3 + 0.03 * rng.standard_normal((20, dim)), 0.0, 1.0)])
    values = -3.0 * np.exp(-30.0 * ((X - 0.3) ** 2).sum(-1))
    space = SearchSpace({f"x{i}": uniform(0.0, 1.0) for i in range(dim)})
    configs = space.decode(X)
    return History(space, Direction.MINIMIZE, _trials(space, configs, [float(v) for v in values])), X[values.argmin()]


def test_learned_mean_is_the_least_squares_mean_and_sits_with_the_poor_bulk():
    history, _ = _peaked_history(3, 1)
    X = history.space.encode([t.config for t in history.complete])
    y, _, _ = standardize(history.scores(history.complete))  # higher is better, as the sampler sees it
    with limit_threads(1):
        fixed = fit_gp(X, y, np.zeros(3, bool))
        learned = fit_gp(X, y, np.zeros(3, bool), learn_mean=True)
    assert fixed.mean == 0.0
    # For the fitted kernel, the MAP constant mean is the generalised least-squares mean.
    K = learned.kernel(torch.from_numpy(X), torch.from_numpy(X)).numpy() + learned.noise * np.eye(len(y))
    ones = np.ones(len(y))
    gls = ones @ np.linalg.solve(K, y) / (ones @ np.linalg.solve(K, ones))
    assert learned.mean == pytest.approx(gls, abs=0.02)
    # Most trials are poor: the mean sits below the average (0 after standardising).
    assert learned.mean < -0.3
    far = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    with torch.no_grad():
        assert learned.posterior(far)[0].item() == pytest.approx(learned.mean, abs=0.05)


@pytest.mark.parametrize("dim, seed", [(3, 1), (4, 2)])
def test_learned_mean_stops_expected_improvement_chasing_corners(dim, seed):
    history, best = _peaked_history(dim, seed)
    space = history.space
    (fixed,) = GPSampler(seed=0, learn_mean=False).suggest(history, 1)
    (learned,) = GPSampler(seed=0, learn_mean=True).suggest(history, 1)
    x_fixed = space.encode([fixed.config])[0]
    x_learned = space.encode([learned.config])[0]
    # With the mean fixed at the average, the far corners look "average, and uncertain"
    # and win; with the fitted mean they look poor, and the search stays with the data.
    assert np.linalg.norm(x_fixed - best) > 0.5
    assert np.sum((x_fixed < 1e-3) | (x_fixed > 1 - 1e-3)) >= 2
    assert np.linalg.norm(x_learned - best) < 0.2


def test_a_choice_of_numbers_in_order_is_modelled_by_position():
    # Batch sizes as a user writes them. The best (64) was never tried; a categorical model
    # knows nothing of an untried option, an ordinal one sees 32 and 128 as its neighbours.
    sizes = (8, 16, 32, 64, 128, 256, 512)
    space = SearchSpace({"batch_size": choice(*sizes), "x": uniform(0.0, 1.0)})
    assert space["batch_size"].ordinal
    tried = [8, 32, 128, 512, 8, 32, 128, 512]
    rng = np.random.default_rng(0)
    configs = [{"batch_size": b, "x": float(x)} for b, x in zip(tried, rng.random(len(tried)))]
    values = [(math.log2(c["batch_size"]) - 6) ** 2 + 0.1 * c["x"] for c in configs]
    history = History(space, Direction.MINIMIZE, _trials(space, configs, values))
    proposals = [GPSampler(seed=seed).suggest(history, 1)[0].config["batch_size"] for seed in range(3)]
    assert all(32 <= b <= 128 for b in proposals), proposals
    assert 64 in proposals


def test_only_numbers_in_order_make_a_choice_ordinal():
    from jupyter_metahpo.samplers.optimize import MixedDomain

    assert choice(0.01, 0.1, 1.0, 10.0).ordinal and choice(128, 64, 32).ordinal
    assert not choice(64, 16, 128).ordinal  # out of order: the positions mean nothing
    assert not choice("sqrt", "log2", None).ordinal and not choice(True, False).ordinal
    assert not choice(1, 2).ordinal  # two options: equal or not says it all
    space = SearchSpace({"bs": choice(16, 32, 64), "act": choice("relu", "tanh"), "n": intrange(1, 4)})
    assert MixedDomain.from_space(space).categorical.tolist() == [False, True, False]
