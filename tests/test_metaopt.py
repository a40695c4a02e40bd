"""The optimisation-based meta-learner (``strategy="meta-optimizer"``): training, the study loop,
its update after a study, its errors, and its selection in tune, suggest, race and the magic."""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np
import pytest

import jupyter_metahpo
from jupyter_metahpo import tune
from jupyter_metahpo.meta.base import prepare
from jupyter_metahpo.meta.metaopt import LOG_SIGMA_RANGE, MetaOptimizer, NoPastTasksError, history_state
from jupyter_metahpo.meta.strategies import DefaultStrategy, TaskDescription, make_strategy
from jupyter_metahpo.meta.synthetic import SYNTHETIC_FEATURE_SET, make_family, past_study, synthetic_space
from jupyter_metahpo.pipeline import warm_start_size
from jupyter_metahpo.samplers.metaopt import MetaOptimizerSampler
from jupyter_metahpo.study import Study

SPACE = synthetic_space()
#: Small fits: the tests check what a fit produces, not how good it is.
SMALL = {"epochs": 60, "histories_per_task": 12, "rollout_steps": 4}


def _family(seed=0, n=9):
    tasks = make_family("related", n, seed=seed)
    return tasks[0], [past_study(t, seed=seed) for t in tasks[1:]]


def _task(new):
    return TaskDescription(new.name, new.meta_features, SYNTHETIC_FEATURE_SET)


def _store_task(new):
    return {"name": new.name, "meta_features": new.meta_features, "meta_feature_set": SYNTHETIC_FEATURE_SET}


def _states(model, studies, task):
    """One state per past study: its first 5 trials as the history."""
    embedding = model.embed(task)
    return [history_state(t.unit[:5], t.scores[:5], embedding, model.recent) for t in studies]


# ------------------------------------------------------------------ training


def test_a_fit_has_the_shapes_and_scales_it_promises_and_is_reproducible():
    new, past = _family()
    studies = prepare(SPACE, past)
    model = MetaOptimizer(seed=3, **SMALL).fit_from(_task(new), SPACE, studies)
    assert model.n_tasks == len(past) and model.n_states > len(past)
    assert model.encoder is not None and model.embed(_task(new)).shape == (model.embedding_dim,)
    states = _states(model, studies, _task(new))
    assert states[0].features.shape == (model.embedding_dim + len(SPACE) + 2 + model.recent * (len(SPACE) + 2),)
    mu, sigma = model.step(states)
    assert mu.shape == sigma.shape == (len(studies), len(SPACE))
    assert np.all(np.abs(mu) <= 1.0)
    assert np.all((sigma >= np.exp(LOG_SIGMA_RANGE[0]) - 1e-9) & (sigma <= np.exp(LOG_SIGMA_RANGE[1]) + 1e-9))
    assert model.fit_seconds > 0 and model.fit_cpu_seconds > 0

    again = MetaOptimizer(seed=3, **SMALL).fit_from(_task(new), SPACE, studies)  # a fresh object, same seed
    np.testing.assert_array_equal(again.step(states)[0], mu)
    other = MetaOptimizer(seed=4, **SMALL).fit_from(_task(new), SPACE, studies)
    assert not np.allclose(other.step(states)[0], mu)


def test_the_learned_step_points_towards_better_configurations_on_the_past_tasks():
    # "related": each task's optimum is where its meta-features say; from a random incumbent the
    # step must on average bring a past task's configuration closer to that task's best trial.
    new, past = _family(seed=2, n=13)
    studies = prepare(SPACE, past)
    model = MetaOptimizer(seed=0).fit_from(_task(new), SPACE, studies)
    rng = np.random.default_rng(0)
    before, after = [], []
    for t in studies:
        embedding = model.task_embeddings[t.study.study_id]
        order = rng.permutation(len(t.scores))[:4]
        state = history_state(t.unit[order], t.scores[order], embedding, model.recent)
        mu, _ = model.step([state])
        best = t.unit[t.best_index]
        before.append(np.linalg.norm(state.incumbent - best))
        after.append(np.linalg.norm(np.clip(state.incumbent + mu[0], 0, 1) - best))
    assert np.mean(after) < 0.8 * np.mean(before)


