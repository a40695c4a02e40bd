"""The helper-cells benchmark (benchmarks/bench_helper_cells.py) tunes cells whose parameters take their meaning only
in helpers of another cell: the source reader must read each one's role there, or the benchmark measures nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.toy_dataset import toy_dataset  # noqa: E402
from benchmarks import bench_helper_cells as bench  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402
from jupyter_metahpo.space import SearchSpace  # noqa: E402

ROLES = {
    "torch": {"lr": "learning_rate", "hidden": "hidden_width", "layers": "n_hidden_layers", "dropout": "dropout",
              "weight_decay": "weight_decay"},
    "hgb": {"lr": "learning_rate", "leaves": "max_leaf_nodes", "leaf": "min_samples_leaf", "l2": "l2_regularization"},
}


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("cell", ["torch", "hgb"])
def test_every_parameter_of_the_benchmarks_cells_is_read_in_the_helpers(cell, task):
    dataset = toy_dataset(task)
    train = bench.cell_objective(cell, dataset)
    source = describe_objective(train, list(bench.spaces()[cell]))
    assert {r.parameter: r.role for r in source.roles} == ROLES[cell]
    if cell == "torch":
        assert source.families == ("torch_mlp",)
        assert {f.role: f.value for f in source.settings} == {"max_epochs": 20, "batch_size": 64}
    else:
        assert source.families == ("hgb",)
    config = SearchSpace(bench.spaces()[cell]).sample(np.random.default_rng(0))
    assert np.isfinite(train(**config)) and train(**config) <= 1.0  # the cell runs: a balanced accuracy or R^2
