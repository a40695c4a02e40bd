"""The store keeps each trial's learning curve and pruned trials: logs, export/import, the CLI, old stores."""

from __future__ import annotations

import io
import json
import math
import re

import pytest

from jupyter_metahpo import TrialPruned, TrialState, tune, uniform
from jupyter_metahpo.cli import main, sparkline
from jupyter_metahpo.store import ExperienceStore, StoreVersionError
from jupyter_metahpo.store import schema
from jupyter_metahpo.store.store import thinned_curve

SPACE = {"x": uniform(0.0, 1.0)}


def train(x, trial):
    for epoch in range(5):
        value = float("nan") if (x > 0.8 and epoch == 1) else x * (epoch + 1)
        trial.report(value, epoch)
        if x > 0.5 and epoch == 2:
            raise TrialPruned(f"x={x:.2f} stopped at epoch 2")
    return x * 5


@pytest.fixture
def store(tmp_path) -> ExperienceStore:
    return ExperienceStore(tmp_path / "store")


def run(store, n=6, name="curves"):
    return tune(train, SPACE, n, name=name, store=store, seed=0, direction="maximize")


def test_curves_and_pruned_trials_are_stored_and_read_back_exactly(store):
    result = run(store)
    assert {t.state for t in result.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    stored = [r.trial for r in store.trials(result.study_id)]
    for mine, kept in zip(result.trials, stored):
        assert (kept.state, kept.value, kept.prune_reason) == (mine.state, mine.value, mine.prune_reason)
        assert list(kept.intermediate_values) == list(mine.intermediate_values)
        assert [v if not math.isnan(v) else "nan" for v in kept.intermediate_values.values()] == [
            v if not math.isnan(v) else "nan" for v in mine.intermediate_values.values()
        ]
    (summary,) = store.summaries()
    assert summary.n_pruned == sum(t.state is TrialState.PRUNED for t in result.trials)
    assert summary.n_failed == 0 and summary.n_complete + summary.n_pruned == 6
    # Past studies (the warm start's results) hold complete trials only: a pruned value is not a result.
    (past,) = store.past_studies()
    assert len(past.values) == summary.n_complete


def test_a_resumed_study_gets_its_curves_back(store):
    run(store, n=3)
    again = run(store, n=5)
    assert len(again.trials) == 5
    assert all(len(t.intermediate_values) in (3, 5) for t in again.trials)


def test_export_and_import_carry_curves(store, tmp_path):
    result = run(store)
    path = tmp_path / "export.json"
    store.export_json(path)
    payload = json.loads(path.read_text())
    assert payload["schema_version"] == schema.SCHEMA_VERSION == 3
    exported = payload["studies"][0]["trials"]
    assert all("intermediate_values" in t for t in exported)
    assert any(t["state"] == "pruned" and t["prune_reason"].startswith("x=") for t in exported)
    other = ExperienceStore(tmp_path / "other")
    report = other.import_json(path)
    assert report.trials_added == 6
    moved = [r.trial for r in other.trials(result.study_id)]
    assert [dict(t.intermediate_values).keys() for t in moved] == [dict(t.intermediate_values).keys() for t in result.trials]
    assert [t.prune_reason for t in moved] == [t.prune_reason for t in result.trials]


@pytest.mark.parametrize(
    ("curve", "problem"),
    [
        ({"0": 1.0}, "must be a list of [step, value] pairs"),
        ([[0, 1.0], [0, 2.0]], "step must be an integer above the one before (0)"),
        ([[0, "a"]], "value must be a finite number or null"),
        ([[1.5, 1.0]], "step must be an integer above"),
    ],
)
def test_an_import_with_a_bad_curve_names_where(store, tmp_path, curve, problem):
    run(store, n=2)
    path = tmp_path / "export.json"
    store.export_json(path)
    payload = json.loads(path.read_text())
    payload["studies"][0]["trials"][1]["intermediate_values"] = curve
    path.write_text(json.dumps(payload))
    with pytest.raises(Exception, match=r"studies\[0\]\.trials\[1\]\.intermediate_values: .*" + re.escape(problem)):
        ExperienceStore(tmp_path / "fresh").import_json(path)


def test_a_damaged_curve_in_a_log_costs_only_that_trial(store):
    result = run(store, n=3)
    log = store.log_path(result.study_id)
    lines = log.read_text().splitlines()
    damaged = json.loads(lines[2])
    damaged["intermediate_values"] = [[0, "abc"]]
    lines[2] = json.dumps(damaged)
    log.write_text("\n".join(lines) + "\n")
    with pytest.warns(RuntimeWarning, match="intermediate_values"):
        kept = store.trials(result.study_id)
    assert len(kept) == 2


def test_a_store_written_before_curves_still_reads_and_is_upgraded(store):
    """A version-1 store (no curves, no pruned trials) reads as it was; its next write stores the current version."""
    tune(lambda x: x, SPACE, 3, name="old", store=store, seed=0)
    store.compact_index()  # every change in index.json, which is edited by hand next
    index = json.loads(store.index_path.read_text())
    index["_meta"]["1"]["schema_version"] = 1
    store.index_path.write_text(json.dumps(index))
    fresh = ExperienceStore(store.path)
    (study,) = fresh.studies()
    assert [len(r.trial.intermediate_values) for r in fresh.trials(study.id)] == [0, 0, 0]
    run(fresh, n=2, name="new")
    assert json.loads(store.index_path.read_text())["_meta"]["1"]["schema_version"] == schema.SCHEMA_VERSION


def test_a_version_2_store_is_refused_by_a_version_1_reader(store, monkeypatch):
    run(store, n=2)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    with pytest.raises(StoreVersionError, match="Upgrade jupyter-metahpo"):
        ExperienceStore(store.path).studies()


def test_a_very_long_curve_is_thinned_not_refused(store, monkeypatch):
    monkeypatch.setattr(schema, "MAX_CURVE_POINTS", 10)

    def long_run(x, trial):
        for step in range(25):
            trial.report(x + step, step)
        return x

    result = tune(long_run, SPACE, 1, name="long", store=store, seed=0)
    (kept,) = [r.trial for r in store.trials(result.study_id)]
    assert len(kept.intermediate_values) == 10
    assert min(kept.intermediate_values) == 0 and max(kept.intermediate_values) == 24  # first and last kept
    assert thinned_curve([[i, float(i)] for i in range(5)], 3) == [[0, 0.0], [2, 2.0], [4, 4.0]]


def test_cli_show_draws_each_curve_and_says_why_trials_were_pruned(store):
    result = run(store)
    out = io.StringIO()
    assert main(["show", "curves", "--store", str(store.path)], out=out) == 0
    text = out.getvalue()
    header = next(line for line in text.splitlines() if line.startswith("#"))
    assert header.split() == ["#", "state", "value", "x", "origin", "steps", "curve"]
    for t in result.trials:
        if t.state is TrialState.PRUNED:
            assert f"trial {t.number + 1} pruned: {t.prune_reason}" in text
    assert sparkline({0: 0.0, 1: 1.0, 2: 0.5}) == "▁█▅"
    assert sparkline({0: 1.0, 1: float("nan")}) == "▁?"
    assert len(sparkline({i: float(i) for i in range(100)})) == 16


def test_old_logs_copied_in_from_a_version_1_store_read_unchanged():
    """Trial lines without the new fields (every line a version-1 store wrote) pass the checks."""
    line = {"type": "trial", "id": "abc", "number": 0, "config": {"x": 0.5}, "state": "complete",
            "origin": {"source": "sobol", "reason": "", "details": {}}, "value": 0.5, "metrics": {},
            "error": None, "started_at": 1.0, "finished_at": 2.0, "suggest_seconds": None, "recorded_at": 3.0}
    assert schema.check_log_line(line) is None
    assert schema.check_log_line({**line, "state": "pruned", "value": None, "prune_reason": "why",
                                  "intermediate_values": [[0, 0.1], [3, None]]}) is None
    assert "prune_reason" in schema.check_log_line({**line, "prune_reason": 3})
