"""Proposals for parallel trials (samplers/batch.py): BoTorch's qLogNEI with the running trials pending,
and the kriging believer, named as such, where BoTorch is missing."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.meta.synthetic import make_family, past_study, synthetic_space
from jupyter_metahpo.pipeline import Experience, build_sampler, plan_task
from jupyter_metahpo.samplers import DefaultSampler, GPSampler, RandomSampler
from jupyter_metahpo.samplers import batch
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.samplers.batch import QLogNEISampler, for_parallel_trials
from jupyter_metahpo.samplers.transfer import TransferSampler
from jupyter_metahpo.space import SearchSpace, choice, intrange, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState

pytest.importorskip("botorch")

LINE = SearchSpace({"x": uniform(0.0, 1.0)})


def _history(space, configs, objective, pending=()):
    trials = tuple(
        FrozenTrial(i, c, TrialState.COMPLETE, Origin("test"), value=objective(**c)) for i, c in enumerate(configs)
    )
    return History(space, Direction.MINIMIZE, trials, pending=tuple(pending))


def _valley(x):
    return (x - 0.62) ** 2


def _small(seed=0):
    return QLogNEISampler(seed=seed, raw_samples=128, num_restarts=4, mc_samples=64)


def test_a_pending_trial_at_the_best_guess_moves_the_next_proposal_away():
    configs = [{"x": v} for v in (0.05, 0.3, 0.5, 0.75, 0.95)]
    alone = _small().suggest(_history(LINE, configs, _valley), 1)[0]
    guess = alone.config["x"]
    assert abs(guess - 0.62) < 0.15  # near the valley's bottom
    beside = _small().suggest(_history(LINE, configs, _valley, pending=[{"x": guess}]), 1)[0]
    assert abs(beside.config["x"] - guess) > 0.02  # not the running trial again
    assert beside.origin.details["n_pending"] == 1 and alone.origin.details["n_pending"] == 0


def test_the_origin_names_qlognei_and_botorch():
    configs = [{"x": v} for v in (0.1, 0.4, 0.9)]
    (suggestion,) = _small().suggest(_history(LINE, configs, _valley, pending=[{"x": 0.6}]), 1)
    origin = suggestion.origin
    assert origin.source == "gp" and "qLogNEI (BoTorch)" in origin.reason and "1 running trial pending" in origin.reason
    assert origin.details["acquisition"] == "qlognei" and origin.details["pending_method"] == "qLogNEI X_pending"
    assert np.isfinite(origin.details["predicted_value"]) and origin.details["predicted_std"] >= 0


def test_a_batch_is_greedy_each_member_pending_for_the_next():
    configs = [{"x": v} for v in (0.05, 0.3, 0.5, 0.75, 0.95)]
    suggestions = _small().suggest(_history(LINE, configs, _valley, pending=[{"x": 0.2}]), 3)
    assert [s.origin.details["n_pending"] for s in suggestions] == [1, 2, 3]
    xs = sorted(s.config["x"] for s in suggestions)
    assert min(np.diff(xs)) > 1e-3


def test_without_botorch_the_kriging_believer_proposes_and_the_origin_says_so(monkeypatch):
    monkeypatch.setattr(batch, "botorch_available", lambda: False)
    configs = [{"x": v} for v in (0.1, 0.4, 0.9)]
    (suggestion,) = _small().suggest(_history(LINE, configs, _valley, pending=[{"x": 0.6}]), 1)
    origin = suggestion.origin
    assert origin.details["pending_method"] == "kriging believer"
    assert "BoTorch is not installed" in origin.reason and "qLogNEI" in origin.reason
    assert "qlognei" not in str(origin.details.get("acquisition"))  # what ran is the GP sampler's LogEI


def test_a_small_discrete_space_gets_only_untried_configurations():
    space = SearchSpace({"n": intrange(1, 3), "c": choice("a", "b")})
    tried = [{"n": 1, "c": "a"}, {"n": 2, "c": "a"}, {"n": 3, "c": "b"}]
    history = _history(space, tried, lambda n, c: n + (c == "b"), pending=[{"n": 3, "c": "a"}])
    suggestions = _small().suggest(history, 2)
    keys = {(s.config["n"], s.config["c"]) for s in suggestions}
    assert len(keys) == 2 and keys <= {(1, "b"), (2, "b")}


def test_many_categories_search_the_best_trials_combinations_first():
    space = SearchSpace({"x": uniform(0, 1), "a": choice(*"abcd"), "b": choice(*"xyz")})  # 12 combinations
    sampler = QLogNEISampler(seed=0, max_category_combinations=4)
    configs = space.sample(0, 8)
    history = _history(space, configs, lambda x, a, b: x + (a != "c") + (b != "y"))
    combos = sampler._category_combinations(space, batch.MixedDomain.from_space(space), history)
    assert len(combos) == 4 and len({tuple(c.items()) for c in combos}) == 4
    best = min(history.complete, key=lambda t: t.value).config
    unit = space.encode([dict(best)])[0]
    assert combos[0] == {1: float(unit[1]), 2: float(unit[2])}


def test_for_parallel_trials_gives_the_believer_by_default_and_swaps_only_the_plain_gp_for_qlognei():
    default = for_parallel_trials(None, seed=3)
    assert isinstance(default, DefaultSampler) and isinstance(default.refiner, batch.BelieverSampler)
    assert default.seed == 3
    swapped = for_parallel_trials(None, seed=3, proposals="qlognei")
    assert isinstance(swapped, DefaultSampler) and isinstance(swapped.refiner, QLogNEISampler)
    mine = RandomSampler(seed=0)
    assert for_parallel_trials(mine, proposals="qlognei") is mine  # a sampler the user gave is theirs
    tasks = make_family("related", 5, seed=0)
    past = [past_study(t, seed=0) for t in tasks[1:]]
    plan = plan_task(None, None, None, "default", tasks[0].objective, synthetic_space())
    experience = Experience.of(synthetic_space(), past)
    warm = build_sampler(plan, synthetic_space(), experience, seed=0)
    assert isinstance(warm.refiner, TransferSampler)
    assert for_parallel_trials(warm, proposals="qlognei") is warm  # the transfer refinement handles them its own way
    plain = DefaultSampler(seed=1, refiner=GPSampler(seed=1))
    assert isinstance(for_parallel_trials(plain).refiner, batch.BelieverSampler)
    assert for_parallel_trials(warm) is warm
    assert isinstance(for_parallel_trials(plain, proposals="qlognei").refiner, QLogNEISampler)
    with pytest.raises(ValueError, match="`proposals` must be one of"):
        for_parallel_trials(None, proposals="thompson")


def test_the_believer_says_how_it_counted_the_running_trials():
    configs = [{"x": v} for v in (0.1, 0.4, 0.7, 0.9, 0.2)]
    (suggestion,) = GPSampler(seed=0).suggest(_history(LINE, configs, _valley, pending=[{"x": 0.6}, {"x": 0.3}]), 1)
    origin = suggestion.origin
    assert "with 2 running trials counted as observed at the GP's prediction (kriging believer)" in origin.reason
    assert origin.details["pending_method"] == "kriging believer" and origin.details["n_pending"] == 2
    (alone,) = GPSampler(seed=0).suggest(_history(LINE, configs, _valley), 1)
    assert "running" not in alone.origin.reason and "pending_method" not in alone.origin.details