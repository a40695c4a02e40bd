"""The user-space benchmark (benchmarks/bench_user_spaces.py) on its cases and on tiny synthetic pools.

Each case's transform into the built-in space, each case's space being what the case
says, the goal table's arithmetic, and case f seen through the package: a toy
function that only shares parameter names with the prior must start cold.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._loo.cache import RunCache  # noqa: E402
from benchmarks._loo.pool import PoolTask  # noqa: E402
from benchmarks._loo.runner import RunResult  # noqa: E402
from benchmarks._loo.user_report import (  # noqa: E402
    gain_rows, goal_summary, goals_table, regret_table, unrelated_rows,
)
from benchmarks._loo.user_runner import UserTask, run_user_benchmark, user_tasks  # noqa: E402
from benchmarks._loo.user_spaces import (  # noqa: E402
    CASES, FAMILIES, POOL_FAMILIES, family_cases, feature_share, toy_pool,
)
from jupyter_metahpo.builtin_spaces import get_builtin_space  # noqa: E402
from jupyter_metahpo.experience import PastStudy  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402
from jupyter_metahpo.space import Choice  # noqa: E402


def builtin_of(family):
    return get_builtin_space(FAMILIES[family])


# ------------------------------------------------------------------ transforms


@pytest.mark.parametrize("family", sorted(POOL_FAMILIES))
def test_a_renamed_config_maps_back_to_the_same_builtin_config(family):
    case = family_cases(family)["a"]
    builtin = builtin_of(family)
    for config in builtin.space.sample(0, n=5):
        user = {case.links[name].user: value for name, value in config.items()}
        assert case.to_builtin(user, n_features=10) == builtin.space.validate_config(config)


def test_b_values_beyond_the_builtin_ranges_are_clipped_to_them():
    case = family_cases("random_forest")["b"]
    user = {"n_estimators": 500, "max_features": 0.3, "min_samples_leaf": 100, "bootstrap": False}
    mapped = case.to_builtin(user, 10)
    assert mapped == {"n_estimators": 200, "max_features": 0.3, "min_samples_leaf": 32, "bootstrap": False}
    hgb = family_cases("hgb")["b"]
    config = {"learning_rate": 1e-3, "max_iter": 50, "max_leaf_nodes": 8, "min_samples_leaf": 1,
              "l2_regularization": 1.0, "max_features": 0.5}
    mapped = hgb.to_builtin(config, 10)
    assert mapped["learning_rate"] == 0.01 and mapped["min_samples_leaf"] == 2  # both below the built-in range
    assert mapped["max_iter"] == 50 and mapped["l2_regularization"] == 1.0  # inside it: unchanged


def test_c_the_parameters_a_subset_leaves_out_keep_the_builtin_defaults():
    case = family_cases("hgb")["c"]
    mapped = case.to_builtin({"learning_rate": 0.05, "max_leaf_nodes": 10, "min_samples_leaf": 5}, 10)
    defaults = builtin_of("hgb").default_config
    assert mapped == {**defaults, "learning_rate": 0.05, "max_leaf_nodes": 10, "min_samples_leaf": 5}
    svm = family_cases("svm")["c"].to_builtin({"C": 3.0, "gamma": 0.2}, 10)
    assert svm == {"C": 3.0, "gamma": 0.2, "class_weight": None}


def test_c_the_mlp_cell_leaves_out_what_the_pool_scores_at_the_builtin_defaults():
    import sklearn.neural_network  # noqa: F401 - the cell's import, as run_cell_imports runs it

    from jupyter_metahpo.meta.source import describe_objective

    case = family_cases("mlp")["c"]
    assert "hidden_layer_sizes" not in case.cell and "batch_size" not in case.cell
    defaults = builtin_of("mlp").default_config
    mapped = case.to_builtin({"activation": "tanh", "alpha": 1e-3, "learning_rate_init": 1e-2}, 10)
    left_out = {n: v for n, v in mapped.items() if n not in case.space}
    # What the source reader says the cell runs is what the pool scores it at (scikit-learn's own defaults).
    fixed = {role: s.value for role, s in describe_objective(case.cell, case.space.names).fixed().items()}
    assert left_out == {n: defaults[n] for n in left_out} == {n: fixed[n] for n in left_out}


def test_d_the_parameters_the_prior_never_saw_do_not_change_the_builtin_config():
    case = family_cases("random_forest")["d"]
    base = {"n_estimators": 60, "max_features": 0.5, "min_samples_leaf": 4, "bootstrap": True}
    one = case.to_builtin({**base, "max_depth": 3, "criterion": "gini"}, 10)
    other = case.to_builtin({**base, "max_depth": 30, "criterion": "entropy"}, 10)
    assert one == other == base


@pytest.mark.parametrize("n_features, sqrt_share, log2_share", [(100, 0.10, 0.06), (4, 0.5, 0.5), (30, 5 / 30, 4 / 30)])
def test_e_feature_share_options_are_the_shares_scikit_learn_draws(n_features, sqrt_share, log2_share):
    assert feature_share("sqrt", n_features) == pytest.approx(sqrt_share)
    assert feature_share("log2", n_features) == pytest.approx(log2_share)
    assert feature_share(None, n_features) == 1.0
    assert feature_share(0.3, n_features) == 0.3
    with pytest.raises(ValueError, match="max_features='auto'"):
        feature_share("auto", n_features)


def test_e_kind_conversions_land_on_the_builtin_kinds():
    rf = family_cases("random_forest")["e"]
    config = {"n_estimators": 57.6, "max_features": "sqrt", "min_samples_leaf": 2, "bootstrap": True}
    expected = {"n_estimators": 58, "max_features": 0.1, "min_samples_leaf": 2, "bootstrap": True}
    assert rf.to_builtin(config, 100) == expected
    # sqrt(10000) / 10000 = 0.01 lies below the built-in 0.05: clipped to it
    assert rf.to_builtin({**config, "max_features": "sqrt"}, 10_000)["max_features"] == 0.05
    assert rf.to_builtin({**config, "max_features": None}, 100)["max_features"] == 1.0
    torch = family_cases("torch_mlp")["e"]
    config = {**builtin_of("torch_mlp").default_config, "hidden_width": 256, "batch_size": 128, "max_epochs": 59.7}
    mapped = torch.to_builtin(config, 10)
    assert (mapped["hidden_width"], mapped["batch_size"], mapped["max_epochs"]) == (256, 128, 60)
    svm = family_cases("svm")["e"].to_builtin({"C": 1000.0, "gamma": 1e-4, "class_weight": "balanced"}, 10)
    assert svm == {"C": 1000.0, "gamma": 1e-4, "class_weight": "balanced"}
    mlp = family_cases("mlp")["e"]
    config = {"hidden_layer_sizes": (128, 64), "activation": "tanh", "alpha": 1e-3, "learning_rate_init": 1e-2,
              "batch_size": 64}
    mapped = mlp.to_builtin(config, 10)  # layer sizes: their geometric mean width (90.5) and their number
    assert (mapped["hidden_layer_width"], mapped["n_hidden_layers"], mapped["activation"]) == (91, 2, "tanh")


def test_f_is_scored_by_its_own_cell_not_mapped_into_the_builtin_space():
    case = family_cases("svm")["f"]
    with pytest.raises(ValueError, match="its own function"):
        case.to_builtin({"C": 1.0, "gamma": 0.1}, 10)
    held_out = _pool_task("held", _svc_study("held", 0))
    pool = toy_pool(case, held_out, size=16)
    assert pool.space == case.space and pool.size == 16
    objective = user_tasks(held_out, {"f": case})[0].case.objective()
    assert pool.study.values[3] == pytest.approx(objective(**pool.configs[3]))


# ------------------------------------------------------------------ the spaces


@pytest.mark.parametrize("family", sorted(POOL_FAMILIES))
def test_each_case_is_the_departure_it_says(family):
    cases = family_cases(family)
    builtin = builtin_of(family).space
    assert set(cases) == set(CASES)
    renamed = cases["a"].space
    assert len(renamed) == len(builtin) and len(set(renamed.names) - set(builtin.names)) >= len(builtin) // 2
    ranges = cases["b"].space
    assert ranges.names and set(ranges.names) == set(builtin.names) and ranges != builtin
    moved = [n for n, p in ranges.items()
             if not isinstance(p, Choice) and (p.low, p.high) != (builtin[n].low, builtin[n].high)]
    assert len(moved) >= 2
    subset = cases["c"].space
    assert 2 <= len(subset) <= 3 and set(subset.names) < set(builtin.names)
    superset = cases["d"].space
    extra = cases["d"].extra_parameters
    assert set(builtin.names) < set(superset.names) and 1 <= len(extra) <= 2 and not set(extra) & set(builtin.names)
    kinds = cases["e"].space
    assert any(type(kinds[n]) is not type(builtin[n]) for n in builtin.names)
    toy = cases["f"]
    assert toy.synthetic and len(toy.space) == 2 and set(toy.space.names) <= set(builtin.names)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_cells_build_the_familys_estimator_and_pass_on_every_builtin_parameter(family):
    for letter, case in family_cases(family).items():
        source = describe_objective(case.cell, case.space.names)
        if case.synthetic:
            assert source.families == ()
            continue
        assert source.families == (family,), letter
        set_by_the_cell = {role.parameter for role in source.roles}
        known = set(case.space.names) - set(case.extra_parameters)
        assert known <= set_by_the_cell, (letter, known - set_by_the_cell)


# ------------------------------------------------------------------ goals


def result(method, case, pool, curve, family="svm", seed=0):
    return RunResult(method, f"{case}/{pool}", family, seed, tuple(curve), (), None, 0)


def four_runs(case, pool, user_cold, user_warm, exact_cold, exact_warm, family="svm"):
    return [
        result("ours: cold", case, pool, user_cold, family), result("ours: default", case, pool, user_warm, family),
        result("exact space: ours cold", "ref", pool, exact_cold, family),
        result("exact space: ours default", "ref", pool, exact_warm, family),
    ]


def test_the_goal_table_computes_the_share_of_the_gain_kept_and_flags_a_miss():
    # At every trial: exact gain 0.4 on both pools; the user's gain 0.4 on one pool and 0.2 on the other (75%).
    runs = four_runs("a", "p1", [0.5] * 10, [0.1] * 10, [0.5] * 10, [0.1] * 10)
    runs += four_runs("a", "p2", [0.6] * 10, [0.4] * 10, [0.5] * 10, [0.1] * 10)
    # Case b keeps only a quarter of it.
    runs += four_runs("b", "p1", [0.5] * 10, [0.4] * 10, [0.5] * 10, [0.1] * 10)
    runs += four_runs("b", "p2", [0.5] * 10, [0.4] * 10, [0.5] * 10, [0.1] * 10)
    rows_a, rows_b = gain_rows(runs, "a"), gain_rows(runs, "b")
    assert [r["trial"] for r in rows_a] == [1, 5, 10]
    assert rows_a[0]["kept"] == pytest.approx(0.75) and rows_a[0]["met"]
    # against the built-in space's cold start instead: ((0.5 - 0.1) + (0.5 - 0.4)) / 2 / 0.4
    assert rows_a[0]["kept_vs_exact_cold"] == pytest.approx(0.625)
    assert rows_b[0]["kept"] == pytest.approx(0.25) and not rows_b[0]["met"]
    assert rows_b[0]["margin"] == pytest.approx(0.1 - 0.75 * 0.4)
    table = goals_table(runs, ["a", "b"])
    assert "| a | 1 | +0.400 | +0.300 | 75% |" in table and "| b | 1 | +0.400 | +0.100 | 25% |" in table
    assert "**no**" in table.split("| b | 1 |")[1].splitlines()[0]
    summary = goal_summary(runs, ["a", "b"])
    assert summary[0].endswith("met") and "missed at trial 1, 5, 10" in summary[1]


def test_the_room_a_users_space_leaves_is_its_cold_start_minus_the_best_any_run_found():
    # A subset whose best reachable regret is 0.3 (every run stops there): from a cold start at 0.5, at most 0.2 can be
    # gained, below 0.75 of the exact space's 0.4: out of reach for any method.
    runs = four_runs("c", "p1", [0.5] * 10, [0.3] * 10, [0.5] * 10, [0.1] * 10)
    row = gain_rows(runs, "c")[0]
    assert row["room"] == pytest.approx(0.2) and not row["in_reach"] and not row["met"]
    assert "| +0.200 (**no**) |" in goals_table(runs, ["c"])
    # Of the exact gain (0.5 -> 0.1) the part below the subset's floor 0.3 is beyond it: reachable 0.2, all kept.
    assert row["reachable_gain"] == pytest.approx(0.2) and row["kept_reachable"] == pytest.approx(1.0)
    assert row["met_reachable"] and "| +0.200 (**no**) | 100% (yes) |" in goals_table(runs, ["c"])
    # A warm start that gains half of the reachable part misses it too.
    half = gain_rows(four_runs("c", "p1", [0.5] * 9 + [0.3], [0.4] * 10, [0.5] * 10, [0.1] * 10), "c")[0]
    assert half["kept_reachable"] == pytest.approx(0.5) and not half["met_reachable"]
    assert "| best any run found in the user's space | 1 | 0.300 |" in regret_table(runs, "c")
    # Where a run of the user's space (the cold start's last trials here) reaches 0.0, the goal is in reach.
    reachable = four_runs("c", "p1", [0.5] * 9 + [0.0], [0.3] * 10, [0.5] * 10, [0.1] * 10)
    assert gain_rows(reachable, "c")[0]["in_reach"]


def test_a_share_of_no_exact_gain_is_not_computed():
    runs = four_runs("c", "p1", [0.5] * 10, [0.3] * 10, [0.2] * 10, [0.2] * 10)
    row = gain_rows(runs, "c")[0]
    assert row["kept"] is None and row["met"]  # 0.2 >= 0.75 * 0
    assert "n/a (gains: user +0.200, exact +0.000)" in goals_table(runs, ["c"])
    # The reachable share says what it would have divided: the reachable gain, not the exact one.
    assert row["kept_reachable"] is None
    assert "n/a (gains: user +0.200, reachable +0.000) (yes)" in goals_table(runs, ["c"])


def test_case_f_is_missed_when_ours_is_worse_than_cold_by_more_than_one_standard_error():
    runs = []
    for i, (ours, cold) in enumerate([(0.30, 0.10), (0.25, 0.10), (0.35, 0.12)]):
        runs += [result("ours: default", "f", f"p{i}", [ours] * 25), result("ours: cold", "f", f"p{i}", [cold] * 25)]
    rows = unrelated_rows(runs)
    assert [r["trial"] for r in rows] == [1, 5, 10, 25]
    assert rows[0]["diff"] == pytest.approx(np.mean([0.2, 0.15, 0.23])) and not rows[0]["met"]
    close = [result("ours: default", "f", "p0", [0.11] * 25), result("ours: cold", "f", "p0", [0.10] * 25),
             result("ours: default", "f", "p1", [0.09] * 25), result("ours: cold", "f", "p1", [0.10] * 25)]
    assert all(r["met"] for r in unrelated_rows(close))  # +0.00 ± 0.01


# ------------------------------------------------------------------ through the package, on synthetic pools


def _svc_study(name, seed, n=24, family_extra=True):
    """A pool of the built-in SVC space whose score peaks at C=10, gamma=0.01 (with a task-dependent shift)."""
    space = get_builtin_space("svc").space
    rng = np.random.default_rng(seed)
    configs = space.sample(rng, n=n)
    shift = 0.3 * rng.standard_normal()
    values = [-(math.log10(c["C"]) - 1 - shift) ** 2 - (math.log10(c["gamma"]) + 2) ** 2 for c in configs]
    features = {"log_n_rows": 6.0 + 0.1 * seed, "log_n_columns": math.log(12), "is_classification": 1.0}
    extra = {"dataset": name, "space_name": "svc", "task": "classification", "task_type": "classification"}
    if family_extra:
        extra["family"] = "svm"
    return PastStudy.from_arrays(f"prior:svc:{name}", name, space, "maximize", configs, values,
                                 meta_features=features, meta_feature_set="mhpo-v1", data_fingerprint=f"fp-{name}",
                                 source="prior", extra=extra)


def _pool_task(name, study):
    return PoolTask(f"svc/{name}", "svm", name, study, name, dict(study.extra))


@pytest.fixture(scope="module")
def svc_pools():
    studies = [_svc_study(f"d{i}", i) for i in range(4)]
    return studies, [_pool_task(s.task_name, s) for s in studies]


def test_a_renamed_svc_cell_warms_from_the_svc_pools(svc_pools):
    studies, tasks = svc_pools
    task = user_tasks(tasks[0], {"a": family_cases("svm")["a"]})[0]
    experience = task.experience(studies[1:])
    assert len(experience.usable) == 3  # tied by the SVC(...) arguments: svm_c is C, kernel_gamma is gamma


def test_case_f_past_studies_are_not_sources_the_warm_start_stays_cold(svc_pools):
    studies, tasks = svc_pools
    task = user_tasks(tasks[0], {"f": family_cases("svm")["f"]})[0]
    experience = task.experience(studies[1:])
    assert experience.usable == () and experience.summary()["cold"]


def test_a_run_scores_every_case_and_a_rerun_reuses_the_cache(svc_pools, tmp_path):
    studies, tasks = svc_pools
    cases = {k: c for k, c in family_cases("svm").items() if k in ("a", "c", "f")}
    cache = RunCache(tmp_path / "runs.jsonl")
    results, diagnostics = run_user_benchmark(tasks[:1], studies, lambda family: cases, [0], 4, cache=cache,
                                              progress=lambda line: None)
    by_case = {(r.task.partition("/")[0], r.method) for r in results}
    assert {("a", "ours: default"), ("c", "Optuna TPE"), ("f", "random search"),
            ("ref", "exact space: ours default"), ("ref", "exact space: ours cold")} <= by_case
    assert all(len(r.curve) == 4 and r.error is None for r in results)
    assert {d["case"] for d in diagnostics} == {"a", "c", "f"} and all(d["seconds"] >= 0 for d in diagnostics)
    stored = (tmp_path / "runs.jsonl").read_text()
    assert len(stored.splitlines()) == len(results)
    again, _ = run_user_benchmark(tasks[:1], studies, lambda family: cases, [0], 4,
                                  cache=RunCache(tmp_path / "runs.jsonl"), progress=lambda line: None)
    np.testing.assert_allclose([r.curve for r in again], [r.curve for r in results], atol=1e-6)  # stored rounded
    assert (tmp_path / "runs.jsonl").read_text() == stored  # nothing run again


def test_user_methods_snap_to_distinct_pool_points_within_the_budget(svc_pools):
    from benchmarks._loo.user_runner import user_methods

    studies, tasks = svc_pools
    task = UserTask(family_cases("svm")["e"], tasks[0], tasks[0])
    for method in user_methods():
        run = method.run(task, studies[1:], 6, seed=0)
        assert len(run.chosen) == 6 and len(set(run.chosen)) == 6, method.name


def test_the_live_part_on_the_priors_datasets_trains_the_cells_and_resumes_from_its_fit_cache(svc_pools, tmp_path):
    """``--live-loo``: each method's sampler proposes, the user's cell is trained on the held-out data, every fit is
    stored as it ends, and a rerun reads the stored fits (same curves, nothing appended)."""
    from types import SimpleNamespace

    import pandas as pd
    from sklearn.datasets import make_classification

    from benchmarks._loo.user_live import LOO_METHODS, run_live_loo

    studies, tasks = svc_pools
    X, y = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(colour=np.where(X[:, 0] > 0, "red", "blue"))
    loaded = []

    def load(name):
        loaded.append(name)
        return SimpleNamespace(X=frame, y=y)

    work = [(tasks[0], studies[1:])]
    cache = RunCache(tmp_path / "fits.jsonl")
    results = run_live_loo("svm", work, ["c"], [0], 3, cache, log=lambda line: None, load=load)
    assert loaded == ["d0"]
    assert {(r.task, r.method) for r in results} == {("c/d0", "ours: default"), ("c/d0", "ours: cold"),
                                                    ("ref/d0", "exact space: ours default"),
                                                    ("ref/d0", "exact space: ours cold")}
    assert len(results) == len(LOO_METHODS)
    curves = {r.method: r.curve for r in results}
    assert all(len(c) == 3 and all(0.0 <= v <= 1.0 for v in c) for c in curves.values())
    assert min(min(c) for c in curves.values()) == 0.0  # normalised by the best any run found
    stored = (tmp_path / "fits.jsonl").read_text()
    assert 0 < len(stored.splitlines()) <= 4 * 3 and "null" not in stored  # every fit scored (repeats read)
    again = run_live_loo("svm", work, ["c"], [0], 3, RunCache(tmp_path / "fits.jsonl"), log=lambda line: None,
                         load=load)
    assert {r.method: r.curve for r in again} == curves
    assert (tmp_path / "fits.jsonl").read_text() == stored


def test_the_live_cells_get_categorical_columns_one_hot_encoded():
    import pandas as pd

    from benchmarks._loo.user_live import numeric_matrix

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "kind": ["a", "b", "a"]})
    np.testing.assert_array_equal(numeric_matrix(frame), [[1.0, 1.0, 0.0], [2.0, 0.0, 1.0], [3.0, 1.0, 0.0]])


def test_a_change_confined_to_some_cases_gives_only_their_runs_a_new_identity():
    from benchmarks._loo.user_runner import UserCold, UserOurs

    ours = UserOurs()
    changed = {(case, family) for case in CASES for family in POOL_FAMILIES
               if ours.identity_for(case, family) != ours.identity}
    versioned = {(case, family) for case in CASES for family in POOL_FAMILIES
                 if case in ours.case_versions or f"{case}/{family}" in ours.case_versions}
    assert changed == versioned and changed  # (c), (e) and the torch MLP's (d): this round's changes
    assert ("d", "torch_mlp") in changed and ("d", "hgb") not in changed  # one family's cell changed
    for key, version in ours.case_versions.items():
        case, _, family = key.partition("/")
        assert ours.identity_for(case, family or None) == f"{ours.name}@{version}" and version > ours.version
    assert UserCold().identity_for("c") == UserCold().identity  # methods without per-case versions


def test_the_logistic_regressions_penalty_cell_ties_penalty_to_the_priors_l1_ratio():
    # The logistic regression's penalty cell (case e, trained live): "l1" is l1_ratio 1, "l2" 0.
    penalty = family_cases("logistic_regression")["e"]
    roles = {r.parameter: r.role for r in describe_objective(penalty.cell, penalty.space.names).roles}
    assert roles["penalty"] == "l1_ratio"
    config = {"C": 2.0, "penalty": "l1", "class_weight": "balanced"}
    assert penalty.to_builtin(config, 10)["l1_ratio"] == 1.0
    assert penalty.to_builtin({**config, "penalty": "l2"}, 10)["l1_ratio"] == 0.0


def test_live_tables_of_another_family_or_a_few_cases_do_not_overwrite_the_svm_table():
    import argparse

    from benchmarks.bench_user_spaces import live_table_name

    def name(family, cases, quick=False):
        return live_table_name(argparse.Namespace(quick=quick, live_family=family), cases)

    assert name("svm", ["a", "b", "c", "d", "e"]) == "user_spaces_live"
    assert name("random_forest", ["c"]) == "user_spaces_live_random_forest_c"
    assert name("svm", ["c", "e"]) == "user_spaces_live_svm_ce"
    assert name("svm", ["a"], quick=True) == "user_spaces_live_quick"
    # The live leave-one-task-out tables: the official subset and kind cells, and any other case apart.
    from benchmarks.bench_user_spaces import live_loo_table_name

    def loo(family, cases):
        return live_loo_table_name(argparse.Namespace(quick=False, live_family=family), cases)

    assert loo("hgb", ["c", "e"]) == "user_spaces_live_loo_hgb"
    assert loo("svm", ["c"]) == "user_spaces_live_loo_svm_c"
    assert loo("logistic_regression", ["e"]) == "user_spaces_live_loo_logistic_regression_e"
