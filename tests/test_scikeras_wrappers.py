"""A SciKeras wrapper is read as the Keras model it builds and the training it runs (jupyter_metahpo/meta/
scikeras_wrappers.py), in a cell and in MetaSearchCV, so that it warms from the torch MLP prior as a Keras cell does."""

from __future__ import annotations

import textwrap

import pytest

from helpers.cells import run_cell
from helpers.keras_backend import keras_on_torch
from jupyter_metahpo.meta.source import FixedSetting, describe_objective

# SciKeras's MLP as its documentation builds it: a model function of the arguments the wrapper routes to it.
GET_MODEL = '''
def get_model(hidden, dropout, meta):
    model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
    model.add(keras.layers.Dense(hidden, activation="relu"))
    model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    return model
'''


def _describe(objective: str, names: list[str]):
    namespace = run_cell(textwrap.dedent(GET_MODEL + objective), f"<scikeras {names}>", {"__name__": "__main__"})
    return describe_objective(namespace["train"], names)


def _roles(source):
    return {r.parameter: (r.role, r.sets) for r in source.roles}


def test_the_wrapper_runs_its_model_function_optimiser_and_fit():
    source = _describe('''
def train(hidden, dropout, lr, epochs, batch_size):
    clf = KerasClassifier(model=get_model, hidden=hidden, model__dropout=dropout, optimizer="adam",
                          optimizer__learning_rate=lr, epochs=epochs, batch_size=batch_size, verbose=0)
    return cross_val_score(clf, X, y, cv=3).mean()
''', ["hidden", "dropout", "lr", "epochs", "batch_size"])
    assert source.families == ("torch_mlp",)
    assert _roles(source) == {
        "hidden": ("hidden_width", "keras.layers.Dense's units"),  # an argument SciKeras passes to the function
        "dropout": ("dropout", "keras.layers.Dropout's rate"),  # model__dropout, routed to it
        "lr": ("learning_rate", "keras.optimizers.Adam's learning_rate"),  # optimizer__learning_rate of "adam"
        "epochs": ("max_epochs", "keras.Model.fit's epochs"),
        "batch_size": ("batch_size", "keras.Model.fit's batch_size"),
    }


def test_scikeras_defaults_and_an_optimiser_class_or_choice():
    defaults = _describe('''
def train(hidden, lr):
    net = scikeras.wrappers.KerasRegressor(get_model, model__hidden=hidden, model__dropout=0.1,
                                           optimizer=keras.optimizers.SGD, optimizer__learning_rate=lr)
    return net.fit(X, y).score(X, y)
''', ["hidden", "lr"])
    assert _roles(defaults)["lr"] == ("learning_rate", "keras.optimizers.SGD's learning_rate")
    # SciKeras trains 1 epoch unless told otherwise, in Keras's batches of 32; the dropout is fixed in the call.
    assert {(s.role, s.value) for s in defaults.settings} == {("max_epochs", 1), ("batch_size", 32), ("dropout", 0.1)}
    chosen = _describe('''
def train(hidden, lr, opt):
    clf = KerasClassifier(model=get_model, model__hidden=hidden, model__dropout=0.0, optimizer=opt,
                          optimizer__learning_rate=lr, epochs=20)
    return cross_val_score(clf, X, y).mean()
''', ["hidden", "lr", "opt"])
    roles = _roles(chosen)
    assert roles["opt"][0] == "optimizer" and roles["lr"][0] == "learning_rate"
    assert FixedSetting("keras.Model.fit", "epochs", "max_epochs", 20) in chosen.settings


def test_other_classes_named_keras_classifier_are_not_read_as_scikeras():
    source = _describe('''
def train(hidden):
    clf = mylib.KerasClassifier(get_model, hidden=hidden)
    return clf.score(X, y)
''', ["hidden"])
    assert source.roles == ()


def test_meta_search_cv_takes_routed_parameters_and_warms_from_the_torch_mlp_prior(tmp_path, monkeypatch):
    keras = keras_on_torch(monkeypatch)
    wrappers = pytest.importorskip("scikeras.wrappers")
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from jupyter_metahpo import MetaSearchCV
    from jupyter_metahpo.space import intrange, loguniform, uniform

    monkeypatch.setenv("JUPYTER_METAHPO_HOME", str(tmp_path / "home"))
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype("float32")
    namespace = run_cell(GET_MODEL, "<scikeras-search>", {"__name__": "__main__", "keras": keras})
    estimator = wrappers.KerasClassifier(model=namespace["get_model"], hidden=32, dropout=0.1, optimizer="adam",
                                         loss="sparse_categorical_crossentropy", epochs=3, verbose=0)
    space = {"model__hidden": intrange(16, 256, log=True), "model__dropout": uniform(0.0, 0.5),
             "optimizer__learning_rate": loguniform(1e-4, 1e-1)}
    search = MetaSearchCV(estimator, space, n_iter=2, cv=2, random_state=0).fit(X, y)
    text = "\n".join(search.study_.warm_start.lines())
    assert "the built-in torch_mlp_classifier prior" in text, text
    assert "model__hidden (their hidden_width: it sets keras.layers.Dense's units)" in text
    assert "optimizer__learning_rate (their learning_rate: it sets keras.optimizers.Adam's learning_rate)" in text
    assert [t.origin.source for t in search.study_.trials] == ["warm-start", "warm-start"]
    assert search.best_params_.keys() == space.keys()
    # A name neither listed nor routed is still refused, naming it.
    with pytest.raises(ValueError, match=r"`space` names \['hiden'\], which are not parameters of KerasClassifier"):
        MetaSearchCV(estimator, {"hiden": intrange(16, 256)}, n_iter=1, cv=2).fit(X, y)
