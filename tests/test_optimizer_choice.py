"""A cell that chooses its torch optimiser warms in the option that runs what the past studies ran."""

from __future__ import annotations

import textwrap

import pytest

from helpers.cells import run_cell
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.as_it_ran import AsItRan, nearest_option, past_class
from jupyter_metahpo.meta.source import ObjectiveSource, ParameterRole, describe_objective
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform

# Optuna's PyTorch example (pytorch_simple.py), on tabular data: it chooses among three optimisers.
OPTUNA_TORCH_CELL = '''
import torch
import torch.nn as nn
import torch.optim as optim


def objective(trial):
    torch.manual_seed(0)
    n_units = trial.suggest_int("n_units", 4, 128, log=True)
    model = nn.Sequential(nn.Linear(X.shape[1], n_units), nn.ReLU(),
                          nn.Dropout(trial.suggest_float("dropout", 0.0, 0.5)), nn.Linear(n_units, 2))
    optimizer_name = trial.suggest_categorical("optimizer", OPTIONS)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    optimizer = getattr(optim, optimizer_name)(model.parameters(), lr=lr)
    for epoch in range(2):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return float((model(X).argmax(1) == y).float().mean())
'''


def cell_on_breast_cancer(text: str, filename: str):
    """``text``'s objective, its ``X`` and ``y`` the scaled breast cancer data as tensors; and that data."""
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    namespace = {"X": torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32), "y": torch.tensor(y)}
    return run_cell(text, filename, namespace)["objective"], (X, y)


def torch_cell(options: list[str]):
    return cell_on_breast_cancer(OPTUNA_TORCH_CELL.strip("\n").replace("OPTIONS", repr(options)), "<optuna-torch-cell>")


def test_the_nearest_option_is_the_optimiser_itself_else_its_kin_else_none():
    assert nearest_option("AdamW", ["Adam", "RMSprop", "SGD"]) == AsItRan(
        "Adam", "AdamW", "Adam is AdamW's update without its decoupled weight decay")
    assert nearest_option("AdamW", ["SGD", "adamw", "Adam"]) == AsItRan("adamw", "AdamW")
    assert nearest_option("Adam", ["SGD", "AdamW"]).option == "AdamW"
    assert nearest_option("AdamW", ["RMSprop", "SGD"]) is None
    assert nearest_option("SGD", ["Adam", 0.1]) is None


def _study(space_name: str | None = None) -> PastStudy:
    extra = {"space_name": space_name} if space_name else {}
    return PastStudy("s", "task", SearchSpace({"lr": loguniform(1e-4, 1e-1)}), "maximize", ({"lr": 1e-3},), (0.5,),
                     extra=extra)


def test_what_a_past_study_ran_comes_from_its_built_in_space_or_the_one_optimiser_its_source_calls():
    assert past_class(_study("torch_mlp_classifier"), None) == "AdamW"
    assert past_class(_study("mlp_regressor"), None) == "Adam"  # scikit-learn's solver="adam"
    assert past_class(_study("svc"), None) is None
    one = describe_objective(
        "def f(lr):\n    opt = optim.SGD(model.parameters(), lr=lr)\n    return nn.functional.relu(opt)", ["lr"])
    assert past_class(_study(), one) == "SGD"
    two = describe_objective("def f(lr, a):\n    return optim.SGD(p, lr=lr) if a else optim.Adam(p, lr=lr)", ["lr"])
    chosen = describe_objective("def f(lr, name):\n    return getattr(optim, name)(p, lr=lr)", ["lr", "name"])
    assert past_class(_study(), two) is None and past_class(_study(), chosen) is None
    assert past_class(_study(), None) is None


def test_the_parameter_that_names_the_optimiser_has_the_optimizer_role_and_a_literal_name_has_none():
    text = textwrap.dedent(OPTUNA_TORCH_CELL).replace("OPTIONS", repr(["Adam", "SGD"]))
    names = ["n_units", "dropout", "optimizer", "lr"]
    roles = describe_objective(text, names).roles
    assert ParameterRole("optimizer", "torch.optim", "class", "optimizer") in roles
    assert ParameterRole("optimizer", "torch.optim", "class", "optimizer").sets == (
        "the torch.optim optimiser your objective runs")
    literal = text.replace("getattr(optim, optimizer_name)", 'getattr(optim, "Adam")')
    assert not [r for r in describe_objective(literal, names).roles if r.parameter == "optimizer"]


