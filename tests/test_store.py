"""The experience store: records, resume, summaries, schema, corrupt and failing files."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from jupyter_metahpo import choice, intrange, tune, uniform
from jupyter_metahpo.samplers import RandomSampler
from jupyter_metahpo.store import (
    SCHEMA_VERSION,
    ExperienceStore,
    StoreCorruptError,
    StoreVersionError,
    StoreWriteError,
    StudyMismatchError,
    TaskInfo,
    UnknownStudyError,
)
from jupyter_metahpo.store import schema as schema_module
from jupyter_metahpo.store import storage
from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState

SPACE = {"x": uniform(0.0, 1.0), "n": intrange(1, 5), "kind": choice("a", "b")}


def objective(x, n, kind):
    return (x - 0.3) ** 2 + n + (0.5 if kind == "b" else 0.0)


def complete(number: int, value: float, x: float = 0.5) -> FrozenTrial:
    return FrozenTrial(number, {"x": x}, TrialState.COMPLETE, Origin("random"), value=value, started_at=1.0, finished_at=2.0)


@pytest.fixture
def store(tmp_path) -> ExperienceStore:
    return ExperienceStore(tmp_path / "store")


def run(store, name="demo", n=6, seed=0, **kwargs):
    return tune(objective, SPACE, n, name=name, sampler=RandomSampler(seed=seed), store=store, **kwargs)


# Records and resume ---------------------------------------------------------------------
def test_tune_records_every_trial_with_its_study(store):
    result = run(store, task={"name": "toy", "meta_features": {"n_rows": 100.0}, "data_fingerprint": "abc"})
    assert result.study_id is not None
    study = store.study(result.study_id)
    assert (study.name, study.status, study.direction.value, study.objective) == ("demo", "finished", "minimize", "objective")
    assert study.space == result.space
    assert study.settings["n_trials"] == 6 and study.versions["python"]
    trials = store.trials(result.study_id)
    assert [t.trial.config for t in trials] == [t.config for t in result.trials]
    assert [t.value for t in trials] == [t.value for t in result.trials]
    task = store.task(study.task_id)
    assert (task.name, dict(task.meta_features), task.data_fingerprint) == ("toy", {"n_rows": 100.0}, "abc")


def test_default_store_follows_the_environment_variable(_isolated_store):
    result = tune(objective, SPACE, 3, sampler=RandomSampler(seed=1))
    assert ExperienceStore().path == Path(_isolated_store)
    assert ExperienceStore().study(result.study_id).name is None


def test_store_false_records_nothing(_isolated_store):
    result = tune(objective, SPACE, 3, sampler=RandomSampler(seed=1), store=False)
    assert result.study_id is None
    assert not (Path(_isolated_store) / "index.json").exists()


def test_same_name_resumes_and_the_budget_continues(store):
    first = run(store, n=4)
    second = run(store, n=7, seed=1)
    assert second.study_id == first.study_id
    assert len(second.trials) == 7  # 4 resumed + 3 new
    assert [t.config for t in second.trials[:4]] == [t.config for t in first.trials]
    assert len(store.trials(first.study_id)) == 7
    assert len(store.studies("demo")) == 1


def test_tuple_options_are_read_back_as_tuples_and_a_study_resumes_on_them(store):
    """JSON stores a layer-sizes tuple as a list: the store's trials, a resumed study and the warm start from the
    stored study all hand the objective the tuple again."""
    seen = []

    def train(layers, alpha):
        seen.append(layers)
        return sum(layers) * alpha

    space = {"layers": choice((8,), (16,), (8, 8)), "alpha": uniform(0.1, 1.0)}
    first = tune(train, space, 3, name="layers", sampler=RandomSampler(seed=0), store=store)
    stored = [t.trial.config["layers"] for t in store.trials(first.study_id)]
    assert stored == [t.config["layers"] for t in first.trials] and all(type(v) is tuple for v in stored)
    again = tune(train, space, 5, name="layers", store=store)  # resumes: its GP reads the stored configs
    assert again.study_id == first.study_id and len(again.trials) == 5
    other = tune(train, space, 2, name="layers-too", store=store, task={"name": "layers"})
    assert not other.warm_start.is_cold and "layers" in repr(other.warm_start)
    assert other.trials[0].origin.source == "warm-start"
    assert all(type(v) is tuple for v in seen) and len(seen) == 7


def test_resume_false_starts_a_fresh_study_under_the_same_name(store):
    first = run(store, n=3)
    fresh = run(store, n=3, resume=False)
    assert fresh.study_id != first.study_id
    assert len(fresh.trials) == 3
    assert len(store.studies("demo")) == 2
    # Resuming now continues the newest one.
    assert run(store, n=4).study_id == fresh.study_id


def test_resume_with_another_space_says_how_to_start_fresh(store):
    run(store, n=2)
    with pytest.raises(StudyMismatchError, match="resume=False") as info:
        tune(objective, {**SPACE, "x": uniform(0.0, 2.0)}, 2, name="demo", store=store, sampler=RandomSampler(seed=0))
    assert "uniform(0.0, 2.0)" in str(info.value)
    with pytest.raises(StudyMismatchError, match="maximize"):
        run(store, n=2, direction="maximize")


def test_records_are_frozen_snapshots(store):
    result = run(store, n=2)
    study = store.study(result.study_id)
    with pytest.raises(AttributeError):
        study.status = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        study.settings["n_trials"] = 99  # type: ignore[index]
    with pytest.raises(TypeError):
        store.trials(result.study_id)[0].config["x"] = 2.0  # type: ignore[index]
    assert store.study(result.study_id).settings["n_trials"] == 2


def test_study_ids_resolve_by_unique_prefix(store):
    result = run(store, n=1)
    assert store.study(result.study_id[:6]).id == result.study_id
    with pytest.raises(UnknownStudyError, match="metahpo list"):
        store.study("not-an-id")


def test_a_failed_trial_keeps_its_error(store):
    def flaky(x, n, kind):
        if n > 2:
            raise RuntimeError("boom at n > 2")
        return x

    result = tune(flaky, SPACE, 8, name="flaky", store=store, sampler=RandomSampler(seed=3))
    stored = store.trials(result.study_id)
    failed = [t for t in stored if t.state is TrialState.FAILED]
    assert failed and all("boom at n > 2" in t.trial.error for t in failed)
    summary = next(s for s in store.summaries() if s.study_id == result.study_id)
    assert (summary.n_failed, summary.n_complete) == (len(failed), 8 - len(failed))


# Summaries and past studies -----------------------------------------------------------
def test_summaries_hold_best_trials_and_follow_new_appends(store):
    session = store.open_study("s", {"x": uniform(0, 1)}, "maximize", task=TaskInfo("t", {"f": 1.0}, "set/1"))
    for i, value in enumerate([0.1, 0.9, 0.5]):
        session.record_trial(complete(i, value))
    (summary,) = store.summaries()
    assert [v for _, v in summary.best] == [0.9, 0.5, 0.1]
    assert summary.signature == store.study(session.study_id).signature
    assert dict(summary.meta_features) == {"f": 1.0}
    session.record_trial(complete(3, 2.0))  # read incrementally from the cached offset
    (summary,) = store.summaries()
    assert (summary.n_trials, summary.best_value) == (4, 2.0)
    store._layout.summaries.write_text("{not json")  # a broken cache is rebuilt, not trusted
    (summary,) = store.summaries()
    assert (summary.n_trials, summary.best_value) == (4, 2.0)


def test_past_studies_give_complete_trials_with_their_task(store):
    a = run(store, name="a", n=4, task=TaskInfo("task-a", {"rows": 10.0}, "mhpo-v1", "fp-a"))
    run(store, name="b", n=3)
    store.open_study("other", {"y": uniform(0, 1)})
    past = store.past_studies()
    assert {p.task_name for p in past} == {"task-a", "b"}  # the empty study has nothing to give
    first = next(p for p in past if p.study_id == a.study_id)
    assert first.values == tuple(t.value for t in a.trials)
    assert (dict(first.meta_features), first.meta_feature_set, first.data_fingerprint) == ({"rows": 10.0}, "mhpo-v1", "fp-a")
    assert first.space == a.space and first.source == "store"
    signature = a.space.signature
    assert len(store.past_studies(signature)) == 2
    assert [p.task_name for p in store.past_studies(signature, exclude=[a.study_id])] == ["b"]


def test_record_task_updates_meta_features_of_the_same_task(store):
    first = store.record_task("iris", data_fingerprint="fp")
    second = store.record_task("iris", data_fingerprint="fp", meta_features={"rows": 150.0}, meta_feature_set="v1")
    assert first.id == second.id and len(store.tasks()) == 1
    assert dict(store.task(first.id).meta_features) == {"rows": 150.0}
    with pytest.raises(ValueError, match="finite"):
        store.record_task("iris", meta_features={"rows": float("nan")})


def test_forget_removes_the_study_and_its_log(store):
    result = run(store, n=2)
    store.forget(result.study_id[:8])
    assert store.studies() == ()
    assert not store.log_path(result.study_id).exists()


# Schema ---------------------------------------------------------------------------------
def test_index_is_a_tinydb_file_with_the_schema_version(store):
    run(store, n=1)
    from tinydb import TinyDB

    with TinyDB(store.index_path, access_mode="r") as db:
        assert db.table("_meta").all()[0]["schema_version"] == SCHEMA_VERSION
        assert db.table("studies").all()[0]["name"] == "demo"


def test_a_store_from_a_newer_version_is_refused_clearly(store):
    run(store, n=1)
    data = json.loads(store.index_path.read_text())
    data["_meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    store.index_path.write_text(json.dumps(data))
    with pytest.raises(StoreVersionError, match="pip install -U jupyter-metahpo"):
        store.studies()


def test_migrations_run_in_order_from_an_older_version(store, monkeypatch):
    run(store, n=1)
    seen = []

    def next_version(doc):  # what a future schema change will look like
        seen.append(sorted(doc))
        for study in doc["studies"].values():
            study["tags"] = []
        return doc

    current = SCHEMA_VERSION
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(schema_module.MIGRATIONS, current, next_version)
    store = ExperienceStore(store.path)  # a newer version opening the store (the old object keeps what it wrote)
    assert [s.name for s in store.studies()] == ["demo"]
    assert seen == [["_meta", "studies", "tasks"]]
    store.record_task("t")  # the next write stores the migrated index under the new version
    data = json.loads(store.index_path.read_text())
    assert data["_meta"]["1"]["schema_version"] == current + 1
    assert all(s["tags"] == [] for s in data["studies"].values())


# Corrupt files, torn appends, failed writes -----------------------------------------------
def test_a_corrupt_index_is_moved_aside_and_rebuilt_from_the_logs(store):
    result = run(store, n=3, task=TaskInfo("toy", {"f": 2.0}))
    store.index_path.write_text('{"studies": {"1": {"id": ')  # truncated
    with pytest.raises(StoreCorruptError, match="index.json is corrupt") as info:
        store.studies()
    moved = Path(info.value.moved_to)
    assert moved.exists() and moved.name.startswith("index.json.corrupt-")
    assert moved.read_text() == '{"studies": {"1": {"id": '  # kept as it was
    (study,) = store.studies()  # the next read rebuilds the index from the study logs
    assert (study.id, study.status) == (result.study_id, "finished")
    assert len(store.trials(study.id)) == 3
    assert dict(store.task(study.task_id).meta_features) == {"f": 2.0}


def test_a_torn_last_line_loses_only_that_trial_and_is_repaired(store):
    session = store.open_study("torn", {"x": uniform(0, 1)})
    session.record_trial(complete(0, 1.0))
    log = store.log_path(session.study_id)
    with open(log, "ab") as handle:
        handle.write(b'{"type":"trial","id":"abc","numb')  # a writer killed mid-line
    assert [t.value for t in store.trials(session.study_id)] == [1.0]
    session.record_trial(complete(1, 2.0))
    assert [t.value for t in store.trials(session.study_id)] == [1.0, 2.0]
    assert all(json.loads(line) for line in log.read_text().splitlines())


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_a_failed_append_leaves_the_log_as_it_was(store, monkeypatch, code):
    session = store.open_study("full", {"x": uniform(0, 1)})
    session.record_trial(complete(0, 1.0))
    log = store.log_path(session.study_id)
    before = log.read_bytes()
    real_write = os.write

    def half_then_fail(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(storage.os, "write", half_then_fail)
    with pytest.raises(StoreWriteError, match=errno.errorcode[code]) as info:
        session.record_trial(complete(1, 2.0))
    assert str(log) in str(info.value) and "unchanged" in str(info.value)
    monkeypatch.undo()
    assert log.read_bytes() == before


def test_a_failed_index_write_leaves_the_previous_index(store, monkeypatch):
    run(store, n=1)
    before = store.index_path.read_bytes()

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "write", no_space)
    with pytest.raises(StoreWriteError, match="disk is full"):
        store.open_study("another", SPACE)
    monkeypatch.undo()
    assert store.index_path.read_bytes() == before
    assert [s.name for s in store.studies()] == ["demo"]
    assert sorted(p.name for p in store.path.iterdir() if p.name.startswith(".index")) == []  # no temp left


def test_a_cache_that_cannot_be_written_only_warns(store, monkeypatch):
    run(store, n=2)
    from jupyter_metahpo.store import summaries as summaries_module

    def refuse(path, data, **kwargs):
        raise StoreWriteError(f"could not write the summaries cache to {path}: Permission denied (EACCES)")

    monkeypatch.setattr(summaries_module, "atomic_write", refuse)
    store._layout.summaries.unlink(missing_ok=True)
    with pytest.warns(RuntimeWarning, match="EACCES"):
        (summary,) = store.summaries()
    assert summary.n_trials == 2


def test_summaries_follow_other_processes_writes_and_index_changes(store):
    session = store.open_study("s", {"x": uniform(0, 1)})
    session.record_trial(complete(0, 3.0))
    assert [s.n_trials for s in store.summaries()] == [1]
    other = ExperienceStore(store.path)  # another kernel on the same store
    other.append_trial(session.study_id, complete(1, 1.0))
    (summary,) = ExperienceStore(store.path).summaries()
    assert (summary.n_trials, summary.best_value) == (2, 1.0)
    (summary,) = store.summaries()  # the first object's in-memory cache must not hide the new trial
    assert (summary.n_trials, summary.best_value) == (2, 1.0)
    other.finish_study(session.study_id, "stopped")
    assert [s.status for s in store.summaries()] == ["stopped"]
    assert store.summaries()[0].study.status == "stopped"
    other.forget(session.study_id)
    assert store.summaries() == ()


def test_a_summary_is_frozen_and_builds_its_records_on_demand(store):
    result = run(store, n=3, task=TaskInfo("toy", {"f": 1.0}))
    (summary,) = store.summaries()
    with pytest.raises(AttributeError):
        summary.best = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        summary.best[0][0]["x"] = 9  # type: ignore[index]
    assert summary.study.space == result.space and summary.study.objective == "objective"
    assert summary.task.name == "toy" and summary.signature == result.space.signature
    assert summary.best_value == min(t.value for t in result.trials)


# The index file: one document per line, rewritten by re-encoding only what changed ----------------
def test_the_index_has_one_document_per_line_and_a_rewrite_encodes_only_what_changed(store, monkeypatch):
    from jupyter_metahpo.store import index_file

    sessions = [store.open_study(f"s{i}", {"x": uniform(0, 1)}) for i in range(4)]
    store.compact_index()
    text = store.index_path.read_text()
    data = json.loads(text)
    assert text.splitlines()[0] == "{" and sum(line.startswith('"') and line.endswith(("},", "}")) and ": {" in line
                                               for line in text.splitlines()) == 4 + 1  # four studies, one _meta
    encoded = []
    original = index_file.json.dumps
    monkeypatch.setattr(index_file.json, "dumps", lambda value, **kw: (encoded.append(value), original(value, **kw))[1])
    fresh = ExperienceStore(store.path)  # a new kernel: the texts come from the file as read
    fresh.finish_study(sessions[2].study_id, "finished")
    fresh.compact_index()
    # (json.dumps is the json module's: the log's end line is encoded through it too)
    documents = [value for value in encoded if isinstance(value, dict) and "space" in value]
    assert [d["name"] for d in documents] == ["s2"]  # the other studies kept their text
    after = json.loads(store.index_path.read_text())
    assert after["studies"]["3"]["status"] == "finished"
    assert {k: v for k, v in after["studies"].items() if k != "3"} == {k: v for k, v in data["studies"].items() if k != "3"}


def test_an_index_in_another_layout_is_read_and_rewritten_in_lines(store):
    session = store.open_study("old", {"x": uniform(0, 1)})
    store.compact_index()
    data = json.loads(store.index_path.read_text())
    data["_meta"] = {"1": {"schema_version": 2}}
    store.index_path.write_text(json.dumps(data))  # one line and no journal, as older versions wrote it
    store._layout.index_journal.unlink()
    fresh = ExperienceStore(store.path)
    assert [s.name for s in fresh.studies()] == ["old"]
    fresh.finish_study(session.study_id, "stopped")
    assert len(store.index_path.read_text().splitlines()) > 3
    assert [s.status for s in ExperienceStore(store.path).studies()] == ["stopped"]
    assert json.loads(store.index_path.read_text())["studies"]["1"]["name"] == "old"
