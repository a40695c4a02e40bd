"""KerasTuner-style cells: a ``build_model(hp)`` declares its space with ``hp.Int``, ``hp.Float``, ``hp.Choice`` and
``hp.Boolean``; the space is read from those calls, the handle answers them, and a Keras model built so warms from
the torch MLP prior as any Keras cell does (jupyter_metahpo/suggest_calls.py, jupyter_metahpo/reporting.py)."""

from __future__ import annotations

import textwrap

import pytest

from helpers.cells import run_cell
from helpers.keras_backend import keras_on_torch
from jupyter_metahpo.meta.declared_space import space_from_suggest_calls
from jupyter_metahpo.meta.source import FixedSetting, describe_objective
from jupyter_metahpo.reporting import Trial
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform
from jupyter_metahpo.study import bind_objective
from jupyter_metahpo.suggest_calls import SuggestCallError, declared_parameter

# KerasTuner's getting-started model (keras.io/keras_tuner/getting_started), on tabular data, and an objective that
# trains it as a notebook user would.
BUILD_MODEL_CELL = '''
import keras
from keras import layers


def build_model(hp):
    model = keras.Sequential()
    model.add(keras.Input(shape=(X.shape[1],)))
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(layers.Dense(units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                               activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(2, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def objective(hp):
    model = build_model(hp)
    history = model.fit(X, y, validation_split=0.25, epochs=EPOCHS, batch_size=32, verbose=0)
    return history.history["val_accuracy"][-1]
'''

UNITS = choice(*range(32, 513, 32))
BUILD_MODEL_SPACE = SearchSpace({
    "num_layers": intrange(1, 3), "units_0": UNITS, "units_1": UNITS, "units_2": UNITS,
    "activation": choice("relu", "tanh"), "dropout": choice(False, True), "lr": loguniform(1e-4, 1e-2),
})


def define(text: str, filename: str, **namespace):
    """The functions the cell defines; its imports left out unless it is run (keras need not be installed to read
    it)."""
    if "keras" not in namespace and "def build_model" in text:
        text = text[text.index("def build_model"):]
    return run_cell(textwrap.dedent(text).strip("\n"), filename, {"__name__": "__main__", **namespace})


@pytest.fixture(autouse=True)
def _keras_on_torch(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow; read when keras is first imported


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "expected"),
    [
        ("Int", ("n", 1, 3), {}, intrange(1, 3)),
        ("Int", ("units", 32, 512), {"step": 32}, UNITS),
        ("Int", ("units", 16, 512), {"sampling": "log"}, intrange(16, 512, log=True)),
        ("Int", ("batch", 2, 32), {"step": 2, "sampling": "log"}, choice(2, 4, 8, 16, 32)),
        ("Int", ("batch", 2, 40, 2, "LOG"), {}, choice(2, 4, 8, 16, 32)),  # positional; KerasTuner lower-cases
        ("Int", ("k", 1, 10), {"step": 3, "default": 4}, choice(1, 4, 7, 10)),
        ("Float", ("p", 0.0, 0.5), {}, uniform(0.0, 0.5)),
        ("Float", ("lr", 1e-4, 1e-2), {"sampling": "log"}, loguniform(1e-4, 1e-2)),
        ("Float", ("p", 0.0, 0.5), {"step": 0.1}, choice(0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
        ("Float", ("lr", 1e-4, 1e-1), {"step": 10, "sampling": "log"}, choice(1e-4, 1e-3, 1e-2, 1e-1)),
        ("Float", ("m", 0.9, 0.999), {"sampling": "reverse_log"}, uniform(0.9, 0.999)),
        ("Int", ("n", 1, 9), {"step": 2, "sampling": "reverse_log"}, choice(2, 6, 8, 9)),
        ("Choice", ("act", ["relu", "tanh"]), {"ordered": False, "default": "relu"}, choice("relu", "tanh")),
        ("Choice", ("lr", [1e-2, 1e-3, 1e-4]), {}, choice(1e-2, 1e-3, 1e-4)),
        ("Boolean", ("dropout",), {"default": True}, choice(False, True)),
        ("Float", ("w", 0.0, 1.0), {"parent_name": "model", "parent_values": ["mlp"]}, uniform(0.0, 1.0)),
    ],
)
def test_each_keras_tuner_method_declares_the_values_keras_tuner_means(method, args, kwargs, expected):
    assert declared_parameter(method, args, kwargs) == (args[0], expected)


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "message"),
    [
        ("Int", ("n", 1), {}, r"hp.Int\(\) is missing max_value"),
        ("Int", ("n", 1.5, 3), {}, r"hp.Int\('n', ...\): `min_value` must be an integer, got 1.5"),
        ("Float", ("x", 0.0, 1.0), {"sampling": "exp"}, r"`sampling` must be one of 'linear', 'log', 'reverse_log'"),
        ("Float", ("x", 0.0, 1.0), {"sampling": "log"}, r"sampling='log' needs min_value > 0, got 0.0"),
        ("Int", ("n", 2, 32), {"step": 1, "sampling": "log"}, r"`step` must be > 1, got 1"),
        ("Choice", ("act", []), {}, r"`values` must be a non-empty list"),
        ("Choice", ("act", ["relu"]), {"weights": [1]}, r"hp.Choice\(\) got an unexpected argument 'weights'"),
        ("Float", (3, 0.0, 1.0), {}, r"needs the parameter's name as a non-empty string"),
    ],
)
def test_a_malformed_keras_tuner_call_is_an_error_that_names_it(method, args, kwargs, message):
    with pytest.raises(SuggestCallError, match=message):
        declared_parameter(method, args, kwargs)