def test_the_torch_priors_configurations_run_in_adam_the_nearest_to_the_adamw_they_ran():
    from jupyter_metahpo import suggest

    objective, data = torch_cell(["Adam", "RMSprop", "SGD"])
    for seed in (0, 1):
        proposals = suggest(data=data, k=4, objective=objective, store=False, seed=seed)
        assert [p.config["optimizer"] for p in proposals] == ["Adam"] * 4, [dict(p.config) for p in proposals]
        assert all("optimizer='Adam': the nearest to the AdamW the past study ran (Adam is AdamW's update without "
                   "its decoupled weight decay)" in p.reason for p in proposals)
    torch_sources = [e for e in proposals.report.sources.values() if e["space_name"] == "torch_mlp_classifier"]
    assert torch_sources and torch_sources[0]["ran_as"] == [
        ["optimizer", "Adam", "AdamW", "Adam is AdamW's update without its decoupled weight decay"]]


def test_with_adamw_among_the_options_they_run_as_they_ran_and_without_kin_the_design_chooses():
    from jupyter_metahpo import suggest

    objective, data = torch_cell(["SGD", "AdamW", "Adam"])
    proposals = suggest(data=data, k=3, objective=objective, store=False, seed=0)
    assert [p.config["optimizer"] for p in proposals] == ["AdamW"] * 3
    assert all("optimizer='AdamW': as the past study ran it" in p.reason for p in proposals)

    objective, data = torch_cell(["RMSprop", "SGD"])
    proposals = suggest(data=data, k=4, objective=objective, store=False, seed=0)
    assert all("optimizer from the space's Sobol design" in p.reason for p in proposals), proposals[0].reason
    assert len({p.config["optimizer"] for p in proposals}) == 2  # the design's values, not one made up


def test_tune_says_the_optimiser_the_past_ran_and_runs_the_warm_start_in_it(tmp_path):
    from jupyter_metahpo import tune

    objective, data = torch_cell(["Adam", "RMSprop", "SGD"])
    result = tune(objective, n_trials=2, data=data, direction="maximize", seed=0, store=tmp_path / "store.json")
    warm = [t for t in result.trials if t.origin.source == "warm-start"]
    assert warm and all(t.config["optimizer"] == "Adam" for t in warm)
    text = "\n".join(result.warm_start.lines())
    assert "their configurations at your optimizer='Adam', the nearest to the AdamW they ran" in text
    assert "your optimizer from the space's own design" not in text


# The same loop choosing its optimiser through a table and in branches, as cells often do.
TABLE_CHOICE = ('{"adam": optim.Adam, "rmsprop": optim.RMSprop, "sgd": optim.SGD}[optimizer_name]'
                '(model.parameters(), lr=lr)')
BRANCH_CHOICE = '''(optim.SGD(model.parameters(), lr=lr, momentum=0.9) if optimizer_name == "sgd"
                 else optim.Adam(model.parameters(), lr=lr) if optimizer_name == "adam"
                 else optim.RMSprop(model.parameters(), lr=lr))'''


def _roles_and_runs(text: str, names=("n_units", "dropout", "optimizer", "lr"), namespace=None):
    if namespace is not None:
        source = describe_objective(run_cell(text, "<optimizer-table>", dict(namespace))["objective"], list(names))
    else:
        source = describe_objective(text, list(names))
    chosen = [r for r in source.roles if r.parameter == "optimizer"]
    return chosen, {(o.parameter, o.option): o.runs for o in source.chosen_options}


#: The optimizer parameter's role, and what each of its options runs, in the cells of the two tests below.
CHOOSER = ParameterRole("optimizer", "torch.optim", "class", "optimizer")
EACH_RUNS = {("optimizer", "adam"): "Adam", ("optimizer", "rmsprop"): "RMSprop", ("optimizer", "sgd"): "SGD"}


def _written(choice: str) -> tuple[str, str]:
    """The Optuna cell with lower-case options, and the same choosing its optimiser by ``choice``."""
    text = textwrap.dedent(OPTUNA_TORCH_CELL).replace("OPTIONS", repr(["adam", "rmsprop", "sgd"]))
    return text, text.replace("getattr(optim, optimizer_name)(model.parameters(), lr=lr)", choice)


def test_a_table_of_optimisers_gives_the_role_and_what_each_key_runs():
    _, written = _written(TABLE_CHOICE)
    role, runs = CHOOSER, EACH_RUNS
    assert _roles_and_runs(written) == ([role], runs)
    # The table in a local, the lookup through a local: the same.
    local = written.replace(
        f"    optimizer = {TABLE_CHOICE}",
        '    table = {"adam": optim.Adam, "rmsprop": optim.RMSprop, "sgd": optim.SGD}\n'
        "    optimizer_class = table[optimizer_name]\n"
        "    optimizer = optimizer_class(model.parameters(), lr=lr)")
    assert local != written and _roles_and_runs(local) == ([role], runs)
    # A constant of the notebook, its keys other words than the classes' names.
    torch = pytest.importorskip("torch")
    constant = written.replace(TABLE_CHOICE, "OPTIMIZERS[optimizer_name](model.parameters(), lr=lr)").replace(
        repr(["adam", "rmsprop", "sgd"]), repr(["safe", "fast"]))
    assert "['safe', 'fast']" in constant
    namespace = {"OPTIMIZERS": {"safe": torch.optim.AdamW, "fast": torch.optim.SGD}}
    assert _roles_and_runs(constant.replace("\n\n\ndef", "\n\ndef"), namespace=namespace) == (
        [role], {("optimizer", "safe"): "AdamW", ("optimizer", "fast"): "SGD"})
    # A table of something else (models, factories) chooses no optimiser.
    factories = written.replace("optim.RMSprop", "lambda p, lr: optim.RMSprop(p, lr=lr, alpha=0.9)")
    assert _roles_and_runs(factories) == ([], {})


