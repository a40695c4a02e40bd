"""A Keras model is read as the MLP it builds and the training it runs (jupyter_metahpo/meta/keras_models.py): its
widths, dropout, optimiser, learning rate, epochs and batch size, so that a Keras cell warms from the torch MLP
prior as a PyTorch loop does."""

from __future__ import annotations

import re

import pytest

from helpers.cells import run_cell
from helpers.keras_backend import keras_on_torch
from jupyter_metahpo.meta.source import FixedSetting, ParameterRole, describe_objective

# A %%metatune cell as Keras users write it: Sequential, a loop of Dense and Dropout layers, Adam, model.fit.
LOOP_CELL = '''
import keras
from keras import layers


def train(units, lr, dropout, epochs, n_layers):
    model = keras.Sequential([keras.Input((X.shape[1],))])
    for _ in range(n_layers):
        model.add(layers.Dense(units, activation="relu"))
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(2, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=epochs, batch_size=64, validation_split=0.25, verbose=0)
    return history.history["val_accuracy"][-1]
'''

# Optuna-style, the layers imported by name: the optimiser and the activation chosen by Keras's names for them.
NAMED_CELL = '''
from keras.layers import Dense, Dropout
from keras.models import Sequential


def objective(trial):
    model = Sequential([
        Dense(trial.suggest_int("width", 16, 256), activation=trial.suggest_categorical("act", ["relu", "tanh"])),
        Dropout(trial.suggest_float("drop", 0.0, 0.5)),
        Dense(1),
    ])
    model.compile(optimizer=trial.suggest_categorical("opt", ["sgd", "rmsprop", "adam"]), loss="mse")
    model.fit(X, y, epochs=20, verbose=0)
    return model.evaluate(X, y, verbose=0)
'''


def _roles(source):
    return {r.parameter: (r.role, r.sets) for r in source.roles}


def test_a_keras_loop_is_a_torch_mlp_and_each_parameter_sets_its_role():
    source = describe_objective(LOOP_CELL, ["units", "lr", "dropout", "epochs", "n_layers"])
    assert source.families == ("torch_mlp",)
    assert _roles(source) == {
        "units": ("hidden_width", "keras.layers.Dense's units"),
        "dropout": ("dropout", "keras.layers.Dropout's rate"),
        "lr": ("learning_rate", "keras.optimizers.Adam's learning_rate"),
        "epochs": ("max_epochs", "keras.Model.fit's epochs"),
        "n_layers": ("n_hidden_layers", "the number of layers your loop builds"),
    }
    # The output layer's 2 units are the classes, not a width the cell fixes.
    assert set(source.settings) == {FixedSetting("keras.Model.fit", "batch_size", "batch_size", 64)}


def test_a_comprehension_and_the_functional_api_build_layers_too():
    comprehension = describe_objective(
        "def f(n, w):\n    model = keras.Sequential([layers.Dense(w, activation='relu') for _ in range(n)]"
        " + [layers.Dense(1)])\n    model.compile(optimizer='adam', loss='mse')\n"
        "    model.fit(X, y, epochs=10)\n", ["n", "w"])
    assert {r.parameter: r.role for r in comprehension.roles} == {"n": "n_hidden_layers", "w": "hidden_width"}
    functional = describe_objective(
        "def f(w, p):\n    inputs = keras.Input(shape=(8,))\n"
        "    x = keras.layers.Dense(units=w, activation='relu')(inputs)\n    x = keras.layers.Dropout(p)(x)\n"
        "    model = keras.Model(inputs, keras.layers.Dense(1)(x))\n    model.compile('adam', 'mse')\n"
        "    model.fit(X, y, epochs=5)\n", ["w", "p"])
    assert functional.families == ("torch_mlp",)
    assert {r.parameter: r.role for r in functional.roles} == {"w": "hidden_width", "p": "dropout"}


