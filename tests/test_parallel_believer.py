"""The kriging believer of parallel studies (samplers/batch.py: BelieverSampler): how often it fits the GP's
hyperparameters while trials run, and that without running trials it proposes as the GP sampler does."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.samplers import DefaultSampler, GPSampler, RandomSampler
from jupyter_metahpo.samplers import gp as gp_module
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.samplers.batch import REFIT_AFTER, BelieverSampler, QLogNEISampler, for_parallel_trials
from jupyter_metahpo.space import SearchSpace, uniform
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState

PLANE = SearchSpace({"x": uniform(0.0, 1.0), "y": uniform(0.0, 1.0)})


def _bowl(x, y):
    return (x - 0.3) ** 2 + (y - 0.7) ** 2


def _history(n_ended, n_running, n_failed=0):
    """``n_ended`` trials of a fixed random sequence ended (the last ``n_failed`` of them failed),
    and the next ``n_running`` configurations of it still running."""
    configs = PLANE.sample(7, n_ended + n_running)
    trials = []
    for i, config in enumerate(configs[:n_ended]):
        failed = i >= n_ended - n_failed
        trials.append(FrozenTrial(i, config, TrialState.FAILED if failed else TrialState.COMPLETE, Origin("test"),
                                  value=None if failed else _bowl(**config)))
    return History(PLANE, Direction.MINIMIZE, tuple(trials), pending=tuple(configs[n_ended:]))


@pytest.fixture
def fits(monkeypatch):
    """The number of hyperparameter fits (``fit_gp`` calls) the GP samplers made."""
    count = {"n": 0}
    real = gp_module.fit_gp

    def counting(*args, **kwargs):
        count["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(gp_module, "fit_gp", counting)
    return count


def test_while_trials_run_the_hyperparameters_are_fitted_once_every_refit_after_ended_trials(fits):
    sampler = BelieverSampler(seed=0, refit_after=4)
    origins = [sampler.suggest(_history(n, 3), 1)[0].origin for n in range(16, 29)]  # one proposal per ended trial
    assert fits["n"] == 4  # at 16, 20, 24 and 28 ended trials
    assert [o.details["hyperparameters"] for o in origins] == ["fitted", "kept", "kept", "kept"] * 3 + ["fitted"]
    assert [o.details.get("fitted_on") for o in origins[:5]] == [None, 16, 16, 16, None]
    assert "its hyperparameters from the fit on 16 trials (refitted every 4)" in origins[1].reason
    assert "fit on" not in origins[0].reason


def test_a_fit_on_few_trials_is_kept_for_at_most_a_quarter_of_them(fits):
    sampler = BelieverSampler(seed=0, refit_after=4)
    kinds = [sampler.suggest(_history(n, 3), 1)[0].origin.details["hyperparameters"] for n in range(3, 15)]
    # fitted on 3 (kept for none), 4 (one: 5), 6 (one: 7), 8 (two: 9, 10), 11 (two: 12, 13), 14
    assert kinds == ["fitted", "fitted", "kept", "fitted", "kept", "fitted", "kept", "kept", "fitted", "kept", "kept",
                     "fitted"]
    assert fits["n"] == 6


def test_a_kept_fit_still_models_every_ended_trial_and_the_running_ones(fits):
    sampler = BelieverSampler(seed=0, refit_after=4)
    fitted = sampler.suggest(_history(12, 2), 1)[0].origin.details
    kept = sampler.suggest(_history(14, 2), 1)[0].origin.details
    assert kept["hyperparameters"] == "kept" and kept["lengthscales"] == fitted["lengthscales"]
    assert kept["n_modelled"] == 14 and kept["n_pending"] == 2  # the two trials that ended since are in the GP
    assert kept["pending_method"] == "kriging believer"


def test_failed_trials_count_as_ended_and_refit_after_one_fits_at_every_proposal(fits):
    sampler = BelieverSampler(seed=0, refit_after=2)
    sampler.suggest(_history(12, 2), 1)
    sampler.suggest(_history(13, 2), 1)  # kept
    sampler.suggest(_history(14, 2, n_failed=1), 1)  # two more ended since the fit, one failed: fitted again
    assert fits["n"] == 2
    every = BelieverSampler(seed=0, refit_after=1)
    for n in range(6, 10):
        assert every.suggest(_history(n, 2), 1)[0].origin.details["hyperparameters"] == "fitted"
    assert fits["n"] == 6


def test_with_no_trial_running_it_fits_every_call_and_proposes_what_the_gp_sampler_proposes(fits):
    believer, plain = BelieverSampler(seed=0, refit_after=4), GPSampler(seed=0)
    for n in range(6, 12):
        ours, theirs = believer.suggest(_history(n, 0), 2)[:2], plain.suggest(_history(n, 0), 2)[:2]
        assert [s.config for s in ours] == [s.config for s in theirs]
    assert fits["n"] == 2 * 6  # each sampler fitted at each call


def test_past_the_point_budget_the_ended_trials_not_the_modelled_ones_decide_the_refit(fits):
    sampler = BelieverSampler(seed=0, refit_after=3, max_points=6)
    details = [sampler.suggest(_history(n, 2), 1)[0].origin.details for n in range(12, 16)]
    assert [d["n_modelled"] for d in details] == [6] * 4  # always 6 of them: the budget
    assert [d["hyperparameters"] for d in details] == ["fitted", "kept", "kept", "fitted"]
    assert fits["n"] == 2


def test_refit_after_and_the_running_search_must_be_positive_integers():
    for name in ("refit_after", "running_raw_samples", "running_restarts"):
        for bad in (0, -1, 2.5, True, "4"):
            with pytest.raises(ValueError, match=f"`{name}` must be a positive integer"):
                BelieverSampler(**{name: bad})


def test_the_acquisition_search_is_smaller_only_while_trials_run(monkeypatch):
    searched = []
    real = gp_module.maximize_acquisition

    def recording(*args, n_raw, n_starts, **kwargs):
        searched.append((n_raw, n_starts))
        return real(*args, n_raw=n_raw, n_starts=n_starts, **kwargs)

    monkeypatch.setattr(gp_module, "maximize_acquisition", recording)
    sampler = BelieverSampler(seed=0, n_raw_samples=300, n_restarts=6, running_raw_samples=100, running_restarts=2)
    sampler.suggest(_history(8, 0), 2)  # a batch with nothing running: the GP sampler's search for each member
    sampler.suggest(_history(8, 1), 2)
    assert searched == [(300, 6), (300, 6), (100, 2), (100, 2)]
    searched.clear()
    BelieverSampler(seed=0, running_raw_samples=None, running_restarts=None).suggest(_history(8, 1), 1)
    assert searched == [(1024, 8)]  # None: as many as with nothing running


def test_for_parallel_trials_gives_our_default_the_believer_with_the_gp_samplers_settings():
    default = for_parallel_trials(None, seed=3)
    assert isinstance(default, DefaultSampler) and type(default.refiner) is BelieverSampler
    assert default.seed == 3 and default.refiner.seed == 3 and default.refiner.refit_after == REFIT_AFTER
    tuned = DefaultSampler(seed=1, n_initial=7, refiner=GPSampler(seed=1, acquisition="ucb", n_restarts=3, max_points=50))
    swapped = for_parallel_trials(tuned)
    assert swapped.n_initial == 7 and type(swapped.refiner) is BelieverSampler
    refiner = swapped.refiner
    assert (refiner.acquisition, refiner.n_restarts, refiner.max_points) == ("ucb", 3, 50)
    assert isinstance(for_parallel_trials(tuned, proposals="qlognei").refiner, QLogNEISampler)
    mine = RandomSampler(seed=0)
    assert for_parallel_trials(mine) is mine  # a sampler that is not our default is kept


def test_a_batch_asked_for_at_once_fits_once_and_spreads_out(fits):
    suggestions = BelieverSampler(seed=0).suggest(_history(8, 1), 4)
    assert fits["n"] == 1
    assert [s.origin.details["n_pending"] for s in suggestions] == [1, 2, 3, 4]
    points = np.array([[s.config["x"], s.config["y"]] for s in suggestions])
    distances = np.linalg.norm(points[:, None] - points[None, :], axis=-1)
    assert distances[np.triu_indices(4, 1)].min() > 1e-3


def test_with_its_defaults_it_proposes_what_the_gp_sampler_proposes_while_trials_run(fits):
    believer, plain = BelieverSampler(seed=0), GPSampler(seed=0)
    for n in range(6, 10):
        ours, theirs = believer.suggest(_history(n, 3), 1), plain.suggest(_history(n, 3), 1)
        assert [s.config for s in ours] == [s.config for s in theirs]
        assert ours[0].origin.details["hyperparameters"] == "fitted"
    assert fits["n"] == 2 * 4


def test_the_believer_hooks_see_the_running_trials_and_each_earlier_member_of_a_batch():
    # _anchors and _believe are how other ways of proposing plug in (benchmarks/parallel_variants.py).
    seen = {"anchors": [], "believe": []}

    class Recording(BelieverSampler):
        def _anchors(self, X, y, pending):
            seen["anchors"].append(len(pending))
            return super()._anchors(X, y, pending)

        def _believe(self, gp, pending, y):
            seen["believe"].append(len(pending))
            return super()._believe(gp, pending, y)

    history = _history(12, 3)
    recorded = Recording(seed=0).suggest(history, 2)
    assert seen == {"anchors": [3], "believe": [3, 4]}
    assert [s.config for s in recorded] == [s.config for s in BelieverSampler(seed=0).suggest(history, 2)]