def test_optimisers_called_in_branches_of_the_choice_give_the_role_and_what_each_option_runs():
    text, written = _written(BRANCH_CHOICE)
    role, runs = CHOOSER, EACH_RUNS
    assert _roles_and_runs(written) == ([role], runs)
    statements = text.replace(
        "    optimizer = getattr(optim, optimizer_name)(model.parameters(), lr=lr)\n",
        '    match optimizer_name:\n'
        '        case "sgd":\n            optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n'
        '        case "adam":\n            optimizer = optim.Adam(model.parameters(), lr=lr)\n'
        '        case _:\n            optimizer = optim.RMSprop(model.parameters(), lr=lr)\n')
    assert statements != text and _roles_and_runs(statements) == ([role], runs)
    # One optimiser for every option is no choice of it, nor is one class under a flag.
    both = written.replace("optim.RMSprop", "optim.Adam").replace("optim.SGD(", "optim.Adam(")
    assert _roles_and_runs(both) == ([], {})
    flag = text.replace("nn.ReLU(),", "*([nn.ReLU()] if residual else []),")
    flagged = SearchSpace({"n_units": intrange(4, 128), "residual": choice(True, False)})
    assert flag != text and [r for r in describe_objective(flag, flagged).roles if r.parameter == "residual"] == []


def test_what_an_option_runs_decides_the_nearest_option():
    assert nearest_option("AdamW", ["fast", "safe"], {"fast": "SGD", "safe": "AdamW"}) == AsItRan("safe", "AdamW")
    assert nearest_option("AdamW", ["sgd", "adam"], {"sgd": "SGD", "adam": "Adam"}).option == "adam"
    # A key that reads like an optimiser runs what the table says.
    assert nearest_option("AdamW", ["adamw", "sgd"], {"adamw": "SGD", "sgd": "Adam"}).option == "sgd"


def test_the_source_json_carries_what_each_option_runs_and_reads_sources_recorded_before():
    text = textwrap.dedent(OPTUNA_TORCH_CELL).replace("OPTIONS", repr(["adam", "sgd"])).replace(
        "getattr(optim, optimizer_name)(model.parameters(), lr=lr)", TABLE_CHOICE)
    source = describe_objective(text, ["n_units", "dropout", "optimizer", "lr"])
    assert source.chosen_options and ObjectiveSource.from_json(source.to_json()) == source
    older = {k: v for k, v in source.to_json().items() if k not in ("chosen_options", "torch_classes")}
    assert ObjectiveSource.from_json(older).chosen_options == () == ObjectiveSource.from_json(older).torch_classes


@pytest.mark.parametrize("written", [TABLE_CHOICE, BRANCH_CHOICE], ids=["table", "branches"])
def test_a_cell_choosing_through_a_table_or_branches_warms_in_the_option_that_runs_adam(written):
    from jupyter_metahpo import suggest

    text = OPTUNA_TORCH_CELL.strip("\n").replace("OPTIONS", repr(["sgd", "rmsprop", "adam"])).replace(
        "getattr(optim, optimizer_name)(model.parameters(), lr=lr)", written)
    objective, (X, y) = cell_on_breast_cancer(text, "<optimizer-choice-cell>")
    proposals = suggest(data=(X, y), k=4, objective=objective, store=False, seed=0)
    assert [p.config["optimizer"] for p in proposals] == ["adam"] * 4, [dict(p.config) for p in proposals]
    assert all("optimizer='adam': the nearest to the AdamW the past study ran" in p.reason for p in proposals)


# A loop choosing its activation too: the prior's torch MLP ran ReLU in every trial.
ACTIVATION_CELL = OPTUNA_TORCH_CELL.replace(
    '    model = nn.Sequential(nn.Linear(X.shape[1], n_units), nn.ReLU(),',
    '    activation = trial.suggest_categorical("activation", ACTIVATIONS)\n'
    '    model = nn.Sequential(nn.Linear(X.shape[1], n_units), CHOSEN,')


def _activation_cell(chosen: str, activations: list[str]) -> str:
    text = ACTIVATION_CELL.replace("CHOSEN", chosen).replace("ACTIVATIONS", repr(activations))
    return textwrap.dedent(text).replace("OPTIONS", repr(["Adam", "SGD"]))


