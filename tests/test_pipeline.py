"""The study pipeline: one description of the task, one store, one compatibility pass per study,
used by tune(), race() and suggest(); Study.run_trial for callers that run trials one by one."""

from __future__ import annotations

import pytest

from jupyter_metahpo import Study, race, tune
from jupyter_metahpo import pipeline
from jupyter_metahpo.meta import carry, compat
from jupyter_metahpo.meta.strategies import TaskDescription
from jupyter_metahpo.meta.synthetic import SYNTHETIC_FEATURE_SET, make_family, past_study, synthetic_space
from jupyter_metahpo.pipeline import Experience, TaskPlan, build_sampler, gather_past_studies, plan_task
from jupyter_metahpo.samplers import RandomSampler
from jupyter_metahpo.store import ExperienceStore, store as store_module
from jupyter_metahpo.suggestions import suggest
from jupyter_metahpo.trial import TrialState

SPACE = synthetic_space()


def _family(seed=0, n=7):
    tasks = make_family("related", n, seed=seed)
    return tasks[0], [past_study(t, seed=seed) for t in tasks[1:]]


@pytest.fixture
def counted(monkeypatch):
    """Counts ExperienceStore objects made, compatibility passes, and past studies matched to the new space."""
    counts = {"stores": 0, "passes": 0, "carried": []}
    original_init = store_module.ExperienceStore.__init__
    original_match = carry.match_spaces
    original_pass = carry.carry_over

    def counting_init(self, *args, **kwargs):
        counts["stores"] += 1
        original_init(self, *args, **kwargs)

    def counting_match(space, past_space, roles=None, **arguments):
        counts["carried"].append(id(past_space))
        return original_match(space, past_space, roles, **arguments)

    def counting_pass(past, space, context):
        counts["passes"] += 1
        past = list(past)
        counts["ids"] = [p.study_id for p in past]
        return original_pass(past, space, context)

    monkeypatch.setattr(store_module.ExperienceStore, "__init__", counting_init)
    monkeypatch.setattr(carry, "match_spaces", counting_match)
    monkeypatch.setattr(carry, "carry_over", counting_pass)
    monkeypatch.setattr(pipeline, "carry_over", counting_pass)
    return counts


def _with_a_stored_study(path, objective):
    tune(objective, SPACE, 3, seed=5, store=path, name="earlier", strategy="none")


def test_a_warm_tune_opens_the_store_once_and_carries_each_past_study_once(tmp_path, counted):
    new, past = _family()
    _with_a_stored_study(tmp_path / "s", new.objective)
    counted["stores"], counted["carried"] = 0, []
    k = 3
    result = tune(new.objective, SPACE, k + 3, seed=0, past=past, store=str(tmp_path / "s"), name="now")
    origins = [t.origin.source for t in result.trials]
    assert origins[:k] == ["warm-start"] * k and "transfer" in origins  # warm start and transfer both ran
    assert counted["stores"] == 1
    # One compatibility pass, in which every past study (the given ones, the stored one, the bundled
    # prior's) was matched to the new space once, although the warm start, its strategy and the
    # transfer refinement all consume them.
    assert counted["passes"] == 1
    assert len(counted["carried"]) == len(counted["ids"]) == len(set(counted["ids"]))
    assert set(counted["ids"]) >= {p.study_id for p in past}
    assert result.info["n_past_studies"] == len(past) + 1  # the stored study fits the space too; the prior's do not


def test_a_race_opens_the_store_once_and_carries_each_past_study_once(tmp_path, counted):
    new, past = _family()
    results = race(new.objective, SPACE, ("default", "nearest", "random"), n_trials=4, past=past,
                   store=tmp_path / "s", display=False)
    assert set(results) == {"default", "nearest", "random"}
    assert counted["stores"] == 1
    assert counted["passes"] == 1
    assert len(counted["carried"]) == len(counted["ids"])
    assert set(counted["ids"]) >= {p.study_id for p in past}


def test_suggest_carries_each_past_study_once(counted):
    new, past = _family()
    answer = suggest(SPACE, k=3, past=past, store=False, prior=False, strategy="nearest")
    assert len(answer) == 3
    assert counted["passes"] == 1
    assert sorted(counted["ids"]) == sorted(p.study_id for p in past) and len(counted["carried"]) == len(past)


def test_experience_holds_the_usable_studies_carried_into_the_space_and_the_report():
    new, past = _family()
    other_space = synthetic_space()
    experience = Experience.of(SPACE, past)
    assert [t.study.study_id for t in experience.usable] == [p.study_id for p in past]
    assert experience.report.used == [p.study_id for p in past]
    # Carried studies pass through a second pass unchanged, and are reported as used.
    again, report = compat.transfer_studies(experience.usable, other_space)
    assert [id(t) for t in again] == [id(t) for t in experience.usable]
    assert report.used == experience.report.used


def test_build_sampler_needs_the_experience_of_its_space():
    new, past = _family()
    plan = TaskPlan(TaskDescription(new.name, new.meta_features, SYNTHETIC_FEATURE_SET), None, None, "default")
    with pytest.raises(ValueError, match="Experience.gather"):
        build_sampler(plan, SPACE, None, seed=0)
    assert build_sampler(plan_task(None, None, None, "none"), SPACE, None, seed=0) is None


def test_gather_reads_the_opened_store_and_leaves_out_excluded_studies(tmp_path):
    new, past = _family()
    _with_a_stored_study(tmp_path / "s", new.objective)
    store = ExperienceStore(tmp_path / "s")
    (stored,) = store.past_studies()
    gathered = gather_past_studies(past, store, prior=False)
    assert [s.study_id for s in gathered] == [p.study_id for p in past] + [stored.study_id]
    assert stored.study_id not in {s.study_id for s in gather_past_studies(past, store, prior=False,
                                                                           exclude=[stored.study_id])}
    # The same study given twice is kept once, the first seen.
    assert len(gather_past_studies([past[0], past[0]], None, prior=False)) == 1


def test_run_trial_runs_one_trial_and_records_it_without_ending_the_study():
    recorded, ended = [], []

    class Recorder:
        def record_trial(self, trial):
            recorded.append(trial)

        def finish(self, status):
            ended.append(status)

    study = Study({"x": SPACE["learning_rate"]}, sampler=RandomSampler(0), recorder=Recorder())
    first = study.run_trial(lambda x: x * 2)
    second = study.run_trial(lambda x: 1 / 0)
    assert first.state is TrialState.COMPLETE and first.value == pytest.approx(first.config["x"] * 2)
    assert second.state is TrialState.FAILED and "ZeroDivisionError" in second.error
    assert [t.number for t in recorded] == [0, 1]
    assert ended == []  # a caller running trials one by one ends the study itself


def test_run_trial_forgets_an_interrupted_trial_and_lets_the_interrupt_through():
    study = Study({"x": SPACE["learning_rate"]}, sampler=RandomSampler(0))
    study.run_trial(lambda x: x)

    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study.run_trial(interrupted)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
