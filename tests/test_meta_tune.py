"""The warm-start stage as a sampler, ``tune(data=..., strategy=..., past=...)`` end to end,
provenance in the results, meta-features handed to the store, and ``suggest``."""

from __future__ import annotations

import numpy as np
import pytest

import jupyter_metahpo
from jupyter_metahpo import Study, tune
from jupyter_metahpo.meta.strategies import NearestTasks, TaskDescription
from jupyter_metahpo.meta.synthetic import SYNTHETIC_FEATURE_SET, make_family, past_study, synthetic_space
from jupyter_metahpo.pipeline import warm_start_size
from jupyter_metahpo.samplers import DefaultSampler, RandomSampler
from jupyter_metahpo.samplers.warm_start import WarmStartSampler
from jupyter_metahpo.store import ExperienceStore

SPACE = synthetic_space()


def _family(seed=0, n=9):
    tasks = make_family("related", n, seed=seed)
    return tasks[0], [past_study(t, seed=seed) for t in tasks[1:]]


def _task(new):
    return TaskDescription(new.name, new.meta_features, SYNTHETIC_FEATURE_SET)


def test_warm_start_sampler_serves_its_plan_then_fewer_then_none():
    new, past = _family()
    sampler = WarmStartSampler("nearest", past, _task(new), k=3)
    study = Study(SPACE, sampler=sampler)
    first = sampler.suggest(study.history(), 2)
    assert len(first) == 2
    for s in first:
        study.tell(study.enqueue(s.config), new.objective(dict(s.config)))
    rest = sampler.suggest(study.history(), 2)
    assert len(rest) == 1  # one left of three: fewer than asked
    study.tell(study.enqueue(rest[0].config), 0.5)
    assert sampler.suggest(study.history(), 2) == []  # done
    assert [s.origin.source for s in first + rest] == ["warm-start"] * 3
    details = first[0].origin.details
    assert details["strategy"] == "nearest" and details["source_task"] and details["similarity"] > 0
    assert details["predicted"] is not None


def test_warm_start_skips_configs_the_study_already_ran():
    new, past = _family()
    plan = NearestTasks().propose(_task(new), SPACE, past, 2)
    study = Study(SPACE, sampler=RandomSampler(0))
    study.tell(study.enqueue(dict(plan[0].config)), 1.0)  # a resumed study already tried the first one
    served = WarmStartSampler(NearestTasks(), past, _task(new), k=2).suggest(study.history(), 2)
    assert [dict(s.config) for s in served] == [dict(plan[1].config)]


def test_default_sampler_runs_warm_start_first_then_its_initial_design():
    new, past = _family()
    warm = WarmStartSampler("default", past, _task(new), k=3)
    sampler = DefaultSampler(seed=0, n_initial=5, warm_start=warm, refiner=RandomSampler(0))
    study = Study(SPACE, sampler=sampler)
    study.optimize(new.objective, 7)
    origins = [t.origin.source for t in study.trials]
    assert origins[:3] == ["warm-start"] * 3
    assert origins[3:5] == ["sobol", "sobol"]  # the rest of the 5-point initial design
    assert origins[5:] == ["random", "random"]  # then the refiner


def test_tune_with_past_studies_shows_provenance_in_the_dataframe(tmp_path):
    new, past = _family(seed=1)
    task = {"name": new.name, "meta_features": new.meta_features, "meta_feature_set": SYNTHETIC_FEATURE_SET}
    k = warm_start_size(SPACE)  # about half the initial design
    result = tune(new.objective, SPACE, k + 2, seed=0, past=past, store=tmp_path / "store", task=task)
    frame = result.dataframe
    # The transfer surrogate takes over right after the warm start: no Sobol points in between.
    assert list(frame["origin"]) == ["warm-start"] * k + ["transfer"] * 2
    for column in ("strategy", "source_task", "similarity", "predicted"):
        assert column in frame.columns
    warm = frame[frame["origin"] == "warm-start"]
    assert warm["strategy"].str.startswith("default/").all()
    assert warm["source_task"].notna().all()
    assert result.info["warm_start_strategy"] == "default"
    assert result.info["n_past_studies"] == len(past)
    # transfer helped: the first trial is already far better than a typical random one
    assert new.regret(frame["value"].iloc[0]) < 0.2


