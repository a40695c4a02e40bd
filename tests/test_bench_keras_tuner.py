"""The KerasTuner benchmark (benchmarks/bench_keras_tuner.py) hands one build_model(hp) objective to KerasTuner and to
tune: its space must be read from the hp calls, its parameters' roles from what they set, and KerasTuner's tuners
must return each trial's value in order, or it measures nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_keras_tuner as bench  # noqa: E402
from helpers.keras_backend import keras_on_torch  # noqa: E402
from helpers.toy_dataset import toy_dataset  # noqa: E402
from jupyter_metahpo.meta.declared_space import space_from_suggest_calls  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402
from jupyter_metahpo.reporting import Trial  # noqa: E402


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_cell_declares_its_space_and_its_parameters_roles_and_trains(task, monkeypatch):
    keras_on_torch(monkeypatch)
    objective = bench.cell_objective(toy_dataset(task))
    space = space_from_suggest_calls(objective)
    assert list(space.names) == ["num_layers", "units_0", "units_1", "units_2", "activation", "dropout", "lr"]
    source = describe_objective(objective, list(space.names))
    assert source.families == ("torch_mlp",)
    assert {r.parameter: r.role for r in source.roles} == {
        "num_layers": "n_hidden_layers", "units_0": "hidden_width", "lr": "learning_rate", "activation": "activation"}
    config = {"num_layers": 1, "units_0": 32, "units_1": 32, "units_2": 32, "activation": "relu", "dropout": True,
              "lr": 1e-3}
    assert -10.0 < objective(Trial(None, config)) <= 1.0  # balanced accuracy, or R^2 of the standardised target


def test_keras_tuners_return_each_trials_value_in_order(monkeypatch):
    keras_on_torch(monkeypatch)
    pytest.importorskip("keras_tuner")
    seen = []

    def objective(hp):
        value = hp.Int("units", 1, 50) / 50
        seen.append(value)
        return value

    for tuner in ("KerasTuner RandomSearch", "KerasTuner BayesianOptimization"):
        seen.clear()
        values = bench.keras_tuner_values(objective, seed=0, trials=4, tuner=tuner)
        assert values == seen and len(values) == 4