def test_keras_batch_size_is_fixed_where_fit_leaves_it_out_and_a_default_rate_is_not():
    source = describe_objective(NAMED_CELL.replace('trial.suggest_categorical("opt", ["sgd", "rmsprop", "adam"])',
                                                   '"adam"'), ["width", "act", "drop"])
    assert set(source.settings) == {
        FixedSetting("keras.Model.fit", "batch_size", "batch_size", 32, default=True),
        FixedSetting("keras.Model.fit", "epochs", "max_epochs", 20),
    }
    # Adam at Keras's default rate fixes none: measured on torch's Adam at its default, reading the prior there did
    # no better than at every rate (keras_models' docstring).
    sgd = describe_objective("def f(w):\n    model = keras.Sequential([layers.Dense(w, activation='relu')])\n"
                             "    model.compile(optimizer=keras.optimizers.SGD(momentum=0.9))\n", ["w"])
    assert not [s for s in sgd.settings if s.role == "learning_rate"]
    # A hidden layer's literal width is fixed; the output layer's is not read as one.
    fixed = describe_objective("def f(lr):\n    model = keras.Sequential([layers.Dense(64, activation='relu'), "
                               "layers.Dense(10, activation='softmax')])\n"
                               "    model.compile(optimizer=keras.optimizers.Adam(lr))\n", ["lr"])
    assert FixedSetting("keras.layers.Dense", "units", "hidden_width", 64) in fixed.settings


