"""Export and import: validated as data, all or nothing, duplicates by id; DataFrame, CSV, Optuna."""

from __future__ import annotations

import json
import random
import sys
import tracemalloc
from pathlib import Path

import pytest
from helpers.store_corpus import malformed_corpus

from jupyter_metahpo import choice, intrange, loguniform, tune, uniform
from jupyter_metahpo.samplers import RandomSampler
from jupyter_metahpo.store import ExperienceStore, ImportValidationError, TaskInfo

SPACE = {"lr": loguniform(1e-4, 1e-1), "depth": intrange(2, 8), "kind": choice("a", "b")}


def objective(lr, depth, kind):
    return lr * depth + (kind == "b")


def snapshot(store: ExperienceStore) -> dict[str, bytes]:
    """Every file of the store except the disposable cache and the lock."""
    return {
        str(p.relative_to(store.path)): p.read_bytes()
        for p in sorted(store.path.rglob("*"))
        if p.is_file() and p.name not in ("summaries.json", ".lock")
    }


@pytest.fixture
def source(tmp_path) -> ExperienceStore:
    store = ExperienceStore(tmp_path / "colleague")
    tune(objective, SPACE, 5, name="hgb", store=store, sampler=RandomSampler(seed=0),
         task=TaskInfo("credit", {"rows": 1000.0}, "mhpo-v1", "fp1"))
    tune(objective, SPACE, 3, name="other", store=store, sampler=RandomSampler(seed=1))
    return store


def test_export_then_import_keeps_studies_tasks_and_trials(source, tmp_path):
    path = tmp_path / "export.json"
    assert source.export_json(path) == 2
    target = ExperienceStore(tmp_path / "mine")
    report = target.import_json(path)
    assert (report.studies_added, report.trials_added, report.tasks_added) == (2, 8, 1)
    for study in source.studies():
        copy = target.study(study.id)
        assert copy.to_dict() == study.to_dict()
        assert [t.to_dict() for t in target.trials(study.id)] == [t.to_dict() for t in source.trials(study.id)]
    (past,) = [p for p in target.past_studies() if p.task_name == "credit"]
    assert dict(past.meta_features) == {"rows": 1000.0}


def test_importing_twice_adds_nothing_and_new_trials_merge_by_id(source, tmp_path):
    path = tmp_path / "export.json"
    source.export_json(path)
    target = ExperienceStore(tmp_path / "mine")
    target.import_json(path)
    again = target.import_json(path)
    assert (again.studies_added, again.studies_merged, again.trials_added, again.trials_skipped) == (0, 0, 0, 8)
    # The colleague runs more trials; a new export merges only those.
    tune(objective, SPACE, 7, name="hgb", store=source, sampler=RandomSampler(seed=2))
    source.export_json(path)
    merged = target.import_json(path)
    assert (merged.studies_merged, merged.trials_added, merged.trials_skipped) == (1, 2, 8)
    hgb = source.studies("hgb")[0].id
    assert [t.id for t in target.trials(hgb)] == [t.id for t in source.trials(hgb)]


def test_export_of_chosen_studies_by_prefix(source, tmp_path):
    study = source.studies("other")[0]
    path = tmp_path / "one.json"
    assert source.export_json(path, [study.id[:6]]) == 1
    payload = json.loads(path.read_text())
    assert [s["name"] for s in payload["studies"]] == ["other"] and payload["tasks"] == []


def test_an_export_names_the_package_version_that_hatch_builds(source, tmp_path):
    import jupyter_metahpo

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    path = tmp_path / "export.json"
    source.export_json(path)
    assert json.loads(path.read_text())["exported_by"] == f"jupyter-metahpo {jupyter_metahpo.__version__}"
    # The version lives in one module that imports nothing; the build reads it from there.
    root = Path(jupyter_metahpo.__file__).resolve().parents[1]
    version_file = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["hatch"]["version"]["path"]
    assert f'__version__ = "{jupyter_metahpo.__version__}"' in (root / version_file).read_text()


def test_every_malformed_file_is_rejected_with_its_location_and_the_store_unchanged(source, tmp_path):
    path = tmp_path / "export.json"
    source.export_json(path)
    payload = json.loads(path.read_text())
    target = ExperienceStore(tmp_path / "mine")
    tune(objective, SPACE, 2, name="mine", store=target, sampler=RandomSampler(seed=5))
    before = snapshot(target)
    corpus = malformed_corpus(payload)
    assert len(corpus) >= 20
    for label, data, expected in corpus:
        bad = tmp_path / "bad.json"
        bad.write_bytes(data)
        with pytest.raises(ImportValidationError) as info:
            target.import_json(bad)
        assert expected in str(info.value), f"{label}: {info.value}"
        assert "nothing was imported" in str(info.value)
        assert snapshot(target) == before, label