@pytest.mark.parametrize(("chosen", "activations", "runs"), [
    ("getattr(nn, activation)()", ["Tanh", "ReLU"], {}),
    ('{"relu": nn.ReLU(), "tanh": nn.Tanh()}[activation]', ["relu", "tanh"], {"relu": "ReLU", "tanh": "Tanh"}),
    ('nn.ReLU() if activation == "relu" else nn.Tanh()', ["relu", "tanh"], {"relu": "ReLU", "tanh": "Tanh"}),
    ('nn.Tanh() if activation != "gelu" else nn.GELU()', ["tanh", "gelu"], {"tanh": "Tanh", "gelu": "GELU"}),
], ids=["by-name", "table", "branches", "negated"])
def test_the_parameter_that_chooses_the_activation_has_the_activation_role(chosen, activations, runs):
    source = describe_objective(_activation_cell(chosen, activations),
                                ["n_units", "dropout", "optimizer", "lr", "activation"])
    assert ParameterRole("activation", "torch.nn activation", "class", "activation") in source.roles
    assert ParameterRole("optimizer", "torch.optim", "class", "optimizer") in source.roles
    assert {o.option: o.runs for o in source.chosen_options if o.parameter == "activation"} == runs


def test_a_functions_name_runs_its_class_and_one_named_activation_is_what_a_study_ran():
    text = ("def f(lr, act):\n    h = getattr(F, act)(layer(x))\n"
            "    return optim.AdamW(model.parameters(), lr=lr), torch.relu(h)")
    source = describe_objective(text, ["lr", "act"])
    assert ParameterRole("act", "torch.nn activation", "class", "activation") in source.roles
    assert nearest_option("ReLU", ["tanh", "relu"], {"relu": "ReLU", "tanh": "Tanh"}) == AsItRan("relu", "ReLU")
    from jupyter_metahpo.meta.torch_choices import ACTIVATION

    assert past_class(_study("torch_mlp_regressor"), None, ACTIVATION) == "ReLU"
    assert past_class(_study("mlp_classifier"), None, ACTIVATION) is None  # it tunes its activation
    fixed = describe_objective("def f(lr):\n    return nn.Sequential(nn.Linear(4, 8), nn.GELU()), optim.SGD(p, lr=lr)",
                               ["lr"])
    assert fixed.torch_classes == ("torch.nn.GELU", "torch.optim.SGD")
    assert past_class(_study(), fixed, ACTIVATION) == "GELU"
    assert past_class(_study(), source, ACTIVATION) is None  # it chose its activation


def test_the_torch_priors_configurations_run_in_the_relu_they_ran(tmp_path):
    from jupyter_metahpo import suggest

    text = _activation_cell('{"tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), "relu": nn.ReLU()}[activation]',
                            ["tanh", "sigmoid", "relu"])
    objective, (X, y) = cell_on_breast_cancer(text, "<activation-choice-cell>")
    proposals = suggest(data=(X, y), k=4, objective=objective, store=False, seed=0)
    assert [p.config["activation"] for p in proposals] == ["relu"] * 4, [dict(p.config) for p in proposals]
    assert all("activation='relu': as the past study ran it" in p.reason for p in proposals)
    assert all(p.config["optimizer"] == "Adam" for p in proposals)
    from jupyter_metahpo import tune

    result = tune(objective, n_trials=1, data=(X, y), direction="maximize", seed=0, store=tmp_path / "store.json")
    assert result.trials[0].config["activation"] == "relu"
    assert ("their configurations at your optimizer='Adam', the nearest to the AdamW they ran; activation='relu', "
            "the ReLU they ran") in "\n".join(result.warm_start.lines())


def test_a_choice_by_name_of_other_torch_classes_chooses_no_activation():
    text = "def f(norm, act):\n    return nn.Sequential(getattr(nn, norm)(8), getattr(F, act)(x))\n"
    space = SearchSpace({"norm": choice("BatchNorm1d", "LayerNorm"), "act": choice("relu", "tanh")})
    source = describe_objective(text, space)
    assert [(r.parameter, r.role) for r in source.roles] == [("act", "activation")]
    assert {o.option: o.runs for o in source.chosen_options} == {"relu": "ReLU", "tanh": "Tanh"}  # its options only


def test_a_choice_of_torch_classes_is_refused_saying_how_to_choose_them_by_name():
    optim = pytest.importorskip("torch.optim")
    with pytest.raises(TypeError) as info:
        choice(optim.Adam, optim.SGD)
    assert str(info.value).endswith(
        "Offer its name instead, choice('Adam', ...), and look it up in your objective: getattr(torch.optim, name), "
        "or a table, {'Adam': Adam, ...}[name] (the warm start reads either as the optimiser or activation the "
        "objective runs).")
