"""Optuna-style objectives: the space read from their ``trial.suggest_*`` calls, the handle answering them."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from IPython.core.error import UsageError

from helpers.cells import run_cell
from jupyter_metahpo import tune
from jupyter_metahpo.meta.source import describe_objective
from jupyter_metahpo.reporting import Trial
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform
from jupyter_metahpo.meta.declared_space import space_from_suggest_calls
from jupyter_metahpo.suggest_calls import MAX_GRID, SuggestCallError, declared_parameter


def define(text: str, filename: str = "<optuna-cell>", **namespace):
    """The functions a cell of ``text`` defines (readable by ``inspect``, as IPython's cells are)."""
    return run_cell(textwrap.dedent(text).strip("\n"), filename, dict(namespace))


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "expected"),
    [
        ("suggest_float", ("x", -2.0, 2.0), {}, uniform(-2.0, 2.0)),
        ("suggest_float", ("lr", 1e-5, 1e-1), {"log": True}, loguniform(1e-5, 1e-1)),
        ("suggest_float", ("p", 0.0, 0.5), {"step": 0.1}, choice(0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
        ("suggest_int", ("depth", 2, 12), {}, intrange(2, 12)),
        ("suggest_int", ("units", 16, 512), {"log": True}, intrange(16, 512, log=True)),
        ("suggest_int", ("batch", 32, 128), {"step": 32}, choice(32, 64, 96, 128)),
        ("suggest_categorical", ("kernel", ["rbf", "poly"]), {}, choice("rbf", "poly")),
        ("suggest_uniform", ("x", 0.0, 1.0), {}, uniform(0.0, 1.0)),
        ("suggest_loguniform", ("C", 0.01, 100.0), {}, loguniform(0.01, 100.0)),
        ("suggest_discrete_uniform", ("q", 0.0, 1.0, 0.25), {}, choice(0.0, 0.25, 0.5, 0.75, 1.0)),
    ],
)
def test_each_suggest_method_declares_the_distribution_optuna_means(method, args, kwargs, expected):
    assert declared_parameter(method, args, kwargs) == (args[0], expected)


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "message"),
    [
        ("suggest_float", ("lr", 1e-5, 1e-1), {"step": 0.01, "log": True}, "cannot be given together"),
        ("suggest_float", ("x", 0.0, 1.0), {"step": 1e-4}, f"more than {MAX_GRID}"),
        ("suggest_float", ("x", 1.0, 0.0), {}, r"trial.suggest_float\('x', ...\): .*low"),
        ("suggest_categorical", ("k", "ab"), {}, "non-empty list or tuple"),
        ("suggest_int", ("n", 1), {}, "missing high"),
        ("suggest_int", ("n", 1, 5), {"size": 3}, "unexpected argument 'size'"),
        ("suggest_float", (3, 0.0, 1.0), {}, "name as a non-empty string"),
    ],
)
def test_a_malformed_call_is_an_error_that_names_it(method, args, kwargs, message):
    with pytest.raises(SuggestCallError, match=message):
        declared_parameter(method, args, kwargs)


def test_the_space_is_read_from_the_objective_and_its_helpers_in_the_order_written():
    cell = define(
        """
        def make_model(trial, n_features):
            width = trial.suggest_int("width", 16, MAX_WIDTH, log=True)
            return ("net", n_features, width)

        def objective(trial):
            lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
            if trial.suggest_categorical("optimizer", OPTIMIZERS) == "sgd":
                momentum = trial.suggest_float("momentum", 0.0, 0.99)
            model = make_model(trial, 8)
            return lr
        """,
        MAX_WIDTH=256, OPTIMIZERS=("adam", "sgd"),
    )
    space = space_from_suggest_calls(cell["objective"])
    assert space == SearchSpace({
        "lr": loguniform(1e-4, 1e-1), "optimizer": choice("adam", "sgd"), "momentum": uniform(0.0, 0.99),
        "width": intrange(16, 256, log=True),
    })