def test_all_problems_are_reported_at_once(source, tmp_path):
    path = tmp_path / "export.json"
    source.export_json(path)
    payload = json.loads(path.read_text())
    payload["studies"][0]["trials"][0]["value"] = "high"
    payload["studies"][1]["trials"][2]["state"] = "weird"
    path.write_text(json.dumps(payload))
    with pytest.raises(ImportValidationError) as info:
        ExperienceStore(tmp_path / "mine").import_json(path)
    assert info.value.problems == [
        "studies[0].trials[0].value: must be a number, but got 'high' (str)",
        "studies[1].trials[2].state: must be one of ['complete', 'failed', 'pruned'], but got 'weird'",
    ]


def test_dataframe_import_infers_the_space_and_keeps_failures(tmp_path):
    import pandas as pd

    store = ExperienceStore(tmp_path / "store")
    frame = pd.DataFrame({
        "lr": [1e-4, 1e-3, 1e-2, 1e-1], "depth": [2, 4, 6, 8], "kind": ["a", "b", "a", "b"],
        "value": [0.3, float("nan"), 0.1, 0.2], "duration": [1.0, 2.0, 3.0, 4.0],
    })
    report = store.import_dataframe(frame, name="old runs", direction="minimize", task="credit")
    (study,) = store.studies()
    assert report.trials_added == 4 and study.status == "imported" and study.name == "old runs"
    assert study.space.to_json() == {
        "version": 1,
        "parameters": {
            "lr": {"type": "loguniform", "low": 1e-4, "high": 0.1},
            "depth": {"type": "intrange", "low": 2, "high": 8, "log": False},
            "kind": {"type": "choice", "options": ["a", "b"]},
        },
    }
    states = [t.state.value for t in store.trials(study.id)]
    assert states == ["complete", "failed", "complete", "complete"]
    (past,) = store.past_studies()
    assert past.task_name == "credit" and past.best(1)[0][1] == 0.1


def test_dataframe_import_reports_empty_parameters_by_row(tmp_path):
    import pandas as pd

    store = ExperienceStore(tmp_path / "store")
    frame = pd.DataFrame({"x": [0.1, None, 0.3], "value": [1.0, 2.0, 3.0]})
    with pytest.raises(ImportValidationError, match=r"row 1 \(index 1\): parameter column\(s\) \['x'\] are empty"):
        store.import_dataframe(frame, space={"x": uniform(0, 1)})
    with pytest.raises(ValueError, match="no value column 'score'"):
        store.import_dataframe(frame, value="score")
    assert store.studies() == ()


