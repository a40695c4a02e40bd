"""The Optuna-style benchmark (benchmarks/bench_optuna_style.py) hands the same objective to Optuna and to tune: its
space must be read from the suggest calls and each parameter's role from what it sets, or it measures nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.toy_dataset import toy_dataset  # noqa: E402
from benchmarks import bench_optuna_style as bench  # noqa: E402
from jupyter_metahpo.meta.declared_space import space_from_suggest_calls  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402
from jupyter_metahpo.reporting import Trial  # noqa: E402

ROLES = {
    "torch": {"n_layers": "n_hidden_layers", "n_units": "hidden_width", "dropout": "dropout", "lr": "learning_rate",
              "optimizer": "optimizer"},
    "hgb": {name: name for name in ("learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization")},
    "svm": {"C": "C", "gamma": "gamma"},
    "branches": {"svc_c": "C", "rf_max_depth": "max_depth"},
    "layers": {"n_layers": "n_hidden_layers", "n_units_l0": "hidden_width", "dropout_l0": "dropout",
               "lr": "learning_rate", "optimizer": "optimizer"},
}
ROLES["table"] = ROLES["torch"]  # the optimiser chosen through a table: the same roles
ROLES["keras"] = ROLES["torch"]  # the same model written with Keras
ROLES["keras_fit"] = {"units": "hidden_width", "dropout": "dropout", "epochs": "max_epochs", "batch_size": "batch_size"}
ROLES["extra_trees"] = {name: name for name in ("n_estimators", "max_depth", "min_samples_leaf", "max_features")}
ROLES["activation"] = {**ROLES["torch"], "activation": "activation"}
ROLES["skorch"] = {"n_layers": "n_hidden_layers", "n_units_l0": "hidden_width", "dropout": "dropout"}
ROLES["lightning"] = ROLES["skorch"]  # Optuna's Lightning example tunes the same layers
ROLES["xgboost"] = {"learning_rate": "learning_rate", "max_depth": "max_depth", "reg_lambda": "l2_regularization",
                    "n_estimators": "max_iter",
                    **{name: name for name in ("min_child_weight", "subsample", "colsample_bytree")}}
ROLES["catboost"] = {"learning_rate": "learning_rate", "depth": "max_depth", "l2_leaf_reg": "l2_regularization",
                     "iterations": "max_iter"}
# Exponents: each sets its argument as a power (10 ** log_c, 2 ** log_units).
ROLES["powers_svm"] = {"log_c": "C", "log_gamma": "gamma"}
ROLES["powers_torch"] = {**ROLES["torch"], "log_units": "hidden_width", "log_lr": "learning_rate"}
del ROLES["powers_torch"]["n_units"], ROLES["powers_torch"]["lr"]
# LightGBM's own names: those HGB has mapped to its names, the others read as themselves.
ROLES["lightgbm"] = {"lambda_l2": "l2_regularization", "num_leaves": "max_leaf_nodes",
                     "min_child_samples": "min_samples_leaf",
                     **{name: name for name in ("lambda_l1", "feature_fraction", "bagging_fraction", "bagging_freq")}}
FAMILIES = {"torch": ("torch_mlp",), "hgb": ("hgb",), "svm": ("svm",), "branches": ("svm", "random_forest"),
            "layers": ("torch_mlp",), "table": ("torch_mlp",), "activation": ("torch_mlp",), "skorch": ("torch_mlp",),
            "lightgbm": ("hgb",), "lightning": ("torch_mlp",), "xgboost": ("hgb",), "powers_svm": ("svm",),
            "powers_torch": ("torch_mlp",), "catboost": ("hgb",), "keras": ("torch_mlp",), "keras_fit": ("torch_mlp",),
            "extra_trees": ("random_forest",)}
BASES = {"powers_svm": {"log_c": 10.0, "log_gamma": 10.0}, "powers_torch": {"log_units": 2.0, "log_lr": 10.0}}
#: The parameters besides those with a role: Optuna's example's choice of model, the later layers of Optuna's
#: PyTorch example (which repeat the first layer's call).
OTHERS = {"branches": ["classifier"], "layers": ["n_units_l1", "n_units_l2", "dropout_l1", "dropout_l2"],
          "skorch": ["n_units_l1", "n_units_l2"], "lightning": ["n_units_l1", "n_units_l2"]}


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("cell", bench.CELLS)
def test_the_benchmarks_cells_declare_their_space_and_each_parameter_has_its_role(cell, task, monkeypatch):
    if cell in ("skorch", "lightgbm", "lightning", "xgboost", "catboost", "keras", "keras_fit"):
        if cell.startswith("keras"):
            monkeypatch.setenv("KERAS_BACKEND", "torch")  # before keras is first imported: Keras 3 without TensorFlow
        pytest.importorskip(cell.partition("_")[0])
    objective = bench.cell_objective(cell, toy_dataset(task))
    space = space_from_suggest_calls(objective)
    assert sorted(space.names) == sorted([*ROLES[cell], *OTHERS.get(cell, [])])
    source = describe_objective(objective, space.names)
    assert {r.parameter: r.role for r in source.roles if r.direct or r.base} == ROLES[cell]
    assert {r.parameter: r.base for r in source.roles if r.base} == BASES.get(cell, {})
    assert source.families == FAMILIES[cell]
    if cell == "keras":  # getattr(keras.optimizers, optimizer_name): each option is the class's own name
        assert {r.parameter: r.target for r in source.roles if r.role in ("optimizer", "learning_rate")} == {
            "optimizer": "keras.optimizers", "lr": "keras.optimizers.Optimizer"}
    if cell in ("table", "activation"):  # each key runs its class
        runs = {o.option: o.runs for o in source.chosen_options}
        assert {key: runs[key] for key in ("adam", "rmsprop", "sgd")} == {
            "adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
        if cell == "activation":
            assert {key: runs[key] for key in ("relu", "tanh", "sigmoid")} == {
                "relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    if cell == "branches":  # each model's parameter is used in its branch only
        assert {(b.parameter, b.values) for b in source.branches} == {("svc_c", ("SVC",)),
                                                                       ("rf_max_depth", ("RandomForest",))}
    config = space.sample(np.random.default_rng(0))
    score = objective(Trial(None, config))  # the handle answers the calls: the cell runs
    assert np.isfinite(score) and score <= 1.0
