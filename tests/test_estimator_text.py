"""An estimator object written as the code that builds it, and read by the source reader."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from helpers.cells import run_cell
from jupyter_metahpo.meta.estimator_text import estimator_code, objective_code, user_set_parameters
from jupyter_metahpo.meta.source import describe_objective


def test_the_tuned_parameters_go_to_their_step_and_only_the_users_choices_are_written():
    pipe = make_pipeline(StandardScaler(with_mean=False), SVC(kernel="poly", C=np.float64(2.0), degree=np.int64(2)))
    code = estimator_code(pipe, {"svc__C": "C", "svc__gamma": "g"})
    assert code == (
        "Pipeline(steps=[('standardscaler', StandardScaler(with_mean=False)), "
        "('svc', SVC(C=C, degree=2, gamma=g, kernel='poly'))])"
    )


def test_nested_estimators_and_column_transformers_are_written_with_their_own_prefixes():
    columns = ColumnTransformer([("scale", StandardScaler(), [0, 1])], remainder="passthrough")
    pipe = Pipeline([("prep", columns), ("net", MLPClassifier(hidden_layer_sizes=(64, 64)))])
    code = estimator_code(pipe, {"net__alpha": "alpha", "prep__scale__with_mean": "centre"})
    assert "('scale', StandardScaler(with_mean=centre))" in code
    assert "('net', MLPClassifier(alpha=alpha, hidden_layer_sizes=(64, 64)))" in code
    bagged = estimator_code(BaggingClassifier(RandomForestClassifier(max_depth=3)), {"estimator__n_estimators": "t"})
    assert bagged == "BaggingClassifier(estimator=RandomForestClassifier(max_depth=3, n_estimators=t))"


def test_values_without_plain_code_are_left_out_and_names_that_are_not_identifiers_give_no_objective():
    forest = RandomForestClassifier(class_weight={0: 1.0, 1: 2.0}, max_samples=float("nan"))
    assert user_set_parameters(forest) == {"class_weight", "max_samples"}
    assert estimator_code(forest, {}) == "RandomForestClassifier()"
    assert objective_code(SVC(), ["C", "class"]) is None
    assert objective_code(SVC(), ["C", "not a name"]) is None


def test_the_reader_reads_each_parameters_estimator_and_the_settings_the_user_chose():
    pipe = Pipeline([("scale", StandardScaler()), ("rf", RandomForestClassifier(bootstrap=False, n_estimators=50))])
    names = ["rf__max_depth", "rf__min_samples_leaf"]
    source = describe_objective(objective_code(pipe, names), names)
    assert {(r.parameter, r.target, r.argument, r.role) for r in source.roles} == {
        ("rf__max_depth", "RandomForestClassifier", "max_depth", "max_depth"),
        ("rf__min_samples_leaf", "RandomForestClassifier", "min_samples_leaf", "min_samples_leaf"),
    }
    assert source.families == ("random_forest",)
    fixed = source.fixed()
    assert (fixed["bootstrap"].value, fixed["bootstrap"].default) == (False, False)
    assert (fixed["n_estimators"].value, fixed["n_estimators"].default) == (50, False)
    assert (fixed["max_features"].value, fixed["max_features"].default) == ("sqrt", True)  # scikit-learn's default


def test_an_mlp_objects_layer_sizes_are_read_as_its_width_and_depth():
    names = ["mlpclassifier__alpha"]
    source = describe_objective(objective_code(make_pipeline(MLPClassifier(hidden_layer_sizes=(32, 32))), names), names)
    fixed = source.fixed()
    assert (fixed["hidden_layer_width"].value, fixed["n_hidden_layers"].value) == (32, 2)
    assert fixed["batch_size"].value == 200  # "auto", as the prior's batch sizes ran


def _objective(text: str, **namespace):
    """A function defined from ``text`` with ``namespace`` as its globals, its source readable as a cell's."""
    import linecache

    filename = f"<estimator-text-{len(linecache.cache)}>"
    return run_cell(text, filename, {"__name__": "__main__", **namespace})["objective"]