def test_nothing_is_read_without_a_trial_parameter_or_without_calls():
    cell = define(
        """
        def plain(x):
            return trial.suggest_float("x", 0.0, 1.0)

        def reports_only(x, trial):
            trial.report(x, 0)
            return x
        """
    )
    assert space_from_suggest_calls(cell["plain"]) is None
    assert space_from_suggest_calls(cell["reports_only"]) is None
    assert space_from_suggest_calls(len) is None  # no source to read


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('for i in range(X.shape[1]):\n        trial.suggest_int(f"units_{i}", 4, 64)',
         r"trial.suggest_int\(f'units_\{i\}', 4, 64\): f'units_\{i\}' is not a constant.*pass the search space"),
        ('for name in COLUMNS:\n        trial.suggest_int(name, 4, 64)', r"name is not a constant"),
        ('trial.suggest_int("k", 1, X.shape[1])', r"X.shape\[1\] is not a constant"),
        ('trial.suggest_float("x", 0.0, 1.0)\n    trial.suggest_float("x", 0.0, 2.0)',
         r"give 'x' two different distributions"),
    ],
)
def test_a_call_that_cannot_be_known_before_a_trial_runs_is_an_error_naming_it(body, message):
    cell = define(f"def objective(trial):\n    {body}\n    return 0.0\n", X=np.zeros((3, 4)), COLUMNS=np.array(["a"]))
    with pytest.raises(SuggestCallError, match=message):
        space_from_suggest_calls(cell["objective"])


def test_the_handle_answers_each_call_with_the_configuration_and_checks_it():
    trial = Trial(None, {"lr": 0.01, "kernel": "rbf", "depth": 4})
    assert trial.suggest_float("lr", 1e-4, 1e-1, log=True) == 0.01
    assert trial.suggest_categorical("kernel", ["rbf", "poly"]) == "rbf"
    assert trial.suggest_int("depth", 2, 8) == 4
    with pytest.raises(ValueError, match=r"allows loguniform\(0.1, 1.0\), but the study's search space gave lr=0.01"):
        trial.suggest_float("lr", 0.1, 1.0, log=True)
    with pytest.raises(ValueError, match=r"has no parameter 'gamma' \(its parameters: lr, kernel, depth\)"):
        trial.suggest_float("gamma", 1e-3, 1.0)


def test_tune_without_a_space_needs_suggest_calls_and_says_so():
    with pytest.raises(TypeError, match=r"tune\(\) needs a search space.*trial.suggest_float"):
        tune(lambda x: x, n_trials=1, store=False)


def test_an_optuna_style_objective_tunes_as_the_same_cell_written_with_a_space():
    """Its parameters mean what the estimator they reach says, so it warms from the prior as the native cell."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:120], y[:120]
    cell = define(
        """
        from sklearn.svm import SVC

        def optuna_style(trial):
            C = trial.suggest_float("C", 1e-2, 1e3, log=True)
            gamma = trial.suggest_float("gamma", 1e-4, 1.0, log=True)
            return float(SVC(C=C, gamma=gamma).fit(X, y).score(X, y))

        def native(C, gamma):
            return float(SVC(C=C, gamma=gamma).fit(X, y).score(X, y))
        """,
        X=X, y=y,
    )
    runs = {}
    native_space = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0)}
    for name, space in (("optuna_style", None), ("native", native_space)):
        runs[name] = tune(cell[name], space, n_trials=3, direction="maximize", data=(X, y), store=False, seed=0)
    ours, native = runs["optuna_style"], runs["native"]
    assert ours.space == native.space
    assert ours.warm_start is not None and "the built-in svc prior" in str(ours.warm_start)
    assert str(ours.warm_start) == str(native.warm_start)
    assert [t.config for t in ours.trials] == [t.config for t in native.trials]
    assert [t.value for t in ours.trials] == [t.value for t in native.trials]


def test_the_source_reader_gives_suggested_parameters_the_roles_of_what_they_set():
    cell = define(
        """
        import torch
        from torch import nn

        def objective(trial):
            hidden = trial.suggest_int("hidden", 16, 256, log=True)
            model = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Dropout(trial.suggest_float("dropout", 0.0, 0.5)))
            opt = torch.optim.Adam(model.parameters(), lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True))
            return 0.0
        """
    )
    source = describe_objective(cell["objective"], ["hidden", "dropout", "lr"])
    roles = {(r.parameter, r.role, r.direct) for r in source.roles}
    assert roles == {("hidden", "hidden_width", True), ("dropout", "dropout", True), ("lr", "learning_rate", True)}


def test_the_magic_reads_the_space_from_the_suggest_calls():
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "jupyter_metahpo")
    ip.run_line_magic("config", "MetatuneMagics.display = 'none'")
    try:
        body = textwrap.dedent(
            """
            def objective(trial):
                x = trial.suggest_float("x", -2.0, 2.0)
                kind = trial.suggest_categorical("kind", ["a", "b"])
                return (x - 0.5) ** 2 + (kind == "b")
            """
        ).strip("\n")
        result = ip.run_cell_magic("metatune", "--trials 4 --seed 0", body)
        assert result.space == SearchSpace({"x": uniform(-2.0, 2.0), "kind": choice("a", "b")})
        assert len(result.trials) == 4 and result.status == "finished"
        computed = body.replace('"x"', 'f"x{1}"')
        with pytest.raises(UsageError, match=r"the objective's suggest calls: trial.suggest_float\(f'x\{1\}'"):
            ip.run_cell_magic("metatune", "--trials 2", computed)
    finally:
        ip.run_line_magic("config", "MetatuneMagics.display = 'auto'")
        ip.reset(new_session=False)


OPTUNA_PYTORCH_EXAMPLE = """
import torch
import torch.nn as nn
import torch.optim as optim

