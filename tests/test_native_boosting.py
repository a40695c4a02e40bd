"""LightGBM's and XGBoost's own training calls (``lgb.train(param, dtrain)``) read as the estimators they are."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_optuna_style as bench  # noqa: E402
from helpers.cells import run_cell  # noqa: E402
from jupyter_metahpo.meta.source import FixedSetting, describe_objective  # noqa: E402
from jupyter_metahpo.reporting import Trial  # noqa: E402

# Optuna's LightGBM example (lightgbm_simple.py) as the benchmark runs it, on a binary task.
OPTUNA_LIGHTGBM_CELL = bench.LIGHTGBM_CELL.format(
    metric="balanced_accuracy_score", objective="binary", num_class="", predict="np.rint(preds)")
NAMES = ["lambda_l1", "lambda_l2", "num_leaves", "feature_fraction", "bagging_fraction", "bagging_freq",
         "min_child_samples"]


def test_optunas_lightgbm_example_reads_as_the_hgb_algorithm_at_lightgbms_defaults():
    source = describe_objective(OPTUNA_LIGHTGBM_CELL, NAMES)
    assert source.estimators == ("LGBMClassifier",) and source.families == ("hgb",)
    roles = {r.parameter: r.role for r in source.roles}
    assert {name: roles[name] for name in ("lambda_l2", "num_leaves", "min_child_samples")} == {
        "lambda_l2": "l2_regularization", "num_leaves": "max_leaf_nodes", "min_child_samples": "min_samples_leaf"}
    fixed = {s.role: s.value for s in source.settings}
    assert fixed["learning_rate"] == 0.1 and fixed["max_iter"] == 100  # lgb.train's own defaults


def test_xgboosts_own_names_rounds_and_a_regression_objective():
    text = ("def f(eta, depth, lam, rounds):\n"
            "    params = {'eta': eta, 'max_depth': depth, 'lambda': lam, 'objective': 'reg:squarederror'}\n"
            "    return xgb.train(params, dtrain, num_boost_round=rounds)\n")
    source = describe_objective(text, ["eta", "depth", "lam", "rounds"])
    assert source.estimators == ("XGBRegressor",) and source.families == ("hgb",)
    assert {r.parameter: r.role for r in source.roles} == {
        "eta": "learning_rate", "depth": "max_depth", "lam": "l2_regularization", "rounds": "max_iter"}
    # A rounds key in the dict is what runs, not the call's default; a rate left out is the library's.
    cv = describe_objective(
        "def f(leaves, n):\n    return lgb.cv({'num_leaves': leaves, 'num_iterations': n}, dtrain)\n", ["leaves", "n"])
    assert {r.parameter: r.role for r in cv.roles} == {"leaves": "max_leaf_nodes", "n": "max_iter"}
    assert FixedSetting("LGBMClassifier", "learning_rate", "learning_rate", 0.1) in cv.settings
    assert not [s for s in cv.settings if s.role == "max_iter"]


def test_optunas_lightgbm_cell_warms_from_the_hgb_prior():
    pytest.importorskip("lightgbm")
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from jupyter_metahpo import suggest

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.25, random_state=0)
    namespace = {"__name__": "__main__", "X_train": X_train, "X_valid": X_valid, "y_train": y_train,
                 "y_valid": y_valid}
    objective = run_cell(OPTUNA_LIGHTGBM_CELL, "<lightgbm-cell>", namespace)["objective"]
    proposals = suggest(data=(X, y), k=3, objective=objective, store=False, seed=0)
    sources = {e["space_name"] for e in proposals.report.sources.values()}
    assert "hgb_classifier" in sources, proposals.report.summary()
    assert objective(Trial(None, proposals[0].config)) > 0.8  # the handle answers the calls: the proposal runs