def test_tune_strategy_none_is_a_cold_start(tmp_path):
    new, past = _family(seed=1)
    result = tune(new.objective, SPACE, 3, seed=0, past=past, strategy="none", store=False)
    assert set(result.dataframe["origin"]) == {"sobol"}


def test_tune_rejects_an_unknown_strategy_and_bad_past():
    new, past = _family()
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        tune(new.objective, SPACE, 2, strategy="closest", store=False)
    with pytest.raises(TypeError, match="`past` must be a list of"):
        tune(new.objective, SPACE, 2, past=[{"config": 1}], store=False)


def _dataset(seed, shift):
    rng = np.random.default_rng(seed)
    X = rng.normal(shift, 1.0, size=(300, 5))
    y = (X[:, 0] + rng.normal(0, 0.5, 300) > shift).astype(int)
    return X, y


def test_tune_with_data_stores_meta_features_and_the_next_study_learns_from_it(tmp_path):
    store = tmp_path / "store"
    X, y = _dataset(0, 0.0)
    optimum = {"learning_rate": 0.01, "depth": 6, "subsample": 0.5, "booster": "dart"}

    def objective(learning_rate, depth, subsample, booster):
        return abs(np.log10(learning_rate) + 2) + abs(depth - 6) / 10 + abs(subsample - 0.5) + (booster != "dart")

    first = tune(objective, SPACE, 4, seed=0, data=(X, y), store=store, name="first", strategy="none")
    assert first.info["meta_feature_set"] == "mhpo-v1"
    assert first.info["data_fingerprint"] == jupyter_metahpo.meta.data_fingerprint(X, y)
    (stored,) = ExperienceStore(store).past_studies()
    assert stored.meta_feature_set == "mhpo-v1"
    assert stored.data_fingerprint == first.info["data_fingerprint"]
    assert dict(stored.meta_features) == pytest.approx(first.info["meta_features"])

    # The update path through the store: a second study on the same data starts from the first's best.
    second = tune(objective, SPACE, 1, seed=1, data=(X, y), store=store, name="second", strategy="nearest")
    trial = second.trials[0]
    assert trial.origin.source == "warm-start"
    assert trial.origin.details["source_study"] == first.study_id
    assert trial.origin.details["similarity"] == pytest.approx(1.0)
    assert dict(trial.config) == first.best_config
    assert optimum  # the objective's optimum, for the reader


def test_suggest_answers_with_reasons_and_runs_nothing(tmp_path):
    from jupyter_metahpo.experience import PastStudy
    from jupyter_metahpo.meta import compute_meta_features

    near, far = _dataset(1, 0.0), _dataset(2, 5.0)
    configs = SPACE.sample(0, 6)
    past = []
    for i, (data, task_name) in enumerate(((near, "near"), (far, "far"))):
        mf = compute_meta_features(*data)
        values = [float(j) for j in range(6)] if i == 0 else [float(10 - j) for j in range(6)]  # bests differ
        past.append(
            PastStudy.from_arrays(f"s-{task_name}", task_name, SPACE, "minimize", configs, values,
                                  meta_features=mf.values, meta_feature_set=mf.feature_set)
        )
    answer = jupyter_metahpo.suggest(SPACE, data=near, k=2, strategy="nearest", past=past, prior=False, store=False)
    assert len(answer) == 2
    assert answer[0].details["source_task"] == "near"
    assert answer[0].details["similarity"] == pytest.approx(1.0)
    assert answer.configs[0] == configs[0]  # its best (lowest) value
    assert "most similar past task by meta-features" in answer.reasons[0]
    frame = answer.dataframe
    assert list(frame["source_task"]) == ["near", "far"]
    assert answer.configs[1] == configs[5]
    assert "why:" in repr(answer)
    assert not list(tmp_path.iterdir())  # nothing written


def test_suggestions_dataframe_keeps_a_none_option_as_none():
    # pandas would show the option None as NaN next to "balanced" (seen in notebook 2).
    from jupyter_metahpo.meta.strategies import Proposal
    from jupyter_metahpo.suggestions import Suggestions

    proposals = (Proposal({"C": 1.0, "class_weight": None}, "a"), Proposal({"C": 2.0, "class_weight": "balanced"}, "b"))
    frame = Suggestions(proposals, "nearest", task=None, n_past=2, report=None).dataframe
    assert list(frame["class_weight"]) == [None, "balanced"]
    assert frame["C"].dtype.kind == "f"  # other columns keep their inferred dtype
