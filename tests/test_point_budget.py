"""The point budget: past ``max_points`` trials the samplers fit their GPs on a chosen subset.

The subset rules on hand-made point sets whose right answer is known; the samplers:
within the budget they propose exactly what they propose without one, past it their
models see ``max_points`` trials and the suggestions say so.
"""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.samplers._rgpe import _misranked_pairs
from jupyter_metahpo.samplers._subset import (
    SUBSET_RULES,
    check_max_points,
    check_subset_rule,
    choose_subset,
    newest_count,
    trust_region,
)
from jupyter_metahpo.samplers import gp as gp_module
from jupyter_metahpo.samplers.gp import GPSampler
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.samplers.optimize import MixedDomain, _distance_to_nearest
from jupyter_metahpo.space import SearchSpace, choice, intrange, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState

SPACE = SearchSpace({"x": uniform(0.0, 1.0), "y": uniform(0.0, 1.0), "n": intrange(1, 8), "c": choice("a", "b")})


def _objective(config) -> float:
    return (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2 + 0.01 * config["n"] + (0.1 if config["c"] == "b" else 0.0)


def _history(n: int, seed: int = 0, n_failed: int = 0) -> History:
    configs = SPACE.sample(seed, n + n_failed)
    trials = [
        FrozenTrial(i, c, TrialState.COMPLETE, Origin("test"), value=_objective(c)) for i, c in enumerate(configs[:n])
    ]
    trials += [
        FrozenTrial(n + i, c, TrialState.FAILED, Origin("test"), error="boom") for i, c in enumerate(configs[n:])
    ]
    return History(SPACE, Direction.MINIMIZE, tuple(trials))


# ---------------------------------------------------------------- the subset rules


@pytest.mark.parametrize("rule", SUBSET_RULES)
def test_within_the_budget_every_point_is_kept_in_order(rule):
    X = np.random.default_rng(0).random((30, 3))
    assert list(choose_subset(X, X[:, 0], 30, rule)) == list(range(30))


@pytest.mark.parametrize("rule", SUBSET_RULES)
def test_past_the_budget_a_rule_keeps_max_points_distinct_indices_in_order_and_repeats_itself(rule):
    rng = np.random.default_rng(1)
    X, y = rng.random((500, 4)), rng.standard_normal(500)
    chosen = choose_subset(X, y, 64, rule)
    assert len(chosen) == len(set(chosen)) == 64
    assert list(chosen) == sorted(chosen) and chosen.min() >= 0 and chosen.max() < 500
    assert np.array_equal(chosen, choose_subset(X, y, 64, rule))


def test_best_spread_keeps_the_best_quarter_and_reaches_every_cluster():
    # Five tight clusters of 100 points; the scores favour cluster 0 only.
    rng = np.random.default_rng(2)
    centres = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9], [0.9, 0.9], [0.5, 0.5]])
    X = np.repeat(centres, 100, axis=0) + 0.001 * rng.standard_normal((500, 2))
    y = np.where(np.arange(500) < 100, 1.0, 0.0) + 0.01 * rng.standard_normal(500)
    chosen = choose_subset(X, y, 16, "best-spread")
    assert set(np.argsort(-y)[:4]) <= set(chosen)
    assert set(chosen // 100) == {0, 1, 2, 3, 4}


def test_a_random_subset_misses_clusters_that_the_spread_reaches():
    # The control is what it claims to be: 499 points in one clump, one far away.
    X = np.vstack([np.full((499, 2), 0.2) + 1e-3 * np.random.default_rng(3).random((499, 2)), [[0.95, 0.95]]])
    y = np.zeros(500)
    assert 499 in choose_subset(X, y, 10, "best-spread")
    assert 499 in choose_subset(X, y, 10, "local")
    assert 499 not in choose_subset(X, y, 10, "random")


def test_local_keeps_the_points_nearest_the_incumbent_in_the_gp_metric():
    rng = np.random.default_rng(4)
    X = rng.random((400, 2))
    y = -((X - 0.5) ** 2).sum(axis=1)
    incumbent = int(np.argmax(y))
    chosen = choose_subset(X, y, 40, "local")
    distance = ((X - X[incumbent]) ** 2).sum(axis=1)
    assert set(np.argsort(distance)[:30]) <= set(chosen)  # three quarters: the trust region
    # A long length scale on x makes "near" mean near in y alone.
    stretched = choose_subset(X, y, 40, "local", lengthscales=np.array([100.0, 1.0]))
    distance_y = (X[:, 1] - X[incumbent, 1]) ** 2 + ((X[:, 0] - X[incumbent, 0]) / 100.0) ** 2
    assert set(np.argsort(distance_y)[:30]) <= set(stretched)


def test_the_trust_region_is_the_box_of_the_points_nearest_the_incumbent():
    rng = np.random.default_rng(7)
    X = rng.random((400, 3))
    X[:, 2] = rng.choice([0.25, 0.75], size=400)  # a categorical column
    y = -((X[:, :2] - 0.4) ** 2).sum(axis=1)
    categorical = np.array([False, False, True])
    lower, upper = trust_region(X, y, 40, categorical=categorical)
    near = X[np.argsort(((X[:, :2] - X[np.argmax(y), :2]) ** 2).sum(axis=1) + (X[:, 2] != X[np.argmax(y), 2]))[:30]]
    assert np.allclose(lower[:2], near[:, :2].min(axis=0)) and np.allclose(upper[:2], near[:, :2].max(axis=0))
    assert (lower[2], upper[2]) == (0.0, 1.0)  # options have no order: left whole
    assert np.all(upper[:2] - lower[:2] < 0.5)
    within_budget = trust_region(X[:40], y[:40], 40)
    assert np.array_equal(within_budget[0], np.zeros(3)) and np.array_equal(within_budget[1], np.ones(3))


def test_a_domain_within_a_box_samples_perturbs_and_enumerates_inside_it():
    domain = MixedDomain.from_space(SPACE)  # x, y continuous; n (8 integers) and c discrete
    lower, upper = np.array([0.2, 0.5, 0.3, 0.0]), np.array([0.4, 0.6, 0.6, 1.0])
    box = domain.within(lower, upper)
    rng = np.random.default_rng(8)
    for X in (box.sample(rng, 500), box.perturb(rng, box.sample(rng, 3), 500, scale=0.5)):
        assert np.all(X >= lower - 1e-12) and np.all(X <= upper + 1e-12)
    n_grid = box.grids[0]
    assert np.all((n_grid >= 0.3) & (n_grid <= 0.6)) and 0 < len(n_grid) < len(domain.grids[0])
    assert len(box.grids[1]) == 2  # both options of c
    # No integer inside a thin box: the nearest one is kept.
    thin = domain.within(np.array([0.0, 0.0, 0.50, 0.0]), np.array([1.0, 1.0, 0.51, 1.0]))
    assert len(thin.grids[0]) == 1 and abs(thin.grids[0][0] - 0.505) < 1 / 16


def test_categorical_columns_count_as_equal_or_not():
    # Two options encoded at 0.25 and 0.75: with Hamming distance both differ by exactly 1.
    X = np.array([[0.0, 0.25], [0.0, 0.75], [0.6, 0.25], [0.0, 0.25]] * 25)
    y = np.zeros(100)
    y[0] = 1.0
    chosen = choose_subset(X, y, 3, "best-spread", categorical=np.array([False, True]))
    assert sorted({tuple(X[i]) for i in chosen}) == [(0.0, 0.25), (0.0, 0.75), (0.6, 0.25)]


def test_identical_points_still_give_max_points_indices():
    X = np.zeros((50, 3))
    for rule in SUBSET_RULES:
        assert len(set(choose_subset(X, np.zeros(50), 20, rule))) == 20


def test_bad_settings_are_refused_with_their_name():
    with pytest.raises(ValueError, match=r"`subset` must be one of \['best-spread', 'local', 'random'\]"):
        check_subset_rule("nearest")
    with pytest.raises(ValueError, match="`max_points` must be an integer >= 2 or None"):
        check_max_points(1, minimum=2)
    with pytest.raises(ValueError, match="`max_points` must be an integer >= 2 or None"):
        check_max_points(True, minimum=2)
    assert check_max_points(None, minimum=2) is None


# ---------------------------------------------------------------- exact helpers


def test_misranked_pairs_in_chunks_equal_the_whole_comparison_with_ties():
    rng = np.random.default_rng(5)
    y = rng.standard_normal(40).round(1)  # ties in the observations
    samples = rng.standard_normal((70, 40))  # 70 rows: three chunks, the last one short
    samples[:, 3] = samples[:, 4]  # ties in the samples
    truth = y[:, None] < y[None, :]
    whole = ((samples[:, :, None] < samples[:, None, :]) ^ truth[None]).sum(axis=(1, 2))
    assert np.array_equal(_misranked_pairs(samples, y), whole)


def test_distance_to_the_nearest_taken_point_is_the_largest_coordinate_gap():
    rng = np.random.default_rng(6)
    points, taken = rng.random((300, 5)), rng.random((90, 5))
    taken[:4] = points[:4]
    brute = np.abs(points[:, None, :] - taken[None, :, :]).max(axis=2).min(axis=1)
    assert np.array_equal(_distance_to_nearest(points, taken), brute)


# ---------------------------------------------------------------- the GP sampler


def _gp_configs(history: History, n: int = 1, **options) -> list[dict]:
    from jupyter_metahpo.samplers.gp import GPSampler

    return [dict(s.config) for s in GPSampler(seed=0, n_raw_samples=128, **options).suggest(history, n)]


def test_gp_within_the_budget_proposes_what_it_proposes_without_one():
    history = _history(18, n_failed=2)
    assert _gp_configs(history, 2, max_points=20) == _gp_configs(history, 2, max_points=None)


def test_gp_past_the_budget_fits_max_points_trials_and_says_so():
    from jupyter_metahpo.samplers.gp import GPSampler

    history = _history(36, n_failed=4)
    sampler = GPSampler(seed=0, n_raw_samples=128, max_points=24)
    first, second = sampler.suggest(history, 2)
    details = first.origin.details
    assert details["n_modelled"] == 24 and details["n_trials"] == 36 and details["n_failed"] == 4
    assert [first.origin.details["n_pending"], second.origin.details["n_pending"]] == [0, 1]
    assert "a GP fitted on 24 of 40 trials (best-spread subset)" in first.origin.reason
    assert SPACE.validate_config(first.config) and first.config != second.config
    # Within the budget nothing says a subset was used.
    (plain,) = GPSampler(seed=0, n_raw_samples=128).suggest(history, 1)
    assert plain.origin.details["n_modelled"] == 40 and "of 40" not in plain.origin.reason


def test_gp_local_subset_searches_only_the_trust_region():
    from jupyter_metahpo.samplers import gp as gp_module
    from jupyter_metahpo.samplers.gp import GPSampler

    history = _history(60)
    X, y, _, _ = gp_module.training_data(history)
    domain = MixedDomain.from_space(SPACE)
    lower, upper = trust_region(X, y, 24, categorical=domain.categorical)
    assert np.any(upper - lower < 0.9)  # a real restriction, not the whole cube
    suggestions = GPSampler(seed=0, n_raw_samples=128, max_points=24, subset="local").suggest(history, 3)
    for suggestion in suggestions:
        x = SPACE.encode([suggestion.config])[0]
        assert np.all(x >= lower - 1e-9) and np.all(x <= upper + 1e-9)


def test_gp_point_budget_settings_are_checked():
    from jupyter_metahpo.samplers.gp import MAX_POINTS, GPSampler

    assert GPSampler().max_points == MAX_POINTS and GPSampler().subset == "best-spread"
    with pytest.raises(ValueError, match="`max_points` must be an integer >= 2 or None"):
        GPSampler(max_points=0)
    with pytest.raises(ValueError, match="`subset` must be one of"):
        GPSampler(subset="best")


# ---------------------------------------------------------------- the transfer sampler


def _past(n: int = 30) -> list[PastStudy]:
    configs = SPACE.sample(100, n)
    values = [_objective(c) + 0.05 * c["x"] for c in configs]
    return [PastStudy.from_arrays("past-0", "related", SPACE, "minimize", configs, values)]


def _transfer(history: History, **options):
    from jupyter_metahpo.samplers.transfer import TransferSampler

    sampler = TransferSampler(_past(), seed=1, n_candidates=128, n_samples=32, **options)
    return sampler, sampler.suggest(history, 1)[0]


def test_transfer_within_the_budget_proposes_what_it_proposes_without_one():
    history = _history(20)
    capped, with_budget = _transfer(history, max_points=20)
    uncapped, without = _transfer(history, max_points=None)
    assert dict(with_budget.config) == dict(without.config)
    assert with_budget.origin.details["predicted"] == without.origin.details["predicted"]
    assert capped.weights_ == uncapped.weights_


def test_transfer_past_the_budget_models_max_points_trials_and_keeps_the_incumbent(monkeypatch):
    from jupyter_metahpo.samplers import _rgpe, transfer

    history = _history(60)
    seen: list[int] = []
    real_fit = transfer.fit_singletask_gp

    def counting_fit(X, y):
        seen.append(len(X))
        return real_fit(X, y)

    monkeypatch.setattr(transfer, "fit_singletask_gp", counting_fit)
    monkeypatch.setattr(_rgpe, "fit_singletask_gp", counting_fit)  # the stacked ensemble's residual GP
    sampler, suggestion = _transfer(history, max_points=16)
    target = sampler._target(history)
    # The past study's GP (30 trials), then the current study's GP and the residual GP: 16 each.
    assert seen == [30, 16, 16]
    assert len(target.x) == 16 and target.best == pytest.approx(float(target.y.max()))
    best = SPACE.encode([min(history.complete, key=lambda t: t.value).config])[0]
    assert any(np.array_equal(best, row) for row in target.x)
    assert SPACE.validate_config(suggestion.config)
    assert sum(sampler.weights_.values()) == pytest.approx(1.0)


def test_transfer_point_budget_settings_are_checked():
    from jupyter_metahpo.samplers.transfer import MAX_TARGET_POINTS, TransferSampler

    assert TransferSampler([]).max_points == MAX_TARGET_POINTS
    with pytest.raises(ValueError, match="`max_points` must be an integer >= 5 or None"):
        TransferSampler([], max_points=4)
    with pytest.raises(ValueError, match="`subset` must be one of"):
        TransferSampler([], subset="all")


@pytest.mark.parametrize("rule", ["best-spread", "local"])
def test_the_newest_trials_are_kept_even_when_poor_and_close_to_others(rule):
    # A dense clump of poor trials: neither best, nor far, nor (for "local") near the incumbent.
    rng = np.random.default_rng(9)
    X = np.vstack([rng.random((300, 2)), 0.8 + 0.01 * rng.random((200, 2))])
    y = np.concatenate([-((X[:300] - 0.2) ** 2).sum(axis=1), np.full(200, -5.0)])
    newest = newest_count(64)
    assert newest == 16
    chosen = choose_subset(X, y, 64, rule)
    assert set(range(500 - newest, 500)) <= set(chosen)
    # ``order`` says which rows were tried last when the rows are not in that order.
    order = np.arange(500)[::-1]
    assert set(range(newest)) <= set(choose_subset(X, y, 64, rule, order=order))
    assert newest_count(8) == 2 and newest_count(2) == 0


def test_the_gp_sampler_keeps_its_newest_trials_failed_ones_included(monkeypatch):
    # Trial 290 (among the 16 newest) and trial 50 failed: the model's rows are the complete
    # trials, then the failed ones, so the newest are found by trial number, not by row.
    configs = SPACE.sample(5, 300)
    trials = tuple(
        FrozenTrial(i, c, TrialState.FAILED, Origin("test"), error="boom") if i in (50, 290)
        else FrozenTrial(i, c, TrialState.COMPLETE, Origin("test"), value=_objective(c))
        for i, c in enumerate(configs)
    )
    history = History(SPACE, Direction.MINIMIZE, trials)
    seen = {}

    def recording(X, y, max_points, rule, **kwargs):
        seen["order"], seen["keep"] = kwargs["order"], choose_subset(X, y, max_points, rule, **kwargs)
        return seen["keep"]

    monkeypatch.setattr(gp_module, "choose_subset", recording)
    suggestion = GPSampler(seed=0, max_points=64).suggest(history, 1)[0]
    assert suggestion.origin.details["n_modelled"] == 64
    assert list(seen["order"]) == [n for n in range(300) if n not in (50, 290)] + [50, 290]
    assert set(range(284, 300)) <= {int(seen["order"][i]) for i in seen["keep"]}
