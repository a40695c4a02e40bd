"""A cell that chooses its torch optimiser warms in the option that runs what the past studies ran."""

from __future__ import annotations

import textwrap

import pytest

from helpers.cells import run_cell
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.optimizers import AsItRan, nearest_option, past_optimizer
from jupyter_metahpo.meta.source import ObjectiveSource, ParameterRole, describe_objective
from jupyter_metahpo.space import SearchSpace, loguniform

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


def torch_cell(options: list[str]):
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    data = (X, y)
    namespace = {"X": torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32),
                 "y": torch.tensor(y), "OPTIONS": options}
    cell = run_cell(OPTUNA_TORCH_CELL.strip("\n").replace("OPTIONS", repr(options)), "<optuna-torch-cell>", namespace)
    return cell["objective"], data


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
    assert past_optimizer(_study("torch_mlp_classifier"), None) == "AdamW"
    assert past_optimizer(_study("mlp_regressor"), None) == "Adam"  # scikit-learn's solver="adam"
    assert past_optimizer(_study("svc"), None) is None
    one = ObjectiveSource("f", frozenset(), estimators=("torch.nn.Linear", "torch.optim.SGD"))
    assert past_optimizer(_study(), one) == "SGD"
    two = ObjectiveSource("f", frozenset(), estimators=("torch.optim.SGD", "torch.optim.Adam"))
    chosen = ObjectiveSource("f", frozenset(), estimators=("torch.optim.Optimizer",))
    assert past_optimizer(_study(), two) is None and past_optimizer(_study(), chosen) is None
    assert past_optimizer(_study(), None) is None


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