def test_csv_import_with_a_given_space(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("x,kind,acc\n0.1,a,0.8\n0.9,b,0.7\n")
    store = ExperienceStore(tmp_path / "store")
    store.import_csv(path, value="acc", direction="maximize", space={"x": uniform(0, 1), "kind": choice("a", "b", "c")})
    (summary,) = store.summaries()
    assert summary.study.name == "runs" and summary.best_value == 0.8
    assert summary.study.space["kind"].options == ("a", "b", "c")


def _write_runs(path: Path, rows: int, notes: int = 0) -> None:
    """A CSV of past runs; ``notes`` characters of free text per row in a column that is no parameter."""
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("lr,depth,kind,loss,notes\n")
        for i in range(rows):
            loss = "" if i % 50 == 7 else f"{rng.uniform(0.1, 2.0):.6f}"
            note = "".join(rng.choice("abcdefgh ") for _ in range(notes))
            handle.write(f"{10 ** rng.uniform(-5, -1):.8g},{rng.randint(1, 12)},{rng.choice(('adam', 'sgd'))},{loss},{note}\n")


def test_csv_import_memory_does_not_grow_with_the_file(tmp_path, monkeypatch):
    """The import's peak (tracemalloc) stays under 3x the file's size: the file is read in chunks."""
    from jupyter_metahpo.store import importers

    warm = tmp_path / "warm.csv"
    _write_runs(warm, 20)
    ExperienceStore(tmp_path / "warm").import_csv(warm, value="loss", params=["lr", "depth", "kind"])  # imports, caches
    # Small chunks, so that a small file stands for one many chunks long (the real ones are 10,000 rows).
    monkeypatch.setattr(importers, "CSV_ROWS_PER_READ", 300, raising=False)
    monkeypatch.setattr(importers, "ROWS_PER_CHUNK", 100, raising=False)
    path = tmp_path / "runs.csv"
    _write_runs(path, 3000, notes=400)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        report = ExperienceStore(tmp_path / "store").import_csv(path, value="loss", params=["lr", "depth", "kind"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.trials_added == 3000
    assert peak < 3 * size, f"peak {peak:,} bytes for a file of {size:,} bytes"


def test_a_csv_read_in_chunks_gives_what_a_whole_read_gives(tmp_path, monkeypatch):
    """Chunks that parse differently (whole numbers in a float column, text in a numeric one) give the whole file's space and configs."""
    import pandas as pd

    from jupyter_metahpo.store import importers

    path = tmp_path / "runs.csv"
    path.write_text(
        "lr,depth,units,kind,loss\n"
        "1,2,64,a,0.5\n2,3,128,b,0.4\n3,2,64,a,\n"  # first chunk: lr parses as int
        "0.5,4,auto,b,0.3\n0.25,5,256,a,0.2\n"  # a later chunk: units turns out to be text
    )
    whole = ExperienceStore(tmp_path / "whole")
    whole.import_dataframe(pd.read_csv(path), value="loss")
    monkeypatch.setattr(importers, "CSV_ROWS_PER_READ", 3)
    chunked = ExperienceStore(tmp_path / "chunked")
    chunked.import_csv(path, value="loss")
    (expected,), (got,) = whole.studies(), chunked.studies()
    assert got.space == expected.space
    assert got.space["units"].options == ("128", "256", "64", "auto")  # text throughout, as a whole read has it
    assert [dict(t.config) for t in chunked.trials(got.id)] == [dict(t.config) for t in whole.trials(expected.id)]
    assert [type(t.config["lr"]) for t in chunked.trials(got.id)] == [float] * 5
    assert [t.state.value for t in chunked.trials(got.id)] == ["complete", "complete", "failed", "complete", "complete"]


def test_a_csv_above_the_size_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from jupyter_metahpo.store import importers

    path = tmp_path / "huge.csv"
    _write_runs(path, 50)
    monkeypatch.setattr(importers, "MAX_CSV_BYTES", 1000, raising=False)
    store = ExperienceStore(tmp_path / "store")
    with pytest.raises(ImportValidationError, match=rf"(?s)huge.csv.*is {path.stat().st_size:,} bytes; import_csv reads at most 1,000"):
        store.import_csv(path, value="loss", params=["lr", "depth", "kind"])
    assert store.studies() == ()


def test_optuna_import(tmp_path):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        x = trial.suggest_float("x", 1e-3, 1.0, log=True)
        n = trial.suggest_int("n", 1, 5)
        if n == 5:
            raise optuna.TrialPruned()
        return x * n

    study = optuna.create_study(direction="maximize", study_name="legacy", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=12)
    store = ExperienceStore(tmp_path / "store")
    report = store.import_optuna(study, task="old task")
    assert report.trials_added == 12
    (summary,) = store.summaries()
    assert summary.study.name == "legacy" and summary.study.direction.value == "maximize"
    assert summary.best_value == study.best_value
    assert summary.study.space["x"] == loguniform(1e-3, 1.0)
    pruned = sum(t.state.name == "PRUNED" for t in study.trials)
    assert pruned and summary.n_pruned == pruned and summary.n_failed == 0



@pytest.mark.filterwarnings("ignore:Choices for a categorical distribution")  # Optuna's, about its own storage
def test_an_optuna_study_with_layer_size_tuples_imports_and_exports_with_its_tuples(tmp_path):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: sum(t.suggest_categorical("layers", [(8,), (16,), (8, 8)])), n_trials=6)
    store = ExperienceStore(tmp_path / "store")
    assert store.import_optuna(study, name="tuples").trials_added == 6  # was: "holds tuple, which is not JSON data"
    (summary,) = store.summaries()
    assert summary.study.space["layers"] == choice((8,), (16,), (8, 8))
    exported = tmp_path / "tuples.json"
    store.export_json(exported)
    again = ExperienceStore(tmp_path / "again")
    again.import_json(exported)
    (copy,) = again.summaries()
    configs = [t.trial.config["layers"] for t in again.trials(copy.study.id)]
    assert configs == [t.params["layers"] for t in study.trials] and all(type(c) is tuple for c in configs)

def test_optuna_import_keeps_learning_curves_and_pruned_trials(tmp_path):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(5):
            trial.report(x * (step + 1) if step != 3 or x < 0.9 else float("nan"), step)
            if x > 0.6 and step == 2:
                raise optuna.TrialPruned()
        return x * 5

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=10)
    store = ExperienceStore(tmp_path / "store")
    store.import_optuna(study, name="curves")
    (summary,) = store.summaries()
    stored = {t.trial.origin.details["optuna_trial"]: t.trial for t in store.trials(summary.study_id)}
    for original in study.trials:
        mine = stored[original.number]
        assert mine.state.value == original.state.name.lower().replace("fail", "failed")
        assert dict(mine.intermediate_values) == pytest.approx(original.intermediate_values, nan_ok=True)
        if original.state.name == "PRUNED":
            assert mine.value == original.intermediate_values[2] and mine.prune_reason == "pruned by Optuna"
    assert any(t.state.value == "pruned" for t in stored.values())


def test_optuna_storage_import_without_optuna_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    store = ExperienceStore(tmp_path / "store")
    with pytest.raises(ImportError, match="pip install optuna"):
        store.import_optuna(storage="sqlite:///x.db", study_name="s")


def test_a_known_study_id_with_another_space_is_refused(source, tmp_path):
    path = tmp_path / "export.json"
    source.export_json(path)
    target = ExperienceStore(tmp_path / "mine")
    target.import_json(path)
    payload = json.loads(path.read_text())
    payload["studies"][0]["space"]["parameters"]["depth"]["high"] = 9
    path.write_text(json.dumps(payload))
    with pytest.raises(ImportValidationError, match=r"studies\[0\].id: the store already has a study"):
        target.import_json(path)


# Bulk import: many studies, one transaction --------------------------------------------------
def _frames(n: int, rows: int = 5, seed: int = 0):
    import pandas as pd

    rng = random.Random(seed)
    return [
        pd.DataFrame({"x": [rng.random() for _ in range(rows)], "value": [rng.random() for _ in range(rows)]})
        for _ in range(n)
    ]


def test_a_bulk_import_adds_every_study_at_once_with_one_index_write(tmp_path, monkeypatch):
    store = ExperienceStore(tmp_path / "store")
    writes = []
    real = store._commit_index
    monkeypatch.setattr(store, "_commit_index", lambda *args: (writes.append(1), real(*args)))
    with store.bulk_import() as batch:
        for i, frame in enumerate(_frames(4)):
            batch.import_dataframe(frame, space={"x": uniform(0, 1)}, name=f"run {i}", task="shared")
        assert store.studies() == ()  # nothing visible before the block ends
    assert writes == [1]
    assert (batch.report.studies_added, batch.report.trials_added, batch.report.tasks_added) == (4, 20, 1)
    assert sorted(s.name for s in store.studies()) == ["run 0", "run 1", "run 2", "run 3"]
    assert len(store.tasks()) == 1
    assert all(len(p.values) == 5 for p in ExperienceStore(store.path).past_studies())
    assert sorted(p.name for p in store.path.glob("trials/*")) == sorted(f"{i}.jsonl" for i in batch.report.study_ids)


def test_a_bulk_import_that_fails_adds_nothing_and_names_the_bad_table(tmp_path):
    import pandas as pd

    store = ExperienceStore(tmp_path / "store")
    store.import_dataframe(_frames(1)[0], space={"x": uniform(0, 1)}, name="before")
    before = snapshot(store)
    bad = pd.DataFrame({"x": [0.1, None], "value": [1.0, 2.0]})
    with pytest.raises(ImportValidationError) as info:
        with store.bulk_import() as batch:
            for frame in _frames(2):
                batch.import_dataframe(frame, space={"x": uniform(0, 1)})
            batch.import_dataframe(bad, space={"x": uniform(0, 1)}, name="third")
    message = str(info.value)
    assert "DataFrame #3 of the bulk import ('third')" in message and "row 1 (index 1)" in message
    assert snapshot(store) == before  # no study, no log, no temporary file left
    assert [s.name for s in store.studies()] == ["before"]
    with pytest.raises(RuntimeError, match="has ended"):
        batch.import_dataframe(_frames(1)[0], space={"x": uniform(0, 1)})


def test_a_failed_commit_of_a_bulk_import_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    store = ExperienceStore(tmp_path / "store")
    store.import_dataframe(_frames(1)[0], space={"x": uniform(0, 1)}, name="before")
    before = snapshot(store)

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_commit_index", full_disk)
    with pytest.raises(OSError, match="No space left"):
        with store.bulk_import() as batch:
            for frame in _frames(3):
                batch.import_dataframe(frame, space={"x": uniform(0, 1)})
    monkeypatch.undo()
    assert snapshot(store) == before
    assert [s.name for s in ExperienceStore(store.path).studies()] == ["before"]


def test_a_bulk_import_of_optuna_studies_and_csv_files(tmp_path):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = []
    for seed in range(2):
        study = optuna.create_study(study_name=f"o{seed}", sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=4)
        studies.append(study)
    path = tmp_path / "runs.csv"
    path.write_text("x,value\n0.1,0.8\n0.9,0.7\n")
    store = ExperienceStore(tmp_path / "store")
    with store.bulk_import() as batch:
        for study in studies:
            batch.import_optuna(study)
        batch.import_csv(path)
    assert sorted(s.name for s in store.studies()) == ["o0", "o1", "runs"]
    assert batch.report.trials_added == 10