def test_the_mode_objective_and_drawn_steps_fit_and_propose_new_configurations():
    new, past = _family(seed=6)
    studies = prepare(SPACE, past)
    strategy = MetaOptimizer(seed=0, objective="mode", proposal="sample", **SMALL)
    model = strategy.fit_from(_task(new), SPACE, studies)
    mu, sigma = model.step(_states(model, studies, _task(new)))
    assert mu.shape == sigma.shape == (len(studies), len(SPACE)) and np.isfinite(model.final_loss)
    sampler = MetaOptimizerSampler(strategy, studies, _task(new), seed=0)
    study = Study(SPACE, sampler=sampler)
    for config in SPACE.sample(1, 3):
        study.tell(study.enqueue(config), new.objective(dict(config)))
    step = sampler.suggest(study.history(), 1)[0]
    assert step.origin.details["draws"] >= 1  # always a draw from the learned Gaussian
    assert "drawn from its learned spread" in step.origin.reason


def test_without_past_tasks_the_error_says_why_and_how_to_fix_it():
    new, past = _family()
    with pytest.raises(NoPastTasksError, match="needs 2.*Tune a few tasks in this space first.*past="):
        MetaOptimizer().fit_from(_task(new), SPACE, prepare(SPACE, past[:1]))
    # tune: before the first trial, for a space no past study (and no prior) covers
    with pytest.raises(NoPastTasksError, match="strategy='default'"):
        tune(new.objective, SPACE, 3, strategy="meta-optimizer", store=False)
    assert isinstance(NoPastTasksError("x"), ValueError)


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="`recent` must be an integer >= 1, but got recent=0"):
        MetaOptimizer(recent=0)
    with pytest.raises(ValueError, match="`temperature` must be > 0"):
        MetaOptimizer(temperature=0.0)
    with pytest.raises(ValueError, match=r"`objective` must be one of \['moments', 'mode'\]"):
        MetaOptimizer(objective="best")
    with pytest.raises(ValueError, match=r"`proposal` must be one of \['mean', 'sample'\]"):
        MetaOptimizer(proposal="greedy")
    with pytest.raises(ValueError, match="`locality` must be > 0 or None"):
        MetaOptimizer(locality=0.0)
    with pytest.raises(TypeError, match="must be a MetaOptimizer"):
        MetaOptimizerSampler(DefaultStrategy(), [])


# ------------------------------------------------------------------ in the study loop


def test_tune_runs_the_warm_start_then_the_meta_optimisers_steps(tmp_path):
    new, past = _family(seed=1)
    k = warm_start_size(SPACE)
    result = tune(new.objective, SPACE, k + 4, seed=0, past=past, store=tmp_path / "store", task=_store_task(new),
                  strategy="meta-optimizer")
    origins = [t.origin.source for t in result.trials]
    assert origins == ["warm-start"] * k + ["meta-optimizer"] * 4
    step = result.trials[k].origin
    assert step.reason.startswith(f"step from the incumbent predicted by the meta-optimiser trained on {len(past)} past tasks")
    assert step.details["n_past_tasks"] == len(past) and len(step.details["step"]) == len(SPACE)
    assert result.trials[0].origin.details["strategy"].startswith("meta-optimizer/default/")
    assert result.info["warm_start_strategy"] == "meta-optimizer"
    configs = [tuple(sorted(t.config.items())) for t in result.trials]
    assert len(set(configs)) == len(configs)  # a step already tried is redrawn, never repeated

    again = tune(new.objective, SPACE, k + 4, seed=0, past=past, store=False, task=_store_task(new),
                 strategy="meta-optimizer")
    assert [dict(t.config) for t in again.trials] == [dict(t.config) for t in result.trials]  # same seed, same run


def test_a_step_already_tried_is_drawn_from_the_learned_spread():
    new, past = _family()
    sampler = MetaOptimizerSampler(MetaOptimizer(seed=0, **SMALL), past, _task(new), seed=0)
    study = Study(SPACE, sampler=sampler)
    for config in SPACE.sample(0, 3):
        study.tell(study.enqueue(config), new.objective(dict(config)))
    first = sampler.suggest(study.history(), 1)[0]
    study.tell(study.enqueue(dict(first.config)), 10.0)  # worse than everything: the incumbent stays
    # The same history plus the step itself as a pending trial: the step must not be proposed twice.
    pending = dataclasses.replace(study.history(), pending=(dict(first.config),))
    second = sampler.suggest(pending, 2)
    assert all(dict(s.config) != dict(first.config) for s in second)
    assert dict(second[0].config) != dict(second[1].config)