def test_the_optimiser_and_the_activation_chosen_by_keras_names_run_their_classes():
    source = describe_objective(NAMED_CELL, ["width", "act", "drop", "opt"])
    assert source.families == ("torch_mlp",)
    assert _roles(source) == {
        "width": ("hidden_width", "keras.layers.Dense's units"), "drop": ("dropout", "keras.layers.Dropout's rate"),
        "opt": ("optimizer", "the Keras optimiser your objective runs"),
        "act": ("activation", "the activation function your objective runs"),
    }
    assert {o.option: o.runs for o in source.chosen_options} == {
        "sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "relu": "ReLU", "tanh": "Tanh"}


def test_arguments_unpacked_from_a_dict_the_objective_builds_are_read():
    source = describe_objective(
        "def f(units, epochs, lr):\n    layer = dict(units=units, activation='relu')\n"
        "    fit_args = {'epochs': epochs, 'batch_size': 64}\n"
        "    model = keras.Sequential([layers.Dense(**layer), layers.Dense(1)])\n"
        "    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss='mse')\n"
        "    model.fit(X, y, verbose=0, **fit_args)\n", ["units", "epochs", "lr"])
    assert {r.parameter: r.role for r in source.roles} == {
        "units": "hidden_width", "epochs": "max_epochs", "lr": "learning_rate"}
    assert FixedSetting("keras.Model.fit", "batch_size", "batch_size", 64) in source.settings


def test_what_a_keras_study_ran_informs_a_later_choice_of_optimiser_or_activation_in_either_library():
    from jupyter_metahpo.experience import PastStudy
    from jupyter_metahpo.meta.as_it_ran import past_class
    from jupyter_metahpo.meta.torch_choices import ACTIVATION, KERAS_ACTIVATION, KERAS_OPTIMIZER, OPTIMIZER
    from jupyter_metahpo.space import SearchSpace, loguniform

    past = PastStudy("s", "task", SearchSpace({"lr": loguniform(1e-4, 1e-1)}), "maximize", ({"lr": 1e-3},), (0.5,))
    keras_study = describe_objective(LOOP_CELL, ["units", "lr", "dropout", "epochs", "n_layers"])
    assert keras_study.torch_classes == ("keras.activations.ReLU", "keras.optimizers.Adam")
    assert [past_class(past, keras_study, kind) for kind in (KERAS_OPTIMIZER, KERAS_ACTIVATION)] == ["Adam", "ReLU"]
    assert [past_class(past, keras_study, kind) for kind in (OPTIMIZER, ACTIVATION)] == ["Adam", "ReLU"]  # torch's
    by_name = describe_objective(NAMED_CELL.replace('trial.suggest_categorical("opt", ["sgd", "rmsprop", "adam"])',
                                                    '"rmsprop"'), ["width", "act", "drop"])
    assert "keras.optimizers.RMSprop" in by_name.torch_classes
    assert past_class(past, by_name, KERAS_ACTIVATION) is None  # it chose its activation
    torch_study = describe_objective("def f(lr):\n    return nn.Sequential(nn.Linear(4, 8), nn.GELU()), "
                                     "optim.SGD(p, lr=lr)", ["lr"])
    assert past_class(past, torch_study, KERAS_OPTIMIZER) == "SGD"


def test_keras_2s_names_and_tf_keras_paths_are_read():
    source = describe_objective(
        "def f(lr, u):\n    model = tf.keras.models.Sequential([tf.keras.layers.Dense(u, activation='relu')])\n"
        "    model.compile(optimizer=tf.keras.optimizers.RMSprop(lr=lr))\n", ["lr", "u"])
    assert ParameterRole("lr", "keras.optimizers.RMSprop", "lr", "learning_rate") in source.roles
    assert ParameterRole("u", "keras.layers.Dense", "units", "hidden_width") in source.roles


def test_what_is_not_a_keras_mlp_is_not_read_as_one():
    convnet = describe_objective(
        "def f(filters, lr):\n    model = keras.Sequential([keras.layers.Conv2D(filters, 3), keras.layers.Flatten(),"
        " keras.layers.Dense(10, activation='softmax')])\n    model.compile(optimizer=keras.optimizers.Adam(lr))\n"
        "    model.fit(X, y, epochs=3)\n", ["filters", "lr"])
    assert convnet.families == ()
    # Outside a Keras objective, compile and fit are other libraries' (re.compile, a scaler's fit).
    other = describe_objective("def f(pattern, size):\n    re.compile(pattern)\n"
                               "    scaler.fit(X, y, batch_size=size)\n    return 1.0\n", ["pattern", "size"])
    assert other.roles == () and other.settings == ()
    # In a Keras objective, scikit-learn's fit(X) sets no batch size.
    scaled = describe_objective("def f(w):\n    scaler.fit(X)\n    model = keras.Sequential([layers.Dense(w, "
                                "activation='relu')])\n    model.compile('adam')\n", ["w"])
    assert not [s for s in scaled.settings if s.role == "batch_size"]


def test_a_keras_cell_warms_from_the_torch_prior_in_the_optimiser_it_ran(tmp_path, monkeypatch):
    keras = keras_on_torch(monkeypatch)
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from jupyter_metahpo import tune
    from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform

    X, y = load_breast_cancer(return_X_y=True)
    namespace = {"__name__": "__main__", "X": StandardScaler().fit_transform(X).astype("float32"), "y": y,
                 "keras": keras}
    text = LOOP_CELL.replace("keras.optimizers.Adam(", "getattr(keras.optimizers, optimizer)(").replace(
        "epochs, n_layers", "epochs, n_layers, optimizer")
    train = run_cell(text, "<keras-cell>", namespace)["train"]
    space = SearchSpace({"units": intrange(8, 256, log=True), "lr": loguniform(1e-4, 1e-1), "dropout": uniform(0, 0.5),
                         "epochs": intrange(5, 12), "n_layers": intrange(1, 2), "optimizer": choice("SGD", "Adam")})
    result = tune(train, space, n_trials=2, data=(X, y), direction="maximize", seed=0, store=tmp_path / "store.json",
                  progress=False)
    lines = "\n".join(result.warm_start.lines())
    assert "the built-in torch_mlp_classifier prior" in lines
    assert "units (their hidden_width: it sets keras.layers.Dense's units)" in lines
    assert [t.origin.source for t in result.trials] == ["warm-start", "warm-start"]
    # The prior ran AdamW: its configurations run in Keras's Adam, the same update without the decoupled decay.
    assert [t.config["optimizer"] for t in result.trials] == ["Adam", "Adam"]
    assert all("the nearest to the AdamW the past study ran" in t.origin.reason for t in result.trials)
    assert all(0.0 <= t.value <= 1.0 for t in result.trials)


def test_a_cold_start_whose_related_studies_lie_outside_the_space_says_so_and_where():
    # Before, this said "a partial match needs the same estimator in your objective": the objective builds it, and
    # the prior's torch MLP studies were related; their trials (10 to 60 epochs) lay outside 2 to 5 epochs.
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer

    from jupyter_metahpo import suggest
    from jupyter_metahpo.meta.carry import explain_cold
    from jupyter_metahpo.space import SearchSpace, intrange, loguniform, uniform

    X, y = load_breast_cancer(return_X_y=True)
    body = LOOP_CELL[LOOP_CELL.index("def train"):]  # keras need not be installed: the objective is not run
    train = run_cell(body, "<keras-cell-outside>", {"__name__": "__main__"})["train"]
    space = SearchSpace({"units": intrange(8, 256, log=True), "lr": loguniform(1e-4, 1e-1), "dropout": uniform(0, 0.5),
                         "epochs": intrange(2, 5), "n_layers": intrange(1, 2)})
    proposals = suggest(space, data=(X, y), k=1, objective=train, store=False, seed=0)
    assert not proposals.report.used
    text = explain_cold(proposals.report, proposals.n_past)
    assert re.match(r"cold: \d+ related past studies share your parameters, but none of their trials lies in or near "
                    r"your space; the closest is \S+ \(built-in torch_mlp_classifier\)", text), text
    assert "their max_epochs 10 to 60, your epochs 2 to 5" in text
    assert "needs the same estimator" not in text
