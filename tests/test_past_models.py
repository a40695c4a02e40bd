"""The past studies' GP hyperparameters are kept between studies (issue 20): reused while a past
study's points are the same, refitted when it gained trials, and ignored when the kept data is damaged."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pandas as pd
import pytest

from jupyter_metahpo import loguniform, uniform
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.prior import load_prior
from jupyter_metahpo.samplers import _past_models
from jupyter_metahpo.samplers._past_models import STATE_KEY, PastModelCache, default_cache_dir
from jupyter_metahpo.samplers._singletask_gp import SingleTaskGPNP, fit_key, fit_singletask_gp
from jupyter_metahpo.samplers.base import History
from jupyter_metahpo.samplers.transfer import TransferSampler
from jupyter_metahpo.space import SearchSpace
from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState

SPACE = SearchSpace({"lr": loguniform(1e-3, 0.5), "x": uniform(0.0, 1.0)})


@pytest.fixture
def fits(monkeypatch):
    """The points of every past GP fitted (not built from kept hyperparameters)."""
    fitted: list[np.ndarray] = []

    def counting_fit(X, y):
        fitted.append(np.array(X))
        return fit_singletask_gp(X, y)

    monkeypatch.setattr(_past_models, "fit_singletask_gp", counting_fit)
    return fitted


def _store(tmp_path, n_studies=3, n_trials=80):
    rng = random.Random(0)
    store = ExperienceStore(tmp_path / "store")
    with store.bulk_import() as batch:
        for j in range(n_studies):
            rows = []
            for _ in range(n_trials):
                config = SPACE.sample(rng.randrange(2**31))
                rows.append(dict(config, value=(np.log10(config["lr"]) + 1.5) ** 2 + (config["x"] - 0.3 * j) ** 2))
            batch.import_dataframe(pd.DataFrame(rows), space=SPACE, name=f"past-{j}", task=f"task-{j}")
    return store


def _proposals(store, cache, seed=0, n=3):
    """The first ``n`` proposals of a transfer sampler on the store's studies, without results of its own."""
    sampler = TransferSampler(store.past_studies(), seed=seed, model_cache=cache)
    history = History(SPACE, Direction.MINIMIZE, ())
    return [s.config for s in sampler.suggest(history, n)], sampler


def test_a_second_start_reads_the_past_gps_from_the_store_and_proposes_the_same(tmp_path, fits):
    store = _store(tmp_path)
    first, _ = _proposals(store, PastModelCache(store))
    assert len(fits) == 3  # one GP per past study
    for past in store.past_studies():
        (entry,) = past.extra["model_state"][STATE_KEY].values()
        assert set(entry) == {"lengthscales", "noise", "mean"}
    # A new study (a new cache, the studies read again from disk) fits nothing ...
    cache = PastModelCache(ExperienceStore(store.path))
    again, _ = _proposals(ExperienceStore(store.path), cache)
    assert len(fits) == 3 and cache.n_reused == 3 and cache.n_fitted == 0
    # ... and proposes exactly what a sampler without the cache proposes.
    uncached, _ = _proposals(store, None)
    assert again == first == uncached


def test_kept_hyperparameters_give_the_fitted_model():
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3)), rng.standard_normal(40)
    fitted = fit_singletask_gp(X, y)
    kept = json.loads(json.dumps(fitted.hyperparameters()))  # as stored: through JSON
    rebuilt = SingleTaskGPNP.from_hyperparameters(X, y, kept)
    query = rng.random((10, 3))
    np.testing.assert_array_equal(rebuilt.posterior_np(query).mean, fitted.posterior_np(query).mean)
    np.testing.assert_array_equal(rebuilt.posterior_np(query).var, fitted.posterior_np(query).var)
    # The key names exactly the points: another subset, order or score is another fit.
    assert fit_key(X, y) == fit_key(X.copy(), y.copy())
    assert fit_key(X[1:], y[1:]) != fit_key(X, y)
    assert fit_key(X, y + 1e-12) != fit_key(X, y)
    assert fit_key(X[:, :2], y) != fit_key(X, y)


def test_a_study_that_gained_trials_is_refitted(tmp_path, fits):
    store = _store(tmp_path)
    _proposals(store, PastModelCache(store))
    grown = store.past_studies()[0]
    config = SPACE.sample(7)
    store.append_trial(grown.study_id, FrozenTrial(80, config, TrialState.COMPLETE, Origin("gp"), value=0.123))
    cache = PastModelCache(store)
    _proposals(store, cache)
    assert len(fits) == 4 and cache.n_fitted == 1 and cache.n_reused == 2
    # and its new fit is kept for the next start
    cache = PastModelCache(store)
    _proposals(store, cache)
    assert len(fits) == 4 and cache.n_reused == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_text("{not json"),
        lambda path: path.write_text(json.dumps({"version": 1, "n_complete": 80, "state": {STATE_KEY: "oops"}})),
        lambda path: path.write_text(json.dumps({
            "version": 1, "n_complete": 80,
            "state": {STATE_KEY: {key: {"lengthscales": [-1.0, 0.5], "noise": 0.01, "mean": 0.0}
                                  for key in json.loads(path.read_text())["state"][STATE_KEY]}},
        })),
        lambda path: path.write_text(json.dumps({
            "version": 1, "n_complete": 80,
            "state": {STATE_KEY: {key: {"lengthscales": [0.5], "noise": "x", "mean": None}
                                  for key in json.loads(path.read_text())["state"][STATE_KEY]}},
        })),
    ],
    ids=["not-json", "not-a-mapping", "negative-length-scale", "wrong-shape"],
)
def test_a_damaged_model_state_is_ignored_and_refitted(tmp_path, fits, damage):
    store = _store(tmp_path, n_studies=1)
    first, _ = _proposals(store, PastModelCache(store))
    (study_id,) = [s.study_id for s in store.summaries()]
    damage(store._layout.model_state(study_id))
    cache = PastModelCache(store)
    again, _ = _proposals(store, cache)
    assert len(fits) == 2 and cache.n_reused == 0 and again == first
    # the refit replaced the damaged state
    cache = PastModelCache(store)
    _proposals(store, cache)
    assert len(fits) == 2 and cache.n_reused == 1