def define_model(trial):
    n_layers = trial.suggest_int("n_layers", 1, 3)
    layers = []
    in_features = 30
    for i in range(n_layers):
        out_features = trial.suggest_int("n_units", 4, 128)
        layers.append(nn.Linear(in_features, out_features))
        layers.append(nn.ReLU())
        layers.append(nn.Dropout(trial.suggest_float("dropout", 0.2, 0.5)))
        in_features = out_features
    layers.append(nn.Linear(in_features, 2))
    return nn.Sequential(*layers)

def objective(trial):
    model = define_model(trial)
    optimizer_name = trial.suggest_categorical("optimizer", ["Adam", "RMSprop", "SGD"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    optimizer = getattr(optim, optimizer_name)(model.parameters(), lr=lr)
    for epoch in range(10):
        accuracy = train_one_epoch(model, optimizer)
        trial.report(accuracy, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return accuracy
"""


def test_optunas_pytorch_example_is_a_torch_mlp_whose_chosen_optimisers_lr_is_the_learning_rate():
    cell = define(OPTUNA_PYTORCH_EXAMPLE, "<optuna-pytorch-example>")
    space = space_from_suggest_calls(cell["objective"])
    assert list(space.names) == ["optimizer", "lr", "n_layers", "n_units", "dropout"]
    source = describe_objective(cell["objective"], space.names)
    assert "torch_mlp" in source.families
    roles = {(r.parameter, r.target, r.role) for r in source.roles if r.direct}
    assert ("lr", "torch.optim.Optimizer", "learning_rate") in roles
    assert ("n_units", "torch.nn.Linear", "hidden_width") in roles
    assert ("dropout", "torch.nn.Dropout", "dropout") in roles
    named = define(OPTUNA_PYTORCH_EXAMPLE.replace("getattr(optim, optimizer_name)", 'getattr(optim, "AdamW")'),
                   "<optuna-pytorch-example-adamw>")
    source = describe_objective(named["objective"], space.names)
    assert ("lr", "torch.optim.AdamW", "learning_rate") in {(r.parameter, r.target, r.role) for r in source.roles}


def test_optunas_pytorch_example_warms_from_the_torch_mlp_prior_and_says_what_its_lr_sets():
    from sklearn.datasets import load_breast_cancer

    from jupyter_metahpo import suggest

    cell = define(OPTUNA_PYTORCH_EXAMPLE, "<optuna-pytorch-example-warm>")
    X, y = load_breast_cancer(return_X_y=True)
    proposals = suggest(data=(X, y), k=3, objective=cell["objective"], store=False)
    assert len(proposals) == 3
    sources = proposals.report.sources.values()
    shared = [entry["shared"] for entry in sources if entry["space_name"] == "torch_mlp_classifier"]
    assert shared, proposals.report.summary()
    assert "lr (their learning_rate: it sets the lr of the torch.optim optimiser your objective chooses)" in shared[0]


def test_optunas_own_trial_pruned_prunes_the_trial():
    optuna = pytest.importorskip("optuna")

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.report(x, 0)
        raise optuna.TrialPruned("not worth it")

    result = tune(objective, n_trials=2, store=False, seed=0)
    assert [t.state.value for t in result.trials] == ["pruned", "pruned"]
    assert [t.prune_reason for t in result.trials] == ["not worth it", "not worth it"]


OPTUNA_PYTORCH_SIMPLE = """
import torch.nn as nn
import torch.optim as optim

def define_model(trial):
    # We optimize the number of layers, hidden units and dropout ratio in each layer.
    n_layers = trial.suggest_int("n_layers", 1, 3)
    layers = []

    in_features = 28 * 28
    for i in range(n_layers):
        out_features = trial.suggest_int("n_units_l{}".format(i), 4, 128)
        layers.append(nn.Linear(in_features, out_features))
        layers.append(nn.ReLU())
        p = trial.suggest_float("dropout_l{}".format(i), 0.2, 0.5)
        layers.append(nn.Dropout(p))

        in_features = out_features
    layers.append(nn.Linear(in_features, CLASSES))
    layers.append(nn.LogSoftmax(dim=1))

    return nn.Sequential(*layers)

def objective(trial):
    model = define_model(trial).to(DEVICE)
    optimizer_name = trial.suggest_categorical("optimizer", ["Adam", "RMSprop", "SGD"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    optimizer = getattr(optim, optimizer_name)(model.parameters(), lr=lr)
    return 0.0
"""


def test_names_a_loop_computes_are_every_name_it_can_make_and_the_first_layers_carry_the_roles():
    """Optuna's pytorch_simple.py: one width and dropout per layer, for up to 3 layers."""
    cell = define(OPTUNA_PYTORCH_SIMPLE, "<optuna-pytorch-simple>", CLASSES=10, DEVICE="cpu")
    space = space_from_suggest_calls(cell["objective"])
    assert space == SearchSpace({
        "optimizer": choice("Adam", "RMSprop", "SGD"), "lr": loguniform(1e-5, 1e-1), "n_layers": intrange(1, 3),
        **{f"n_units_l{i}": intrange(4, 128) for i in range(3)},
        **{f"dropout_l{i}": uniform(0.2, 0.5) for i in range(3)},
    })
    source = describe_objective(cell["objective"], space.names)
    roles = {(r.parameter, r.role) for r in source.roles if r.direct}
    assert {("n_layers", "n_hidden_layers"), ("n_units_l0", "hidden_width"), ("dropout_l0", "dropout"),
            ("lr", "learning_rate")} <= roles
    assert "torch_mlp" in source.families
    # a trial of 2 layers asks for the names of its layers only; the others stay unused
    handle = Trial(None, {name: parameter.from_unit(0.5) for name, parameter in space.items()} | {"n_layers": 2})
    asked = [handle.suggest_int(f"n_units_l{i}", 4, 128) for i in range(handle.suggest_int("n_layers", 1, 3))]
    assert len(asked) == 2


def test_a_loop_over_a_constant_list_of_names_declares_each():
    cell = define(
        """
        from sklearn.svm import SVC

        def objective(trial):
            params = {}
            for name in ("C", "gamma"):
                params[name] = trial.suggest_float(name, 1e-3, 1e3, log=True)
            for name in INTEGERS:
                params[name] = trial.suggest_int(name, 1, 9)
            return SVC(**params)
        """,
        INTEGERS=["degree", "max_iter"],
    )
    space = space_from_suggest_calls(cell["objective"])
    assert space == SearchSpace({"C": loguniform(1e-3, 1e3), "gamma": loguniform(1e-3, 1e3),
                                 "degree": intrange(1, 9), "max_iter": intrange(1, 9)})
    # the loop's call is not read as its first name's (that is for the layers of a range loop)
    source = describe_objective(cell["objective"], space.names)
    assert source.estimators == ("SVC",) and not [r for r in source.roles if r.parameter == "C"]
    handle = Trial(None, {"C": 2.0, "gamma": 0.5, "degree": 3, "max_iter": 1})
    assert cell["objective"](handle).get_params()["gamma"] == 0.5


def test_a_race_reads_the_space_from_the_suggest_calls_too():
    from jupyter_metahpo import race

    cell = define("def objective(trial):\n    return (trial.suggest_float('x', -2.0, 2.0) - 0.5) ** 2\n")
    results = race(cell["objective"], strategies={"cold": "none", "random": "random"}, n_trials=3, store=False,
                   display="none")
    assert {label: list(result.space.names) for label, result in results.items()} == {"cold": ["x"], "random": ["x"]}