def test_stepped_ranges_hold_exactly_the_values_keras_tuner_itself_samples(monkeypatch):
    keras_on_torch(monkeypatch)
    kt = pytest.importorskip("keras_tuner")
    calls = [
        ("Int", ("a", 32, 512), {"step": 32}), ("Int", ("b", 2, 40), {"step": 2, "sampling": "log"}),
        ("Int", ("c", 1, 10), {"step": 3}), ("Int", ("d", 1, 9), {"step": 2, "sampling": "reverse_log"}),
        # (A step of 0.1 to 0.5: KerasTuner's float floor division, 0.5 // 0.1 == 4.0, leaves out the 0.5 its
        # documentation includes; the grid here keeps it.)
        ("Float", ("e", 0.0, 0.5), {"step": 0.125}), ("Float", ("f", 1e-4, 1e-1), {"step": 10, "sampling": "log"}),
        ("Choice", ("g", [1e-2, 1e-3]), {}), ("Boolean", ("h",), {}),
    ]
    for method, args, kwargs in calls:
        hp = kt.HyperParameters()
        getattr(hp, method)(*args, **kwargs)
        theirs = hp.space[0]
        # KerasTuner maps a draw in [0, 1) to a value: every value it can return, by a fine sweep of the draws.
        sampled = {theirs.prob_to_value(i / 2000) for i in range(2000)}
        _, ours = declared_parameter(method, args, kwargs)
        assert sorted(sampled) == pytest.approx(sorted(ours.options)), (method, args, kwargs)


def test_the_space_is_read_from_build_model_and_its_loop_of_layers():
    cell = define(BUILD_MODEL_CELL, "<kt-cell>", X=None, y=None, EPOCHS=2)
    assert space_from_suggest_calls(cell["objective"]) == BUILD_MODEL_SPACE
    # The objective may call its handle trial, as Optuna's, and pass it to build_model(hp).
    as_trial = define(BUILD_MODEL_CELL.replace("def objective(hp):\n    model = build_model(hp)",
                                               "def objective(trial):\n    model = build_model(trial)"),
                      "<kt-cell-trial>", X=None, y=None, EPOCHS=2)
    assert space_from_suggest_calls(as_trial["objective"]) == BUILD_MODEL_SPACE


def test_int_float_and_choice_of_other_objects_are_not_read_as_keras_tuner():
    cell = define(
        """
        def objective(trial):
            schema = types.Int("age", 0, 120)      # some other library's Int, not KerasTuner's
            x = trial.suggest_float("x", 0.0, 1.0)
            return x
        """, "<kt-other-int>", types=None)
    assert space_from_suggest_calls(cell["objective"]) == SearchSpace({"x": uniform(0.0, 1.0)})


def test_the_handle_answers_keras_tuner_calls_with_the_configuration_and_checks_it():
    hp = Trial(None, {"units": 64, "lr": 0.001, "act": "tanh", "dropout": True, "n": 3})
    assert hp.Int("units", 32, 512, step=2, sampling="log") == 64
    assert hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log", default=1e-3) == 0.001
    assert hp.Choice("act", ["relu", "tanh"]) == "tanh"
    assert hp.Boolean("dropout") is True
    assert hp.Fixed("epochs", 5) == 5
    with hp.conditional_scope("act", ["tanh"]):
        assert hp.Int("n", 1, 3, parent_name="act", parent_values=["tanh"]) == 3
    assert hp.values == {"units": 64, "lr": 0.001, "act": "tanh", "dropout": True, "n": 3}
    assert hp.get("units") == 64
    with pytest.raises(ValueError, match=r"hp.Int\('units', ...\) allows choice\(32, 64, 96, 128\), but the study's "
                                         r"search space gave units=64|hp.Int\('units', ...\) allows"):
        Trial(None, {"units": 48}).Int("units", 32, 128, step=32)
    with pytest.raises(KeyError, match=r"no parameter 'width' \(its parameters: units, lr, act, dropout, n\)"):
        hp.get("width")


def test_an_objective_whose_parameter_is_hp_gets_the_handle_when_it_makes_keras_tuner_calls():
    space = SearchSpace({"units": intrange(8, 64)})
    cell = define(
        """
        def objective(hp):
            return hp.Int("units", 8, 64) / 64

        def train(hp):  # hp as many name a configuration dict: no KerasTuner call, so it gets the dict
            return hp["units"] / 64
        """, "<kt-handle>")
    assert bind_objective(cell["objective"], space)({"units": 32}) == 0.5
    assert bind_objective(cell["train"], space)({"units": 16}) == 0.25
    # A space parameter named hp is the parameter, not the handle.
    assert bind_objective(lambda hp: hp * 2, SearchSpace({"hp": uniform(0, 1)}))({"hp": 0.25}) == 0.5