def test_other_entries_of_a_model_state_stay(tmp_path):
    store = _store(tmp_path, n_studies=1)
    (past,) = store.past_studies()
    store.save_model_state(past.study_id, {"other_sampler": [1, 2]}, n_complete=len(past.values))
    _proposals(store, PastModelCache(store))
    (past,) = store.past_studies()
    assert past.extra["model_state"]["other_sampler"] == [1, 2] and STATE_KEY in past.extra["model_state"]


def _prior_sampler(cache, seed=0):
    past = load_prior(["svc"])[:20]
    sampler = TransferSampler(past, seed=seed, model_cache=cache)
    space = past[0].space
    return sampler, History(space, Direction.MAXIMIZE, ())


def test_the_priors_past_gps_are_kept_in_the_user_cache_per_prior_version(tmp_path, fits):
    sampler, history = _prior_sampler(PastModelCache(cache_dir=tmp_path))
    first = [s.config for s in sampler.suggest(history, 2)]
    n_first = len(fits)
    assert n_first == sampler.max_past
    (path,) = (tmp_path / "prior-models").iterdir()
    assert path.name.startswith("svc.") and path.suffix == ".json"
    cache = PastModelCache(cache_dir=tmp_path)
    sampler, history = _prior_sampler(cache)
    assert [s.config for s in sampler.suggest(history, 2)] == first
    assert len(fits) == n_first and cache.n_reused == n_first
    # Another version of the prior (another digest) does not read this one's file, and replaces it.
    other = [
        dataclasses.replace(p, extra={**p.extra, "prior_digest": "0" * 16}) for p in load_prior(["svc"])[:20]
    ]
    cache = PastModelCache(cache_dir=tmp_path)
    TransferSampler(other, seed=0, model_cache=cache).suggest(history, 1)
    assert cache.n_reused == 0 and len(fits) == 2 * n_first
    assert [p.name for p in (tmp_path / "prior-models").iterdir()] == [f"svc.{'0' * 16}.json"]


def test_a_damaged_prior_cache_file_is_ignored(tmp_path, fits):
    sampler, history = _prior_sampler(PastModelCache(cache_dir=tmp_path))
    sampler.suggest(history, 1)
    (path,) = (tmp_path / "prior-models").iterdir()
    path.write_bytes(b"\x00garbage")
    cache = PastModelCache(cache_dir=tmp_path)
    sampler, history = _prior_sampler(cache)
    sampler.suggest(history, 1)
    assert cache.n_reused == 0 and cache.n_fitted == sampler.max_past
    assert json.loads(path.read_text())["version"] == 1  # rewritten whole


def test_a_cache_that_cannot_be_written_warns_and_the_study_goes_on(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    sampler, history = _prior_sampler(PastModelCache(cache_dir=blocked))
    with pytest.warns(RuntimeWarning, match="could not keep the prior's GP hyperparameters"):
        assert len(sampler.suggest(history, 1)) == 1


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_METAHPO_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    with pytest.raises(TypeError, match="`model_cache` must be a PastModelCache or None"):
        TransferSampler([], model_cache=str(tmp_path))


def test_a_warm_study_keeps_its_past_gps_in_the_store(tmp_path):
    from jupyter_metahpo.pipeline import prepare_study

    store = _store(tmp_path)

    def objective(lr, x):
        return (np.log10(lr) + 1.5) ** 2 + x * x

    prepared = prepare_study(
        SPACE, objective=objective, direction="minimize", metric=None, name="new", seed=0, sampler=None,
        store=store.path, resume=False, task="task-new", data=None, strategy="default", past=None, settings={},
    )
    cache = prepared.sampler.refiner.model_cache
    assert isinstance(cache, PastModelCache) and cache.store.path == store.path
    assert cache.cache_dir == default_cache_dir()


def test_a_store_study_the_cache_store_does_not_hold_is_fitted_and_the_start_goes_on(tmp_path, fits):
    elsewhere = _store(tmp_path / "a", n_studies=1)
    other_store = ExperienceStore(tmp_path / "b" / "store")
    cache = PastModelCache(other_store)
    sampler = TransferSampler(elsewhere.past_studies(), seed=0, model_cache=cache)
    with pytest.warns(RuntimeWarning, match="could not keep the GP hyperparameters of past study"):
        assert len(sampler.suggest(History(SPACE, Direction.MINIMIZE, ()), 1)) == 1
    assert len(fits) == 1


def test_a_past_study_of_the_users_own_is_kept_in_memory_only(tmp_path, fits):
    store = _store(tmp_path, n_studies=1)
    (stored,) = store.past_studies()
    given = PastStudy.from_arrays("mine", "my task", SPACE, "minimize", stored.configs, stored.values)
    assert given.source == "store"  # the default source, though no store holds it
    cache = PastModelCache(store)
    history = History(SPACE, Direction.MINIMIZE, ())
    TransferSampler([given], seed=0, model_cache=cache).suggest(history, 1)
    TransferSampler([given], seed=0, model_cache=cache).suggest(history, 1)
    assert len(fits) == 1 and cache.n_reused == 1
    assert not list(store._layout.trials_dir.glob("*.model.json"))