def test_each_finished_study_is_learned_from_by_the_next(tmp_path):
    store = tmp_path / "store"
    new, past = _family(seed=4)
    k = warm_start_size(SPACE)
    first = tune(new.objective, SPACE, k + 1, seed=0, past=past, store=store, name="first", task=_store_task(new),
                 strategy="meta-optimizer")
    second = tune(new.objective, SPACE, k + 1, seed=0, past=past, store=store, name="second", task=_store_task(new),
                  strategy="meta-optimizer")
    assert first.trials[k].origin.details["n_past_tasks"] == len(past)
    assert second.trials[k].origin.details["n_past_tasks"] == len(past) + 1  # the first study, from the store


def test_an_update_continues_the_previous_fit_on_the_grown_past():
    new, past = _family(seed=5, n=10)
    studies = prepare(SPACE, past)
    strategy = MetaOptimizer(seed=0, **SMALL)
    before = strategy.fit_from(_task(new), SPACE, studies[:-1])
    updated = strategy.fit_from(_task(new), SPACE, studies, update=True)
    refitted = MetaOptimizer(seed=0, **SMALL).fit_from(_task(new), SPACE, studies)
    assert updated is not before and updated.n_tasks == before.n_tasks + 1 == refitted.n_tasks
    states = _states(refitted, studies, _task(new))
    assert not np.allclose(updated.step(states)[0], refitted.step(states)[0])  # continued, not refitted
    assert strategy.fit_from(_task(new), SPACE, studies, update=True) is updated  # cached by what it saw
    # The continued network started from the previous one's weights.
    first = next(iter(before.network.parameters())).detach().numpy()
    moved = next(iter(updated.network.parameters())).detach().numpy()
    assert 0 < np.abs(moved - first).max() < np.abs(first).max()


# ------------------------------------------------------------------ selection everywhere


def test_make_strategy_builds_it_warm_started_by_the_default():
    strategy = make_strategy("meta-optimizer", seed=7)
    assert isinstance(strategy, MetaOptimizer) and isinstance(strategy.warm_start, DefaultStrategy)
    assert strategy.seed == 7


def test_suggest_serves_its_warm_start_with_reasons(tmp_path):
    new, past = _family(seed=1)
    answer = jupyter_metahpo.suggest(SPACE, k=3, strategy="meta-optimizer", past=past, store=False, name=new.name)
    assert len(answer) == 3 and answer.strategy == "meta-optimizer"
    assert all(p.details["strategy"].startswith("meta-optimizer/") for p in answer)
    assert all("before the meta-optimiser's steps" in r for r in answer.reasons)


def test_race_between_the_model_based_and_the_optimisation_based_kinds(tmp_path):
    new, past = _family(seed=1)
    k = warm_start_size(SPACE)
    results = jupyter_metahpo.race(new.objective, SPACE, ["neural", "meta-optimizer"], n_trials=k + 2, past=past,
                                   store=tmp_path / "store", task=_store_task(new), display=False)
    learned = [t.origin.source for t in results["meta-optimizer"].trials]
    assert learned == ["warm-start"] * k + ["meta-optimizer"] * 2
    assert "meta-optimizer" not in {t.origin.source for t in results["neural"].trials}


def test_the_magic_accepts_strategy_meta_optimizer(tmp_path):
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "jupyter_metahpo")
    ip.run_line_magic("config", "MetatuneMagics.display = 'none'")
    store = tmp_path / "store"
    body = textwrap.dedent(
        """
        space = {"x": uniform(-2.0, 2.0), "y": uniform(-1.0, 1.0)}
        def f(x, y):
            return (x - 0.5) ** 2 + (y + 0.2) ** 2
        """
    )
    try:
        for name in ("one", "two"):  # two finished studies of this objective to learn from
            ip.run_cell_magic("metatune", f"--trials 5 --strategy none --name {name} --store {store}", body)
        result = ip.run_cell_magic("metatune", f"--trials 6 --strategy meta-optimizer --name three --store {store}",
                                   body)
    finally:
        ip.run_line_magic("config", "MetatuneMagics.display = 'auto'")
    sources = [t.origin.source for t in result.trials]
    assert "meta-optimizer" in sources and sources[0] == "warm-start"
    assert "trained on 2 past tasks" in result.trials[sources.index("meta-optimizer")].origin.reason
