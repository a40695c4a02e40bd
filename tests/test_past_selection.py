"""A warm start reads the most relevant stored studies only, chosen from facts kept once per study.

A store at most ``store_limit`` candidates large is read whole, exactly as before; past
it, the summaries (parameters, task, meta-features, objective source fingerprint) choose
which studies' trials are read. The facts are computed once per study and kept in the
summaries cache; a sampler's fitted state is kept beside the study's log while its
trials stay the same.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from jupyter_metahpo import choice, intrange, loguniform, tune, uniform
from jupyter_metahpo.meta.relatedness import StudyContext
from jupyter_metahpo.meta.source import describe_objective
from jupyter_metahpo.meta.strategies import TaskDescription
from jupyter_metahpo.past_selection import select_store_studies
from jupyter_metahpo.pipeline import Experience
from jupyter_metahpo.samplers import RandomSampler
from jupyter_metahpo.space import SearchSpace
from jupyter_metahpo.store import ExperienceStore, TaskInfo
from jupyter_metahpo.store import store as store_module
from jupyter_metahpo.store import summaries as summaries_module

HGB = SearchSpace({"learning_rate": loguniform(1e-3, 0.5), "max_depth": intrange(2, 12)})
SVC = SearchSpace({"C": loguniform(1e-3, 1e3), "gamma": loguniform(1e-4, 1.0)})
FEATURES = "mhpo-v1"


def _rows(space: SearchSpace, n: int, rng: random.Random) -> list[dict]:
    return [dict(space.sample(rng.randrange(2**31)), value=rng.random()) for _ in range(n)]


def _store_with(tmp_path: Path, studies: list[tuple[str, SearchSpace, str | TaskInfo]]) -> ExperienceStore:
    """A store holding one imported study per ``(name, space, task)``, oldest first."""
    import pandas as pd

    rng = random.Random(0)
    store = ExperienceStore(tmp_path / "store")
    with store.bulk_import() as batch:
        for name, space, task in studies:
            batch.import_dataframe(pd.DataFrame(_rows(space, 4, rng)), space=space, name=name, task=task)
    return store


def _read_ids(monkeypatch) -> list[str]:
    """The ids of the studies whose trials are read from their logs from now on."""
    read: list[str] = []
    original = store_module.ExperienceStore._complete_trials

    def counting(self, study_id):
        read.append(study_id)
        return original(self, study_id)

    monkeypatch.setattr(store_module.ExperienceStore, "_complete_trials", counting)
    return read


def test_a_store_within_the_limit_is_read_whole_as_before(tmp_path, monkeypatch):
    store = _store_with(tmp_path, [(f"s{i}", HGB if i % 2 else SVC, f"task{i}") for i in range(6)])
    read = _read_ids(monkeypatch)
    capped = Experience.gather(HGB, store=store, prior=False, store_limit=6)
    assert sorted(read) == sorted(s.study_id for s in store.summaries())  # every log read, none twice
    whole = Experience.gather(HGB, store=store, prior=False, store_limit=None)
    assert [p.study_id for p in capped.studies] == [p.study_id for p in whole.studies]
    assert [p.study_id for p in capped.studies] == [p.study_id for p in store.past_studies()]  # the order of before
    assert capped.n_unread == 0 and capped.summary() == whole.summary()


def test_past_the_limit_only_the_most_relevant_studies_are_read(tmp_path, monkeypatch):
    studies = [(f"svc {i}", SVC, f"other{i}") for i in range(8)]  # no parameter in common: never read
    studies += [(f"hgb {i}", HGB, f"other{i}") for i in range(6)]  # same space, nothing else in common
    studies += [("credit a", HGB, "credit"), ("credit b", HGB, "credit")]  # the same task
    store = _store_with(tmp_path, studies)
    context = StudyContext(task=TaskDescription(name="credit"))
    read = _read_ids(monkeypatch)
    experience = Experience.gather(HGB, store=store, context=context, prior=False, store_limit=4)
    names = [p.extra["name"] for p in experience.studies]
    assert len(read) == 4 and sorted(read) == sorted(p.study_id for p in experience.studies)
    assert {"credit a", "credit b"} <= set(names) and not any(n.startswith("svc") for n in names)
    assert names[-2:] == ["credit a", "credit b"]  # read in the store's order (oldest first)
    assert experience.n_unread == 12 and experience.n_past == 16
    summary = experience.summary()
    assert summary["n_past"] == 16 and summary["n_unread"] == 12


def test_the_ranking_puts_the_same_code_and_family_before_data_alike_alone(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    source = (
        "def objective(learning_rate, max_depth):\n"
        "    model = HistGradientBoostingClassifier(learning_rate=learning_rate, max_depth=max_depth)\n"
        "    return cross_val_score(model, X, y, cv=3).mean()\n"
    )
    other = "def objective(learning_rate, max_depth):\n    return (learning_rate - 0.1) ** 2 + max_depth\n"
    near = TaskInfo("near", {"a": 1.0, "b": 2.0}, FEATURES)
    far = TaskInfo("far", {"a": 9.0, "b": -7.0}, FEATURES)
    for name, code, task in [("toy far", other, far), ("toy near", other, near), ("hgb far", source, far)]:
        session = store.open_study(name, HGB, settings={"objective_source": describe_objective(code, HGB.names).to_json()},
                                   task=task)
        for i, config in enumerate(HGB.sample(i) for i in range(3)):
            from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState

            session.record_trial(FrozenTrial(i, config, TrialState.COMPLETE, Origin("sobol"), value=float(i)))
        session.finish("finished")
    context = StudyContext(
        task=TaskDescription("new", {"a": 1.1, "b": 2.1}, FEATURES), source=describe_objective(source, HGB.names),
    )
    ranked = [select_store_studies(store.summaries(), HGB, context, limit=k).chosen for k in (1, 2)]
    assert [s.name for s in ranked[0]] == ["hgb far"]  # the same objective code beats data alike
    assert sorted(s.name for s in ranked[1]) == ["hgb far", "toy near"]  # then the nearest meta-features


def test_one_shared_parameter_of_the_same_family_ranks_with_the_studies_that_can_be_carried(tmp_path):
    """A study of the same estimator family sharing one parameter is carried (meta.compat.ONE_SHARED_EVIDENCE), so
    it is read before a study sharing one name with nothing to say it means the same, whatever their data."""
    from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState

    store = ExperienceStore(tmp_path / "store")
    boosting = ("def objective(learning_rate, max_iter):\n"
                "    model = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(\n"
                "        learning_rate=learning_rate, max_iter=max_iter, early_stopping=True))\n"
                "    scores = cross_validate(model, X_train, y_train, cv=5, scoring='roc_auc')\n"
                "    return scores['test_score'].mean()\n")
    toy = "def objective(learning_rate, other):\n    return (learning_rate - 0.1) ** 2 + other\n"
    near = TaskInfo("near", {"a": 1.0, "b": 2.0}, FEATURES)
    far = TaskInfo("far", {"a": 9.0, "b": -7.0}, FEATURES)
    for name, second, code, task in [("toy one", "other", toy, near), ("hgb one", "max_iter", boosting, far)]:
        space = SearchSpace({"learning_rate": loguniform(1e-3, 0.5), second: intrange(2, 200)})
        session = store.open_study(name, space, task=task,
                                   settings={"objective_source": describe_objective(code, space.names).to_json()})
        for i in range(3):
            session.record_trial(FrozenTrial(i, space.sample(i), TrialState.COMPLETE, Origin("sobol"), value=float(i)))
        session.finish("finished")
    source = ("def objective(learning_rate, max_depth):\n"
              "    return score(HistGradientBoostingClassifier(learning_rate=learning_rate, max_depth=max_depth))\n")
    context = StudyContext(
        task=TaskDescription("new", {"a": 1.1, "b": 2.1}, FEATURES), source=describe_objective(source, HGB.names),
    )
    chosen = select_store_studies(store.summaries(), HGB, context, limit=1).chosen
    assert [s.name for s in chosen] == ["hgb one"]


def test_the_limit_is_checked(tmp_path):
    store = _store_with(tmp_path, [("a", HGB, "t")])
    with pytest.raises(ValueError, match="positive integer or None"):
        select_store_studies(store.summaries(), HGB, StudyContext(), limit=0)


def test_each_studys_facts_are_computed_once_and_kept_in_the_summaries(tmp_path, monkeypatch):
    def objective(C, gamma):
        return C * gamma

    store = ExperienceStore(tmp_path / "store")
    tune(objective, SVC, 3, store=store, sampler=RandomSampler(seed=0), name="svc")
    calls = []
    original = summaries_module.study_facts
    monkeypatch.setattr(store_module, "study_facts", lambda *a: (calls.append(a[1]), original(*a))[1])
    store.summaries()  # the first read computes them, and saves them with the cache
    assert calls == [SVC.signature]
    (summary,) = ExperienceStore(store.path).summaries()  # a new kernel: the facts come from the cache file
    assert calls == [SVC.signature]
    assert summary.parameters == (("C", "float"), ("gamma", "float"))
    expected = describe_objective(objective, SVC.names)
    assert summary.source_facts["fingerprint"] == expected.fingerprint
    assert summary.source_facts["sketch"] == "".join(sorted(expected.shingles)[:summaries_module.SKETCH_SIZE])
    cache = json.loads(store._layout.summaries.read_text())
    fields = {"inode", "offset", "n_trials", "n_complete", "n_failed", "best", "best_value", "facts"}
    assert all(set(entry) == fields for entry in cache["studies"].values())  # no copy of the index
    # The source is recorded once, in the log's header; the index, read at every start, leaves it out.
    header = json.loads(store.log_path(summary.study_id).read_text().splitlines()[0])
    assert header["settings"]["objective_source"] == expected.to_json()
    assert "objective_source" not in store.study(summary.study_id).settings
    (past,) = store.past_studies()
    assert past.extra["objective_source"] == expected.to_json()
    # An edited index (another space under the same id) makes the facts stale: computed again.
    store.compact_index()
    index = json.loads(store.index_path.read_text())
    (doc,) = index["studies"].values()
    doc["space"] = HGB.to_json()
    doc["signature"] = HGB.signature
    store.index_path.write_text(json.dumps(index))
    (summary,) = ExperienceStore(store.path).summaries()
    assert calls == [SVC.signature, HGB.signature] and summary.parameters == (("learning_rate", "float"), ("max_depth", "int"))


def test_a_model_state_is_kept_while_the_studys_trials_stay_the_same(tmp_path):
    from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState

    store = _store_with(tmp_path, [("a", HGB, "t")])
    (past,) = store.past_studies()
    assert past.extra["model_state"] == {}
    state = {"lengthscales": [0.3, 0.7], "noise": 1e-4, "kernel": "matern52"}
    store.save_model_state(past.study_id, state, n_complete=len(past.values))
    (again,) = ExperienceStore(store.path).past_studies()
    assert again.extra["model_state"] == state
    store.append_trial(past.study_id, FrozenTrial(9, HGB.sample(1), TrialState.COMPLETE, Origin("gp"), value=0.5))
    (grown,) = store.past_studies()
    assert grown.extra["model_state"] == {}  # fitted on fewer trials: stale
    with pytest.raises(ValueError, match="JSON data of finite numbers"):
        store.save_model_state(past.study_id, {"noise": float("nan")}, n_complete=5)
    with pytest.raises(ValueError, match="n_complete"):
        store.save_model_state(past.study_id, state, n_complete=-1)
    store.forget(past.study_id)
    assert not list(store._layout.trials_dir.iterdir())  # the state went with the study


def test_the_scale_benchmark_builds_stores_the_store_reads(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.bench_scale_store import OBJECTIVES, build_store, make_space

    build_store(tmp_path / "built", 800)
    store = ExperienceStore(tmp_path / "built")
    summaries = store.summaries()
    assert len(summaries) == 8 and sum(s.n_complete for s in summaries) == 800
    assert {s.parameters for s in summaries} == {
        tuple((n, p.kind) for n, p in make_space(spec).items()) for spec, _ in OBJECTIVES.values()
    }
    assert all(s.source_facts is not None and s.task.meta_feature_set for s in summaries)
    assert len(store.past_studies()) == 8


def test_a_choice_space_gets_its_kinds(tmp_path):
    space = SearchSpace({"kernel": choice("rbf", "poly"), "C": uniform(0.1, 10.0)})
    store = _store_with(tmp_path, [("a", space, "t")])
    (summary,) = store.summaries()
    assert summary.parameters == (("kernel", "categorical"), ("C", "float"))
    assert summary.source_facts is None  # imported: no objective source


def test_past_the_limit_a_study_whose_parameters_have_other_names_is_chosen_for_what_they_set(tmp_path):
    """A stored SVC(C=reg, gamma=width) study shares no name with a new SVC(C=c_value, gamma=g_value) cell: the
    facts keep the roles its parameters set, so it ranks by them (before, it was never read past the limit, while a
    toy study sharing one name was)."""
    from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState

    store = ExperienceStore(tmp_path / "store")
    svc = "def objective({a}, {b}):\n    return cross_val_score(SVC(C={a}, gamma={b}), X, y, cv=3).mean()\n"
    toy = "def objective(c_value, other):\n    return (c_value - 0.1) ** 2 + other\n"
    task = TaskInfo("some", {"a": 1.0, "b": 2.0}, FEATURES)
    for name, names, code in [("svc renamed", ("reg", "width"), svc.format(a="reg", b="width")),
                              ("toy", ("c_value", "other"), toy)]:
        space = SearchSpace({names[0]: loguniform(1e-3, 1e3), names[1]: loguniform(1e-4, 1.0)})
        session = store.open_study(name, space, task=task,
                                   settings={"objective_source": describe_objective(code, space.names).to_json()})
        for i in range(3):
            session.record_trial(FrozenTrial(i, space.sample(i), TrialState.COMPLETE, Origin("sobol"), value=float(i)))
        session.finish("finished")
    new = SearchSpace({"c_value": loguniform(1e-2, 1e2), "g_value": loguniform(1e-3, 1.0)})
    context = StudyContext(task=TaskDescription("new", {"a": 5.0, "b": -3.0}, FEATURES),
                           source=describe_objective(svc.format(a="c_value", b="g_value"), new.names))
    chosen = select_store_studies(store.summaries(), new, context, limit=1).chosen
    assert [s.name for s in chosen] == ["svc renamed"]
    renamed = next(s for s in store.summaries() if s.name == "svc renamed")
    assert tuple(renamed.source_facts["roles"]) == ("C", "gamma")