def test_set_params_on_an_estimator_object_of_the_notebook_gives_each_keyword_its_step():
    from sklearn.base import clone

    pipe = Pipeline([("scale", StandardScaler()), ("rf", RandomForestClassifier(n_estimators=50))])
    by_keyword = _objective(
        "def objective(trees, leaf):\n"
        "    pipe.set_params(rf__max_depth=trees, rf__min_samples_leaf=int(leaf), scale__with_mean=False)\n"
        "    return score(pipe)\n",
        pipe=pipe,
    )
    source = describe_objective(by_keyword, ["trees", "leaf"])
    assert {(r.parameter, r.target, r.argument, r.direct) for r in source.roles} == {
        ("trees", "RandomForestClassifier", "max_depth", True),
        ("leaf", "RandomForestClassifier", "min_samples_leaf", True),
    }
    assert source.fixed()["n_estimators"].value == 50  # the object's own setting

    names = ["rf__max_depth", "rf__bootstrap", "unrelated"]
    unpacked = _objective("def objective(config):\n    return score(clone(pipe).set_params(**config))\n",
                          pipe=pipe, clone=clone)
    source = describe_objective(unpacked, names)
    assert {(r.parameter, r.argument) for r in source.roles} == {("rf__max_depth", "max_depth"),
                                                                  ("rf__bootstrap", "bootstrap")}
    # Without the object (source text only) nothing says what the names set.
    text_only = "def objective(config):\n    return score(pipe.set_params(**config))\n"
    assert describe_objective(text_only, names).roles == ()


# A skorch net as its documentation tunes it with GridSearchCV: the module class of the notebook, routed arguments.
SKORCH_MODULE = '''
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, hidden=32, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(30, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 2))

    def forward(self, x):
        return torch.softmax(self.net(x), dim=-1)
'''


def test_a_skorch_net_is_written_with_its_module_class_the_library_optimiser_and_what_the_user_chose():
    skorch = pytest.importorskip("skorch")
    torch = pytest.importorskip("torch")
    module = run_cell(SKORCH_MODULE, "<skorch-module>", {"__name__": "__main__"})["MLP"]
    net = skorch.NeuralNetClassifier(module, max_epochs=10, lr=0.05, optimizer=torch.optim.Adam, verbose=0,
                                     module__dropout=0.1)
    # max_epochs=10 is NeuralNet's own default (NeuralNetClassifier passes it on): not a choice of the user's.
    assert user_set_parameters(net) == {"module", "optimizer", "lr", "verbose", "module__dropout"}
    code = objective_code(net, ["module__hidden", "lr"])
    assert code.startswith("class MLP:\n")  # the notebook's class, written before the objective
    assert ("NeuralNetClassifier(module=MLP, optimizer=torch.optim.adam.Adam, lr=lr, verbose=0, module__dropout=0.1, "
            "module__hidden=module__hidden)") in code
    source = describe_objective(code, ["module__hidden", "lr"])
    assert source.families == ("torch_mlp",)
    assert {r.parameter: r.role for r in source.roles} == {"module__hidden": "hidden_width", "lr": "learning_rate"}


def test_meta_search_cv_on_a_skorch_net_warms_from_the_torch_mlp_prior(tmp_path, monkeypatch):
    skorch = pytest.importorskip("skorch")
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_breast_cancer

    from jupyter_metahpo import MetaSearchCV
    from jupyter_metahpo.space import intrange, loguniform, uniform

    monkeypatch.setenv("JUPYTER_METAHPO_HOME", str(tmp_path))
    X, y = load_breast_cancer(return_X_y=True)
    X, y = StandardScaler().fit_transform(X).astype("float32"), y.astype("int64")
    module = run_cell(SKORCH_MODULE, "<skorch-search>", {"__name__": "__main__"})["MLP"]
    net = skorch.NeuralNetClassifier(module, max_epochs=2, optimizer=torch.optim.Adam, verbose=0)
    space = {"module__hidden": intrange(16, 256, log=True), "module__dropout": uniform(0.0, 0.5),
             "lr": loguniform(1e-4, 1e-1)}
    search = MetaSearchCV(net, space, n_iter=2, cv=2, random_state=0).fit(X, y)
    text = "\n".join(search.study_.warm_start.lines())
    assert "the built-in torch_mlp_classifier prior" in text, text  # before: cold, no model in the written code
    assert "module__hidden (their hidden_width: it sets torch.nn.Linear's out_features)" in text
    assert "lr (their learning_rate: it sets torch.optim.Adam's lr)" in text
    assert [t.origin.source for t in search.study_.trials] == ["warm-start", "warm-start"]