def test_a_layer_under_a_parameters_switch_fixes_no_setting():
    cell = define(BUILD_MODEL_CELL, "<kt-cell-roles>", X=None, y=None, EPOCHS=2)
    source = describe_objective(cell["objective"], list(BUILD_MODEL_SPACE.names))
    roles = {r.parameter: r.role for r in source.roles}
    # The first layer's width carries the role, as in Optuna's per-layer cells; the loop's count is the depth.
    assert roles == {"num_layers": "n_hidden_layers", "units_0": "hidden_width", "lr": "learning_rate",
                     "activation": "activation"}
    # Dropout(0.25) runs only when hp.Boolean("dropout") is True: not a dropout the cell fixes.
    assert not [s for s in source.settings if s.role == "dropout"]
    assert FixedSetting("keras.Model.fit", "batch_size", "batch_size", 32) in source.settings
    # Unconditional, the same layer fixes it.
    always = define(BUILD_MODEL_CELL.replace('    if hp.Boolean("dropout"):\n        model.add(layers.Dropout',
                                             '    model.add(layers.Dropout'),
                    "<kt-cell-always>", X=None, y=None, EPOCHS=2)
    fixed = describe_objective(always["objective"], [n for n in BUILD_MODEL_SPACE.names if n != "dropout"])
    assert [s.value for s in fixed.settings if s.role == "dropout"] == [0.25]


def test_a_keras_tuner_cell_tunes_and_warms_from_the_torch_mlp_prior(tmp_path, monkeypatch):
    keras = keras_on_torch(monkeypatch)
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from jupyter_metahpo import tune

    X, y = load_breast_cancer(return_X_y=True)
    cell = define(BUILD_MODEL_CELL, "<kt-cell-tune>", X=StandardScaler().fit_transform(X).astype("float32"), y=y,
                  EPOCHS=2, keras=keras)
    result = tune(cell["objective"], n_trials=2, data=(X, y), direction="maximize", seed=0,
                  store=tmp_path / "store.json", progress=False)
    assert result.space == BUILD_MODEL_SPACE
    lines = "\n".join(result.warm_start.lines())
    assert "the built-in torch_mlp_classifier prior" in lines
    assert "units_0 (their hidden_width: it sets keras.layers.Dense's units)" in lines
    assert "lr (their learning_rate: it sets keras.optimizers.Adam's learning_rate)" in lines
    assert "dropout=0.25" not in lines
    assert [t.origin.source for t in result.trials] == ["warm-start", "warm-start"]
    assert all(BUILD_MODEL_SPACE[name].contains(value) for t in result.trials for name, value in t.config.items())
    assert all(0.0 <= t.value <= 1.0 for t in result.trials)


def test_a_hypermodel_class_is_read_as_its_build_and_fit():
    # KerasTuner's HyperModel: build(hp) declares the model's parameters, fit(hp, model, ...) the training's.
    import types

    cell = define(
        '''
        class MyHyperModel(kt.HyperModel):
            def build(self, hp):
                model = keras.Sequential([keras.Input((8,))])
                model.add(layers.Dense(hp.Int("units", 32, 512, step=32), activation="relu"))
                model.add(layers.Dropout(hp.Float("dropout", 0.0, 0.5)))
                model.add(layers.Dense(2, activation="softmax"))
                model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                              loss="sparse_categorical_crossentropy")
                return model

            def fit(self, hp, model, *args, **kwargs):
                return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32, 64]), **kwargs)

        def objective(hp):
            hypermodel = MyHyperModel()
            model = hypermodel.build(hp)
            return hypermodel.fit(hp, model, X, y, epochs=5, verbose=0).history["loss"][-1]
        ''', "<kt-hypermodel>", kt=types.SimpleNamespace(HyperModel=object))
    space = space_from_suggest_calls(cell["objective"])
    assert space == SearchSpace({"units": UNITS, "dropout": uniform(0.0, 0.5), "lr": loguniform(1e-4, 1e-2),
                                 "batch_size": choice(16, 32, 64)})
    source = describe_objective(cell["objective"], list(space.names))
    assert source.families == ("torch_mlp",)
    assert {r.parameter: r.role for r in source.roles} == {
        "units": "hidden_width", "dropout": "dropout", "lr": "learning_rate", "batch_size": "batch_size"}


def test_a_fixed_value_is_read_as_the_setting_it_fixes():
    cell = define(
        """
        def objective(hp):
            model = keras.Sequential([layers.Dense(hp.Int("units", 32, 256, step=32), activation="relu"),
                                      layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(X, y, epochs=hp.Fixed("epochs", 10), batch_size=hp.Fixed(name="batch_size", value=64))
            return model.evaluate(X, y)
        """, "<kt-fixed>")
    source = describe_objective(cell["objective"], ["units"])
    assert {(s.role, s.value) for s in source.settings} == {("max_epochs", 10), ("batch_size", 64)}
    assert {r.parameter: r.role for r in source.roles} == {"units": "hidden_width"}
